/**
 * The other process in the message-queue tests (test/lib/mq*.test.ts):
 * each command does one thing to a queue and reports on stdout, one line
 * per step, so the test can wait for a step before acting.
 *
 *   bun test/lib/mq-child.ts COMMAND NAME [ARG]
 */
import { MessageQueue } from "../../lib/index.ts";

const [command, name, arg] = process.argv.slice(2);
if (!command || !name) {
  console.error("usage: mq-child.ts COMMAND NAME [ARG]");
  process.exit(2);
}

/** Keeps the process alive until it is killed. */
function stayAlive(): void {
  setInterval(() => {}, 60_000);
}

switch (command) {
  // Receives ARG messages, reporting each, then waits to be killed.
  case "consume": {
    const queue = new MessageQueue(name, { access: "read" });
    for (let i = 0; i < Number(arg); i++) console.log(`got ${queue.receive({ timeout: 30 }).text()}`);
    console.log("done");
    stayAlive();
    break;
  }
  // Blocks in receive on an empty queue until it is killed.
  case "block": {
    const queue = new MessageQueue(name, { access: "read" });
    console.log("waiting");
    // stdout is a pipe: give the line time to leave before the loop blocks
    setTimeout(() => console.log(`got ${queue.receive().text()}`), 50);
    break;
  }
  // Sends ARG to the queue.
  case "send": {
    using queue = new MessageQueue(name, { access: "write" });
    queue.send(arg ?? "");
    console.log("sent");
    break;
  }
  // Tries to register for notification, reports, and unregisters.
  case "try-notify": {
    using queue = new MessageQueue(name, { access: "read" });
    process.on("SIGUSR2", () => {});
    try {
      queue.notify("SIGUSR2");
      queue.notify(null);
      console.log("registered");
    } catch (error) {
      console.log((error as { code?: string }).code ?? String(error));
    }
    process.exit(0);
    break;
  }
  // Starts a receiveAsync, then closes the queue; must exit on its own.
  case "async-close": {
    const queue = new MessageQueue(name, { access: "read" });
    const pending = queue.receiveAsync();
    queue.close();
    pending.then(
      () => console.log("resolved"),
      (error: Error) => console.log(`rejected ${error.name}`),
    );
    break;
  }
  // Waits with receiveAsync and nothing else; the pending wait must keep it alive.
  case "async-wait": {
    const queue = new MessageQueue(name, { access: "read" });
    console.log("waiting");
    const message = await queue.receiveAsync({ timeout: 30 });
    console.log(`got ${message.text()}`);
    queue.close();
    break;
  }
  // Creates a queue of ARG ("MAXMSG×MSGSIZE") and removes it again: "created" or the errno name.
  case "create": {
    const [maxmsg, msgsize] = (arg ?? "").split("x").map(Number);
    try {
      new MessageQueue(name, { exclusive: true, maxmsg, msgsize }).close();
      MessageQueue.unlink(name);
      console.log("created");
    } catch (error) {
      console.log((error as { code?: string }).code ?? String(error));
    }
    break;
  }
  default:
    console.error(`unknown command ${command}`);
    process.exit(2);
}
