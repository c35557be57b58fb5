/**
 * library-ring.ts — the library's ring (lib/ring.ts) in its smallest
 * complete use: this process creates a ring and produces; a second
 * process consumes. With `wake: "queue"` a consumer with nothing to read
 * sleeps in mq_receive on a queue of its own, and the producer sends it a
 * 16-byte notice when it publishes; `wake: "futex"` (the default) sleeps
 * in futex(2) instead.
 *
 * Run:  bun run examples/10-capstone/library-ring.ts
 */
import { Ring, RING_NOTICE, ringQueueName } from "../../lib/index.ts";

// ANCHOR: consumer
function consumer(name: string): void {
  using ring = Ring.open(name);
  using consumer = ring.consumer(); // a seat of its own, from the items published from now on
  process.stdout.write(`consumer: seat ${consumer.index}, notices on ${ringQueueName(name, consumer.index)}\n`);
  for (let line = consumer.readText(10); line !== null; line = consumer.readText(10)) {
    console.log(`consumer: ${line}`);
  }
  console.log("consumer: the producer ended the stream");
}
// ANCHOR_END: consumer

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-prices-${process.pid}`;
  // ANCHOR: create
  using ring = Ring.create(name, { slots: 8, slotSize: 64, consumers: 2, wake: "queue" });
  // ANCHOR_END: create
  try {
    const child = Bun.spawn([process.execPath, import.meta.path, "consumer", name], { stdout: "pipe", stderr: "inherit" });
    const reader = child.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value); // the consumer has its seat
    process.stdout.write(first);
    // ANCHOR: produce
    using producer = ring.producer();
    for (const [pair, price] of [["EURPLN", 4.2715], ["EURCZK", 25.082], ["USDPLN", 3.9402]] as const) {
      producer.write(`${pair} ${price}`); // waits while the ring is full, asleep
      await Bun.sleep(50); // the consumer goes back to sleep: the next write sends it a notice
    }
    producer.end();
    // ANCHOR_END: produce
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) process.stdout.write(chunk.value);
    if ((await child.exited) !== 0) throw new Error("the consumer failed");
    const status = ring.status();
    console.log(`status: head ${status.head}, state ${status.state}, consumers ${status.consumers.length}; a notice is ${RING_NOTICE.DATA} (data) or ${RING_NOTICE.END} (end), then the sequence, slot and length`);
  } finally {
    Ring.unlink(name);
  }
}

if (process.argv[2] === "consumer") consumer(process.argv[3]!);
else await main();
