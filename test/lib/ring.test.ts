/**
 * The shared-memory ring (lib/ring.ts): input checks, one process, then
 * producers and consumers in separate processes (test/lib/ring-child.ts),
 * broadcast and work-sharing, futex and queue wake-ups, and processes
 * killed with SIGKILL at awkward moments: a consumer that stops reading,
 * a consumer holding a claimed item, a producer in mid-stream.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { BusyError, ExistsError, InvalidError, MessageQueue, ProducerGoneError, Ring, ringQueueName, TimeoutError } from "../../lib/index.ts";
import { checkItem, makeItem } from "./ring-items.ts";
import { PREFIX, uniqueName } from "./support.ts";

const CHILD = path.join(import.meta.dir, "ring-child.ts");

/** A child process whose stdout is read line by line as JSON. */
class Child {
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly lines: Record<string, unknown>[] = [];
  readonly done: Promise<void>;
  stderr = "";

  constructor(role: string, name: string, ...args: (string | number)[]) {
    const proc = Bun.spawn([process.execPath, CHILD, role, name, ...args.map(String)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    this.proc = proc;
    children.add(this);
    const decoder = new TextDecoder();
    let partial = "";
    const out = (async () => {
      for await (const chunk of proc.stdout) {
        partial += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = partial.indexOf("\n")) !== -1) {
          this.lines.push(JSON.parse(partial.slice(0, newline)) as Record<string, unknown>);
          partial = partial.slice(newline + 1);
        }
      }
    })();
    const err = new Response(proc.stderr).text().then((text) => void (this.stderr = text));
    this.done = Promise.all([out, err, proc.exited]).then(() => undefined);
  }

  /** The first line that has `key`, waiting for it. */
  async line(key: string, seconds = 20): Promise<Record<string, unknown>> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const found = this.lines.find((l) => key in l);
      if (found) return found;
      if (this.proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`child never said ${key}: exit ${this.proc.exitCode}, lines ${JSON.stringify(this.lines)}, stderr ${this.stderr}`);
      }
      await Bun.sleep(5);
    }
  }

  /** Waits for it to end; fails on a non-zero exit. */
  async finished(): Promise<void> {
    await this.done;
    if (this.proc.exitCode !== 0) throw new Error(`child exited with ${this.proc.exitCode} (${this.proc.signalCode}): ${this.stderr}`);
  }

  kill(): void {
    this.proc.kill("SIGKILL");
  }
}

const children = new Set<Child>();
const rings: string[] = [];

function newRing(label: string, options: Parameters<typeof Ring.create>[1] = {}): Ring {
  const name = uniqueName(label);
  rings.push(name);
  return Ring.create(name, options);
}

afterEach(async () => {
  for (const child of children) child.kill();
  await Promise.all([...children].map((c) => c.done));
  children.clear();
  for (const name of rings.splice(0)) {
    try {
      Ring.unlink(name);
    } catch {
      // removed by the test
    }
  }
});

/** Our objects in /dev/shm and /dev/mqueue. */
function leftovers(): string[] {
  const stem = PREFIX.slice(1);
  return ["/dev/shm", "/dev/mqueue"].flatMap((dir) => fs.readdirSync(dir).filter((e) => e.startsWith(stem)));
}

/** CPU time (user + system) of a process so far, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

describe("input", () => {
  test("refuses a bad shape before making anything", () => {
    const name = uniqueName("bad");
    expect(() => Ring.create("no-slash")).toThrow(InvalidError);
    expect(() => Ring.create(name, { slots: 100 })).toThrow(/power of two/);
    expect(() => Ring.create(name, { slots: 1 })).toThrow(RangeError);
    expect(() => Ring.create(name, { slotSize: 100 })).toThrow(/multiple of 8/);
    expect(() => Ring.create(name, { slotSize: 8 })).toThrow(RangeError);
    expect(() => Ring.create(name, { consumers: 65 })).toThrow(RangeError);
    expect(() => Ring.create(name, { consumers: 0 })).toThrow(RangeError);
    expect(() => Ring.create(name, { delivery: "anycast" as never })).toThrow(TypeError);
    expect(() => Ring.create(name, { wake: "signal" as never })).toThrow(TypeError);
    expect(leftovers()).toEqual([]);
  });

  test("creates exclusively, opens only a ring, and sizes as promised", () => {
    const ring = newRing("excl", { slots: 8, slotSize: 64, consumers: 2 });
    expect(() => Ring.create(ring.name)).toThrow(ExistsError);
    expect(fs.statSync(`/dev/shm${ring.name}`).size).toBe(Ring.sizeOf({ slots: 8, slotSize: 64, consumers: 2 }));
    expect(ring.maxRecord).toBe(56);
    const other = uniqueName("notring");
    fs.writeFileSync(`/dev/shm${other}`, Buffer.alloc(8192));
    try {
      expect(() => Ring.open(other)).toThrow(/does not hold a ring/);
    } finally {
      fs.rmSync(`/dev/shm${other}`);
    }
    ring.close();
  });

  test("a record longer than a slot is a RangeError and publishes nothing", () => {
    using ring = newRing("long", { slots: 4, slotSize: 16 });
    using producer = ring.producer();
    using consumer = ring.consumer();
    expect(() => producer.write(new Uint8Array(9))).toThrow(RangeError);
    expect(() => producer.write("123456789")).toThrow(RangeError);
    expect(() => producer.write(42 as never)).toThrow(TypeError);
    expect(ring.status().head).toBe(0);
    producer.write("12345678");
    expect(consumer.readText()).toBe("12345678");
  });
});

describe("in one process", () => {
  test("records come out in order, text and bytes, variable lengths", () => {
    using ring = newRing("order", { slots: 8, slotSize: 64 });
    using producer = ring.producer();
    using consumer = ring.consumer();
    producer.write("one");
    producer.write(new Uint8Array([1, 2, 3, 4, 5]));
    producer.write("");
    expect(consumer.readText()).toBe("one");
    expect([...consumer.read()!]).toEqual([1, 2, 3, 4, 5]);
    expect(consumer.read()!.length).toBe(0);
    const buffer = new Uint8Array(64);
    producer.write("into");
    expect(consumer.readInto(buffer)).toBe(4);
    expect(new TextDecoder().decode(buffer.subarray(0, 4))).toBe("into");
    producer.write("x".repeat(10));
    expect(() => consumer.readInto(new Uint8Array(4))).toThrow(RangeError);
    expect(consumer.readText()).toBe("x".repeat(10)); // still there
    producer.end();
    expect(consumer.read()).toBeNull();
  });

  test("empty: timeout 0 is a BusyError, a timeout a TimeoutError; full: the same for the producer", () => {
    using ring = newRing("empty", { slots: 2, slotSize: 16, spin: 0 });
    using producer = ring.producer();
    using consumer = ring.consumer();
    expect(() => consumer.read(0)).toThrow(BusyError);
    const started = performance.now();
    expect(() => consumer.read(0.1)).toThrow(TimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    producer.write("a");
    producer.write("b");
    expect(() => producer.write("c", 0)).toThrow(BusyError);
    expect(() => producer.write("c", 0.05)).toThrow(TimeoutError);
    expect(consumer.readText()).toBe("a");
    producer.write("c", 0);
    expect(consumer.readText()).toBe("b");
    expect(consumer.readText()).toBe("c");
  });

  test("sequence numbers wrap past 2^31 without losing the order", () => {
    using ring = newRing("wrap", { slots: 4, slotSize: 16 });
    // Start the sequences just below the wrap, as a long-running ring would be.
    Atomics.store(ring.h.head, 0, 2 ** 31 - 3);
    using consumer = ring.consumer();
    using producer = ring.producer();
    for (let i = 0; i < 10; i++) {
      producer.write(String(i));
      expect(consumer.readText()).toBe(String(i));
    }
    expect(ring.status().head).toBe(-(2 ** 31) + 7);
  });

  test("one producer at a time, and no more consumers than seats", () => {
    using ring = newRing("roles", { consumers: 2 });
    using producer = ring.producer();
    const second = Ring.open(ring.name);
    try {
      expect(() => second.producer()).toThrow(BusyError);
      const a = second.consumer();
      const b = ring.consumer();
      expect(() => ring.consumer()).toThrow(/seats are taken/);
      a.close();
      const c = ring.consumer();
      expect(c.index).toBe(a.index); // the seat is free again
      b.close();
      c.close();
    } finally {
      second.close();
    }
    producer.close();
    using again = ring.producer(); // the role is free again
    expect(again.sequence).toBe(0);
  });

  test("with no consumer registered the producer never blocks", () => {
    using ring = newRing("nobody", { slots: 4, slotSize: 16 });
    using producer = ring.producer();
    for (let i = 0; i < 100; i++) producer.write("dropped", 0);
    using consumer = ring.consumer();
    producer.write("kept");
    expect(consumer.readText()).toBe("kept");
  });

  test("readAsync waits without blocking the event loop", async () => {
    using ring = newRing("async", { slots: 4, slotSize: 32 });
    using producer = ring.producer();
    using consumer = ring.consumer();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const pending = consumer.readAsync(5);
    await Bun.sleep(100);
    producer.write("later");
    const item = await pending;
    clearInterval(timer);
    expect(new TextDecoder().decode(item!)).toBe("later");
    expect(ticks).toBeGreaterThan(5);
  });
});

describe("across processes", () => {
  for (const wake of ["futex", "queue"] as const) {
    test(`broadcast (${wake}): three consumers each get all 20000 items, in order, none torn`, async () => {
      using ring = newRing(`bc-${wake}`, { slots: 16, slotSize: 96, consumers: 4, wake });
      const consumers = [0, 1, 2].map(() => new Child("consume", ring.name));
      await Promise.all(consumers.map((c) => c.line("ready")));
      using producer = ring.producer();
      const total = 20_000;
      for (let seq = 0; seq < total; seq++) await producer.writeAsync(makeItem(seq, 8 + (seq % 80)), 20);
      producer.end();
      for (const c of consumers) {
        await c.finished();
        expect(c.lines.at(-1)).toEqual({ seen: total, first: 0, last: total - 1, inOrder: true, torn: 0 });
      }
    }, 60_000);
  }

  test("broadcast: a consumer killed with SIGKILL midway does not stall the others", async () => {
    using ring = newRing("bc-kill", { slots: 16, slotSize: 64, consumers: 4 });
    const survivors = [new Child("consume", ring.name), new Child("consume", ring.name)];
    const victim = new Child("consume", ring.name, 500); // stops reading after 500 items
    await Promise.all([...survivors, victim].map((c) => c.line("ready")));
    const total = 5_000;
    const producer = new Child("produce", ring.name, total, 56);
    await victim.line("stopped");
    // It holds the ring back now: the producer waits for it, and cannot pass.
    await Bun.sleep(200);
    const stuck = ring.status();
    expect(stuck.head - 500).toBeLessThanOrEqual(16);
    victim.kill();
    await victim.done;
    expect(victim.proc.signalCode).toBe("SIGKILL");
    await producer.finished();
    for (const c of survivors) {
      await c.finished();
      expect(c.lines.at(-1)).toEqual({ seen: total, first: 0, last: total - 1, inOrder: true, torn: 0 });
    }
    expect(ring.status().consumers).toEqual([]); // the dead seat was freed, the others closed
  }, 60_000);

  test("work-sharing: every item goes to exactly one of three workers", async () => {
    using ring = newRing("ws", { slots: 16, slotSize: 64, consumers: 4, delivery: "work-sharing" });
    const workers = [0, 1, 2].map(() => new Child("work", ring.name));
    await Promise.all(workers.map((c) => c.line("ready")));
    using producer = ring.producer();
    const total = 6_000;
    for (let seq = 0; seq < total; seq++) await producer.writeAsync(makeItem(seq, 40), 20);
    producer.end();
    const all: number[] = [];
    for (const w of workers) {
      await w.finished();
      const { seqs, torn } = w.lines.at(-1) as { seqs: number[]; torn: number };
      expect(torn).toBe(0);
      all.push(...seqs);
    }
    expect(all.length).toBe(total);
    expect(new Set(all).size).toBe(total);
  }, 60_000);

  test("work-sharing: the item a killed worker held goes to another worker", async () => {
    using ring = newRing("ws-kill", { slots: 8, slotSize: 64, consumers: 4, delivery: "work-sharing" });
    const holder = new Child("claim-and-hang", ring.name);
    await holder.line("ready");
    using producer = ring.producer();
    producer.write(makeItem(0, 32));
    const { holding } = await holder.line("holding");
    expect(holding).toBe(0);
    expect(ring.status().consumers[0]!.holding).toBe(0);
    holder.kill();
    await holder.done;
    const worker = new Child("work", ring.name);
    await worker.line("ready");
    for (let seq = 1; seq < 200; seq++) await producer.writeAsync(makeItem(seq, 32), 20);
    producer.end();
    await worker.finished();
    const { seqs } = worker.lines.at(-1) as { seqs: number[] };
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  }, 60_000);

  test("a producer killed mid-stream: consumers read what it published, then get ProducerGoneError", async () => {
    using ring = newRing("prod-kill", { slots: 64, slotSize: 32 });
    using consumer = ring.consumer();
    const producer = new Child("produce", ring.name, 1000, 16, 40);
    await producer.line("stopped");
    producer.kill();
    await producer.done;
    let read = 0;
    expect(() => {
      for (;;) {
        const item = consumer.read(10);
        expect(checkItem(item!)).toBe(read);
        read++;
      }
    }).toThrow(ProducerGoneError);
    expect(read).toBe(40);
    expect(ring.status().state).toBe("producer-died");
    using next = ring.producer(); // a new producer takes over
    expect(ring.status().state).toBe("open");
    next.write(makeItem(40, 16));
    expect(checkItem(consumer.read(1)!)).toBe(40);
  }, 60_000);

  for (const wake of ["futex", "queue"] as const) {
    test(`a waiting consumer sleeps (${wake}): almost no CPU while nothing comes`, async () => {
      using ring = newRing(`idle-${wake}`, { wake });
      const idle = new Child("idle", ring.name, 10);
      await idle.line("ready");
      await Bun.sleep(100); // let it settle into its wait
      const before = cpuMs(idle.proc.pid);
      await Bun.sleep(800);
      const burned = cpuMs(idle.proc.pid) - before;
      expect(burned).toBeLessThan(200); // spinning would burn ~800 ms
      using producer = ring.producer();
      producer.end();
      await idle.finished();
    }, 30_000);
  }

  test("queue wake: the descriptors go through one queue per seat, removed with the ring", async () => {
    const ring = newRing("queues", { wake: "queue", consumers: 3 });
    for (let i = 0; i < 3; i++) {
      using queue = new MessageQueue(ringQueueName(ring.name, i), { access: "read" });
      expect(queue.msgsize).toBe(16);
    }
    const consumer = new Child("consume", ring.name);
    await consumer.line("ready");
    await Bun.sleep(200); // asleep in mq_receive now
    using producer = ring.producer();
    producer.write(makeItem(0, 16));
    producer.end();
    await consumer.finished();
    expect(consumer.lines.at(-1)).toEqual({ seen: 1, first: 0, last: 0, inOrder: true, torn: 0 });
    ring.close();
    Ring.unlink(ring.name);
    expect(leftovers()).toEqual([]);
  }, 30_000);
});
