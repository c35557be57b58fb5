/**
 * starvation.ts — starvation: a process that could go on, but is never
 * given its turn. A reader process keeps a shared flock on a file without
 * a gap: it holds the file through two open files and hands over between
 * them, taking the second shared lock before letting go of the first. A
 * writer waiting for an exclusive lock needs a moment with no shared lock
 * at all, and the kernel grants new shared locks while it waits, so it
 * never gets one — for as long as the reader goes on.
 *
 * Run:  bun run examples/09-deadlock/starvation.ts [hand-overs]
 * The parent is the reader and starts itself again as the writer (`... writer PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locksOn, OpenFile } from "../../lib/index.ts";

if (process.argv[2] === "writer") {
  using file = new OpenFile(process.argv[3]!);
  file.flock("exclusive"); // waits as long as it takes
  console.log("the writer has its exclusive lock");
} else {
  const handOvers = Number(process.argv[2] ?? 2000);
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-starve-`));
  const file = path.join(dir, "catalogue.db");
  fs.writeFileSync(file, "");
  const writer = Bun.spawn([process.execPath, import.meta.path, "writer", file], { stdout: "pipe" });
  try {
    // ANCHOR: readers
    const a = new OpenFile(file, { readOnly: true });
    const b = new OpenFile(file, { readOnly: true });
    a.flock("shared");
    await until(() => locksOn(file).some((l) => l.blocked && l.pid === writer.pid)); // the writer waits
    let [holding, next] = [a, b];
    let starved = 0;
    for (let i = 0; i < handOvers; i++) {
      next.flock("shared"); // granted at once, although a writer is waiting ...
      holding.unflock(); // ... so there is never a moment without a shared lock
      [holding, next] = [next, holding];
      if (!locksOn(file).some((l) => !l.blocked && l.pid === writer.pid)) starved++; // no lock for the writer
    }
    console.log(`${handOvers} shared locks granted while the writer waited; after ${starved} of them it still had nothing`);
    holding.unflock(); // the reader stops: now there is a gap
    // ANCHOR_END: readers
    console.log((await new Response(writer.stdout).text()).trim());
    a.close();
    b.close();
  } finally {
    writer.kill("SIGKILL");
    await writer.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
