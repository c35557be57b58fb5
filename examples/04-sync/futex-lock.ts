/**
 * futex-lock.ts — a lock that sleeps instead of spinning, built on
 * futex(2), and what that saves. The parent holds two locks for 300 ms.
 * One child waits for the first with test-and-set (active waiting), the
 * other for the second with the futex lock below (passive waiting). Each
 * then reports how much CPU time it burned while it waited.
 *
 * The futex lock's word is 0 (free), 1 (taken, nobody waits) or 2 (taken,
 * someone may be asleep). Only a waiter calls into the kernel, to sleep;
 * only an unlock that sees 2 calls into the kernel, to wake. When nobody
 * waits, lock and unlock are one atomic instruction each: this is how
 * glibc's mutexes work underneath.
 *
 * Run:  bun run examples/04-sync/futex-lock.ts
 */
import { futexWait, futexWake, SharedMemory } from "../../lib/index.ts";

const SPIN = 0; // the test-and-set lock word
const FUTEX = 1; // the futex lock word
const WAITING = 2; // children about to wait
const HOLD_MS = 300;

// ANCHOR: futex-lock
function lock(words: Int32Array, i: number): void {
  let c = Atomics.compareExchange(words, i, 0, 1); // free? take it: 0 → 1
  if (c === 0) return; // the fast path: no system call at all
  if (c !== 2) c = Atomics.exchange(words, i, 2); // say "someone waits"
  while (c !== 0) {
    futexWait(words, i, 2); // sleep while the word is 2; the kernel checks and sleeps atomically
    c = Atomics.exchange(words, i, 2); // woken (or not-equal): try again, still saying "someone waits"
  }
}

function unlock(words: Int32Array, i: number): void {
  if (Atomics.exchange(words, i, 0) === 2) futexWake(words, i, 1); // wake one sleeper, if any may sleep
}
// ANCHOR_END: futex-lock

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function child(kind: "spinning" | "sleeping", name: string): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const words = map.view(Int32Array, 0, 4);
  const [cpu, start] = [cpuMs(), performance.now()];
  Atomics.add(words, WAITING, 1);
  if (kind === "spinning") {
    while (Atomics.exchange(words, SPIN, 1) === 1); // active waiting
    Atomics.store(words, SPIN, 0);
  } else {
    lock(words, FUTEX); // passive waiting
    unlock(words, FUTEX);
  }
  const waited = performance.now() - start;
  console.log(`${kind} waiter: waited ${waited.toFixed(0)} ms, burned ${(cpuMs() - cpu).toFixed(1)} ms of CPU`);
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-futex-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
  try {
    using map = shm.map();
    const words = map.view(Int32Array, 0, 4);
    Atomics.store(words, SPIN, 1); // the parent holds both locks
    lock(words, FUTEX);
    const children = (["spinning", "sleeping"] as const).map((kind) =>
      Bun.spawn([process.execPath, import.meta.path, kind, name], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      while (Atomics.load(words, WAITING) < 2) await Bun.sleep(1);
      await Bun.sleep(HOLD_MS);
      Atomics.store(words, SPIN, 0); // release both
      unlock(words, FUTEX);
      const codes = await Promise.all(children.map((c) => c.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a child failed: exit codes ${codes}`);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill();
    }
  } finally {
    SharedMemory.unlink(name);
  }
}

const [kind, name] = process.argv.slice(2);
if ((kind === "spinning" || kind === "sleeping") && name) child(kind, name);
else await main();
