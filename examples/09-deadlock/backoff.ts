/**
 * backoff.ts — timeouts and back-off, the practical defence. First, a
 * process that needs two records, one of which someone holds and never
 * lets go, gives up after a timeout instead of waiting forever, and holds
 * nothing afterwards. Then livelock: two processes that each need both
 * records take them in opposite orders without waiting — take one, try
 * the other, and if it is taken let go and try again. Retrying at once,
 * they collide again and again, both busy and neither getting anywhere
 * (each gives up after 1000 failed attempts here); waiting a random,
 * growing time before each retry breaks the lock-step.
 *
 * Run:  bun run examples/09-deadlock/backoff.ts [rounds]
 * The parent starts itself again (`... hold PATH`, `... worker STRATEGY FIRST SECOND ROUNDS PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { backoffDelays, IpcError, lockRanges, locksOn, OpenFile } from "../../lib/index.ts";

type Strategy = "at once" | "random back-off";
const [role] = process.argv.slice(2);

if (role === "hold") {
  using file = new OpenFile(process.argv[3]!);
  file.lock("exclusive", { start: 8, length: 1 });
  await Bun.stdin.text(); // until the parent closes our stdin
} else if (role === "worker") {
  const [strategy, first, second, rounds, file] = process.argv.slice(3);
  using gate = new OpenFile(`${file}.gate`, { readOnly: true });
  gate.flock("shared"); // wait until the parent opens the gate: both start together
  console.log(JSON.stringify(worker(strategy as Strategy, Number(first), Number(second), Number(rounds), file!)));
} else {
  await main(Number(process.argv[2] ?? 200));
}

// ANCHOR: worker
/** Takes both bytes `rounds` times (or until 1000 attempts have failed). */
function worker(strategy: Strategy, first: number, second: number, rounds: number, path: string) {
  using file = new OpenFile(path);
  let failed = 0;
  let done = 0;
  for (; done < rounds && failed < 1000; done++) {
    const delays = backoffDelays({ initial: 1, max: 20 });
    for (;;) {
      if (file.tryLock("exclusive", { start: first, length: 1 })) {
        Bun.sleepSync(1); // some work between the two acquisitions
        if (file.tryLock("exclusive", { start: second, length: 1 })) break;
        file.unlock({ start: first, length: 1 }); // could not get both: let go of the first
      }
      if (++failed === 1000) return { done, failed }; // livelock: give up
      if (strategy === "random back-off") Bun.sleepSync(delays.next().value);
    }
    file.unlock({ start: first, length: 1 });
    file.unlock({ start: second, length: 1 });
  }
  return { done, failed };
}
// ANCHOR_END: worker

async function main(rounds: number): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-backoff-`));
  try {
    const file = path.join(dir, "records.bin");
    fs.writeFileSync(file, Buffer.alloc(16));

    const holder = Bun.spawn([process.execPath, import.meta.path, "hold", file], { stdin: "pipe" });
    await until(() => locksOn(file).length === 1);
    // ANCHOR: timeout
    using mine = new OpenFile(file);
    try {
      lockRanges(mine, "exclusive", [{ start: 0, length: 1 }, { start: 8, length: 1 }], { timeout: 0.3 });
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      console.log(`lockRanges with a timeout of 0.3 s: ${error.constructor.name} ${error.code}`);
    }
    console.log(`locks this process holds afterwards: ${locksOn(file).filter((l) => l.pid === process.pid).length}`);
    // ANCHOR_END: timeout
    holder.stdin.end();
    await holder.exited;

    const gateFile = `${file}.gate`;
    fs.writeFileSync(gateFile, "");
    for (const strategy of ["at once", "random back-off"] as const) {
      using gate = new OpenFile(gateFile, { readOnly: true });
      gate.flock("exclusive"); // the gate is shut
      const worker = (first: number, second: number) =>
        Bun.spawn([process.execPath, import.meta.path, "worker", strategy, String(first), String(second), String(rounds), file], { stdout: "pipe" });
      const workers = [worker(0, 8), worker(8, 0)];
      await until(() => locksOn(gateFile).filter((l) => l.blocked).length === 2);
      gate.unflock(); // both go
      const results = await Promise.all(workers.map(async (w) => JSON.parse(await new Response(w.stdout).text()) as { done: number; failed: number }));
      await Promise.all(workers.map((w) => w.exited));
      const done = results[0]!.done + results[1]!.done;
      const failed = results[0]!.failed + results[1]!.failed;
      console.log(`${strategy.padEnd(15)}  ${done} of ${2 * rounds} rounds done, ${failed} attempts failed`);
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
