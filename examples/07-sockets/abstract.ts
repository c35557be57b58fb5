/**
 * abstract.ts — Linux's abstract namespace: a socket address that starts
 * with a NUL byte names no file. Nothing appears in any folder, so there
 * is nothing to clean up and no file permission to set: the name vanishes
 * when the last socket bound to it is closed. /proc/net/unix shows such
 * names with a leading "@".
 *
 * Run:  bun run examples/07-sockets/abstract.ts
 */
import { abstractAddress, UnixSocket, unixSocketTable } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";

// ANCHOR: abstract
const name = abstractAddress(`${prefix}-clock-${process.pid}`); // sun_path = "\0ipcbook-clock-1234"
const server = UnixSocket.listen(name);
const listed = () => unixSocketTable().filter((e) => typeof e.address === "object" && e.address?.abstract === name.abstract);
console.log(`bound to @${name.abstract}; /proc/net/unix lists it: ${listed().map((e) => e.line.split(" ").at(-1)).join(", ")}`);

using client = UnixSocket.connect(name);
using peer = server.accept({ timeout: 5 });
peer.send(new Date(Date.UTC(2024, 3, 15, 10, 30)).toISOString());
console.log(`the client got: ${client.receive({ timeout: 5 }).data.toString()}`);

server.close(); // no file to remove: the name is gone with the socket
console.log(`after close: the listening socket is listed: ${listed().some((e) => e.listening)}`);
// ANCHOR_END: abstract
