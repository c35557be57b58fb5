/**
 * limits.ts — what the system allows: the limits in /proc/sys/fs/mqueue,
 * and RLIMIT_MSGQUEUE (`ulimit -q`), the bytes of queue memory all queues
 * of one user may take. Past that limit mq_open fails with EMFILE, an
 * errno that normally means "too many open files"; the library's hint says
 * what really happened.
 *
 * Run:  bun run examples/02-queues/limits.ts
 *
 * The last part starts this file again under `prlimit --msgqueue=0` (from
 * util-linux), a child whose queue-memory limit is 0, so that it can run
 * into the limit without using up the real one, which every other process
 * of this user shares.
 */
import { IpcError, MessageQueue, queueLimits, queueMemory } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-limited-${process.pid}`;

if (process.argv[2] === "limited") {
  // ANCHOR: emfile
  try {
    using queue = new MessageQueue(name, { exclusive: true, maxmsg: 2, msgsize: 16 });
    queue.unlink(); // not reached: any queue at all is over a limit of 0 bytes
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`child with ulimit -q 0: ${error.name}, ${error.code} from ${error.call}`);
    console.log(`hint: ${error.hint}`);
  }
  // ANCHOR_END: emfile
} else {
  // ANCHOR: limits
  const limits = queueLimits();
  console.log(`/proc/sys/fs/mqueue/msg_max          ${limits.msgMax} messages per queue at most`);
  console.log(`/proc/sys/fs/mqueue/msgsize_max      ${limits.msgsizeMax} bytes per message at most`);
  console.log(`/proc/sys/fs/mqueue/msg_default      ${limits.msgDefault} messages, for a queue created without attributes`);
  console.log(`/proc/sys/fs/mqueue/msgsize_default  ${limits.msgsizeDefault} bytes, likewise`);
  console.log(`/proc/sys/fs/mqueue/queues_max       ${limits.queuesMax} queues in the whole system`);
  console.log(`RLIMIT_MSGQUEUE (ulimit -q)          ${limits.memory.soft} bytes for all queues of this user`);

  // A queue is charged for all its slots, full or not, plus the kernel's bookkeeping.
  const perQueue = queueMemory(limits.msgDefault, limits.msgsizeDefault);
  console.log(`a default queue is charged ${limits.msgDefault} × (${limits.msgsizeDefault} + 96) = ${perQueue} bytes,`);
  console.log(`so ${Math.floor(limits.memory.soft / perQueue)} of them fit in the limit, and a small one costs ${queueMemory(4, 64)} (4 × 64)`);
  // ANCHOR_END: limits

  const prlimit = Bun.which("prlimit");
  if (prlimit === null) {
    console.log("(prlimit is not installed: skipping the demonstration of EMFILE)");
  } else {
    // ANCHOR: child
    const child = Bun.spawn([prlimit, "--msgqueue=0", "--", process.execPath, import.meta.path, "limited"], { stdout: "inherit", stderr: "inherit" });
    // ANCHOR_END: child
    if ((await child.exited) !== 0) throw new Error("the limited child failed");
  }
}
