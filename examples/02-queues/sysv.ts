/**
 * sysv.ts — the older System V message queues (msgget, msgsnd, msgrcv,
 * msgctl), still found in older software. There are no names: a queue
 * is found by a numeric key, or created private. Every message carries a
 * type, a number of at least 1, and a receiver chooses by type: 0 takes
 * the first message, N the first of type N, -N the first of the lowest
 * type up to N. `ipcs -q` lists the queues; `ipcrm -q ID` removes one.
 *
 * Run:  bun run examples/02-queues/sysv.ts
 */
import { SysVMessageQueue } from "../../lib/index.ts";

/** The header and our queue's row of `ipcs -q`. */
function ipcs(id: number): string {
  const lines = Bun.spawnSync(["ipcs", "-q"]).stdout.toString().split("\n");
  const header = lines.find((line) => line.startsWith("key"));
  const row = lines.find((line) => line.split(/\s+/)[1] === String(id));
  return [header, row ?? "(no such queue)"].map((line) => `    ${line?.trimEnd()}`).join("\n");
}

// ANCHOR: lifecycle
const queue = new SysVMessageQueue("private"); // msgget(IPC_PRIVATE, IPC_CREAT | 0600)
try {
  queue.send("log: disk 91% full", { type: 3 });
  queue.send("ALERT: fan failure", { type: 1 });
  queue.send("log: backup done", { type: 3 });
  queue.send("warning: cpu hot", { type: 2 });
  const stat = queue.stat(); // msgctl(IPC_STAT)
  console.log(`msgget: queue ${queue.id} holds ${stat.messages} messages, ${stat.bytes} bytes (at most ${stat.maxBytes})`);
  console.log(ipcs(queue.id));

  const logs = queue.receive({ type: 3 }); // the first message of type 3
  console.log(`type 3:  "${logs.text()}"`);
  for (let i = 0; i < 2; i++) {
    const urgent = queue.receive({ type: -2 }); // the lowest type that is at most 2
    console.log(`type -2: "${urgent.text()}" (type ${urgent.type})`);
  }
  const rest = queue.receive({ type: 0 }); // whatever is first
  console.log(`type 0:  "${rest.text()}" (type ${rest.type})`);
} finally {
  queue.remove(); // msgctl(IPC_RMID): gone at once, unlike a POSIX queue still open
}
console.log(`IPC_RMID:\n${ipcs(queue.id)}`);
// ANCHOR_END: lifecycle
