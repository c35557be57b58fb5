/**
 * pipe-basics.ts — a pipe in one process: two descriptors, a write end and
 * a read end, and a buffer in the kernel between them. Bytes come out in
 * the order they went in, once. The buffer has a capacity (64 KiB unless
 * changed): the listing fills it to the brim through a non-blocking
 * descriptor and counts.
 *
 * Run:  bun run examples/06-pipes/pipe-basics.ts
 */
import { BusyError, Pipe, PIPE_BUF } from "../../lib/index.ts";

// ANCHOR: basics
using pipe = new Pipe(); // pipe2(fds, O_CLOEXEC)
console.log(`read end: descriptor ${pipe.reader.fd}, write end: descriptor ${pipe.writer.fd}`);
pipe.writer.write("first, ");
pipe.writer.write("second\n");
console.log(`read: ${JSON.stringify(new TextDecoder().decode(pipe.reader.read()))}`); // both writes, in order
// ANCHOR_END: basics

// ANCHOR: capacity
console.log(`capacity: ${pipe.writer.capacity} bytes (F_GETPIPE_SZ); PIPE_BUF: ${PIPE_BUF} bytes`);
pipe.writer.nonBlocking = true; // O_NONBLOCK: a full pipe makes write fail with EAGAIN instead of waiting
let stored = 0;
try {
  for (;;) stored += pipe.writer.write(new Uint8Array(1024));
} catch (error) {
  if (!(error instanceof BusyError)) throw error;
  console.log(`after ${stored} bytes: ${error.code} — the pipe is full and nobody reads`);
}
pipe.writer.capacity = 200_000; // F_SETPIPE_SZ: rounded up to a power of two pages
console.log(`capacity now: ${pipe.writer.capacity} bytes; one more write fits: ${pipe.writer.write("x")} byte`);
// ANCHOR_END: capacity
