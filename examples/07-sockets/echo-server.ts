/**
 * echo-server.ts — a Unix domain socket is a file that lives in RAM: a
 * server binds it to a path and listens; any number of clients connect to
 * that path, and each gets a two-way connection of its own. The server
 * here is Bun's own (Bun.listen through the library's listenUnix); three
 * client processes connect at the same time, each sends a line and reads
 * the answer.
 *
 * Run:  bun run examples/07-sockets/echo-server.ts
 * The parent starts itself again as the clients (`... client PATH N`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { listenUnix, UnixSocket, unixSocketTable } from "../../lib/index.ts";

if (process.argv[2] === "client") {
  // ANCHOR: client
  const [socketPath, n] = process.argv.slice(3);
  using server = UnixSocket.connect(socketPath!); // socket() + connect()
  server.send(`hello from client ${n}\n`);
  let answer = "";
  while (!answer.endsWith("\n")) answer += server.receive({ timeout: 10 }).data.toString();
  process.stdout.write(`client ${n} got: ${answer}`);
  // ANCHOR_END: client
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-echo-`));
  const socketPath = path.join(dir, "echo.sock");
  try {
    // ANCHOR: server
    let served = 0;
    const server = listenUnix(socketPath, {
      mode: 0o600, // only our user may connect
      socket: {
        open: () => void served++,
        data: (connection, bytes) => void connection.write(`echo: ${bytes}`), // each client its own connection
      },
    });
    // ANCHOR_END: server
    const st = fs.lstatSync(socketPath);
    console.log(`${path.basename(socketPath)}: a socket file (isSocket ${st.isSocket()}), mode ${(st.mode & 0o777).toString(8)}, size ${st.size}`);
    const listening = unixSocketTable().filter((e) => e.address === socketPath);
    console.log(`/proc/net/unix: ${listening.length} socket bound to it, listening: ${listening[0]?.listening}`);

    const clients = [1, 2, 3].map((n) => Bun.spawn([process.execPath, import.meta.path, "client", socketPath, String(n)], { stdout: "pipe" }));
    const answers = await Promise.all(clients.map((c) => new Response(c.stdout).text()));
    for (const answer of answers) process.stdout.write(answer);
    console.log(`the server served ${served} connections`);
    server.stop(true); // Bun removes the socket file
    console.log(`after stop: ${path.basename(socketPath)} exists: ${fs.existsSync(socketPath)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
