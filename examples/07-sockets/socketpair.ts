/**
 * socketpair.ts — two sockets connected to each other from the start,
 * with no name anywhere: socketpair(2). The parent keeps one end and
 * hands the other to a child it starts (as the child's descriptor 3);
 * then the two talk both ways. Unlike a pipe, each end can read and write.
 *
 * Run:  bun run examples/07-sockets/socketpair.ts
 * The parent starts itself again as the child (`... child`).
 */
import { UnixSocket } from "../../lib/index.ts";

if (process.argv[2] === "child") {
  // ANCHOR: child
  using parent = UnixSocket.fromDescriptor(3); // the end the parent handed us
  const question = parent.receive({ timeout: 10 }).data.toString();
  parent.send(`${question.toUpperCase()}, says child ${process.pid}`);
  // ANCHOR_END: child
} else {
  // ANCHOR: parent
  const [mine, theirs] = UnixSocket.pair("stream");
  const child = Bun.spawn([process.execPath, import.meta.path, "child"], {
    stdio: ["inherit", "inherit", "inherit", theirs.fd], // becomes fd 3 in the child
  });
  theirs.close(); // the child has its own copy now
  mine.send("hello, child");
  console.log(`parent ${process.pid} got: ${mine.receive({ timeout: 10 }).data.toString()}`);
  console.log(`SO_PEERCRED says the peer is ${mine.peerCredentials().pid}: the process that called socketpair, not the child ${child.pid}`);
  await child.exited;
  mine.close();
  // ANCHOR_END: parent
}
