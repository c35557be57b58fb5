/**
 * shm-handoff.ts — the cost of a queue, and the way around it. Every
 * message is copied twice, into the kernel by send and out again by
 * receive, and waits in kernel memory meanwhile; and no message may be
 * longer than msgsize. So for big data, put the data in shared memory and
 * send only a small descriptor through the queue: where it is and how long.
 *
 * Run:  bun run examples/02-queues/shm-handoff.ts
 *
 * The consumer is this file started again (`... consumer SHM QUEUE`).
 * Chapter 10 builds the full version: a ring buffer in shared memory,
 * synchronised, with a queue announcing the data.
 */
import { createHash } from "node:crypto";
import { MessageQueue, SharedMemory } from "../../lib/index.ts";

/** What travels through the queue: where the data is, not the data. */
interface Descriptor {
  offset: number;
  length: number;
  sha256: string;
}

const SLOT = 1 << 20; // 1 MiB per block, far over any msgsize

if (process.argv[2] === "consumer") {
  // ANCHOR: consumer
  using shm = new SharedMemory(process.argv[3]!, { readOnly: true });
  using map = shm.map();
  using queue = new MessageQueue(process.argv[4]!, { access: "read" });
  for (;;) {
    const message = queue.receive({ timeout: 10 });
    if (message.text() === "end") break;
    const { offset, length, sha256 } = JSON.parse(message.text()) as Descriptor;
    const data = map.read(offset, length); // the block itself never went through the queue
    const ok = createHash("sha256").update(data).digest("hex") === sha256;
    console.log(`consumer: ${message.size}-byte message → ${length} bytes at ${offset}, checksum ${ok ? "ok" : "WRONG"}`);
  }
  // ANCHOR_END: consumer
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const shmName = `/${prefix}-blocks-${process.pid}`;
  const queueName = `/${prefix}-announce-${process.pid}`;
  using shm = new SharedMemory(shmName, { exclusive: true, size: 3 * SLOT });
  using queue = new MessageQueue(queueName, { exclusive: true, access: "write", maxmsg: 4, msgsize: 128 });
  try {
    // ANCHOR: producer
    using map = shm.map();
    const consumer = Bun.spawn([process.execPath, import.meta.path, "consumer", shmName, queueName], { stdout: "inherit", stderr: "inherit" });
    for (let block = 0; block < 3; block++) {
      const data = crypto.getRandomValues(new Uint8Array(SLOT - 1000 * block));
      const offset = block * SLOT;
      map.write(data, offset); // the bytes go straight into the shared pages
      const descriptor: Descriptor = { offset, length: data.length, sha256: createHash("sha256").update(data).digest("hex") };
      queue.send(JSON.stringify(descriptor)); // a hundred-odd bytes through the kernel instead of a megabyte
    }
    queue.send("end");
    // ANCHOR_END: producer
    if ((await consumer.exited) !== 0) throw new Error("the consumer failed");
  } finally {
    MessageQueue.unlink(queueName);
    SharedMemory.unlink(shmName);
  }
}
