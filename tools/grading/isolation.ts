/**
 * How strongly the grader can fence in a submission on this machine, found
 * out once per grading run by trying each mechanism:
 *
 * - a box (test/harness/box.sh): fresh IPC, mount and PID namespaces with
 *   `unshare` (as root, or as any user where user namespaces are allowed):
 *   private /dev/shm and queues, everything read-only but the box's own
 *   folder, the other submissions and the reference solutions hidden, and
 *   every process of the box killed with it;
 * - a pids cgroup per box (v1 or v2, where we may create one): a hard bound
 *   on the number of processes, which stops a fork bomb;
 * - `setpriv`: the student's processes run without any capability, so they
 *   cannot remount, and cannot trace or open the test process;
 * - `prlimit --nproc`: a bound on processes where no cgroup is available
 *   (the kernel ignores it for root, who gets the cgroup instead).
 *
 * Without namespaces the grader still works, with weaker isolation: its
 * report says which level it had.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ROOT } from "../../test/harness/student.ts";

export const BOX_SCRIPT = path.join(ROOT, "test", "harness", "box.sh");

export interface Isolation {
  /** "box": namespaces; "process-group": process groups, marks and limits only; "none": check and watch on a student's own machine. */
  level: "box" | "process-group" | "none";
  /** The `unshare` command line that opens a box (empty without one). */
  unshare: string[];
  /** Where to make one pids cgroup per box, if we may. */
  cgroup?: { version: 1 | 2; parent: string };
  /** Put in front of every student command (IPC_STUDENT_WRAP). */
  studentWrap: string[];
  /** Most processes (threads included) one box may hold. */
  maxProcesses: number;
  /** What is missing, in words, for the report. */
  notes: string[];
}

export const NO_ISOLATION: Isolation = { level: "none", unshare: [], studentWrap: [], maxProcesses: 0, notes: [] };

function which(command: string): string | undefined {
  return Bun.which(command) ?? undefined;
}

function quietRun(argv: string[]): { ok: boolean; stderr: string } {
  try {
    const run = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    return { ok: run.exitCode === 0, stderr: run.stderr.toString().trim() };
  } catch (error) {
    return { ok: false, stderr: String(error) };
  }
}

/** A pids cgroup parent under which we may create children, or undefined. */
function findCgroup(): Isolation["cgroup"] {
  const probe = `ipcbook-probe-${process.pid}-${randomBytes(3).toString("hex")}`;
  const candidates: { version: 1 | 2; parent: string }[] = [];
  if (fs.existsSync("/sys/fs/cgroup/cgroup.controllers")) {
    const own = /^0::(.*)$/m.exec(fs.readFileSync("/proc/self/cgroup", "utf8"))?.[1];
    if (own !== undefined) candidates.push({ version: 2, parent: path.join("/sys/fs/cgroup", own) });
  }
  if (fs.existsSync("/sys/fs/cgroup/pids/cgroup.procs")) {
    const own = /^\d+:pids:(.*)$/m.exec(fs.readFileSync("/proc/self/cgroup", "utf8"))?.[1] ?? "/";
    candidates.push({ version: 1, parent: path.join("/sys/fs/cgroup/pids", own) });
  }
  for (const candidate of candidates) {
    const dir = path.join(candidate.parent, probe);
    try {
      fs.mkdirSync(dir);
    } catch {
      continue;
    }
    try {
      if (fs.existsSync(path.join(dir, "pids.max"))) {
        fs.writeFileSync(path.join(dir, "pids.max"), "64");
        return candidate;
      }
    } catch {
      // Not ours to limit.
    } finally {
      fs.rmdirSync(dir);
    }
  }
  return undefined;
}

/** Processes (threads count) of this user now: the base for a prlimit bound. */
function userTaskCount(): number {
  const uid = process.getuid?.() ?? 0;
  let count = 0;
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      if (fs.statSync(`/proc/${pid}`).uid !== uid) continue;
      count += fs.readdirSync(`/proc/${pid}/task`).length;
    } catch {
      // It ended while we looked.
    }
  }
  return count;
}

export interface ProbeOptions {
  /** "auto" takes the best available; "require" fails without a box; "off" uses process groups only. */
  sandbox: "auto" | "require" | "off";
  /** Most processes one box may hold (cgroup), default 512. */
  maxProcesses?: number;
}

/** Finds out what this machine allows; fails only when `require` cannot be met. */
export function probeIsolation(options: ProbeOptions): Isolation {
  const notes: string[] = [];
  const root = process.getuid?.() === 0;
  const maxProcesses = options.maxProcesses ?? 512;
  const setpriv = which("setpriv");
  const prlimit = which("prlimit");
  const unshareBin = which("unshare");

  let unshare: string[] = [];
  if (options.sandbox !== "off") {
    if (!unshareBin) notes.push("no `unshare` (util-linux): no namespaces");
    else {
      const args = [unshareBin, ...(root ? [] : ["--user", "--map-root-user"]), "--ipc", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"];
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-probe-"));
      const w = path.join(work, "w");
      fs.mkdirSync(w);
      try {
        const inner = [args, "/bin/sh", BOX_SCRIPT, "inner", work, w, ROOT].flat();
        const check = setpriv ? [setpriv, "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--", "/bin/true"] : ["/bin/true"];
        const result = quietRun([...inner, ...check]);
        if (result.ok) unshare = args;
        else notes.push(`no box: ${result.stderr.split("\n").at(-1) || "unshare failed"}`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
  }
  if (options.sandbox === "require" && unshare.length === 0) {
    throw new Error(`--sandbox require: this machine cannot build the grader's box (${notes.join("; ")})`);
  }

  const cgroup = options.sandbox === "off" ? undefined : findCgroup();
  if (!cgroup && options.sandbox !== "off") notes.push("no pids cgroup we may create: the process bound is RLIMIT_NPROC only");

  // Capabilities: inside a box the test process is root of its namespaces
  // and the student gives them all up; outside one only root has any.
  const studentWrap: string[] = [];
  if (setpriv && (unshare.length > 0 || root)) {
    studentWrap.push(setpriv, "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--");
  } else if (unshare.length > 0 || root) notes.push("no `setpriv` (util-linux): student code keeps the test process's capabilities");
  if (prlimit && !cgroup) {
    // Root is exempt from RLIMIT_NPROC; for everyone else it bounds the
    // user's total, so the bound is what runs now plus room for the box.
    if (root) notes.push("running as root without a cgroup: nothing bounds a fork bomb but the time limits");
    else studentWrap.push(prlimit, `--nproc=${userTaskCount() + maxProcesses}`, "--");
  }

  return {
    level: unshare.length > 0 ? "box" : "process-group",
    unshare,
    cgroup,
    studentWrap,
    maxProcesses,
    notes,
  };
}

/** One line for reports: what fenced the submissions in. */
export function describeIsolation(isolation: Isolation): string {
  if (isolation.level === "none") return "no isolation (checking your own exercises)";
  const parts = [
    isolation.level === "box"
      ? "namespaces (private IPC objects, read-only files, PID namespace)"
      : "process groups only (no namespaces on this machine)",
    isolation.cgroup ? `pids cgroup v${isolation.cgroup.version} (at most ${isolation.maxProcesses} processes)` : "no cgroup",
    isolation.studentWrap.some((part) => part.endsWith("setpriv")) ? "no capabilities" : "",
  ].filter(Boolean);
  return parts.join(", ");
}
