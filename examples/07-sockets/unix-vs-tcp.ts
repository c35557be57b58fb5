/**
 * unix-vs-tcp.ts — a Unix socket against TCP on the loopback interface,
 * measured. A server process listens on both; this process connects to
 * each and times round trips of a small message (latency) and the
 * transfer of 32 MiB (throughput). Both use Bun's own sockets, so only
 * the kind of socket differs. TCP on 127.0.0.1 never leaves the machine
 * either, but it still goes through the whole network stack: checksums,
 * sequence numbers, acknowledgements, congestion control. The numbers
 * depend on the machine; run it a few times.
 *
 * Run:  bun run examples/07-sockets/unix-vs-tcp.ts [round-trips] [MiB]
 * The parent starts itself again as the server (`... server PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connectUnix, listenUnix } from "../../lib/index.ts";

type Kind = "unix" | "tcp";

if (process.argv[2] === "server") {
  // ANCHOR: server
  // Echo small messages; count bulk bytes and answer "done" when the announced amount is in.
  const handlers: Bun.SocketHandler<{ expected: number; got: number }> = {
    open: (s) => void (s.data = { expected: 0, got: 0 }),
    data: (s, chunk) => {
      if (s.data.expected === 0 && chunk[0] === 0x42 /* "B": bulk follows */) {
        s.data.expected = chunk.readUInt32BE(1);
        chunk = chunk.subarray(5);
      }
      if (s.data.expected === 0) return void s.write(chunk); // echo
      s.data.got += chunk.length;
      if (s.data.got >= s.data.expected) s.write("done");
    },
  };
  listenUnix(process.argv[3]!, { socket: handlers });
  const tcp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: handlers });
  console.log(tcp.port);
  // ANCHOR_END: server
  await Bun.stdin.text(); // until the parent closes our stdin
  process.exit(0);
} else {
  const roundTrips = Number(process.argv[2] ?? 5000);
  const mebibytes = Number(process.argv[3] ?? 32);
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-speed-`));
  const socketPath = path.join(dir, "speed.sock");
  const server = Bun.spawn([process.execPath, import.meta.path, "server", socketPath], { stdin: "pipe", stdout: "pipe" });
  try {
    const port = Number(new TextDecoder().decode((await server.stdout.getReader().read()).value).trim());
    console.log(`${roundTrips} round trips of 64 bytes, then ${mebibytes} MiB in 64 KiB writes, to another process:`);
    for (const kind of ["unix", "tcp"] as const) {
      const { latency, throughput } = await measure(kind, socketPath, port, roundTrips, mebibytes);
      console.log(`${kind.padEnd(4)}  ${latency.toFixed(1).padStart(6)} µs per round trip   ${throughput.toFixed(0).padStart(6)} MiB/s`);
    }
  } finally {
    server.stdin.end();
    await server.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ANCHOR: measure
async function measure(kind: Kind, socketPath: string, port: number, roundTrips: number, mebibytes: number) {
  const inbox: Buffer[] = [];
  let wake = () => {};
  const handlers: Bun.SocketHandler = { data: (_s, chunk) => (inbox.push(chunk), wake()), drain: () => wake() };
  const socket = kind === "unix" ? await connectUnix(socketPath, handlers) : await Bun.connect({ hostname: "127.0.0.1", port, socket: handlers });
  const event = () => new Promise<void>((resolve) => (wake = resolve)); // the next data or drain
  const receive = async () => {
    while (inbox.length === 0) await event();
    return inbox.shift()!;
  };

  const message = Buffer.alloc(64, 0x61);
  let started = performance.now();
  for (let i = 0; i < roundTrips; i++) {
    socket.write(message);
    for (let got = 0; got < message.length; ) got += (await receive()).length; // a reply may come in pieces
  }
  const latency = ((performance.now() - started) * 1000) / roundTrips;

  const total = mebibytes * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const header = Buffer.alloc(5);
  header.write("B");
  header.writeUInt32BE(total, 1);
  started = performance.now();
  socket.write(header);
  for (let sent = 0; sent < total; ) {
    const written = socket.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
    sent += written;
    if (written === 0) await event(); // the kernel's buffer is full: wait for "drain"
  }
  while ((await receive()).toString() !== "done");
  const throughput = mebibytes / ((performance.now() - started) / 1000);
  socket.end();
  return { latency, throughput };
}
// ANCHOR_END: measure
