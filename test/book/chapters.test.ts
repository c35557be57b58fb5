/**
 * The book's sources as one book: every point of the curriculum is taught
 * somewhere (traced by `<!-- ID -->` comments), every chapter has the
 * required sections, every {{#include}} names a file and an anchor that
 * exist, every exercise points to headings that exist, and every folder of
 * listings has the test that runs it.
 *
 * The curriculum map is test/book/curriculum.md, a copy of the project's
 * shared/curriculum.md kept in the repository so that a fresh clone can
 * run this test; where the shared original is present the two must match.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { headingAnchor } from "../../exercises/support.ts";

const ROOT = path.resolve(import.meta.dir, "..", "..");
const CHAPTERS = path.join(ROOT, "chapters");
const CURRICULUM = path.join(import.meta.dir, "curriculum.md");
const SHARED_CURRICULUM = path.resolve(ROOT, "..", "shared", "curriculum.md");

/** A curriculum point: "Q7", in chapter "02", with its text. */
interface Point {
  id: string;
  chapter: string;
  title: string;
}

/** The points of curriculum.md, from its `## NN Title` sections and `- ID text` lines. */
export function curriculumPoints(markdown: string): Point[] {
  const points: Point[] = [];
  let chapter: string | undefined;
  let title = "";
  for (const line of markdown.split("\n")) {
    const section = /^## (\d\d) (.*)$/.exec(line);
    if (section) {
      chapter = section[1]!;
      title = section[2]!;
      continue;
    }
    if (line.startsWith("## ")) chapter = undefined;
    const point = /^- ([A-Z]\d+) /.exec(line);
    if (point && chapter !== undefined) points.push({ id: point[1]!, chapter, title: `${chapter} ${title}` });
  }
  return points;
}

/** The IDs cited in a chapter's source: HTML comments holding only IDs (`<!-- Q7 -->`, `<!-- Q7, Q8 -->`). */
export function citedIds(markdown: string): string[] {
  const ids: string[] = [];
  for (const match of markdown.matchAll(/<!--([^]*?)-->/g)) {
    const body = match[1]!.trim();
    if (/^[A-Z]\d+(?:[\s,]+[A-Z]\d+)*$/.test(body)) ids.push(...body.split(/[\s,]+/));
  }
  return ids;
}

/** The numbered chapter files: "03-shm.md" → { number: "03", name: "03-shm" }. */
function chapterFiles(): { file: string; number: string; name: string; source: string }[] {
  return fs
    .readdirSync(CHAPTERS)
    .filter((f) => /^\d\d-[a-z0-9-]+\.md$/.test(f))
    .sort()
    .map((file) => ({
      file,
      number: file.slice(0, 2),
      name: file.replace(/\.md$/, ""),
      source: fs.readFileSync(path.join(CHAPTERS, file), "utf8"),
    }));
}

/** Every Markdown source of the book (chapters, appendices, front page). */
function bookSources(): { file: string; source: string }[] {
  return fs
    .readdirSync(CHAPTERS)
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((file) => ({ file, source: fs.readFileSync(path.join(CHAPTERS, file), "utf8") }));
}

/** `## ` and deeper headings of a Markdown source, outside fenced code. */
function headings(markdown: string): { level: number; text: string }[] {
  const out: { level: number; text: string }[] = [];
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const f = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === undefined) fence = f[1]!;
      else if (f[1]!.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^(#{1,6}) (.*?)\s*#*\s*$/.exec(line);
    if (h) out.push({ level: h[1]!.length, text: h[2]! });
  }
  return out;
}

const points = curriculumPoints(fs.readFileSync(CURRICULUM, "utf8"));

describe("curriculum coverage", () => {
  test("the copy of the curriculum map matches the shared original", () => {
    if (!fs.existsSync(SHARED_CURRICULUM)) return; // a fresh clone has only the copy
    expect(fs.readFileSync(CURRICULUM, "utf8")).toBe(fs.readFileSync(SHARED_CURRICULUM, "utf8"));
  });

  test("the map has points for chapters 00 to 11", () => {
    expect(points.length).toBeGreaterThan(70);
    expect(new Set(points.map((p) => p.chapter))).toEqual(new Set(["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11"]));
    expect(new Set(points.map((p) => p.id)).size).toBe(points.length);
  });

  test("every chapter cites only IDs the map knows", () => {
    const known = new Set(points.map((p) => p.id));
    const unknown = bookSources().flatMap(({ file, source }) => citedIds(source).filter((id) => !known.has(id)).map((id) => `${file}: ${id}`));
    expect(unknown).toEqual([]);
  });

  test("each written chapter cites every point of its own section", () => {
    const missing: string[] = [];
    for (const chapter of chapterFiles()) {
      const cited = new Set(citedIds(chapter.source));
      const own = points.filter((p) => p.chapter === chapter.number && !cited.has(p.id)).map((p) => p.id);
      if (own.length > 0) missing.push(`${chapter.file} does not cite ${own.join(" ")}`);
    }
    expect(missing).toEqual([]);
  });

  test("every point of the curriculum is taught somewhere", () => {
    const cited = new Set(bookSources().flatMap(({ source }) => citedIds(source)));
    const byChapter = new Map<string, string[]>();
    for (const p of points) {
      if (!cited.has(p.id)) byChapter.set(p.title, [...(byChapter.get(p.title) ?? []), p.id]);
    }
    // One line per chapter, listing exactly the IDs no chapter cites as <!-- ID -->.
    const report = [...byChapter].map(([chapter, ids]) => `${chapter}: ${ids.join(" ")}`);
    expect(report).toEqual([]);
  });
});

describe("chapter structure", () => {
  for (const chapter of chapterFiles()) {
    test(`${chapter.file} opens with outcomes and ends with its exercise, questions and man pages`, () => {
      const problems: string[] = [];
      const h = headings(chapter.source);
      if (h[0]?.level !== 1) problems.push("the first heading is not the chapter's `# Title`");
      const opening = chapter.source.slice(0, chapter.source.search(/^## /m));
      if (!/will be able to:?\s*\n\s*\n?- /.test(opening)) {
        problems.push('no opening "By the end of this chapter you will be able to:" followed by a list, before the first `##` section');
      }
      const sections = h.filter((x) => x.level === 2).map((x) => x.text);
      const hasExercise = fs.existsSync(path.join(ROOT, "exercises", `${chapter.name}.ts`));
      const closing = hasExercise ? ["Exercise", "Check yourself", "Read next"] : ["Check yourself", "Read next"];
      for (const name of closing) if (!sections.includes(name)) problems.push(`no \`## ${name}\` section`);
      if (sections.at(-1) !== "Read next") problems.push("`## Read next` is not the last section");
      if (!/## Check yourself\s*\n(?:[^#][^\n]*\n|\n)*?\s*1\. /.test(chapter.source)) problems.push("`## Check yourself` has no numbered questions");
      if (!/## Read next[\s\S]*\w\(\d\w*\)/.test(chapter.source)) problems.push("`## Read next` names no manual page (such as `mq_open(3)`)");
      if (hasExercise && !chapter.source.includes(`exercises/${chapter.name}.ts`)) problems.push(`the exercise section does not name exercises/${chapter.name}.ts`);
      expect(problems).toEqual([]);
    });
  }

  test("every task's `read` heading exists in its chapter, in the exercise and in the graded test", () => {
    const missing: string[] = [];
    for (const chapter of chapterFiles()) {
      const anchors = new Set(headings(chapter.source).map((x) => headingAnchor(x.text)));
      const sources = [
        [`exercises/${chapter.name}.ts`, /\btodo\(\s*CHAPTER\s*,\s*\d+\s*,\s*(?:"[^"]*"|`[^`]*`)\s*,\s*"([^"]+)"/g],
        [`solutions/${chapter.name}.ts`, /\btodo\(\s*CHAPTER\s*,\s*\d+\s*,\s*(?:"[^"]*"|`[^`]*`)\s*,\s*"([^"]+)"/g],
        [`test/${chapter.name}.test.ts`, /\bread:\s*"([^"]+)"/g],
      ] as const;
      for (const [file, pattern] of sources) {
        const full = path.join(ROOT, file);
        if (!fs.existsSync(full)) continue;
        for (const m of fs.readFileSync(full, "utf8").matchAll(pattern)) {
          if (!anchors.has(headingAnchor(m[1]!))) missing.push(`${file}: "${m[1]}" is not a heading of chapters/${chapter.file}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

/** Relative luminance of an sRGB colour `#rgb` or `#rrggbb` (WCAG 2). */
function luminance(hex: string): number {
  const full = hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join("")}` : hex;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** Contrast ratio of a colour against white, from 1 to 21. */
const contrastOnWhite = (hex: string) => 1.05 / (luminance(hex) + 0.05);

/** The fill of every <text> and <tspan> of an SVG, inherited from enclosing elements (SVG's default is black). */
function textFills(svg: string): string[] {
  const fills: string[] = [];
  const stack: string[] = ["#000000"];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)\b([^>]*?)(\/?)>/g)) {
    const [, closing, tag, attributes, selfClosing] = m;
    if (closing) {
      stack.pop();
      continue;
    }
    const own = /\sfill="([^"]+)"/.exec(attributes!)?.[1];
    const fill = own ?? stack.at(-1)!;
    if (tag === "text" || tag === "tspan") fills.push(fill);
    if (!selfClosing) stack.push(fill);
  }
  return fills;
}

describe("diagrams", () => {
  const dir = path.join(CHAPTERS, "img");
  const diagrams = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".svg")).sort() : [];

  test("each is accessible: role img, a title and a description, and a viewBox to scale by", () => {
    const problems: string[] = [];
    for (const file of diagrams) {
      const svg = fs.readFileSync(path.join(dir, file), "utf8");
      if (!/<svg[^>]*\srole="img"/.test(svg)) problems.push(`${file}: no role="img" on <svg>`);
      if (!/<svg[^>]*\sviewBox="/.test(svg)) problems.push(`${file}: no viewBox on <svg>`);
      if (!/<title[^>]*>[^<]+<\/title>/.test(svg)) problems.push(`${file}: no <title>`);
      if (!/<desc[^>]*>[^<]+<\/desc>/.test(svg)) problems.push(`${file}: no <desc> saying what the picture shows`);
    }
    expect(problems).toEqual([]);
  });

  test("text is dark enough to read on the light theme (and, inverted, on the dark ones)", () => {
    // theme/book.css inverts diagrams in the dark themes, so dark ink reads
    // well in both; mid-grey text is faint in both. WCAG AA asks 4.5:1.
    const problems: string[] = [];
    for (const file of diagrams) {
      const fills = textFills(fs.readFileSync(path.join(dir, file), "utf8"));
      const faint = [...new Set(fills.filter((f) => /^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$/.test(f) && contrastOnWhite(f) < 4.5))];
      // White text is allowed only on a dark shape of its own, which the checks cannot see; skip it.
      const real = faint.filter((f) => luminance(f) < 0.9);
      if (real.length > 0) problems.push(`${file}: text in ${real.join(", ")} has less than 4.5:1 contrast on white; use #24292f or #57606a`);
    }
    expect(problems).toEqual([]);
  });
});

describe("includes and listings", () => {
  test("every {{#include}} names a file and an anchor that exist", () => {
    const problems: string[] = [];
    for (const { file, source } of bookSources()) {
      for (const m of source.matchAll(/\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}/g)) {
        const [target = "", ...rest] = m[2]!.split(":");
        const anchor = rest.join(":");
        const full = path.resolve(CHAPTERS, target);
        if (!fs.existsSync(full) || !fs.statSync(full).isFile()) {
          problems.push(`${file}: ${m[0]}: no file ${path.relative(ROOT, full)}`);
          continue;
        }
        const text = fs.readFileSync(full, "utf8");
        if (anchor === "" || /^\d*(?::\d*)?$/.test(anchor)) {
          // A line range: the lines must exist.
          const first = Number(anchor.split(":")[0] || 1);
          if (first > text.split("\n").length) problems.push(`${file}: ${m[0]}: ${target} has no line ${first}`);
          continue;
        }
        const start = new RegExp(`ANCHOR:\\s*${anchor}\\b`);
        const end = new RegExp(`ANCHOR_END:\\s*${anchor}\\b`);
        if (!start.test(text) || !end.test(text)) problems.push(`${file}: ${m[0]}: ${target} has no ANCHOR/ANCHOR_END "${anchor}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("every folder of listings has its listings test", () => {
    const examples = path.join(ROOT, "examples");
    const folders = fs.existsSync(examples)
      ? fs.readdirSync(examples).filter((f) => /^\d\d-/.test(f) && fs.statSync(path.join(examples, f)).isDirectory())
      : [];
    const problems: string[] = [];
    for (const folder of folders) {
      const testFile = path.join(ROOT, "test", "listings", `${folder}.test.ts`);
      if (!fs.existsSync(testFile)) {
        problems.push(`examples/${folder}/ has no test/listings/${folder}.test.ts to run its listings`);
        continue;
      }
      if (!fs.readFileSync(testFile, "utf8").includes(`examples/${folder}`)) {
        problems.push(`test/listings/${folder}.test.ts does not name examples/${folder}, so it cannot be running its listings`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("every file of a listings folder that is not itself a listing is used by one (C sources, scripts)", () => {
    const examples = path.join(ROOT, "examples");
    const folders = fs.existsSync(examples) ? fs.readdirSync(examples).filter((f) => /^\d\d-/.test(f)) : [];
    const unused: string[] = [];
    for (const folder of folders) {
      const dir = path.join(examples, folder);
      if (!fs.statSync(dir).isDirectory()) continue;
      const files = fs.readdirSync(dir);
      const testFile = path.join(ROOT, "test", "listings", `${folder}.test.ts`);
      const users = [
        ...files.filter((f) => f.endsWith(".ts")).map((f) => fs.readFileSync(path.join(dir, f), "utf8")),
        fs.existsSync(testFile) ? fs.readFileSync(testFile, "utf8") : "",
      ].join("\n");
      for (const file of files.filter((f) => !f.endsWith(".ts"))) {
        if (!users.includes(file)) unused.push(`examples/${folder}/${file} is not used by any listing of its folder, so no test runs it`);
      }
    }
    expect(unused).toEqual([]);
  });

  test("every listing a chapter includes is in a folder that the listings tests run", () => {
    const problems: string[] = [];
    for (const { file, source } of bookSources()) {
      for (const m of source.matchAll(/\{\{#include\s+\.\.\/examples\/([^/]+)\/([^:}\s]+)/g)) {
        if (!fs.existsSync(path.join(ROOT, "test", "listings", `${m[1]}.test.ts`))) {
          problems.push(`${file} includes examples/${m[1]}/${m[2]}, which no test/listings/${m[1]}.test.ts runs`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
