/**
 * Chapter 10 exercise: one producer, many consumers.
 *
 * You build the design the lecture notes end with: the data in a ring
 * buffer in shared memory, and a message queue per consumer that
 * announces "data is ready, up to sequence S". Every consumer sees every
 * item; a consumer that dies must not stall the others.
 *
 * Four tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/10-capstone.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 10                     grades the tasks the way your instructor will
 *
 * The grader runs one producer and several consumers in separate
 * processes, kills one consumer midway, and then reads the ring's memory
 * and the queues itself: every item must reach every live consumer once,
 * whole, in order.
 */
import {
  BusyError,
  futexWait,
  futexWake,
  MessageQueue,
  pidAlive,
  SharedMemory,
  TimeoutError,
  type Mapping,
} from "../lib/index.ts";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "10-capstone";

/* -------------------------------------------------------------------------
 * What every process agrees on. You do not need to change anything here.
 * ---------------------------------------------------------------------- */

// ANCHOR: layout
/**
 * The ring's shared memory: a header of 32-bit little-endian words, then
 * `slots` slots of `slotSize` bytes. Word indexes are into an Int32Array
 * over the whole mapping.
 */
export const RING = {
  headerBytes: 256, // slot 0 starts here
  head: 0, // items published so far: the next item's sequence number
  ended: 1, // 1 once the producer has published its last item
  space: 2, // bumped by consumers when they free slots; the producer sleeps on it
  slots: 3, // how many slots
  slotSize: 4, // bytes per slot
  seats: 5, // how many consumer seats
  producer: 6, // the producer's pid
  firstSeat: 16, // seat i is words firstSeat + 2i (pid, 0 = free) and firstSeat + 2i + 1 (cursor)
  maxSeats: 16,
  // A slot: sequence (u32), length (u32), checksum (u32), unused (u32), then the payload.
  slotHeaderBytes: 16,
} as const;

/** What a consumer's queue carries: two 32-bit words, [kind, sequence]. */
export const NOTICE = { DATA: 1, END: 2, bytes: 8, maxmsg: 8 } as const;

/** The queue of consumer seat `seat`. */
export function queueName(name: string, seat: number): string {
  return `${name}-q${seat}`;
}

/** FNV-1a, 32 bits: the checksum of an item's payload. */
export function checksum(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/** The payload of item `seq`: `size` bytes that depend on `seed` and `seq`. */
export function payloadFor(seed: number, seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** The ring `name`, mapped: its header words and its bytes. `using` unmaps it. */
export function mapRing(name: string): { map: Mapping; words: Int32Array; bytes: Uint8Array } & Disposable {
  using shm = new SharedMemory(name);
  const map = shm.map();
  return { map, words: map.view(Int32Array), bytes: map.bytes(), [Symbol.dispose]: () => map.unmap() };
}
// ANCHOR_END: layout

/** What `consume` returns: the items it read, in the order it read them. */
export interface Consumed {
  /** The sequence number of each item. */
  sequences: number[];
  /** The checksum of each payload as you read it (computed, not copied from the slot). */
  checksums: number[];
  /** Items whose payload did not match the checksum in their slot. */
  torn: number;
}

// ANCHOR: task1
/**
 * Task 1. Create the ring `name`: the shared-memory object, exclusively
 * (an existing one is an ExistsError), sized for the header and `slots`
 * slots of `slotSize` bytes, with the header's `slots`, `slotSize` and
 * `seats` words filled in (everything else 0); and, for every seat, its
 * message queue, exclusively, holding NOTICE.maxmsg notices of
 * NOTICE.bytes bytes. Close what you opened; remove nothing.
 */
export function createRing(name: string, slots: number, slotSize: number, seats: number): void {
  todo(CHAPTER, 1, "createRing(): the shared memory with its header, and a queue per seat", "The ring in shared memory");
}
// ANCHOR_END: task1

// ANCHOR: task2
/**
 * Task 2. Be the producer: publish items 0 to count - 1, each with the
 * payload payloadFor(seed, seq, size). For each item:
 * - wait until its slot is free: no registered consumer (a seat with a
 *   pid) is still `slots` items behind. Wait by sleeping in futexWait on
 *   the `space` word, never by spinning; if a wait ends with no room made,
 *   free the seats of dead consumers (task 4).
 * - write the slot (sequence, length, checksum, payload), then publish it
 *   by storing the new `head` with Atomics.store;
 * - announce it: a NOTICE.DATA notice with the new head on the queue of
 *   every registered consumer, without waiting (a full queue means that
 *   consumer has notices to read already: skip it).
 * Write your pid into the `producer` word first. At the end set `ended`
 * and send every registered consumer a NOTICE.END notice.
 */
export function produce(name: string, count: number, seed: number, size: number): void {
  todo(CHAPTER, 2, "produce(): wait for room, write the slot, publish head, announce", "Publishing an item");
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3. Be the consumer in seat `seat`: register (your cursor at the
 * current head, then your pid), then read every item from your cursor up
 * to the head, checking each payload against its checksum, and move your
 * cursor past it with Atomics.store; after reading, bump `space` and wake
 * the producer (futexWake) in case it waits for room. When there is
 * nothing to read, return if `ended` is set, or else sleep in your queue
 * (receive with a timeout, so that a lost notice cannot stop you for
 * ever). Before returning, give your seat back (pid 0).
 */
export function consume(name: string, seat: number): Consumed {
  todo(CHAPTER, 3, "consume(): register, read up to head, move the cursor, sleep on the queue", "Consuming and sleeping");
}
// ANCHOR_END: task3

// ANCHOR: task4
/**
 * Task 4. Free the seats of consumers that died: a seat whose pid is not
 * 0 and whose process no longer exists (pidAlive is false) gets pid 0, so
 * that its cursor stops holding the producer back. Return the seats freed.
 */
export function reapDeadConsumers(name: string): number[] {
  todo(CHAPTER, 4, "reapDeadConsumers(): free the seats whose process is gone", "When a consumer dies");
}
// ANCHOR_END: task4

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/10-capstone.ts` runs. You do
 * not need to change anything below.
 * ---------------------------------------------------------------------- */

const ITEMS = 3000;
const SIZE = 200;
const CONSUMERS = 3;

async function demo(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-demo-${process.pid}`;
  const seed = (Math.random() * 2 ** 32) >>> 0;
  try {
    createRing(name, 16, 256, CONSUMERS + 1);
    console.log(`Task 1: created ${name} (16 slots of 256 bytes) and ${CONSUMERS + 1} queues`);
    const consumers = Array.from({ length: CONSUMERS }, (_, seat) =>
      Bun.spawn([process.execPath, import.meta.path, "consume", name, String(seat)], { stdout: "pipe", stderr: "inherit" }),
    );
    {
      using ring = mapRing(name);
      const registered = () => Array.from({ length: CONSUMERS }, (_, i) => Atomics.load(ring.words, RING.firstSeat + 2 * i)).every((pid) => pid !== 0);
      for (const deadline = Date.now() + 10_000; !registered(); await Bun.sleep(5)) {
        if (Date.now() > deadline || consumers.some((c) => c.exitCode !== null)) throw new Error("the consumers did not register (task 3)");
      }
    }
    const started = performance.now();
    const producer = Bun.spawn([process.execPath, import.meta.path, "produce", name, String(ITEMS), String(seed), String(SIZE)], { stderr: "inherit" });
    const codes = await Promise.all([producer.exited, ...consumers.map((c) => c.exited)]);
    if (codes.some((code) => code !== 0)) {
      process.exitCode = 1; // they have said what went wrong
      return;
    }
    const ms = performance.now() - started;
    console.log(`Task 2: produced ${ITEMS} items of ${SIZE} bytes in ${ms.toFixed(0)} ms`);
    for (const [seat, c] of consumers.entries()) {
      const got = JSON.parse(await new Response(c.stdout).text()) as Consumed;
      const whole = got.sequences.every((s, i) => s === i && got.checksums[i] === checksum(payloadFor(seed, s, SIZE)));
      console.log(`Task 3: consumer ${seat} read ${got.sequences.length} items, ${whole ? "all in order and whole" : "NOT all in order and whole"}, ${got.torn} torn`);
    }
    console.log(`Task 4: dead consumers freed now: ${JSON.stringify(reapDeadConsumers(name))}`);
  } finally {
    if (SharedMemory.exists(name)) SharedMemory.unlink(name);
    for (let seat = 0; seat <= CONSUMERS; seat++) {
      if (MessageQueue.exists(queueName(name, seat))) MessageQueue.unlink(queueName(name, seat));
    }
  }
}

if (import.meta.main) {
  const [mode, name, ...args] = process.argv.slice(2);
  if (mode === "consume" && name) await runDemo(() => void console.log(JSON.stringify(consume(name, Number(args[0])))));
  else if (mode === "produce" && name) await runDemo(() => produce(name, Number(args[0]), Number(args[1]), Number(args[2])));
  else await runDemo(demo);
}
