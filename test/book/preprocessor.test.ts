/**
 * Unit tests for the Shiki mdBook preprocessor (tools/book/): the fence
 * scanner, the HTML it writes, and the preprocessor protocol, run as mdBook
 * runs it (a separate `bun` process reading stdin).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { replaceFencedBlocks, type FencedBlock } from "../../tools/book/fences.ts";
import { CodeHighlighter, grammarsFor } from "../../tools/book/highlight.ts";
import { highlightBook, parseInput, type Book, type BookItem, type Chapter } from "../../tools/book/shiki-preprocessor.ts";

const ROOT = join(import.meta.dir, "..", "..");
const SCRIPT = join(ROOT, "tools", "book", "shiki-preprocessor.ts");
const INPUT = join(import.meta.dir, "fixtures", "input.json");

/** A class attribute naming a language, which would wake highlight.js up. */
const LANGUAGE_CLASS = /class="[^"]*\b(?:lang|language)-/;
/** A token coloured by Shiki (the block's own style also has the variables). */
const COLOURED_TOKEN = /<span style="--shiki-light:#[0-9A-Fa-f]+;--shiki-dark:#[0-9A-Fa-f]+/;

/** Runs the real preprocessor script with `stdin`, as mdBook does. */
async function runScript(args: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, SCRIPT, ...args], {
    cwd: ROOT,
    stdin: new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

/** All chapters in book order, depth first. */
function chapters(items: readonly BookItem[]): Chapter[] {
  return items.flatMap((item) =>
    typeof item === "object" && "Chapter" in item ? [item.Chapter, ...chapters(item.Chapter.sub_items)] : [],
  );
}

/** The book with every chapter's content blanked: what must not change. */
function withoutContent(book: Book): unknown {
  const copy = structuredClone(book);
  for (const chapter of chapters(copy.items)) chapter.content = "";
  return copy;
}

async function loadInput(): Promise<unknown> {
  return JSON.parse(await Bun.file(INPUT).text());
}

/** Collects the blocks the scanner finds, changing nothing. */
function blocksIn(markdown: string): FencedBlock[] {
  const found: FencedBlock[] = [];
  replaceFencedBlocks(markdown, (block) => {
    found.push(block);
    return null;
  });
  return found;
}

describe("fence scanner", () => {
  test("finds backtick and tilde fences with their language and code", () => {
    const md = "# T\n\n```ts,ignore\nlet a = 1;\n\nlet b = 2;\n```\n\n~~~~sh\necho ```\n~~~~\n";
    expect(blocksIn(md)).toEqual([
      { info: "ts,ignore", lang: "ts", code: "let a = 1;\n\nlet b = 2;", indent: 0 },
      { info: "sh", lang: "sh", code: "echo ```", indent: 0 },
    ]);
  });

  test("returns the text unchanged when the renderer declines every block", () => {
    const md = "a\r\n```c\r\nint x;\r\n```\r\nb\n\n```\nplain\n```";
    expect(replaceFencedBlocks(md, () => null)).toBe(md);
  });

  test("puts a top-level block on its own line between blank lines", () => {
    const md = "Before.\n```ts\nx\n```\nAfter.\n";
    expect(replaceFencedBlocks(md, () => "<pre>X</pre>")).toBe("Before.\n\n<pre>X</pre>\n\nAfter.\n");
  });

  test("does not double blank lines that are already there", () => {
    const md = "Before.\n\n```ts\nx\n```\n\nAfter.\n";
    expect(replaceFencedBlocks(md, () => "<pre>X</pre>")).toBe("Before.\n\n<pre>X</pre>\n\nAfter.\n");
  });

  test("a block that ends the chapter, without a final newline", () => {
    expect(replaceFencedBlocks("Text\n```ts\nx\n```", () => "<pre>X</pre>")).toBe("Text\n\n<pre>X</pre>");
  });

  test("keeps the indentation of a block in a list item and strips it from the code", () => {
    const md = "1. Step:\n   ```ts\n   const a = 1;\n     nested();\n   ```\n2. Next.\n";
    expect(blocksIn(md)).toEqual([{ info: "ts", lang: "ts", code: "const a = 1;\n  nested();", indent: 3 }]);
    expect(replaceFencedBlocks(md, () => "<pre>X</pre>")).toBe("1. Step:\n   <pre>X</pre>\n2. Next.\n");
  });

  test("leaves to mdBook what it cannot place without a full parse", () => {
    const md = [
      "    ```ts", // indented 4: indented code, or a fence in a nested list
      "    const deep = 1;",
      "    ```",
      "",
      "> ```ts", // in a block quote
      "> const quoted = 1;",
      "> ```",
      "",
      "<!--", // in an HTML comment
      "```ts",
      "const commented = 1;",
      "```",
      "-->",
      "",
      "<div>", // in an HTML block that ends at a blank line
      "```ts",
      "const inDiv = 1;",
      "```",
      "</div>",
      "",
      "``` not`a fence", // backticks in a backtick info string: inline code
      "",
      "```ts", // never closed: the rest of the chapter is code
      "const unclosed = 1;",
      "",
    ].join("\n");
    expect(blocksIn(md)).toEqual([]);
    expect(replaceFencedBlocks(md, () => "<pre>X</pre>")).toBe(md);
  });

  test("does not look for fences inside a longer fence", () => {
    const md = "````markdown\n```ts\nconst inner = 1;\n```\n````\n";
    expect(blocksIn(md)).toEqual([
      { info: "markdown", lang: "markdown", code: "```ts\nconst inner = 1;\n```", indent: 0 },
    ]);
  });
});

describe("highlighting", () => {
  const languages = ["ts", "typescript", "c", "sh", "shell", "bash", "console", "shell-session", "toml", "json"];
  const samples: Record<string, string> = {
    ts: "const size: number = 4096;",
    typescript: "export function f(): void {}",
    c: "int main(void) { return 0; }",
    sh: 'echo "hello" | grep h',
    shell: "ls -la /dev/shm",
    bash: "for f in *; do echo $f; done",
    console: "$ ls /dev/shm\nipc-demo",
    "shell-session": "# sysctl fs.mqueue.msg_max\nfs.mqueue.msg_max = 10",
    toml: '[book]\ntitle = "x"',
    json: '{ "a": [1, true, null] }',
  };
  let highlighter: CodeHighlighter;

  beforeAll(async () => {
    highlighter = await CodeHighlighter.create(grammarsFor(languages));
  });

  for (const lang of languages) {
    test(`${lang}: coloured tokens, language in data-lang, no language class`, () => {
      const html = highlighter.render(samples[lang] ?? "", lang);
      expect(html).toStartWith(`<pre class="shiki" data-lang="${lang}" style="--shiki-light:`);
      expect(html).toContain('<code class="nohighlight">');
      expect(html).toMatch(COLOURED_TOKEN);
      expect(html).not.toMatch(LANGUAGE_CLASS);
      expect(html).not.toContain("\n");
    });
  }

  test("shell sessions: prompts marked, commands highlighted, output plain", () => {
    const html = highlighter.render("$ ls /dev/shm \\\n  | grep ipc\nipc-demo\n\n# id -u\n0", "console");
    const lines = html.replace(/^.*?<code[^>]*>/, "").replace(/<\/code>.*$/, "").split("&#10;");
    expect(lines).toHaveLength(6);
    expect(lines[0]).toStartWith('<span class="line"><span class="shiki-prompt">$ </span><span style="--shiki-light:');
    expect(lines[1]).toMatch(COLOURED_TOKEN); // the continuation line is still shell
    expect(lines[1]).not.toContain("shiki-prompt");
    expect(lines[2]).toBe('<span class="line"><span class="shiki-output">ipc-demo</span></span>');
    expect(lines[3]).toBe('<span class="line"></span>');
    expect(lines[4]).toContain('<span class="shiki-prompt"># </span>');
    expect(lines[5]).toBe('<span class="line"><span class="shiki-output">0</span></span>');
  });

  test("unknown or missing language: escaped plain text, no crash", () => {
    const code = '<unknown> & "language" </pre>';
    for (const lang of ["frobnicate", "", "text"]) {
      const html = highlighter.render(code, lang);
      expect(html).toContain("&lt;unknown&gt; &amp; &quot;language&quot; &lt;/pre&gt;");
      expect(html).not.toMatch(COLOURED_TOKEN);
      expect(html).not.toMatch(LANGUAGE_CLASS);
      expect(html.match(/<\/pre>/g)).toHaveLength(1);
    }
    expect(highlighter.render("x", "")).not.toContain("data-lang");
  });

  test("a language attribute cannot break out of data-lang", () => {
    const html = highlighter.render("x", 'a"><script>');
    expect(html).toContain('data-lang="a&quot;&gt;&lt;script&gt;"');
  });

  test("an unknown theme is a clear error", async () => {
    await expect(CodeHighlighter.create([], { light: "no-such-theme", dark: "github-dark" })).rejects.toThrow(
      /unknown Shiki theme "no-such-theme"/,
    );
  });
});

describe("book round trip", () => {
  test("only code blocks in chapter contents change", async () => {
    const [, book] = parseInput(await loadInput());
    const before = structuredClone(book);
    const warnings: string[] = [];
    await highlightBook(book, undefined, (message) => warnings.push(message));

    // Everything but the contents is handed back as it came.
    expect(withoutContent(book)).toEqual(withoutContent(before));
    expect(book.items[1]).toEqual({ PartTitle: "Part one" });
    expect(book.items[4]).toBe("Separator");

    const after = chapters(book.items);
    const original = chapters(before.items);
    expect(after.map((c) => c.name)).toEqual(["Introduction", "Listings", "Sessions", "Draft", "Edge cases"]);
    // No code: untouched, byte for byte.
    expect(after[0]?.content).toBe(original[0]?.content ?? "");
    expect(after[3]?.content).toBe("");
    // With code: prose kept, fences gone, Shiki HTML in their place.
    for (const chapter of [after[1], after[2], after[4]]) {
      expect(chapter?.content).not.toContain("```");
      expect(chapter?.content).not.toContain("~~~");
      expect(chapter?.content).toContain('<pre class="shiki"');
      expect(chapter?.content).not.toMatch(LANGUAGE_CLASS);
    }
    expect(after[1]?.content).toStartWith("# Listings\n\nBefore.\n\n<pre class=\"shiki\" data-lang=\"ts\"");
    expect(after[1]?.content).toContain("</code></pre>\n\nAfter.\n");
    expect(after[1]?.content).toEndWith("</code></pre>\n");
    expect(after[1]?.content).toContain('data-lang="c"');
    expect(after[2]?.content).toContain('<span class="shiki-prompt">$ </span>');
    expect(after[2]?.content).toEndWith("</code></pre>\n\nAfter the session.\n");
    expect(after[4]?.content).toContain("&lt;unknown&gt; &amp; &quot;language&quot;");
    expect(warnings).toEqual([
      'shiki-preprocessor: edge-cases.md: no grammar for code block language "frobnicate"; shown as plain text',
    ]);
  });
});

describe("preprocessor protocol (the real script)", () => {
  test("supports html: exit 0; any other renderer: exit 1", async () => {
    expect((await runScript(["supports", "html"])).code).toBe(0);
    expect((await runScript(["supports", "latex"])).code).toBe(1);
    expect((await runScript(["supports", "markdown"])).code).toBe(1);
  });

  test("reads [context, book] on stdin and writes the book on stdout", async () => {
    const input = await loadInput();
    const { code, stdout, stderr } = await runScript([], JSON.stringify(input));
    expect(code).toBe(0);
    const [, original] = parseInput(input);
    const book = JSON.parse(stdout) as Book;
    expect(withoutContent(book)).toEqual(withoutContent(original));
    expect(chapters(book.items)[1]?.content).toContain('<pre class="shiki" data-lang="ts"');
    expect(stderr).toContain('no grammar for code block language "frobnicate"');
  });

  test("bad input: a clear message on stderr and a non-zero exit", async () => {
    const notJson = await runScript([], "not json");
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toStartWith("shiki-preprocessor: stdin is not JSON");
    expect(notJson.stdout).toBe("");

    const oldShape = await runScript([], JSON.stringify([{ config: {} }, { sections: [] }]));
    expect(oldShape.code).toBe(1);
    expect(oldShape.stderr).toContain("no `items` array");

    const badTheme = await runScript(
      [],
      JSON.stringify([{ config: { preprocessor: { shiki: { "light-theme": "nope" } } }, mdbook_version: "0.5.4" }, { items: [] }]),
    );
    expect(badTheme.code).toBe(1);
    expect(badTheme.stderr).toContain('unknown Shiki theme "nope"');
  });
});
