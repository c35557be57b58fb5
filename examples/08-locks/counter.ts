/**
 * counter.ts — lost updates in a file, and flock as the cure. Several
 * processes each add 1 to a number kept as text in a file, many times:
 * read it, add one, write it back. Without a lock two of them read the
 * same value and one increment is lost; with an exclusive flock around
 * the read-modify-write none is.
 *
 * Run:  bun run examples/08-locks/counter.ts [processes] [increments]
 * The parent starts itself again as the workers (`... worker PATH GATE MODE N`).
 * The workers line up behind a lock on a "gate" file that the parent
 * holds, so that they all start at the same moment.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locksOn, OpenFile } from "../../lib/index.ts";

type Mode = "no lock" | "flock";

if (process.argv[2] === "worker") {
  const [file, gate, mode, times] = process.argv.slice(3);
  using start = new OpenFile(gate!, { readOnly: true });
  start.flock("shared"); // blocks until the parent opens the gate
  start.unflock();
  increment(file!, mode as Mode, Number(times));
} else {
  const processes = Number(process.argv[2] ?? 3);
  const increments = Number(process.argv[3] ?? 2000);
  await main(processes, increments);
}

// ANCHOR: increment
function increment(path: string, mode: Mode, times: number): void {
  using file = new OpenFile(path);
  for (let i = 0; i < times; i++) {
    if (mode === "flock") file.flock("exclusive"); // wait for our turn
    const value = Number.parseInt(file.readText(), 10); // read ...
    file.overwrite(String(value + 1)); // ... modify, write
    if (mode === "flock") file.unflock(); // next, please
  }
}
// ANCHOR_END: increment

async function main(processes: number, increments: number): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-counter-`));
  try {
    const counter = path.join(dir, "counter.txt");
    const gate = path.join(dir, "gate");
    fs.writeFileSync(gate, "");
    for (const mode of ["no lock", "flock"] as const) {
      fs.writeFileSync(counter, "0");
      using closed = new OpenFile(gate, { readOnly: true });
      closed.flock("exclusive"); // the gate is shut
      const workers = Array.from({ length: processes }, () =>
        Bun.spawn([process.execPath, import.meta.path, "worker", counter, gate, mode, String(increments)], { stderr: "inherit" }),
      );
      await until(() => locksOn(gate).filter((l) => l.blocked).length === processes);
      closed.unflock(); // everybody go
      const codes = await Promise.all(workers.map((w) => w.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes}`);
      const expected = processes * increments;
      const got = Number.parseInt(fs.readFileSync(counter, "utf8"), 10); // without a lock the text can be mangled
      console.log(`${mode.padEnd(7)}  expected ${expected}  got ${got}  lost ${expected - got}`);
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
