/**
 * Chapter 08 exercise: files and file locks.
 *
 * Three tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/08-locks.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 08                  grades the tasks the way your instructor will
 *
 * The grader calls your functions in separate processes and looks at the
 * files and at the kernel's table of locks (/proc/locks) itself: a lock
 * you only pretend to take, or a number that is right by luck, does not
 * pass.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LockFile, OpenFile } from "../lib/index.ts";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "08-locks";

// ANCHOR: task1
/**
 * Task 1. The file at `path` holds a number as decimal text ("0", "417").
 * Add 1 to it, `times` times. Several processes run this at the same
 * moment on the same file, so no increment may be lost: do each
 * read-add-write while holding an exclusive flock on the file itself,
 * waiting for the lock when someone else has it, and let go after each
 * increment so that the others get their turn.
 */
export function incrementCounter(path: string, times: number): void {
  todo(CHAPTER, 1, "incrementCounter(): read, add 1 and write back under an exclusive flock", "Whole-file locks with flock");
}
// ANCHOR_END: task1

// ANCHOR: task2
/** An account in the accounts file: 16 bytes each, one after another. */
export const ACCOUNT = {
  id: { offset: 0, type: "u32" },
  flags: { offset: 4, type: "u32" },
  balanceCents: { offset: 8, type: "i64" },
  size: 16,
} as const;

/**
 * The bank's auditor (given; do not change it). transfer() must call it
 * after reading the two balances and before writing them. Given an
 * `audit` path, it says that it is waiting (in the file AUDIT.waiting) and
 * waits until the file `audit` exists, so that the auditor can look at a
 * transfer half done.
 */
export function auditPoint(audit?: string): void {
  if (audit === undefined) return;
  fs.writeFileSync(`${audit}.waiting`, String(process.pid));
  const deadline = Date.now() + 15_000;
  while (!fs.existsSync(audit)) {
    if (Date.now() > deadline) throw new Error(`auditPoint: ${audit} never appeared`);
    Bun.sleepSync(5);
  }
}

/**
 * Task 2. Move `cents` from account `from` to account `to` (record
 * numbers; the first is 0) in the accounts file at `path`. Lock exactly
 * the two records involved, with exclusive fcntl record locks that wait
 * for other holders, taking the lower record number first, so that
 * transfers between other accounts can run at the same time. Read both
 * balances, call auditPoint(audit), then write both; keep both locks
 * until the end. If `from` holds less than `cents`, or either account
 * does not exist, throw a RangeError and change nothing.
 */
export function transfer(path: string, from: number, to: number, cents: number, audit?: string): void {
  todo(CHAPTER, 2, "transfer(): lock the two records with fcntl, move the money, unlock", "Record locks with fcntl");
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * The work to do while holding the lock of task 3 (given; do not change
 * it). It writes a "begin" line, waits until the file `gate` exists (if a
 * gate is given), and writes an "end" line. An empty entry is an error.
 */
export function appendEntry(logPath: string, entry: string, gate?: string): void {
  if (entry === "") throw new Error("appendEntry: the entry is empty");
  fs.appendFileSync(logPath, `begin ${process.pid} ${entry}\n`);
  const deadline = Date.now() + 15_000;
  while (gate !== undefined && !fs.existsSync(gate)) {
    if (Date.now() > deadline) throw new Error(`appendEntry: the gate ${gate} never opened`);
    Bun.sleepSync(5);
  }
  fs.appendFileSync(logPath, `end ${process.pid} ${entry}\n`);
}

/**
 * Task 3. Call appendEntry(logPath, entry, gate) while holding the lock
 * file `lockPath`. Create the lock file atomically, with your process's
 * PID in it, and never through a symbolic link someone planted under its
 * name. If it exists already and its owner is alive, throw at once
 * (without calling appendEntry). If its owner has died and left it behind
 * (a stale lock), take it over safely. Remove the lock file when you are
 * done, also when appendEntry throws.
 */
export function lockedAppend(lockPath: string, logPath: string, entry: string, gate?: string): void {
  todo(CHAPTER, 3, "lockedAppend(): hold the lock file (taking over a stale one) around appendEntry()", "Lock files");
}
// ANCHOR_END: task3

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/08-locks.ts` runs. You do not
 * need to change anything below.
 * ---------------------------------------------------------------------- */

const PROCESSES = 3;
const INCREMENTS = 300;

async function demo(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-demo08-`));
  try {
    const counter = path.join(dir, "counter.txt");
    fs.writeFileSync(counter, "0");
    const workers = Array.from({ length: PROCESSES }, () =>
      Bun.spawn([process.execPath, import.meta.path, "increment", counter, String(INCREMENTS)], { stderr: "inherit" }),
    );
    const codes = await Promise.all(workers.map((w) => w.exited));
    if (codes.some((code) => code !== 0)) {
      process.exitCode = 1; // the workers have said what went wrong
      return;
    }
    const total = fs.readFileSync(counter, "utf8");
    console.log(`Task 1: ${PROCESSES} processes × ${INCREMENTS} increments = ${total} (expected ${PROCESSES * INCREMENTS})`);

    const accounts = path.join(dir, "accounts.bin");
    const records = Buffer.alloc(4 * ACCOUNT.size);
    for (let i = 0; i < 4; i++) {
      records.writeUInt32LE(100 + i, i * ACCOUNT.size + ACCOUNT.id.offset);
      records.writeBigInt64LE(10_000n, i * ACCOUNT.size + ACCOUNT.balanceCents.offset);
    }
    fs.writeFileSync(accounts, records);
    transfer(accounts, 0, 1, 2_500);
    transfer(accounts, 3, 2, 100);
    try {
      transfer(accounts, 2, 0, 1_000_000);
    } catch (error) {
      console.log(`Task 2: a transfer of more than the balance was refused: ${(error as Error).name}`);
    }
    const after = fs.readFileSync(accounts);
    const balances = [0, 1, 2, 3].map((i) => after.readBigInt64LE(i * ACCOUNT.size + ACCOUNT.balanceCents.offset));
    console.log(`Task 2: balances after two transfers: ${balances.join(", ")} (cents)`);

    const lock = path.join(dir, "journal.lock");
    const log = path.join(dir, "journal.log");
    lockedAppend(lock, log, "first entry");
    const dead = Bun.spawn([process.execPath, "-e", ""]);
    await dead.exited;
    fs.writeFileSync(lock, `${dead.pid}\n`); // a lock file left behind by a process that has died
    lockedAppend(lock, log, "second entry, after a stale lock");
    console.log(`Task 3: the journal reads:\n${fs.readFileSync(log, "utf8").trimEnd().replace(/^/gm, "    ")}`);
    console.log(`Task 3: the lock file is gone afterwards: ${!fs.existsSync(lock)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const [mode, file, times] = process.argv.slice(2);
  if (mode === "increment" && file && times) await runDemo(() => incrementCounter(file, Number(times)));
  else await runDemo(demo);
}
