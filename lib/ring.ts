/**
 * A ring buffer in shared memory: one producer, one or many consumers.
 *
 * The closing design of the lecture notes: the data sits in shared
 * memory, in a ring of fixed-size slots, and the processes synchronise on
 * words next to it; a message queue can announce that data is ready, so
 * the queue carries a few bytes ("data up to sequence S") instead of the
 * data itself.
 *
 *   using ring = Ring.create("/prices", { slots: 1024, slotSize: 128, consumers: 4 });
 *   using producer = ring.producer();
 *   producer.write("EURPLN 4.2715");
 *   producer.end();
 *
 *   using ring = Ring.open("/prices");          // in another process
 *   using consumer = ring.consumer();
 *   for (let item = consumer.read(); item !== null; item = consumer.read()) …
 *   Ring.unlink("/prices");                      // by whoever set it up
 *
 * Two modes:
 * - "broadcast": every consumer sees every item, in order. Each consumer
 *   has a cursor; the producer never overwrites a slot that a live
 *   consumer has not read yet, and so waits for the slowest one.
 * - "work-sharing": each item goes to exactly one consumer, whichever
 *   claims it first; for a pool of interchangeable workers.
 *
 * Waiting sleeps. A consumer with nothing to read spins for a moment
 * (`spin` checks) and then sleeps, in futex(2) on the producer's sequence
 * word (`wake: "futex"`), or in mq_receive on a message queue of its own
 * (`wake: "queue"`), which then carries a 16-byte descriptor: what
 * happened, the sequence number, the slot and the length. A producer with
 * no room sleeps in futex(2) until a consumer frees a slot.
 *
 * A consumer that dies does not stall the others. Each consumer holds a
 * robust mutex (its "lease") for as long as it is registered; when it
 * dies the kernel marks the mutex, and the next `pthread_mutex_trylock`
 * on it reports EOWNERDEAD. The producer checks the leases of the
 * consumers it is waiting for, and drops a dead one: in broadcast mode its
 * cursor stops holding the ring back; in work-sharing mode the item it had
 * claimed and not acknowledged is handed to the next consumer that asks
 * (at-least-once delivery). The producer holds a lease too, so consumers
 * learn that it died instead of waiting for ever.
 *
 * The memory layout (all numbers little-endian) is documented on
 * `RING_LAYOUT`; a C program that follows it can take part.
 */
import fs from "node:fs";
import { ERRNO } from "./ffi/errno.ts";
import { BusyError, IpcError, type IpcErrorInit, NotFoundError, TimeoutError, invalid } from "./errors.ts";
import type { Mapping } from "./mapping.ts";
import { MessageQueue } from "./mq.ts";
import { SharedMemory } from "./shm.ts";
import { OwnerDeadError } from "./sync/common.ts";
import { futexWait, futexWaitAsync, futexWake } from "./sync/futex.ts";
import { alignUp, layout } from "./sync/layout.ts";
import { Mutex } from "./sync/mutex.ts";
import { count, fileMode, posixName } from "./validate.ts";

/* ------------------------------------------------------------------------
 * Layout
 * --------------------------------------------------------------------- */

/** "RING" read as a little-endian 32-bit number. */
const MAGIC = 0x474e4952;
const VERSION = 1;

/** The most consumers a ring may have. */
export const RING_MAX_CONSUMERS = 64;

/** Bytes in front of every record in its slot: the slot's stamp and the record's length. */
export const RING_SLOT_HEADER = 8;

/** What each message on a consumer's queue says (the `kind` word of the descriptor). */
export const RING_NOTICE = { DATA: 1, END: 2 } as const;

/** The ring's `state` word. */
const STATE = { OPEN: 0, ENDED: 1, PRODUCER_DIED: 2 } as const;
/** A consumer record's `state` word. */
const SEAT = { FREE: 0, ACTIVE: 1 } as const;
const DELIVERY = { broadcast: 0, "work-sharing": 1 } as const;
const WAKE = { futex: 0, queue: 1 } as const;

/** The header: configuration, then one cache line per word that different processes write. */
const Header = layout({
  magic: "u32",
  version: "u32",
  delivery: "u32",
  wake: "u32",
  slots: "u32",
  slotSize: "u32",
  maxConsumers: "u32",
  spin: "u32",
  state: "i32",
  producerPid: "i32",
  dataOffset: "u32",
  consumerOffset: "u32",
  consumerStride: "u32",
  queueMsgs: "u32",
  pad0: ["u8", 8],
  // Written by the producer: published items.
  head: "i32",
  // Consumers asleep (or about to be) in futex(2) on `signal`, and in mq_receive.
  waiters: "i32",
  sleepers: "i32",
  // An eventcount: a consumer reads `signal`, counts itself in `waiters`,
  // clears `wakePending`, looks once more, and sleeps while `signal` still
  // holds what it read. The producer, after publishing, bumps `signal` and
  // wakes the sleepers if some wait and no wake is pending. So it makes one
  // wake-up call per wait, not one per record while a consumer is still
  // waking up; and a wake-up that comes too early changes `signal`, so the
  // sleep it was meant for does not begin.
  signal: "i32",
  wakePending: "i32",
  pad1: ["u8", 44],
  // Bumped by consumers when they free room; the futex word the producer sleeps on.
  space: "i32",
  producerWaiting: "i32",
  pad2: ["u8", 56],
  // Work-sharing: the next sequence to claim, and items to hand out again.
  tail: "i32",
  orphanCount: "i32",
  pad3: ["u8", 56],
  orphans: ["i32", RING_MAX_CONSUMERS],
  producerLease: Mutex,
  claimLock: Mutex,
});

/** One consumer's record. */
const Seat = layout({
  state: "i32",
  pid: "i32",
  // Broadcast: the next sequence this consumer reads. Work-sharing: items it took.
  cursor: "i32",
  // Work-sharing: the sequence it holds and has not acknowledged, if `holdingFlag`.
  holding: "i32",
  holdingFlag: "i32",
  // Queue wake: 1 while it sleeps in mq_receive and wants a descriptor.
  sleeping: "i32",
  // Incremented at every registration in this seat.
  generation: "i32",
  // Items taken over from dead consumers (work-sharing).
  redelivered: "i32",
  pad: ["u8", 32],
  lease: Mutex,
});

const CACHE_LINE = 64;
const SEAT_STRIDE = alignUp(Seat.size, CACHE_LINE);
const CONSUMER_OFFSET = alignUp(Header.size, CACHE_LINE);

/**
 * Where everything lives in a ring's shared memory, for a program in
 * another language: the header fields' byte offsets, then
 * `consumerOffset + i × consumerStride` for consumer i's record, then the
 * slots from `dataOffset`, `slotSize` bytes each. A slot holds its stamp
 * (i32), the record's length (i32) and the record.
 */
export const RING_LAYOUT = {
  header: Header.offsets,
  consumer: Seat.offsets,
  consumerOffset: CONSUMER_OFFSET,
  consumerStride: SEAT_STRIDE,
} as const;

/* ------------------------------------------------------------------------
 * Options and errors
 * --------------------------------------------------------------------- */

/** Whether every consumer sees every item, or each item goes to one consumer. */
export type RingDelivery = keyof typeof DELIVERY;

/** How a consumer with nothing to read sleeps: futex(2), or mq_receive on its own queue. */
export type RingWake = keyof typeof WAKE;

/** The shape of a new ring. */
export interface RingOptions {
  /** Slots in the ring, a power of two from 2 to 2^20; default 256. */
  slots?: number;
  /**
   * Bytes per slot, a multiple of 8 from 16 up; a record may be up to
   * `slotSize - 8` bytes long. Default 128.
   */
  slotSize?: number;
  /** The most consumers, 1 to 64; default 8. */
  consumers?: number;
  /** Default "broadcast". */
  delivery?: RingDelivery;
  /** Default "futex". */
  wake?: RingWake;
  /**
   * How many times a waiting side checks again before it sleeps; default
   * 200 (a few microseconds). 0 sleeps at once.
   */
  spin?: number;
  /** Permission bits of the shared memory and the queues; default 0o600. */
  mode?: number;
}

/** The producer stopped without ending the stream: it died, or closed before end(). */
export class ProducerGoneError extends IpcError {}

/** What `Ring.status()` says about one consumer. */
export interface RingConsumerStatus {
  /** Its seat, 0 to `consumers - 1`. */
  index: number;
  pid: number;
  /** Broadcast: the next sequence it reads. Work-sharing: items it took. */
  cursor: number;
  /** Broadcast: items published that it has not read yet. */
  lag: number;
  /** Work-sharing: the sequence it holds unacknowledged, or null. */
  holding: number | null;
  /** Whether its process still exists (a zombie counts as dead). */
  alive: boolean;
}

/** A snapshot of a ring, read without taking any lock. */
export interface RingStatus {
  delivery: RingDelivery;
  wake: RingWake;
  slots: number;
  slotSize: number;
  /** Items published so far (mod 2^32). */
  head: number;
  /** Work-sharing: the next sequence to be claimed. */
  tail: number;
  state: "open" | "ended" | "producer-died";
  producerPid: number;
  /** Registered consumers. */
  consumers: RingConsumerStatus[];
  /** Work-sharing: items waiting to be handed out again. */
  orphans: number[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The sleep between two checks of a peer's lease while waiting, in seconds. */
const LIVENESS_SLICE = 0.05;

/**
 * A broadcast consumer publishes its cursor every this many records while
 * the ring has room to spare (and at once when the ring is nearly full,
 * when the producer waits, or before the consumer itself waits), so the
 * producer's view of the slowest cursor may lag by less than this, and
 * only while that costs it nothing. A power of two.
 */
const CURSOR_BATCH = 64;

/**
 * Records up to this long, a multiple of 4 bytes, are copied four bytes at
 * a time between a reused buffer and the ring, with no allocation; longer
 * ones with Uint8Array.set, which is memcpy underneath.
 */
const WORD_COPY_MAX = 256;

/**
 * Copies `n` 32-bit words, four per step: JavaScriptCore does not unroll
 * the loop itself, and unrolled it copies 64 bytes about three times
 * faster than Uint8Array.set (measured: 6 ns against 22).
 */
function copyWords(dst: Int32Array, d: number, src: Int32Array, s: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    dst[d + i] = src[s + i]!;
    dst[d + i + 1] = src[s + i + 1]!;
    dst[d + i + 2] = src[s + i + 2]!;
    dst[d + i + 3] = src[s + i + 3]!;
  }
  for (; i < n; i++) dst[d + i] = src[s + i]!;
}

/**
 * Word-by-word copies for a buffer used again and again (the usual shape
 * of a loop that sends or receives): the Int32Array view over it is made
 * the second time the same buffer comes, and kept.
 */
class WordCache {
  seen: Uint8Array | null = null;
  cached: Uint8Array | null = null;
  words: Int32Array = new Int32Array(0);

  /** Makes the view if `bytes` came last time too and is aligned; true if `cached` is now `bytes`. */
  adopt(bytes: Uint8Array): boolean {
    if (bytes !== this.seen) {
      this.seen = bytes;
      return false;
    }
    if ((bytes.byteOffset & 3) !== 0 || (bytes.length & 3) !== 0) return false;
    this.cached = bytes;
    this.words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
    return true;
  }
}


function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** a - b on 32-bit sequence numbers that wrap: positive when a is after b. */
function after(a: number, b: number): number {
  return (a - b) | 0;
}

function timeoutOf(value: unknown, call: string): number | undefined {
  if (value === undefined || value === Infinity) return undefined;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${call}: the timeout must be a number of seconds, got ${typeof value === "number" ? "NaN" : typeof value}`);
  }
  if (value < 0) throw new RangeError(`${call}: the timeout must be at least 0 seconds, got ${value}`);
  return value;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    return false;
  }
}

/** The error for a wait that ran out. */
function waitError(call: string, object: string, timeout: number, what: string): IpcError {
  if (timeout === 0) {
    return new BusyError({ errno: ERRNO.EAGAIN, call, object, message: what, hint: "timeout 0 does not wait; give a timeout, or try again later" });
  }
  return new TimeoutError({ errno: ERRNO.ETIMEDOUT, call, object, message: `${what} for the whole timeout of ${timeout} s` });
}

function producerGone(call: string, object: string): ProducerGoneError {
  const init: IpcErrorInit = {
    errno: ERRNO.EPIPE,
    call,
    object,
    message: "the producer died without ending the stream",
    hint: "every item it published has been read; start a producer again (ring.producer()) to continue, or give up",
  };
  return new ProducerGoneError(init);
}

/**
 * Tries a lease (a robust mutex): "free" (and now held by the caller),
 * "held" by a live process (or by this very thread, through another
 * handle: glibc says EDEADLK), or "dead": its holder died, and the caller
 * holds it now and must make it consistent.
 */
function tryLease(lease: Mutex): "free" | "held" | "dead" {
  try {
    return lease.tryLock() ? "free" : "held";
  } catch (error) {
    if (error instanceof OwnerDeadError) return "dead";
    if (error instanceof IpcError && error.errno === ERRNO.EDEADLK) return "held";
    throw error;
  }
}

/** The queue that carries descriptors to consumer `index` of ring `name`. */
export function ringQueueName(name: string, index: number): string {
  return `${name}-c${index}`;
}

/* ------------------------------------------------------------------------
 * The ring
 * --------------------------------------------------------------------- */

type HeaderFields = ReturnType<typeof Header.attach>;
type SeatFields = ReturnType<typeof Seat.attach>;

/**
 * A ring buffer in POSIX shared memory. `Ring.create` sets one up,
 * `Ring.open` reaches it from another process; then `producer()` and
 * `consumer()` take a role. See the module's introduction.
 */
export class Ring implements Disposable {
  /** The shared-memory object's name, such as "/prices". */
  readonly name: string;
  /** "broadcast" or "work-sharing". */
  readonly delivery: RingDelivery;
  /** "futex" or "queue". */
  readonly wake: RingWake;
  /** Slots in the ring. */
  readonly slots: number;
  /** Bytes per slot, its 8-byte header included. */
  readonly slotSize: number;
  /** The longest record, in bytes: `slotSize - 8`. */
  readonly maxRecord: number;
  /** The most consumers. */
  readonly maxConsumers: number;
  /** @internal */
  readonly map: Mapping;
  /** @internal */
  readonly h: HeaderFields;
  /** @internal */
  readonly seats: SeatFields[];
  /** @internal Every word of the mapping. */
  readonly words: Int32Array;
  /** @internal Every byte of the mapping. */
  readonly bytes: Uint8Array;
  /** @internal */
  readonly dataOffset: number;
  /** @internal How many checks before sleeping. */
  readonly spin: number;
  #closed = false;
  /** @internal Consumer seats this handle holds, which its own checks must skip. */
  readonly local = new Set<number>();
  /** @internal Producers and consumers made from this handle, closed with it. */
  readonly handles = new Set<Disposable & { close(): void }>();

  private constructor(name: string, map: Mapping, h: HeaderFields, seats: SeatFields[]) {
    this.name = name;
    this.map = map;
    this.h = h;
    this.seats = seats;
    this.delivery = h.delivery[0] === DELIVERY["work-sharing"] ? "work-sharing" : "broadcast";
    this.wake = h.wake[0] === WAKE.queue ? "queue" : "futex";
    this.slots = h.slots[0]!;
    this.slotSize = h.slotSize[0]!;
    this.maxRecord = this.slotSize - RING_SLOT_HEADER;
    this.maxConsumers = h.maxConsumers[0]!;
    this.spin = h.spin[0]!;
    this.dataOffset = h.dataOffset[0]!;
    this.words = map.view(Int32Array);
    this.bytes = map.bytes();
  }

  /** Bytes of shared memory a ring of this shape takes. */
  static sizeOf(options: Pick<RingOptions, "slots" | "slotSize" | "consumers"> = {}): number {
    const { slots, slotSize, consumers } = checkShape(options, "Ring.sizeOf");
    return dataOffsetFor(consumers) + slots * slotSize;
  }

  /**
   * Creates the ring `name` (exclusively: an existing object of that name
   * is an ExistsError) and, with `wake: "queue"`, one small message queue
   * per consumer seat, named `ringQueueName(name, i)`.
   */
  static create(name: string, options: RingOptions = {}): Ring {
    posixName(name, "shm_open");
    const { slots, slotSize, consumers } = checkShape(options, "Ring.create");
    const delivery = options.delivery ?? "broadcast";
    if (!(delivery in DELIVERY)) throw new TypeError(`Ring.create: delivery must be "broadcast" or "work-sharing", got ${JSON.stringify(delivery)}`);
    const wake = options.wake ?? "futex";
    if (!(wake in WAKE)) throw new TypeError(`Ring.create: wake must be "futex" or "queue", got ${JSON.stringify(wake)}`);
    const spin = count(options.spin ?? 200, "Ring.create: spin", 1_000_000);
    const permissions = fileMode(options.mode ?? 0o600, "Ring.create", 0o777);
    if (wake === "queue") posixName(ringQueueName(name, consumers - 1), "mq_open");

    const dataOffset = dataOffsetFor(consumers);
    const size = dataOffset + slots * slotSize;
    const shm = new SharedMemory(name, { exclusive: true, size, mode: permissions });
    const queues: string[] = [];
    try {
      const map = shm.map();
      try {
        const h = Header.init(map);
        const seats = Array.from({ length: consumers }, (_, i) => Seat.init(map, CONSUMER_OFFSET + i * SEAT_STRIDE));
        h.version[0] = VERSION;
        h.delivery[0] = DELIVERY[delivery];
        h.wake[0] = WAKE[wake];
        h.slots[0] = slots;
        h.slotSize[0] = slotSize;
        h.maxConsumers[0] = consumers;
        h.spin[0] = spin;
        h.dataOffset[0] = dataOffset;
        h.consumerOffset[0] = CONSUMER_OFFSET;
        h.consumerStride[0] = SEAT_STRIDE;
        h.queueMsgs[0] = 4;
        const words = map.view(Int32Array);
        // Work-sharing stamps: slot i is free for the producer's sequence i.
        for (let i = 0; i < slots; i++) words[(dataOffset + i * slotSize) >> 2] = i;
        if (wake === "queue") {
          for (let i = 0; i < consumers; i++) {
            const queue = ringQueueName(name, i);
            new MessageQueue(queue, { exclusive: true, maxmsg: 4, msgsize: 16, mode: permissions }).close();
            queues.push(queue);
          }
        }
        Atomics.store(h.magic, 0, MAGIC); // last: the ring is ready
        return new Ring(name, map, h, seats);
      } catch (error) {
        map.unmap();
        throw error;
      }
    } catch (error) {
      for (const queue of queues) MessageQueue.unlink(queue);
      SharedMemory.unlink(name);
      throw error;
    } finally {
      shm.close();
    }
  }

  /** Opens the ring `name` that another process created. */
  static open(name: string): Ring {
    const shm = new SharedMemory(name);
    try {
      const size = shm.size;
      if (size < CONSUMER_OFFSET) throw invalid("Ring.open", name, `the object has ${size} bytes, too few for a ring's header`);
      const map = shm.map();
      try {
        const h = Header.attach(map);
        if (Atomics.load(h.magic, 0) !== MAGIC) {
          throw invalid("Ring.open", name, "the object does not hold a ring (no magic number): not a ring, or not set up yet");
        }
        if (h.version[0] !== VERSION) throw invalid("Ring.open", name, `the ring has layout version ${h.version[0]}; this library reads ${VERSION}`);
        if (h.dataOffset[0]! + h.slots[0]! * h.slotSize[0]! > size) throw invalid("Ring.open", name, "the object is smaller than its header says");
        const seats = Array.from({ length: h.maxConsumers[0]! }, (_, i) => Seat.attach(map, CONSUMER_OFFSET + i * SEAT_STRIDE));
        return new Ring(name, map, h, seats);
      } catch (error) {
        map.unmap();
        throw error;
      }
    } finally {
      shm.close();
    }
  }

  /**
   * Removes the ring `name` and its queues. Processes that have it open
   * keep using it until they close it.
   */
  static unlink(name: string): void {
    posixName(name, "shm_unlink");
    let queues = 0;
    try {
      const ring = Ring.open(name);
      queues = ring.wake === "queue" ? ring.maxConsumers : 0;
      ring.close();
    } catch {
      // Not a ring (or half made): remove the object only.
    }
    for (let i = 0; i < queues; i++) {
      try {
        MessageQueue.unlink(ringQueueName(name, i));
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    SharedMemory.unlink(name);
  }

  /** Removes this ring (see the static `unlink`). */
  unlink(): void {
    Ring.unlink(this.name);
  }

  /**
   * Becomes the ring's one producer. Another live producer is a BusyError;
   * a producer that died is replaced, and the stream goes on from where
   * it stopped.
   */
  producer(): RingProducer {
    this.#assertOpen("Ring.producer");
    return new RingProducer(this);
  }

  /**
   * Registers as a consumer in a free seat. In broadcast mode it reads from
   * the items published from now on. Seats of dead consumers are reused.
   * With every seat taken by a live consumer it is a BusyError.
   */
  consumer(): RingConsumer {
    this.#assertOpen("Ring.consumer");
    return new RingConsumer(this);
  }

  /** A snapshot of sequences, consumers and state; takes no lock and changes nothing. */
  status(): RingStatus {
    this.#assertOpen("Ring.status");
    const h = this.h;
    const head = Atomics.load(h.head, 0);
    const consumers: RingConsumerStatus[] = [];
    this.seats.forEach((seat, index) => {
      if (Atomics.load(seat.state, 0) !== SEAT.ACTIVE) return;
      const cursor = Atomics.load(seat.cursor, 0);
      const pid = Atomics.load(seat.pid, 0);
      consumers.push({
        index,
        pid,
        cursor,
        lag: this.delivery === "broadcast" ? Math.max(0, after(head, cursor)) : 0,
        holding: Atomics.load(seat.holdingFlag, 0) === 1 ? Atomics.load(seat.holding, 0) : null,
        alive: processAlive(pid),
      });
    });
    const state = Atomics.load(h.state, 0);
    const orphanCount = Atomics.load(h.orphanCount, 0);
    return {
      delivery: this.delivery,
      wake: this.wake,
      slots: this.slots,
      slotSize: this.slotSize,
      head,
      tail: Atomics.load(h.tail, 0),
      state: state === STATE.ENDED ? "ended" : state === STATE.PRODUCER_DIED ? "producer-died" : "open",
      producerPid: Atomics.load(h.producerPid, 0),
      consumers,
      orphans: Array.from(h.orphans.subarray(0, orphanCount)),
    };
  }

  /**
   * Checks the lease of every registered consumer and frees the seats of
   * those that died (see the module's introduction). The producer does this
   * by itself whenever a consumer holds it up; returns the seats freed.
   */
  reap(): number[] {
    this.#assertOpen("Ring.reap");
    const freed: number[] = [];
    for (let i = 0; i < this.seats.length; i++) {
      if (this.local.has(i)) continue;
      if (Atomics.load(this.seats[i]!.state, 0) !== SEAT.ACTIVE) continue;
      if (this.reapSeat(i)) freed.push(i);
    }
    return freed;
  }

  /** @internal Frees seat i if its consumer died; true if it did. */
  reapSeat(i: number): boolean {
    const seat = this.seats[i]!;
    const lease = tryLease(seat.lease);
    if (lease === "held") return false; // alive
    if (lease === "free") {
      seat.lease.unlock(); // nobody is registered here (it closed meanwhile)
      return false;
    }
    this.recoverSeat(seat);
    seat.lease.consistent();
    seat.lease.unlock();
    return true;
  }

  /**
   * @internal Cleans up after the dead consumer of `seat`, whose lease the
   * caller holds: hands its unacknowledged item on, frees the seat.
   */
  recoverSeat(seat: SeatFields): void {
    if (this.delivery === "work-sharing" && Atomics.load(seat.holdingFlag, 0) === 1) {
      this.withClaimLock(() => {
        const s = Atomics.load(seat.holding, 0);
        const tail = Atomics.load(this.h.tail, 0);
        const pending = this.h.orphans.subarray(0, Atomics.load(this.h.orphanCount, 0));
        const stamp = Atomics.load(this.words, this.slotWord(s));
        // Still unclaimed (it died before committing the claim), already
        // queued again, or released: nothing to hand on.
        if (after(s, tail) >= 0 || pending.includes(s) || stamp !== ((s + 1) | 0)) return;
        const n = Atomics.load(this.h.orphanCount, 0);
        this.h.orphans[n] = s;
        Atomics.store(this.h.orphanCount, 0, n + 1);
      });
      Atomics.store(seat.holdingFlag, 0, 0);
    }
    Atomics.store(seat.sleeping, 0, 0);
    Atomics.store(seat.pid, 0, 0);
    Atomics.store(seat.state, 0, SEAT.FREE);
    // The producer may be waiting for this consumer, and consumers for a
    // handed-on item: let them look again. A wait the dead one left pending
    // ends here too.
    Atomics.add(this.h.space, 0, 1);
    futexWake(this.h.space, 0);
    Atomics.store(this.h.wakePending, 0, 0);
    wakeConsumers(this.h);
  }

  /** @internal Runs `work` holding the claim lock, repairing it if its holder died. */
  withClaimLock<T>(work: () => T): T {
    const lock = this.h.claimLock;
    try {
      lock.lock();
    } catch (error) {
      if (!(error instanceof OwnerDeadError)) throw error;
      // A consumer died inside the claim: the claim's steps are ordered so
      // that the state is consistent at every point (see RingConsumer).
      lock.consistent();
    }
    try {
      return work();
    } finally {
      lock.unlock();
    }
  }

  /** @internal The word index of the stamp of the slot of sequence s. */
  slotWord(s: number): number {
    return (this.dataOffset + (s & (this.slots - 1)) * this.slotSize) >> 2;
  }

  /** @internal The byte offset of the slot of sequence s. */
  slotOffset(s: number): number {
    return this.dataOffset + (s & (this.slots - 1)) * this.slotSize;
  }

  /** @internal Checks the producer's lease; true if it died (the ring is then marked so). */
  producerDied(): boolean {
    const lease = this.h.producerLease;
    switch (tryLease(lease)) {
      case "held":
        return false;
      case "free":
        lease.unlock(); // no producer attached right now
        return Atomics.load(this.h.state, 0) === STATE.PRODUCER_DIED;
      case "dead":
        Atomics.compareExchange(this.h.state, 0, STATE.OPEN, STATE.PRODUCER_DIED);
        Atomics.store(this.h.producerPid, 0, 0);
        lease.consistent();
        lease.unlock();
        return true;
    }
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Unmaps the ring from this process, closing the producer and consumers
   * made from it first; the ring itself stays until `unlink`.
   */
  close(): void {
    if (this.#closed) return;
    // Their leases first: a robust mutex still held when its memory goes
    // would leave a dangling entry in this thread's robust list.
    for (const handle of [...this.handles]) handle.close();
    this.#closed = true;
    this.map.unmap();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #assertOpen(call: string): void {
    if (this.#closed) {
      throw new IpcError({ errno: ERRNO.EBADF, call, object: this.name, message: "the ring is closed in this process", hint: "open it again with Ring.open" });
    }
  }
}

function checkShape(options: Pick<RingOptions, "slots" | "slotSize" | "consumers">, call: string): { slots: number; slotSize: number; consumers: number } {
  const slots = count(options.slots ?? 256, `${call}: slots`, 2 ** 20, 2);
  if (!isPowerOfTwo(slots)) throw new RangeError(`${call}: slots must be a power of two (a sequence number then finds its slot with a mask), got ${slots}`);
  const slotSize = count(options.slotSize ?? 128, `${call}: slotSize`, 2 ** 26, 16);
  if (slotSize % 8 !== 0) throw new RangeError(`${call}: slotSize must be a multiple of 8, got ${slotSize}`);
  const consumers = count(options.consumers ?? 8, `${call}: consumers`, RING_MAX_CONSUMERS, 1);
  return { slots, slotSize, consumers };
}

function dataOffsetFor(consumers: number): number {
  return alignUp(CONSUMER_OFFSET + consumers * SEAT_STRIDE, CACHE_LINE);
}

/* ------------------------------------------------------------------------
 * Producer
 * --------------------------------------------------------------------- */

/**
 * The one producer of a ring: writes records, waits for room, ends the
 * stream. Made by `ring.producer()`.
 */
export class RingProducer implements Disposable {
  /** The ring this producer writes to. */
  readonly ring: Ring;
  #head: number;
  /** Broadcast: the first sequence that would overwrite an unread slot. */
  #limit: number;
  #closed = false;
  readonly #queues: (MessageQueue | undefined)[] = [];
  readonly #notice = new Int32Array(4);
  readonly #noticeBytes = new Uint8Array(this.#notice.buffer);
  readonly #source = new WordCache();
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #mask: number;
  readonly #slotSize: number;
  readonly #dataOffset: number;
  readonly #maxRecord: number;
  readonly #broadcast: boolean;
  readonly #queueWake: boolean;

  /** @internal Use `ring.producer()`. */
  constructor(ring: Ring) {
    this.ring = ring;
    const lease = ring.h.producerLease;
    let took = true;
    try {
      // Timed, not a try: a consumer checking whether a producer is attached holds the lease for a moment.
      lease.lock(0.5);
    } catch (error) {
      if (error instanceof OwnerDeadError) lease.consistent(); // the previous producer died: take over
      else if (error instanceof TimeoutError) took = false;
      // EDEADLK: this process is the producer already, through another handle.
      else if (error instanceof IpcError && error.errno === ERRNO.EDEADLK) took = false;
      else throw error;
    }
    if (!took) {
      throw new BusyError({
        errno: ERRNO.EBUSY,
        call: "Ring.producer",
        object: ring.name,
        message: `the ring has a producer already (pid ${Atomics.load(ring.h.producerPid, 0)})`,
        hint: "a ring has one producer; close it there first, or have it send for you",
      });
    }
    ring.handles.add(this);
    Atomics.store(ring.h.producerPid, 0, process.pid);
    Atomics.compareExchange(ring.h.state, 0, STATE.PRODUCER_DIED, STATE.OPEN);
    this.#head = Atomics.load(ring.h.head, 0);
    this.#limit = this.#head;
    this.#words = ring.words;
    this.#bytes = ring.bytes;
    this.#mask = ring.slots - 1;
    this.#slotSize = ring.slotSize;
    this.#dataOffset = ring.dataOffset;
    this.#maxRecord = ring.maxRecord;
    this.#broadcast = ring.delivery === "broadcast";
    this.#queueWake = ring.wake === "queue";
  }

  /** The next sequence number this producer publishes (items published so far, mod 2^32). */
  get sequence(): number {
    return this.#head;
  }

  /**
   * Publishes one record (bytes, or text as UTF-8), waiting up to
   * `timeout` seconds for room (undefined: for ever; 0: not at all,
   * BusyError) while the ring is full.
   */
  write(data: Uint8Array | string, timeout?: number): void {
    if (this.#closed || this.ring.closed) this.#check("RingProducer.write");
    const head = this.#head;
    // The fast path: room known from the last look at the consumers' cursors.
    if (!(this.#broadcast && after(this.#limit, head) > 0) && !this.#hasRoom(head)) {
      this.#waitForRoom(head, timeout === undefined ? undefined : timeoutOf(timeout, "RingProducer.write"));
    }
    this.#put(head, data);
  }

  /** write() that waits for room without blocking the event loop. */
  async writeAsync(data: Uint8Array | string, timeout?: number): Promise<void> {
    const seconds = timeout === undefined ? undefined : timeoutOf(timeout, "RingProducer.write");
    const ring = this.#check("RingProducer.write");
    const head = this.#head;
    if (!this.#hasRoom(head)) {
      const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
      let reaped = Date.now();
      for (;;) {
        const space = this.#prepareWait(head);
        if (space === null) break;
        const left = deadline - Date.now();
        if (left <= 0) {
          Atomics.store(ring.h.producerWaiting, 0, 0);
          throw waitError("RingProducer.write", ring.name, seconds ?? 0, "the ring stayed full");
        }
        await futexWaitAsync(ring.h.space, 0, space, Math.min(left / 1000, LIVENESS_SLICE));
        if (Date.now() - reaped >= LIVENESS_SLICE * 1000 && !this.#hasRoom(head)) {
          ring.reap();
          reaped = Date.now();
        }
      }
      Atomics.store(ring.h.producerWaiting, 0, 0);
    }
    this.#put(head, data);
  }

  /** Publishes the record at `head`, which has room. */
  #put(head: number, data: Uint8Array | string): void {
    const ring = this.ring;
    const offset = this.#dataOffset + (head & this.#mask) * this.#slotSize;
    const payload = offset + RING_SLOT_HEADER;
    const words = this.#words;
    let length: number;
    if (typeof data === "string") {
      const { read, written } = encoder.encodeInto(data, this.#bytes.subarray(payload, offset + this.#slotSize));
      if (read < data.length) throw tooLong(ring, encoder.encode(data).length);
      length = written;
    } else {
      if (!(data instanceof Uint8Array)) throw new TypeError(`RingProducer.write: a record is a Uint8Array or a string, got ${data === null ? "null" : typeof data}`);
      length = data.length;
      if (length > this.#maxRecord) throw tooLong(ring, length);
      const cache = this.#source;
      if (length <= WORD_COPY_MAX && (data === cache.cached || cache.adopt(data))) copyWords(words, payload >> 2, cache.words, 0, length >> 2);
      else this.#bytes.set(data, payload);
    }
    const w = offset >> 2;
    words[w + 1] = length;
    const next = (head + 1) | 0;
    // The stamp: this slot holds sequence `head`. In broadcast mode the
    // atomic store of `head` below publishes it; in work-sharing mode
    // consumers claim by the stamp, so it is published itself.
    if (this.#broadcast) words[w] = next;
    else Atomics.store(words, w, next);
    this.#head = next;
    const h = ring.h;
    Atomics.store(h.head, 0, next); // publish
    if (Atomics.load(h.waiters, 0) !== 0 && Atomics.compareExchange(h.wakePending, 0, 0, 1) === 0) wakeConsumers(h);
    if (this.#queueWake && Atomics.load(h.sleepers, 0) !== 0) this.#notify(RING_NOTICE.DATA, head, length);
  }

  /**
   * Ends the stream: consumers read what is left, then get null. Call it
   * once, after the last write.
   */
  end(): void {
    const ring = this.#check("RingProducer.end");
    Atomics.store(ring.h.state, 0, STATE.ENDED);
    wakeConsumers(ring.h);
    if (ring.wake === "queue") this.#notify(RING_NOTICE.END, this.#head, 0, true);
  }

  /**
   * Gives up the producer's role (the lease). Without end() first,
   * consumers wait for a new producer. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ring.handles.delete(this);
    for (const queue of this.#queues) queue?.close();
    if (!this.ring.closed) {
      Atomics.store(this.ring.h.producerPid, 0, 0);
      this.ring.h.producerLease.unlock();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(call: string): Ring {
    if (this.#closed) {
      throw new IpcError({ errno: ERRNO.EBADF, call, object: this.ring.name, message: "this producer is closed", hint: "take the role again with ring.producer()" });
    }
    if (this.ring.closed) {
      throw new IpcError({ errno: ERRNO.EBADF, call, object: this.ring.name, message: "the ring is closed in this process" });
    }
    return this.ring;
  }

  /** Whether the slot for `head` may be written now. */
  #hasRoom(head: number): boolean {
    const ring = this.ring;
    if (ring.delivery === "work-sharing") return Atomics.load(ring.words, ring.slotWord(head)) === head;
    if (after(this.#limit, head) > 0) return true;
    this.#limit = (this.#slowest(head) + ring.slots) | 0;
    return after(this.#limit, head) > 0;
  }

  /** Broadcast: the cursor of the slowest registered consumer, or `head` if there is none. */
  #slowest(head: number): number {
    let min = head;
    for (const seat of this.ring.seats) {
      if (Atomics.load(seat.state, 0) !== SEAT.ACTIVE) continue;
      const cursor = Atomics.load(seat.cursor, 0);
      if (after(cursor, min) < 0) min = cursor;
    }
    return min;
  }

  /**
   * Says "the producer waits" and reads the `space` word, then looks for
   * room once more; null if there is room now, else the value to sleep on.
   */
  #prepareWait(head: number): number | null {
    const h = this.ring.h;
    Atomics.store(h.producerWaiting, 0, 1);
    const space = Atomics.load(h.space, 0);
    return this.#hasRoom(head) ? null : space;
  }

  #waitForRoom(head: number, seconds: number | undefined): void {
    const ring = this.ring;
    // Spin a little: a consumer is probably just behind.
    for (let i = 0; i < ring.spin; i++) if (this.#hasRoom(head)) return;
    if (seconds === 0) throw waitError("RingProducer.write", ring.name, 0, "the ring is full");
    const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
    let reaped = Date.now();
    try {
      for (;;) {
        const space = this.#prepareWait(head);
        if (space === null) return;
        const left = deadline - Date.now();
        if (left <= 0) throw waitError("RingProducer.write", ring.name, seconds!, "the ring stayed full");
        futexWait(ring.h.space, 0, space, Math.min(left / 1000, LIVENESS_SLICE));
        // Held up for a whole slice, however often others woke us: is the consumer we wait for alive?
        if (Date.now() - reaped >= LIVENESS_SLICE * 1000 && !this.#hasRoom(head)) {
          ring.reap();
          reaped = Date.now();
        }
      }
    } finally {
      Atomics.store(ring.h.producerWaiting, 0, 0);
    }
  }

  /** Queue wake: sends a descriptor to every consumer asleep in mq_receive (to all, with `all`). */
  #notify(kind: number, sequence: number, length: number, all = false): void {
    const ring = this.ring;
    const notice = this.#notice;
    notice[0] = kind;
    notice[1] = sequence;
    notice[2] = sequence & (ring.slots - 1);
    notice[3] = length;
    ring.seats.forEach((seat, i) => {
      if (Atomics.load(seat.state, 0) !== SEAT.ACTIVE) return;
      // One descriptor per sleep: whoever turns `sleeping` from 1 to 0 sends it.
      if (Atomics.compareExchange(seat.sleeping, 0, 1, 0) !== 1 && !all) return;
      const queue = (this.#queues[i] ??= new MessageQueue(ringQueueName(ring.name, i), { access: "write" }));
      try {
        queue.send(this.#noticeBytes, { timeout: 0 });
      } catch (error) {
        // Full: it has descriptors it has not read yet, so it will look anyway.
        if (!(error instanceof BusyError)) throw error;
      }
    });
  }
}

/** Bumps the eventcount and wakes every consumer asleep on it. */
function wakeConsumers(h: HeaderFields): void {
  Atomics.add(h.signal, 0, 1);
  futexWake(h.signal, 0);
}

function tooLong(ring: Ring, length: number): RangeError {
  return new RangeError(`RingProducer.write: the record is ${length} bytes; a slot of ${ring.name} holds at most ${ring.maxRecord} (slotSize ${ring.slotSize} minus its 8-byte header)`);
}

/* ------------------------------------------------------------------------
 * Consumer
 * --------------------------------------------------------------------- */

/**
 * One consumer of a ring, in a seat of its own: reads records in order
 * (broadcast) or takes the next unclaimed one (work-sharing). Made by
 * `ring.consumer()`; `close()` gives the seat back.
 */
export class RingConsumer implements Disposable {
  /** The ring this consumer reads from. */
  readonly ring: Ring;
  /** The seat, 0 to `consumers - 1`; `ringQueueName(ring.name, index)` is its queue. */
  readonly index: number;
  readonly #seat: SeatFields;
  #cursor: number;
  #known: number;
  #queue: MessageQueue | undefined;
  #closed = false;
  /** Work-sharing, manual acknowledgement: the sequence held, or null. */
  #held: number | null = null;
  readonly #target = new WordCache();
  readonly #broadcast: boolean;
  /** Unread records past which the cursor is published after every record. */
  readonly #eager: number;

  /** @internal Use `ring.consumer()`. */
  constructor(ring: Ring) {
    this.ring = ring;
    this.#broadcast = ring.delivery === "broadcast";
    this.#eager = Math.max(0, ring.slots - CURSOR_BATCH);
    const index = this.#takeSeat();
    this.index = index;
    const seat = ring.seats[index]!;
    this.#seat = seat;
    try {
      Atomics.store(seat.pid, 0, process.pid);
      Atomics.store(seat.holdingFlag, 0, 0);
      Atomics.store(seat.sleeping, 0, 0);
      Atomics.add(seat.generation, 0, 1);
      if (ring.delivery === "broadcast") {
        // From the items published from now on. The producer may have
        // decided how far it can go before it saw this seat, but never past
        // a head read after the seat became active.
        Atomics.store(seat.cursor, 0, Atomics.load(ring.h.head, 0));
        Atomics.store(seat.state, 0, SEAT.ACTIVE);
        Atomics.store(seat.cursor, 0, Atomics.load(ring.h.head, 0));
      } else {
        Atomics.store(seat.cursor, 0, 0);
        Atomics.store(seat.state, 0, SEAT.ACTIVE);
      }
      if (ring.wake === "queue") {
        this.#queue = new MessageQueue(ringQueueName(ring.name, index), { access: "read" });
        // Descriptors left from an earlier consumer in this seat are stale.
        try {
          for (;;) this.#queue.receive({ timeout: 0 });
        } catch (error) {
          if (!(error instanceof BusyError)) throw error;
        }
      }
    } catch (error) {
      Atomics.store(seat.state, 0, SEAT.FREE);
      seat.lease.unlock();
      ring.local.delete(index);
      throw error;
    }
    this.#cursor = Atomics.load(seat.cursor, 0);
    this.#known = this.#cursor;
    ring.handles.add(this);
  }

  #takeSeat(): number {
    const ring = this.ring;
    for (let i = 0; i < ring.seats.length; i++) {
      if (ring.local.has(i)) continue;
      const seat = ring.seats[i]!;
      const lease = tryLease(seat.lease);
      if (lease === "held") continue;
      if (lease === "dead") {
        ring.recoverSeat(seat); // the last consumer here died
        seat.lease.consistent();
      }
      ring.local.add(i);
      return i;
    }
    throw new BusyError({
      errno: ERRNO.EBUSY,
      call: "Ring.consumer",
      object: ring.name,
      message: `all ${ring.maxConsumers} consumer seats are taken by live consumers`,
      hint: "create the ring with more `consumers`, or close a consumer first",
    });
  }

  /** Broadcast: the next sequence this consumer reads. */
  get sequence(): number {
    return this.#cursor;
  }

  /**
   * Takes the next record: a copy of its bytes, or null once the producer
   * has ended the stream and everything is read. Waits up to `timeout`
   * seconds for one (undefined: for ever; 0: not at all, BusyError).
   * Throws ProducerGoneError if the producer died and everything it
   * published is read.
   */
  read(timeout?: number): Uint8Array | null {
    const s = this.#next(timeout, "RingConsumer.read");
    if (s === null) return null;
    const ring = this.ring;
    const offset = ring.slotOffset(s);
    const length = ring.words[(offset >> 2) + 1]!;
    const copy = ring.bytes.slice(offset + RING_SLOT_HEADER, offset + RING_SLOT_HEADER + length);
    this.#release(s);
    return copy;
  }

  /** read(), decoded as UTF-8. */
  readText(timeout?: number): string | null {
    const bytes = this.read(timeout);
    return bytes === null ? null : decoder.decode(bytes);
  }

  /**
   * read() into your buffer, with no allocation: returns the record's
   * length, or null at the end of the stream. A record longer than
   * `target` is a RangeError (and stays unread).
   */
  readInto(target: Uint8Array, timeout?: number): number | null {
    const ring = this.ring;
    let s: number | null;
    // The fast path: a broadcast record known to be published already.
    if (this.#broadcast && this.#cursor !== this.#known && !this.#closed && !ring.closed) s = this.#verified(this.#cursor, "RingConsumer.readInto");
    else s = this.#next(timeout, "RingConsumer.readInto");
    if (s === null) return null;
    const offset = ring.dataOffset + (s & (ring.slots - 1)) * ring.slotSize;
    const words = ring.words;
    const length = words[(offset >> 2) + 1]!;
    if (length > target.length) {
      this.#unread(s);
      throw new RangeError(`RingConsumer.readInto: the record is ${length} bytes, the buffer only ${target.length}`);
    }
    const cache = this.#target;
    if (length <= WORD_COPY_MAX && (length & 3) === 0 && (target === cache.cached || cache.adopt(target))) {
      copyWords(cache.words, 0, words, (offset + RING_SLOT_HEADER) >> 2, length >> 2);
    } else target.set(ring.bytes.subarray(offset + RING_SLOT_HEADER, offset + RING_SLOT_HEADER + length));
    this.#release(s);
    return length;
  }

  /**
   * Work-sharing: takes the next record and keeps it claimed until
   * `ack()`. If this process dies before acknowledging, the record goes to
   * another consumer: use this when finishing the work matters more than
   * doing it exactly once. Returns a view into the ring, valid until ack().
   */
  claim(timeout?: number): Uint8Array | null {
    if (this.ring.delivery !== "work-sharing") throw new TypeError("RingConsumer.claim: claim() and ack() are for a work-sharing ring; read() in broadcast mode");
    if (this.#held !== null) throw new TypeError("RingConsumer.claim: acknowledge the record you hold (ack()) before claiming another");
    const s = this.#next(timeout, "RingConsumer.claim");
    if (s === null) return null;
    this.#held = s;
    const ring = this.ring;
    const offset = ring.slotOffset(s);
    const length = ring.words[(offset >> 2) + 1]!;
    return ring.bytes.subarray(offset + RING_SLOT_HEADER, offset + RING_SLOT_HEADER + length);
  }

  /** Work-sharing: the record from claim() is done; its slot may be reused. */
  ack(): void {
    if (this.#held === null) throw new TypeError("RingConsumer.ack: there is no claimed record to acknowledge");
    const s = this.#held;
    this.#held = null;
    this.#release(s);
  }

  /** read() that waits without blocking the event loop. */
  async readAsync(timeout?: number): Promise<Uint8Array | null> {
    const seconds = timeout === undefined ? undefined : timeoutOf(timeout, "RingConsumer.read");
    const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
    for (;;) {
      const left = deadline - Date.now();
      try {
        return this.read(0);
      } catch (error) {
        if (!(error instanceof BusyError)) throw error;
      }
      if (left <= 0) throw waitError("RingConsumer.read", this.ring.name, seconds ?? 0, "nothing was published");
      const h = this.ring.h;
      if (this.ring.wake === "queue") {
        try {
          await this.#queue!.receiveAsync({ timeout: Math.min(left / 1000, LIVENESS_SLICE) });
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
        }
      } else {
        const signal = Atomics.load(h.signal, 0);
        Atomics.add(h.waiters, 0, 1);
        Atomics.store(h.wakePending, 0, 0);
        try {
          if (!this.#available(Atomics.load(h.head, 0)) && Atomics.load(h.state, 0) === STATE.OPEN) {
            await futexWaitAsync(h.signal, 0, signal, Math.min(left / 1000, LIVENESS_SLICE));
          }
        } finally {
          Atomics.sub(h.waiters, 0, 1);
        }
      }
    }
  }

  /**
   * Leaves the ring: frees the seat (and, in broadcast mode, stops holding
   * the producer back). An unacknowledged claim is handed on. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const ring = this.ring;
    ring.handles.delete(this);
    if (ring.closed) return;
    if (this.#held !== null) {
      // Not done with it: let another consumer have it.
      ring.recoverSeat(this.#seat);
      this.#held = null;
    } else {
      Atomics.store(this.#seat.pid, 0, 0);
      Atomics.store(this.#seat.state, 0, SEAT.FREE);
      Atomics.add(ring.h.space, 0, 1);
      futexWake(ring.h.space, 0);
    }
    this.#queue?.close();
    this.#seat.lease.unlock();
    ring.local.delete(this.index);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /* -------------------------------------------------------------------- */

  #check(call: string): Ring {
    if (this.#closed || this.ring.closed) {
      throw new IpcError({ errno: ERRNO.EBADF, call, object: this.ring.name, message: "this consumer is closed", hint: "register again with ring.consumer()" });
    }
    if (this.#held !== null) throw new TypeError(`${call}: acknowledge the claimed record (ack()) first`);
    return this.ring;
  }

  /** Whether there is something to take, given the producer's head. */
  #available(head: number): boolean {
    const ring = this.ring;
    if (ring.delivery === "broadcast") return head !== this.#cursor;
    return after(head, Atomics.load(ring.h.tail, 0)) > 0 || Atomics.load(ring.h.orphanCount, 0) > 0;
  }

  /** The sequence to take next, waiting for one; null at the end of the stream. */
  #next(timeout: number | undefined, call: string): number | null {
    const ring = this.#check(call);
    const seconds = timeout === undefined ? undefined : timeoutOf(timeout, call);
    if (ring.delivery === "broadcast") {
      const cursor = this.#cursor;
      if (cursor === this.#known) {
        this.#known = Atomics.load(ring.h.head, 0);
        if (cursor === this.#known) {
          this.#publish(cursor); // about to wait: the producer must know how far this consumer got
          if (!this.#wait(seconds, call)) return null;
          this.#known = Atomics.load(ring.h.head, 0);
        }
      }
      return this.#verified(cursor, call);
    }
    for (;;) {
      const s = this.#claimOne();
      if (s !== null) return s;
      if (!this.#wait(seconds, call)) return null;
    }
  }

  /**
   * Broadcast: `cursor`, after checking that its slot holds it (the stamp
   * is published by the atomic store of `head`, which this consumer has
   * read, so a plain load sees it).
   */
  #verified(cursor: number, call: string): number {
    const ring = this.ring;
    const stamp = ring.words[ring.slotWord(cursor)]!;
    if (stamp !== ((cursor + 1) | 0)) {
      throw new IpcError({
        errno: ERRNO.EIO,
        call,
        object: ring.name,
        message: `slot of sequence ${cursor} holds sequence ${stamp - 1}: the producer overwrote it before this consumer read it`,
        hint: "a ring's memory was changed by something that does not follow its protocol",
      });
    }
    return cursor;
  }

  /**
   * Work-sharing: claims the next item (a handed-on one first) under the
   * claim lock. The seat records the claim before the shared state moves,
   * so a consumer dying at any point leaves the item either unclaimed or
   * recorded as its own, never lost.
   */
  #claimOne(): number | null {
    const ring = this.ring;
    const h = ring.h;
    if (!this.#available(Atomics.load(h.head, 0))) return null;
    const seat = this.#seat;
    return ring.withClaimLock(() => {
      const orphans = Atomics.load(h.orphanCount, 0);
      if (orphans > 0) {
        const s = h.orphans[orphans - 1]!;
        Atomics.store(seat.holding, 0, s);
        Atomics.store(seat.holdingFlag, 0, 1);
        Atomics.store(h.orphanCount, 0, orphans - 1);
        Atomics.add(seat.redelivered, 0, 1);
        return s;
      }
      const t = Atomics.load(h.tail, 0);
      if (Atomics.load(ring.words, ring.slotWord(t)) !== ((t + 1) | 0)) return null; // not published yet
      Atomics.store(seat.holding, 0, t);
      Atomics.store(seat.holdingFlag, 0, 1);
      Atomics.store(h.tail, 0, (t + 1) | 0);
      return t;
    });
  }

  /** Gives back a record that was not taken after all (readInto with too small a buffer). */
  #unread(s: number): void {
    const ring = this.ring;
    if (ring.delivery === "broadcast") return; // the cursor has not moved
    const h = ring.h;
    ring.withClaimLock(() => {
      const n = Atomics.load(h.orphanCount, 0);
      h.orphans[n] = s;
      Atomics.store(h.orphanCount, 0, n + 1);
      Atomics.store(this.#seat.holdingFlag, 0, 0);
    });
  }

  /** Broadcast: tells the producer this consumer's cursor, and wakes it if it waits for room. */
  #publish(cursor: number): void {
    const h = this.ring.h;
    if (Atomics.load(this.#seat.cursor, 0) === cursor) return;
    Atomics.store(this.#seat.cursor, 0, cursor);
    if (Atomics.load(h.producerWaiting, 0) === 1 && Atomics.compareExchange(h.producerWaiting, 0, 1, 0) === 1) {
      Atomics.add(h.space, 0, 1);
      futexWake(h.space, 0, 1);
    }
  }

  /** The record at `s` is read: move on, and wake the producer if it waits for room. */
  #release(s: number): void {
    const ring = this.ring;
    const h = ring.h;
    if (this.#broadcast) {
      const cursor = (s + 1) | 0;
      this.#cursor = cursor;
      // While the ring has plenty of room, tell the producer every
      // CURSOR_BATCH records: one atomic store and one cache-line transfer
      // per batch, not per record. At once when the ring was nearly full at
      // this consumer's last look, or when the producer waits for room; and
      // before this consumer waits (#next).
      if ((cursor & (CURSOR_BATCH - 1)) !== 0 && ((this.#known - cursor) | 0) < this.#eager && Atomics.load(h.producerWaiting, 0) === 0) return;
      Atomics.store(this.#seat.cursor, 0, cursor);
    } else {
      Atomics.store(ring.words, ring.slotWord(s), (s + ring.slots) | 0); // free for the producer's next lap
      Atomics.store(this.#seat.holdingFlag, 0, 0);
      Atomics.add(this.#seat.cursor, 0, 1);
    }
    if (Atomics.load(h.producerWaiting, 0) === 1 && Atomics.compareExchange(h.producerWaiting, 0, 1, 0) === 1) {
      Atomics.add(h.space, 0, 1);
      futexWake(h.space, 0, 1);
    }
  }

  /**
   * Waits until there may be something to take: spins, then sleeps (futex
   * or queue). Returns false at the end of the stream. Checks the
   * producer's lease while it sleeps.
   */
  #wait(seconds: number | undefined, call: string): boolean {
    const ring = this.ring;
    const h = ring.h;
    for (let i = 0; i < ring.spin; i++) {
      if (this.#available(Atomics.load(h.head, 0))) return true;
    }
    if (this.#finished()) return false;
    if (seconds === 0) throw waitError(call, ring.name, 0, "nothing was published");
    const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
    for (;;) {
      const head = Atomics.load(h.head, 0);
      if (this.#available(head)) return true;
      if (this.#finished()) return false;
      const left = deadline - Date.now();
      if (left <= 0) throw waitError(call, ring.name, seconds!, "nothing was published");
      const slice = Math.min(left / 1000, LIVENESS_SLICE);
      const outcome = ring.wake === "queue" ? this.#sleepOnQueue(slice) : this.#sleepOnFutex(slice);
      if (outcome === "timed-out" && ring.producerDied() && !this.#available(Atomics.load(h.head, 0))) {
        throw producerGone(call, ring.name);
      }
    }
  }

  /** Whether the stream has ended and nothing is left (or the producer died). */
  #finished(): boolean {
    const ring = this.ring;
    const state = Atomics.load(ring.h.state, 0);
    if (state === STATE.OPEN) return false;
    if (this.#available(Atomics.load(ring.h.head, 0))) return false;
    if (state === STATE.PRODUCER_DIED) throw producerGone("RingConsumer.read", ring.name);
    return true;
  }

  #sleepOnFutex(seconds: number): "ok" | "not-equal" | "timed-out" {
    const h = this.ring.h;
    // The order matters: the value to sleep on first, then "I wait", then the last look.
    const signal = Atomics.load(h.signal, 0);
    Atomics.add(h.waiters, 0, 1);
    Atomics.store(h.wakePending, 0, 0);
    try {
      // Published before the producer could see us waiting? Then do not sleep.
      if (this.#available(Atomics.load(h.head, 0)) || Atomics.load(h.state, 0) !== STATE.OPEN) return "not-equal";
      return futexWait(h.signal, 0, signal, seconds);
    } finally {
      Atomics.sub(h.waiters, 0, 1);
    }
  }

  #sleepOnQueue(seconds: number): "ok" | "not-equal" | "timed-out" {
    const h = this.ring.h;
    const seat = this.#seat;
    const queue = this.#queue!;
    Atomics.add(h.sleepers, 0, 1);
    Atomics.store(seat.sleeping, 0, 1);
    try {
      if (this.#available(Atomics.load(h.head, 0)) || Atomics.load(h.state, 0) !== STATE.OPEN) {
        // Not going to sleep after all. If the producer turned the flag off
        // meanwhile, its descriptor is on the way: take it, or it would wake
        // the next sleep for nothing.
        if (Atomics.compareExchange(seat.sleeping, 0, 1, 0) !== 1) queue.receive({ timeout: 1 });
        return "not-equal";
      }
      try {
        queue.receive({ timeout: seconds });
        return "ok";
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        if (Atomics.compareExchange(seat.sleeping, 0, 1, 0) !== 1) {
          queue.receive({ timeout: 1 }); // the descriptor raced the timeout
          return "ok";
        }
        return "timed-out";
      }
    } finally {
      Atomics.sub(h.sleepers, 0, 1);
    }
  }
}
