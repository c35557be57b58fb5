/**
 * mdBook 0.5 preprocessor: highlights the book's fenced code blocks with
 * Shiki at build time.
 *
 * Declared in book.toml as `[preprocessor.shiki]`; mdBook calls it
 *
 * - as `<command> supports <renderer>`: exit 0 for `html`, 1 otherwise
 *   (mdBook skips this call when book.toml lists `renderers`);
 * - as `<command>`, with `[context, book]` as JSON on stdin; the book, with
 *   only its chapters' `content` rewritten, goes back as JSON on stdout.
 *
 * Optional keys under `[preprocessor.shiki]`: `light-theme` and
 * `dark-theme` (Shiki theme names; github-light / github-dark by default).
 *
 * Messages go to stderr; any error ends the run with exit status 1, which
 * makes mdBook fail the build.
 */
import { replaceFencedBlocks } from "./fences.ts";
import { CodeHighlighter, DEFAULT_THEMES, grammarsFor, renderingOf, type ThemePair } from "./highlight.ts";
import { forEachChapter, parseInput, runPreprocessor, type Book, type PreprocessorContext } from "./mdbook.ts";

export { forEachChapter, parseInput, type Book, type BookItem, type Chapter, type PreprocessorContext } from "./mdbook.ts";

const NAME = "shiki-preprocessor";

/** The languages of all fenced blocks in the book (to load only their grammars). */
export function languagesIn(book: Book): Set<string> {
  const langs = new Set<string>();
  forEachChapter(book.items, (chapter) => {
    replaceFencedBlocks(chapter.content, (block) => {
      langs.add(block.lang);
      return null;
    });
  });
  return langs;
}

/** Reads the theme names from `[preprocessor.shiki]`, with defaults. */
export function themesFrom(context: PreprocessorContext | undefined): ThemePair {
  const config = context?.config.preprocessor?.["shiki"] ?? {};
  const pick = (key: string, fallback: string): string => {
    const value = config[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string") throw new Error(`[preprocessor.shiki] ${key} must be a string`);
    return value;
  };
  return { light: pick("light-theme", DEFAULT_THEMES.light), dark: pick("dark-theme", DEFAULT_THEMES.dark) };
}

/**
 * Rewrites every chapter's `content` in place, replacing fenced code blocks
 * with Shiki HTML, and returns the same book object. `warn` receives one
 * message per chapter and unknown language.
 */
export async function highlightBook(
  book: Book,
  themes: ThemePair = DEFAULT_THEMES,
  warn: (message: string) => void = () => {},
): Promise<Book> {
  const highlighter = await CodeHighlighter.create(grammarsFor(languagesIn(book)), themes);
  forEachChapter(book.items, (chapter) => {
    const unknown = new Set<string>();
    chapter.content = replaceFencedBlocks(chapter.content, (block) => {
      if (renderingOf(block.lang).kind === "unknown") unknown.add(block.lang);
      return highlighter.render(block.code, block.lang);
    });
    for (const lang of unknown) {
      const where = chapter.source_path ?? chapter.name;
      warn(`${NAME}: ${where}: no grammar for code block language "${lang}"; shown as plain text`);
    }
  });
  return book;
}

async function main(args: readonly string[]): Promise<number> {
  if (args[0] === "supports") {
    return args[1] === "html" ? 0 : 1;
  }
  if (args.length > 0) {
    console.error(`${NAME}: unexpected arguments: ${args.join(" ")}`);
    return 2;
  }
  const input = await Bun.stdin.text();
  let json: unknown;
  try {
    json = JSON.parse(input);
  } catch (error) {
    throw new Error(`stdin is not JSON: ${(error as Error).message}`);
  }
  const [context, book] = parseInput(json);
  if (!context.mdbook_version?.startsWith("0.5.")) {
    console.error(`${NAME}: written for mdBook 0.5, running under ${context.mdbook_version}`);
  }
  await highlightBook(book, themesFrom(context), (message) => console.error(message));
  await Bun.write(Bun.stdout, JSON.stringify(book));
  return 0;
}

if (import.meta.main) await runPreprocessor(NAME, main);
