/**
 * fifo-server.ts — a FIFO server with many clients: a log collector.
 * Clients, separate processes started one after another and together,
 * open the FIFO and write lines; the server reads them all from its one
 * read end. Each line is one write of less than PIPE_BUF bytes, so no line
 * is ever torn or mixed with another's. The server keeps a write end of
 * its own open, so that the moment no client is connected is not end of
 * file.
 *
 * Run:  bun run examples/06-pipes/fifo-server.ts
 * Each client is this file again (`... client PATH NAME COUNT`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Fifo, PIPE_BUF } from "../../lib/index.ts";

if (process.argv[2] === "client") {
  // ANCHOR: client
  const [fifoPath, name, count] = process.argv.slice(3) as [string, string, string];
  using log = new Fifo(fifoPath).open("write");
  for (let i = 1; i <= Number(count); i++) {
    const line = `${name} ${i} ${"·".repeat(100 + ((i * 397) % 1500))}\n`; // up to ~3 KiB of UTF-8
    if (Buffer.byteLength(line) > PIPE_BUF) throw new RangeError("a line longer than PIPE_BUF could be torn");
    log.write(line); // one write(2): atomic
  }
  // ANCHOR_END: client
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-fifo-server-`));
  try {
    // ANCHOR: server
    const fifo = new Fifo(path.join(dir, "log.fifo"), { exclusive: true });
    using reader = fifo.open("read", { nonBlocking: true }); // do not wait for the first client
    using keep = fifo.open("write", { nonBlocking: true }); // our own writer: no end of file between clients
    reader.nonBlocking = false;

    const perClient = new Map<string, number>();
    let torn = 0;
    const reading = (async () => {
      for await (const line of reader.lines()) {
        const [name, seq] = line.split(" ");
        if (Number(seq) !== (perClient.get(name!) ?? 0) + 1 || !/^\S+ \d+ ·+$/.test(line)) torn++;
        perClient.set(name!, Number(seq));
        if ([...perClient.values()].reduce((a, b) => a + b, 0) === 800) break; // everything is in
      }
    })();

    const client = (name: string) => Bun.spawn([process.execPath, import.meta.path, "client", fifo.path, name, "200"]);
    const clients = [client("ada")];
    await clients[0]!.exited; // the first comes and goes alone…
    clients.push(client("bob"), client("cy"), client("dee")); // …then three at once
    await reading;
    await Promise.all(clients.map((c) => c.exited));
    console.log(`lines per client: ${[...perClient].map(([n, c]) => `${n} ${c}`).sort().join(", ")}; torn or out of order: ${torn}`);
    fifo.unlink();
    // ANCHOR_END: server
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
