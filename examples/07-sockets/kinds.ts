/**
 * kinds.ts — the three kinds of Unix socket, side by side. Each sender
 * sends the same three messages; each receiver then reads with one large
 * buffer at a time. A stream socket hands over bytes with no boundaries
 * (the three messages come out as one read); a datagram socket keeps each
 * message whole and needs no connection; a sequenced-packet socket is
 * connected like a stream and keeps boundaries like datagrams.
 *
 * Run:  bun run examples/07-sockets/kinds.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UnixSocket, type SocketType } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-kinds-`));
try {
  for (const type of ["stream", "datagram", "seqpacket"] as const satisfies SocketType[]) {
    const address = path.join(dir, `${type}.sock`);
    // ANCHOR: kinds
    let receiver: UnixSocket;
    let sender: UnixSocket;
    let server: UnixSocket | null = null;
    if (type === "datagram") {
      receiver = UnixSocket.bind(address); // no listen, no accept: a mailbox
      sender = UnixSocket.datagram();
    } else {
      server = UnixSocket.listen(address, { type });
      sender = UnixSocket.connect(address, { type });
      receiver = server.accept();
    }
    for (const message of ["one", "two", "three"]) sender.send(message, type === "datagram" ? { to: address } : {});

    const reads: string[] = [];
    for (let got = 0; got < "onetwothree".length; ) {
      const { data } = receiver.receive({ timeout: 5, maxBytes: 4096 }); // room for everything
      reads.push(JSON.stringify(data.toString()));
      got += data.length;
    }
    console.log(`${type.padEnd(9)} ${reads.length} read(s): ${reads.join(" ")}`);
    // ANCHOR_END: kinds
    for (const s of [sender, receiver, server]) s?.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
