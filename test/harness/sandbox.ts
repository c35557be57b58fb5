/**
 * Keeping a student's processes on a leash: finding the ones that escaped
 * their process group, and (when the grader runs the tests inside a box of
 * fresh namespaces, see test/harness/box.sh and tools/grading/box.ts)
 * sweeping the whole box clean between tasks.
 *
 * Every student process starts with IPCBOOK_STUDENT=<mark> in its
 * environment. A process that starts a new session (`setsid`) escapes the
 * process-group kill, but keeps the mark unless it also clears its
 * environment; inside the grader's box even that does not help, because
 * the box is a PID namespace of its own and everything in it but the test
 * process is a student's.
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";

/** The environment variable that marks a student's processes. */
export const STUDENT_MARK_VAR = "IPCBOOK_STUDENT";

/**
 * The mark for this test process's student calls: the grader chooses it
 * (IPC_STUDENT_MARK) so that it can sweep after a run; otherwise a fresh one.
 */
export function studentMark(): string {
  const given = process.env.IPC_STUDENT_MARK;
  if (given && /^[A-Za-z0-9_-]{8,64}$/.test(given)) return given;
  return `ipcbook-s${process.pid}-${randomBytes(6).toString("hex")}`;
}

/**
 * What the grader puts in front of every student command (IPC_STUDENT_WRAP,
 * a JSON array): `setpriv` to drop every capability, `prlimit` for limits.
 * Empty when the tests run on their own.
 */
export function studentWrap(): string[] {
  const raw = process.env.IPC_STUDENT_WRAP;
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string")) {
    throw new Error("IPC_STUDENT_WRAP must be a JSON array of strings");
  }
  return parsed as string[];
}

function pids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** Whether /proc/PID is a zombie (dead, only waiting to be reaped) or gone. */
function finished(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

/** Live processes whose environment carries `mark`. */
export function markedProcesses(mark: string): number[] {
  const needle = `${STUDENT_MARK_VAR}=${mark}\0`;
  const found: number[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      continue; // gone, or not ours to read
    }
    if (`\0${environ}`.includes(`\0${needle}`) && !finished(pid)) found.push(pid);
  }
  return found;
}

/**
 * Kills every process carrying `mark`, again and again until none is left
 * (a process may fork while we look). Returns how many it killed.
 */
export async function killMarked(mark: string, rounds = 200): Promise<number> {
  let killed = 0;
  for (let round = 0; round < rounds; round++) {
    const found = markedProcesses(mark);
    if (found.length === 0) return killed;
    for (const pid of found) {
      try {
        process.kill(pid, "SIGKILL");
        killed++;
      } catch {
        // It ended on its own.
      }
    }
    await Bun.sleep(round < 10 ? 1 : 10);
  }
  return killed;
}

let boxedCache: boolean | undefined;

/**
 * Whether this process runs inside the grader's box: a PID namespace of its
 * own (different from the one the grader named in IPC_BOX_OUTER_PIDNS)
 * whose init is box.sh. Only then is "kill everything else" safe.
 */
export function insideBox(): boolean {
  if (boxedCache !== undefined) return boxedCache;
  boxedCache = false;
  const outer = process.env.IPC_BOX_OUTER_PIDNS;
  if (!outer) return false;
  try {
    const own = fs.readlinkSync("/proc/self/ns/pid");
    const init = fs.readFileSync("/proc/1/cmdline", "utf8").split("\0");
    boxedCache = own !== outer && init.some((arg) => arg.endsWith("/box.sh")) && process.pid !== 1;
  } catch {
    boxedCache = false;
  }
  return boxedCache;
}

/**
 * Inside the grader's box: kills every process of the box except its init
 * and this test process, until none is left. Between tasks nothing of the
 * student's may run; this is what finds a process that left its group,
 * its session and its environment behind. Outside a box it does nothing.
 */
export async function sweepBox(rounds = 500): Promise<number> {
  if (!insideBox()) return 0;
  let killed = 0;
  for (let round = 0; round < rounds; round++) {
    const others = pids().filter((pid) => pid !== 1 && pid !== process.pid && !finished(pid));
    if (others.length === 0) return killed;
    try {
      process.kill(-1, "SIGKILL"); // every process of the namespace but init and us
    } catch {
      // Nothing we may signal.
    }
    killed += others.length;
    await Bun.sleep(round < 10 ? 1 : 10);
  }
  return killed;
}
