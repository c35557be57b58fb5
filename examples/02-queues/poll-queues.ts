/**
 * poll-queues.ts — waiting on several queues at once. On Linux a queue
 * descriptor is a file descriptor, so poll(2) can watch many of them and
 * return as soon as any has a message, or when the timeout runs out.
 *
 * Run:  bun run examples/02-queues/poll-queues.ts
 *
 * The sender is this file started again (`... sender NAME TEXT`).
 */
import { MessageQueue } from "../../lib/index.ts";

if (process.argv[2] === "sender") {
  using queue = new MessageQueue(process.argv[3]!, { access: "write" });
  queue.send(process.argv[4]!, { priority: 1 });
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const names = ["alerts", "orders", "logs"].map((label) => `/${prefix}-${label}-${process.pid}`);
  const queues = names.map((name) => new MessageQueue(name, { exclusive: true, access: "read", maxmsg: 4, msgsize: 64 }));
  const label = (q: MessageQueue) => q.name.split("-").at(-2);
  try {
    // ANCHOR: wait
    console.log(`waiting 0.2 s on ${queues.map(label).join(", ")}: ready: [${MessageQueue.wait(queues, 0.2).map(label)}]`);

    const sender = Bun.spawn([process.execPath, import.meta.path, "sender", names[1]!, "table 4: soup"]);
    const ready = MessageQueue.wait(queues, 10); // sleeps until one of the three has a message
    console.log(`after a sender wrote to orders: ready: [${ready.map(label)}]`);
    for (const queue of ready) console.log(`  ${label(queue)}: "${queue.receive({ timeout: 0 }).text()}"`);
    // ANCHOR_END: wait
    await sender.exited;
  } finally {
    for (const queue of queues) {
      queue.close();
      queue.unlink();
    }
  }
}
