/**
 * record-locks.ts — fcntl(2) record locks on byte ranges. An accounts
 * file holds fixed-size records; a clerk process locks record 0 for
 * writing. This process can still lock record 1 (another range), share a
 * read lock on record 2 with the clerk, and ask F_GETLK who is in the way
 * of record 0: the kernel answers with the holder's PID.
 *
 * Run:  bun run examples/08-locks/record-locks.ts
 * The parent starts itself again as the clerk (`... clerk PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { commandOf, locksOn, OpenFile } from "../../lib/index.ts";

const RECORD = 16; // bytes per account: u32 id, u32 flags, i64 balance in cents

if (process.argv[2] === "clerk") {
  // ANCHOR: clerk
  using file = new OpenFile(process.argv[3]!);
  file.lock("exclusive", { start: 0 * RECORD, length: RECORD }); // record 0, for writing
  file.lock("shared", { start: 2 * RECORD, length: RECORD }); // record 2, for reading
  await Bun.stdin.text(); // hold them until the parent closes our stdin
  // ANCHOR_END: clerk
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-records-`));
  const accounts = path.join(dir, "accounts.bin");
  fs.writeFileSync(accounts, Buffer.alloc(4 * RECORD));
  const clerk = Bun.spawn([process.execPath, import.meta.path, "clerk", accounts], { stdin: "pipe" });
  try {
    await until(() => locksOn(accounts).filter((l) => l.pid === clerk.pid).length === 2);
    console.log(`clerk ${clerk.pid} (${commandOf(clerk.pid)}) holds record 0 for writing and record 2 for reading`);

    // ANCHOR: others
    using file = new OpenFile(accounts);
    const record = (n: number) => ({ start: n * RECORD, length: RECORD });
    console.log(`lock record 1 for writing: ${file.tryLock("exclusive", record(1)) ? "granted" : "refused"}`);
    console.log(`lock record 2 for reading: ${file.tryLock("shared", record(2)) ? "granted" : "refused"}`);
    console.log(`lock record 2 for writing: ${file.tryLock("exclusive", record(2)) ? "granted" : "refused"}`);
    console.log(`lock record 0 for reading: ${file.tryLock("shared", record(0)) ? "granted" : "refused"}`);

    const conflict = file.testLock("shared", record(0)); // F_GETLK: who is in the way?
    if (conflict !== null) {
      const { mode, start, length, pid, command } = conflict;
      console.log(`F_GETLK on record 0: ${mode} lock on bytes ${start}..${start + length - 1}, held by ${pid} (${command})`);
    }
    // ANCHOR_END: others
    console.log(`the clerk is ${clerk.pid}`);
  } finally {
    clerk.stdin.end();
    await clerk.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
