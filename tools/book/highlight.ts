/**
 * Rendering code blocks to HTML with Shiki, for the mdBook preprocessor.
 *
 * The HTML is built from Shiki's tokens rather than taken from
 * `codeToHtml`, so that it is exactly what mdBook needs:
 *
 * - no `language-*` / `lang-*` class anywhere (mdBook's highlight.js would
 *   re-highlight the block and throw Shiki's colours away), the language in
 *   a `data-lang` attribute instead, and `class="nohighlight"` on the
 *   `<code>`, which makes highlight.js skip the block;
 * - colours as `--shiki-light` / `--shiki-dark` CSS variables only (dual
 *   themes, `defaultColor: false`); `theme/shiki.css` picks one of the two
 *   from mdBook's theme class on `<html>`;
 * - a single line, with `&#10;` between the code lines, so that the block
 *   is a one-line CommonMark HTML block that no content can cut short and
 *   that keeps its meaning inside an indented list item.
 *
 * Shell sessions (`console`, `shell-session`, `shellsession`) are split
 * here: `$ ` / `# ` prompt lines (and their `\` continuation lines) are
 * highlighted as shell, output lines stay plain. Shiki's own
 * `shellsession` grammar colours the output and leaves most commands plain,
 * which is the wrong way round for this book.
 */
import { bundledLanguagesInfo, bundledThemes, createHighlighter, type BundledLanguage, type Highlighter, type SpecialLanguage, type ThemedToken } from "shiki";

/** Themes used when book.toml names none. */
export const DEFAULT_THEMES = { light: "github-light", dark: "github-dark" } as const;

export interface ThemePair {
  light: string;
  dark: string;
}

/** Languages rendered as plain text without a warning. */
const PLAIN_LANGUAGES = new Set(["", "text", "txt", "plain", "plaintext", "output", "none"]);

/** Languages rendered as a shell session (prompt lines + output). */
const SESSION_LANGUAGES = new Set(["console", "shell-session", "shellsession", "terminal"]);

/** How a block's language is rendered. */
export type Rendering =
  | { kind: "plain" }
  | { kind: "session" }
  | { kind: "grammar"; id: string }
  | { kind: "unknown" };

/** Shiki's bundled languages by id and by alias (`ts` → `typescript`). */
const GRAMMAR_BY_NAME: ReadonlyMap<string, string> = new Map(
  bundledLanguagesInfo.flatMap((info) => [info.id, ...(info.aliases ?? [])].map((name) => [name, info.id] as const)),
);

/** Decides how a block whose info string names `lang` is rendered. */
export function renderingOf(lang: string): Rendering {
  if (PLAIN_LANGUAGES.has(lang)) return { kind: "plain" };
  if (SESSION_LANGUAGES.has(lang)) return { kind: "session" };
  const id = GRAMMAR_BY_NAME.get(lang);
  return id === undefined ? { kind: "unknown" } : { kind: "grammar", id };
}

/** The Shiki grammars needed to render blocks in the given languages. */
export function grammarsFor(langs: Iterable<string>): string[] {
  const ids = new Set<string>();
  for (const lang of langs) {
    const rendering = renderingOf(lang);
    if (rendering.kind === "grammar") ids.add(rendering.id);
    if (rendering.kind === "session") ids.add("shellscript");
  }
  return [...ids].sort();
}

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** One token as a `<span>` with its theme variables, or bare text. */
function renderToken(token: ThemedToken): string {
  const text = escapeHtml(token.content);
  const style = Object.entries(token.htmlStyle ?? {})
    .map(([property, value]) => `${property}:${value}`)
    .join(";");
  return style === "" ? text : `<span style="${escapeHtml(style)}">${text}</span>`;
}

const line = (inner: string): string => `<span class="line">${inner}</span>`;

/** A prompt at the start of a shell-session line: `$`/`#`, then a space or the end. */
const PROMPT = /^([$#])(?: |$)/;

/**
 * A highlighter for one preprocessor run: Shiki is loaded once, with only
 * the grammars the book uses, and then renders every block.
 */
export class CodeHighlighter {
  private constructor(
    private readonly shiki: Highlighter,
    private readonly themes: ThemePair,
  ) {}

  /** Loads Shiki with the two themes and the given grammars (ids). */
  static async create(grammars: readonly string[], themes: ThemePair = DEFAULT_THEMES): Promise<CodeHighlighter> {
    for (const theme of [themes.light, themes.dark]) {
      if (!(theme in bundledThemes)) {
        throw new Error(`unknown Shiki theme "${theme}" (see https://shiki.style/themes for the names)`);
      }
    }
    const shiki = await createHighlighter({ themes: [themes.light, themes.dark], langs: [...grammars] });
    return new CodeHighlighter(shiki, themes);
  }

  /** Lines of tokens for `code` in the grammar `id` (loaded at creation). */
  private tokens(code: string, id: string): { lines: ThemedToken[][]; rootStyle: string } {
    const result = this.shiki.codeToTokens(code, {
      // Ids come from Shiki's own language list (or are "text").
      lang: id as BundledLanguage | SpecialLanguage,
      themes: { light: this.themes.light, dark: this.themes.dark },
      defaultColor: false,
    });
    return { lines: result.tokens, rootStyle: typeof result.rootStyle === "string" ? result.rootStyle : "" };
  }

  /** The `--shiki-light`/`--shiki-dark` (and `-bg`) variables of the whole block. */
  private rootStyle(): string {
    return this.tokens("", "text").rootStyle;
  }

  /**
   * Renders one code block as a single line of HTML. `lang` is the
   * language as written in the info string; it goes into `data-lang`.
   */
  render(code: string, lang: string): string {
    const rendering = renderingOf(lang);
    let body: string[];
    let rootStyle: string;
    switch (rendering.kind) {
      case "grammar": {
        const { lines, rootStyle: style } = this.tokens(code, rendering.id);
        body = lines.map((tokens) => line(tokens.map(renderToken).join("")));
        rootStyle = style;
        break;
      }
      case "session":
        body = this.renderSession(code);
        rootStyle = this.rootStyle();
        break;
      case "plain":
      case "unknown":
        body = code.split("\n").map((text) => line(escapeHtml(text)));
        rootStyle = this.rootStyle();
        break;
    }
    const dataLang = lang === "" ? "" : ` data-lang="${escapeHtml(lang)}"`;
    return (
      `<pre class="shiki"${dataLang} style="${escapeHtml(rootStyle)}" tabindex="0">` +
      `<code class="nohighlight">${body.join("&#10;")}</code></pre>`
    );
  }

  /** Shell session: commands highlighted as shell, output lines plain. */
  private renderSession(code: string): string[] {
    const lines = code.split("\n");
    const out: string[] = [];
    let i = 0;
    while (i < lines.length) {
      const text = lines[i] ?? "";
      const prompt = PROMPT.exec(text);
      if (prompt === null) {
        out.push(line(text === "" ? "" : `<span class="shiki-output">${escapeHtml(text)}</span>`));
        i++;
        continue;
      }
      // The command, and its continuation lines after a trailing backslash,
      // are tokenised together so the grammar sees one command.
      const command = [text.slice(prompt[0].length)];
      while (/\\$/.test(command[command.length - 1] ?? "") && i + command.length < lines.length) {
        command.push(lines[i + command.length] ?? "");
      }
      const tokenLines = this.tokens(command.join("\n"), "shellscript").lines;
      tokenLines.forEach((tokens, k) => {
        const promptHtml = k === 0 ? `<span class="shiki-prompt">${escapeHtml(prompt[0])}</span>` : "";
        out.push(line(promptHtml + tokens.map(renderToken).join("")));
      });
      i += command.length;
    }
    return out;
  }
}
