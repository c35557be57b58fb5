/**
 * bounded-buffer.ts — one producer, three consumers, a ring of 8 slots in
 * shared memory. Two counting semaphores do the waiting: `spaces` counts
 * free slots (the producer waits on it when the ring is full), `items`
 * counts filled ones (a consumer waits on it when the ring is empty). A
 * mutex guards the ring's indexes, which producer and consumers update.
 *
 * The producer (this process) puts the numbers 1 to 3000 in, then one -1
 * per consumer to say "no more". Each consumer adds up what it took; the
 * totals prove that no number was lost or taken twice.
 *
 * Run:  bun run examples/04-sync/bounded-buffer.ts
 */
import { layout, Mutex, Semaphore, SharedMemory } from "../../lib/index.ts";

const SLOTS = 8;
const CONSUMERS = 3;
const COUNT = 3000;

// ANCHOR: layout
const Ring = layout({
  lock: Mutex, // guards head and tail
  items: Semaphore.field({ value: 0 }), // filled slots
  spaces: Semaphore.field({ value: SLOTS }), // free slots
  head: "u32", // next slot to fill
  tail: "u32", // next slot to empty
  slots: ["i32", SLOTS],
  taken: ["i32", CONSUMERS], // how many numbers each consumer took
  sums: ["f64", CONSUMERS], // and their sum
});
type RingFields = ReturnType<typeof Ring.attach>;
// ANCHOR_END: layout

// ANCHOR: put-take
function put(ring: RingFields, value: number): void {
  ring.spaces.wait(10); // a free slot, or sleep until a consumer frees one
  ring.lock.lock();
  try {
    ring.slots[ring.head[0]!] = value;
    ring.head[0] = (ring.head[0]! + 1) % SLOTS;
  } finally {
    ring.lock.unlock();
  }
  ring.items.post(); // one more filled slot: wakes a sleeping consumer
}

function take(ring: RingFields): number {
  ring.items.wait(10); // a filled slot, or sleep until the producer fills one
  let value: number;
  ring.lock.lock();
  try {
    value = ring.slots[ring.tail[0]!]!;
    ring.tail[0] = (ring.tail[0]! + 1) % SLOTS;
  } finally {
    ring.lock.unlock();
  }
  ring.spaces.post(); // one more free slot: wakes the producer if it sleeps
  return value;
}
// ANCHOR_END: put-take

function consumer(name: string, index: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const ring = Ring.attach(map);
  for (let value = take(ring); value !== -1; value = take(ring)) {
    ring.taken[index]! += 1; // only this consumer writes its own counters
    ring.sums[index]! += value;
  }
  console.log(`consumer ${index} took ${ring.taken[index]} numbers`);
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-ring-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Ring.size });
  try {
    using map = shm.map();
    const ring = Ring.init(map);
    const consumers = Array.from({ length: CONSUMERS }, (_, i) =>
      Bun.spawn([process.execPath, import.meta.path, "consumer", name, String(i)], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      for (let value = 1; value <= COUNT; value++) put(ring, value);
      for (let i = 0; i < CONSUMERS; i++) put(ring, -1); // one "no more" for each consumer
      const codes = await Promise.all(consumers.map((c) => c.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a consumer failed: exit codes ${codes}`);
    } finally {
      for (const c of consumers) if (c.exitCode === null) c.kill();
    }
    const taken = ring.taken.reduce((a, b) => a + b, 0);
    const sum = ring.sums.reduce((a, b) => a + b, 0);
    console.log(`produced ${COUNT} numbers summing to ${(COUNT * (COUNT + 1)) / 2}; consumed ${taken} summing to ${sum}`);
    console.log(`semaphores at the end: items ${ring.items.value}, spaces ${ring.spaces.value}`);
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "consumer") consumer(process.argv[3]!, Number(process.argv[4]));
else await main();
