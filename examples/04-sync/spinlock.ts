/**
 * spinlock.ts — the C library's spin lock (pthread_spin_*), shared by two
 * processes for very short critical sections, and its pitfall: a spin lock
 * knows no owner. When a process dies holding one, it stays taken, and an
 * untimed lock() would spin forever; only a timeout gets the others out.
 *
 * Run:  bun run examples/04-sync/spinlock.ts [iterations]
 */
import { layout, SharedMemory, SpinLock, TimeoutError } from "../../lib/index.ts";

const Counters = layout({
  lock: SpinLock,
  a: "i32",
  b: "i32",
  holding: "i32",
});

function child(mode: "count" | "die", name: string, iterations: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const c = Counters.attach(map);
  if (mode === "die") {
    c.lock.lock();
    Atomics.store(c.holding, 0, process.pid);
    Bun.sleepSync(60_000); // killed here, holding the spin lock
    return;
  }
  // ANCHOR: short
  for (let i = 0; i < iterations; i++) {
    c.lock.lock(); // spins while the other process holds it: a few instructions at most
    c.a[0]! += 1;
    c.b[0]! += 1;
    c.lock.unlock();
  }
  // ANCHOR_END: short
}

async function main(iterations: number): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-spin-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Counters.size });
  try {
    using map = shm.map();
    const c = Counters.init(map);
    const spawn = (mode: string) =>
      Bun.spawn([process.execPath, import.meta.path, mode, name, String(iterations)], { stdout: "inherit", stderr: "inherit" });
    const counters = [spawn("count"), spawn("count")];
    const codes = await Promise.all(counters.map((p) => p.exited));
    if (codes.some((code) => code !== 0)) throw new Error(`a child failed: exit codes ${codes}`);
    console.log(`two processes, ${iterations} increments each: a = ${c.a[0]}, b = ${c.b[0]}`);

    const dying = spawn("die");
    while (Atomics.load(c.holding, 0) === 0) await Bun.sleep(1);
    dying.kill("SIGKILL");
    await dying.exited;
    // ANCHOR: dead-holder
    try {
      c.lock.lock(0.2); // spin for at most 0.2 s
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      console.log(`the holder was killed; lock(0.2): ${error.code}: the lock stays taken forever`);
    }
    // ANCHOR_END: dead-holder
  } finally {
    SharedMemory.unlink(name);
  }
}

const [mode, name, n] = process.argv.slice(2);
if ((mode === "count" || mode === "die") && name) child(mode, name, Number(n));
else await main(Number(mode ?? 100_000));
