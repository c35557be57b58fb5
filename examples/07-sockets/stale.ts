/**
 * stale.ts — a socket file outlives its server. A server killed with
 * SIGKILL cannot remove its socket file, and the file stays: clients then
 * get ECONNREFUSED ("nobody listens here"), and a new server cannot bind
 * the path (EADDRINUSE). The library's listen() checks whether anyone
 * accepts connections at the path, removes the file if nobody does, and
 * refuses if a server is alive there.
 *
 * Run:  bun run examples/07-sockets/stale.ts
 * The parent starts itself again as the first server (`... server PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IpcError, UnixSocket } from "../../lib/index.ts";

if (process.argv[2] === "server") {
  UnixSocket.listen(process.argv[3]!);
  console.log("listening");
  await Bun.sleep(60_000); // until it is killed
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-stale-`));
  const socketPath = path.join(dir, "app.sock");
  const tryIt = (what: string, attempt: () => unknown) => {
    try {
      attempt();
      console.log(`${what}: ok`);
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      console.log(`${what}: ${error.code} — ${error.hint}`);
    }
  };
  try {
    // ANCHOR: stale
    const first = Bun.spawn([process.execPath, import.meta.path, "server", socketPath], { stdout: "pipe" });
    await first.stdout.getReader().read(); // "listening"
    first.kill("SIGKILL"); // no chance to clean up
    await first.exited;
    console.log(`server killed; ${path.basename(socketPath)} still exists: ${fs.existsSync(socketPath)}`);

    tryIt("a client connects", () => UnixSocket.connect(socketPath).close());
    tryIt("a new server binds without removing it", () => UnixSocket.listen(socketPath, { removeStale: false }).close());
    using server = UnixSocket.listen(socketPath); // connect fails: stale, so remove and bind
    console.log("a new server with removeStale (the default): listening");
    tryIt("a second server while the first lives", () => UnixSocket.listen(socketPath));
    // ANCHOR_END: stale
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
