/**
 * The graded chapters: every `test/NN-topic.test.ts` file. Discovered, not
 * listed, so a new chapter is graded and proven as soon as its test exists.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./student.ts";
import type { TaskInfo as DeclaredTask } from "./task.ts";

export interface GradedChapter {
  /** "03-shm" */
  chapter: string;
  testFile: string;
}

/**
 * The folder of graded test files: `test/`, or IPC_GRADED_DIR (the tools'
 * own tests point it at small fixture chapters).
 */
export function gradedDir(): string {
  return path.resolve(ROOT, process.env.IPC_GRADED_DIR ?? "test");
}

export function gradedChapters(): GradedChapter[] {
  const dir = gradedDir();
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d\d-[a-z0-9-]+\.test\.ts$/.test(file))
    .sort()
    .map((file) => ({ chapter: file.replace(/\.test\.ts$/, ""), testFile: path.join(dir, file) }));
}

export interface TaskOutcome {
  name: string;
  passed: boolean;
  message: string;
}

/** A task as its test file declares it, with its chapter. */
export type TaskInfo = DeclaredTask & { chapter: string };

export interface ChapterRun {
  tasks: TaskInfo[];
  outcomes: TaskOutcome[];
}

/**
 * Runs one chapter's graded tests against a folder of exercise files and
 * returns its tasks and each task's outcome, read from bun's JUnit report.
 */
export async function runGraded(chapter: GradedChapter, exercisesDir: string): Promise<ChapterRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-junit-"));
  const report = path.join(dir, "report.xml");
  const taskInfo = path.join(dir, "tasks.jsonl");
  try {
    const run = Bun.spawn([process.execPath, "test", chapter.testFile, "--reporter=junit", `--reporter-outfile=${report}`], {
      cwd: ROOT,
      env: { ...process.env, IPC_EXERCISES_DIR: exercisesDir, IPC_TASK_INFO: taskInfo },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = await new Response(run.stderr).text();
    await run.exited;
    if (!fs.existsSync(report)) throw new Error(`bun test wrote no report for ${chapter.chapter}:\n${stderr}`);
    const tasks = fs.existsSync(taskInfo)
      ? fs.readFileSync(taskInfo, "utf8").trim().split("\n").map((line) => JSON.parse(line) as TaskInfo)
      : [];
    return { tasks, outcomes: parseJUnit(fs.readFileSync(report, "utf8")) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The test cases of a JUnit XML report: name, and whether it passed. */
export function parseJUnit(xml: string): TaskOutcome[] {
  const outcomes: TaskOutcome[] = [];
  const testcase = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const match of xml.matchAll(testcase)) {
    const name = /\bname="([^"]*)"/.exec(match[1] ?? "")?.[1] ?? "";
    const body = match[3] ?? "";
    const failure = /<(?:failure|error)\b([^>]*)>/.exec(body);
    const message = /\bmessage="([^"]*)"/.exec(failure?.[1] ?? "")?.[1] ?? "";
    outcomes.push({ name: unescapeXml(name), passed: !failure && !/<skipped/.test(body), message: unescapeXml(message) });
  }
  return outcomes;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, "&");
}
