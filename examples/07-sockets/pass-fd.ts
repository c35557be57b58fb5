/**
 * pass-fd.ts — passing an open descriptor to another process (SCM_RIGHTS).
 * A broker opens a file, reads its first line, removes the file's name,
 * and sends the open descriptor over a Unix socket to a client that never
 * opened anything. The client gets a descriptor of its own, with another
 * number, for the same open file: it reads on from where the broker
 * stopped, through a file that no longer has a name.
 *
 * Run:  bun run examples/07-sockets/pass-fd.ts
 * The parent is the broker and starts itself again as the client (`... client PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UnixSocket } from "../../lib/index.ts";

if (process.argv[2] === "client") {
  // ANCHOR: client
  using broker = UnixSocket.connect(process.argv[3]!);
  const { data, descriptors } = broker.receive({ timeout: 10 });
  const [fd] = descriptors; // a new descriptor in this process
  const rest = Buffer.alloc(100);
  const n = fs.readSync(fd!, rest, 0, rest.length, null); // null: read at the file's current offset
  console.log(`client ${process.pid}: "${data}" came with descriptor ${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`);
  console.log(`client reads on: ${JSON.stringify(rest.subarray(0, n).toString())}`);
  fs.closeSync(fd!);
  // ANCHOR_END: client
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-passfd-`));
  const socketPath = path.join(dir, "broker.sock");
  try {
    using listener = UnixSocket.listen(socketPath);
    const client = Bun.spawn([process.execPath, import.meta.path, "client", socketPath], { stdout: "inherit" });
    // ANCHOR: broker
    const file = path.join(dir, "orders.txt");
    fs.writeFileSync(file, "header: orders of the day\nbuy 10\nsell 5\n");
    const fd = fs.openSync(file, "r");
    const first = Buffer.alloc(26);
    fs.readSync(fd, first, 0, first.length, null); // the broker reads the first line itself
    fs.rmSync(file); // no name any more: nobody can open it now
    console.log(`broker ${process.pid}: read ${JSON.stringify(first.toString())}, removed the name, sends descriptor ${fd}`);

    using connection = await listener.acceptAsync({ timeout: 10 });
    connection.send("orders", { descriptors: [fd] }); // sendmsg with an SCM_RIGHTS control message
    fs.closeSync(fd); // the client holds its own reference now
    // ANCHOR_END: broker
    await client.exited;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
