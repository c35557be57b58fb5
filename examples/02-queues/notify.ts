/**
 * notify.ts — mq_notify: instead of waiting in receive, ask the kernel to
 * send this process a signal when a message arrives in the empty queue,
 * and get on with other work meanwhile. The registration is one-shot: the
 * handler registers again (first) and then takes every message there is.
 *
 * Run:  bun run examples/02-queues/notify.ts
 *
 * The sender is this file started again (`... sender NAME`). It shows what
 * /dev/mqueue says about the queue, tries to register for notification
 * itself (which fails: only one process may be registered), then sends one
 * message, two at once, and one more, pausing in between.
 */
import fs from "node:fs";
import { BusyError, IpcError, MessageQueue } from "../../lib/index.ts";

if (process.argv[2] === "sender") {
  const name = process.argv[3]!;
  using queue = new MessageQueue(name, { access: "write" });
  // ANCHOR: look
  if (fs.existsSync(`/dev/mqueue${name}`)) {
    // Another process may look; the registered one must not (see the chapter).
    console.log(`sender: /dev/mqueue${name} says ${fs.readFileSync(`/dev/mqueue${name}`, "utf8").trim().replace(/\s+/g, " ")}`);
  }
  process.on("SIGUSR2", () => {});
  try {
    queue.notify("SIGUSR2");
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`sender: my own notify() fails with ${error.code}: another process is registered`);
  }
  // ANCHOR_END: look
  for (const batch of [["one"], ["two", "three"], ["four"]]) {
    await Bun.sleep(300);
    for (const text of batch) queue.send(text);
  }
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const name = `/${prefix}-bell-${process.pid}`;
  using queue = new MessageQueue(name, { exclusive: true, access: "read", maxmsg: 4, msgsize: 64 });
  try {
    // ANCHOR: handler
    const received: string[] = [];
    let signals = 0;
    const { promise: allFour, resolve } = Promise.withResolvers<void>();

    process.on("SIGUSR1", () => {
      signals++;
      queue.notify("SIGUSR1"); // one-shot: ask again before draining
      for (;;) {
        try {
          received.push(queue.receive({ timeout: 0 }).text());
        } catch (error) {
          if (error instanceof BusyError) break; // empty again
          throw error;
        }
      }
      console.log(`signal ${signals}: now have ${JSON.stringify(received)}`);
      if (received.length === 4) resolve();
    });
    queue.notify("SIGUSR1"); // after the handler: SIGUSR1's default action ends the process
    // ANCHOR_END: handler

    const sender = Bun.spawn([process.execPath, import.meta.path, "sender", name], { stdout: "inherit", stderr: "inherit" });
    await allFour; // meanwhile the event loop is free for other work
    queue.notify(null); // nothing more to wait for
    console.log(`${signals} signals for 4 messages`);
    await sender.exited;
  } finally {
    queue.unlink();
  }
}
