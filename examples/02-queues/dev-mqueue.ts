/**
 * dev-mqueue.ts — Linux shows every POSIX message queue as a file in
 * /dev/mqueue (where the mqueue file system is mounted, as systemd and
 * Docker do). `ls -l` shows owner and mode; reading the file shows the
 * bytes waiting (QSIZE) and who is registered for notification; `rm`
 * removes the queue, like mq_unlink.
 *
 * Run:  bun run examples/02-queues/dev-mqueue.ts
 */
import fs from "node:fs";
import { MessageQueue } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-inspect-${process.pid}`;

if (fs.statfsSync("/dev/mqueue", { bigint: false }).type !== 0x19800202) {
  console.log("/dev/mqueue is not mounted here; as root: mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue");
  process.exit(0);
}

// ANCHOR: inspect
using queue = new MessageQueue(name, { exclusive: true, mode: 0o640, maxmsg: 5, msgsize: 100 });
for (const text of ["first", "second message", "third"]) queue.send(text);

const file = `/dev/mqueue${name}`;
const stat = fs.statSync(file);
console.log(`${file}: mode ${(stat.mode & 0o777).toString(8)}, owner uid ${stat.uid}, size ${stat.size}`);
console.log(`cat ${file}: ${fs.readFileSync(file, "utf8").trim()}`);
console.log(`messages waiting (mq_getattr): ${queue.attributes().curmsgs}`);

fs.rmSync(file); // what `rm /dev/mqueue/NAME` does: the same as mq_unlink
console.log(`after rm: MessageQueue.exists() says ${MessageQueue.exists(name)}; this descriptor still works: ${queue.receive().text()}`);
// ANCHOR_END: inspect
