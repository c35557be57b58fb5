/**
 * lost-updates.ts — several processes increment one counter in shared
 * memory, first with a plain increment (`words[0] = words[0] + 1`, which
 * is what `words[0]++` does), then with `Atomics.add`.
 *
 * The plain increment is a load, an add and a store. When two processes
 * interleave those steps, one of them stores a value computed from a stale
 * load and the other's increment is lost. `Atomics.add` does the three
 * steps as one indivisible instruction, so nothing is lost.
 *
 * Run:  bun run examples/03-shm/lost-updates.ts [processes] [iterations]
 *
 * The parent re-runs this file as its children (`... child NAME MODE N`).
 * All children report "ready" and then spin until the parent sets a "go"
 * word, so their loops really overlap.
 */
import { SharedMemory } from "../../lib/index.ts";

// Word indexes in the shared Int32Array.
const COUNTER = 0; // the number everyone increments
const READY = 1; // children that have mapped the object and are waiting
const GO = 2; // set to 1 by the parent to start all loops at once

type Mode = "plain" | "atomic";

if (process.argv[2] === "child") {
  child(process.argv[3]!, process.argv[4] as Mode, Number(process.argv[5]));
} else {
  const processes = Number(process.argv[2] ?? 2);
  const iterations = Number(process.argv[3] ?? 5_000_000);
  const valid = Number.isInteger(processes) && processes >= 1 && Number.isInteger(iterations) && iterations >= 1;
  if (!valid || processes * iterations > 2 ** 31 - 1) {
    // the counter is an Int32: the expected total must fit in it
    console.error("usage: bun run examples/03-shm/lost-updates.ts [processes] [iterations]");
    process.exit(2);
  }
  await parent(processes, iterations);
}

// ANCHOR: child
function child(name: string, mode: Mode, iterations: number): void {
  using shm = new SharedMemory(name); // opened, not created: the parent made it
  using map = shm.map();
  const words = map.view(Int32Array, 0, 4);

  Atomics.add(words, READY, 1); // "I am mapped and waiting"
  const deadline = Date.now() + 10_000;
  while (Atomics.load(words, GO) === 0) {
    if (Date.now() > deadline) throw new Error("child: no go signal within 10 s");
  }

  if (mode === "plain") {
    for (let i = 0; i < iterations; i++) words[COUNTER] = words[COUNTER]! + 1; // load, add, store
  } else {
    for (let i = 0; i < iterations; i++) Atomics.add(words, COUNTER, 1);
  }
}
// ANCHOR_END: child

async function parent(processes: number, iterations: number): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const name = `/${prefix}-counter-${process.pid}`;
  // ANCHOR: parent
  using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
  try {
    using map = shm.map();
    const words = map.view(Int32Array, 0, 4);
    const expected = processes * iterations;

    for (const mode of ["plain", "atomic"] as const) {
      words.fill(0); // counter, ready and go back to 0
      const children = Array.from({ length: processes }, () =>
        Bun.spawn([process.execPath, import.meta.path, "child", name, mode, String(iterations)], {
          stdout: "inherit",
          stderr: "inherit",
        }),
      );
      try {
        while (Atomics.load(words, READY) < processes) await Bun.sleep(1);
        Atomics.store(words, GO, 1); // all children start their loops now
        const codes = await Promise.all(children.map((c) => c.exited));
        if (codes.some((code) => code !== 0)) throw new Error(`a child failed: exit codes ${codes}`);
      } finally {
        for (const c of children) if (c.exitCode === null) c.kill();
      }

      const got = Atomics.load(words, COUNTER);
      const lost = expected - got;
      const percent = ((100 * lost) / expected).toFixed(1);
      console.log(`${mode.padEnd(6)}  expected ${expected}  got ${got}  lost ${lost} (${percent}%)`);
    }
  } finally {
    SharedMemory.unlink(name);
  }
  // ANCHOR_END: parent
}
