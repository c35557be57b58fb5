/**
 * Real mdBook builds with the Shiki preprocessor: the fixture book in
 * test/book/fixtures/mini-book (every kind of code block, independent of the
 * chapters being written), and the project's own book.
 *
 * Uses the project's mdBook (.tools/bin/mdbook, installed by
 * tools/setup.mjs) or else the one on PATH, as tools/book.ts does. Each
 * build goes to a temporary directory, removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedBook } from "./built-book.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FIXTURE_BOOK = join(import.meta.dir, "fixtures", "mini-book");
const LOCAL_MDBOOK = join(ROOT, ".tools", "bin", "mdbook");

/** A class naming a language, which makes highlight.js re-highlight. */
const LANGUAGE_CLASS = /class="[^"]*\b(?:lang|language)-/g;
/** mdBook's log lines at warning level or worse. */
const WARN_OR_ERROR = /^\s*(?:\S+\s+)?(?:WARN|ERROR)\b/m;

interface Build {
  dest: string;
  code: number;
  stderr: string;
  page(name: string): Promise<string>;
}

/** Runs `mdbook build <root> -d <fresh temporary directory>`. */
async function build(root: string): Promise<Build> {
  const mdbook = existsSync(LOCAL_MDBOOK) ? LOCAL_MDBOOK : Bun.which("mdbook");
  if (mdbook === null) {
    throw new Error("mdBook is not installed: run `node tools/setup.mjs` (or put mdBook 0.5 on PATH)");
  }
  const dest = mkdtempSync(join(tmpdir(), "ipc-book-test-"));
  const child = Bun.spawn([mdbook, "build", root, "-d", dest], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return {
    dest,
    code,
    stderr: stdout + stderr,
    page: (name) => Bun.file(join(dest, name)).text(),
  };
}

/** The chapter body of a built page (between <main> and </main>). */
function mainOf(html: string): string {
  const start = html.indexOf("<main>");
  const end = html.indexOf("</main>");
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return html.slice(start, end);
}

describe("fixture book", () => {
  let result: Build;
  beforeAll(async () => {
    result = await build(FIXTURE_BOOK);
  }, 120_000);
  afterAll(() => {
    if (result !== undefined) rmSync(result.dest, { recursive: true, force: true });
  });

  test("builds without warnings or errors", () => {
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(WARN_OR_ERROR);
    // The preprocessor's own note about the unknown language reaches the log.
    expect(result.stderr).toContain('edge-cases.md: no grammar for code block language "frobnicate"');
  });

  test("listings are highlighted by Shiki and left alone by highlight.js", async () => {
    const main = mainOf(await result.page("listings.html"));
    for (const lang of ["ts", "typescript", "c", "sh", "shell", "toml", "json"]) {
      expect(main).toContain(`<pre class="shiki" data-lang="${lang}"`);
    }
    expect(main.match(/<pre class="shiki"/g)).toHaveLength(7);
    expect(main).toContain('<code class="nohighlight">');
    expect(main).toContain("--shiki-light");
    expect(main).not.toMatch(LANGUAGE_CLASS);
    expect(main).not.toContain("hljs");
    // {{#include}} was expanded before highlighting.
    expect(main).toContain("An included listing");
    expect(main).not.toContain("{{#include");
    // A blank line and HTML-like text inside a block stay inside it.
    expect(main).toContain("&lt;/pre&gt; &lt;b&gt;not bold&lt;/b&gt; &amp; co");
    expect(main).not.toContain("<b>not bold</b>");
  });

  test("shell sessions: prompts, highlighted commands, plain output", async () => {
    const main = mainOf(await result.page("sessions.html"));
    expect(main).toContain('<pre class="shiki" data-lang="console"');
    expect(main).toContain('<pre class="shiki" data-lang="shell-session"');
    expect(main).toContain('<span class="shiki-prompt">$ </span>');
    expect(main).toContain('<span class="shiki-output">wrote 4096 bytes to /ipc-demo</span>');
    expect(main).not.toMatch(LANGUAGE_CLASS);
  });

  test("edge cases: plain fallback, tight list kept, the rest left to mdBook", async () => {
    const main = mainOf(await result.page("edge-cases.html"));
    expect(main).toContain("&lt;unknown&gt; &amp;");
    // The block in a tight list item is highlighted and the list stays tight.
    expect(main).toMatch(/<li>A step with code, in a tight list:\n<pre class="shiki" data-lang="ts"/);
    expect(main).toContain("<li>The next step.</li>");
    // Exactly the two blocks the scanner leaves alone keep mdBook's classes:
    // the one indented 4 spaces in a nested list, and the quoted one.
    expect(main.match(LANGUAGE_CLASS)).toHaveLength(2);
    // The commented-out block stays in its comment.
    expect(main).toContain("<!--\n```ts\nconst commentedOut = 1;");
    expect(main).toContain("<p>Done.</p>");
  });
});

describe("the project's book", () => {
  let result: Build;
  beforeAll(async () => {
    // The same build the link and browser tests check (test/book/built-book.ts).
    const book = await sharedBook();
    result = { dest: book.dest, code: book.code, stderr: book.log, page: (name) => Bun.file(join(book.dest, name)).text() };
  }, 120_000);

  test("builds without warnings or errors", () => {
    // mdBook's log says why (an undocumented export of lib/, a missing include, …).
    if (result.code !== 0 || WARN_OR_ERROR.test(result.stderr)) console.error(result.stderr);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(WARN_OR_ERROR);
  });

  test("ships the Shiki stylesheet", async () => {
    const index = await result.page("index.html");
    expect(index).toMatch(/<link rel="stylesheet" href="theme\/shiki[^"]*\.css">/);
    const css = readdirSync(join(result.dest, "theme")).find((name) => /^shiki.*\.css$/.test(name));
    expect(css).toBeDefined();
  });

  test("no chapter leaves a code block to highlight.js", async () => {
    const pages = readdirSync(result.dest).filter(
      (name) => name.endsWith(".html") && !["print.html", "toc.html", "404.html"].includes(name),
    );
    expect(pages.length).toBeGreaterThan(0);
    for (const name of pages) {
      const main = mainOf(await result.page(name));
      expect({ page: name, languageClasses: main.match(LANGUAGE_CLASS) ?? [] }).toEqual({
        page: name,
        languageClasses: [],
      });
    }
  });
});
