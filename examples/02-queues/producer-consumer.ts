/**
 * producer-consumer.ts — the simplest use of a message queue: one process
 * puts messages in at one end, another takes them out at the other, in
 * the order they went in. The two share nothing but the queue's name.
 *
 * Run:  bun run examples/02-queues/producer-consumer.ts
 *
 * The consumer is this same file started again as a child process
 * (`... consumer NAME`). It is started first and waits in receive, asleep,
 * until the first message arrives.
 */
import { MessageQueue } from "../../lib/index.ts";

if (process.argv[2] === "consumer") {
  // ANCHOR: consumer
  const name = process.argv[3]!;
  using queue = new MessageQueue(name, { access: "read" }); // O_RDONLY: this end only receives
  console.log(`consumer ${process.pid}: msgsize is ${queue.msgsize}, so every receive offers a ${queue.msgsize}-byte buffer`);
  for (;;) {
    const message = queue.receive(); // sleeps until a message is there
    if (message.text() === "end") break;
    console.log(`consumer ${process.pid}: got ${message.size} bytes: "${message.text()}"`);
  }
  // ANCHOR_END: consumer
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const name = `/${prefix}-orders-${process.pid}`;

  // ANCHOR: create
  using queue = new MessageQueue(name, {
    exclusive: true, // O_CREAT | O_EXCL: a queue of our own, never someone else's
    access: "write", // O_WRONLY: this end only sends
    maxmsg: 4, // at most 4 messages waiting; a fifth send waits for room
    msgsize: 64, // and none longer than 64 bytes
  });
  // ANCHOR_END: create
  try {
    const consumer = Bun.spawn([process.execPath, import.meta.path, "consumer", name], { stdout: "inherit", stderr: "inherit" });
    // ANCHOR: produce
    for (const order of ["two coffees", "one tea", "a croissant", "the bill, please"]) {
      queue.send(order);
      console.log(`producer ${process.pid}: sent "${order}"`);
    }
    queue.send("end"); // the consumer's cue to stop
    // ANCHOR_END: produce
    if ((await consumer.exited) !== 0) throw new Error("the consumer failed");
  } finally {
    MessageQueue.unlink(name);
  }
}
