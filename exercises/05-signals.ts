/**
 * Chapter 05 exercise: signals.
 *
 * Three tasks, each a function (or two) below with a TODO. Replace each
 * `todo(...)` line with your code; the chapter section named in it teaches
 * what you need.
 *
 *   bun run exercises/05-signals.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 05                    grades the tasks the way your instructor will
 *
 * The grader runs your functions in separate processes and watches from
 * its own: the state of the processes in /proc, the shared-memory objects
 * your daemon keeps up to date (and removes), the signals that really
 * reach it, with their payloads and their sender. Printing the right
 * answer earns nothing.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { kill, processExists, SharedMemory, SignalReceiver, sigqueue, spawn, type Signal } from "../lib/index.ts";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "05-signals";

// ANCHOR: task1
/**
 * Task 1a. Stop every process of the process group `pgid` (not only its
 * leader) with one signal, the way a shell's Ctrl+Z stops a whole job.
 */
export function pauseGroup(pgid: number): void {
  todo(CHAPTER, 1, "pauseGroup(): stop every process of the group with one kill", "Process groups and signal 0");
}

/** Task 1b. Let every process of the group `pgid` run again. */
export function resumeGroup(pgid: number): void {
  todo(CHAPTER, 1, "resumeGroup(): continue every process of the group", "Process groups and signal 0");
}

/**
 * Task 1c. Whether a process with this pid exists, without sending it
 * anything. A process that exists but belongs to another user counts as
 * existing too.
 */
export function isAlive(pid: number): boolean {
  todo(CHAPTER, 1, "isAlive(): probe the pid with signal 0", "Process groups and signal 0");
}
// ANCHOR_END: task1

// ANCHOR: task2
/** The daemon's status: four 32-bit integers at the start of the object `statusName`. */
export const STATUS = {
  /** 1 once every handler is installed (set it last). */
  ready: 0,
  /** How many SIGUSR1 the daemon has received. */
  usr1: 1,
  /** How many times it has reloaded its configuration (SIGHUP). */
  reloads: 2,
  /** The `level` of the configuration it uses now. */
  level: 3,
  /** The object's size in bytes. */
  size: 16,
} as const;

/**
 * Task 2. A daemon. Start by creating, exclusively, two shared-memory
 * objects: `statusName` (STATUS.size bytes, the layout above) and
 * `${statusName}-work` (4096 bytes, for its work). Read the configuration
 * file `configPath`, JSON such as {"level": 3}, and put its level in the
 * status. Then, until told to stop:
 *
 * - on SIGUSR1, add one to `usr1`;
 * - on SIGHUP, read the configuration file again: store the new level,
 *   and add one to `reloads`;
 * - on SIGTERM, shut down gracefully: remove both objects, and return
 *   (or end by SIGTERM) — nothing you made may be left behind.
 *
 * Set `ready` to 1 once the handlers are in place: the grader sends no
 * signal before that. Return a promise that resolves when you have shut
 * down.
 */
export function runDaemon(statusName: string, configPath: string): Promise<void> {
  todo(CHAPTER, 2, "runDaemon(): count SIGUSR1, reload on SIGHUP, clean up and stop on SIGTERM", "Graceful shutdown");
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3a. Send `signal` to `pid` once for each of `values`, in order,
 * each carrying its value as the signal's payload.
 */
export function sendPayloads(pid: number, signal: Signal, values: number[]): void {
  todo(CHAPTER, 3, "sendPayloads(): queue each value with sigqueue", "Signals that carry data");
}

/**
 * Task 3b. Receive `count` deliveries of `signal` (a real-time signal) and
 * return their payloads in the order they arrived. Create the file
 * `readyPath` once you are ready to receive: the sender starts only then,
 * and sends them all at once.
 */
export function collectPayloads(signal: Signal, count: number, readyPath: string): Promise<number[]> {
  todo(CHAPTER, 3, "collectPayloads(): receive queued signals with their payloads, in order", "Signals that carry data");
}
// ANCHOR_END: task3

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/05-signals.ts` runs. You do
 * not need to change anything below.
 * ---------------------------------------------------------------------- */

function groupStates(pgid: number): string {
  const states: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) states.push(fields[0]!);
    } catch {
      // it ended while we looked
    }
  }
  return states.sort().join("");
}

async function settle(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check() && Date.now() < deadline) await Bun.sleep(10);
}

async function demo(): Promise<void> {
  const prefix = `/${process.env.IPC_PREFIX ?? "ipcbook"}-demo-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-"));
  const statusName = `${prefix}-status`;
  using group = spawn(["sh", "-c", "sleep 60 & sleep 60 & wait"], { processGroup: 0 });
  try {
    await settle(() => groupStates(group.pid).length === 3);
    pauseGroup(group.pid);
    await settle(() => groupStates(group.pid) === "TTT");
    console.log(`Task 1: after pauseGroup the group's states are ${groupStates(group.pid)} (T = stopped)`);
    resumeGroup(group.pid);
    await settle(() => !groupStates(group.pid).includes("T"));
    console.log(`        after resumeGroup: ${groupStates(group.pid)} (S = sleeping)`);
    console.log(`        isAlive(${group.pid}) = ${isAlive(group.pid)}, isAlive(${2 ** 22 + 1}) = ${isAlive(2 ** 22 + 1)}`);

    const config = path.join(dir, "daemon.json");
    fs.writeFileSync(config, JSON.stringify({ level: 1 }));
    const daemon = Bun.spawn([process.execPath, import.meta.path, "daemon", statusName, config], { stdout: "inherit", stderr: "inherit" });
    const status = () => (fs.existsSync(`/dev/shm${statusName}`) ? new Int32Array(fs.readFileSync(`/dev/shm${statusName}`).buffer.slice(0, STATUS.size)) : undefined);
    await settle(() => status()?.[STATUS.ready] === 1 || daemon.exitCode !== null);
    if (daemon.exitCode !== null) {
      process.exitCode = 1; // the daemon said what went wrong
      return;
    }
    for (let i = 1; i <= 3; i++) {
      kill(daemon.pid, "SIGUSR1");
      await settle(() => status()?.[STATUS.usr1] === i);
    }
    fs.writeFileSync(config, JSON.stringify({ level: 7 }));
    kill(daemon.pid, "SIGHUP");
    await settle(() => status()?.[STATUS.reloads] === 1);
    const s = status()!;
    console.log(`Task 2: the daemon counted ${s[STATUS.usr1]} SIGUSR1, reloaded ${s[STATUS.reloads]} time(s), level now ${s[STATUS.level]}`);
    kill(daemon.pid, "SIGTERM");
    await daemon.exited;
    console.log(`        after SIGTERM: still there: ${SharedMemory.exists(statusName)}, ${SharedMemory.exists(`${statusName}-work`)}`);

    const ready = path.join(dir, "ready");
    const collector = Bun.spawn([process.execPath, import.meta.path, "collect", ready], { stdout: "pipe", stderr: "inherit" });
    await settle(() => fs.existsSync(ready) || collector.exitCode !== null);
    if (collector.exitCode === null) sendPayloads(collector.pid, "SIGRTMIN+1", [3, 1, 4, 1, 5]);
    const got = (await new Response(collector.stdout).text()).trim();
    if ((await collector.exited) !== 0) {
      process.exitCode = 1;
      return;
    }
    console.log(`Task 3: sent 3 1 4 1 5 with sigqueue; the other process received ${got}`);
  } finally {
    for (const name of [statusName, `${statusName}-work`]) if (SharedMemory.exists(name)) SharedMemory.unlink(name);
    fs.rmSync(dir, { recursive: true, force: true });
    if (processExists(group.pid)) kill(-group.pid, "SIGKILL");
  }
}

if (import.meta.main) {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === "daemon") await runDemo(() => runDaemon(a!, b!));
  else if (mode === "collect") {
    await runDemo(async () => console.log((await collectPayloads("SIGRTMIN+1", 5, a!)).join(" ")));
    process.exit(0); // leave no signal receiver waiting
  } else await runDemo(demo);
}
