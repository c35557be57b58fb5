/**
 * work-sharing.ts — a pool of interchangeable workers: the library's ring
 * in work-sharing mode hands each item to exactly one consumer. A worker
 * claims an item (claim()), works on it, and acknowledges it (ack()). One
 * worker claims an item and is killed before acknowledging it: the item
 * is not lost, it goes to another worker. So delivery is at least once:
 * an item whose worker died mid-way is done again.
 *
 * Run:  bun run examples/10-capstone/work-sharing.ts
 */
import { Ring } from "../../lib/index.ts";

const JOBS = 30;

// ANCHOR: worker
function worker(name: string, crash: boolean): void {
  using ring = Ring.open(name);
  using consumer = ring.consumer();
  const done: number[] = [];
  for (let job = consumer.claim(10); job !== null; job = consumer.claim(10)) {
    const number = job[0]!;
    if (crash) {
      console.log(`worker ${process.pid}: claimed job ${number}, and crashes before finishing it`);
      Bun.sleepSync(60_000); // killed here, holding the claim
    }
    Bun.sleepSync(2); // the work
    done.push(number);
    consumer.ack(); // finished: the slot may be reused
  }
  console.log(`worker ${process.pid}: did ${done.length} jobs`);
  console.log(`jobs ${done.join(" ")}`);
}
// ANCHOR_END: worker

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-jobs-${process.pid}`;
  using ring = Ring.create(name, { slots: 8, slotSize: 16, consumers: 4, delivery: "work-sharing" });
  try {
    const start = (crash: boolean) =>
      Bun.spawn([process.execPath, import.meta.path, "worker", name, crash ? "crash" : "work"], { stdout: "pipe", stderr: "inherit" });
    const crasher = start(true);
    while (ring.status().consumers.length < 1) await Bun.sleep(5);
    using producer = ring.producer();
    producer.write(new Uint8Array([0])); // job 0 goes to the worker that will crash
    while (ring.status().consumers[0]?.holding !== 0) await Bun.sleep(5);
    crasher.kill("SIGKILL");
    await crasher.exited;
    console.log(new TextDecoder().decode(await new Response(crasher.stdout).arrayBuffer()).trim());
    const workers = [start(false), start(false)];
    for (let job = 1; job < JOBS; job++) await producer.writeAsync(new Uint8Array([job]));
    producer.end();
    const outputs = await Promise.all(workers.map((w) => new Response(w.stdout).text()));
    const jobs = outputs.flatMap((o) => o.match(/^jobs (.*)$/m)![1]!.split(" ").filter(Boolean).map(Number));
    for (const o of outputs) console.log(o.trim().split("\n")[0]);
    const sorted = [...jobs].sort((x, y) => x - y);
    console.log(`all ${JOBS} jobs done exactly once by the living: ${sorted.length === JOBS && sorted.every((j, i) => j === i)}; job 0 was handed on`);
  } finally {
    Ring.unlink(name);
  }
}

if (process.argv[2] === "worker") worker(process.argv[3]!, process.argv[4] === "crash");
else await main();
