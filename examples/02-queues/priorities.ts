/**
 * priorities.ts — a POSIX queue is not strictly first in, first out: every
 * message has a priority (0 to 32767), and receive always hands out the
 * oldest message of the highest priority waiting.
 *
 * Run:  bun run examples/02-queues/priorities.ts
 */
import { MessageQueue } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-triage-${process.pid}`;

using queue = new MessageQueue(name, { exclusive: true, maxmsg: 8, msgsize: 64 });
try {
  // ANCHOR: triage
  const arrivals: [string, number][] = [
    ["sprained ankle", 1],
    ["cut finger", 0],
    ["cardiac arrest", 9],
    ["broken arm", 1],
    ["head cold", 0],
    ["allergic shock", 9],
  ];
  for (const [patient, priority] of arrivals) queue.send(patient, { priority });
  console.log(`sent ${arrivals.map(([p, n]) => `${p} (${n})`).join(", ")}`);

  while (queue.attributes().curmsgs > 0) {
    const next = queue.receive({ timeout: 0 });
    console.log(`  next: priority ${next.priority}  ${next.text()}`);
  }
  // ANCHOR_END: triage
} finally {
  queue.unlink();
}
