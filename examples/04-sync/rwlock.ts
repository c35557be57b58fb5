/**
 * rwlock.ts — readers share, a writer waits, and whom the lock prefers.
 * For each of glibc's three preferences: this process holds a read lock, a
 * child asks for the write lock and has to wait, and then this process
 * tries to let one more reader in. With reader preference the new reader
 * gets in past the waiting writer (a steady stream of readers would starve
 * it forever); with real writer preference it is refused.
 *
 * Run:  bun run examples/04-sync/rwlock.ts
 */
import { layout, RwLock, SharedMemory, type RwPreference } from "../../lib/index.ts";

const Catalogue = layout({
  reader: RwLock.field({ prefer: "reader" }),
  writer: RwLock.field({ prefer: "writer" }),
  "writer-nonrecursive": RwLock.field({ prefer: "writer-nonrecursive" }),
  asking: "i32", // the writer's pid, once it is about to ask for the lock
  price: "i32",
});
const KINDS: RwPreference[] = ["reader", "writer", "writer-nonrecursive"];

function writer(name: string, kind: RwPreference): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const catalogue = Catalogue.attach(map);
  Atomics.store(catalogue.asking, 0, process.pid);
  catalogue[kind].writeLock(30); // waits until no reader is left
  catalogue.price[0]! += 10;
  catalogue[kind].unlock();
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-catalogue-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Catalogue.size });
  try {
    using map = shm.map();
    const catalogue = Catalogue.init(map);
    for (const kind of KINDS) {
      const lock = catalogue[kind];
      // ANCHOR: probe
      lock.readLock(); // a reader is inside
      Atomics.store(catalogue.asking, 0, 0);
      const child = Bun.spawn([process.execPath, import.meta.path, "writer", name, kind], { stdout: "inherit", stderr: "inherit" });
      while (Atomics.load(catalogue.asking, 0) === 0) await Bun.sleep(1);
      // The writer now waits (or is about to). Does a new reader get in?
      let refused = false;
      const until = Date.now() + (kind === "writer-nonrecursive" ? 10_000 : 300);
      while (!refused && Date.now() < until) {
        if (lock.tryReadLock()) lock.unlock(); // got in, and out again
        else refused = true;
        await Bun.sleep(5);
      }
      // ANCHOR_END: probe
      console.log(
        `prefer ${kind.padEnd(19)} ${refused ? "a new reader was refused: it queues behind the waiting writer" : "new readers got in while the writer waited: it can starve"}`,
      );
      lock.unlock(); // the last reader leaves: the writer goes in
      if ((await child.exited) !== 0) throw new Error("the writer failed");
    }
    console.log(`price after three writers: ${catalogue.price[0]}`);
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "writer") writer(process.argv[3]!, process.argv[4] as RwPreference);
else await main();
