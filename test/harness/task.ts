/**
 * Graded tasks. A chapter's test file declares its tasks with `task()`;
 * each becomes a bun test named "task N: title" whose failure message is a
 * plain sentence for the student. The metadata (points, hint, where to
 * read) is what `check` and `grade` show.
 *
 *   const { task } = gradedChapter("03-shm");
 *   task({ number: 1, title: "…", points: 2, read: "Creating an object", hint: "…" }, async (t) => {
 *     const result = await t.call("createRegion", [name, 4096]);
 *     t.done(result);
 *     must(fs.existsSync(`/dev/shm${name}`), `${name} does not exist in /dev/shm after createRegion()`);
 *   });
 */
import { afterAll, afterEach, beforeAll, test } from "bun:test";
import fs from "node:fs";
import { removeObjects, runPrefix, uniqueName } from "./names.ts";
import { callStudent, callTogether, Stage, type CallOptions, type CallResult } from "./student.ts";

export interface TaskInfo {
  number: number;
  title: string;
  points: number;
  /** The heading of the chapter section that teaches it. */
  read: string;
  /** A nudge shown when the task fails. */
  hint: string;
  /** Per-call time limit; default 20 s. */
  timeoutMs?: number;
}

/** A failed expectation, worded for the student. */
export class TaskFailure extends Error {
  override name = "TaskFailure";
}

/** Fails the task with `message` unless `condition` holds. */
export function must(condition: unknown, message: string): asserts condition {
  if (!condition) throw new TaskFailure(message);
}

/** What a task body gets: calls into the student's code, fresh names, scratch space. */
export interface TaskContext {
  /** Calls an exported function of the exercise in its own process. */
  call(exportName: string, args: unknown[], options?: CallOptions): Promise<CallResult>;
  /** Calls it in several processes released at the same moment. */
  callTogether(exportName: string, argLists: unknown[][], options?: CallOptions): Promise<CallResult[]>;
  /** A fresh object name with the run's prefix ("/ipcbook-t…-counter-3"). */
  name(label: string): string;
  /** A fresh scratch folder, removed after the task. */
  scratch(label: string): string;
  /** Fails the task, in plain words, unless the call completed normally. */
  done(result: CallResult, what?: string): void;
}

/** Why a call did not complete, in one sentence. */
export function explain(result: CallResult, what: string): string {
  if (result.timedOut) return `${what} did not finish in time and was killed (is it waiting for something that never comes?)`;
  if (result.error?.todo) return `${what} is still a TODO: ${result.error.message}`;
  if (result.error) {
    const code = result.error.code ? ` ${result.error.code}` : "";
    return `${what} threw ${result.error.name}${code}: ${result.error.message}`;
  }
  if (result.signal) return `${what} was killed by ${result.signal}${result.signal === "SIGSEGV" || result.signal === "SIGBUS" ? " (a memory access outside a valid mapping?)" : ""}`;
  if (result.exitCode !== 0) return `${what} exited with status ${result.exitCode} before returning; ${result.stderr.trim().split("\n").at(-1) ?? ""}`;
  return `${what} did not report a result`;
}

/**
 * Where `check` and `grade` learn each task's points, hint and section:
 * with IPC_TASK_INFO set to a file, every declared task is appended to it
 * as one JSON line.
 */
function publish(info: TaskInfo & { chapter: string }): void {
  const file = process.env.IPC_TASK_INFO;
  if (file) fs.appendFileSync(file, `${JSON.stringify(info)}\n`);
}

/** Declares the graded tasks of one chapter, run against the exercise folder being graded. */
export function gradedChapter(chapter: string) {
  let stage: Stage | undefined;
  const scratches: string[] = [];

  beforeAll(() => {
    stage = new Stage(chapter);
  });
  afterEach(() => {
    removeObjects(runPrefix);
    for (const dir of scratches.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    removeObjects(runPrefix);
    stage?.[Symbol.dispose]();
  });

  function staged(): Stage {
    if (!stage) throw new Error("the exercise was not staged");
    return stage;
  }

  function task(info: TaskInfo, body: (t: TaskContext) => Promise<void>): void {
    publish({ chapter, ...info });
    const limit = info.timeoutMs ?? 20_000;
    const context: TaskContext = {
      call: (exportName, args, options) => callStudent(staged(), exportName, args, { timeoutMs: limit, ...options }),
      callTogether: (exportName, argLists, options) =>
        callTogether(staged(), exportName, argLists, { timeoutMs: limit, ...options }),
      name: uniqueName,
      scratch(label) {
        const dir = staged().scratch(label);
        scratches.push(dir);
        return dir;
      },
      done(result, what = "your function") {
        must(result.ok, explain(result, what));
      },
    };
    // Room for a few calls in sequence plus start-up, then bun's own limit.
    test(`task ${info.number}: ${info.title}`, () => body(context), limit * 3 + 10_000);
  }

  return { task };
}
