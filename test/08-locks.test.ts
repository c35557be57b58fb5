/**
 * Graded tests of chapter 08 (files and file locks). The student's
 * functions run in their own processes; every verdict comes from what
 * this process sees: the bytes in the files, and the kernel's table of
 * locks (/proc/locks) while the test itself holds a lock the student's
 * code must wait for.
 *
 *   bun test test/08-locks.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/08-locks.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomInt } from "node:crypto";
import { locksOn, ofdHolders, OpenFile, type ProcLock } from "../lib/index.ts";
import { gradedChapter, must } from "./harness/task.ts";
import type { CallResult } from "./harness/student.ts";

const { task } = gradedChapter("08-locks");

/**
 * Waits until `condition` holds or `call` has finished, for at most `ms`.
 * Returns what happened. (A bound on waiting, never a verdict on speed.)
 */
async function waitWhile(call: { finished: boolean }, condition: () => boolean, ms = 5_000): Promise<"condition" | "finished" | "still running"> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (condition()) return "condition";
    if (call.finished) return "finished";
    if (Date.now() > deadline) return "still running";
    await Bun.sleep(10);
  }
}

/** A call started but not awaited, with a flag that says when it ended. */
function started(promise: Promise<CallResult>): { result: Promise<CallResult>; finished: boolean } {
  const tracked = { result: promise, finished: false };
  void promise.then(() => (tracked.finished = true));
  return tracked;
}

/** A blocked request in /proc/locks on `file` by another process, overlapping bytes [start, end]. */
function waiterOn(file: string, start = 0, end = Number.MAX_SAFE_INTEGER): ProcLock | undefined {
  return locksOn(file).find((l) => l.blocked && l.pid !== process.pid && l.start <= end && (l.end === null || l.end >= start));
}

task(
  {
    number: 1,
    title: "a counter file that many processes increment with no lost update",
    points: 3,
    read: "Whole-file locks with flock",
    hint: "Open the file once with OpenFile; in the loop call flock(\"exclusive\"), read the number with readText(), write it back with overwrite(), then unflock().",
    timeoutMs: 30_000,
  },
  async (t) => {
    const file = path.join(t.scratch("counter"), "counter.txt");
    const first = randomInt(100, 10_000);
    fs.writeFileSync(file, String(first));

    // While the test holds an exclusive flock, the student's process must wait for it.
    const held = new OpenFile(file);
    let call: ReturnType<typeof started>;
    try {
      held.flock("exclusive");
      call = started(t.call("incrementCounter", [file, 5]));
      const seen = await waitWhile(call, () => waiterOn(file)?.kind === "flock");
      if (seen === "finished") t.done(await call.result, "incrementCounter(path, 5)");
      must(seen !== "finished", "incrementCounter() finished while the test held an exclusive flock on the file: it never asked for the lock (flock on the counter file itself)");
      must(fs.readFileSync(file, "utf8") === String(first), "incrementCounter() changed the file while the test held an exclusive flock on it");
    } finally {
      held.close(); // releases the flock
    }
    t.done(await call.result, "incrementCounter(path, 5)");
    const afterFive = Number(fs.readFileSync(file, "utf8"));
    must(afterFive === first + 5, `the file held ${first}; after incrementCounter(path, 5) it holds ${afterFive}, not ${first + 5}`);

    // Several processes at once: nothing may be lost.
    const processes = 3;
    const times = 400;
    const results = await t.callTogether("incrementCounter", Array.from({ length: processes }, () => [file, times]));
    results.forEach((result, i) => t.done(result, `incrementCounter() in process ${i + 1}`));
    const total = Number(fs.readFileSync(file, "utf8"));
    const expected = afterFive + processes * times;
    must(total === expected, `${processes} processes each added ${times} to ${afterFive} but the file holds ${total}: ${expected - total} updates were lost`);
  },
);

const ACCOUNT = { size: 16, balance: 8 };

function accountsFile(dir: string, count: number): { file: string; balances: bigint[] } {
  const file = path.join(dir, "accounts.bin");
  const bytes = Buffer.alloc(count * ACCOUNT.size);
  const balances: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const balance = BigInt(randomInt(50_000, 500_000));
    balances.push(balance);
    bytes.writeUInt32LE(7000 + i, i * ACCOUNT.size);
    bytes.writeUInt32LE(randomInt(0, 256), i * ACCOUNT.size + 4);
    bytes.writeBigInt64LE(balance, i * ACCOUNT.size + ACCOUNT.balance);
  }
  fs.writeFileSync(file, bytes);
  return { file, balances };
}

function balancesIn(file: string): bigint[] {
  const bytes = fs.readFileSync(file);
  return Array.from({ length: bytes.length / ACCOUNT.size }, (_, i) => bytes.readBigInt64LE(i * ACCOUNT.size + ACCOUNT.balance));
}

function record(n: number): { start: number; length: number } {
  return { start: n * ACCOUNT.size, length: ACCOUNT.size };
}

task(
  {
    number: 2,
    title: "byte-range locks on an accounts file, so that transfers on other accounts run in parallel",
    points: 4,
    read: "Record locks with fcntl",
    hint: "Lock each of the two 16-byte records with lock(\"exclusive\", { start: n * 16, length: 16 }), lower record first; read the balances with read() on the same OpenFile (never fs.readFileSync: closing another descriptor of the file drops your POSIX locks), call auditPoint(audit), write them with write(), and unlock in a finally.",
    timeoutMs: 20_000,
  },
  async (t) => {
    const { file, balances } = accountsFile(t.scratch("accounts"), 8);
    const before = fs.readFileSync(file);

    // The test holds record 6: a transfer between accounts 1 and 2 must not care.
    const test = new OpenFile(file);
    try {
      test.lock("exclusive", { ...record(6), ofd: true });
      const amount = randomInt(1, 1_000);
      const free = await t.call("transfer", [file, 1, 2, amount], { timeoutMs: 10_000 });
      must(!free.timedOut, "transfer(1 → 2) waited while the test held only account 6: lock the two records involved, not the whole file");
      t.done(free, "transfer(path, 1, 2, amount)");
      balances[1] = balances[1]! - BigInt(amount);
      balances[2] = balances[2]! + BigInt(amount);
      must(
        JSON.stringify(balancesIn(file).map(String)) === JSON.stringify(balances.map(String)),
        `after moving ${amount} cents from account 1 to 2 the balances are ${balancesIn(file).join(", ")}; expected ${balances.join(", ")}`,
      );
      const others = fs.readFileSync(file);
      for (let i = 0; i < 8; i++) {
        if (i === 1 || i === 2) continue;
        must(others.subarray(i * 16, i * 16 + 16).equals(before.subarray(i * 16, i * 16 + 16)), `transfer(1 → 2) changed account ${i}`);
      }
      must(others.readUInt32LE(16 + 4) === before.readUInt32LE(16 + 4), "transfer() changed the flags of account 1; only the balance may change");

      // The test holds account 4: a transfer from 3 to 4 must wait for it.
      test.lock("exclusive", { ...record(4), ofd: true });
      const waiting = started(t.call("transfer", [file, 3, 4, 100]));
      const seen = await waitWhile(waiting, () => waiterOn(file, 4 * 16, 4 * 16 + 15) !== undefined);
      if (seen === "finished") t.done(await waiting.result, "transfer(path, 3, 4, 100)");
      must(seen !== "finished", "transfer(3 → 4) finished while the test held an exclusive lock on account 4's record: it did not lock account 4");
      must(balancesIn(file)[4] === balances[4], "transfer(3 → 4) changed account 4 while the test held its lock");
      test.unlock({ ...record(4), ofd: true });
      t.done(await waiting.result, "transfer(path, 3, 4, 100)");
      balances[3] = balances[3]! - 100n;
      balances[4] = balances[4]! + 100n;
      must(balancesIn(file)[3] === balances[3] && balancesIn(file)[4] === balances[4], `after moving 100 cents from 3 to 4 the balances are ${balancesIn(file)[3]} and ${balancesIn(file)[4]}; expected ${balances[3]} and ${balances[4]}`);
    } finally {
      test.close();
    }

    // Half-way through a transfer, the auditor looks: both records locked, and nothing else.
    const audit = path.join(path.dirname(file), "audit");
    const amount = randomInt(1, 1_000);
    const mid = started(t.call("transfer", [file, 2, 5, amount, audit]));
    const waitingPid = () => (fs.existsSync(`${audit}.waiting`) ? Number(fs.readFileSync(`${audit}.waiting`, "utf8")) : 0);
    const inside = await waitWhile(mid, () => waitingPid() > 0, 15_000);
    if (inside === "finished") t.done(await mid.result, `transfer(path, 2, 5, ${amount}, audit)`);
    must(inside === "condition", "transfer() never called auditPoint(audit) between reading and writing the balances");
    const pid = waitingPid();
    const held = locksOn(file).filter(
      (l) => !l.blocked && l.mode === "exclusive" && (l.pid === pid || (l.pid === -1 && ofdHolders(l).includes(pid))),
    );
    const covers = (n: number) => held.some((l) => l.start <= n * 16 + 15 && (l.end === null || l.end >= n * 16));
    fs.writeFileSync(audit, "");
    must(
      covers(2) && covers(5),
      `half-way through transfer(2 → 5), process ${pid} held no exclusive lock on account ${covers(2) ? 5 : 2}: ` +
        "were the locks dropped? Closing any descriptor of the file (fs.readFileSync does) releases a process's POSIX locks",
    );
    const others = [0, 1, 3, 4, 6, 7].filter(covers);
    must(others.length === 0, `half-way through transfer(2 → 5), process ${pid} also held account(s) ${others.join(", ")}: lock only the two records involved`);
    t.done(await mid.result, `transfer(path, 2, 5, ${amount}, audit)`);
    balances[2] = balances[2]! - BigInt(amount);
    balances[5] = balances[5]! + BigInt(amount);
    must(balancesIn(file)[2] === balances[2] && balancesIn(file)[5] === balances[5], `after moving ${amount} cents from 2 to 5 the balances are ${balancesIn(file)[2]} and ${balancesIn(file)[5]}; expected ${balances[2]} and ${balances[5]}`);

    // More than the balance: refused, nothing changed.
    const snapshot = fs.readFileSync(file);
    const tooMuch = await t.call("transfer", [file, 5, 0, Number(balances[5]! + 1n)]);
    must(!tooMuch.ok && tooMuch.error?.name === "RangeError", "transfer() of more than the balance must throw a RangeError");
    must(fs.readFileSync(file).equals(snapshot), "transfer() of more than the balance changed the file");

    // Transfers on overlapping accounts at the same moment: the money adds up.
    const moves: [number, number, number][] = [
      [0, 1, randomInt(1, 500)],
      [1, 2, randomInt(1, 500)],
      [2, 3, randomInt(1, 500)],
      [3, 0, randomInt(1, 500)],
      [0, 2, randomInt(1, 500)],
      [3, 1, randomInt(1, 500)],
    ];
    const results = await t.callTogether("transfer", moves.map(([from, to, cents]) => [file, from, to, cents]));
    results.forEach((result, i) => t.done(result, `transfer(${moves[i]![0]} → ${moves[i]![1]}) run together with five others`));
    for (const [from, to, cents] of moves) {
      balances[from] = balances[from]! - BigInt(cents);
      balances[to] = balances[to]! + BigInt(cents);
    }
    must(
      JSON.stringify(balancesIn(file).map(String)) === JSON.stringify(balances.map(String)),
      `after six simultaneous transfers the balances are ${balancesIn(file).join(", ")}; expected ${balances.join(", ")} (an update was lost)`,
    );
  },
);

/** "begin PID ENTRY" / "end PID ENTRY" lines of the journal. */
function journal(log: string): { what: string; pid: number; entry: string }[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [what, pid, ...entry] = line.split(" ");
      return { what: what!, pid: Number(pid), entry: entry.join(" ") };
    });
}

task(
  {
    number: 3,
    title: "a lock file with the owner's PID, refused while the owner lives, taken over when it is stale",
    points: 4,
    read: "Lock files",
    hint: "`using lock = LockFile.acquire(lockPath, { timeout: 0 })` creates the file with O_CREAT|O_EXCL and your PID, throws LockHeldError for a live owner and takes over a stale file; the end of the `using` block removes it.",
    timeoutMs: 20_000,
  },
  async (t) => {
    const dir = t.scratch("lockfile");
    const lock = path.join(dir, "journal.lock");
    const log = path.join(dir, "journal.log");
    const gate = path.join(dir, "gate");

    // While the work runs, the lock file exists and holds the worker's PID.
    const first = `entry-${randomInt(1e9)}`;
    const running = started(t.call("lockedAppend", [lock, log, first, gate]));
    const seen = await waitWhile(running, () => journal(log).length > 0, 15_000);
    if (seen === "finished") t.done(await running.result, "lockedAppend()");
    must(seen === "condition", "lockedAppend() never called appendEntry() (no \"begin\" line in the log)");
    const [begin] = journal(log);
    const inside = fs.existsSync(lock) ? fs.readFileSync(lock, "utf8").trim() : null;
    fs.writeFileSync(gate, "");
    t.done(await running.result, "lockedAppend()");
    must(inside !== null, "while appendEntry() ran there was no lock file");
    must(inside === String(begin!.pid), `while process ${begin!.pid} held the lock, the lock file said ${JSON.stringify(inside)} instead of its PID`);
    must(!fs.existsSync(lock), "the lock file is still there after lockedAppend() returned");

    // A symbolic link planted under the lock file's name is never followed.
    const elsewhere = path.join(dir, "planted-target");
    fs.symlinkSync(elsewhere, lock);
    await t.call("lockedAppend", [lock, log, "through a link"], { timeoutMs: 10_000 });
    must(!fs.existsSync(elsewhere), "lockedAppend() followed a symbolic link planted at the lock file's name and created the file it points to: create the lock file with O_CREAT|O_EXCL (and O_NOFOLLOW)");
    fs.rmSync(lock, { force: true });

    // A live owner: refused at once, nothing written, the lock file untouched.
    fs.writeFileSync(lock, `${process.pid}\n`);
    const refused = await t.call("lockedAppend", [lock, log, "must not appear"], { timeoutMs: 10_000 });
    must(!refused.timedOut, "lockedAppend() waited for a lock file whose owner is alive; it must throw at once");
    must(!refused.ok, "lockedAppend() succeeded although the lock file belongs to a live process (this test)");
    must(!journal(log).some((l) => l.entry === "must not appear"), "lockedAppend() called appendEntry() although a live process held the lock");
    must(fs.existsSync(lock) && fs.readFileSync(lock, "utf8") === `${process.pid}\n`, "lockedAppend() changed or removed a lock file that a live process holds");

    // A stale lock file: its owner has died. It is taken over, and removed afterwards.
    const dead = Bun.spawn([process.execPath, "-e", ""]);
    await dead.exited;
    fs.writeFileSync(lock, `${dead.pid}\n`);
    const stale = `stale-${randomInt(1e9)}`;
    t.done(await t.call("lockedAppend", [lock, log, stale]), "lockedAppend() on a stale lock file");
    must(journal(log).some((l) => l.what === "end" && l.entry === stale), "lockedAppend() on a stale lock file did not do its work");
    must(!fs.existsSync(lock), "the stale lock file is still there after lockedAppend() took it over and returned");

    // When the work throws, the lock file is removed all the same.
    const failing = await t.call("lockedAppend", [lock, log, ""]);
    must(!failing.ok, "appendEntry() throws for an empty entry, so lockedAppend() must throw too");
    must(!fs.existsSync(lock), "the lock file was left behind after appendEntry() threw");

    // Four processes find the same stale lock file at once: one at a time gets in.
    fs.writeFileSync(lock, `${dead.pid}\n`);
    fs.rmSync(log);
    const entries = [1, 2, 3, 4].map((i) => `race-${i}-${randomInt(1e6)}`);
    const racers = await t.callTogether("lockedAppend", entries.map((entry) => [lock, log, entry]), { timeoutMs: 15_000 });
    const lines = journal(log);
    for (let i = 0; i + 1 < lines.length; i += 2) {
      must(
        lines[i]!.what === "begin" && lines[i + 1]!.what === "end" && lines[i]!.pid === lines[i + 1]!.pid,
        `two processes were inside at once: the log reads ${JSON.stringify(lines.map((l) => `${l.what} ${l.pid}`))}`,
      );
    }
    const done = racers.filter((r) => r.ok).length;
    must(done >= 1, `of four processes racing for a stale lock file none succeeded: ${racers.map((r) => r.error?.message ?? "?").join("; ")}`);
    must(lines.length === 2 * done, `${done} calls succeeded but the log has ${lines.length / 2} complete entries`);
    must(!fs.existsSync(lock), "the lock file is still there after the race");
  },
);
