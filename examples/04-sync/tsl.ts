/**
 * tsl.ts — a spin lock built from nothing but test-and-set. The lock is
 * one 32-bit word in shared memory: 0 free, 1 taken. `Atomics.exchange`
 * writes 1 and returns the old value as one indivisible step, which is
 * exactly the TSL instruction of the textbooks (x86 `xchg`):
 *
 *     while TestAndSet(lock) do nothing;   critical section;   lock := false
 *
 * Two processes increment a pair of counters that must stay equal. Each
 * counts how often it found the lock taken: the spins, CPU time spent
 * waiting actively.
 *
 * Run:  bun run examples/04-sync/tsl.ts [iterations]
 */
import { SharedMemory } from "../../lib/index.ts";

// Words of the shared Int32Array.
const LOCK = 0; // the test-and-set word
const A = 1; // two counters that must always be equal
const B = 2;
const READY = 3;
const GO = 4;

// ANCHOR: tsl
/** Takes the lock; returns how many times it found it taken. */
function enter(words: Int32Array): number {
  let spins = 0;
  while (Atomics.exchange(words, LOCK, 1) === 1) spins++; // test and set, as one step
  return spins;
}

/** Releases the lock. */
function leave(words: Int32Array): void {
  Atomics.store(words, LOCK, 0);
}
// ANCHOR_END: tsl

function child(name: string, iterations: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const words = map.view(Int32Array, 0, 8);
  Atomics.add(words, READY, 1);
  while (Atomics.load(words, GO) === 0);
  // ANCHOR: use
  let spins = 0;
  for (let i = 0; i < iterations; i++) {
    spins += enter(words);
    words[A] = words[A]! + 1; // plain, non-atomic updates: the lock protects them
    words[B] = words[B]! + 1;
    leave(words);
  }
  // ANCHOR_END: use
  console.log(`process ${process.pid}: ${iterations} iterations, found the lock taken ${spins} times`);
}

async function main(iterations: number): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-tsl-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
  try {
    using map = shm.map();
    const words = map.view(Int32Array, 0, 8);
    const children = [0, 1].map(() =>
      Bun.spawn([process.execPath, import.meta.path, "child", name, String(iterations)], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      while (Atomics.load(words, READY) < children.length) await Bun.sleep(1);
      Atomics.store(words, GO, 1);
      const codes = await Promise.all(children.map((c) => c.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a child failed: exit codes ${codes}`);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill();
    }
    console.log(`a = ${words[A]}, b = ${words[B]}, expected ${2 * iterations} each`);
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "child") child(process.argv[3]!, Number(process.argv[4]));
else await main(Number(process.argv[2] ?? 1_000_000));
