/**
 * Runs every listing of chapter 4 (examples/04-sync/) as a real process,
 * with its own IPC_PREFIX, and checks what it printed, its exit status,
 * and that it left nothing behind: no object or named semaphore in
 * /dev/shm, no process. Numbers that depend on the scheduler (spins, CPU
 * time, ticks) are checked for form and consistency, never for size.
 */
import { describe, expect } from "bun:test";
import { Mutex, Semaphore } from "../../lib/index.ts";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/04-sync", { leaks: ["shm", "processes-with-prefix"] });

describe("chapter 4 listings", () => {
  listing("lost-bonus-fixed.ts", ({ stdout }) => {
    expect(stdout).toContain("1000 employees, 50 rounds, every update under the mutex");
    expect(stdout).toContain(`payroll expected ${1000 * (30_000 + 50 * 600)}  got ${1000 * (30_000 + 50 * 600)}  lost 0 crowns`);
  });

  listing(
    "tsl.ts",
    ({ stdout }) => {
      expect(stdout).toContain("a = 400000, b = 400000, expected 400000 each");
      expect(stdout.match(/^process \d+: 200000 iterations, found the lock taken \d+ times$/gm)).toHaveLength(2);
    },
    { args: ["200000"] },
  );

  listing("futex-lock.ts", ({ stdout }) => {
    for (const kind of ["spinning", "sleeping"]) {
      expect(stdout).toMatch(new RegExp(`^${kind} waiter: waited \\d+ ms, burned \\d+\\.\\d ms of CPU$`, "m"));
    }
  });

  listing("named-semaphore.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^created \/\S+-printers-\d+ with value 2; in \/dev\/shm: sem\.\S+ true$/m);
    expect(stdout.match(/^job \d prints \([12] printing\)$/gm)).toHaveLength(5);
    expect(stdout).toMatch(/all 5 jobs done; at most [12] printed at once; value back to 2/);
    expect(stdout).toContain("after unlink, in /dev/shm: false");
  });

  listing("bounded-buffer.ts", ({ stdout }) => {
    const taken = [...stdout.matchAll(/^consumer (\d) took (\d+) numbers$/gm)].map((m) => Number(m[2]));
    expect(taken).toHaveLength(3);
    expect(taken.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(stdout).toContain("produced 3000 numbers summing to 4501500; consumed 3000 summing to 4501500");
    expect(stdout).toContain("semaphores at the end: items 0, spaces 8");
  });

  listing("robust-mutex.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^child \d+ killed inside its critical section: A = 750, B = 1000, total 1750$/m);
    expect(stdout).toContain("lock(): EOWNERDEAD; we hold the lock, the data may be half updated");
    expect(stdout).toContain("repaired: A = 1000, B = 1000, total 2000");
    expect(stdout).toContain("after markUnrecoverable(), lock(): ENOTRECOVERABLE");
  });

  listing("condition.ts", ({ stdout }) => {
    const done = [...stdout.matchAll(/^worker (\d) did (\d+) jobs$/gm)].map((m) => Number(m[2]));
    expect(done).toHaveLength(3);
    expect(done.reduce((a, b) => a + b, 0)).toBe(12);
    expect(stdout).toContain("12 jobs posted, 12 done, 0 left");
  });

  listing("rwlock.ts", ({ stdout }) => {
    expect(stdout).toMatch(/prefer reader\s+new readers got in while the writer waited: it can starve/);
    expect(stdout).toMatch(/prefer writer\s+new readers got in while the writer waited: it can starve/);
    expect(stdout).toMatch(/prefer writer-nonrecursive a new reader was refused: it queues behind the waiting writer/);
    expect(stdout).toContain("price after three writers: 30");
  });

  listing("barrier.ts", ({ stdout }) => {
    expect(stdout.match(/^phase 1 done: all 3 parts are filled$/gm)).toHaveLength(1);
    expect(stdout).toContain("phase 2: totals 8995500500, 8995500500, 8995500500; expected 8995500500 in each");
  });

  listing("timed-barrier.ts", ({ stdout }) => {
    // Round 1: both parties give up, and take their arrivals back; round 2 opens for all three.
    expect(stdout.match(/^ {2}party [01] gave up after 0\.3 s$/gm)).toHaveLength(2);
    expect(stdout).toContain("arrivals still counted: 0");
    expect(stdout.match(/^ {2}party [012] opened it$/gm)).toHaveLength(1);
    expect(stdout.match(/^ {2}party [012] went through$/gm)).toHaveLength(2);
  });

  listing(
    "spinlock.ts",
    ({ stdout }) => {
      expect(stdout).toContain("two processes, 50000 increments each: a = 100000, b = 100000");
      expect(stdout).toContain("the holder was killed; lock(0.2): ETIMEDOUT: the lock stays taken forever");
    },
    { args: ["50000"] },
  );

  listing("async-wait.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^wait\(\): {6}0 ticks while waiting$/m); // a blocked event loop runs no timer
    const ticks = stdout.match(/^waitAsync\(\): (\d+) ticks while waiting$/m);
    expect(ticks).not.toBeNull();
    expect(Number(ticks![1])).toBeGreaterThanOrEqual(3); // the child posts only after three ticks
    expect(stdout).toContain("waitAsync(0.1): ETIMEDOUT from sem_timedwait");
  });

  listing("layout.ts", ({ stdout }) => {
    const m = Mutex.size;
    const s = Semaphore.size;
    const flags = m + 2 * s + 8;
    const slots = Math.ceil((flags + 1) / 8) * 8;
    expect(stdout).toContain(`offset   size  field (${slots + 128} bytes, aligned to 8)`);
    expect(stdout).toMatch(new RegExp(`^\\s+0\\s+${m}  lock: Mutex$`, "m"));
    expect(stdout).toMatch(new RegExp(`^\\s+${m}\\s+${s}  items: Semaphore$`, "m"));
    expect(stdout).toMatch(new RegExp(`^\\s+${flags}\\s+1  flags: u8$`, "m"));
    expect(stdout).toMatch(new RegExp(`^\\s+${slots}\\s+128  slots: f64\\[16\\]$`, "m"));
    expect(stdout).toContain("items 1, spaces 16, slot 0 holds 3.5");
  });

  everyListingRun();
});
