/**
 * dead-consumer.ts — a consumer killed with SIGKILL does not stall the
 * others. Three consumers read 3000 items from the library's ring in
 * broadcast mode (each sees every item). One of them stops reading after
 * 512 items, as a hung process would, and holds the ring back: the
 * producer waits for it, asleep (writeAsync, so that its event loop runs
 * on). Then it is killed. The robust mutex it
 * held as its lease tells the producer (EOWNERDEAD) that it died; the
 * producer frees its seat and goes on, and the other two get every item.
 *
 * Run:  bun run examples/10-capstone/dead-consumer.ts
 */
import { Ring } from "../../lib/index.ts";

const ITEMS = 3000;

function consumer(name: string, stopAfter: number): void {
  using ring = Ring.open(name);
  using consumer = ring.consumer();
  console.log(`consumer ${process.pid}: seat ${consumer.index}`);
  let count = 0;
  let inOrder = true;
  for (let item = consumer.read(30); item !== null; item = consumer.read(30)) {
    inOrder &&= new DataView(item.buffer).getUint32(0, true) === count;
    count++;
    if (count === stopAfter) {
      console.log(`consumer ${process.pid}: stops reading after ${count} items`);
      Bun.sleepSync(60_000); // hung: waits to be killed
    }
  }
  console.log(`consumer ${process.pid}: ${count} items, ${inOrder ? "all in order" : "NOT in order"}`);
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-quotes-${process.pid}`;
  using ring = Ring.create(name, { slots: 32, slotSize: 64, consumers: 4 });
  try {
    const start = (stopAfter: number) =>
      Bun.spawn([process.execPath, import.meta.path, "consumer", name, String(stopAfter)], { stdout: "inherit", stderr: "inherit" });
    const [a, b] = [start(0), start(0)];
    const hung = start(512); // a multiple of 64: consumers tell the producer their cursor every 64 items
    while (ring.status().consumers.length < 3) await Bun.sleep(5);
    using producer = ring.producer();
    // ANCHOR: kill
    // While the producer waits for room, its event loop is free: this watcher kills the hung consumer.
    const watcher = (async () => {
      while ((ring.status().consumers.find((c) => c.pid === hung.pid)?.cursor ?? 0) < 512) await Bun.sleep(5);
      await Bun.sleep(300); // long enough for the producer to fill the ring and wait
      const stuck = ring.status().consumers.find((c) => c.pid === hung.pid)!;
      console.log(`producer: held back at item ${ring.status().head}: consumer ${stuck.pid} is ${stuck.lag} items behind, the ring holds ${ring.slots}`);
      hung.kill("SIGKILL"); // it dies holding its lease
    })();
    const item = new Uint8Array(32);
    for (let seq = 0; seq < ITEMS; seq++) {
      new DataView(item.buffer).setUint32(0, seq, true);
      await producer.writeAsync(item); // waits for room without blocking the event loop
    }
    producer.end();
    // ANCHOR_END: kill
    await watcher;
    await Promise.all([a.exited, b.exited]);
    const left = ring.status().consumers.map((c) => c.pid);
    console.log(`producer: ${ITEMS} items written; consumers registered now: ${left.length === 0 ? "none" : left.join(", ")}`);
  } finally {
    Ring.unlink(name);
  }
}

if (process.argv[2] === "consumer") consumer(process.argv[3]!, Number(process.argv[4]));
else await main();
