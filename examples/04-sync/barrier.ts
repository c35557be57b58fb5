/**
 * barrier.ts — work in phases. Three processes each fill a third of an
 * array (phase 1); then each needs the whole array to go on (phase 2). A
 * barrier between the phases holds every process until the last one has
 * finished phase 1. wait() returns true in exactly one of them, which
 * reports the phase done.
 *
 * Run:  bun run examples/04-sync/barrier.ts
 */
import { Barrier, layout, SharedMemory } from "../../lib/index.ts";

const WORKERS = 3;
const PER_WORKER = 1000;

const Work = layout({
  phase: Barrier.field({ count: WORKERS }),
  squares: ["f64", WORKERS * PER_WORKER],
  totals: ["f64", WORKERS],
});

function worker(name: string, index: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const work = Work.attach(map);
  // ANCHOR: phases
  // Phase 1: fill my part.
  for (let i = index * PER_WORKER; i < (index + 1) * PER_WORKER; i++) work.squares[i] = i * i;
  Bun.sleepSync(20 * index); // some finish later than others
  if (work.phase.wait()) console.log(`phase 1 done: all ${WORKERS} parts are filled`);
  // Phase 2: everyone's parts are there; read them all.
  work.totals[index] = work.squares.reduce((a, b) => a + b, 0);
  // ANCHOR_END: phases
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-phases-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Work.size });
  try {
    using map = shm.map();
    const work = Work.init(map);
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      Bun.spawn([process.execPath, import.meta.path, "worker", name, String(i)], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      const codes = await Promise.all(workers.map((w) => w.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes}`);
    } finally {
      for (const w of workers) if (w.exitCode === null) w.kill();
    }
    const n = WORKERS * PER_WORKER;
    const expected = ((n - 1) * n * (2 * n - 1)) / 6; // 0² + 1² + … + (n-1)²
    console.log(`phase 2: totals ${[...work.totals].join(", ")}; expected ${expected} in each`);
    work.phase.destroy();
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "worker") worker(process.argv[3]!, Number(process.argv[4]));
else await main();
