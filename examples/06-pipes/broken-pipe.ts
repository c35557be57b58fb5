/**
 * broken-pipe.ts — writing to a pipe that nobody can read any more. The
 * kernel sends the writer SIGPIPE, whose default action ends it: that is
 * how `yes | head -n 1` ends, and why the shell says nothing about it. A
 * Bun process ignores SIGPIPE, so for it the write fails with EPIPE, an
 * error it can handle.
 *
 * Run:  bun run examples/06-pipes/broken-pipe.ts
 */
import { describeStatus, IpcError, Pipe, spawn } from "../../lib/index.ts";

// ANCHOR: sigpipe
{
  using pipe = new Pipe();
  using yes = spawn(["yes"], { stdout: pipe.writer.fd }); // writes "y\n" for ever
  pipe.writer.close();
  const first = new TextDecoder().decode(pipe.reader.read({ max: 2 }));
  pipe.reader.close(); // the only reader goes: yes's next write has nowhere to go
  console.log(`read ${JSON.stringify(first)}, closed the read end; yes ${describeStatus(await yes.exited())}`);
}
// ANCHOR_END: sigpipe

// ANCHOR: epipe
{
  using pipe = new Pipe();
  pipe.reader.close();
  try {
    pipe.writer.write("is anyone there?\n");
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`this Bun process: ${error.code} from ${error.call}, and it lives on`);
    console.log(`  hint: ${error.hint}`);
  }
}
// ANCHOR_END: epipe
