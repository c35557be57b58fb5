/**
 * What `check` and `watch` show a student: a chapter's tasks, what failed
 * in plain words, the hint, and where in the chapter to read.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GradedChapter, TaskInfo } from "../../test/harness/graded-files.ts";
import { headingAnchor } from "../../exercises/support.ts";
import { NO_ISOLATION } from "./isolation.ts";
import { runChapter, type TaskVerdict } from "./run.ts";

export interface ChapterStatus {
  chapter: string;
  /** No `<chapter>.ts` in the folder. */
  missing: boolean;
  tasks: TaskInfo[];
  verdicts: Map<number, TaskVerdict>;
  passed: number;
  total: number;
  points: number;
  maxPoints: number;
  /** The run did not start (the test file could not be loaded): what it printed. */
  problem?: string;
  /** Aborted by the caller (watch saw a newer save). */
  aborted: boolean;
}

/** Runs a chapter's graded tests against the student's folder, without isolation. */
export async function checkChapter(chapter: GradedChapter, dir: string, signal?: AbortSignal): Promise<ChapterStatus> {
  const base = { chapter: chapter.chapter, verdicts: new Map<number, TaskVerdict>(), passed: 0, points: 0, aborted: false };
  if (!fs.existsSync(path.join(dir, `${chapter.chapter}.ts`))) {
    return { ...base, missing: true, tasks: [], total: 0, maxPoints: 0 };
  }
  const result = await runChapter({ chapter, exercisesDir: dir, isolation: NO_ISOLATION, collectTasks: true, signal });
  const tasks = result.tasks;
  const passed = tasks.filter((t) => result.verdicts.get(t.number)?.passed).length;
  return {
    ...base,
    missing: false,
    tasks,
    verdicts: result.verdicts,
    passed,
    total: tasks.length,
    points: tasks.reduce((sum, t) => sum + (result.verdicts.get(t.number)?.passed ? t.points : 0), 0),
    maxPoints: tasks.reduce((sum, t) => sum + t.points, 0),
    problem: result.started || result.aborted ? undefined : result.output.trim().split("\n").slice(-15).join("\n") || `the test run ended with status ${result.exitCode}`,
    aborted: result.aborted,
  };
}

export function done(status: ChapterStatus): boolean {
  return !status.missing && !status.problem && status.total > 0 && status.passed === status.total;
}

/** Runs several chapters, `jobs` at a time, in order of the result. */
export async function checkChapters(
  chapters: GradedChapter[],
  dir: string,
  jobs = os.availableParallelism(),
  onEach?: (status: ChapterStatus) => void,
): Promise<ChapterStatus[]> {
  const results: ChapterStatus[] = new Array(chapters.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(jobs, chapters.length)) }, async () => {
      while (next < chapters.length) {
        const i = next++;
        results[i] = await checkChapter(chapters[i]!, dir);
        onEach?.(results[i]!);
      }
    }),
  );
  return results;
}

export interface Paint {
  green(text: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (code: number) => (text: string) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { green: wrap(32), red: wrap(31), dim: wrap(2), bold: wrap(1) };
}

/** Where to read about a task: the section's heading and its anchor in the chapter. */
export function readAt(chapter: string, heading: string): string {
  return `"${heading}" in chapters/${chapter}.md#${headingAnchor(heading)}`;
}

/** Why a task failed, for a task without a verdict too. */
export function failureOf(status: ChapterStatus, task: TaskInfo): string {
  const verdict = status.verdicts.get(task.number);
  if (verdict) return verdict.message || "it failed";
  if (status.problem) return "the tests could not run (see above)";
  return "the task did not finish in its time limit (is your code waiting for something that never comes?)";
}

/**
 * The chapter's tasks, one per line; under each failure the first failed
 * expectation, and (with hints) the hint and where to read.
 */
export function chapterLines(status: ChapterStatus, p: Paint, options: { hints: boolean; firstHintOnly?: boolean }): string[] {
  const lines: string[] = [];
  if (status.missing) return [`  ${p.red("✗")} there is no ${status.chapter}.ts in this folder (bun run check --reset ${status.chapter.slice(0, 2)} restores it)`];
  if (status.problem) {
    lines.push(`  ${p.red("✗")} the tests of ${status.chapter} could not run:`, ...status.problem.split("\n").map((l) => `      ${p.dim(l)}`));
  }
  let hinted = false;
  for (const task of status.tasks) {
    const points = p.dim(`(${task.points} point${task.points === 1 ? "" : "s"})`);
    if (status.verdicts.get(task.number)?.passed) {
      lines.push(`  ${p.green("✓")} task ${task.number}: ${task.title} ${points}`);
      continue;
    }
    lines.push(`  ${p.red("✗")} task ${task.number}: ${task.title} ${points}`);
    lines.push(`      ${failureOf(status, task)}`);
    if (options.hints && !(options.firstHintOnly && hinted)) {
      lines.push(`      ${p.bold("hint:")} ${task.hint}`);
      lines.push(`      ${p.bold("read:")} ${readAt(status.chapter, task.read)}`);
      hinted = true;
    }
  }
  return lines;
}
