/**
 * Chapter 09 exercise: deadlock. REFERENCE SOLUTION.
 *
 * Three tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/09-deadlock.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 09                     grades the tasks the way your instructor will
 *
 * The grader stages real deadlocks between real processes and watches the
 * kernel's table of locks while your code runs: it sees which locks you
 * hold while you wait, and whether you wait in the kernel or back off.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { acquireWithBackoffSync, findDeadlocks, lockRanges, locksOn, OpenFile, TimeoutError } from "../lib/index.ts";
import { runDemo } from "./support.ts";

const CHAPTER = "09-deadlock";

/** An account record: 16 bytes, the balance in cents at offset 8 (as in chapter 08). */
export const ACCOUNT = { size: 16, balanceCents: 8 } as const;

/** Adds `delta` to the balance of record `n`, through `file` (given). */
export function addToBalance(file: OpenFile, n: number, delta: bigint): void {
  const at = n * ACCOUNT.size + ACCOUNT.balanceCents;
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64LE(file.read(at, 8).readBigInt64LE(0) + delta);
  file.write(bytes, at);
}

// ANCHOR: naive
/**
 * A transfer that can deadlock (given; do not use it). It locks the
 * account it takes the money from first. When one process moves money
 * from 3 to 5 while another moves money from 5 to 3, each can hold its
 * first record and wait for the other's: with open-file-description
 * locks the kernel does not notice, and both wait forever.
 */
export function transferNaive(path: string, from: number, to: number, cents: number): void {
  using file = new OpenFile(path);
  const record = (n: number) => ({ start: n * ACCOUNT.size, length: ACCOUNT.size, ofd: true });
  file.lock("exclusive", record(from));
  file.lock("exclusive", record(to)); // may wait forever
  addToBalance(file, from, -BigInt(cents));
  addToBalance(file, to, BigInt(cents));
}
// ANCHOR_END: naive

// ANCHOR: task1
/**
 * Task 1. Do what transferNaive does, `times` times, but so that it can
 * never deadlock with other processes doing the same between the same or
 * other accounts: lock the two records in one fixed order (the lower
 * record number first), waiting for each. Release both after each
 * transfer.
 */
export function transferSafely(path: string, from: number, to: number, cents: number, times = 1): void {
  using file = new OpenFile(path);
  const record = (n: number) => ({ start: n * ACCOUNT.size, length: ACCOUNT.size });
  for (let i = 0; i < times; i++) {
    // lockRanges sorts the ranges by offset: the lower record is always locked first.
    const release = lockRanges(file, "exclusive", [record(from), record(to)], { ofd: true });
    try {
      addToBalance(file, from, -BigInt(cents));
      addToBalance(file, to, BigInt(cents));
    } finally {
      release();
    }
  }
}
// ANCHOR_END: task1

// ANCHOR: task2
/** A process, named as in /proc/PID/comm. */
export interface Named {
  pid: number;
  command: string | null;
}

/**
 * Task 2. Find the deadlocks among the processes that wait for locks on
 * the files in `paths`. Read /proc/locks: a blocked request ("->") waits
 * for every lock held on the same file whose byte range overlaps it and
 * whose mode conflicts with it (flock locks only with flock locks). Build
 * the wait-for graph and return each cycle as the list of its processes,
 * each waiting for the next and the last for the first, named from
 * /proc/PID/comm. No deadlock: return [].
 */
export function deadlockedProcesses(paths: string[]): Named[][] {
  return findDeadlocks({ paths }).map((cycle) => cycle.processes.map(({ pid, command }) => ({ pid, command })));
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3. Lock bytes [start, start + length) of the file at `path`
 * exclusively without ever waiting in the kernel: try, and if the range
 * is taken, sleep a random, growing time (exponential back-off) and try
 * again. Once you have it, write `stamp` (UTF-8) at `start`, release the
 * lock and return how many attempts it took. If `timeout` seconds pass
 * first, throw a TimeoutError (ETIMEDOUT) and write nothing.
 */
export function lockWithBackoff(path: string, start: number, length: number, timeout: number, stamp: string): number {
  using file = new OpenFile(path);
  const range = { start, length, ofd: true };
  const { attempts } = acquireWithBackoffSync(() => file.tryLock("exclusive", range), {
    timeout,
    what: `bytes ${start}..${start + length - 1} of ${path}`,
  });
  try {
    file.write(stamp, start);
  } finally {
    file.unlock(range);
  }
  return attempts;
}
// ANCHOR_END: task3

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/09-deadlock.ts` runs. You do
 * not need to change anything below.
 * ---------------------------------------------------------------------- */

async function demo(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-demo09-`));
  const children: Bun.Subprocess[] = [];
  const child = (...args: string[]) => {
    const c = Bun.spawn([process.execPath, import.meta.path, ...args], { stdin: "pipe", stderr: "inherit" });
    children.push(c);
    return c;
  };
  try {
    const accounts = path.join(dir, "accounts.bin");
    const records = Buffer.alloc(2 * ACCOUNT.size);
    records.writeBigInt64LE(100_000n, ACCOUNT.balanceCents);
    records.writeBigInt64LE(100_000n, ACCOUNT.size + ACCOUNT.balanceCents);
    fs.writeFileSync(accounts, records);
    const movers = [child("transfer", accounts, "0", "1", "200"), child("transfer", accounts, "1", "0", "200")];
    const codes = await Promise.all(movers.map((m) => m.exited));
    if (codes.some((code) => code !== 0)) {
      process.exitCode = 1; // the children have said what went wrong
      return;
    }
    const after = fs.readFileSync(accounts);
    console.log(`Task 1: 2 × 200 opposite transfers, no deadlock; balances ${after.readBigInt64LE(8)} and ${after.readBigInt64LE(24)}`);

    const printer = path.join(dir, "printer");
    const floppy = path.join(dir, "floppy");
    fs.writeFileSync(printer, "");
    fs.writeFileSync(floppy, "");
    const a = child("hold", printer, floppy);
    const b = child("hold", floppy, printer);
    while (locksOn(printer).length + locksOn(floppy).length < 2) await Bun.sleep(5);
    a.stdin!.end();
    b.stdin!.end();
    while (findDeadlocks({ paths: [printer, floppy] }).length === 0) await Bun.sleep(5);
    const cycles = deadlockedProcesses([printer, floppy]);
    console.log(`Task 2: found ${cycles.length} deadlock(s): ${cycles.map((c) => c.map((p) => `${p.pid} (${p.command})`).join(" → ")).join("; ")}`);

    const range = path.join(dir, "range.bin");
    fs.writeFileSync(range, Buffer.alloc(32));
    const holder = child("hold", range);
    while (locksOn(range).length === 0) await Bun.sleep(5);
    try {
      lockWithBackoff(range, 0, 8, 0.5, "late");
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      console.log(`Task 3: while another process held the range: ${error.code}`);
    }
    holder.kill();
    await holder.exited;
    const attempts = lockWithBackoff(range, 0, 8, 5, "stamped");
    console.log(`Task 3: once it was free: ${attempts} attempt(s), the file begins with "${fs.readFileSync(range, "utf8").slice(0, 7)}"`);
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The demonstration's helper processes. */
async function helper(args: string[]): Promise<void> {
  const [mode, first, second, ...rest] = args;
  if (mode === "transfer") await runDemo(() => transferSafely(first!, Number(second), Number(rest[0]), 1, Number(rest[1])));
  if (mode === "hold") {
    using mine = new OpenFile(first!);
    if (second === undefined) mine.lock("exclusive", { start: 0, length: 8, ofd: true });
    else mine.flock("exclusive");
    await Bun.stdin.text();
    if (second !== undefined) new OpenFile(second).flock("exclusive"); // the deadlock: waits forever
    await Bun.sleep(60_000);
  }
}

if (import.meta.main) {
  if (process.argv.length > 2) await helper(process.argv.slice(2));
  else await runDemo(demo);
}
