/**
 * Graded tests of chapter 09 (deadlock). The student's functions run in
 * their own processes; the test stages real deadlocks between real
 * processes (test/lib/lock-actor.ts) and judges by the kernel's table of
 * locks, read here: which locks the student's process holds while it
 * waits, whether it ever sleeps in the kernel, and the bytes of the files.
 *
 *   bun test test/09-deadlock.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/09-deadlock.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { locksOn, OpenFile } from "../lib/index.ts";
import { gradedChapter, must } from "./harness/task.ts";
import type { CallResult } from "./harness/student.ts";
import { Actor, type Action } from "./lib/lock-actor.ts";

const { task } = gradedChapter("09-deadlock");

const ACCOUNT = { size: 16, balance: 8 };

/** A call started but not awaited, with a flag that says when it ended. */
function started(promise: Promise<CallResult>): { result: Promise<CallResult>; finished: boolean } {
  const tracked = { result: promise, finished: false };
  void promise.then(() => (tracked.finished = true));
  return tracked;
}

/** Waits until `condition` holds or the call has finished, for at most `ms` (a bound, not a verdict). */
async function waitWhile(call: { finished: boolean }, condition: () => boolean, ms = 10_000): Promise<"condition" | "finished" | "still running"> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (condition()) return "condition";
    if (call.finished) return "finished";
    if (Date.now() > deadline) return "still running";
    await Bun.sleep(10);
  }
}

function accountsFile(dir: string, count: number): { file: string; balances: bigint[] } {
  const file = path.join(dir, "accounts.bin");
  const bytes = Buffer.alloc(count * ACCOUNT.size);
  const balances: bigint[] = [];
  for (let i = 0; i < count; i++) {
    balances.push(BigInt(randomInt(1_000_000, 9_000_000)));
    bytes.writeBigInt64LE(balances[i]!, i * ACCOUNT.size + ACCOUNT.balance);
  }
  fs.writeFileSync(file, bytes);
  return { file, balances };
}

function balancesIn(file: string): bigint[] {
  const bytes = fs.readFileSync(file);
  return Array.from({ length: bytes.length / ACCOUNT.size }, (_, i) => bytes.readBigInt64LE(i * ACCOUNT.size + ACCOUNT.balance));
}

/** The locks held on `file` that cover record `n`. */
function heldOn(file: string, n: number) {
  return locksOn(file).filter((l) => !l.blocked && l.start <= n * 16 + 15 && (l.end === null || l.end >= n * 16));
}

task(
  {
    number: 1,
    title: "make a deadlocking transfer safe by locking in one fixed order",
    points: 3,
    read: "Preventing deadlock: lock ordering",
    hint: "Lock the record with the lower number first, whichever way the money goes; lockRanges(file, \"exclusive\", [record(from), record(to)], { ofd: true }) sorts them for you and returns a function that releases both.",
    timeoutMs: 20_000,
  },
  async (t) => {
    const { file, balances } = accountsFile(t.scratch("accounts"), 8);

    // The test holds account 2. A transfer from 5 to 2 must wait for 2 while holding nothing.
    const test = new OpenFile(file);
    try {
      test.lock("exclusive", { start: 2 * 16, length: 16, ofd: true });
      const amount = randomInt(1, 1_000);
      const waiting = started(t.call("transferSafely", [file, 5, 2, amount]));
      const seen = await waitWhile(waiting, () => locksOn(file).some((l) => l.blocked));
      if (seen === "finished") t.done(await waiting.result, `transferSafely(path, 5, 2, ${amount})`);
      must(seen !== "finished", "transferSafely(5 → 2) finished while the test held account 2: it did not lock account 2");
      must(seen === "condition", "transferSafely(5 → 2) never waited in the kernel for account 2, which the test held (wait for each lock: no timeout)");
      const onFive = heldOn(file, 5);
      must(
        onFive.length === 0,
        "transferSafely(5 → 2) took account 5 and then waited for account 2 while holding it: " +
          "that is how two opposite transfers deadlock. Lock the lower record (2) first",
      );
      test.unlock({ start: 2 * 16, length: 16, ofd: true });
      t.done(await waiting.result, `transferSafely(path, 5, 2, ${amount})`);
      balances[5] = balances[5]! - BigInt(amount);
      balances[2] = balances[2]! + BigInt(amount);
      must(
        JSON.stringify(balancesIn(file).map(String)) === JSON.stringify(balances.map(String)),
        `after moving ${amount} cents from 5 to 2 the balances are ${balancesIn(file).join(", ")}; expected ${balances.join(", ")}`,
      );
    } finally {
      test.close();
    }

    // Opposite transfers at the same time, many times over: no deadlock, no money lost.
    const moves: [number, number, number][] = [
      [0, 1, randomInt(1, 100)],
      [1, 0, randomInt(1, 100)],
      [0, 1, randomInt(1, 100)],
      [1, 0, randomInt(1, 100)],
    ];
    const times = 150;
    const results = await t.callTogether("transferSafely", moves.map(([from, to, cents]) => [file, from, to, cents, times]), { timeoutMs: 15_000 });
    results.forEach((result, i) =>
      t.done(result, `transferSafely(${moves[i]![0]} → ${moves[i]![1]}, ${times} times), run together with three opposite ones (a deadlock?)`),
    );
    for (const [from, to, cents] of moves) {
      balances[from] = balances[from]! - BigInt(cents * times);
      balances[to] = balances[to]! + BigInt(cents * times);
    }
    must(
      balancesIn(file)[0] === balances[0] && balancesIn(file)[1] === balances[1],
      `after the opposite transfers accounts 0 and 1 hold ${balancesIn(file)[0]} and ${balancesIn(file)[1]}; expected ${balances[0]} and ${balances[1]}`,
    );
  },
);

/** Starts lock-actor processes and waits for each to report the given step. */
async function actors(scripts: Action[][], readyStep: number[]): Promise<Actor[]> {
  const started: Actor[] = [];
  for (const [i, script] of scripts.entries()) {
    const a = new Actor(script);
    started.push(a);
    must((await a.report(readyStep[i]!)) === `done ${readyStep[i]}`, `the test could not stage its deadlock (actor ${i} failed)`);
  }
  return started;
}

/** The cycle's pids rotated to start at the lowest, for comparison. */
function rotated(pids: number[]): number[] {
  const i = pids.indexOf(Math.min(...pids));
  return [...pids.slice(i), ...pids.slice(0, i)];
}

task(
  {
    number: 2,
    title: "a detector that finds the cycle in a deadlock the test stages, and names its processes",
    points: 4,
    read: "Detecting deadlock: the wait-for graph",
    hint: "For each blocked (\"->\") line of /proc/locks, the processes it waits for are the holders of locks on the same inode whose ranges overlap it and whose modes conflict (flock only with flock). Then look for cycles; findDeadlocks({ paths }) in the library does all of it.",
    timeoutMs: 20_000,
  },
  async (t) => {
    const dir = t.scratch("ring");
    const [f0, f1, f2, f3, f4] = ["ledger", "printer", "tape", "spare", "drawer"].map((name) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, Buffer.alloc(256));
      return file;
    });
    const paths = [f0!, f1!, f2!, f3!, f4!];
    const cast: Actor[] = [];
    try {
      // A ring of three that the kernel does not see: A → B (flock), B → C (POSIX), C → A (POSIX on bytes 5..5).
      const [a, b, c] = await actors(
        [
          [{ do: "open", path: f0! }, { do: "lock", mode: "exclusive", start: 0, length: 10 }, { do: "open", path: f1!, as: "next" }, { do: "wait" }, { do: "flock", file: "next", mode: "exclusive" }],
          [{ do: "open", path: f1! }, { do: "flock", mode: "exclusive" }, { do: "open", path: f2!, as: "next" }, { do: "wait" }, { do: "lock", file: "next", mode: "exclusive" }],
          [{ do: "open", path: f2! }, { do: "lock", mode: "exclusive" }, { do: "open", path: f0!, as: "next" }, { do: "wait" }, { do: "lock", file: "next", mode: "exclusive", start: 5, length: 1 }],
        ],
        [2, 2, 2],
      );
      cast.push(a!, b!, c!);
      // Decoys, in no cycle. D holds other bytes of the ledger (not the ones C wants) and waits
      // for B. Y holds a flock on the spare file; X holds the drawer and waits for Y's flock; Z
      // holds a POSIX lock on the spare file (no conflict with a flock) and waits for X's drawer.
      const [d, y, x, z] = await actors(
        [
          [{ do: "open", path: f0! }, { do: "lock", mode: "exclusive", start: 100, length: 10 }, { do: "open", path: f1!, as: "next" }, { do: "wait" }, { do: "flock", file: "next", mode: "shared" }],
          [{ do: "open", path: f3! }, { do: "flock", mode: "exclusive" }],
          [{ do: "open", path: f4! }, { do: "lock", mode: "exclusive" }, { do: "open", path: f3!, as: "next" }, { do: "wait" }, { do: "flock", file: "next", mode: "exclusive" }],
          [{ do: "open", path: f3! }, { do: "lock", mode: "exclusive" }, { do: "open", path: f4!, as: "next" }, { do: "wait" }, { do: "lock", file: "next", mode: "shared" }],
        ],
        [2, 1, 2, 2],
      );
      cast.push(d!, y!, x!, z!);
      for (const actor of [a, b, c, d, x, z]) actor!.send();
      const blocked = () => paths.flatMap((p) => locksOn(p)).filter((l) => l.blocked).length;
      const deadline = Date.now() + 10_000;
      while (blocked() < 6 && Date.now() < deadline) await Bun.sleep(10);
      must(blocked() === 6, "the test could not stage its deadlock (the processes did not block)");
      const ring = [a!, b!, c!].map((x) => x.pid);

      const result = await t.call("deadlockedProcesses", [paths]);
      t.done(result, "deadlockedProcesses(paths)");
      const cycles = result.value as { pid: number; command: string | null }[][];
      must(Array.isArray(cycles), `deadlockedProcesses() returned ${JSON.stringify(cycles)}, not a list of cycles`);
      const described = JSON.stringify(cycles?.map((cycle) => cycle.map((p) => p.pid)));
      must(
        cycles.length === 1,
        `there is exactly one deadlock (processes ${ring.join(", ")}), but deadlockedProcesses() found ${cycles.length}: ${described}` +
          (cycles.length > 1 ? " (does it check that byte ranges overlap, and that flock locks conflict only with flock locks?)" : ""),
      );
      const found = cycles[0]!.map((p) => p.pid);
      must(
        JSON.stringify(rotated(found)) === JSON.stringify(rotated(ring)),
        `the deadlock is ${ring.join(" → ")} → ${ring[0]} (each waits for the next); deadlockedProcesses() returned ${found.join(" → ")}`,
      );
      const comm = fs.readFileSync(`/proc/${a!.pid}/comm`, "utf8").trim();
      must(cycles[0]!.every((p) => p.command === comm), `each process should be named as in /proc/PID/comm ("${comm}"); got ${JSON.stringify(cycles[0])}`);

      // The administrator ends it: C dies, its locks go, B gets the tape. No deadlock is left.
      await c!.kill();
      must((await b!.report(4)) === "done 4", "the test could not end its deadlock");
      const after = await t.call("deadlockedProcesses", [paths]);
      t.done(after, "deadlockedProcesses(paths) after the deadlock was broken");
      must(
        Array.isArray(after.value) && after.value.length === 0,
        `once process ${c!.pid} was killed there is no deadlock left, but deadlockedProcesses() returned ${JSON.stringify(after.value)}`,
      );
    } finally {
      await Promise.all(cast.map((x) => x[Symbol.asyncDispose]()));
    }
  },
);

/** The pids other than ours that have `file` open (from /proc/PID/fd). */
function openedBy(file: string): number[] {
  const pids: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file)) pids.push(Number(pid));
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids;
}

task(
  {
    number: 3,
    title: "a timed acquisition that backs off instead of waiting in the kernel",
    points: 3,
    read: "Timeouts and back-off",
    hint: "Loop: tryLock(\"exclusive\", range) (F_SETLK, never F_SETLKW); if it fails, Bun.sleepSync a random delay that doubles each time, until the deadline; then throw. acquireWithBackoffSync(() => file.tryLock(...), { timeout }) does the loop.",
    timeoutMs: 20_000,
  },
  async (t) => {
    const file = path.join(t.scratch("backoff"), "ranges.bin");
    const original = randomBytes(64);
    fs.writeFileSync(file, original);
    const start = 16;
    const length = 16;
    const test = new OpenFile(file);
    try {
      test.lock("exclusive", { start, length, ofd: true });

      // Held all along: give up after the timeout, never sleeping in the kernel.
      let blockedSeen = false;
      const giveUp = started(t.call("lockWithBackoff", [file, start, length, 1, "never"], { timeoutMs: 10_000 }));
      while (!giveUp.finished) {
        if (locksOn(file).some((l) => l.blocked)) blockedSeen = true;
        await Bun.sleep(15);
      }
      const gaveUp = await giveUp.result;
      if (gaveUp.error?.todo) t.done(gaveUp, "lockWithBackoff()");
      must(!blockedSeen, "lockWithBackoff() waited in the kernel (a blocked request in /proc/locks): try without waiting (F_SETLK) and sleep between tries instead");
      must(!gaveUp.timedOut, "lockWithBackoff(…, timeout 1 s) was still waiting after 10 s: it must give up after its timeout");
      must(!gaveUp.ok, "lockWithBackoff() returned although the test held the range for the whole timeout");
      must(
        gaveUp.error?.code === "ETIMEDOUT" || gaveUp.error?.name === "TimeoutError",
        `when the timeout runs out lockWithBackoff() must throw a TimeoutError (ETIMEDOUT); it threw ${gaveUp.error?.name} ${gaveUp.error?.code ?? ""}: ${gaveUp.error?.message}`,
      );
      must(fs.readFileSync(file).equals(original), "lockWithBackoff() wrote to the file without holding the lock");

      // Released while it retries: it gets the range, stamps it, and did not spin.
      const stamp = randomBytes(6).toString("hex");
      const later = started(t.call("lockWithBackoff", [file, start, length, 15, stamp]));
      const deadline = Date.now() + 10_000;
      while (!later.finished && openedBy(file).length === 0 && Date.now() < deadline) await Bun.sleep(10);
      for (let i = 0; i < 20 && !later.finished; i++) {
        if (locksOn(file).some((l) => l.blocked)) blockedSeen = true;
        await Bun.sleep(15);
      }
      must(fs.readFileSync(file).equals(original), "lockWithBackoff() wrote to the file while the test still held the range");
      test.unlock({ start, length, ofd: true });
      const got = await later.result;
      t.done(got, "lockWithBackoff() after the test let go of the range");
      must(!blockedSeen, "lockWithBackoff() waited in the kernel (a blocked request in /proc/locks): try without waiting and sleep between tries");
      const after = fs.readFileSync(file);
      must(after.subarray(start, start + stamp.length).toString() === stamp, `the range should begin with the stamp "${stamp}" once the lock was got`);
      must(after.subarray(0, start).equals(original.subarray(0, start)), "lockWithBackoff() changed bytes before the range");
      const attempts = got.value;
      must(typeof attempts === "number" && attempts >= 1, `lockWithBackoff() should return the number of attempts; it returned ${JSON.stringify(attempts)}`);
      must((attempts as number) < 1000, `lockWithBackoff() tried ${attempts} times in well under a few seconds: it spins instead of backing off`);
      must(locksOn(file).length === 0, "a lock is still held on the file after lockWithBackoff() returned");
    } finally {
      test.close();
    }
  },
);
