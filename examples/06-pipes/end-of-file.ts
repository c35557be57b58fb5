/**
 * end-of-file.ts — a reader sees end of file only when every write end of
 * the pipe is closed: in every process that has one. Forget one — your own
 * copy, or one that a child inherited — and the reader waits for ever.
 *
 * Run:  bun run examples/06-pipes/end-of-file.ts
 */
import fs from "node:fs";
import { describeStatus, Pipe, spawn, TimeoutError } from "../../lib/index.ts";

// ANCHOR: ours
{
  using input = new Pipe();
  using output = new Pipe();
  using sort = spawn(["sort"], { stdin: input.reader.fd, stdout: output.writer.fd });
  input.reader.close();
  output.writer.close();
  input.writer.write("pear\napple\nfig\n");
  // We forget input.writer.close(): sort cannot know that no more lines are coming.
  try {
    output.reader.read({ timeout: 0.5 });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log("our write end still open: sort is still waiting after 0.5 s");
  }
  input.writer.close(); // now the last write end is gone
  process.stdout.write(await output.reader.text());
  console.log(`sort ${describeStatus(await sort.exited())}`);
}
// ANCHOR_END: ours

// ANCHOR: inherited
{
  using input = new Pipe({ closeOnExec: false }); // the mistake: no O_CLOEXEC
  using output = new Pipe();
  using sort = spawn(["sort"], { stdin: input.reader.fd, stdout: output.writer.fd });
  // posix_spawn passed sort every descriptor without FD_CLOEXEC, its own pipe's write end too.
  input.reader.close();
  output.writer.close();
  input.writer.write("pear\napple\nfig\n");
  input.writer.close(); // ours is closed; sort's inherited copy is not
  try {
    output.reader.read({ timeout: 0.5 });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`without close-on-exec: sort waits for ever; besides its stdin it holds ${sameAsStdin(sort.pid)} more descriptors of that pipe (both ends)`);
  }
  sort.kill("SIGKILL");
  console.log(`sort ${describeStatus(await sort.exited())}`);
}
// ANCHOR_END: inherited

/** How many other descriptors of a process lead to the same pipe as its standard input, as /proc shows them. */
function sameAsStdin(pid: number): number {
  const target = (fd: string) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
  const stdin = target("0");
  return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => fd !== "0" && target(fd) === stdin).length;
}
