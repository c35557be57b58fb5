/**
 * big-lock.ts — one big lock against many small ones, the trade the
 * Linux kernel made when it removed its Big Kernel Lock. Four processes
 * each update their own record of a shared file, holding a lock for a
 * couple of milliseconds per update. With one lock on the whole file they
 * are safe and simple, and take turns even though they never touch the
 * same bytes; with a lock per record they run side by side.
 *
 * Run:  bun run examples/09-deadlock/big-lock.ts [updates]
 * The parent starts itself again as the workers (`... worker MODE RECORD N PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locksOn, OpenFile } from "../../lib/index.ts";

type Mode = "one big lock" | "a lock per record";
const RECORD = 8;
const WORKERS = 4;

if (process.argv[2] === "worker") {
  const [mode, record, updates, file] = process.argv.slice(3);
  using gate = new OpenFile(`${file}.gate`, { readOnly: true });
  gate.flock("shared"); // all workers start when the parent opens the gate
  gate.unflock();
  work(mode as Mode, Number(record), Number(updates), file!);
} else {
  await main(Number(process.argv[2] ?? 50));
}

// ANCHOR: work
function work(mode: Mode, record: number, updates: number, path: string): void {
  using file = new OpenFile(path);
  const mine = { start: record * RECORD, length: RECORD };
  for (let i = 0; i < updates; i++) {
    file.lock("exclusive", mode === "one big lock" ? {} : mine); // {}: the whole file
    const value = file.read(mine.start, RECORD).readBigInt64LE(0);
    Bun.sleepSync(2); // the work done while holding the lock
    const bytes = Buffer.alloc(RECORD);
    bytes.writeBigInt64LE(value + 1n);
    file.write(bytes, mine.start);
    file.unlock(mode === "one big lock" ? {} : mine);
  }
}
// ANCHOR_END: work

async function main(updates: number): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-biglock-`));
  try {
    const file = path.join(dir, "counters.bin");
    fs.writeFileSync(`${file}.gate`, "");
    for (const mode of ["one big lock", "a lock per record"] as const) {
      fs.writeFileSync(file, Buffer.alloc(WORKERS * RECORD));
      using gate = new OpenFile(`${file}.gate`, { readOnly: true });
      gate.flock("exclusive");
      const workers = Array.from({ length: WORKERS }, (_, record) =>
        Bun.spawn([process.execPath, import.meta.path, "worker", mode, String(record), String(updates), file], { stderr: "inherit" }),
      );
      await until(() => locksOn(`${file}.gate`).filter((l) => l.blocked).length === WORKERS);
      const started = performance.now();
      gate.unflock();
      const codes = await Promise.all(workers.map((w) => w.exited));
      const ms = Math.round(performance.now() - started);
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: ${codes}`);
      const bytes = fs.readFileSync(file);
      const counts = Array.from({ length: WORKERS }, (_, i) => bytes.readBigInt64LE(i * RECORD));
      console.log(`${mode.padEnd(17)}  counters ${counts.join(" ")}  in ${ms} ms`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
