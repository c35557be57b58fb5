/**
 * Graded tests of chapter 04 (synchronisation). The student's functions
 * run in their own processes, several at once; every verdict comes from
 * this process: the numbers in shared memory, and the locks and
 * semaphores themselves, which this process holds, probes and counts.
 * Some tests stop a student's process in the middle of an update (see
 * halfway() in the exercise) to check that its lock is really held there,
 * or kill a process holding a lock to check that the student recovers.
 *
 *   bun test test/04-sync.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/04-sync.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomInt } from "node:crypto";
import { Barrier, layout, Mutex, OwnerDeadError, RwLock, Semaphore, SharedMemory, type Mapping } from "../lib/index.ts";
import { gradedChapter, must } from "./harness/task.ts";
import type { CallResult } from "./harness/student.ts";

const { task } = gradedChapter("04-sync");

// The layouts of the exercise, declared again: the grader never imports the student's file.
const EMPLOYEES = 100;
const Payroll = layout({ lock: Mutex, salaries: ["i32", EMPLOYEES] });
const SLOTS = 4;
const LOG_SIZE = 4096;
const Ring = layout({
  lock: Mutex,
  items: Semaphore.field({ value: 0 }),
  spaces: Semaphore.field({ value: SLOTS }),
  head: "u32",
  tail: "u32",
  slots: ["i32", SLOTS],
  logged: "u32",
  log: ["i32", LOG_SIZE],
});
const Bank = layout({ lock: Mutex, total: "i32", a: "i32", b: "i32", journal: "i32" });
const ITEMS = 16;
const Catalogue = layout({ lock: RwLock, version: "i32", prices: ["i32", ITEMS] });
const WORKERS = 3;
const MAX_PHASES = 8;
const Phases = layout({
  barrier: Barrier.field({ count: WORKERS }),
  values: ["i32", WORKERS],
  sums: ["i32", MAX_PHASES * WORKERS],
  completed: "i32",
});

/** Shared memory of `size` bytes, created and mapped here; the harness removes it after the task. */
function region(name: string, size: number): Mapping {
  const shm = new SharedMemory(name, { exclusive: true, size });
  const map = shm.map();
  shm.close();
  return map;
}

/** A call started but not awaited, with a flag that says when it ended. */
function started(promise: Promise<CallResult>): { result: Promise<CallResult>; finished: boolean } {
  const tracked = { result: promise, finished: false };
  void promise.then(() => (tracked.finished = true));
  return tracked;
}

/** Waits until `condition` holds or the call has ended, for at most `ms`. A bound on waiting, never a verdict on speed. */
async function waitWhile(call: { finished: boolean }, condition: () => boolean, ms = 15_000): Promise<"condition" | "finished" | "still running"> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (condition()) return "condition";
    if (call.finished) return "finished";
    if (Date.now() > deadline) return "still running";
    await Bun.sleep(5);
  }
}

task(
  {
    number: 1,
    title: "the secretary and the boss: every salary update under the payroll's mutex",
    points: 3,
    read: "Mutexes",
    hint: "Attach with Payroll.attach(map). Around each read, halfway(pause), write: payroll.lock.lock() … finally payroll.lock.unlock(). Lock for each update, not for the whole loop, so the other process gets its turns.",
    timeoutMs: 30_000,
  },
  async (t) => {
    const name = t.name("payroll");
    const map = region(name, Payroll.size);
    const payroll = Payroll.init(map);
    const start = Array.from({ length: EMPLOYEES }, () => randomInt(20_000, 40_000));
    payroll.salaries.set(start);

    // Stop the student's process in its first update and look at the mutex.
    const pause = path.join(t.scratch("pause"), "go");
    const one = started(t.call("payRaise", [name, 7, 1, pause]));
    const state = await waitWhile(one, () => fs.existsSync(`${pause}.waiting`));
    if (state === "finished") t.done(await one.result, "payRaise()");
    must(state === "condition", "payRaise() never called halfway(pause) between reading and writing a salary");
    const free = payroll.lock.tryLock();
    if (free) payroll.lock.unlock();
    fs.writeFileSync(pause, "");
    t.done(await one.result, "payRaise()");
    must(!free, "in the middle of an update (at halfway()) the payroll's mutex was free: lock it before reading the salary and unlock it after writing");
    const afterOne = [...payroll.salaries];
    must(
      afterOne.every((salary, i) => salary === start[i]! + 7),
      "payRaise(name, 7, 1) should add 7 to every salary exactly once",
    );

    // The secretary and the boss at the same time.
    const rounds = 20;
    const results = await t.callTogether("payRaise", [
      [name, 100, rounds],
      [name, 500, rounds],
    ]);
    results.forEach((result, i) => t.done(result, `payRaise() of the ${i === 0 ? "secretary" : "boss"}`));
    const wrong = afterOne.map((salary, i) => payroll.salaries[i]! - (salary + rounds * 600)).filter((d) => d !== 0);
    must(
      wrong.length === 0,
      `${wrong.length} of ${EMPLOYEES} salaries are wrong after the secretary's raises and the boss's bonuses ran together (off by ${wrong.slice(0, 3).join(", ")}…): updates were lost`,
    );
    must(payroll.lock.tryLock(), "the payroll's mutex is still locked after payRaise() returned");
    payroll.lock.unlock();
  },
);

task(
  {
    number: 2,
    title: "a bounded buffer: one producer, three consumers, no number lost or taken twice",
    points: 4,
    read: "Semaphores",
    hint: "produce: spaces.wait(); lock; slots[head] = v; head = (head + 1) % SLOTS; unlock; items.post(). consume: items.wait(); lock; v = slots[tail]; tail = (tail + 1) % SLOTS; unlock; spaces.post(); record(ring, v).",
    timeoutMs: 30_000,
  },
  async (t) => {
    const name = t.name("ring");
    const ring = Ring.init(region(name, Ring.size));
    const count = 600;
    const values = new Set<number>();
    while (values.size < count) values.add(randomInt(1, 2 ** 31 - 1));
    const produced = [...values];

    // The consumers start first, on an empty ring: they must wait, not fail.
    const consumers = t.callTogether("consume", [
      [name, 200],
      [name, 200],
      [name, 200],
    ]);
    await Bun.sleep(300);
    const producer = await t.call("produce", [name, produced]);
    const results = await consumers;
    t.done(producer, "produce()");
    results.forEach((result, i) => t.done(result, `consume() in consumer ${i + 1}`));

    const logged = ring.logged[0]!;
    must(logged === count, `the consumers recorded ${logged} numbers; ${count} were produced (did each consumer record() each number it took?)`);
    const taken = [...ring.log.subarray(0, logged)];
    const seen = new Set<number>();
    const doubled = taken.filter((v) => (seen.has(v) ? true : (seen.add(v), false)));
    const lost = produced.filter((v) => !seen.has(v));
    must(doubled.length === 0, `${doubled.length} numbers were taken twice, e.g. ${doubled[0]}: a consumer read a slot that was already emptied`);
    must(lost.length === 0, `${lost.length} produced numbers were never taken, e.g. ${lost[0]}: the producer overwrote a slot that was still full`);
    must(ring.items.value === 0 && ring.spaces.value === SLOTS, `at the end the semaphores read items ${ring.items.value} and spaces ${ring.spaces.value}; they should be 0 and ${SLOTS}`);
    must(ring.head[0] === count % SLOTS && ring.tail[0] === count % SLOTS, `head and tail should both be ${count % SLOTS} after ${count} numbers went through; they are ${ring.head[0]} and ${ring.tail[0]}`);
    must(ring.lock.tryLock(), "the ring's mutex is still locked after the consumers returned");
    ring.lock.unlock();
  },
);

/** Starts a process that locks the bank's mutex, does half a transfer and waits to be killed. */
function crasher(name: string, amount: number, stage: "taken" | "moved"): Bun.Subprocess<"ignore", "pipe", "inherit"> {
  const lib = path.resolve(import.meta.dir, "../lib/index.ts");
  const code = `
    import { layout, Mutex, SharedMemory } from ${JSON.stringify(lib)};
    const Bank = layout({ lock: Mutex, total: "i32", a: "i32", b: "i32", journal: "i32" });
    const shm = new SharedMemory(${JSON.stringify(name)});
    const bank = Bank.attach(shm.map());
    bank.lock.lock(10);
    bank.journal[0] = ${amount};
    bank.a[0] -= ${amount};
    ${stage === "moved" ? `bank.b[0] += ${amount};` : ""}
    console.log("ready");
    await Bun.sleep(60_000);
  `;
  return Bun.spawn([process.execPath, "-e", code], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
}

async function killHalfway(name: string, amount: number, stage: "taken" | "moved"): Promise<void> {
  const proc = crasher(name, amount, stage);
  try {
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    if (!new TextDecoder().decode(value).includes("ready")) throw new Error("the crashing process did not get ready");
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

task(
  {
    number: 3,
    title: "recover a robust mutex whose holder was killed in the middle of a transfer",
    points: 4,
    read: "Robust mutexes",
    hint: "try { bank.lock.lock() } catch (e) { if (!(e instanceof OwnerDeadError)) throw e; repair a from the journal when a + b is short of total; journal = 0; bank.lock.consistent(); } then transfer, and unlock in a finally.",
  },
  async (t) => {
    const name = t.name("bank");
    const bank = Bank.init(region(name, Bank.size));
    const [a0, b0] = [randomInt(5_000, 10_000), randomInt(5_000, 10_000)];
    [bank.total[0], bank.a[0], bank.b[0]] = [a0 + b0, a0, b0];

    // A normal transfer first.
    const first = randomInt(1, 500);
    const normal = await t.call("transfer", [name, first]);
    t.done(normal, "transfer()");
    must(bank.a[0] === a0 - first && bank.b[0] === b0 + first && bank.journal[0] === 0, `after transfer(${first}) a and b should be ${a0 - first} and ${b0 + first} with the journal 0; they are ${bank.a[0]} and ${bank.b[0]}, journal ${bank.journal[0]}`);
    must(normal.value === false, "transfer() returned true although nobody had died holding the lock");

    // A process dies after taking its amount from a, before adding it to b.
    const [a1, b1] = [bank.a[0]!, bank.b[0]!];
    const dead = randomInt(1, 500);
    const mine = randomInt(1, 500);
    await killHalfway(name, dead, "taken");
    const recovered = await t.call("transfer", [name, mine]);
    t.done(recovered, "transfer() after a process died holding the lock");
    must(recovered.value === true, "transfer() should return true when it had to repair the accounts");
    must(
      bank.a[0] === a1 - mine && bank.b[0] === b1 + mine,
      `a process died after taking ${dead} from a; transfer(${mine}) should have given those back and moved its own: a = ${a1 - mine}, b = ${b1 + mine}; they are ${bank.a[0]} and ${bank.b[0]}`,
    );
    must(bank.journal[0] === 0, "the journal should be 0 after the repair and the transfer");

    // A process dies after moving its amount, before clearing the journal: nothing to undo.
    const [a2, b2] = [bank.a[0]!, bank.b[0]!];
    const moved = randomInt(1, 500);
    const again = randomInt(1, 500);
    await killHalfway(name, moved, "moved");
    t.done(await t.call("transfer", [name, again]), "transfer() after a process died holding the lock");
    must(
      bank.a[0] === a2 - moved - again && bank.b[0] === b2 + moved + again,
      `a process died after moving ${moved} completely (only its journal was left); that transfer must stay. Expected a = ${a2 - moved - again}, b = ${b2 + moved + again}; found ${bank.a[0]} and ${bank.b[0]}`,
    );

    // The mutex must be usable, not left inconsistent or unrecoverable.
    try {
      bank.lock.lock(5);
    } catch (error) {
      must(!(error instanceof OwnerDeadError), "the mutex still reports a dead owner: call consistent() after repairing");
      must(false, `the mutex cannot be locked after the recovery (${(error as Error).message}); did you unlock it before calling consistent()?`);
    }
    bank.lock.unlock();
  },
);

task(
  {
    number: 4,
    title: "readers and writers: a waiting writer is not starved by new readers",
    points: 4,
    read: "Read-write locks",
    hint: 'RwLock.init(map, Catalogue.offsets.lock, { prefer: "writer-nonrecursive" }): glibc\'s "writer" preference behaves like "reader". setPrice: writeLock … finally unlock; readPrices: readLock … finally unlock.',
    timeoutMs: 30_000,
  },
  async (t) => {
    const name = t.name("catalogue");
    const map = region(name, Catalogue.size);
    t.done(await t.call("initCatalogue", [name]), "initCatalogue()");
    const catalogue = Catalogue.attach(map);

    const prices = Array.from({ length: ITEMS }, () => randomInt(100, 100_000));
    catalogue.lock.writeLock(5);
    catalogue.prices.set(prices);
    catalogue.lock.unlock();
    const read = await t.call("readPrices", [name]);
    t.done(read, "readPrices()");
    must(JSON.stringify(read.value) === JSON.stringify(prices), `readPrices() returned ${JSON.stringify(read.value)}; the catalogue holds ${JSON.stringify(prices)}`);

    // A reader is inside (this process); the student's writer comes and waits.
    catalogue.lock.readLock(5);
    const item = randomInt(0, ITEMS);
    const price = randomInt(100, 100_000);
    const writer = started(t.call("setPrice", [name, item, price]));
    let refused = false;
    try {
      const state = await waitWhile(writer, () => {
        if (!catalogue.lock.tryReadLock()) return (refused = true);
        catalogue.lock.unlock(); // a new reader got in (the writer may not be waiting yet)
        return false;
      });
      if (state === "finished" && (await writer.result).ok) {
        must(false, "setPrice() finished while a reader held the lock: it did not take the write lock");
      }
    } finally {
      catalogue.lock.unlock();
    }
    must(
      refused,
      "while setPrice() waited for the write lock, new readers still got in: with a steady stream of readers the writer would starve. Initialise the lock with real writer preference",
    );
    const result = await writer.result;
    t.done(result, "setPrice()");
    must(catalogue.prices[item] === price, `setPrice(name, ${item}, ${price}) left prices[${item}] at ${catalogue.prices[item]}`);
    must(catalogue.version[0] === 1, `version should be 1 after one setPrice(); it is ${catalogue.version[0]}`);
    must(catalogue.lock.tryWriteLock(), "the lock is still held after setPrice() and readPrices() returned");
    catalogue.lock.unlock();
  },
);

task(
  {
    number: 5,
    title: "phases separated by a barrier: nobody reads a phase before everyone wrote it",
    points: 3,
    read: "Barriers",
    hint: "Per phase: values[worker] = contribution(…); barrier.wait(); sums[p * WORKERS + worker] = sum of values; if (barrier.wait()) completed[0] += 1.",
    timeoutMs: 30_000,
  },
  async (t) => {
    const name = t.name("phases");
    const shared = Phases.init(region(name, Phases.size));
    const phases = 6;
    const seed = randomInt(1, 100_000);
    const results = await t.callTogether(
      "runPhases",
      Array.from({ length: WORKERS }, (_, worker) => [name, worker, phases, seed]),
    );
    results.forEach((result, i) => t.done(result, `runPhases() of worker ${i}`));
    for (let phase = 0; phase < phases; phase++) {
      let expected = 0;
      for (let worker = 0; worker < WORKERS; worker++) expected += (seed * 31 + phase * 1009 + worker * 7919) % 100_000;
      for (let worker = 0; worker < WORKERS; worker++) {
        const got = shared.sums[phase * WORKERS + worker];
        must(got === expected, `in phase ${phase} worker ${worker} added up ${got}, but the values of that phase sum to ${expected}: it read before every worker had written (or after one had moved on)`);
      }
    }
    must(shared.completed[0] === phases, `completed is ${shared.completed[0]} after ${phases} phases: exactly one worker per phase (the one whose second wait() returned true) should count it`);
  },
);

task(
  {
    number: 6,
    title: "a test-and-set spin lock on Atomics protects a two-word update",
    points: 3,
    read: "Test-and-set",
    hint: "while (Atomics.exchange(words, 0, 1) === 1); … words[1]++; halfway(pause); words[2]++ … Atomics.store(words, 0, 0).",
    timeoutMs: 30_000,
  },
  async (t) => {
    const name = t.name("tsl");
    const words = region(name, 4096).view(Int32Array, 0, 3);

    // In the middle of an update the lock word must say "taken".
    const pause = path.join(t.scratch("pause"), "go");
    const one = started(t.call("countWithTsl", [name, 1, pause]));
    const state = await waitWhile(one, () => fs.existsSync(`${pause}.waiting`));
    if (state === "finished") t.done(await one.result, "countWithTsl()");
    must(state === "condition", "countWithTsl() never called halfway(pause) between its two increments");
    const lockWord = Atomics.load(words, 0);
    fs.writeFileSync(pause, "");
    t.done(await one.result, "countWithTsl()");
    must(lockWord === 1, `in the middle of an update the lock word was ${lockWord}; take the lock (set it to 1 with Atomics.exchange) before touching the counters`);
    must(words[1] === 1 && words[2] === 1 && Atomics.load(words, 0) === 0, "countWithTsl(name, 1) should leave both counters at 1 and the lock word at 0");

    // A lock held by someone else must be waited for.
    Atomics.store(words, 0, 1);
    const waiting = started(t.call("countWithTsl", [name, 5]));
    await waitWhile(waiting, () => false, 1_000);
    const meanwhile = [words[1], words[2]];
    Atomics.store(words, 0, 0);
    t.done(await waiting.result, "countWithTsl()");
    must(meanwhile[0] === 1 && meanwhile[1] === 1, "countWithTsl() changed the counters while the lock word said the lock was taken");

    // Several processes at once lose nothing.
    const times = 20_000;
    const results = await t.callTogether("countWithTsl", [
      [name, times],
      [name, times],
      [name, times],
    ]);
    results.forEach((result, i) => t.done(result, `countWithTsl() in process ${i + 1}`));
    const expected = 6 + 3 * times;
    must(words[1] === expected && words[2] === expected, `after 3 processes × ${times} updates the counters are ${words[1]} and ${words[2]}; both should be ${expected}`);
    must(Atomics.load(words, 0) === 0, "the lock word is still 1 after every process returned: release the lock after each update");
  },
);
