/**
 * fork-queue.ts — related processes need no name to find a queue: a
 * child made by fork inherits the parent's open queue descriptors, so the
 * parent opens the queue, forks, and each side uses its end. The child
 * here is C code (fork-queue.c, compiled at run time by bun:ffi's `cc`),
 * because a forked Bun cannot go on running JavaScript.
 *
 * Run:  bun run examples/02-queues/fork-queue.ts
 *
 * Needs the C library's headers (libc6-dev on Debian and Ubuntu). The
 * queue is unlinked as soon as it is open: parent and child share it by
 * descriptor alone, and it disappears with the last descriptor.
 */
import path from "node:path";
import { cc } from "bun:ffi";
import { describeStatus, MessageQueue, waitpid } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-family-${process.pid}`;

// ANCHOR: fork
const { symbols } = cc({
  source: path.join(import.meta.dir, "fork-queue.c"),
  symbols: { fork_and_send: { args: ["i32", "i32"], returns: "i32" } },
});

using queue = new MessageQueue(name, { exclusive: true, maxmsg: 4, msgsize: 64 });
queue.unlink(); // from now on the queue has no name: only descriptors reach it
console.log(`parent ${process.pid}: opened the queue (descriptor ${queue.fd}) and removed its name`);

const child = symbols.fork_and_send(queue.fd, 3); // the child inherits descriptor queue.fd
if (child === -1) throw new Error("fork failed");
for (let i = 0; i < 3; i++) console.log(`parent: received "${queue.receive({ timeout: 10 }).text()}"`);
console.log(`parent: child ${child} ${describeStatus(waitpid(child)!.status)}`);
// ANCHOR_END: fork
