/**
 * Chapter 04 exercise: synchronisation. REFERENCE SOLUTION.
 *
 * Six tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/04-sync.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 04                 grades the tasks the way your instructor will
 *
 * The grader runs your functions in separate processes, several at once,
 * kills some of them on purpose, and then looks at the shared memory and
 * the locks in it from its own process: a lock you only pretend to take,
 * or a result that is right by luck, does not pass.
 *
 * Every object a task gets already exists and is set up, except where the
 * task says otherwise: attach to it with the layout given above the task.
 */
import fs from "node:fs";
import { Barrier, layout, Mutex, OwnerDeadError, RwLock, Semaphore, SharedMemory } from "../lib/index.ts";
import { runDemo } from "./support.ts";

const CHAPTER = "04-sync";

/**
 * The middle of an update (given; do not change it). Tasks 1 and 6 call
 * it between reading shared data and writing it back. With a `pause`
 * path, its first call in the process says that it is there (it creates
 * PAUSE.waiting) and waits until the file `pause` exists, so that the
 * grader can look at an update half done. Without one it just takes a
 * moment, like a secretary's coffee break.
 */
export function halfway(pause?: string): void {
  if (pause !== undefined && !paused) {
    paused = true;
    fs.writeFileSync(`${pause}.waiting`, String(process.pid));
    const deadline = Date.now() + 15_000;
    while (!fs.existsSync(pause)) {
      if (Date.now() > deadline) throw new Error(`halfway: ${pause} never appeared`);
      Bun.sleepSync(5);
    }
    return;
  }
  let x = 0;
  for (let i = 0; i < 100; i++) x += i;
  if (x < 0) console.log(x);
}
let paused = false;

// ANCHOR: task1
export const EMPLOYEES = 100;

/** The payroll: a mutex, then one salary per employee. */
export const Payroll = layout({
  lock: Mutex,
  salaries: ["i32", EMPLOYEES],
});

/**
 * Task 1. The secretary and the boss, fixed. Add `amount` to every salary
 * of the payroll `name`, `rounds` times over. Each update reads a salary,
 * calls halfway(pause), and writes the salary plus `amount` back. Other
 * processes update the same payroll at the same time, so make each update
 * a critical section: hold the payroll's mutex while you read, pause and
 * write, and only then.
 */
export function payRaise(name: string, amount: number, rounds: number, pause?: string): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const payroll = Payroll.attach(map);
  for (let round = 0; round < rounds; round++) {
    for (let employee = 0; employee < EMPLOYEES; employee++) {
      payroll.lock.lock(10);
      try {
        const salary = payroll.salaries[employee]!;
        halfway(pause);
        payroll.salaries[employee] = salary + amount;
      } finally {
        payroll.lock.unlock();
      }
    }
  }
}
// ANCHOR_END: task1

// ANCHOR: task2
export const SLOTS = 4;
export const LOG_SIZE = 4096;

/** A bounded buffer: a ring of SLOTS numbers, and a log of what consumers took. */
export const Ring = layout({
  lock: Mutex, // guards head and tail
  items: Semaphore.field({ value: 0 }), // slots holding a number
  spaces: Semaphore.field({ value: SLOTS }), // free slots
  head: "u32", // the next slot to fill
  tail: "u32", // the next slot to empty
  slots: ["i32", SLOTS],
  logged: "u32",
  log: ["i32", LOG_SIZE],
});
export type RingFields = ReturnType<typeof Ring.attach>;

/** Writes down a number a consumer took (given; do not change it): the grader reads the log. */
export function record(ring: RingFields, value: number): void {
  ring.log[Atomics.add(ring.logged, 0, 1)] = value;
}

/**
 * Task 2, the producer. Put each of `values` into the ring `name`, in
 * order: wait for a free slot (`spaces`), store the value at `head` and
 * move `head` on (modulo SLOTS) with the mutex held, then announce the new
 * item (`items`). When the ring is full, wait: never overwrite a slot.
 */
export function produce(name: string, values: number[]): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const ring = Ring.attach(map);
  for (const value of values) {
    ring.spaces.wait(10);
    ring.lock.lock(10);
    try {
      ring.slots[ring.head[0]!] = value;
      ring.head[0] = (ring.head[0]! + 1) % SLOTS;
    } finally {
      ring.lock.unlock();
    }
    ring.items.post();
  }
}

/**
 * Task 2, a consumer. Take `count` numbers out of the ring `name`: wait
 * for an item, take the value at `tail` and move `tail` on with the mutex
 * held, announce the free slot, and record(ring, value) it. Several
 * consumers run at once; none may take a number twice or lose one.
 */
export function consume(name: string, count: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const ring = Ring.attach(map);
  for (let i = 0; i < count; i++) {
    ring.items.wait(10);
    let value: number;
    ring.lock.lock(10);
    try {
      value = ring.slots[ring.tail[0]!]!;
      ring.tail[0] = (ring.tail[0]! + 1) % SLOTS;
    } finally {
      ring.lock.unlock();
    }
    ring.spaces.post();
    record(ring, value);
  }
}
// ANCHOR_END: task2

// ANCHOR: task3
/** Two accounts whose sum must always be `total`, and a journal of the transfer in progress. */
export const Bank = layout({
  lock: Mutex, // robust: a holder that dies does not block the others forever
  total: "i32", // a + b when no transfer is half done
  a: "i32",
  b: "i32",
  journal: "i32", // the amount of the transfer in progress, 0 if none
});

/**
 * Task 3. Move `amount` from account a to account b of the bank `name`.
 * With the mutex held: write the amount in `journal`, subtract it from a,
 * add it to b, set `journal` back to 0.
 *
 * A process before you may have died in the middle of its transfer,
 * holding the lock; then lock() throws OwnerDeadError and you hold the
 * lock. Repair the accounts before anything else: a journal that is not
 * 0 means that transfer took its amount from a; if a + b is short of
 * `total`, it never reached b, so give it back to a. Clear the journal,
 * make the mutex consistent, then do your own transfer. Return true if
 * you had to repair, false if not.
 */
export function transfer(name: string, amount: number): boolean {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const bank = Bank.attach(map);
  let repaired = false;
  try {
    bank.lock.lock(10);
  } catch (error) {
    if (!(error instanceof OwnerDeadError)) throw error;
    const pending = bank.journal[0]!;
    if (pending !== 0 && bank.a[0]! + bank.b[0]! === bank.total[0]! - pending) bank.a[0]! += pending;
    bank.journal[0] = 0;
    bank.lock.consistent();
    repaired = true;
  }
  try {
    bank.journal[0] = amount;
    bank.a[0]! -= amount;
    bank.b[0]! += amount;
    bank.journal[0] = 0;
  } finally {
    bank.lock.unlock();
  }
  return repaired;
}
// ANCHOR_END: task3

// ANCHOR: task4
export const ITEMS = 16;

/** A price list many processes read and a few update. */
export const Catalogue = layout({
  lock: RwLock,
  version: "i32", // how many updates there have been
  prices: ["i32", ITEMS],
});

/**
 * Task 4, setting up. The object `name` exists with Catalogue.size zero
 * bytes. Initialise the read-write lock at Catalogue.offsets.lock so that
 * a writer is never starved: once a writer waits for the lock, readers
 * that come later must wait behind it.
 */
export function initCatalogue(name: string): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  RwLock.init(map, Catalogue.offsets.lock, { prefer: "writer-nonrecursive" });
}

/** Task 4, a writer: with the write lock held, set prices[item] to `price` and add 1 to `version`. */
export function setPrice(name: string, item: number, price: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const catalogue = Catalogue.attach(map);
  catalogue.lock.writeLock(10);
  try {
    catalogue.prices[item] = price;
    catalogue.version[0]! += 1;
  } finally {
    catalogue.lock.unlock();
  }
}

/** Task 4, a reader: with a read lock held, return a copy of all the prices. */
export function readPrices(name: string): number[] {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const catalogue = Catalogue.attach(map);
  catalogue.lock.readLock(10);
  try {
    return [...catalogue.prices];
  } finally {
    catalogue.lock.unlock();
  }
}
// ANCHOR_END: task4

// ANCHOR: task5
export const WORKERS = 3;
export const MAX_PHASES = 8;

export const Phases = layout({
  barrier: Barrier.field({ count: WORKERS }),
  values: ["i32", WORKERS], // each worker's contribution in the current phase
  sums: ["i32", MAX_PHASES * WORKERS], // what each worker added up in each phase
  completed: "i32", // phases completed
});

/** What worker `worker` contributes in `phase` (given; do not change it). */
export function contribution(seed: number, phase: number, worker: number): number {
  Bun.sleepSync(((seed + phase + worker) % WORKERS) * 3); // some workers are slower than others
  return (seed * 31 + phase * 1009 + worker * 7919) % 100_000;
}

/**
 * Task 5. WORKERS processes run this at once, as workers 0, 1 and 2, for
 * `phases` phases. In phase p a worker writes contribution(seed, p,
 * worker) into values[worker]; waits until every worker has written its
 * value; adds up all of values into sums[p * WORKERS + worker]; and waits
 * again until every worker has read, so that no one overwrites values for
 * the next phase too early. In each phase, the one worker whose second
 * wait returned true adds 1 to `completed`.
 */
export function runPhases(name: string, worker: number, phases: number, seed: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const shared = Phases.attach(map);
  for (let phase = 0; phase < phases; phase++) {
    shared.values[worker] = contribution(seed, phase, worker);
    shared.barrier.wait();
    shared.sums[phase * WORKERS + worker] = shared.values.reduce((sum, value) => sum + value, 0);
    if (shared.barrier.wait()) shared.completed[0]! += 1;
  }
}
// ANCHOR_END: task5

// ANCHOR: task6
/**
 * Task 6. The first three 32-bit words of the object `name` are a lock
 * word (0 free, 1 taken) and two counters. `times` times: take the lock
 * with test-and-set on the lock word, spinning while it was taken; add 1
 * to each counter with plain reads and writes, calling halfway(pause)
 * between the two; release the lock. Several processes run this at once.
 * Build the lock yourself on Atomics, without the library's locks.
 */
export function countWithTsl(name: string, times: number, pause?: string): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const words = map.view(Int32Array, 0, 3);
  for (let i = 0; i < times; i++) {
    while (Atomics.exchange(words, 0, 1) === 1); // test and set
    words[1] = words[1]! + 1;
    halfway(pause);
    words[2] = words[2]! + 1;
    Atomics.store(words, 0, 0);
  }
}
// ANCHOR_END: task6

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/04-sync.ts` runs. You do not
 * need to change anything below.
 * ---------------------------------------------------------------------- */

type Mode = "raise" | "consume" | "crash" | "phases" | "tsl";

function spawnSelf(mode: Mode, ...args: (string | number)[]) {
  return Bun.spawn([process.execPath, import.meta.path, mode, ...args.map(String)], { stdout: "inherit", stderr: "inherit" });
}

async function all(children: ReturnType<typeof spawnSelf>[]): Promise<boolean> {
  const codes = await Promise.all(children.map((c) => c.exited));
  return codes.every((code) => code === 0);
}

/** A fresh shared-memory object of `size` bytes, mapped; `remove` unmaps and unlinks it. */
function region(name: string, size: number) {
  const shm = new SharedMemory(name, { exclusive: true, size });
  const map = shm.map();
  shm.close();
  return { map, remove: () => (map.unmap(), SharedMemory.unlink(name)) };
}

async function demo(): Promise<void> {
  const prefix = `/${process.env.IPC_PREFIX ?? "ipcbook"}-demo04-${process.pid}`;
  const made: { remove: () => void }[] = [];
  const make = (label: string, size: number) => {
    const r = region(`${prefix}-${label}`, size);
    made.push(r);
    return r.map;
  };
  try {
    const payroll = Payroll.init(make("payroll", Payroll.size));
    payroll.salaries.fill(30_000);
    payRaise(`${prefix}-payroll`, 0, 0); // says so here if it is still a TODO
    if (!(await all([spawnSelf("raise", `${prefix}-payroll`, 100), spawnSelf("raise", `${prefix}-payroll`, 500)]))) return fail();
    const short = payroll.salaries.filter((s) => s !== 30_600).length;
    console.log(`Task 1: secretary and boss at once; ${short} of ${EMPLOYEES} salaries are not 30600`);

    const ring = Ring.init(make("ring", Ring.size));
    consume(`${prefix}-ring`, 0);
    const consumers = [spawnSelf("consume", `${prefix}-ring`, 100), spawnSelf("consume", `${prefix}-ring`, 100)];
    produce(`${prefix}-ring`, Array.from({ length: 200 }, (_, i) => i + 1));
    if (!(await all(consumers))) return fail();
    const sum = ring.log.subarray(0, ring.logged[0]).reduce((a, b) => a + b, 0);
    console.log(`Task 2: produced 1..200 through ${SLOTS} slots; consumers logged ${ring.logged[0]} numbers summing to ${sum} (expected 20100)`);

    const bank = Bank.init(make("bank", Bank.size));
    [bank.total[0], bank.a[0], bank.b[0]] = [2000, 1000, 1000];
    const crasher = spawnSelf("crash", `${prefix}-bank`);
    while (Atomics.load(bank.journal, 0) === 0) await Bun.sleep(1);
    crasher.kill("SIGKILL");
    await crasher.exited;
    const repaired = transfer(`${prefix}-bank`, 100);
    console.log(`Task 3: a transfer died half done; repaired: ${repaired}; a = ${bank.a[0]}, b = ${bank.b[0]} (total ${bank.a[0]! + bank.b[0]!})`);

    make("catalogue", Catalogue.size);
    initCatalogue(`${prefix}-catalogue`);
    setPrice(`${prefix}-catalogue`, 3, 1299);
    console.log(`Task 4: price of item 3 after setPrice: ${readPrices(`${prefix}-catalogue`)[3]}`);

    const phases = Phases.init(make("phases", Phases.size));
    runPhases(`${prefix}-phases`, 0, 0, 0);
    if (!(await all([0, 1, 2].map((w) => spawnSelf("phases", `${prefix}-phases`, w, 4, 42))))) return fail();
    console.log(`Task 5: ${phases.completed[0]} of 4 phases completed; sums of phase 0: ${[...phases.sums.subarray(0, WORKERS)].join(", ")}`);

    const words = make("tsl", 4096).view(Int32Array, 0, 3);
    countWithTsl(`${prefix}-tsl`, 0);
    if (!(await all([spawnSelf("tsl", `${prefix}-tsl`, 50_000), spawnSelf("tsl", `${prefix}-tsl`, 50_000)]))) return fail();
    console.log(`Task 6: two processes × 50000 under your TSL lock: counters ${words[1]} and ${words[2]}, lock word ${words[0]}`);
  } finally {
    for (const r of made) r.remove();
  }
}

function fail(): void {
  process.exitCode = 1; // the child processes have said what went wrong
}

/** The crasher of the demonstration: dies in the middle of a transfer, holding the lock. */
function crash(name: string): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const bank = Bank.attach(map);
  bank.lock.lock();
  bank.a[0]! -= 250;
  Atomics.store(bank.journal, 0, 250);
  Bun.sleepSync(60_000); // killed here
}

if (import.meta.main) {
  const [mode, name, a, b, c] = process.argv.slice(2) as [Mode | undefined, string, string, string, string];
  if (mode === "raise") await runDemo(() => payRaise(name, Number(a), 1));
  else if (mode === "consume") await runDemo(() => consume(name, Number(a)));
  else if (mode === "crash") crash(name);
  else if (mode === "phases") await runDemo(() => runPhases(name, Number(a), Number(b), Number(c)));
  else if (mode === "tsl") await runDemo(() => countWithTsl(name, Number(a)));
  else await runDemo(demo);
}
