/**
 * Chapter 10 exercise: one producer, many consumers. REFERENCE SOLUTION.
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
import { runDemo } from "./support.ts";

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
  if (seats < 1 || seats > RING.maxSeats) throw new RangeError(`a ring has 1 to ${RING.maxSeats} seats, not ${seats}`);
  if (slotSize < RING.slotHeaderBytes + 1 || slotSize % 4 !== 0) throw new RangeError(`slotSize must be a multiple of 4 above ${RING.slotHeaderBytes}`);
  {
    using shm = new SharedMemory(name, { exclusive: true, size: RING.headerBytes + slots * slotSize });
    using map = shm.map({ length: RING.headerBytes });
    const words = map.view(Int32Array);
    words[RING.slots] = slots;
    words[RING.slotSize] = slotSize;
    words[RING.seats] = seats;
  }
  for (let seat = 0; seat < seats; seat++) {
    new MessageQueue(queueName(name, seat), { exclusive: true, maxmsg: NOTICE.maxmsg, msgsize: NOTICE.bytes }).close();
  }
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
  using ring = mapRing(name);
  const { words, bytes } = ring;
  const slots = words[RING.slots]!;
  const slotSize = words[RING.slotSize]!;
  const seats = words[RING.seats]!;
  const queues = new Map<number, MessageQueue>();
  const notice = new Int32Array(2);
  /** A notice to every registered consumer; a full queue has notices to read already. */
  const announce = (kind: number, sequence: number) => {
    notice[0] = kind;
    notice[1] = sequence;
    for (let seat = 0; seat < seats; seat++) {
      if (Atomics.load(words, RING.firstSeat + 2 * seat) === 0) continue;
      let queue = queues.get(seat);
      if (queue === undefined) queues.set(seat, (queue = new MessageQueue(queueName(name, seat), { access: "write" })));
      try {
        queue.send(new Uint8Array(notice.buffer), { timeout: 0 });
      } catch (error) {
        if (!(error instanceof BusyError)) throw error;
      }
    }
  };
  /** Whether the slot of `seq` is free: no registered consumer is a whole ring behind. */
  const room = (seq: number) => {
    for (let seat = 0; seat < seats; seat++) {
      if (Atomics.load(words, RING.firstSeat + 2 * seat) === 0) continue;
      if (seq - Atomics.load(words, RING.firstSeat + 2 * seat + 1) >= slots) return false;
    }
    return true;
  };
  try {
    Atomics.store(words, RING.producer, process.pid);
    for (let seq = 0; seq < count; seq++) {
      let reaped = Date.now();
      while (!room(seq)) {
        const seen = Atomics.load(words, RING.space); // read before looking again: a wake after this is not missed
        if (room(seq)) break;
        futexWait(words, RING.space, seen, 0.05);
        // Held up for 50 ms, however often others woke us: is the consumer we wait for still alive?
        if (Date.now() - reaped >= 50 && !room(seq)) {
          reapDeadConsumers(name);
          reaped = Date.now();
        }
      }
      const payload = payloadFor(seed, seq, size);
      const at = RING.headerBytes + (seq % slots) * slotSize;
      const slot = new DataView(bytes.buffer, at, RING.slotHeaderBytes);
      slot.setUint32(0, seq, true);
      slot.setUint32(4, payload.length, true);
      slot.setUint32(8, checksum(payload), true);
      bytes.set(payload, at + RING.slotHeaderBytes);
      Atomics.store(words, RING.head, seq + 1); // publish: the slot is complete before head says so
      announce(NOTICE.DATA, seq + 1);
    }
    Atomics.store(words, RING.ended, 1);
    announce(NOTICE.END, count);
  } finally {
    for (const queue of queues.values()) queue.close();
  }
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
  using ring = mapRing(name);
  const { words, bytes } = ring;
  const slots = words[RING.slots]!;
  const slotSize = words[RING.slotSize]!;
  const pidWord = RING.firstSeat + 2 * seat;
  const cursorWord = pidWord + 1;
  using queue = new MessageQueue(queueName(name, seat), { access: "read" });
  // Register: the cursor first, so the producer never sees a seat with a stale cursor.
  Atomics.store(words, cursorWord, Atomics.load(words, RING.head));
  Atomics.store(words, pidWord, process.pid);
  Atomics.store(words, cursorWord, Atomics.load(words, RING.head));
  const got: Consumed = { sequences: [], checksums: [], torn: 0 };
  try {
    for (;;) {
      let cursor = Atomics.load(words, cursorWord);
      const head = Atomics.load(words, RING.head);
      if (cursor === head) {
        if (Atomics.load(words, RING.ended) === 1 && Atomics.load(words, RING.head) === cursor) return got;
        try {
          queue.receive({ timeout: 0.2 }); // asleep until a notice comes
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
        }
        continue;
      }
      for (; cursor !== head; cursor++) {
        const at = RING.headerBytes + (cursor % slots) * slotSize;
        const slot = new DataView(bytes.buffer, at, RING.slotHeaderBytes);
        const length = slot.getUint32(4, true);
        const payload = bytes.slice(at + RING.slotHeaderBytes, at + RING.slotHeaderBytes + length);
        const sum = checksum(payload);
        if (sum !== slot.getUint32(8, true)) got.torn++;
        got.sequences.push(slot.getUint32(0, true));
        got.checksums.push(sum);
        Atomics.store(words, cursorWord, cursor + 1); // this slot may be reused now
      }
      Atomics.add(words, RING.space, 1);
      futexWake(words, RING.space);
    }
  } finally {
    Atomics.store(words, pidWord, 0);
    Atomics.add(words, RING.space, 1);
    futexWake(words, RING.space);
  }
}
// ANCHOR_END: task3

// ANCHOR: task4
/**
 * Task 4. Free the seats of consumers that died: a seat whose pid is not
 * 0 and whose process no longer exists (pidAlive is false) gets pid 0, so
 * that its cursor stops holding the producer back. Return the seats freed.
 */
export function reapDeadConsumers(name: string): number[] {
  using ring = mapRing(name);
  const { words } = ring;
  const freed: number[] = [];
  for (let seat = 0; seat < words[RING.seats]!; seat++) {
    const pid = Atomics.load(words, RING.firstSeat + 2 * seat);
    // compareExchange: free it only if it still names the dead process.
    if (pid !== 0 && !pidAlive(pid) && Atomics.compareExchange(words, RING.firstSeat + 2 * seat, pid, 0) === pid) freed.push(seat);
  }
  if (freed.length > 0) {
    Atomics.add(words, RING.space, 1);
    futexWake(words, RING.space);
  }
  return freed;
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
