/**
 * Grades students' submissions, safely: `bun run grade <dir>...`
 *
 * Each submission is a folder shaped like exercises/ (or a clone of the
 * project, whose exercises/ is then used). For each, every chapter present
 * is graded task by task (partial credit), each chapter inside a box of its
 * own (see tools/grading/isolation.ts): the student's code cannot see or
 * touch the grader, the tests, another submission or the reference
 * solutions, and everything it starts is killed with the box.
 *
 *   bun run grade submissions/*                  a table, with a progress bar on stderr
 *   bun run grade alice --format gradescope --out results.json
 *   bun run grade exercises --format classroom --out result.json   (GitHub Classroom, see .github/classroom/)
 *   bun run grade class/* --format json --out grades.json --csv class.csv --jobs 4
 *
 * Exit status: 0 when grading worked, whatever the scores; 1 when a
 * submission or a chapter could not be graded; 2 for a usage error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gradedChapters, type GradedChapter, type TaskInfo } from "../test/harness/graded-files.ts";
import { describeIsolation, probeIsolation, type Isolation } from "./grading/isolation.ts";
import {
  bar,
  csv,
  FORMATS,
  render,
  writeOut,
  type ChapterGrade,
  type Format,
  type GradeReport,
  type SubmissionGrade,
  type TaskGrade,
} from "./grading/report.ts";
import { declaredTasks, removeTree, runChapter, type ChapterResult } from "./grading/run.ts";

const USAGE = `usage: bun run grade <submission-dir>... [options]

  --format F              table (default), json, gradescope, exercism, classroom, junit
  --out FILE              write the report to FILE instead of standard output
  --csv FILE              also write a class summary as CSV
  --jobs N                chapters graded at once (default: the number of cores)
  --task-timeout S        most seconds any one task may take (default: each task's own limit)
  --submission-timeout S  most seconds one submission may take in all (default 600)
  --chapters LIST         grade these chapters, e.g. 03,05 (a missing one earns 0);
                          default: every chapter present in any submission
  --sandbox MODE          auto (default), require (fail without namespaces), off
  --max-processes N       most processes (threads included) one chapter's box may hold (default 512)
  --details               every task of every submission in the table
  --quiet                 no progress on standard error`;

/** Largest exercise file accepted. */
const MAX_FILE = 1024 * 1024;

function usage(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      format: { type: "string", default: "table" },
      out: { type: "string" },
      csv: { type: "string" },
      jobs: { type: "string" },
      "task-timeout": { type: "string" },
      "submission-timeout": { type: "string", default: "600" },
      chapters: { type: "string" },
      sandbox: { type: "string", default: "auto" },
      "max-processes": { type: "string", default: "512" },
      details: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const format = values.format as Format;
if (!FORMATS.includes(format)) usage(`unknown format "${values.format}"`);
if (positionals.length === 0) usage("name at least one submission folder");

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) usage(`--${name} needs a positive number, not "${raw}"`);
  return value;
}
const jobs = Math.floor(positive("jobs", values.jobs) ?? os.availableParallelism());
const taskTimeoutS = positive("task-timeout", values["task-timeout"]);
const submissionTimeoutS = positive("submission-timeout", values["submission-timeout"])!;
const maxProcesses = Math.floor(positive("max-processes", values["max-processes"])!);
const sandbox = values.sandbox as "auto" | "require" | "off";
if (!["auto", "require", "off"].includes(sandbox)) usage(`--sandbox is auto, require or off, not "${values.sandbox}"`);

const discovered = gradedChapters();
if (discovered.length === 0) {
  console.error("There are no graded chapters (test/NN-topic.test.ts) to grade with.");
  process.exit(1);
}

function findChapter(wanted: string): GradedChapter {
  const found = discovered.find((c) => c.chapter === wanted || c.chapter.startsWith(`${wanted.padStart(2, "0")}-`));
  if (!found) usage(`no graded chapter "${wanted}"; there are ${discovered.map((c) => c.chapter).join(", ")}`);
  return found;
}

// ---------------------------------------------------------------------------
// The submissions, and which chapters each holds.

interface Submission {
  name: string;
  path: string;
  /** Where its chapter files are (the folder itself, or its exercises/). */
  source?: string;
  problem?: string;
  present: Set<string>;
}

const chapterFile = (dir: string, chapter: string) => path.join(dir, `${chapter}.ts`);

function holdsChapters(dir: string): boolean {
  return discovered.some((c) => fs.existsSync(chapterFile(dir, c.chapter)) || isLink(chapterFile(dir, c.chapter)));
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

const submissions: Submission[] = positionals.map((arg) => {
  const dir = path.resolve(arg);
  const submission: Submission = { name: path.basename(dir), path: dir, present: new Set() };
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    submission.problem = "no such folder";
    return submission;
  }
  if (!stat.isDirectory()) {
    submission.problem = "not a folder";
    return submission;
  }
  const nested = path.join(dir, "exercises");
  submission.source = !holdsChapters(dir) && fs.existsSync(nested) && holdsChapters(nested) ? nested : dir;
  for (const c of discovered) {
    const file = chapterFile(submission.source, c.chapter);
    if (fs.existsSync(file) || isLink(file)) submission.present.add(c.chapter);
  }
  return submission;
});

// Distinct names: "alice", or "class-a/alice" and "class-b/alice".
for (const s of submissions) {
  if (submissions.filter((o) => o.name === s.name).length > 1) s.name = path.relative(process.cwd(), s.path) || s.name;
}

const selected: GradedChapter[] = values.chapters
  ? [...new Set(values.chapters.split(",").map((c) => c.trim()).filter(Boolean))].map(findChapter)
  : discovered.filter((c) => submissions.some((s) => s.present.has(c.chapter)));

// ---------------------------------------------------------------------------
// Set-up: isolation, the tasks of each chapter (from our tests, with no
// student code), a private copy of every submission.

let isolation: Isolation;
try {
  isolation = probeIsolation({ sandbox, maxProcesses });
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-grade-"));
fs.chmodSync(work, 0o711); // passed through, never listed, by the boxes' own users (and a test's second user)
const controller = new AbortController();
let interrupted = false;
const onSignal = () => {
  interrupted = true;
  controller.abort();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const tasksOf = new Map<string, TaskInfo[]>();
const testSources = new Map<string, string>();
try {
  await Promise.all(
    selected.map(async (c) => {
      tasksOf.set(c.chapter, await declaredTasks(c));
      testSources.set(c.chapter, fs.readFileSync(c.testFile, "utf8"));
    }),
  );
} catch (error) {
  removeTree(work);
  console.error(`Cannot read the graded tests: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const maxOf = (chapter: string) => (tasksOf.get(chapter) ?? []).reduce((sum, t) => sum + t.points, 0);

function taskGrades(chapter: string, status: TaskGrade["status"], message: string): TaskGrade[] {
  return (tasksOf.get(chapter) ?? []).map((info) => ({
    chapter,
    number: info.number,
    title: info.title,
    points: info.points,
    score: 0,
    status,
    message,
    hint: info.hint,
    read: info.read,
    ms: 0,
  }));
}

function unrun(chapter: string, status: ChapterGrade["status"], message: string): ChapterGrade {
  return { chapter, status, score: 0, max_score: maxOf(chapter), message, fork_refusals: 0, ms: 0, tasks: taskGrades(chapter, "not run", message) };
}

interface Unit {
  submission: number;
  chapter: GradedChapter;
  dir: string;
}

const grades: SubmissionGrade[] = [];
const chapterGrades: Map<string, ChapterGrade>[] = [];
const units: Unit[] = [];
for (const [i, s] of submissions.entries()) {
  chapterGrades.push(new Map());
  grades.push({ name: s.name, path: s.path, status: "graded", score: 0, max_score: 0, execution_time: 0, message: "", chapters: [] });
  if (s.problem) {
    grades[i]!.status = "error";
    grades[i]!.message = `could not grade ${s.path}: ${s.problem}`;
    continue;
  }
  const copy = path.join(work, `submission-${i}`);
  fs.mkdirSync(copy);
  for (const c of selected) {
    if (!s.present.has(c.chapter)) {
      chapterGrades[i]!.set(c.chapter, unrun(c.chapter, "missing", `there is no ${c.chapter}.ts in the submission`));
      continue;
    }
    // Only the chapter file, and only a regular file: never a link (to the
    // reference solution, say), never the submission's tests or settings.
    const file = chapterFile(s.source!, c.chapter);
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) {
      chapterGrades[i]!.set(c.chapter, unrun(c.chapter, "rejected", `${c.chapter}.ts is not a regular file (a symbolic link?); it was not graded`));
      continue;
    }
    if (stat.size > MAX_FILE) {
      chapterGrades[i]!.set(c.chapter, unrun(c.chapter, "rejected", `${c.chapter}.ts is larger than ${MAX_FILE} bytes; it was not graded`));
      continue;
    }
    fs.copyFileSync(file, chapterFile(copy, c.chapter));
    units.push({ submission: i, chapter: c, dir: copy });
  }
}

// ---------------------------------------------------------------------------
// Grading: `jobs` chapters at a time, submission by submission.

const submissionStart: (number | undefined)[] = submissions.map(() => undefined);
const remaining = submissions.map((_, i) => units.filter((u) => u.submission === i).length);
let finishedSubmissions = 0;
let running = 0;
const progressOn = !values.quiet;
const tty = process.stderr.isTTY === true;

function progress(latest?: string): void {
  if (!progressOn) return;
  const total = submissions.length;
  if (tty) {
    process.stderr.write(`\r\x1b[2K${bar(finishedSubmissions, total)} ${finishedSubmissions}/${total} submissions · ${running} chapter${running === 1 ? "" : "s"} running${latest ? ` · ${latest}` : ""}`);
  } else if (latest) {
    process.stderr.write(`graded ${finishedSubmissions}/${total}: ${latest}\n`);
  }
}

/** A task's own worst case, as the harness computes it, when no --task-timeout caps it. */
function taskBoundMs(info: TaskInfo): number {
  if (taskTimeoutS) return taskTimeoutS * 1000 + 5_000;
  return (info.timeoutMs ?? 20_000) * 3 + 15_000;
}

function chapterGrade(result: ChapterResult, chapter: string, submissionTimedOut: boolean): ChapterGrade {
  const infos = tasksOf.get(chapter) ?? [];
  let why = "";
  let status: ChapterGrade["status"] = "graded";
  if (!result.started) {
    if (result.timedOut || result.aborted) {
      status = "timeout";
      why = submissionTimedOut ? "the submission's time limit ran out before this chapter started" : "stopped before it started";
    } else {
      status = "error";
      const tail = result.output.trim().split("\n").slice(-12).join("\n");
      why = `the grader could not run the tests (exit ${result.exitCode}): ${tail}`;
    }
  } else if (result.timedOut) {
    status = "timeout";
    why = submissionTimedOut
      ? `stopped when the submission's time limit (${submissionTimeoutS} s) ran out`
      : "stopped at the chapter's time limit";
  } else if (result.aborted) {
    status = "timeout";
    why = "grading was interrupted";
  } else if (!result.ended) {
    why = `the test process ended early (exit ${result.exitCode}): was it killed by the submission's code? Tasks after that earn nothing`;
  }
  const tasks: TaskGrade[] = infos.map((info) => {
    const verdict = result.verdicts.get(info.number);
    const base = { chapter, number: info.number, title: info.title, points: info.points, hint: info.hint, read: info.read };
    if (verdict) {
      return { ...base, score: verdict.passed ? info.points : 0, status: verdict.passed ? "passed" : "failed", message: verdict.message, ms: verdict.ms };
    }
    const message = status === "graded" && result.ended ? "the task did not finish within its time limit" : why || "the task did not run";
    return { ...base, score: 0, status: status === "graded" && result.ended ? "failed" : "not run", message, ms: 0 };
  });
  const refused = result.forkRefusals > 0 ? `the process limit refused ${result.forkRefusals} forks` : "";
  return {
    chapter,
    status,
    score: tasks.reduce((sum, t) => sum + t.score, 0),
    max_score: maxOf(chapter),
    message: [why, refused].filter(Boolean).join("; "),
    fork_refusals: result.forkRefusals,
    ms: result.ms,
    tasks,
  };
}

let couldNotGrade = submissions.some((s) => s.problem !== undefined);

function finishSubmission(i: number): void {
  const s = submissions[i]!;
  const grade = grades[i]!;
  grade.chapters = selected.map((c) => chapterGrades[i]!.get(c.chapter) ?? unrun(c.chapter, "error", "not graded"));
  grade.score = grade.chapters.reduce((sum, c) => sum + c.score, 0);
  grade.max_score = grade.chapters.reduce((sum, c) => sum + c.max_score, 0);
  const started = submissionStart[i];
  grade.execution_time = started === undefined ? 0 : (Date.now() - started) / 1000;
  if (grade.status !== "error") {
    if (grade.chapters.some((c) => c.status === "error")) {
      grade.status = "error";
      grade.message = "the grader could not run every chapter";
      couldNotGrade = true;
    } else if (grade.chapters.some((c) => c.status === "timeout")) grade.status = "timeout";
    if (s.present.size === 0 && !grade.message) grade.message = "the submission holds no exercise file (such as 03-shm.ts)";
  }
  finishedSubmissions++;
  progress(`${s.name} ${grade.score}/${grade.max_score}`);
}

async function grade(unit: Unit): Promise<void> {
  const i = unit.submission;
  submissionStart[i] ??= Date.now();
  const submissionDeadline = submissionStart[i]! + submissionTimeoutS * 1000;
  const infos = tasksOf.get(unit.chapter.chapter) ?? [];
  const chapterDeadline = Date.now() + infos.reduce((sum, info) => sum + taskBoundMs(info), 30_000);
  const deadline = Math.min(submissionDeadline, chapterDeadline);
  let grade: ChapterGrade;
  if (Date.now() >= submissionDeadline || controller.signal.aborted) {
    grade = unrun(unit.chapter.chapter, "timeout", controller.signal.aborted ? "grading was interrupted" : "the submission's time limit ran out before this chapter started");
  } else {
    running++;
    progress();
    const result = await runChapter({
      chapter: unit.chapter,
      exercisesDir: unit.dir,
      isolation,
      deadline,
      taskTimeoutMs: taskTimeoutS ? taskTimeoutS * 1000 : undefined,
      workDir: work,
      signal: controller.signal,
    });
    running--;
    grade = chapterGrade(result, unit.chapter.chapter, result.timedOut && Date.now() >= submissionDeadline - 50);
  }
  chapterGrades[i]!.set(unit.chapter.chapter, grade);
  if (--remaining[i]! === 0) finishSubmission(i);
}

progress();
for (const [i] of submissions.entries()) if (remaining[i] === 0) finishSubmission(i);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(jobs, units.length) }, async () => {
    while (next < units.length) await grade(units[next++]!);
  }),
);
if (progressOn && tty) process.stderr.write("\n");
removeTree(work);

if (interrupted) {
  console.error("Interrupted: nothing was written.");
  process.exit(130);
}

const report: GradeReport = {
  tool: "bun-ipc-book grade",
  version: 1,
  generated_at: new Date().toISOString(),
  isolation: describeIsolation(isolation),
  isolation_notes: isolation.notes,
  options: { task_timeout_s: taskTimeoutS ?? null, submission_timeout_s: submissionTimeoutS, jobs, chapters: selected.map((c) => c.chapter) },
  chapters: selected.map((c) => ({ chapter: c.chapter, max_score: maxOf(c.chapter), tasks: tasksOf.get(c.chapter) ?? [] })),
  submissions: grades,
};

writeOut(values.out, render(report, format, { details: values.details, testSources }));
if (values.csv) fs.writeFileSync(values.csv, csv(report));
process.exit(couldNotGrade ? 1 : 0);
