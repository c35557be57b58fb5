/**
 * library-errors.ts — the mistakes the library refuses before any system
 * call, with a message that says what is wrong and what to do: a name
 * without its slash, a queue larger than the system allows, a message
 * longer than msgsize, a priority out of range, receiving at the sending
 * end.
 *
 * Run:  bun run examples/02-queues/library-errors.ts
 */
import { IpcError, MessageQueue } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-errors-${process.pid}`;

/** Runs `attempt` and prints the error it throws. */
function show(what: string, attempt: () => unknown): void {
  try {
    attempt();
    console.log(`${what}: no error`);
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`${what}: ${error.name}, code ${error.code}, call ${error.call}`);
    console.log(`    ${error.message.replace(name, "NAME")}`);
  }
}

using writer = new MessageQueue(name, { exclusive: true, access: "write", maxmsg: 4, msgsize: 32 });
try {
  // ANCHOR: cases
  show("a name without its slash", () => new MessageQueue("orders", { create: true }));
  show("more messages than msg_max", () => new MessageQueue(`${name}-big`, { create: true, maxmsg: 100_000, msgsize: 32 }));
  show("a message over msgsize", () => writer.send("a message much longer than thirty-two bytes"));
  show("a priority of 40000", () => writer.send("hi", { priority: 40_000 }));
  show("receiving at the writing end", () => writer.receive());
  // ANCHOR_END: cases
} finally {
  writer.unlink();
}
