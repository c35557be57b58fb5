/**
 * printer-floppy.ts — the lecture's deadlock, for real. Process A prints
 * (it holds the printer) and then needs the floppy drive; process B reads
 * the floppy (it holds the drive) and then needs the printer. Each waits
 * for the other, forever: the locks here are flock(2) locks, for which
 * the kernel does not look for deadlocks. This program plays the
 * administrator: it finds the cycle in /proc/locks with findDeadlocks(),
 * names the processes, and ends the deadlock by killing one of them.
 *
 * Run:  bun run examples/09-deadlock/printer-floppy.ts
 * The parent starts itself again as A and B (`... user FIRST SECOND`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { findDeadlocks, locksOn, OpenFile } from "../../lib/index.ts";

if (process.argv[2] === "user") {
  // ANCHOR: user
  const [first, second] = process.argv.slice(3);
  using mine = new OpenFile(first!);
  mine.flock("exclusive"); // take the first device
  await Bun.stdin.text(); // (wait until the other process has its device too)
  using theirs = new OpenFile(second!);
  theirs.flock("exclusive"); // ... and wait for the second: forever, if the other does the same
  console.log(`${process.pid} has both devices`);
  // ANCHOR_END: user
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-devices-`));
  const printer = path.join(dir, "printer");
  const floppy = path.join(dir, "floppy");
  fs.writeFileSync(printer, "");
  fs.writeFileSync(floppy, "");
  const start = (first: string, second: string) =>
    Bun.spawn([process.execPath, import.meta.path, "user", first, second], { stdin: "pipe", stdout: "pipe" });
  const a = start(printer, floppy);
  const b = start(floppy, printer);
  try {
    await until(() => locksOn(printer).length === 1 && locksOn(floppy).length === 1);
    a.stdin.end();
    b.stdin.end();
    await until(() => [printer, floppy].every((f) => locksOn(f).some((l) => l.blocked)));
    console.log(`A = ${a.pid} holds the printer and waits for the floppy; B = ${b.pid} holds the floppy and waits for the printer`);

    // ANCHOR: detect
    const [cycle] = findDeadlocks({ paths: [printer, floppy] });
    console.log(`deadlock of ${cycle!.processes.length} processes:\n${cycle!.description.replace(/^/gm, "  ")}`);
    // ANCHOR_END: detect

    // ANCHOR: resolve
    const victim = cycle!.processes.find((p) => p.pid === b.pid)!;
    process.kill(victim.pid, "SIGKILL"); // the administrator ends it; B's locks go with it
    await b.exited;
    console.log(`killed ${victim.pid}; A says: ${(await new Response(a.stdout).text()).trim()}`);
    // ANCHOR_END: resolve
    await a.exited;
    console.log(`deadlocks left: ${findDeadlocks({ paths: [printer, floppy] }).length}`);
  } finally {
    a.kill("SIGKILL");
    b.kill("SIGKILL");
    await Promise.all([a.exited, b.exited]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
