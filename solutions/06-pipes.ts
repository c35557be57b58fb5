/**
 * Chapter 06 exercise: pipes and FIFOs. REFERENCE SOLUTION.
 *
 * Five tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you
 * need.
 *
 *   bun run exercises/06-pipes.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 06                  grades the tasks the way your instructor will
 *
 * The grader looks from its own process: which pipe each program it gave
 * you really had as its standard input and output (in /proc), who started
 * them, what arrived in your files and in its own FIFOs, whether a line
 * came through torn, and whether your functions ended at all.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Fifo, IpcError, Pipe, PIPE_BUF, spawn } from "../lib/index.ts";
import { runDemo } from "./support.ts";

const CHAPTER = "06-pipes";

// ANCHOR: task1
/**
 * Task 1. Run `first | second` by hand, without a shell: the standard
 * output of the program `first` (an argument vector, like ["grep", "ro",
 * "/etc/passwd"]) must go through a pipe straight into the standard input
 * of `second`, whose standard output goes to the file `outputPath`. Start
 * both programs yourself, and return once both have ended.
 */
export async function connect(first: string[], second: string[], outputPath: string): Promise<void> {
  using link = new Pipe(); // close-on-exec: the children get only the end each is given
  using writer = spawn(first, { stdout: link.writer.fd }); // dup2(write end, 1) in the child
  using reader = spawn(second, { stdin: link.reader.fd, stdout: { path: outputPath } });
  link.close(); // our copies: with them open, `second` would never see end of file
  await Promise.all([writer.exited(), reader.exited()]);
}
// ANCHOR_END: task1

// ANCHOR: task2
/**
 * Task 2. Run every command of `commands` at the same time, all of them
 * writing their standard output into one pipe, and return everything they
 * wrote (in whatever order it came). Read until end of file — which comes
 * only when every write end of the pipe is closed.
 */
export async function gather(commands: string[][]): Promise<string> {
  using pipe = new Pipe();
  const children = commands.map((argv) => spawn(argv, { stdout: pipe.writer.fd }));
  pipe.writer.close(); // now the only write ends are the children's
  const text = await pipe.reader.text(); // end of file: the last child has ended
  await Promise.all(children.map((child) => child.exited()));
  return text;
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3. A log server. Create the FIFO `fifoPath` (mode 0600; fail if
 * something is there already), and collect lines from any number of
 * client processes that open it and write to it, one after another or at
 * the same time: append each line (with its "\n") to the file
 * `outputPath`. After `lineCount` lines, remove the FIFO and return.
 * Clients come and go: the last one leaving is not the end of the log.
 */
export async function logServer(fifoPath: string, outputPath: string, lineCount: number): Promise<void> {
  const fifo = new Fifo(fifoPath, { exclusive: true, mode: 0o600 });
  try {
    using reader = fifo.open("read", { nonBlocking: true }); // do not wait for a client
    using keep = fifo.open("write", { nonBlocking: true }); // ours: no end of file between two clients
    reader.nonBlocking = false;
    let count = 0;
    for await (const line of reader.lines()) {
      fs.appendFileSync(outputPath, `${line}\n`);
      if (++count === lineCount) break;
    }
  } finally {
    fifo.unlink();
  }
}
// ANCHOR_END: task3

// ANCHOR: task4
/**
 * Task 4. A log client: open the FIFO `fifoPath` for writing and write
 * each of `lines` followed by "\n". Other clients write to the same FIFO at
 * the same moment, and no line may be torn or mixed with another: each is
 * shorter than PIPE_BUF bytes.
 */
export function logClient(fifoPath: string, lines: string[]): void {
  using out = new Fifo(fifoPath).open("write");
  for (const line of lines) {
    const bytes = new TextEncoder().encode(`${line}\n`);
    if (bytes.length > PIPE_BUF) throw new RangeError(`a line of ${bytes.length} bytes could be torn: at most ${PIPE_BUF} are written atomically`);
    out.write(bytes); // one write(2): atomic, so never mixed with another client's
  }
}
// ANCHOR_END: task4

// ANCHOR: task5
/**
 * Task 5. Open the FIFO `fifoPath` for writing and write the lines "1\n",
 * "2\n", "3\n", … for as long as someone reads them. When the reader goes
 * away, stop without an error and return how many lines you wrote.
 */
export async function writeUntilGone(fifoPath: string): Promise<number> {
  using out = await new Fifo(fifoPath).openAsync("write");
  let written = 0;
  for (;;) {
    try {
      out.write(`${written + 1}\n`);
    } catch (error) {
      if (error instanceof IpcError && error.code === "EPIPE") return written; // the reader has gone
      throw error;
    }
    written++;
  }
}
// ANCHOR_END: task5

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/06-pipes.ts` runs. You do not
 * need to change anything below.
 * ---------------------------------------------------------------------- */

async function demo(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-"));
  try {
    const sorted = path.join(dir, "sorted.txt");
    await connect(["grep", "ro", "/etc/passwd"], ["sort"], sorted);
    const shell = Bun.spawnSync(["sh", "-c", "grep ro /etc/passwd | sort"]).stdout.toString();
    const mine = fs.readFileSync(sorted, "utf8");
    console.log(`Task 1: grep ro /etc/passwd | sort by hand: ${mine.split("\n").length - 1} lines, the same as the shell's: ${mine === shell}`);

    const all = await gather([["echo", "from the first"], ["echo", "from the second"], ["date", "+from date, %Y"]]);
    console.log(`Task 2: gathered ${JSON.stringify(all.trim().split("\n").sort())}`);

    const fifo = path.join(dir, "log.fifo");
    const log = path.join(dir, "log.txt");
    let settled = false;
    const server = logServer(fifo, log, 6).finally(() => (settled = true));
    while (!Fifo.isFifo(fifo) && !settled) await Bun.sleep(5);
    if (settled) await server; // it ended before making the FIFO: say why
    const clients = ["alpha", "bravo"].map((tag) => Bun.spawn([process.execPath, import.meta.path, "client", fifo, tag], { stderr: "inherit" }));
    if ((await Promise.all(clients.map((c) => c.exited))).some((code) => code !== 0)) stop(dir); // the client said why
    await server;
    console.log(`Task 3 and 4: the server logged ${fs.readFileSync(log, "utf8").trim().split("\n").length} lines from two clients; the FIFO is gone: ${!fs.existsSync(fifo)}`);

    const tap = new Fifo(path.join(dir, "tap.fifo"), { create: true });
    const writer = Bun.spawn([process.execPath, import.meta.path, "tap", tap.path], { stdout: "pipe", stderr: "inherit" });
    const opening = tap.openAsync("read");
    const reader = await Promise.race([opening, writer.exited.then(() => null)]);
    if (reader === null) {
      tap.open("write", { nonBlocking: true }).close(); // releases our waiting open
      (await opening).close();
      stop(dir); // the writer said why
    }
    let first = "";
    for (let chunk = "?"; chunk !== "" && first.length < 6; first += chunk) chunk = new TextDecoder().decode(reader.read({ max: 6 - first.length }));
    reader.close();
    const said = (await new Response(writer.stdout).text()).trim();
    if ((await writer.exited) !== 0) stop(dir);
    console.log(`Task 5: read ${JSON.stringify(first)}, closed the reader; the writer stopped by itself after ${said} lines`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Ends the demonstration after a task in another process failed (it printed what to do). */
function stop(dir: string): never {
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

if (import.meta.main) {
  const [mode, fifo, tag] = process.argv.slice(2);
  if (mode === "client") await runDemo(() => logClient(fifo!, [1, 2, 3].map((i) => `${tag} line ${i}`)));
  else if (mode === "tap") await runDemo(async () => console.log(await writeUntilGone(fifo!)));
  else await runDemo(demo);
}
