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
import { killMarked, sweepBox } from "./sandbox.ts";
import { callStudent, callTogether, startStudent, Stage, type CallOptions, type CallResult, type RunningCall } from "./student.ts";

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
  /**
   * Starts a call and returns at once with its pid, `kill(signal)` and the
   * `finished` result, for a function that runs until told to stop (a
   * daemon); it is killed at the time limit, and after the task, like any call.
   */
  start(exportName: string, args: unknown[], options?: CallOptions): RunningCall;
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

/**
 * One line of the result channel: the tools (check, watch, grade) pass an
 * open file as IPC_RESULTS_FD and read each task's verdict from it as the
 * task ends. The student's processes never hold this descriptor.
 */
export type ResultRecord =
  | { event: "start"; chapter: string }
  | { event: "task"; chapter: string; number: number; passed: boolean; message: string; ms: number }
  | { event: "end"; chapter: string };

function resultsFd(): number | undefined {
  const raw = process.env.IPC_RESULTS_FD;
  return raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function record(entry: ResultRecord): void {
  const fd = resultsFd();
  if (fd === undefined) return;
  try {
    fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
  } catch {
    // No tool is listening (IPC_RESULTS_FD set by hand): the test's own verdict stands.
  }
}

/** A cap on every task's time, set by the grader (IPC_TASK_TIMEOUT_MS). */
function taskTimeoutCap(): number | undefined {
  const raw = Number(process.env.IPC_TASK_TIMEOUT_MS);
  return Number.isFinite(raw) && raw > 0 ? raw : undefined;
}

/** The sentence a failed task shows: a TaskFailure's own words, otherwise the error's name too. */
function failureText(error: unknown): string {
  if (error instanceof TaskFailure) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Declares the graded tasks of one chapter, run against the exercise folder being graded. */
export function gradedChapter(chapter: string) {
  let stage: Stage | undefined;
  const scratches: string[] = [];
  // Only the tasks' metadata is wanted (IPC_TASK_INFO_ONLY): declare, run nothing.
  const infoOnly = process.env.IPC_TASK_INFO_ONLY === "1";

  /** Whatever the student's processes left: processes first, then objects and files. */
  async function cleanUp(): Promise<void> {
    if (stage) await killMarked(stage.mark);
    await sweepBox();
    removeObjects(runPrefix);
  }

  if (!infoOnly) {
    beforeAll(() => {
      stage = new Stage(chapter);
      record({ event: "start", chapter });
    });
    afterEach(async () => {
      await cleanUp();
      for (const dir of scratches.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });
    afterAll(async () => {
      await cleanUp();
      stage?.[Symbol.dispose]();
      record({ event: "end", chapter });
    });
  }

  function staged(): Stage {
    if (!stage) throw new Error("the exercise was not staged");
    return stage;
  }

  function task(info: TaskInfo, body: (t: TaskContext) => Promise<void>): void {
    publish({ chapter, ...info });
    if (infoOnly) return;
    const cap = taskTimeoutCap();
    const limit = Math.min(info.timeoutMs ?? 20_000, cap ?? Infinity);
    const context: TaskContext = {
      call: (exportName, args, options) => callStudent(staged(), exportName, args, { timeoutMs: limit, ...options }),
      callTogether: (exportName, argLists, options) =>
        callTogether(staged(), exportName, argLists, { timeoutMs: limit, ...options }),
      start: (exportName, args, options) => startStudent(staged(), exportName, args, { timeoutMs: limit, ...options }),
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
    // Room for a few calls in sequence plus start-up; the grader's cap if it set one.
    const taskLimit = cap ?? limit * 3 + 10_000;
    test(
      `task ${info.number}: ${info.title}`,
      async () => {
        const started = performance.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const expired = new Promise<TaskFailure>((resolve) => {
          timer = setTimeout(
            () => resolve(new TaskFailure(`the task did not finish within its time limit of ${Math.round(taskLimit / 1000)} s`)),
            taskLimit,
          );
        });
        const failure = await Promise.race([
          body(context).then(
            () => undefined,
            (error: unknown) => error,
          ),
          expired,
        ]);
        clearTimeout(timer);
        const ms = Math.round(performance.now() - started);
        record({ event: "task", chapter, number: info.number, passed: failure === undefined, message: failure === undefined ? "" : failureText(failure), ms });
        if (failure !== undefined) throw failure;
      },
      taskLimit + 5_000,
    );
  }

  return { task };
}
