/**
 * How strongly the grader can fence in a submission on this machine, found
 * out once per grading run by trying each mechanism:
 *
 * - a box (test/harness/box.sh): fresh IPC, mount, PID and network
 *   namespaces with `unshare` (as root, or as any user where user namespaces
 *   are allowed): private /dev/shm and queues, only a loopback network,
 *   everything read-only but the box's own folder, the other submissions
 *   and the reference solutions hidden, and every process of the box killed
 *   with it;
 * - as root, users of its own for each box: the box's user namespace maps
 *   its users 0-65535 to a range of ids no one else uses (through
 *   tools/grading/userns/, a stand-in for newuidmap), so per-user limits
 *   (processes, queue memory, pending signals) are per box and one
 *   submission cannot use up another's, while a test may still run a
 *   client as user nobody inside;
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
/** Root's stand-ins for newuidmap and newgidmap (see the files). */
const USERNS_HELPERS = path.join(ROOT, "tools", "grading", "userns");
/** Ids mapped into each box: users 0-65535 inside. */
const BOX_IDS = 65_536;

export interface Isolation {
  /** "box": namespaces; "process-group": process groups, marks and limits only; "none": check and watch on a student's own machine. */
  level: "box" | "process-group" | "none";
  /** The `unshare` command line that opens a box (empty without one). */
  unshare: string[];
  /** Root only: map each box's users to a range of ids of its own. */
  boxUser?: boolean;
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

let nextUser = 0;

/**
 * The first of the 65,536 ids of one box when the grader runs as root: from
 * far above any real user's, different for each box of this grading run.
 */
export function boxUserId(): number {
  const slot = (process.pid * 131 + nextUser++) % 40_000;
  return 1_000_000_000 + slot * BOX_IDS;
}

/** The command line that opens a box: unshare [with the box's own ids] … box.sh inner … */
export function boxCommand(isolation: Isolation, uid: number | undefined, work: string, w: string, command: string[]): string[] {
  const net = isolation.unshare.includes("--net") ? ["--net"] : [];
  const inner = ["/bin/sh", BOX_SCRIPT, "inner", ...net, work, w, ROOT, ...command];
  if (!isolation.boxUser || uid === undefined) return [...isolation.unshare, ...inner];
  const [unshare, ...rest] = isolation.unshare;
  const ids = [`--map-users=${uid},0,${BOX_IDS}`, `--map-groups=${uid},0,${BOX_IDS}`, "--setuid", "0", "--setgid", "0"];
  // box.sh puts PATH back (IPC_BOX_PATH) before anything of the box runs.
  return ["/usr/bin/env", `PATH=${USERNS_HELPERS}:${process.env.PATH ?? "/usr/bin:/bin"}`, unshare!, ...ids, ...rest, ...inner];
}

/**
 * Builds a box once with a command that must succeed inside it: the
 * student's way of giving up capabilities (setpriv), and must be refused:
 * writing into the project.
 */
function probeBox(unshare: string[], boxUser: boolean, setpriv: string | undefined): { ok: boolean; stderr: string } {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-probe-"));
  const w = path.join(work, "w");
  fs.mkdirSync(w);
  const uid = boxUser ? boxUserId() : undefined;
  try {
    if (uid !== undefined) {
      fs.chmodSync(work, 0o711);
      fs.chownSync(w, uid, uid);
    }
    const check = setpriv ? [setpriv, "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--", "/bin/true"] : ["/bin/true"];
    const isolation: Isolation = { ...NO_ISOLATION, level: "box", unshare, boxUser };
    return quietRun(boxCommand(isolation, uid, work, w, check));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
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
  let boxUser: Isolation["boxUser"];
  if (options.sandbox !== "off") {
    if (!unshareBin) notes.push("no `unshare` (util-linux): no namespaces");
    else {
      // Only loopback inside, and only if it can be brought up.
      const net = which("ip") ? ["--net"] : [];
      if (net.length === 0) notes.push("no `ip` (iproute2): the box shares the machine's network");
      const common = ["--ipc", "--mount", "--pid", ...net, "--fork", "--kill-child", "--mount-proc"];
      const asUser = [unshareBin, "--user", "--map-root-user", ...common];
      // Root: ids of its own per box if we can, else root's box; others: their own user.
      const attempts: { args: string[]; boxUser: boolean }[] = root
        ? [
            { args: [unshareBin, "--user", ...common], boxUser: true },
            { args: [unshareBin, ...common], boxUser: false },
          ]
        : [{ args: asUser, boxUser: false }];
      const failures: string[] = [];
      for (const attempt of attempts) {
        const result = probeBox(attempt.args, attempt.boxUser, setpriv);
        if (result.ok) {
          unshare = attempt.args;
          boxUser = attempt.boxUser || undefined;
          break;
        }
        failures.push(result.stderr.split("\n").at(-1) || "unshare failed");
      }
      if (unshare.length === 0) notes.push(`no box: ${failures.join("; ")}`);
      else if (root && !boxUser) notes.push(`boxes run as root, without ids of their own: ${failures[0] ?? ""}`);
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
  if (prlimit && boxUser) {
    // A fresh user per box: the kernel's count of its processes starts at zero.
    // Where the cgroup bounds the box, this is only the second line (and the cgroup counts the refusals).
    studentWrap.push(prlimit, `--nproc=${cgroup ? maxProcesses * 2 : maxProcesses}`, "--");
  } else if (prlimit && !root && !cgroup) {
    // For a user, RLIMIT_NPROC bounds the total over all its processes: what runs now plus room for the box.
    studentWrap.push(prlimit, `--nproc=${userTaskCount() + maxProcesses}`, "--");
  } else if (root && !cgroup) notes.push("running as root without a cgroup or a user per box: nothing bounds a fork bomb but the time limits");

  return {
    level: unshare.length > 0 ? "box" : "process-group",
    unshare,
    boxUser,
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
      ? `namespaces (private IPC objects, read-only files, PID${isolation.unshare.includes("--net") ? " and network" : ""} namespace${isolation.unshare.includes("--net") ? "s" : ""}${isolation.boxUser ? ", user ids per box" : ""})`
      : "process groups only (no namespaces on this machine)",
    isolation.cgroup ? `pids cgroup v${isolation.cgroup.version} (at most ${isolation.maxProcesses} processes)` : "no cgroup",
    isolation.studentWrap.some((part) => part.endsWith("setpriv")) ? "no capabilities" : "",
  ].filter(Boolean);
  return parts.join(", ");
}
