/**
 * named-semaphore.ts — two printers, five print jobs. A named semaphore
 * starts at 2, the number of printers; each job (a separate process) opens
 * it by name, takes one with wait() before printing and gives it back with
 * post() afterwards, so at most two jobs print at once. A small shared
 * counter records how many printed at the same time.
 *
 * A named semaphore is a file in /dev/shm, "sem." + its name: it outlives
 * every process until someone unlinks it.
 *
 * Run:  bun run examples/04-sync/named-semaphore.ts
 */
import fs from "node:fs";
import { Semaphore, SharedMemory } from "../../lib/index.ts";

const PRINTERS = 2;
const JOBS = 5;
const PRINTING = 0; // jobs printing now
const MOST = 1; // the most ever printing at once

/** MOST = max(MOST, now), atomically: two jobs may record at once. */
function recordMost(words: Int32Array, now: number): void {
  let most = Atomics.load(words, MOST);
  while (now > most && Atomics.compareExchange(words, MOST, most, now) !== most) most = Atomics.load(words, MOST);
}

function job(semName: string, counterName: string, n: number): void {
  using shm = new SharedMemory(counterName);
  using map = shm.map();
  const words = map.view(Int32Array, 0, 2);
  // ANCHOR: job
  using printers = new Semaphore(semName); // open, do not create
  printers.wait(10); // P: take a printer, sleeping while none is free (at most 10 s)
  try {
    const now = Atomics.add(words, PRINTING, 1) + 1;
    recordMost(words, now);
    console.log(`job ${n} prints (${now} printing)`);
    Bun.sleepSync(50); // printing…
    Atomics.sub(words, PRINTING, 1);
  } finally {
    printers.post(); // V: give the printer back
  }
  // ANCHOR_END: job
}

async function main(): Promise<void> {
  const prefix = `/${process.env.IPC_PREFIX ?? "ipcbook"}`;
  const semName = `${prefix}-printers-${process.pid}`;
  const counterName = `${prefix}-printing-${process.pid}`;
  using counter = new SharedMemory(counterName, { exclusive: true, size: 4096 });
  try {
    using map = counter.map();
    // ANCHOR: create
    using printers = new Semaphore(semName, { exclusive: true, value: PRINTERS });
    try {
      console.log(`created ${semName} with value ${printers.value}; in /dev/shm: sem.${semName.slice(1)} ${fs.existsSync(`/dev/shm/sem.${semName.slice(1)}`)}`);
      const jobs = Array.from({ length: JOBS }, (_, n) =>
        Bun.spawn([process.execPath, import.meta.path, "job", semName, counterName, String(n + 1)], { stdout: "inherit", stderr: "inherit" }),
      );
      const codes = await Promise.all(jobs.map((j) => j.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a job failed: exit codes ${codes}`);
      console.log(`all ${JOBS} jobs done; at most ${map.view(Int32Array)[MOST]} printed at once; value back to ${printers.value}`);
    } finally {
      printers.unlink(); // the name goes now; the semaphore when the last process closes it
    }
    // ANCHOR_END: create
    console.log(`after unlink, in /dev/shm: ${fs.existsSync(`/dev/shm/sem.${semName.slice(1)}`)}`);
  } finally {
    counter.unlink();
  }
}

const [mode, semName, counterName, n] = process.argv.slice(2);
if (mode === "job" && semName && counterName && n) job(semName, counterName, Number(n));
else await main();
