/**
 * torn-read.ts — why the producer writes the slot first and publishes
 * second. A producer fills 16 KiB items, every byte of item S equal to
 * S & 0xff, into a ring of 4 slots; a consumer in another process checks
 * every byte of every item it reads. Done in the wrong order (publish
 * `head`, then fill the slot), the consumer sees items half old and half
 * new: torn. In the right order (fill, then Atomics.store the head) it
 * never does.
 *
 * Both sides spin here, to make the race as tight as it gets; a real ring
 * sleeps instead (see the chapter).
 *
 * Run:  bun run examples/10-capstone/torn-read.ts [items]
 */
import { SharedMemory } from "../../lib/index.ts";

const SLOTS = 4;
const ITEM = 16 * 1024;
const HEAD = 0; // items published
const TAIL = 1; // items read
const HEADER = 64;

function consumer(name: string, items: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const words = map.view(Int32Array, 0, 2);
  const bytes = map.bytes();
  let torn = 0;
  for (let seq = 0; seq < items; seq++) {
    while (Atomics.load(words, HEAD) === seq); // wait until item seq is published
    const at = HEADER + (seq % SLOTS) * ITEM;
    const expected = seq & 0xff;
    if (bytes[at] !== expected || bytes[at + ITEM - 1] !== expected || !bytes.subarray(at, at + ITEM).every((b) => b === expected)) torn++;
    Atomics.store(words, TAIL, seq + 1);
  }
  console.log(`torn ${torn}`);
}

async function run(name: string, items: number, order: "wrong" | "right"): Promise<void> {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const words = map.view(Int32Array, 0, 2);
  const bytes = map.bytes();
  words.fill(0);
  bytes.fill(0xee, HEADER);
  const child = Bun.spawn([process.execPath, import.meta.path, "consumer", name, String(items)], { stdout: "pipe", stderr: "inherit" });
  for (let seq = 0; seq < items; seq++) {
    while (seq - Atomics.load(words, TAIL) >= SLOTS); // wait for a free slot
    const at = HEADER + (seq % SLOTS) * ITEM;
    // ANCHOR: order
    if (order === "wrong") {
      Atomics.store(words, HEAD, seq + 1); // published...
      bytes.fill(seq & 0xff, at, at + ITEM); // ...before it is written
    } else {
      bytes.fill(seq & 0xff, at, at + ITEM); // written...
      Atomics.store(words, HEAD, seq + 1); // ...then published: a reader that sees head sees the bytes
    }
    // ANCHOR_END: order
  }
  const output = await new Response(child.stdout).text();
  if ((await child.exited) !== 0) throw new Error("the consumer failed");
  console.log(`${order} order: ${items} items of ${ITEM / 1024} KiB, ${output.trim()}`);
}

if (process.argv[2] === "consumer") consumer(process.argv[3]!, Number(process.argv[4]));
else {
  const items = Number(process.argv[2] ?? 2000);
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-torn-${process.pid}`;
  new SharedMemory(name, { exclusive: true, size: HEADER + SLOTS * ITEM }).close();
  try {
    await run(name, items, "wrong");
    await run(name, items, "right");
  } finally {
    SharedMemory.unlink(name);
  }
}
