/**
 * Every internal link of the built book resolves: each `href` and `src`
 * to a local page or file points at a file that exists, and each `#id`
 * at an element of that page. Read from the HTML mdBook wrote, so links
 * in the theme, the sidebar and the generated API reference are checked
 * as well as those written in the chapters.
 *
 * A link to a numbered chapter that is not written yet (`04-sync.html`
 * while no chapters/04-*.md exists) is reported by its own test, so that
 * the book's other links stay checked while chapters are being written.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { ROOT, sharedBook, type BuiltBook } from "./built-book.ts";

/** Pages whose links are not the book's own: the print page repeats every chapter, 404 uses site-absolute paths. */
const SKIPPED_PAGES = new Set(["print.html", "404.html"]);

interface Link {
  page: string;
  attribute: "href" | "src";
  url: string;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, "&");
}

/** The ids defined in a page. */
function idsOf(html: string): Set<string> {
  return new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => decodeEntities(m[1]!)));
}

/** The local links of a page: not to another site, not `javascript:`, not `data:`. */
function linksOf(page: string, html: string): Link[] {
  const links: Link[] = [];
  for (const m of html.matchAll(/\s(href|src)="([^"]*)"/g)) {
    const url = decodeEntities(m[2]!);
    if (/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(url)) continue;
    links.push({ page, attribute: m[1] as "href" | "src", url });
  }
  return links;
}

/** A numbered chapter the curriculum plans that has no source yet. */
function isUnwrittenChapter(file: string): boolean {
  const m = /^(\d\d)-[a-z0-9-]+\.html$/.exec(file);
  if (m === null) return false;
  return !fs.readdirSync(path.join(ROOT, "chapters")).some((f) => f.startsWith(`${m[1]}-`) && f.endsWith(".md"));
}

describe("links in the built book", () => {
  let book: BuiltBook;
  const broken: string[] = [];
  const unwritten = new Map<string, Set<string>>();
  let checked = 0;

  beforeAll(async () => {
    book = await sharedBook();
    if (book.code !== 0) return;
    const pages = fs.readdirSync(book.dest).filter((f) => f.endsWith(".html") && !SKIPPED_PAGES.has(f));
    const ids = new Map<string, Set<string>>();
    const idsFor = (file: string) => {
      let set = ids.get(file);
      if (set === undefined) {
        set = idsOf(fs.readFileSync(path.join(book.dest, file), "utf8"));
        ids.set(file, set);
      }
      return set;
    };
    for (const page of pages) {
      for (const link of linksOf(page, fs.readFileSync(path.join(book.dest, page), "utf8"))) {
        checked++;
        const [target = "", fragment] = link.url.split("#", 2);
        const file = target === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), decodeURI(target.split("?")[0]!)));
        const where = `${page}: ${link.attribute}="${link.url}"`;
        if (file.startsWith("..") || !fs.existsSync(path.join(book.dest, file))) {
          if (isUnwrittenChapter(file)) unwritten.set(file, (unwritten.get(file) ?? new Set()).add(page));
          else broken.push(`${where}: no file ${file}`);
          continue;
        }
        if (fragment !== undefined && fragment !== "" && file.endsWith(".html") && !idsFor(file).has(decodeURIComponent(fragment))) {
          broken.push(`${where}: ${file} has no element with id "${decodeURIComponent(fragment)}"`);
        }
      }
    }
  }, 120_000);

  test("the book builds", () => {
    if (book.code !== 0) console.error(book.log);
    expect(book.code).toBe(0);
  });

  test("every link to a page, a file or an anchor resolves", () => {
    expect(checked).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });

  test("every chapter the book links to is written", () => {
    // Until every chapter of the curriculum exists, this lists the missing ones and who links to them.
    const report = [...unwritten].map(([file, pages]) => `${file} (linked from ${[...pages].sort().join(", ")})`).sort();
    expect(report).toEqual([]);
  });
});
