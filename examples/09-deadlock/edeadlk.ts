/**
 * edeadlk.ts — the kernel's own deadlock detection. Two processes lock
 * two bytes of one file with POSIX record locks, in opposite orders. A
 * takes byte 0, B takes byte 1; A asks for byte 1 and sleeps in F_SETLKW.
 * When B asks for byte 0, the kernel sees that B would wait for A, who
 * waits for B, and answers EDEADLK instead of putting B to sleep. B gives
 * up its lock, and A goes on.
 *
 * Run:  bun run examples/09-deadlock/edeadlk.ts
 * The parent starts itself again as A and B (`... clerk FIRST SECOND PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeadlockError, locksOn, OpenFile } from "../../lib/index.ts";

if (process.argv[2] === "clerk") {
  const [first, second, file] = process.argv.slice(3);
  // ANCHOR: clerk
  using accounts = new OpenFile(file!);
  accounts.lock("exclusive", { start: Number(first), length: 1 }); // F_SETLKW
  await Bun.stdin.text(); // (the parent says when to go on)
  try {
    accounts.lock("exclusive", { start: Number(second), length: 1 }); // F_SETLKW again
    console.log(`got byte ${second} too`);
  } catch (error) {
    if (!(error instanceof DeadlockError)) throw error;
    console.log(`${error.code} from ${error.call}: giving up byte ${first}`);
    accounts.unlock({ start: Number(first), length: 1 }); // back off, so the other can finish
  }
  // ANCHOR_END: clerk
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-edeadlk-`));
  const file = path.join(dir, "accounts.bin");
  fs.writeFileSync(file, Buffer.alloc(16));
  const clerk = (first: number, second: number) =>
    Bun.spawn([process.execPath, import.meta.path, "clerk", String(first), String(second), file], { stdin: "pipe", stdout: "pipe" });
  const a = clerk(0, 1);
  const b = clerk(1, 0);
  try {
    await until(() => locksOn(file).length === 2);
    a.stdin.end(); // A asks for byte 1 and sleeps ...
    await until(() => locksOn(file).some((l) => l.blocked && l.pid === a.pid));
    console.log("A holds byte 0 and waits for byte 1; B holds byte 1 and now asks for byte 0");
    b.stdin.end(); // ... and B's request would close the circle
    console.log(`B: ${(await new Response(b.stdout).text()).trim()}`);
    console.log(`A: ${(await new Response(a.stdout).text()).trim()}`);
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
