/**
 * Graded tests of chapter 10 (capstone: one producer, many consumers).
 * The student's producer and consumers run in their own processes; this
 * process reads the ring's shared memory and the queues itself, plays the
 * other side where a task needs one (a consumer for the producer, a
 * producer for the consumer), kills a consumer midway, and checks that
 * every live consumer got every item once, whole and in order.
 *
 *   bun test test/10-capstone.test.ts                               grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/10-capstone.test.ts   grades another folder
 */
import fs from "node:fs";
import { randomInt } from "node:crypto";
import { futexWake, MessageQueue, SharedMemory, spawn, type Mapping } from "../lib/index.ts";
import { gradedChapter, must } from "./harness/task.ts";

const { task } = gradedChapter("10-capstone");

/* The layout and the items, as the exercise file defines them (RING, NOTICE, checksum, payloadFor). */
const RING = { headerBytes: 256, head: 0, ended: 1, space: 2, slots: 3, slotSize: 4, seats: 5, producer: 6, firstSeat: 16, slotHeaderBytes: 16 };
const NOTICE = { DATA: 1, END: 2, bytes: 8, maxmsg: 8 };

const queueName = (name: string, seat: number) => `${name}-q${seat}`;
const pidWord = (seat: number) => RING.firstSeat + 2 * seat;
const cursorWord = (seat: number) => RING.firstSeat + 2 * seat + 1;

function checksum(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function payloadFor(seed: number, seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** A ring made by this process (not by the student's createRing), mapped here for the whole task. */
interface TestRing {
  name: string;
  map: Mapping;
  words: Int32Array;
  bytes: Uint8Array;
  slots: number;
  slotSize: number;
}

function makeRing(name: string, slots: number, slotSize: number, seats: number): TestRing {
  using shm = new SharedMemory(name, { exclusive: true, size: RING.headerBytes + slots * slotSize });
  const map = shm.map();
  const words = map.view(Int32Array);
  words[RING.slots] = slots;
  words[RING.slotSize] = slotSize;
  words[RING.seats] = seats;
  for (let seat = 0; seat < seats; seat++) new MessageQueue(queueName(name, seat), { exclusive: true, maxmsg: NOTICE.maxmsg, msgsize: NOTICE.bytes }).close();
  return { name, map, words, bytes: map.bytes(), slots, slotSize };
}

/** CPU time (user + system) a process has used so far, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
}

/** Waits (without blocking) until `condition()` holds; false if `ms` pass first. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(2);
  }
  return true;
}

/** The item in the slot of `seq`, checked: null if it is whole and right, else what is wrong. */
function checkSlot(ring: TestRing, seq: number, seed: number, size: number): string | null {
  const at = RING.headerBytes + (seq % ring.slots) * ring.slotSize;
  const view = new DataView(ring.bytes.buffer, at, RING.slotHeaderBytes);
  if (view.getUint32(0, true) !== seq) return `the slot of item ${seq} says it holds item ${view.getUint32(0, true)}`;
  if (view.getUint32(4, true) !== size) return `item ${seq} has length ${view.getUint32(4, true)}; its payload is ${size} bytes`;
  const payload = ring.bytes.subarray(at + RING.slotHeaderBytes, at + RING.slotHeaderBytes + size);
  const expected = payloadFor(seed, seq, size);
  if (!payload.every((b, i) => b === expected[i])) return `item ${seq}'s payload is not payloadFor(seed, ${seq}, ${size})`;
  if (view.getUint32(8, true) !== checksum(expected)) return `item ${seq}'s checksum field does not match its payload`;
  return null;
}

/** Reads, as consumer `seat`, what has been published; moves the cursor and wakes the producer. Returns the problems found. */
function readAs(ring: TestRing, seat: number, seed: number, size: number, upTo = Infinity): string[] {
  const problems: string[] = [];
  let cursor = Atomics.load(ring.words, cursorWord(seat));
  const head = Atomics.load(ring.words, RING.head);
  if (head - cursor > ring.slots) problems.push(`head is ${head} while a registered consumer is at ${cursor}: the producer overwrote ${head - cursor - ring.slots} unread slot(s)`);
  const start = cursor;
  while (cursor < head && cursor < upTo) {
    const wrong = checkSlot(ring, cursor, seed, size);
    if (wrong) problems.push(wrong);
    cursor++;
    Atomics.store(ring.words, cursorWord(seat), cursor);
  }
  if (cursor !== start) {
    Atomics.add(ring.words, RING.space, 1);
    futexWake(ring.words, RING.space);
  }
  return problems;
}

/** Verifies what a consumer returned: items 0 to count - 1, in order, each payload's checksum right, none torn. */
function verifyConsumed(value: unknown, count: number, seed: number, size: number, who: string): void {
  const got = value as { sequences?: unknown; checksums?: unknown; torn?: unknown } | undefined;
  must(got && Array.isArray(got.sequences) && Array.isArray(got.checksums), `${who} must return { sequences, checksums, torn }`);
  const sequences = got.sequences as number[];
  const checksums = got.checksums as number[];
  must(sequences.length === count, `${who} read ${sequences.length} items; ${count} were published`);
  const outOfOrder = sequences.findIndex((s, i) => s !== i);
  must(outOfOrder === -1, `${who}'s item ${outOfOrder} has sequence ${sequences[outOfOrder]}: items must come in order, none lost, none twice`);
  const bad = checksums.findIndex((c, i) => c !== checksum(payloadFor(seed, i, size)));
  must(bad === -1, `${who} read item ${bad} with checksum ${checksums[bad]}, but its payload's checksum is ${checksum(payloadFor(seed, bad, size))}: a torn or wrong read`);
  must(got.torn === 0, `${who} counted ${String(got.torn)} torn item(s); a correct ring has none`);
}

task(
  {
    number: 1,
    title: "create the ring: shared memory with its header, a queue per seat",
    points: 2,
    read: "The ring in shared memory",
    hint: "new SharedMemory(name, { exclusive: true, size: RING.headerBytes + slots * slotSize }), then a view(Int32Array) to fill the slots, slotSize and seats words; one new MessageQueue(queueName(name, seat), { exclusive: true, maxmsg: 8, msgsize: 8 }) per seat, closed.",
  },
  async (t) => {
    const name = t.name("ring");
    const [slots, slotSize, seats] = [randomInt(4, 32), 8 * randomInt(4, 40), randomInt(2, 6)];
    t.done(await t.call("createRing", [name, slots, slotSize, seats]), "createRing()");
    const file = `/dev/shm${name}`;
    must(fs.existsSync(file), `${name} does not exist in /dev/shm after createRing()`);
    const size = fs.statSync(file).size;
    must(size === RING.headerBytes + slots * slotSize, `${name} has ${size} bytes; a ring of ${slots} slots of ${slotSize} needs ${RING.headerBytes} + ${slots} × ${slotSize} = ${RING.headerBytes + slots * slotSize}`);
    const header = new Int32Array(fs.readFileSync(file).buffer, 0, RING.headerBytes / 4);
    must(header[RING.slots] === slots && header[RING.slotSize] === slotSize && header[RING.seats] === seats, `the header's slots, slotSize and seats words hold ${header[RING.slots]}, ${header[RING.slotSize]}, ${header[RING.seats]}; expected ${slots}, ${slotSize}, ${seats}`);
    must([RING.head, RING.ended, RING.space, RING.producer].every((w) => header[w] === 0), "head, ended, space and producer must start at 0");
    for (let seat = 0; seat < seats; seat++) {
      must(MessageQueue.exists(queueName(name, seat)), `there is no queue ${queueName(name, seat)} for seat ${seat}`);
      using queue = new MessageQueue(queueName(name, seat), { access: "read" });
      const { maxmsg, msgsize, curmsgs } = queue.attributes();
      must(maxmsg === NOTICE.maxmsg && msgsize === NOTICE.bytes, `queue ${queue.name} holds ${maxmsg} messages of ${msgsize} bytes; a notice queue holds ${NOTICE.maxmsg} of ${NOTICE.bytes}`);
      must(curmsgs === 0, `queue ${queue.name} is not empty`);
    }
    must(!MessageQueue.exists(queueName(name, seats)), `createRing() made a queue for seat ${seats}, but there are only ${seats} seats`);

    // An existing ring is someone else's: refuse it and leave it alone.
    const marker = Buffer.from("someone else's ring");
    fs.writeFileSync(file, marker, { flag: "r+" });
    const again = await t.call("createRing", [name, slots, slotSize, seats]);
    must(!again.ok && again.error?.code === "EEXIST", "createRing() on a name that exists must fail with EEXIST (create exclusively)");
    must(fs.readFileSync(file).subarray(0, marker.length).equals(marker) && fs.statSync(file).size === size, "createRing() changed a ring that existed before it");
  },
);

task(
  {
    number: 2,
    title: "produce: publish in order, never overwrite an unread slot, sleep while full, announce",
    points: 4,
    read: "Publishing an item",
    hint: "Per item: while some registered seat is `slots` behind, read `space`, look again, then futexWait(words, RING.space, seen, 0.05). Write the slot, then Atomics.store(words, RING.head, seq + 1), then send [DATA, seq + 1] to each registered seat's queue with { timeout: 0 }, ignoring BusyError.",
    timeoutMs: 40_000,
  },
  async (t) => {
    const name = t.name("ring");
    const ring = makeRing(name, 8, 96, 3);
    const me = process.pid;
    for (const seat of [0, 1]) Atomics.store(ring.words, pidWord(seat), me); // this process plays two consumers; seat 2 stays free
    const [count, seed, size] = [400, randomInt(2 ** 31), 64];
    const call = t.call("produce", [name, count, seed, size]);
    let finished = false;
    void call.then(() => (finished = true));
    const queues = [0, 1, 2].map((seat) => new MessageQueue(queueName(name, seat), { access: "read" }));
    const notices: number[][] = [[], [], []];
    const drain = () =>
      queues.forEach((queue, seat) => {
        for (;;) {
          try {
            const message = queue.receive({ timeout: 0 });
            const words = new Int32Array(message.data.buffer.slice(message.data.byteOffset, message.data.byteOffset + 8));
            notices[seat]!.push(words[0]!, words[1]!);
          } catch {
            return;
          }
        }
      });
    const problems: string[] = [];
    let sleptMs: number | null = null;
    try {
      // Read everything, but hold seat 1 back at item 100 for a while: the producer must wait, asleep.
      while (!finished || Atomics.load(ring.words, RING.head) !== Atomics.load(ring.words, cursorWord(1))) {
        problems.push(...readAs(ring, 0, seed, size));
        problems.push(...readAs(ring, 1, seed, size, sleptMs === null ? 100 : Infinity));
        drain();
        if (problems.length > 0) break;
        if (sleptMs === null && Atomics.load(ring.words, cursorWord(1)) === 100) {
          await until(() => Atomics.load(ring.words, RING.head) === 108 || finished, 5000);
          const producer = Atomics.load(ring.words, RING.producer);
          must(producer > 0, "produce() did not write its pid into the producer word");
          await Bun.sleep(100);
          const before = cpuMs(producer);
          await Bun.sleep(600);
          sleptMs = cpuMs(producer) - before;
          must(Atomics.load(ring.words, RING.head) === 108, `with a consumer at item 100 and 8 slots, head must stop at 108, but it is ${Atomics.load(ring.words, RING.head)}`);
        }
        if (finished && Atomics.load(ring.words, RING.head) !== count) break;
        await Bun.sleep(1);
      }
      const result = await call;
      t.done(result, "produce()");
      must(problems.length === 0, problems[0] ?? "");
      must(sleptMs !== null && sleptMs < 200, `while the ring was full for 600 ms the producer used ${sleptMs} ms of CPU: it must sleep (futexWait on space), not spin`);
      must(Atomics.load(ring.words, RING.head) === count, `head is ${Atomics.load(ring.words, RING.head)} after produce() returned; ${count} items were to be published`);
      must(Atomics.load(ring.words, RING.ended) === 1, "produce() returned without setting the ended word");
      for (const seat of [0, 1]) must(Atomics.load(ring.words, cursorWord(seat)) === count, `consumer ${seat} could read only ${Atomics.load(ring.words, cursorWord(seat))} of ${count} items`);
      drain();
      for (const seat of [0, 1]) {
        const pairs = notices[seat]!;
        must(pairs.length >= 2, `the queue of registered seat ${seat} got no notice: announce each item on the queues of the registered consumers`);
        for (let i = 0; i < pairs.length; i += 2) {
          must(pairs[i] === NOTICE.DATA || pairs[i] === NOTICE.END, `a notice on seat ${seat}'s queue has kind ${pairs[i]}; DATA is 1, END 2`);
          must(pairs[i + 1]! >= 1 && pairs[i + 1]! <= count, `a notice on seat ${seat}'s queue says sequence ${pairs[i + 1]}; it should be the head after publishing (1 to ${count})`);
        }
      }
      must(notices[2]!.length === 0, "seat 2 has no consumer (pid 0) but its queue got notices: announce only to registered seats");
    } finally {
      queues.forEach((q) => q.close());
      ring.map.unmap();
    }
  },
);

task(
  {
    number: 3,
    title: "consume: register, read every item once and whole, sleep on the queue",
    points: 4,
    read: "Consuming and sleeping",
    hint: "Register with Atomics.store (cursor, then pid). Loop: read from your cursor to head, checksum each payload, Atomics.store the cursor, bump space and futexWake it; with nothing to read, return if ended, else queue.receive({ timeout: 0.2 }) and catch the TimeoutError.",
    timeoutMs: 40_000,
  },
  async (t) => {
    const name = t.name("ring");
    const ring = makeRing(name, 8, 128, 2);
    const seat = 1;
    const [count, seed, size] = [300, randomInt(2 ** 31), 100];
    const call = t.call("consume", [name, seat]);
    let finished = false;
    void call.then(() => (finished = true));
    using queue = new MessageQueue(queueName(name, seat), { access: "write" });
    const notice = new Int32Array(2);
    const announce = (kind: number, sequence: number) => {
      notice.set([kind, sequence]);
      try {
        queue.send(new Uint8Array(notice.buffer), { timeout: 0 });
      } catch {
        // full: it has notices to read already
      }
    };
    try {
      const registered = await until(() => Atomics.load(ring.words, pidWord(seat)) !== 0 || finished, 10_000);
      if (finished) t.done(await call, "consume()");
      must(registered, `consume() did not register: seat ${seat}'s pid word stayed 0`);
      const pid = Atomics.load(ring.words, pidWord(seat));
      await Bun.sleep(200);
      const before = cpuMs(pid);
      await Bun.sleep(600);
      const idle = cpuMs(pid) - before;
      must(idle < 200, `with nothing published for 600 ms the consumer used ${idle} ms of CPU: it must sleep in receive on its queue, not spin`);

      for (let seq = 0; seq < count; seq++) {
        const room = await until(() => seq - Atomics.load(ring.words, cursorWord(seat)) < ring.slots || finished, 10_000);
        must(room && !finished, `consume() stopped reading at item ${Atomics.load(ring.words, cursorWord(seat))}`);
        const payload = payloadFor(seed, seq, size);
        const at = RING.headerBytes + (seq % ring.slots) * ring.slotSize;
        const view = new DataView(ring.bytes.buffer, at, RING.slotHeaderBytes);
        view.setUint32(0, seq, true);
        view.setUint32(4, size, true);
        view.setUint32(8, checksum(payload), true);
        ring.bytes.set(payload, at + RING.slotHeaderBytes);
        Atomics.store(ring.words, RING.head, seq + 1);
        announce(NOTICE.DATA, seq + 1);
        if (seq === 150) await Bun.sleep(300); // a pause: the consumer goes back to sleep, and must wake again
      }
      // The end, without a notice: as if the queue had been full. A consumer that waits with a timeout still finds out.
      Atomics.store(ring.words, RING.ended, 1);
      const result = await call;
      t.done(result, "consume()");
      verifyConsumed(result.value, count, seed, size, "consume()");
      must(Atomics.load(ring.words, cursorWord(seat)) === count, `seat ${seat}'s cursor is ${Atomics.load(ring.words, cursorWord(seat))}; after reading everything it must be ${count}`);
      must(Atomics.load(ring.words, pidWord(seat)) === 0, `consume() returned but seat ${seat} still names pid ${Atomics.load(ring.words, pidWord(seat))}: give the seat back (pid 0)`);
    } finally {
      ring.map.unmap();
    }
  },
);

task(
  {
    number: 4,
    title: "free the seats of dead consumers, and only those",
    points: 2,
    read: "When a consumer dies",
    hint: "For each seat: a pid that is not 0 and for which pidAlive(pid) is false (gone, or a zombie) gets 0, with Atomics.compareExchange so that a seat taken meanwhile is left alone. Return the seats freed.",
  },
  async (t) => {
    const name = t.name("ring");
    const ring = makeRing(name, 8, 64, 4);
    try {
      const gone = Bun.spawn(["true"]);
      await gone.exited; // reaped by Bun: the pid names nobody now
      using zombie = spawn(["true"]); // exits, and nobody waits for it: a zombie
      await until(() => {
        try {
          return fs.readFileSync(`/proc/${zombie.pid}/stat`, "utf8").includes(") Z ");
        } catch {
          return false;
        }
      }, 5000);
      const cursors = [randomInt(1000), randomInt(1000), randomInt(1000), randomInt(1000)];
      [process.pid, gone.pid, 0, zombie.pid].forEach((pid, seat) => {
        ring.words[pidWord(seat)] = pid;
        ring.words[cursorWord(seat)] = cursors[seat]!;
      });
      const result = await t.call("reapDeadConsumers", [name]);
      t.done(result, "reapDeadConsumers()");
      const freed = ([...((result.value as number[] | undefined) ?? [])] as number[]).sort();
      must(JSON.stringify(freed) === "[1,3]", `reapDeadConsumers() returned ${JSON.stringify(result.value)}; seats 1 (its process is gone) and 3 (a zombie) are dead, 0 is alive, 2 is free`);
      must(ring.words[pidWord(0)] === process.pid, "reapDeadConsumers() freed the seat of a live consumer");
      must(ring.words[pidWord(1)] === 0, "seat 1's process is gone, but its pid is still there");
      must(ring.words[pidWord(3)] === 0, "seat 3's process is a zombie (dead, not yet waited for), but its pid is still there: a zombie counts as dead");
      must(cursors.every((c, seat) => ring.words[cursorWord(seat)] === c), "reapDeadConsumers() must change pids only, not cursors");
      zombie.wait();
    } finally {
      ring.map.unmap();
    }
  },
);

task(
  {
    number: 5,
    title: "one producer, three consumers, one killed midway: the others lose nothing",
    points: 4,
    read: "One producer, many consumers",
    hint: "This runs your produce() and three consume() together and kills one consumer with SIGKILL. If the producer stalls, it does not free the dead consumer's seat when a wait for room ends with no room made (call reapDeadConsumers).",
    timeoutMs: 60_000,
  },
  async (t) => {
    const name = t.name("ring");
    const ring = makeRing(name, 16, 256, 4);
    const [count, seed, size] = [2000, randomInt(2 ** 31), 200];
    const pacer = 3; // this process's own seat: it holds the producer at item 1000 until the victim is dead
    Atomics.store(ring.words, pidWord(pacer), process.pid);
    const consumers = t.callTogether("consume", [[name, 0], [name, 1], [name, 2]]);
    let consumersDone = false;
    void consumers.then(() => (consumersDone = true));
    try {
      const registered = await until(() => [0, 1, 2].every((s) => Atomics.load(ring.words, pidWord(s)) !== 0) || consumersDone, 15_000);
      if (consumersDone) (await consumers).forEach((r, seat) => t.done(r, `consume() in seat ${seat}`));
      must(registered && !consumersDone, "the three consume() calls did not all register in their seats");
      const victim = Atomics.load(ring.words, pidWord(1));
      const producer = t.call("produce", [name, count, seed, size]);
      let produced = false;
      void producer.then(() => (produced = true));
      const problems: string[] = [];
      let killed = false;
      while (!produced || Atomics.load(ring.words, cursorWord(pacer)) < Atomics.load(ring.words, RING.head)) {
        problems.push(...readAs(ring, pacer, seed, size, killed ? Infinity : 1000));
        if (problems.length > 0) break;
        if (!killed && Atomics.load(ring.words, cursorWord(pacer)) === 1000 && Atomics.load(ring.words, cursorWord(1)) >= 900) {
          process.kill(victim, "SIGKILL"); // midway: items 0 to ~1000 read, ~1000 to go
          killed = true;
        }
        if (produced && !killed) break;
        await Bun.sleep(1);
      }
      const made = await producer;
      const results = await consumers;
      must(killed, "the consumer in seat 1 never reached item 900, so it could not be killed midway");
      t.done(made, "produce() (with a consumer killed midway)");
      must(problems.length === 0, problems[0] ?? "");
      must(Atomics.load(ring.words, RING.head) === count, `the producer stopped at ${Atomics.load(ring.words, RING.head)} of ${count} items`);
      must(results[1]!.signal === "SIGKILL", "the consumer in seat 1 should have been killed by SIGKILL");
      must(Atomics.load(ring.words, pidWord(1)) === 0, "the killed consumer's seat still names its pid: the producer must free it (reapDeadConsumers) or it holds the ring back");
      for (const seat of [0, 2]) {
        t.done(results[seat]!, `consume() in seat ${seat}`);
        verifyConsumed(results[seat]!.value, count, seed, size, `the consumer in seat ${seat}`);
      }
    } finally {
      await consumers.catch(() => undefined);
      ring.map.unmap();
    }
  },
);
