/**
 * async-wait.ts — waiting without stopping the event loop. A blocking
 * wait() is one C call: until it returns, no timer fires, no request is
 * served, nothing else in the process runs. waitAsync() hands the same
 * call to a helper thread and returns a promise, so the event loop runs on
 * while the helper sleeps in the kernel.
 *
 * An interval ticks every 10 ms. A child posts the semaphore: once after
 * 200 ms (the parent waits with wait()), once after it has seen the parent
 * tick three times (the parent waits with waitAsync(), which it could not
 * if the loop stood still). Last, a timed waitAsync() that nobody ends.
 *
 * Run:  bun run examples/04-sync/async-wait.ts
 */
import { layout, Semaphore, SharedMemory, TimeoutError } from "../../lib/index.ts";

const Shared = layout({ ready: Semaphore.field({ value: 0 }), ticks: "i32" });

async function child(mode: string, name: string): Promise<void> {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const shared = Shared.attach(map);
  if (mode === "after-sleep") Bun.sleepSync(200);
  else while (Atomics.load(shared.ticks, 0) < 3) await Bun.sleep(1); // after three ticks of the parent
  shared.ready.post();
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-async-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Shared.size });
  try {
    using map = shm.map();
    const shared = Shared.init(map);
    const interval = setInterval(() => Atomics.add(shared.ticks, 0, 1), 10);
    const spawn = (mode: string) => Bun.spawn([process.execPath, import.meta.path, mode, name], { stdout: "inherit", stderr: "inherit" });
    try {
      // ANCHOR: blocking
      Atomics.store(shared.ticks, 0, 0);
      const sleeper = spawn("after-sleep");
      shared.ready.wait(10); // the whole process stops here
      console.log(`wait():      ${Atomics.load(shared.ticks, 0)} ticks while waiting`);
      // ANCHOR_END: blocking
      await sleeper.exited;

      // ANCHOR: async
      Atomics.store(shared.ticks, 0, 0);
      const ticker = spawn("after-ticks");
      await shared.ready.waitAsync(10); // a helper thread waits; the interval keeps ticking
      console.log(`waitAsync(): ${Atomics.load(shared.ticks, 0)} ticks while waiting`);
      // ANCHOR_END: async
      await ticker.exited;

      // ANCHOR: timeout
      try {
        await shared.ready.waitAsync(0.1); // nobody posts: give up after 0.1 s
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        console.log(`waitAsync(0.1): ${error.code} from ${error.call}`);
      }
      // ANCHOR_END: timeout
    } finally {
      clearInterval(interval);
    }
  } finally {
    SharedMemory.unlink(name);
  }
}

const [mode, name] = process.argv.slice(2);
if ((mode === "after-sleep" || mode === "after-ticks") && name) await child(mode, name);
else await main();
