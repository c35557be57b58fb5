/**
 * Checks your exercises the way the grader will.
 *
 *   bun run check            every chapter: tasks passed, and what to do next
 *   bun run check 03         chapter 03 task by task, with hints for what fails
 *   bun run check 03 --dir solutions    check another folder of exercise files
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { gradedChapters, runGraded, type ChapterRun, type GradedChapter } from "../test/harness/graded-files.ts";
import { headingAnchor } from "../exercises/support.ts";

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  options: { dir: { type: "string", default: "exercises" }, help: { type: "boolean", short: "h" } },
  allowPositionals: true,
});

if (values.help) {
  console.log("usage: bun run check [NN] [--dir FOLDER]");
  process.exit(0);
}

const dir = path.resolve(values.dir);
const chapters = gradedChapters();
const color = process.stdout.isTTY ? (code: number, text: string) => `\x1b[${code}m${text}\x1b[0m` : (_: number, text: string) => text;
const green = (text: string) => color(32, text);
const red = (text: string) => color(31, text);
const dim = (text: string) => color(2, text);

function passedCount(run: ChapterRun): number {
  return run.outcomes.filter((o) => o.passed).length;
}

function showChapter(chapter: GradedChapter, run: ChapterRun): void {
  console.log(`\nChapter ${chapter.chapter}: ${passedCount(run)}/${run.outcomes.length} tasks pass\n`);
  for (const info of run.tasks) {
    const outcome = run.outcomes.find((o) => o.name.startsWith(`task ${info.number}:`));
    if (outcome?.passed) {
      console.log(`  ${green("✓")} task ${info.number}: ${info.title} ${dim(`(${info.points} points)`)}`);
      continue;
    }
    console.log(`  ${red("✗")} task ${info.number}: ${info.title} ${dim(`(${info.points} points)`)}`);
    console.log(`      ${outcome?.message ?? "the test did not run"}`);
    console.log(`      hint: ${info.hint}`);
    console.log(`      read: "${info.read}", chapters/${chapter.chapter}.md#${headingAnchor(info.read)}`);
  }
  console.log("");
}

const wanted = positionals[0];
if (wanted !== undefined) {
  const chapter = chapters.find((c) => c.chapter.startsWith(wanted.padStart(2, "0")));
  if (!chapter) {
    console.error(`No graded chapter ${wanted}. Chapters: ${chapters.map((c) => c.chapter).join(", ")}`);
    process.exit(2);
  }
  const run = await runGraded(chapter, dir);
  showChapter(chapter, run);
  process.exit(passedCount(run) === run.outcomes.length ? 0 : 1);
}

let next: string | undefined;
console.log(`\nChecking ${path.relative(process.cwd(), dir) || "."}/\n`);
for (const chapter of chapters) {
  const run = await runGraded(chapter, dir);
  const passed = passedCount(run);
  const done = passed === run.outcomes.length;
  if (!done) next ??= chapter.chapter;
  console.log(`  ${done ? green("✓") : red("·")} ${chapter.chapter.padEnd(16)} ${passed}/${run.outcomes.length} tasks`);
}
console.log(next ? `\nNext: bun run check ${next.slice(0, 2)}\n` : "\nEvery chapter is done.\n");
