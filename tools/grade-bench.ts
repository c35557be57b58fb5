/**
 * How fast `bun run grade` is: one complete submission (the reference
 * solutions of every chapter), then a class of identical submissions graded
 * one chapter at a time and then with one job per core, to show how grading
 * scales with the cores. A benchmark, not a test: it prints figures.
 *
 *   bun run tools/grade-bench.ts                 one submission, and a class of 20
 *   bun run tools/grade-bench.ts --class 8       a smaller class
 *   bun run tools/grade-bench.ts --class 0       one submission only
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gradedChapters } from "../test/harness/graded-files.ts";
import { ROOT } from "../test/harness/student.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { class: { type: "string", default: "20" }, jobs: { type: "string" } },
});
const classSize = Number(values.class);
const cores = os.availableParallelism();
const jobs = Number(values.jobs ?? cores);

interface Report {
  isolation: string;
  submissions: { score: number; max_score: number; execution_time: number; chapters: { chapter: string; ms: number; score: number; max_score: number }[] }[];
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-bench-"));

/** A submission folder holding the reference solution of every graded chapter. */
function solutions(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  for (const c of gradedChapters()) {
    const file = path.join(ROOT, "solutions", `${c.chapter}.ts`);
    if (fs.existsSync(file)) fs.copyFileSync(file, path.join(dir, `${c.chapter}.ts`));
  }
  return dir;
}

async function grade(dirs: string[], jobCount: number): Promise<{ seconds: number; report: Report }> {
  const out = path.join(work, `report-${Date.now()}.json`);
  const started = performance.now();
  const run = Bun.spawn([process.execPath, path.join(ROOT, "tools", "grade.ts"), ...dirs, "--format", "json", "--out", out, "--jobs", String(jobCount), "--quiet"], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  const code = await run.exited;
  const seconds = (performance.now() - started) / 1000;
  if (!fs.existsSync(out)) throw new Error(`grade failed (exit ${code})`);
  return { seconds, report: JSON.parse(fs.readFileSync(out, "utf8")) as Report };
}

const fmt = (seconds: number) => `${seconds.toFixed(1)} s`;
/** Other work on the machine slows grading down: say how busy it was. */
const load = () => `load average ${os.loadavg()[0]!.toFixed(1)} on ${cores} cores`;
/** Chapter-seconds graded per wall-clock second: how many chapters ran at once, on average. */
const overlap = (report: Report, seconds: number) =>
  (report.submissions.reduce((sum, s) => sum + s.chapters.reduce((t, c) => t + c.ms, 0), 0) / 1000 / seconds).toFixed(2);

try {
  console.log(`Machine: ${cores} cores, ${os.cpus()[0]?.model ?? "unknown CPU"}; Bun ${Bun.version}`);
  const one = solutions("one");
  const single = await grade([one], jobs);
  const s = single.report.submissions[0]!;
  console.log(`Isolation: ${single.report.isolation}`);
  console.log(`\nOne complete submission (${s.chapters.length} chapters, ${s.score}/${s.max_score} points), --jobs ${jobs}: ${fmt(single.seconds)} wall clock, ${overlap(single.report, single.seconds)} chapters at once (${load()})`);
  for (const c of s.chapters) console.log(`  ${c.chapter.padEnd(16)} ${(c.ms / 1000).toFixed(1).padStart(5)} s  ${c.score}/${c.max_score}`);
  if (s.score !== s.max_score) console.log("  (the reference solutions did not earn every point: see `bun run grade` for details)");

  if (classSize > 0) {
    const dirs = Array.from({ length: classSize }, (_, i) => solutions(`student-${String(i + 1).padStart(2, "0")}`));
    const serial = await grade(dirs, 1);
    const parallel = await grade(dirs, jobs);
    const perSubmission = (seconds: number) => `${(seconds / classSize).toFixed(2)} s a submission`;
    console.log(`\nA class of ${classSize} submissions:`);
    console.log(`  --jobs 1:  ${fmt(serial.seconds)}  (${perSubmission(serial.seconds)}; ${load()})`);
    console.log(
      `  --jobs ${jobs}:  ${fmt(parallel.seconds)}  (${perSubmission(parallel.seconds)}; ${overlap(parallel.report, parallel.seconds)} chapters at once; ${load()}), ${(serial.seconds / parallel.seconds).toFixed(2)}× faster`,
    );
    const full = parallel.report.submissions.filter((x) => x.score === x.max_score).length;
    console.log(`  ${full}/${classSize} submissions earned every point`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
