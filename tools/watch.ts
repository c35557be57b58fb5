/**
 * Watch mode: checks the first unfinished chapter every time you save, with
 * a progress bar over every task of every chapter.
 *
 *   bun run watch                   watch exercises/
 *   bun run watch --dir D           another folder of exercise files
 *   bun run watch --poll            look for changes every second instead of
 *                                   waiting for file events (network and WSL
 *                                   folders, where events do not arrive)
 *   bun run watch --only 03,04      these chapters only
 *
 * Keys: h shows or hides the hint, r checks again, q quits.
 *
 * Without --poll it listens for file events and also looks at the files
 * every few seconds; if it finds a change no event announced, it says so
 * and polls from then on.
 */
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { parseArgs } from "node:util";
import { gradedChapters, type GradedChapter } from "../test/harness/graded-files.ts";
import { bar } from "./grading/report.ts";
import { chapterLines, checkChapter, done, paint, type ChapterStatus } from "./grading/student-view.ts";

const USAGE = "usage: bun run watch [--dir FOLDER] [--poll] [--poll-interval MS] [--only 03,04]";

let parsed;
try {
  parsed = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      dir: { type: "string", default: "exercises" },
      poll: { type: "boolean", default: false },
      "poll-interval": { type: "string", default: "1000" },
      only: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const dir = path.resolve(values.dir);
const shownDir = (() => {
  const relative = path.relative(process.cwd(), dir);
  return `${relative.startsWith("..") ? dir : relative || "."}/`;
})();
const pollInterval = Math.max(100, Number(values["poll-interval"]) || 1000);
/** In event mode, how often the files are looked at anyway, to catch missed events. */
const VERIFY_INTERVAL = 2000;

let chapters: GradedChapter[] = gradedChapters();
if (values.only) {
  const wanted = values.only.split(",").map((c) => c.trim().padStart(2, "0"));
  chapters = chapters.filter((c) => wanted.some((w) => c.chapter === w || c.chapter.startsWith(`${w}-`)));
}
if (chapters.length === 0) {
  console.error("There are no chapters to watch.");
  process.exit(2);
}
if (!fs.existsSync(dir)) {
  console.error(`There is no folder ${dir}.`);
  process.exit(2);
}

const tty = process.stdout.isTTY === true;
const p = paint(tty && !process.env.NO_COLOR);
const statuses = new Map<string, ChapterStatus>();
const running = new Map<string, AbortController>();
const queued = new Set<string>();
const jobs = os.availableParallelism();
let showHint = false;
let mode: "events" | "polling" = values.poll ? "polling" : "events";
let modeNote = "";
let notice = "";
let quitting = false;

const fileOf = (chapter: string) => path.join(dir, `${chapter}.ts`);

/** The first chapter not done, in book order; undefined once every one is. */
function current(): GradedChapter | undefined {
  return chapters.find((c) => {
    const status = statuses.get(c.chapter);
    return !status || !done(status);
  });
}

function render(): void {
  if (quitting) return;
  const lines: string[] = [];
  const watching = mode === "events" ? "file events" : `polling every ${pollInterval / 1000} s`;
  lines.push(`${p.bold("bun run watch")} · ${shownDir} · ${watching}${modeNote ? ` ${p.dim(`(${modeNote})`)}` : ""}`);
  const known = [...statuses.values()];
  const passed = known.reduce((sum, s) => sum + s.passed, 0);
  const total = known.reduce((sum, s) => sum + s.total, 0);
  const finished = known.filter(done).length;
  const pending = chapters.length - known.length;
  lines.push(`${bar(passed, total)} ${passed}/${total} tasks · ${finished}/${chapters.length} chapters done${pending > 0 ? ` · ${pending} not checked yet` : ""}`);
  lines.push("");
  if (notice) lines.push(p.green(notice), "");

  const chapter = current();
  if (!chapter) {
    lines.push(p.green("Every chapter is done. Well done!"), "", "q: quit");
  } else {
    const status = statuses.get(chapter.chapter);
    const checking = running.has(chapter.chapter) || queued.has(chapter.chapter);
    if (!status) {
      lines.push(`Chapter ${chapter.chapter}: checking…`);
    } else {
      const state = status.missing ? "no file yet" : `${status.passed}/${status.total} tasks`;
      lines.push(`${p.bold(`Chapter ${chapter.chapter}`)}: ${state}${checking ? p.dim(" · checking…") : ""}`);
      lines.push(...chapterLines(status, p, { hints: showHint, firstHintOnly: true }));
    }
    lines.push("");
    lines.push(`Save ${shownDir}${chapter.chapter}.ts and it is checked again.`);
    lines.push(`h: ${showHint ? "hide the hint" : "hint"} · r: check again · q: quit`);
  }
  const text = lines.join("\n");
  process.stdout.write(tty ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
}

/** Checks `chapter` now, or as soon as a slot is free; a newer save restarts a running check. */
function schedule(chapter: string): void {
  if (quitting) return;
  running.get(chapter)?.abort();
  queued.add(chapter);
  pump();
  render();
}

function pump(): void {
  if (quitting) return;
  for (const chapter of chapters.map((c) => c.chapter)) {
    if (running.size >= jobs) return;
    if (!queued.has(chapter) || running.has(chapter)) continue;
    queued.delete(chapter);
    const controller = new AbortController();
    running.set(chapter, controller);
    const graded = chapters.find((c) => c.chapter === chapter)!;
    void checkChapter(graded, dir, controller.signal).then((status) => {
      if (running.get(chapter) === controller) running.delete(chapter);
      if (!status.aborted) {
        const before = statuses.get(chapter);
        statuses.set(chapter, status);
        if (before && !done(before) && done(status)) {
          const next = current()?.chapter;
          notice = next ? `✓ Chapter ${chapter} is done. On to chapter ${next}.` : `✓ Chapter ${chapter} is done.`;
          showHint = false;
        }
      }
      pump();
      render();
    });
  }
}

// ---------------------------------------------------------------------------
// Noticing saves.

const seen = new Map<string, string>();
/** Files an event announced since the last look. */
const announced = new Set<string>();
const ignoreEvents = process.env.IPC_WATCH_IGNORE_EVENTS === "1"; // tests: a folder whose events never arrive

function signature(file: string): string {
  try {
    const stat = fs.statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return "missing";
  }
}

function look(): void {
  for (const c of chapters) {
    const now = signature(fileOf(c.chapter));
    const before = seen.get(c.chapter);
    seen.set(c.chapter, now);
    if (before === undefined || before === now) continue;
    if (mode === "events" && !announced.has(c.chapter)) {
      mode = "polling";
      modeNote = "file events do not arrive in this folder";
      startPolling();
    }
    schedule(c.chapter);
  }
  announced.clear();
}

let poller: ReturnType<typeof setInterval> | undefined;
function startPolling(): void {
  if (poller) clearInterval(poller);
  poller = setInterval(look, mode === "polling" ? pollInterval : VERIFY_INTERVAL);
}

const debounce = new Map<string, ReturnType<typeof setTimeout>>();
let watcher: fs.FSWatcher | undefined;
if (mode === "events") {
  try {
    watcher = fs.watch(dir, (_event, filename) => {
      if (ignoreEvents || !filename) return;
      const chapter = chapters.find((c) => `${c.chapter}.ts` === String(filename))?.chapter;
      if (!chapter) return;
      announced.add(chapter);
      clearTimeout(debounce.get(chapter));
      debounce.set(
        chapter,
        setTimeout(() => {
          const now = signature(fileOf(chapter));
          if (seen.get(chapter) === now) return; // touched, not changed
          seen.set(chapter, now);
          schedule(chapter);
        }, 150),
      );
    });
    watcher.on("error", () => {
      mode = "polling";
      modeNote = "file events stopped";
      startPolling();
      render();
    });
  } catch {
    mode = "polling";
    modeNote = "this folder gives no file events";
  }
}
for (const c of chapters) seen.set(c.chapter, signature(fileOf(c.chapter)));
startPolling();

// ---------------------------------------------------------------------------
// Keys, and leaving.

async function quit(): Promise<never> {
  if (quitting) return new Promise<never>(() => {});
  quitting = true;
  if (poller) clearInterval(poller);
  watcher?.close();
  for (const controller of running.values()) controller.abort();
  // Give the aborted runs their moment to kill their processes and clean up.
  while (running.size > 0) await Bun.sleep(20);
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  const known = [...statuses.values()];
  process.stdout.write(`\nStopped watching. ${known.reduce((s, c) => s + c.passed, 0)}/${known.reduce((s, c) => s + c.total, 0)} tasks done.\n`);
  process.exit(0);
}

process.on("SIGINT", () => void quit());
process.on("SIGTERM", () => void quit());
process.on("SIGHUP", () => void quit()); // the terminal went away
if (process.stdin.isTTY) {
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on("data", (data: Buffer) => {
    for (const key of data.toString("utf8")) {
      if (key === "q" || key === "\u0003") void quit();
      else if (key === "h") {
        showHint = !showHint;
        render();
      } else if (key === "r") {
        const chapter = current();
        if (chapter) schedule(chapter.chapter);
      }
    }
  });
}

for (const c of chapters) queued.add(c.chapter);
render();
pump();
