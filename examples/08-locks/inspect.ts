/**
 * inspect.ts — who holds which lock: the kernel lists every lock in
 * /proc/locks, one line each, with blocked requests as "->" lines under
 * the lock they wait for. This program starts three holders (a flock, a
 * POSIX record lock, an OFD lock), waits itself for a range they hold,
 * and prints the table with the processes named; then the same through
 * lslocks(8), if it is installed.
 *
 * Run:  bun run examples/08-locks/inspect.ts
 * The parent starts itself again as the holders (`... hold KIND PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locksOn, ofdHolders, OpenFile, readProcLocks } from "../../lib/index.ts";

const [role, kind, target] = process.argv.slice(2);
if (role === "hold") {
  using file = new OpenFile(target!);
  if (kind === "flock") file.flock("exclusive");
  if (kind === "posix") file.lock("exclusive", { start: 0, length: 100 });
  if (kind === "ofd") file.lock("shared", { start: 100, length: 100, ofd: true });
  await Bun.stdin.text(); // hold it until the parent closes our stdin
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-inspect-`));
  const names = new Map<number, string>();
  const file = (name: string) => {
    const full = path.join(dir, name);
    fs.writeFileSync(full, Buffer.alloc(256));
    names.set(fs.statSync(full).ino, name);
    return full;
  };
  const queue = file("queue.txt");
  const data = file("data.bin");
  const holders = [
    ["flock", queue],
    ["posix", data],
    ["ofd", data],
  ].map(([k, p]) => Bun.spawn([process.execPath, import.meta.path, "hold", k!, p!], { stdin: "pipe" }));
  try {
    await until(() => locksOn(queue).length + locksOn(data).length === 3);
    using mine = new OpenFile(data);
    const waiting = mine.lockAsync("exclusive", { start: 50, length: 100 }); // blocked by two of them
    await until(() => locksOn(data).some((l) => l.blocked));

    // ANCHOR: table
    const who = (pid: number, command: string | null) => (pid === process.pid ? "this process" : `${pid} (${command})`);
    console.log("ID  KIND   MODE       BYTES     FILE       PROCESS");
    for (const lock of readProcLocks().filter((l) => names.has(l.inode))) {
      const bytes = `${lock.start}..${lock.end ?? "EOF"}`;
      const owner = lock.pid === -1 ? `open file of ${ofdHolders(lock).join(", ")}` : who(lock.pid, lock.command);
      const id = lock.blocked ? " ->" : String(lock.id).padStart(3);
      console.log(`${id} ${lock.kind.toUpperCase().padEnd(6)} ${lock.mode.padEnd(10)} ${bytes.padEnd(9)} ${names.get(lock.inode)!.padEnd(10)} ${owner}`);
    }
    // ANCHOR_END: table
    console.log(`holders: flock ${holders[0]!.pid}, posix ${holders[1]!.pid}, ofd ${holders[2]!.pid}; this process ${process.pid}`);

    // ANCHOR: lslocks
    if (Bun.which("lslocks") !== null) {
      const run = Bun.spawnSync(["lslocks", "--noheadings", "--output", "COMMAND,PID,TYPE,MODE,START,END,PATH"]);
      const ours = run.stdout.toString().split("\n").filter((line) => line.includes(dir));
      console.log(`lslocks lists ${ours.length} of our locks:`);
      for (const line of ours) console.log(`  ${line.trim().replace(dir, "…")}`);
    }
    // ANCHOR_END: lslocks
    holders[1]!.stdin.end();
    holders[2]!.stdin.end();
    await waiting;
  } finally {
    for (const h of holders) h.stdin.end();
    await Promise.all(holders.map((h) => h.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
