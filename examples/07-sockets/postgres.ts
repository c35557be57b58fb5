/**
 * postgres.ts — the PostgreSQL example. A PostgreSQL server listens on a
 * Unix socket named after its port, /tmp/.s.PGSQL.5432 by default (Debian
 * puts it in /var/run/postgresql), next to a lock file holding the
 * server's PID; `psql` with no host connects to it. This toy server does
 * the same in a temporary folder and speaks just enough of the real
 * protocol (version 3.0) to read a client's start-up message, which is
 * length-prefixed, and to refuse it with a proper error message. A client
 * written here connects; so does the real `psql`, if it is installed.
 *
 * Run:  bun run examples/07-sockets/postgres.ts
 * The parent is the server and starts itself again as the client (`... client FOLDER`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LockFile, UnixSocket } from "../../lib/index.ts";

const PORT = 5432;

/** A StartupMessage: Int32 length (itself included), Int32 protocol 3.0, then name\0value\0 pairs, then \0. */
function startupMessage(parameters: Record<string, string>): Buffer {
  const pairs = Object.entries(parameters).map(([k, v]) => `${k}\0${v}\0`).join("");
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from(`${pairs}\0`)]); // 196608 = 3 << 16
  const length = Buffer.alloc(4);
  length.writeInt32BE(4 + body.length);
  return Buffer.concat([length, body]);
}

if (process.argv[2] === "client") {
  // ANCHOR: client
  const socketPath = path.join(process.argv[3]!, `.s.PGSQL.${PORT}`); // what libpq builds from host and port
  using server = UnixSocket.connect(socketPath);
  server.send(startupMessage({ user: "alice", database: "shop" }));
  let reply = Buffer.alloc(0);
  for (;;) {
    const { data, eof } = server.receive({ timeout: 10 });
    if (eof) break;
    reply = Buffer.concat([reply, data]);
  }
  // ErrorResponse: 'E', Int32 length, then fields: a code byte and a NUL-terminated string each.
  const fields = reply.subarray(5).toString().split("\0").filter(Boolean);
  const field = (code: string) => fields.find((f) => f.startsWith(code))?.slice(1);
  console.log(`client: the server answered '${String.fromCharCode(reply[0]!)}': ${field("S")} ${field("C")}: ${field("M")}`);
  // ANCHOR_END: client
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-pg-`));
  try {
    await server(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function server(dir: string): Promise<void> {
  // ANCHOR: server
  const socketPath = path.join(dir, `.s.PGSQL.${PORT}`);
  using lock = LockFile.acquire(`${socketPath}.lock`, { timeout: 0 }); // one server per socket, PID inside
  using listener = UnixSocket.listen(socketPath, { mode: 0o777 }); // PostgreSQL's default unix_socket_permissions
  console.log(`server ${lock.pid}: listening on ${path.basename(socketPath)}, lock file ${path.basename(lock.path)}`);

  const serve = async () => {
    using connection = await listener.acceptAsync({ timeout: 20 });
    let message = Buffer.alloc(0);
    while (message.length < 4 || message.length < message.readInt32BE(0)) {
      message = Buffer.concat([message, (await connection.receiveAsync({ timeout: 20 })).data]); // until the length is in
    }
    const protocol = message.readInt32BE(4);
    const parts = message.subarray(8, message.readInt32BE(0) - 1).toString().split("\0"); // name, value, name, value, …
    const parameters = new Map<string, string>();
    for (let i = 0; i + 1 < parts.length; i += 2) parameters.set(parts[i]!, parts[i + 1]!);
    const { pid } = connection.peerCredentials();
    console.log(
      `server: start-up from pid ${pid}: protocol ${protocol >> 16}.${protocol & 0xffff}, user ${parameters.get("user")}, database ${parameters.get("database")}`,
    );
    const fields = "SFATAL\0VFATAL\0C08004\0Mthis is not PostgreSQL, only a toy that speaks its start-up\0\0";
    const reply = Buffer.alloc(5 + Buffer.byteLength(fields));
    reply.write("E", 0);
    reply.writeInt32BE(reply.length - 1, 1);
    reply.write(fields, 5);
    await connection.sendAsync(reply);
  };
  // ANCHOR_END: server

  const client = Bun.spawn([process.execPath, import.meta.path, "client", dir], { stdout: "pipe" });
  await serve();
  process.stdout.write(await new Response(client.stdout).text());

  if (Bun.which("psql") === null) {
    console.log("(psql is not installed: skipping the real client)");
    return;
  }
  // ANCHOR: psql
  const psql = Bun.spawn(["psql", "-h", dir, "-p", String(PORT), "-U", "alice", "-d", "shop", "-w", "-c", "select 1"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" },
  });
  await serve();
  const said = (await new Response(psql.stderr).text()).trim().replaceAll(dir, "$DIR");
  console.log(`psql (exit ${await psql.exited}): ${said}`);
  // ANCHOR_END: psql
}
