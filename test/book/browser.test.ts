/**
 * The built book in a real browser: Debian's Chromium, headless, driven by
 * playwright-core (which never downloads a browser of its own here). The
 * site is built into a temporary folder and served from this process on a
 * free port. The checks:
 *
 * - code is highlighted by Shiki in the light theme and in a dark theme:
 *   a token's computed colour differs between the themes, and in each it
 *   differs from the colour of plain text; highlight.js touched nothing;
 * - every diagram loads, and the dark themes invert it (theme/book.css);
 * - search finds `mq_notify` when it is typed into mdBook's search box;
 * - the sidebar navigates to the chapter clicked;
 * - screenshots of a chapter page in both themes go to test-artifacts/
 *   (gitignored), for a person to look at.
 *
 * Chromium is /usr/bin/chromium, or the path in CHROMIUM_PATH; .ci/run
 * installs it on a fresh Debian machine.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ROOT, sharedBook, type BuiltBook } from "./built-book.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "test-artifacts");
/** The chapter whose pages are screenshot and whose code is checked. */
const CHAPTER = "03-shm.html";
const LIGHT = "light";
const DARK_THEMES = ["coal", "navy", "ayu"] as const;

/*
 * The page's globals, typed just enough for the functions below that run
 * inside Chromium (the project compiles without TypeScript's DOM library).
 */
interface PageElement {
  style: { color: string; getPropertyValue(name: string): string };
  classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  remove(): void;
  complete?: boolean;
  naturalWidth?: number;
}
declare const document: {
  documentElement: PageElement;
  body: { append(element: PageElement): void };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  createElement(tag: string): PageElement;
};
declare const window: { scrollTo(x: number, y: number): void };
declare function getComputedStyle(element: PageElement): { color: string; filter: string };

let book: BuiltBook;
let server: ReturnType<typeof Bun.serve> | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;
let base = "";

/** Serves the built site: `/` is index.html; nothing outside the folder. */
function serve(root: string): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      let pathname = decodeURIComponent(new URL(request.url).pathname);
      if (pathname.endsWith("/")) pathname += "index.html";
      const file = path.join(root, path.normalize(pathname));
      if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        return new Response("not found", { status: 404 });
      }
      return new Response(Bun.file(file));
    },
  });
}

/** Switches mdBook's theme the way a reader does: the brush button, then the theme's entry. */
async function chooseTheme(page: Page, theme: string): Promise<void> {
  // The menu bar hides while the page is scrolled down.
  await page.evaluate(() => window.scrollTo(0, 0));
  const list = page.locator("#mdbook-theme-list");
  if (!(await list.isVisible())) await page.click("#mdbook-theme-toggle");
  await page.click(`#mdbook-theme-${theme}`);
  await page.waitForFunction((t) => document.documentElement.classList.contains(t), theme);
  // Choosing the theme that is already on leaves the list open; close it.
  if (await list.isVisible()) await page.keyboard.press("Escape");
  await list.waitFor({ state: "hidden" });
}

interface Colours {
  /** A highlighted token in a TypeScript listing. */
  token: string;
  /** Plain text of a paragraph. */
  text: string;
  /** The colour Shiki gave the token for this theme (its CSS variable). */
  declared: string;
  /** Elements highlight.js coloured inside Shiki's blocks (must be none). */
  hljsTokens: number;
}

/** Colours of the first TypeScript token whose light and dark colours differ. */
async function colours(page: Page): Promise<Colours> {
  return page.evaluate(() => {
    const dark = ["coal", "navy", "ayu"].some((t) => document.documentElement.classList.contains(t));
    const spans = Array.from(document.querySelectorAll('pre.shiki[data-lang="ts"] span[style*="--shiki-light"]'));
    const token = spans.find((s) => s.style.getPropertyValue("--shiki-light").toLowerCase() !== s.style.getPropertyValue("--shiki-dark").toLowerCase());
    if (token === undefined) throw new Error("no highlighted TypeScript token whose colours differ between the themes");
    // Resolve the declared colour to rgb() the way the browser writes computed colours.
    const probe = document.createElement("span");
    probe.style.color = token.style.getPropertyValue(dark ? "--shiki-dark" : "--shiki-light");
    document.body.append(probe);
    const declared = getComputedStyle(probe).color;
    probe.remove();
    const paragraph = document.querySelector("main p");
    return {
      token: getComputedStyle(token).color,
      text: paragraph ? getComputedStyle(paragraph).color : "",
      declared,
      hljsTokens: document.querySelectorAll('pre.shiki [class*="hljs-"]').length,
    };
  });
}

function screenshotPath(name: string): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. On Debian or Ubuntu: sudo apt-get install chromium (or set CHROMIUM_PATH to a Chromium binary).`,
    );
  }
  book = await sharedBook();
  if (book.code !== 0) throw new Error(`the book did not build:\n${book.log}`);
  server = serve(book.dest);
  base = `http://127.0.0.1:${server.port}/`;
  profile = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await server?.stop(true);
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

async function open(url: string): Promise<Page> {
  const page = await context!.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(base + url, { waitUntil: "load" });
  expect(errors).toEqual([]);
  return page;
}

describe("the book in Chromium", () => {
  test("Shiki colours the code in the light theme and in the dark themes", async () => {
    const page = await open(CHAPTER);
    try {
      await chooseTheme(page, LIGHT);
      const light = await colours(page);
      expect(light.hljsTokens).toBe(0);
      expect(light.token).toBe(light.declared);
      expect(light.token).not.toBe(light.text);

      for (const theme of DARK_THEMES) {
        await chooseTheme(page, theme);
        const dark = await colours(page);
        expect({ theme, hljs: dark.hljsTokens }).toEqual({ theme, hljs: 0 });
        expect({ theme, token: dark.token }).toEqual({ theme, token: dark.declared });
        expect(dark.token).not.toBe(dark.text);
        expect(dark.token).not.toBe(light.token);
      }
    } finally {
      await page.close();
    }
  }, 60_000);

  test("every diagram loads, and the dark themes invert it", async () => {
    const pages = fs.readdirSync(path.join(ROOT, "chapters")).filter((f) => f.endsWith(".md") && f !== "SUMMARY.md");
    const withImages = pages
      .map((f) => ({ html: f === "README.md" ? "index.html" : f.replace(/\.md$/, ".html"), md: fs.readFileSync(path.join(ROOT, "chapters", f), "utf8") }))
      .filter((p) => p.md.includes("](img/") || p.md.includes('src="img/'));
    expect(withImages.length).toBeGreaterThan(0);
    const page = await context!.newPage();
    try {
      for (const { html } of withImages) {
        await page.goto(base + html, { waitUntil: "load" });
        // The theme's CSS keys on <html>'s class; the menu itself is tested above.
        const inTheme = (theme: string) =>
          page.evaluate((t) => {
            const root = document.documentElement as unknown as { className: string };
            root.className = root.className.replace(/\b(light|rust|coal|navy|ayu)\b/g, "").trim() + ` ${t}`;
            return Array.from(document.querySelectorAll(".content img")).map((img) => ({
              src: img.getAttribute("src"),
              loaded: img.complete === true && (img.naturalWidth ?? 0) > 0,
              filter: getComputedStyle(img).filter,
            }));
          }, theme);
        for (const image of await inTheme(LIGHT)) {
          expect({ page: html, src: image.src, loaded: image.loaded, filter: image.filter }).toEqual({ page: html, src: image.src, loaded: true, filter: "none" });
        }
        for (const theme of DARK_THEMES) {
          for (const image of await inTheme(theme)) {
            if (image.src?.startsWith("img/")) expect({ page: html, theme, src: image.src, inverted: image.filter.includes("invert") }).toEqual({ page: html, theme, src: image.src, inverted: true });
          }
        }
      }
    } finally {
      await page.close();
    }
  }, 60_000);

  test("search finds mq_notify", async () => {
    const page = await open("index.html");
    try {
      await page.click("#mdbook-search-toggle");
      // The search index loads when the box opens; a query typed before it
      // arrives finds nothing, so type it again until results show.
      const results = page.locator("#mdbook-searchresults li a").first();
      for (let attempt = 1; ; attempt++) {
        await page.fill("#mdbook-searchbar", "");
        await page.locator("#mdbook-searchbar").pressSequentially("mq_notify");
        try {
          await results.waitFor({ state: "visible", timeout: 5_000 });
          break;
        } catch (error) {
          if (attempt === 4) throw error;
        }
      }
      const hrefs = await page.$$eval("#mdbook-searchresults li a", (links) => (links as unknown as PageElement[]).map((a) => a.getAttribute("href") ?? ""));
      expect(hrefs.length).toBeGreaterThan(0);
      const header = await page.textContent("#mdbook-searchresults-header");
      expect(header).toContain("mq_notify");
      // The first result opens a page that really mentions it.
      await page.click("#mdbook-searchresults li a");
      await page.waitForLoadState("load");
      expect(await page.textContent("main")).toContain("mq_notify");
    } finally {
      await page.close();
    }
  }, 60_000);

  test("the sidebar navigates to a chapter", async () => {
    const page = await open("index.html");
    try {
      const link = page.locator(`#mdbook-sidebar a[href$="${CHAPTER}"]`).first();
      await link.waitFor({ state: "visible" });
      const title = (await link.textContent())?.replace(/^\s*[\d.]+\s*/, "").trim() ?? "";
      await link.click();
      await page.waitForURL(`**/${CHAPTER}`);
      expect((await page.textContent("main h1"))?.trim()).toBe(title);
      // The sidebar marks the open chapter as active.
      expect(await page.locator(`#mdbook-sidebar a.active[href$="${CHAPTER}"]`).count()).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  }, 60_000);

  test("screenshots of a chapter in the light and the dark theme", async () => {
    const page = await open(CHAPTER);
    try {
      const shots: string[] = [];
      for (const theme of [LIGHT, "coal"]) {
        await chooseTheme(page, theme);
        await page.evaluate(() => window.scrollTo(0, 0));
        shots.push(screenshotPath(`book-${CHAPTER.replace(".html", "")}-${theme}.png`));
        await page.screenshot({ path: shots.at(-1)! });
        // A listing and a diagram further down, where they can be judged.
        // Scrolled to the middle of the window, clear of the sticky menu bar.
        const listing = page.locator('pre.shiki[data-lang="ts"]').first();
        await listing.evaluate((el) => el.scrollIntoView({ block: "center" }));
        shots.push(screenshotPath(`book-${CHAPTER.replace(".html", "")}-listing-${theme}.png`));
        await listing.screenshot({ path: shots.at(-1)! });
        const diagram = page.locator(".content img[src*='img/']").first();
        if ((await diagram.count()) > 0) {
          await diagram.evaluate((el) => el.scrollIntoView({ block: "center" }));
          shots.push(screenshotPath(`book-${CHAPTER.replace(".html", "")}-diagram-${theme}.png`));
          await diagram.screenshot({ path: shots.at(-1)! });
        }
      }
      for (const shot of shots) expect(fs.statSync(shot).size).toBeGreaterThan(5_000);
    } finally {
      await page.close();
    }
  }, 60_000);
});
