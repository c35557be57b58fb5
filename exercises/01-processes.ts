/**
 * Chapter 01 exercise: processes.
 *
 * Three tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/01-processes.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 01                      grades the tasks the way your instructor will
 *
 * The grader calls your functions in separate processes and then looks at
 * what really happened: which processes ran, with which arguments and
 * which parent, what they wrote to a file, whether a planted command ran.
 * Printing the right answer is not enough.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeStatus, run, spawn, type WaitStatus } from "../lib/index.ts";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "01-processes";

// ANCHOR: task1
/** How one process of the pool ended. */
export interface Outcome {
  /** Its process id. */
  pid: number;
  /** The exit code if it exited, else null. */
  exitCode: number | null;
  /** The name of the signal that killed it ("SIGTERM"), else null. */
  signal: string | null;
}

/**
 * Task 1. Start one process for each argument vector in `commands` (the
 * program, then its arguments; no shell), all of them before waiting for
 * any, so that they run at the same time. Then wait for every one and
 * return how each ended, in the order of `commands`.
 */
export async function runPool(commands: string[][]): Promise<Outcome[]> {
  todo(CHAPTER, 1, "runPool(): start every command, then collect how each ended", "Waiting for children");
}
// ANCHOR_END: task1

// ANCHOR: task2
/**
 * Task 2. Append the line `parent PID: start` (PID is this process's id)
 * to the log file at `logPath`, creating it if needed and keeping what it
 * holds. Then start `worker` (an argument vector) with the log open as its
 * descriptor 3: the worker writes its own line there, and knows nothing
 * of the path. Wait for it, append `parent PID: done`, and return the
 * worker's exit code.
 */
export async function shareLog(logPath: string, worker: string[]): Promise<number> {
  todo(CHAPTER, 2, "shareLog(): hand the open log to the worker as its descriptor 3", "What the child inherits");
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3. Return the lines of `file` that contain `pattern` as plain text
 * (not a regular expression), found by running grep. A colleague wrote:
 *
 *   const { output } = popenRead(`grep -F '${pattern}' ${file}`);
 *   return output.split("\n").filter(Boolean);
 *
 * and a pattern or a file name can make that run any command at all.
 * Rewrite it with no shell. The pattern and the name may hold spaces,
 * quotes, semicolons, `$(…)`, and may start with a dash. No matching line
 * is not an error: return []. A file that cannot be read is: throw.
 */
export async function findInFile(pattern: string, file: string): Promise<string[]> {
  todo(CHAPTER, 3, "findInFile(): run grep with an argument vector, no shell", "The fix: argument vectors");
}
// ANCHOR_END: task3

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/01-processes.ts` runs. You do
 * not need to change anything below.
 * ---------------------------------------------------------------------- */

async function demo(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-demo01-`));
  try {
    const outcomes = await runPool([
      ["sh", "-c", "exit 0"],
      ["sh", "-c", "exit 3"],
      ["sh", "-c", 'kill -TERM "$$"'],
      ["sleep", "0.1"],
    ]);
    console.log("Task 1: the pool ended like this:");
    for (const o of outcomes) console.log(`  pid ${o.pid}: exit code ${o.exitCode}, signal ${o.signal}`);

    const log = path.join(dir, "shared.log");
    const code = await shareLog(log, ["sh", "-c", 'echo "worker $$ (parent $PPID) wrote through descriptor 3" >&3']);
    console.log(`Task 2: the worker exited with ${code}; the log holds:`);
    for (const line of fs.readFileSync(log, "utf8").trimEnd().split("\n")) console.log(`  ${line}`);

    const notes = path.join(dir, "notes.txt");
    fs.writeFileSync(notes, "it's raining\nno rain today\nit's sunny\n");
    const marker = path.join(dir, "INJECTED");
    console.log(`Task 3: lines with "it's":`, await findInFile("it's", notes));
    console.log(`        a crafted pattern:`, await findInFile(`x'; touch ${marker}; echo '`, notes));
    console.log(`        the planted command ran: ${fs.existsSync(marker)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await runDemo(demo);
