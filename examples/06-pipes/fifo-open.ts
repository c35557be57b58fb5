/**
 * fifo-open.ts — a named pipe: a special file that unrelated processes
 * open by its path. Opening waits for the other end; non-blocking, a
 * reader opens at once and a writer without a reader fails with ENXIO. The
 * data never touches the disk, and the FIFO outlives the processes that
 * used it, until it is removed. A regular file in its place is refused.
 *
 * Run:  bun run examples/06-pipes/fifo-open.ts
 * The writer is this file again (`... writer PATH`), an unrelated process.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Fifo, IpcError } from "../../lib/index.ts";

if (process.argv[2] === "writer") {
  // ANCHOR: writer
  using out = new Fifo(process.argv[3]!).open("write"); // waits until a reader has it open
  out.write(`hello from process ${process.pid}, which only knew the path\n`);
  // ANCHOR_END: writer
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-fifo-`));
  try {
    // ANCHOR: make
    const fifo = new Fifo(path.join(dir, "greetings"), { create: true }); // mkfifo(path, 0600)
    const listing = Bun.spawnSync(["ls", "-l", fifo.path]).stdout.toString().trim();
    console.log(`ls -l: ${listing.replace(dir, "DIR")}`); // the type letter is p, the size 0
    try {
      fifo.open("write", { nonBlocking: true }); // nobody reads yet
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      console.log(`a non-blocking writer with no reader: ${error.code}`);
    }
    // ANCHOR_END: make

    // ANCHOR: meet
    const writer = Bun.spawn([process.execPath, import.meta.path, "writer", fifo.path]);
    using reader = await fifo.openAsync("read", { timeout: 20 }); // both ends present: both opens return
    process.stdout.write(await reader.text()); // until the writer closes its end
    await writer.exited;
    console.log(`the writer has exited; the FIFO is still there: ${fifo.exists}`);
    fifo.unlink();
    console.log(`after unlink: ${fifo.exists}`);
    // ANCHOR_END: meet

    // ANCHOR: regular
    const impostor = path.join(dir, "not-a-fifo");
    fs.writeFileSync(impostor, "an ordinary file\n");
    try {
      new Fifo(impostor).open("read");
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      console.log(`a regular file in its place: ${error.name}: ${error.message.replace(dir, "DIR")}`);
    }
    // ANCHOR_END: regular
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
