/**
 * flock.ts — whole-file locks with flock(2): two readers share a shared
 * lock; a writer that wants the exclusive lock is refused at once
 * (timeout 0), gives up after a timeout, or waits, shown in /proc/locks as
 * a blocked request ("->"), until the last reader lets go.
 *
 * Run:  bun run examples/08-locks/flock.ts
 * The parent starts itself again as the readers (`... reader PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IpcError, locksOn, OpenFile, type ProcLock } from "../../lib/index.ts";

if (process.argv[2] === "reader") {
  using file = new OpenFile(process.argv[3]!, { readOnly: true });
  file.flock("shared");
  await Bun.stdin.text(); // hold the lock until the parent closes our stdin
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-flock-`));
  const config = path.join(dir, "config.toml");
  fs.writeFileSync(config, 'threads = 4\n');
  const readers = [1, 2].map(() => Bun.spawn([process.execPath, import.meta.path, "reader", config], { stdin: "pipe" }));
  try {
    await until(() => locksOn(config).length === 2);
    show("two readers hold shared locks:", locksOn(config), readers);

    // ANCHOR: writer
    using writer = new OpenFile(config);
    for (const timeout of [0, 0.2]) {
      try {
        writer.flock("exclusive", { timeout }); // LOCK_EX|LOCK_NB, retried until the timeout
      } catch (error) {
        if (!(error instanceof IpcError)) throw error;
        console.log(`flock("exclusive", { timeout: ${timeout} }): ${error.constructor.name} ${error.code}`);
      }
    }
    const waiting = writer.flockAsync("exclusive"); // LOCK_EX, waiting in a worker thread
    await until(() => locksOn(config).some((l) => l.blocked));
    show("the writer waits:", locksOn(config), readers);

    readers[0]!.stdin.end(); // the first reader lets go: the writer still waits
    await readers[0]!.exited;
    readers[1]!.stdin.end(); // the second one too: now the writer gets the lock
    await waiting;
    show("the readers are gone; the writer holds:", locksOn(config), readers);
    // ANCHOR_END: writer
  } finally {
    for (const reader of readers) reader.stdin.end();
    await Promise.all(readers.map((r) => r.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the /proc/locks lines, naming our processes. */
function show(title: string, locks: ProcLock[], readers: { pid: number }[]): void {
  console.log(title);
  for (const lock of locks) {
    const who = lock.pid === process.pid ? "writer" : `reader ${readers.findIndex((r) => r.pid === lock.pid) + 1}`;
    console.log(`  ${lock.blocked ? "-> " : "   "}${lock.kind.toUpperCase()} ${lock.mode.padEnd(9)} ${who}`);
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
