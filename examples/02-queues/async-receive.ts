/**
 * async-receive.ts — a blocking receive blocks the whole of Bun: no timer,
 * no I/O, no signal handler runs until it returns. receiveAsync() makes
 * the same wait in a Worker thread and gives back a promise, so the event
 * loop keeps running. A timer ticks every 50 ms during both kinds of wait.
 *
 * Run:  bun run examples/02-queues/async-receive.ts
 *
 * The first message comes from another process, this file started again
 * (`... sender NAME`), half a second after it starts. The second is sent by
 * the timer itself, which can only happen if the event loop is running.
 */
import { MessageQueue } from "../../lib/index.ts";

if (process.argv[2] === "sender") {
  using queue = new MessageQueue(process.argv[3]!, { access: "write" });
  await Bun.sleep(500);
  queue.send("from the other process");
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const name = `/${prefix}-async-${process.pid}`;
  using queue = new MessageQueue(name, { exclusive: true, maxmsg: 4, msgsize: 64 });
  try {
    const sender = Bun.spawn([process.execPath, import.meta.path, "sender", name], { stderr: "inherit" });
    let ticks = 0;
    let sendOnTick = -1;
    const timer = setInterval(() => {
      ticks++;
      if (ticks === sendOnTick) queue.send(`from the timer, tick ${ticks}`);
    }, 50);

    // ANCHOR: blocking
    const before = ticks;
    const first = queue.receive({ timeout: 10 }); // the event loop stops here…
    console.log(`receive():      "${first.text()}"; the timer ticked ${ticks - before} times meanwhile`);
    // ANCHOR_END: blocking

    // ANCHOR: async
    sendOnTick = ticks + 3; // the timer sends a message three ticks from now
    const second = await queue.receiveAsync({ timeout: 10 }); // …here a Worker waits and the loop runs on
    console.log(`receiveAsync(): "${second.text()}"`);
    // ANCHOR_END: async

    clearInterval(timer);
    await sender.exited;
  } finally {
    queue.unlink();
  }
}
