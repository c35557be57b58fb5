/**
 * Checks your exercises the way the grader will.
 *
 *   bun run check                 every chapter: tasks passed, and what to do next
 *   bun run check 03              chapter 03 task by task: what fails, a hint, where to read
 *   bun run check 03 --dir solutions      another folder of exercise files
 *   bun run check --reset 03      put exercises/03-*.ts back as it was (asks first; --yes does not)
 *
 * Exit status of `check NN`: 0 when every task passes, 1 when one fails; the
 * overview exits 0. A usage error exits 2.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { gradedChapters, type GradedChapter } from "../test/harness/graded-files.ts";
import { bar } from "./grading/report.ts";
import { chapterLines, checkChapter, checkChapters, done, failureOf, paint, readAt } from "./grading/student-view.ts";
import { pristineText } from "./pristine.ts";

const USAGE = `usage: bun run check [NN] [--dir FOLDER]
       bun run check --reset NN [--yes] [--dir FOLDER]`;

let parsed;
try {
  parsed = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      dir: { type: "string", default: "exercises" },
      reset: { type: "string" },
      yes: { type: "boolean", short: "y", default: false },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

/** A path as the student would type it: relative below here, absolute elsewhere. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith("..") ? file : relative || ".";
}

const dir = path.resolve(values.dir);
const shownDir = `${shownPath(dir)}/`;
const chapters = gradedChapters();
const p = paint(process.stdout.isTTY === true && !process.env.NO_COLOR);

function findChapter(wanted: string): GradedChapter | undefined {
  return chapters.find((c) => c.chapter === wanted || c.chapter.startsWith(`${wanted.padStart(2, "0")}-`));
}

function noSuchChapter(wanted: string): never {
  console.error(`There is no chapter ${wanted}. Chapters: ${chapters.map((c) => c.chapter).join(", ")}`);
  process.exit(2);
}

async function ask(question: string): Promise<boolean> {
  process.stdout.write(question);
  for await (const line of console) {
    if (!process.stdin.isTTY) process.stdout.write(`${line}\n`); // show what was answered
    return /^\s*y(es)?\s*$/i.test(line);
  }
  return false; // end of input: no
}

async function reset(wanted: string): Promise<never> {
  const chapter = findChapter(wanted)?.chapter ?? (/^\d\d-/.test(wanted) ? wanted : undefined);
  const pristine = chapter ? pristineText(chapter) : undefined;
  if (!chapter || pristine === undefined) noSuchChapter(wanted);
  const target = path.join(dir, `${chapter}.ts`);
  const shown = shownPath(target);
  if (fs.existsSync(target) && fs.readFileSync(target, "utf8") === pristine) {
    console.log(`${shown} is as it was shipped already; nothing to do.`);
    process.exit(0);
  }
  const backup = `${target}.bak`;
  if (fs.existsSync(target) && !values.yes) {
    const yes = await ask(`Reset ${shown} to the original exercise? Your version goes to ${shownPath(backup)}. [y/N] `);
    if (!yes) {
      console.log("Nothing changed.");
      process.exit(1);
    }
  }
  const kept = fs.existsSync(target);
  if (kept) fs.copyFileSync(target, backup);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(target, pristine);
  console.log(`${shown} is the original exercise again.${kept ? ` Your version is in ${shownPath(backup)}.` : ""}`);
  process.exit(0);
}

if (values.reset !== undefined) await reset(values.reset);

const wanted = positionals[0];
if (wanted !== undefined) {
  const chapter = findChapter(wanted) ?? noSuchChapter(wanted);
  const status = await checkChapter(chapter, dir);
  const summary = status.missing ? "not started" : `${status.passed}/${status.total} tasks pass, ${status.points}/${status.maxPoints} points`;
  console.log(`\nChapter ${chapter.chapter} (${shownDir}${chapter.chapter}.ts): ${summary}\n`);
  console.log(chapterLines(status, p, { hints: true }).join("\n"));
  console.log(done(status) ? `\n${p.green("Chapter done.")}\n` : `\nRun ${p.bold(`bun run check ${chapter.chapter.slice(0, 2)}`)} again after each change, or ${p.bold("bun run watch")}.\n`);
  process.exit(done(status) ? 0 : 1);
}

console.log(`\nChecking ${shownDir}\n`);
const statuses = await checkChapters(chapters, dir);
const width = Math.max(...chapters.map((c) => c.chapter.length), 7);
console.log(`    ${"chapter".padEnd(width)}  tasks   points`);
for (const status of statuses) {
  const mark = done(status) ? p.green("✓") : status.passed > 0 ? p.red("◐") : p.red("·");
  const tasks = status.missing ? "–" : `${status.passed}/${status.total}`;
  const points = status.missing ? "missing" : `${status.points}/${status.maxPoints}${status.problem ? "  (the tests could not run)" : ""}`;
  console.log(`  ${mark} ${status.chapter.padEnd(width)}  ${tasks.padEnd(6)}  ${points}`);
}
const passed = statuses.reduce((sum, s) => sum + s.passed, 0);
const total = statuses.reduce((sum, s) => sum + s.total, 0);
console.log(`\n  ${bar(passed, total)} ${passed}/${total} tasks`);

const next = statuses.find((s) => !done(s));
if (!next) {
  console.log(`\n${p.green("Every chapter is done.")}\n`);
  process.exit(0);
}
const task = next.tasks.find((t) => !next.verdicts.get(t.number)?.passed);
console.log(`\nNext: chapter ${next.chapter}${task ? `, task ${task.number}: ${task.title}` : ""}`);
if (task) {
  console.log(`  ${failureOf(next, task)}`);
  console.log(`  read: ${readAt(next.chapter, task.read)}`);
}
console.log(`  then: bun run check ${next.chapter.slice(0, 2)}   (or bun run watch)\n`);
