/**
 * lock-file.ts — a lock file, the way /etc/shadow.lock works: the file's
 * existence means "locked", it holds the owner's PID, and it is created
 * with O_CREAT|O_EXCL so that of two processes exactly one succeeds. A
 * second process is refused and told who the owner is. Then an owner is
 * killed with SIGKILL and leaves its lock file behind: the next process
 * finds the PID dead and takes the stale file over.
 *
 * Run:  bun run examples/08-locks/lock-file.ts
 * The parent starts itself again as other processes (`... try PATH`,
 * `... hold PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IpcError, LockFile, pidAlive } from "../../lib/index.ts";

const [role, lockPath] = process.argv.slice(2);
if (role === "try") {
  // ANCHOR: second
  try {
    LockFile.acquire(lockPath!, { timeout: 0 });
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`second process: ${error.constructor.name}: ${error.message}`);
  }
  // ANCHOR_END: second
} else if (role === "hold") {
  LockFile.acquire(lockPath!);
  await Bun.sleep(60_000); // until it is killed
} else {
  await main();
}

async function main(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-lockfile-`));
  try {
    const shadowLock = path.join(dir, "shadow.lock");
    // ANCHOR: first
    const lock = LockFile.acquire(shadowLock); // open(O_CREAT|O_EXCL), write our PID
    const mode = (fs.statSync(shadowLock).mode & 0o777).toString(8);
    console.log(`we (${process.pid}) hold shadow.lock: it contains ${JSON.stringify(fs.readFileSync(shadowLock, "utf8"))}, mode ${mode}`);
    // ANCHOR_END: first
    const second = Bun.spawn([process.execPath, import.meta.path, "try", shadowLock], { stdout: "pipe" });
    process.stdout.write(await new Response(second.stdout).text());
    lock.release(); // removes the file
    console.log(`released: shadow.lock exists: ${fs.existsSync(shadowLock)}`);

    // ANCHOR: stale
    const owner = Bun.spawn([process.execPath, import.meta.path, "hold", shadowLock]);
    await until(() => LockFile.inspect(shadowLock)?.pid === owner.pid);
    owner.kill("SIGKILL"); // dies holding the lock: no chance to remove the file
    await owner.exited;
    const state = LockFile.inspect(shadowLock)!;
    console.log(`owner ${owner.pid} killed; shadow.lock still names it: alive ${state.alive}, stale ${state.stale}`);

    using mine = LockFile.acquire(shadowLock, { timeout: 5 }); // finds the stale file and takes it over
    console.log(`took over the stale lock of ${mine.tookOverFrom}; it now contains ${JSON.stringify(fs.readFileSync(shadowLock, "utf8"))}`);
    // ANCHOR_END: stale
    console.log(`is ${owner.pid} alive? ${pidAlive(owner.pid)}; are we (${process.pid})? ${pidAlive(process.pid)}`);
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
