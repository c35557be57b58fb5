/**
 * system.ts — the two programs of a small system, a server and a client,
 * started independently by a script (start-system.sh), not by each other.
 * Neither inherits anything from the other: they meet through a name, a
 * shared-memory object (chapter 03), that the script gives both.
 *
 * Run them through the script, in either variant:
 *   sh examples/01-processes/start-system.sh production
 *   sh examples/01-processes/start-system.sh diagnostic
 * or by hand, in two terminals:
 *   bun run examples/01-processes/system.ts server /demo
 *   bun run examples/01-processes/system.ts client /demo --requests 3
 *
 * IPCBOOK_LOG=debug in the environment makes both say what they do.
 */
import { parseArgs } from "node:util";
import { NotFoundError, SharedMemory } from "../../lib/index.ts";

// ANCHOR: options
const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  options: { requests: { type: "string", default: "1000" } },
  allowPositionals: true,
});
const [role, name] = positionals;
const debug = process.env.IPCBOOK_LOG === "debug";
const log = (text: string) => debug && console.log(`[debug ${role} ${process.pid}] ${text}`);
// ANCHOR_END: options

const REQUESTS = 0; // words of the shared Int32Array
const DONE = 1;
const CLIENT = 2;
const LIMIT_MS = 20_000;

if ((role !== "server" && role !== "client") || !name) {
  console.error("usage: bun run system.ts server|client /NAME [--requests N]");
  process.exit(2);
}

if (role === "server") {
  using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
  try {
    log(`created ${name}; waiting for a client`);
    using map = shm.map();
    const words = map.view(Int32Array, 0, 3);
    const deadline = Date.now() + LIMIT_MS;
    while (Atomics.load(words, DONE) === 0) {
      if (Date.now() > deadline) throw new Error("server: no client finished within 20 s");
      await Bun.sleep(5);
    }
    console.log(`server: ${Atomics.load(words, REQUESTS)} requests from client ${Atomics.load(words, CLIENT)}`);
  } finally {
    shm.unlink();
    log(`removed ${name}`);
  }
} else {
  // ANCHOR: client
  // The server may not have created the object yet: independent processes
  // start in no particular order, so the client retries for a while.
  let shm: SharedMemory | undefined;
  const deadline = Date.now() + LIMIT_MS;
  while (!shm) {
    try {
      shm = new SharedMemory(name);
    } catch (error) {
      if (!(error instanceof NotFoundError) || Date.now() > deadline) throw error;
      log(`${name} does not exist yet; retrying`);
      await Bun.sleep(10);
    }
  }
  // ANCHOR_END: client
  using opened = shm;
  using map = opened.map();
  const words = map.view(Int32Array, 0, 3);
  const requests = Number(values.requests);
  for (let i = 1; i <= requests; i++) {
    Atomics.add(words, REQUESTS, 1);
    log(`request ${i}`);
  }
  Atomics.store(words, CLIENT, process.pid);
  Atomics.store(words, DONE, 1);
  console.log(`client ${process.pid}: sent ${requests} requests`);
}
