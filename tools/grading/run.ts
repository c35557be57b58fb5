/**
 * Runs one chapter's graded tests against one folder of exercise files and
 * collects each task's verdict. Used by `check` and `watch` (on a student's
 * own machine, no isolation) and by `grade` (inside a box, see
 * isolation.ts and test/harness/box.sh).
 *
 * The verdicts arrive through a file descriptor that only the test process
 * holds (IPC_RESULTS_FD, see test/harness/task.ts), one JSON line per task
 * as it ends, so that a run stopped at a time limit keeps the tasks it had
 * finished. Nothing the student's code prints is read as a result.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { GradedChapter, TaskInfo } from "../../test/harness/graded-files.ts";
import { killMarked } from "../../test/harness/sandbox.ts";
import { ROOT } from "../../test/harness/student.ts";
import type { ResultRecord } from "../../test/harness/task.ts";
import { BOX_SCRIPT, boxCommand, boxUserId, type Isolation } from "./isolation.ts";

export interface TaskVerdict {
  number: number;
  passed: boolean;
  message: string;
  ms: number;
}

export interface ChapterResult {
  chapter: string;
  /** The tasks as the test file declares them (when this run collected them). */
  tasks: TaskInfo[];
  verdicts: Map<number, TaskVerdict>;
  /** The test process staged the exercise and began (its harness said so). */
  started: boolean;
  /** It got to the end of the file. */
  ended: boolean;
  /** Stopped at the deadline. */
  timedOut: boolean;
  /** Stopped because the caller aborted (watch, on a new save). */
  aborted: boolean;
  exitCode: number | null;
  /** The end of what the test process printed, for diagnosing a run that never started. */
  output: string;
  /** How often a fork was refused because the box was full (cgroup pids.events). */
  forkRefusals: number;
  ms: number;
}

export interface RunOptions {
  chapter: GradedChapter;
  /** The folder holding `<chapter>.ts`. */
  exercisesDir: string;
  isolation: Isolation;
  /** Stop everything at this time (Date.now() scale). */
  deadline?: number;
  /** The grader's cap on each task (IPC_TASK_TIMEOUT_MS). */
  taskTimeoutMs?: number;
  /** Also collect the tasks' metadata from this run (check, watch). */
  collectTasks?: boolean;
  /** Where a box keeps its folder; hidden from the student inside the box. */
  workDir?: string;
  signal?: AbortSignal;
}

const OUTPUT_KEEP = 8192;

function basePath(): string {
  return process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin";
}

/** Reads what the results file holds (one JSON object per line; a torn last line is ignored). */
function readRecords(file: string): ResultRecord[] {
  if (!fs.existsSync(file)) return [];
  const records: ResultRecord[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as ResultRecord);
    } catch {
      // Only the test process writes here; a torn line is one it was killed while writing.
    }
  }
  return records;
}

async function drain(stream: ReadableStream<Uint8Array>, keep: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    keep.text = (keep.text + decoder.decode(value, { stream: true })).slice(-OUTPUT_KEEP);
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

/** A pids cgroup for one box: created, bounded, and later emptied and removed. */
class BoxCgroup {
  readonly dir: string;
  constructor(isolation: Isolation, label: string) {
    const cgroup = isolation.cgroup!;
    this.dir = path.join(cgroup.parent, label);
    fs.mkdirSync(this.dir);
    fs.writeFileSync(path.join(this.dir, "pids.max"), String(isolation.maxProcesses));
  }

  /** How many forks the bound refused. */
  refusals(): number {
    try {
      const events = fs.readFileSync(path.join(this.dir, "pids.events"), "utf8");
      return Number(/^max (\d+)/m.exec(events)?.[1] ?? 0);
    } catch {
      return 0;
    }
  }

  async destroy(): Promise<void> {
    const kill = path.join(this.dir, "cgroup.kill");
    for (let round = 0; round < 500; round++) {
      let procs: number[] = [];
      try {
        procs = fs.readFileSync(path.join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
      } catch {
        return;
      }
      if (procs.length === 0) break;
      if (fs.existsSync(kill)) fs.writeFileSync(kill, "1");
      else for (const pid of procs) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
      await Bun.sleep(round < 10 ? 2 : 20);
    }
    for (let round = 0; round < 100; round++) {
      try {
        fs.rmdirSync(this.dir);
        return;
      } catch {
        await Bun.sleep(20); // the last processes are still being reaped
      }
    }
  }
}

function pidNamespace(): string {
  try {
    return fs.readlinkSync("/proc/self/ns/pid");
  } catch {
    return "";
  }
}

/** Runs one chapter's graded tests and returns what each task earned. */
export async function runChapter(options: RunOptions): Promise<ChapterResult> {
  const { chapter, isolation } = options;
  const started = Date.now();
  const token = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const mark = `ipcbook-s${token}`;
  const boxed = isolation.level === "box";
  const work = fs.mkdtempSync(path.join(options.workDir ?? os.tmpdir(), "ipcbook-run-"));
  // Others may pass through (not list): a test may run a client as another user, who must reach its scratch folder.
  fs.chmodSync(work, 0o711);
  // W: the only folder the box may write (stages, HOME); beside it, hidden, the results.
  const w = path.join(work, "w");
  fs.mkdirSync(w);
  const resultsFile = path.join(work, "results.jsonl");
  const infoFile = path.join(work, "tasks.jsonl");
  const resultsFd = fs.openSync(resultsFile, "a");
  let cgroup: BoxCgroup | undefined;

  // In a box the exercise is read from W: everything else the grader keeps is hidden there.
  let exercisesDir = options.exercisesDir;
  // As root, the box runs as ids of its own, whose root owns W and may only pass through the folders above it.
  const uid = boxed && isolation.boxUser ? boxUserId() : undefined;
  if (boxed) {
    exercisesDir = path.join(w, "exercises");
    fs.mkdirSync(exercisesDir);
    const source = path.join(options.exercisesDir, `${chapter.chapter}.ts`);
    if (fs.existsSync(source)) fs.copyFileSync(source, path.join(exercisesDir, `${chapter.chapter}.ts`));
    if (uid !== undefined) {
      for (const entry of [w, exercisesDir, path.join(exercisesDir, `${chapter.chapter}.ts`)]) {
        if (fs.existsSync(entry)) fs.chownSync(entry, uid, uid);
      }
    }
  }

  const env: Record<string, string> = {
    PATH: basePath(),
    // Grading: nothing of the instructor's home is used or exposed; checking: the student's own.
    HOME: isolation.level === "none" ? (process.env.HOME ?? w) : w,
    TMPDIR: w,
    LANG: "C.UTF-8",
    NO_COLOR: "1",
    IPC_EXERCISES_DIR: exercisesDir,
    IPC_RESULTS_FD: "3",
    IPC_STUDENT_MARK: mark,
    IPC_BOX_PATH: basePath(),
  };
  if (isolation.level !== "none") env.BUN_RUNTIME_TRANSPILER_CACHE_PATH = "0"; // no cache a student could have written
  if (options.collectTasks && !boxed) env.IPC_TASK_INFO = infoFile;
  if (options.taskTimeoutMs) env.IPC_TASK_TIMEOUT_MS = String(options.taskTimeoutMs);
  if (isolation.studentWrap.length > 0) env.IPC_STUDENT_WRAP = JSON.stringify(isolation.studentWrap);
  if (boxed) env.IPC_BOX_OUTER_PIDNS = pidNamespace();

  const test = [process.execPath, "test", chapter.testFile];
  let argv = test;
  if (boxed) {
    // Hide the whole grading folder (every submission's copy) if there is one, else our own.
    argv = boxCommand(isolation, uid, options.workDir ?? work, w, test);
  }
  if (isolation.cgroup) {
    try {
      cgroup = new BoxCgroup(isolation, `ipcbook-box-${token}`);
      argv = ["/bin/sh", BOX_SCRIPT, "outer", cgroup.dir, ...argv];
    } catch {
      cgroup = undefined; // could not make this one; the box still holds
    }
  }

  const output = { text: "" };
  let timedOut = false;
  let aborted = false;
  let exitCode: number | null = null;
  let forkRefusals = 0;
  try {
    const child = Bun.spawn(argv, {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe", resultsFd],
      detached: true, // its own process group: one kill stops the box, or the test and all it started
    });
    fs.closeSync(resultsFd);
    const stop = (why: "deadline" | "abort") => {
      if (why === "deadline") timedOut = true;
      else aborted = true;
      killGroup(child.pid);
    };
    const timer =
      options.deadline !== undefined ? setTimeout(() => stop("deadline"), Math.max(0, options.deadline - Date.now())) : undefined;
    const onAbort = () => stop("abort");
    options.signal?.addEventListener("abort", onAbort);
    if (options.signal?.aborted) onAbort();
    await Promise.all([drain(child.stdout, output), drain(child.stderr, output), child.exited]);
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    exitCode = child.exitCode;
    killGroup(child.pid);
  } finally {
    try {
      fs.closeSync(resultsFd);
    } catch {
      // Closed after the spawn already.
    }
    // Whatever is left: the box's processes died with its namespace; outside
    // a box, the marked ones; in a cgroup, every one.
    await killMarked(mark);
    forkRefusals = cgroup?.refusals() ?? 0;
    await cgroup?.destroy();
  }

  const records = readRecords(resultsFile);
  const tasks = options.collectTasks && fs.existsSync(infoFile) ? parseTaskInfo(fs.readFileSync(infoFile, "utf8")) : [];
  removeTree(work);

  const verdicts = new Map<number, TaskVerdict>();
  for (const record of records) {
    if (record.event === "task" && record.chapter === chapter.chapter && !verdicts.has(record.number)) {
      verdicts.set(record.number, { number: record.number, passed: record.passed === true, message: String(record.message ?? ""), ms: record.ms });
    }
  }
  return {
    chapter: chapter.chapter,
    tasks,
    verdicts,
    started: records.some((r) => r.event === "start"),
    ended: records.some((r) => r.event === "end"),
    timedOut,
    aborted,
    exitCode,
    output: output.text,
    forkRefusals,
    ms: Date.now() - started,
  };
}

/** Task metadata lines (IPC_TASK_INFO), first declaration of each number wins. */
export function parseTaskInfo(text: string): TaskInfo[] {
  const tasks = new Map<number, TaskInfo>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const info = JSON.parse(line) as TaskInfo;
    if (!tasks.has(info.number)) tasks.set(info.number, info);
  }
  return [...tasks.values()].sort((a, b) => a.number - b.number);
}

/**
 * The tasks of a chapter, from the grader's own copy of the test file and
 * no student code at all: the file is loaded with IPC_TASK_INFO_ONLY, so it
 * declares its tasks and runs none.
 */
export async function declaredTasks(chapter: GradedChapter): Promise<TaskInfo[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-info-"));
  const file = path.join(dir, "tasks.jsonl");
  try {
    const run = Bun.spawn([process.execPath, "test", chapter.testFile], {
      cwd: ROOT,
      env: { PATH: basePath(), HOME: dir, TMPDIR: dir, LANG: "C.UTF-8", NO_COLOR: "1", IPC_TASK_INFO: file, IPC_TASK_INFO_ONLY: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const output = { text: "" };
    await Promise.all([drain(run.stdout, output), drain(run.stderr, output), run.exited]);
    const tasks = fs.existsSync(file) ? parseTaskInfo(fs.readFileSync(file, "utf8")) : [];
    if (tasks.length === 0) throw new Error(`${path.relative(ROOT, chapter.testFile)} declares no tasks:\n${output.text.trim()}`);
    return tasks;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes a folder even where a student's process took away our write permission. */
export function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    Bun.spawnSync(["chmod", "-R", "u+rwx", dir], { stdout: "ignore", stderr: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
