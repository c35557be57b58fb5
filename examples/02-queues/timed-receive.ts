/**
 * timed-receive.ts — how long receive waits. With no timeout it sleeps
 * until a message comes; with `timeout: 0` it does not wait at all; with
 * a timeout in seconds (mq_timedreceive) it gives up when the time runs
 * out. While it waits the process sleeps in the kernel: the listing
 * measures the CPU time a one-second wait costs.
 *
 * Run:  bun run examples/02-queues/timed-receive.ts
 *
 * The late sender is this file started again (`... sender NAME`).
 */
import { BusyError, MessageQueue, TimeoutError } from "../../lib/index.ts";

if (process.argv[2] === "sender") {
  await Bun.sleep(300);
  using queue = new MessageQueue(process.argv[3]!, { access: "write" });
  queue.send("just in time");
  process.exit(0);
}

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-timed-${process.pid}`;

using queue = new MessageQueue(name, { exclusive: true, maxmsg: 4, msgsize: 64 });
try {
  // ANCHOR: zero
  try {
    queue.receive({ timeout: 0 }); // the queue is empty: do not wait
  } catch (error) {
    if (!(error instanceof BusyError)) throw error;
    console.log(`timeout 0: ${error.name} (${error.code}) at once: the queue is empty`);
  }
  // ANCHOR_END: zero

  // ANCHOR: timed
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    queue.receive({ timeout: 1 }); // mq_timedreceive with a deadline one second from now
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const waited = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    console.log(`timeout 1: ${error.name} (${error.code}) after ${waited.toFixed(1)} s, using ${cpuSeconds.toFixed(3)} s of CPU`);
  }
  // ANCHOR_END: timed

  // ANCHOR: arrives
  Bun.spawn([process.execPath, import.meta.path, "sender", name], { stderr: "inherit" }); // sends in 0.3 s
  const waitStarted = performance.now();
  const message = queue.receive({ timeout: 5 }); // returns as soon as the message is there
  const after = ((performance.now() - waitStarted) / 1000).toFixed(1);
  console.log(`timeout 5: got "${message.text()}" after ${after} s, without waiting for the deadline`);
  // ANCHOR_END: arrives
} finally {
  queue.unlink();
}
