/**
 * queue-vs-ring.ts — one producer, three consumers, every consumer sees
 * every item: sent through message queues, one per consumer, or put once
 * into the library's ring in shared memory, with the same queues only
 * announcing that data is ready.
 *
 * Through the queues each item is copied twice per consumer (into the
 * kernel by mq_send, out again by mq_receive) and kept in kernel memory
 * meanwhile; a message may not be longer than msgsize_max (8 KiB unless
 * root raised it). Through the ring it is written once and read three
 * times, and the kernel carries 16-byte notices, only to consumers that
 * went to sleep.
 *
 * Run:  bun run examples/10-capstone/queue-vs-ring.ts [items] [bytes]
 */
import { MessageQueue, Ring } from "../../lib/index.ts";

const CONSUMERS = 3;
const [role, name] = process.argv.slice(2);
// The parent: [items] [bytes]; a consumer: ROLE NAME items bytes.
const numbers = process.argv.slice(role?.endsWith("consumer") ? 4 : 2).map(Number);
const items = numbers[0] ?? 5000;
const size = numbers[1] ?? 4096;

// ANCHOR: queues
function queueConsumer(name: string): void {
  using queue = new MessageQueue(name, { access: "read" });
  for (let i = 0; i < items; i++) queue.receive(); // a copy out of the kernel, per consumer
}

function queueProducer(names: string[], item: Uint8Array): void {
  const queues = names.map((name) => new MessageQueue(name, { access: "write" }));
  for (let i = 0; i < items; i++) for (const queue of queues) queue.send(item); // a copy into the kernel, per consumer
  queues.forEach((q) => q.close());
}
// ANCHOR_END: queues

// ANCHOR: ring
function ringConsumer(name: string): void {
  using ring = Ring.open(name);
  using consumer = ring.consumer();
  const buffer = new Uint8Array(size);
  process.stdout.write("ready\n");
  while (consumer.readInto(buffer, 10) !== null); // sleeps in mq_receive when there is nothing to read
}

function ringProducer(name: string, item: Uint8Array): void {
  using ring = Ring.open(name);
  using producer = ring.producer();
  for (let i = 0; i < items; i++) producer.write(item); // one copy, into shared memory
  producer.end();
}
// ANCHOR_END: ring

async function timed(label: string, role: string, names: string[], produce: () => void, waitForReady: boolean): Promise<number> {
  const children = names.map((name) =>
    Bun.spawn([process.execPath, import.meta.path, role, name, String(items), String(size)], { stdout: "pipe", stderr: "inherit" }),
  );
  if (waitForReady) await Promise.all(children.map(async (c) => void (await c.stdout.getReader().read())));
  const started = performance.now();
  produce();
  const codes = await Promise.all(children.map((c) => c.exited));
  const ms = performance.now() - started;
  if (codes.some((code) => code !== 0)) throw new Error(`${label}: a consumer failed`);
  const mb = (items * size * CONSUMERS) / 1e6;
  console.log(`${label.padEnd(38)} ${items} items × ${CONSUMERS} consumers in ${ms.toFixed(0).padStart(5)} ms, ${(mb / (ms / 1000)).toFixed(0)} MB/s delivered`);
  return ms;
}

async function main(): Promise<void> {
  const prefix = `/${process.env.IPC_PREFIX ?? "ipcbook"}-qvr-${process.pid}`;
  const item = new Uint8Array(size).fill(42);
  const queueNames = Array.from({ length: CONSUMERS }, (_, i) => `${prefix}-q${i}`);
  const ringName = `${prefix}-ring`;
  try {
    for (const name of queueNames) new MessageQueue(name, { exclusive: true, maxmsg: 10, msgsize: size }).close();
    const viaQueues = await timed("data through a queue per consumer:", "queue-consumer", queueNames, () => queueProducer(queueNames, item), false);
    Ring.create(ringName, { slots: 64, slotSize: size + 8, consumers: CONSUMERS, wake: "queue" }).close();
    const viaRing = await timed("data in the ring, notices in queues:", "ring-consumer", Array(CONSUMERS).fill(ringName), () => ringProducer(ringName, item), true);
    console.log(`kernel copies of the data: ${2 * CONSUMERS * items} through the queues, 0 through the ring; the ring took ${((100 * viaRing) / viaQueues).toFixed(0)}% of the time`);
  } finally {
    for (const name of queueNames) if (MessageQueue.exists(name)) MessageQueue.unlink(name);
    try {
      Ring.unlink(ringName);
    } catch {
      // not created
    }
  }
}

if (role === "queue-consumer") queueConsumer(name!);
else if (role === "ring-consumer") ringConsumer(name!);
else await main();
