/**
 * close-gotcha.ts — the trap in POSIX record locks: they belong to the
 * process, and closing *any* descriptor of the file releases *all* of the
 * process's locks on it. Here a harmless-looking fs.readFileSync() of the
 * locked file (which opens and closes a descriptor of its own) silently
 * drops the lock, and another process can then take it. An
 * open-file-description (OFD) lock belongs to the open file instead, and
 * survives.
 *
 * Run:  bun run examples/08-locks/close-gotcha.ts
 * The parent starts itself again to probe the lock (`... probe PATH`):
 * the probe exits with 0 if it could lock bytes 0..9, 1 if not.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locksOn, OpenFile } from "../../lib/index.ts";

if (process.argv[2] === "probe") {
  using file = new OpenFile(process.argv[3]!);
  process.exitCode = file.tryLock("exclusive", { start: 0, length: 10 }) ? 0 : 1;
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-gotcha-`));
  try {
    const journal = path.join(dir, "journal.log");
    fs.writeFileSync(journal, "entry 1\nentry 2\n");

    // ANCHOR: posix
    const file = new OpenFile(journal);
    file.lock("exclusive", { start: 0, length: 10 }); // F_SETLKW: a POSIX record lock
    console.log(`POSIX lock taken:   ${describe(journal)}; another process may lock: ${await probe(journal)}`);
    const size = fs.readFileSync(journal).length; // opens and CLOSES another descriptor of the file
    console.log(`after reading ${size} bytes with fs.readFileSync: ${describe(journal)}; another process may lock: ${await probe(journal)}`);
    file.close();
    // ANCHOR_END: posix

    // ANCHOR: ofd
    const ofd = new OpenFile(journal);
    ofd.lock("exclusive", { start: 0, length: 10, ofd: true }); // F_OFD_SETLKW: owned by this open file
    fs.readFileSync(journal);
    console.log(`OFD lock, after fs.readFileSync: ${describe(journal)}; another process may lock: ${await probe(journal)}`);
    const second = new OpenFile(journal); // a second open file in the SAME process
    console.log(`a second open file of this process may take the OFD lock: ${second.tryLock("exclusive", { start: 0, length: 10, ofd: true })}`);
    second.close();
    ofd.close(); // closing the open file that owns it releases it
    console.log(`after closing its own descriptor: ${describe(journal)}`);
    // ANCHOR_END: ofd
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What /proc/locks lists for the file, in a few words. */
function describe(file: string): string {
  const locks = locksOn(file);
  return locks.length === 0 ? "/proc/locks lists nothing" : locks.map((l) => `/proc/locks lists ${l.kind.toUpperCase()} ${l.mode} ${l.start}..${l.end}`).join(", ");
}

/** Whether another process could lock bytes 0..9 right now. */
async function probe(file: string): Promise<boolean> {
  return (await Bun.spawn([process.execPath, import.meta.path, "probe", file]).exited) === 0;
}
