/**
 * Running a student's exercise code as a peer, never inside the test's own
 * process: each call is a separate `bun` process in its own process group,
 * with a stripped environment and a time limit after which the whole group
 * is killed. The tests then judge by the kernel objects, not by what the
 * student's code says.
 *
 * Which exercise files are graded: the folder in IPC_EXERCISES_DIR
 * (default `exercises/`), such as `solutions/` or a student's submission.
 * The file is copied into a private staging folder next to a link to the
 * project's `lib/` and a pristine `support.ts`, so a submission can live
 * anywhere and cannot swap the library or the support code.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CallOutcome } from "./call.ts";
import { STUDENT_MARK_VAR, studentMark, studentWrap } from "./sandbox.ts";

/** The project's root folder. */
export const ROOT = path.resolve(import.meta.dir, "../..");

const CALL_ENTRY = path.join(import.meta.dir, "call.ts");

/** The folder of exercise files being graded. */
export function exercisesDir(): string {
  return path.resolve(ROOT, process.env.IPC_EXERCISES_DIR ?? "exercises");
}

/** A private copy of one chapter's exercise file, ready to import. */
export class Stage implements Disposable {
  readonly root: string;
  readonly module: string;
  /** In the environment of every process of this stage's calls (see sandbox.ts). */
  readonly mark = studentMark();

  constructor(readonly chapter: string) {
    const source = path.join(exercisesDir(), `${chapter}.ts`);
    if (!fs.existsSync(source)) throw new Error(`there is no ${chapter}.ts in ${exercisesDir()}`);
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-stage-"));
    const exercises = path.join(this.root, "exercises");
    fs.mkdirSync(exercises);
    this.module = path.join(exercises, `${chapter}.ts`);
    fs.copyFileSync(source, this.module);
    fs.copyFileSync(path.join(ROOT, "exercises", "support.ts"), path.join(exercises, "support.ts"));
    fs.symlinkSync(path.join(ROOT, "lib"), path.join(this.root, "lib"));
  }

  /** A fresh scratch folder inside the stage, for files a task works on. */
  scratch(label: string): string {
    return fs.mkdtempSync(path.join(this.root, `${label}-`));
  }

  [Symbol.dispose](): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** How one call of a student's function went. */
export interface CallResult extends CallOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The first 4 KiB of what it printed, for messages. */
  stdout: string;
  stderr: string;
}

export interface CallOptions {
  /** Kill the process group after this long. Default 20 s. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

const OUTPUT_LIMIT = 4096;

let calls = 0;

interface Started {
  process: Bun.Subprocess<"pipe", "pipe", "pipe">;
  resultFile: string;
}

function start(stage: Stage, exportName: string, args: unknown[], together: boolean, options: CallOptions): Started {
  const resultFile = path.join(stage.root, `result-${++calls}.json`);
  const argv = [...studentWrap(), process.execPath, CALL_ENTRY, stage.module, exportName, JSON.stringify(args), resultFile];
  if (together) argv.push("--together");
  const child = Bun.spawn(argv, {
    cwd: stage.root,
    // Only what bun needs: the student's code sees no secrets of the grader.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: stage.root,
      TMPDIR: stage.root,
      LANG: "C.UTF-8",
      ...options.env,
      [STUDENT_MARK_VAR]: stage.mark, // how processes that leave the group are found again
    },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    detached: true, // a process group of its own, so a timeout can kill all it started
  });
  return { process: child, resultFile };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is gone already.
  }
}

async function finish({ process: child, resultFile }: Started, options: CallOptions): Promise<CallResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, options.timeoutMs ?? 20_000);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  clearTimeout(timer);
  killGroup(child.pid); // whatever it left running in the background
  let outcome: CallOutcome = { ok: false };
  if (fs.existsSync(resultFile)) {
    try {
      outcome = JSON.parse(fs.readFileSync(resultFile, "utf8")) as CallOutcome;
    } catch {
      outcome = { ok: false, error: { name: "BadResult", message: "the result file was not valid JSON", todo: false } };
    }
  }
  return {
    ...outcome,
    ok: outcome.ok && child.exitCode === 0 && !timedOut,
    exitCode: child.exitCode,
    signal: child.signalCode === null ? null : String(child.signalCode),
    timedOut,
    stdout: stdout.slice(0, OUTPUT_LIMIT),
    stderr: stderr.slice(0, OUTPUT_LIMIT),
  };
}

/** Calls `exportName(...args)` of the staged exercise in a process of its own. */
export async function callStudent(stage: Stage, exportName: string, args: unknown[], options: CallOptions = {}): Promise<CallResult> {
  return finish(start(stage, exportName, args, false, options), options);
}

/** A call that runs on while the test goes on: see `startStudent`. */
export interface RunningCall {
  /** The pid of the process that runs the student's function (and leads its process group). */
  readonly pid: number;
  /** Sends `signal` (default SIGTERM) to that process only, not to its group; nothing if it has ended. */
  kill(signal?: NodeJS.Signals | number): void;
  /** How the call ended, as `callStudent` reports it; the time limit still applies. */
  readonly finished: Promise<CallResult>;
}

/**
 * Starts `exportName(...args)` like `callStudent` but returns at once, for
 * code that runs until something tells it to stop (a daemon that waits for
 * signals): the test signals the process while it runs, then awaits
 * `finished`.
 */
export function startStudent(stage: Stage, exportName: string, args: unknown[], options: CallOptions = {}): RunningCall {
  const started = start(stage, exportName, args, false, options);
  const child = started.process;
  return {
    pid: child.pid,
    kill(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // It ended meanwhile.
      }
    },
    finished: finish(started, options),
  };
}

/**
 * Calls `exportName` in several processes at once, one per argument list,
 * and releases them together once all have loaded, so that their work
 * really overlaps.
 */
export async function callTogether(
  stage: Stage,
  exportName: string,
  argLists: unknown[][],
  options: CallOptions = {},
): Promise<CallResult[]> {
  const started = argLists.map((args) => start(stage, exportName, args, true, options));
  const results = started.map((s) => finish(s, options));
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  // Wait until every process is loaded and waiting (or has already ended).
  while (
    Date.now() < deadline &&
    !started.every((s) => fs.existsSync(`${s.resultFile}.ready`) || s.process.exitCode !== null || s.process.signalCode !== null)
  ) {
    await Bun.sleep(5);
  }
  for (const s of started) {
    try {
      s.process.stdin.write("go\n");
      await s.process.stdin.end();
    } catch {
      // It ended before the start; its result says why.
    }
  }
  return Promise.all(results);
}
