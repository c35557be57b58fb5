/**
 * The API reference appendix, generated from the TSDoc comments of lib/
 * (tools/book/api-reference.ts and the api-preprocessor that puts it into
 * the book): what it renders, that an undocumented export is an error
 * naming file and line, and that this error fails a real mdBook build.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateApiReference, UndocumentedError } from "../../tools/book/api-reference.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FIXTURES = join(import.meta.dir, "fixtures");
const DOCUMENTED = join(FIXTURES, "api", "documented", "index.ts");
const UNDOCUMENTED = join(FIXTURES, "api", "undocumented", "index.ts");
const PREPROCESSOR = join(ROOT, "tools", "book", "api-preprocessor.ts");
const LOCAL_MDBOOK = join(ROOT, ".tools", "bin", "mdbook");

/** The Markdown between a `### name` heading and the next heading of that level or above. */
function section(markdown: string, name: string): string {
  const start = markdown.indexOf(`\n### ${name}\n`);
  expect(start).toBeGreaterThan(-1);
  const rest = markdown.slice(start + 1);
  const end = rest.slice(4).search(/\n#{2,3} /);
  return end === -1 ? rest : rest.slice(0, end + 4);
}

describe("generating the reference", () => {
  const markdown = generateApiReference(DOCUMENTED, { root: ROOT });

  test("groups exports by file, and introduces a module exported whole by its header comment", () => {
    const headings = markdown.match(/^## .*$/gm);
    expect(headings).toEqual([
      "## test/book/fixtures/api/documented/shapes.ts",
      "## test/book/fixtures/api/documented/internal.ts",
    ]);
    expect(markdown).toContain("Shapes, the fixture's whole module.");
    // The indented example of the header comment became a code block.
    expect(markdown).toContain("```ts\nusing s = new Square(2);\ns.area();\n```");
    // internal.ts is exported by name only: its header is not an introduction.
    expect(markdown).not.toContain("Internal helpers of the fixture");
  });

  test("lists every export, and nothing that is not exported", () => {
    const symbols = markdown.match(/^### (.*)$/gm)?.map((h) => h.slice(4));
    expect(symbols).toEqual(["ShapeKind", "DrawOptions", "Square", "DatedSquare", "totalArea", "helperConstant"]);
    expect(markdown).not.toContain("notExported");
    expect(markdown).not.toContain("wiring"); // @internal
    expect(markdown).not.toContain("plumbing"); // @internal member
    expect(markdown).not.toMatch(/^### Base$/m);
  });

  test("a class shows its public members, including those of an unexported base", () => {
    const square = section(markdown, "Square");
    expect(square).toContain('<p class="api-kind">class');
    expect(square).toContain("class Square implements Disposable {");
    for (const member of [
      "new Square(side: number)",
      "readonly side: number",
      "static unit(): Square",
      "area(): number",
      "readonly label: string",
      "draw(options?: DrawOptions): string[]",
      "[Symbol.dispose](): void",
    ]) {
      expect(square).toContain(`- \`${member}\``);
    }
    expect(square).toContain("The shape's name, for messages."); // a doc comment from the base class
    expect(square).toContain("- `side`: the length of a side"); // @param of the constructor
    // Private, protected and #private members stay out; so does the abstract declaration.
    expect(square).not.toContain("internal");
    expect(square).not.toContain("hidden");
    expect(square).not.toContain("secret");
    expect(square.match(/area\(\): number/g)).toHaveLength(2); // skeleton and member list, once each
    // Angle brackets in prose are escaped; {@link} became code.
    expect(square).toContain("Array&lt;string&gt;");
  });

  test("a subclass of an exported class points to it instead of repeating it", () => {
    const dated = section(markdown, "DatedSquare");
    expect(dated).toContain("class DatedSquare extends Square {");
    expect(dated).toContain("Inherits the members of [`Square`](#square).");
    expect(dated).toContain("- `readonly made: number`");
    expect(dated).not.toContain("draw(");
  });

  test("functions, interfaces, types and constants, with their tags", () => {
    const total = section(markdown, "totalArea");
    expect(total).toContain("```ts\nfunction totalArea(shapes: readonly Square[]): number\n```");
    expect(total).toContain("**Parameters**\n\n- `shapes`: the shapes to add up");
    expect(total).toContain("**Returns** the total area");
    expect(total).toContain("**Throws** RangeError when the list is empty");
    const options = section(markdown, "DrawOptions");
    expect(options).toContain("interface DrawOptions {\n  width?: number;\n  colour?: string;\n}");
    expect(options).toContain("- `width?: number`\\\n  Line width in pixels."); // a hard break after the signature
    expect(section(markdown, "ShapeKind")).toContain('type ShapeKind = "square" | "circle"');
    expect(section(markdown, "helperConstant")).toContain("const helperConstant: 42");
  });
});

describe("undocumented exports", () => {
  test("are refused, each with its file and line", () => {
    let error: unknown;
    try {
      generateApiReference(UNDOCUMENTED, { root: ROOT });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UndocumentedError);
    const file = "test/book/fixtures/api/undocumented/index.ts";
    expect((error as UndocumentedError).missing).toEqual([
      { symbol: "forgotten", file, line: 6 },
      { symbol: "Settings", file, line: 8 },
      { symbol: "Widget.spin", file, line: 17 },
    ]);
    expect((error as Error).message).toContain(`${file}:6  forgotten`);
  });

  test("make the preprocessor exit 1, as mdBook runs it", async () => {
    const chapter = (content: string) => ({
      Chapter: { name: "API", content, number: null, sub_items: [], path: "api.md", source_path: "api.md", parent_names: [] },
    });
    const run = async (entry: string) => {
      const input = JSON.stringify([
        { root: ROOT, renderer: "html", mdbook_version: "0.5.4", config: {} },
        { items: [chapter(`# API\n\nBefore.\n\n<!-- api-reference: ${entry} -->\n\nAfter.\n`)] },
      ]);
      const child = Bun.spawn([process.execPath, PREPROCESSOR], { cwd: ROOT, stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { stdout, stderr, code };
    };

    const [good, bad] = await Promise.all([run("test/book/fixtures/api/documented/index.ts"), run("test/book/fixtures/api/undocumented/index.ts")]);
    expect(good.code).toBe(0);
    const content: string = JSON.parse(good.stdout).items[0].Chapter.content;
    expect(content).toStartWith("# API\n\nBefore.\n\n## test/book/fixtures/api/documented/shapes.ts");
    expect(content).toEndWith("\n\nAfter.\n");
    expect(content).not.toContain("api-reference:");

    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("test/book/fixtures/api/undocumented/index.ts:17  Widget.spin");
  }, 60_000);

  test("fail a real mdBook build", async () => {
    const mdbook = existsSync(LOCAL_MDBOOK) ? LOCAL_MDBOOK : Bun.which("mdbook");
    if (mdbook === null) throw new Error("mdBook is not installed: run `node tools/setup.mjs`");
    const dest = mkdtempSync(join(tmpdir(), "ipc-book-api-"));
    try {
      const child = Bun.spawn([mdbook, "build", join(FIXTURES, "api-book"), "-d", dest], { stdout: "pipe", stderr: "pipe" });
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      expect(code).not.toBe(0);
      expect(stdout + stderr).toContain("index.ts:6  forgotten");
      expect(existsSync(join(dest, "api.html"))).toBe(false);
    } finally {
      rmSync(dest, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("the project's library", () => {
  test("every export of lib/index.ts is documented and has a section", async () => {
    let markdown = "";
    try {
      markdown = generateApiReference(join(ROOT, "lib", "index.ts"), { root: ROOT });
    } catch (error) {
      // The message lists each undocumented symbol with its file and line.
      throw error instanceof UndocumentedError ? new Error(error.message) : error;
    }
    // Cross-check with what the module really exports at run time.
    const runtime = Object.keys(await import("../../lib/index.ts")).sort();
    expect(runtime.length).toBeGreaterThan(0);
    const headings = new Set(markdown.match(/^### (.*)$/gm)?.map((h) => h.slice(4)));
    expect(runtime.filter((name) => !headings.has(name))).toEqual([]);
  }, 60_000);
});
