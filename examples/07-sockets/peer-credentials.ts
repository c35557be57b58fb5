/**
 * peer-credentials.ts — who is calling? For a connected Unix socket the
 * kernel records the peer's process id, user id and group id when it
 * connects, and SO_PEERCRED reads them: the client cannot lie about them.
 * A server can serve only its own user this way. The socket file's mode
 * is the first gate: connecting needs write permission on it. Run as
 * root with setpriv(1) installed, the listing also tries both gates with
 * a client running as the user nobody.
 *
 * Run:  bun run examples/07-sockets/peer-credentials.ts
 * The parent starts itself again as the clients (`... client PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IpcError, UnixSocket } from "../../lib/index.ts";

if (process.argv[2] === "client") {
  try {
    using server = UnixSocket.connect(process.argv[3]!);
    const answer = server.receiveFrame({ timeout: 10 });
    console.log(`client uid ${process.getuid!()}: ${answer === null ? "the server hung up without a word" : answer.toString()}`);
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`client uid ${process.getuid!()}: connect failed with ${error.code}`);
  }
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-creds-`));
  fs.chmodSync(dir, 0o711); // others may pass through the folder (but not list it)
  const asNobody = process.getuid!() === 0 && Bun.which("setpriv") !== null;
  const client = (socketPath: string, nobody = false) =>
    Bun.spawn([...(nobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []), process.execPath, import.meta.path, "client", socketPath], {
      stdout: "pipe",
    });
  try {
    // ANCHOR: server
    const socketPath = path.join(dir, "own-user.sock");
    using listener = UnixSocket.listen(socketPath, { mode: 0o666 }); // anyone may connect ...
    const serveOne = async () => {
      using connection = await listener.acceptAsync({ timeout: 10 });
      const { pid, uid, gid } = connection.peerCredentials(); // ... but we look at who it is
      console.log(`server: a connection from pid ${pid}, uid ${uid}, gid ${gid}`);
      if (uid === process.getuid!()) connection.sendFrame(`welcome, process ${pid}`);
      // anyone else: close without a word
    };
    // ANCHOR_END: server
    const mine = client(socketPath);
    await serveOne();
    process.stdout.write(await new Response(mine.stdout).text());
    console.log(`(the client's pid was ${mine.pid})`);

    if (!asNobody) {
      console.log("(not root, or no setpriv: the tries as user nobody are skipped)");
    } else {
      const stranger = client(socketPath, true);
      await serveOne();
      process.stdout.write(await new Response(stranger.stdout).text());

      // ANCHOR: mode
      const privatePath = path.join(dir, "private.sock");
      using privateListener = UnixSocket.listen(privatePath); // mode 0600: the owner only
      console.log(`private.sock has mode ${(fs.statSync(privatePath).mode & 0o777).toString(8)}`);
      // ANCHOR_END: mode
      const refused = client(privatePath, true);
      process.stdout.write(await new Response(refused.stdout).text());
      privateListener.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
