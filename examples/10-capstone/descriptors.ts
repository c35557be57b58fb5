/**
 * descriptors.ts — the design the lecture notes end with, in miniature:
 * the data goes into slots of shared memory, and a message queue carries
 * only a small descriptor, "item S is in slot N, L bytes long". The
 * consumer (a second process) takes a descriptor, then reads the slot.
 *
 * The queue is also the flow control here: it holds at most SLOTS - 2
 * descriptors, so the producer, which fills a slot before it sends the
 * descriptor, can never get round to the slot the consumer is reading.
 *
 * Run:  bun run examples/10-capstone/descriptors.ts
 */
import { MessageQueue, SharedMemory } from "../../lib/index.ts";

const SLOTS = 4;
const SLOT_BYTES = 256;
const LINES = ["Ala ma kota", "Kot ma Alę", "Pes štěká", "Koza žere seno", "The end of the list", "One more line"];

// ANCHOR: descriptor
/** A descriptor: which item, in which slot, how long. 12 bytes instead of the data. */
function descriptor(sequence: number, slot: number, length: number): Uint8Array {
  return new Uint8Array(new Uint32Array([sequence, slot, length]).buffer);
}
const DONE = 0xffffffff; // a sequence number that says "no more"
// ANCHOR_END: descriptor

function consumer(shmName: string, queueName: string): void {
  using shm = new SharedMemory(shmName, { readOnly: true });
  using map = shm.map();
  using queue = new MessageQueue(queueName, { access: "read" });
  // ANCHOR: consumer
  for (;;) {
    const message = queue.receive({ timeout: 10 }); // asleep until a descriptor comes
    const [sequence, slot, length] = new Uint32Array(message.data.buffer, 0, 3);
    if (sequence === DONE) break;
    const text = map.readText(slot! * SLOT_BYTES, length);
    console.log(`consumer: item ${sequence} from slot ${slot} (${length} bytes): ${text}`);
  }
  // ANCHOR_END: consumer
}

async function producer(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const shmName = `/${prefix}-slots-${process.pid}`;
  const queueName = `/${prefix}-ready-${process.pid}`;
  using shm = new SharedMemory(shmName, { exclusive: true, size: SLOTS * SLOT_BYTES });
  using queue = new MessageQueue(queueName, { exclusive: true, maxmsg: SLOTS - 2, msgsize: 12, access: "write" });
  try {
    using map = shm.map();
    const child = Bun.spawn([process.execPath, import.meta.path, "consumer", shmName, queueName], { stdout: "inherit", stderr: "inherit" });
    // ANCHOR: producer
    LINES.forEach((line, sequence) => {
      const slot = sequence % SLOTS;
      map.bytes().fill(0, slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
      const length = map.write(line, slot * SLOT_BYTES); // the data: into shared memory
      queue.send(descriptor(sequence, slot, length)); // only the descriptor goes through the kernel
      console.log(`producer: item ${sequence} in slot ${slot}, descriptor sent`);
    });
    queue.send(descriptor(DONE, 0, 0));
    // ANCHOR_END: producer
    if ((await child.exited) !== 0) throw new Error("the consumer failed");
  } finally {
    SharedMemory.unlink(shmName);
    MessageQueue.unlink(queueName);
  }
}

if (process.argv[2] === "consumer") consumer(process.argv[3]!, process.argv[4]!);
else await producer();
