/**
 * framing.ts — messages on a byte stream. A stream socket delivers bytes
 * in order but forgets where one write ended and the next began: three
 * writes may come out as one read, and one write as two. The usual fix is
 * to put each message's length in front of it (here 4 bytes, big-endian)
 * and to cut the stream back into messages on the other side.
 *
 * Run:  bun run examples/07-sockets/framing.ts
 */
import { frame, FrameReader, UnixSocket } from "../../lib/index.ts";

const [writer, reader] = UnixSocket.pair("stream");
try {
  // ANCHOR: unframed
  for (const order of ["buy 10", "sell 5", "buy 2"]) writer.send(order); // three writes ...
  console.log(`unframed, one read: ${JSON.stringify(reader.receive({ timeout: 5 }).data.toString())}`); // ... one read
  // ANCHOR_END: unframed

  // ANCHOR: framed
  const orders = ["buy 10", "sell 5", "buy 2"];
  const wire = Buffer.concat(orders.map((order) => frame(order))); // [len][bytes][len][bytes]…
  console.log(`on the wire: ${wire.toString("hex").replace(/(00000006|00000005)/g, " $1 ").trim()}`);
  writer.send(wire.subarray(0, 9)); // the bytes arrive in odd pieces ...
  writer.send(wire.subarray(9));

  const frames = new FrameReader();
  const received: string[] = [];
  while (received.length < orders.length) {
    const chunk = reader.receive({ timeout: 5, maxBytes: 7 }).data; // ... and are read in odd pieces
    received.push(...frames.push(chunk).map((f) => f.toString()));
  }
  console.log(`framed, message by message: ${received.map((r) => JSON.stringify(r)).join(", ")}`);
  // ANCHOR_END: framed
} finally {
  writer.close();
  reader.close();
}
