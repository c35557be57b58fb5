/**
 * What `grade` found, and its output formats: table (for a terminal), json
 * (everything), gradescope (results.json of a Gradescope autograder),
 * exercism (results.json of an Exercism test runner, version 3), classroom
 * (what GitHub Classroom's autograding-grading-reporter reads from a runner),
 * junit (for CI systems) and a CSV class summary.
 */
import fs from "node:fs";
import type { TaskInfo } from "../../test/harness/graded-files.ts";

export interface TaskGrade {
  chapter: string;
  number: number;
  title: string;
  points: number;
  score: number;
  /** "not run": the chapter was missing, rejected or stopped before this task. */
  status: "passed" | "failed" | "not run";
  message: string;
  hint: string;
  read: string;
  ms: number;
}

export interface ChapterGrade {
  chapter: string;
  /**
   * graded: the tests ran (the test process may have ended early: see message);
   * timeout: stopped at a time limit; missing: no file; rejected: not a
   * regular file or too large; error: the grader could not run the tests.
   */
  status: "graded" | "timeout" | "missing" | "rejected" | "error";
  score: number;
  max_score: number;
  message: string;
  /** Forks the process bound refused (a fork bomb shows here). */
  fork_refusals: number;
  ms: number;
  tasks: TaskGrade[];
}

export interface SubmissionGrade {
  name: string;
  path: string;
  /** graded; timeout (the submission's time ran out); error (could not be graded at all). */
  status: "graded" | "timeout" | "error";
  score: number;
  max_score: number;
  /** Seconds of wall-clock time spent on it. */
  execution_time: number;
  message: string;
  chapters: ChapterGrade[];
}

export interface GradeReport {
  tool: "bun-ipc-book grade";
  version: 1;
  generated_at: string;
  isolation: string;
  isolation_notes: string[];
  options: { task_timeout_s: number | null; submission_timeout_s: number; jobs: number; chapters: string[] };
  /** The tasks of every graded chapter, as the grader's own tests declare them. */
  chapters: { chapter: string; max_score: number; tasks: TaskInfo[] }[];
  submissions: SubmissionGrade[];
}

export type Format = "table" | "json" | "gradescope" | "exercism" | "classroom" | "junit";
export const FORMATS: Format[] = ["table", "json", "gradescope", "exercism", "classroom", "junit"];

const round1 = (seconds: number) => Math.round(seconds * 10) / 10;

function testName(task: TaskGrade): string {
  return `${task.chapter} task ${task.number}: ${task.title}`;
}

/** What a student reads about one task: the failure, the hint, where to read. */
function taskOutput(task: TaskGrade): string {
  if (task.status === "passed") return "";
  return [task.message, task.hint && `Hint: ${task.hint}`, task.read && `Read: "${task.read}" in chapter ${task.chapter}`]
    .filter(Boolean)
    .join("\n");
}

function allTasks(submission: SubmissionGrade): TaskGrade[] {
  return submission.chapters.flatMap((chapter) => chapter.tasks);
}

function summaryText(submission: SubmissionGrade, report: GradeReport): string {
  const lines = [
    `${submission.score}/${submission.max_score} points`,
    ...submission.chapters.map(
      (c) => `${c.chapter}: ${c.score}/${c.max_score}${c.status === "graded" ? "" : ` (${c.status})`}${c.message ? ` — ${c.message}` : ""}`,
    ),
  ];
  if (submission.message) lines.push(submission.message);
  lines.push(`Isolation: ${report.isolation}`);
  return lines.join("\n");
}

/** Gradescope's results.json for one submission. */
export function gradescope(submission: SubmissionGrade, report: GradeReport) {
  return {
    score: submission.score,
    max_score: submission.max_score,
    execution_time: round1(submission.execution_time),
    output: summaryText(submission, report),
    visibility: "visible",
    tests: allTasks(submission).map((task) => ({
      name: testName(task),
      score: task.score,
      max_score: task.points,
      status: task.status === "passed" ? ("passed" as const) : ("failed" as const),
      output: taskOutput(task),
      visibility: "visible",
    })),
  };
}

/** The source of task `number` in a graded test file, for Exercism's test_code. */
export function taskSource(source: string, number: number): string {
  const starts = [...source.matchAll(/^task\(/gm)].map((m) => m.index ?? 0);
  for (const [i, start] of starts.entries()) {
    const text = source.slice(start, starts[i + 1] ?? source.length);
    if (new RegExp(`\\bnumber:\\s*${number}\\b`).test(text)) return text.trim().slice(0, 4000);
  }
  return "";
}

/** Exercism's test-runner results.json (version 3) for one submission. */
export function exercism(submission: SubmissionGrade, sources: Map<string, string>) {
  const graded = submission.chapters.some((c) => c.status === "graded" || c.status === "timeout");
  const tasks = allTasks(submission);
  const status = !graded || submission.status === "error" ? "error" : tasks.every((t) => t.status === "passed") ? "pass" : "fail";
  return {
    version: 3,
    status,
    ...(status === "error"
      ? { message: submission.message || submission.chapters.map((c) => `${c.chapter}: ${c.message}`).join("\n") || "the submission could not be graded" }
      : {}),
    tests: tasks.map((task) => ({
      name: testName(task),
      status: task.status === "passed" ? "pass" : task.status === "failed" ? "fail" : "error",
      message: task.status === "passed" ? null : taskOutput(task),
      output: null,
      test_code: taskSource(sources.get(task.chapter) ?? "", task.number),
      task_id: task.number,
    })),
  };
}

/**
 * One runner's result for GitHub Classroom's autograding-grading-reporter
 * (base64 of this JSON in the step output it is given): the overall status,
 * the maximum score, and each test's status and score, which it adds up and
 * reports to Classroom as "Points X/Y".
 */
export function classroom(submission: SubmissionGrade, sources: Map<string, string>) {
  const tasks = allTasks(submission);
  const graded = submission.chapters.some((c) => c.status === "graded" || c.status === "timeout");
  return {
    version: 1,
    status: !graded || submission.status === "error" ? "error" : tasks.every((t) => t.status === "passed") ? "pass" : "fail",
    max_score: submission.max_score,
    tests: tasks.map((task) => ({
      name: testName(task),
      status: task.status === "passed" ? "pass" : task.status === "failed" ? "fail" : "error",
      score: task.score,
      message: task.status === "passed" ? null : taskOutput(task),
      test_code: taskSource(sources.get(task.chapter) ?? "", task.number),
      filename: `${task.chapter}.ts`,
      line_no: 0,
      execution_time: `${(task.ms / 1000).toFixed(2)}s`,
    })),
  };
}

function xml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    // XML 1.0 allows no control characters but tab, newline and carriage return.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");
}

/** JUnit XML: one test suite per submission and chapter, one test case per task. */
export function junit(report: GradeReport): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  for (const submission of report.submissions) {
    for (const chapter of submission.chapters) {
      const cases = chapter.tasks.map((task) => {
        tests++;
        const head = `    <testcase name="${xml(`task ${task.number}: ${task.title}`)}" classname="${xml(`${submission.name}.${chapter.chapter}`)}" time="${(task.ms / 1000).toFixed(3)}"`;
        if (task.status === "passed") return `${head} />`;
        const kind = task.status === "failed" ? "failure" : "error";
        if (kind === "failure") failures++;
        else errors++;
        return `${head}>\n      <${kind} type="${kind === "failure" ? "TaskFailure" : "NotRun"}" message="${xml(task.message)}">${xml(taskOutput(task))}</${kind}>\n    </testcase>`;
      });
      const suiteFailures = chapter.tasks.filter((t) => t.status === "failed").length;
      const suiteErrors = chapter.tasks.filter((t) => t.status === "not run").length;
      suites.push(
        `  <testsuite name="${xml(`${submission.name} ${chapter.chapter}`)}" tests="${chapter.tasks.length}" failures="${suiteFailures}" errors="${suiteErrors}" skipped="0" time="${(chapter.ms / 1000).toFixed(3)}">\n${cases.join("\n")}\n  </testsuite>`,
      );
    }
  }
  const time = report.submissions.reduce((sum, s) => sum + s.execution_time, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="grade" tests="${tests}" failures="${failures}" errors="${errors}" time="${time.toFixed(3)}">\n${suites.join("\n")}\n</testsuites>\n`;
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The class summary: one row per submission, a column per chapter. */
export function csv(report: GradeReport): string {
  const chapters = report.chapters.map((c) => c.chapter);
  const rows = [["submission", "path", "status", "score", "max_score", "execution_time", ...chapters, "message"]];
  for (const s of report.submissions) {
    const byChapter = new Map(s.chapters.map((c) => [c.chapter, c]));
    rows.push([
      s.name,
      s.path,
      s.status,
      String(s.score),
      String(s.max_score),
      String(round1(s.execution_time)),
      ...chapters.map((c) => String(byChapter.get(c)?.score ?? "")),
      s.message,
    ]);
  }
  return rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}

/** A bar of `width` cells, `done` of `total` filled. */
export function bar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}]`;
}

/** The table for a terminal: a row per submission, a column per chapter; details on request. */
export function table(report: GradeReport, details: boolean): string {
  const chapters = report.chapters.map((c) => c.chapter);
  const nameWidth = Math.max(10, ...report.submissions.map((s) => s.name.length));
  const cell = (text: string, width: number) => text.padEnd(width);
  const widths = chapters.map((c) => Math.max(c.length, 7));
  const lines = [
    `${cell("submission", nameWidth)}  ${chapters.map((c, i) => cell(c, widths[i]!)).join("  ")}  ${cell("total", 9)}  status`,
  ];
  for (const s of report.submissions) {
    const byChapter = new Map(s.chapters.map((c) => [c.chapter, c]));
    const cells = chapters.map((c, i) => {
      const grade = byChapter.get(c);
      const text =
        !grade || grade.status === "missing"
          ? "–"
          : grade.status === "error" || grade.status === "rejected"
            ? grade.status
            : `${grade.score}/${grade.max_score}${grade.status === "graded" ? "" : "!"}`;
      return cell(text, widths[i]!);
    });
    lines.push(`${cell(s.name, nameWidth)}  ${cells.join("  ")}  ${cell(`${s.score}/${s.max_score}`, 9)}  ${s.status}${s.message ? `: ${s.message}` : ""}`);
    if (details) {
      for (const chapter of s.chapters) {
        if (chapter.status !== "graded") lines.push(`    ${chapter.chapter}: ${chapter.status}${chapter.message ? ` — ${chapter.message}` : ""}`);
        for (const task of chapter.tasks) {
          if (chapter.status === "missing") break;
          const mark = task.status === "passed" ? "✓" : task.status === "failed" ? "✗" : "·";
          lines.push(`    ${mark} ${chapter.chapter} task ${task.number}: ${task.title} (${task.score}/${task.points})`);
          if (task.status !== "passed" && task.message) lines.push(`        ${task.message}`);
        }
      }
    }
  }
  lines.push("", `– no file · ! stopped at a time limit · details: --details or --format json`, `Isolation: ${report.isolation}`);
  return lines.join("\n") + "\n";
}

/** The report in one format, as text. Several submissions give an array for gradescope, exercism and classroom. */
export function render(report: GradeReport, format: Format, options: { details: boolean; testSources: Map<string, string> }): string {
  const one = report.submissions.length === 1;
  switch (format) {
    case "table":
      return table(report, options.details || one);
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "gradescope": {
      const results = report.submissions.map((s) => gradescope(s, report));
      return `${JSON.stringify(one ? results[0] : results, null, 2)}\n`;
    }
    case "exercism": {
      const results = report.submissions.map((s) => exercism(s, options.testSources));
      return `${JSON.stringify(one ? results[0] : results, null, 2)}\n`;
    }
    case "classroom": {
      const results = report.submissions.map((s) => classroom(s, options.testSources));
      return `${JSON.stringify(one ? results[0] : results, null, 2)}\n`;
    }
    case "junit":
      return junit(report);
  }
}

export function writeOut(file: string | undefined, text: string): void {
  if (file) fs.writeFileSync(file, text);
  else process.stdout.write(text);
}
