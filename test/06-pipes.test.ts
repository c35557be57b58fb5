/**
 * Graded tests of chapter 06 (pipes and FIFOs). The student's functions
 * run in their own processes; the verdicts come from this process: the
 * programs it hands over record, in /proc, which pipe they really had as
 * standard input and output and who their parent was; the files and FIFOs
 * are read here; the FIFO's other end is this process's own.
 *
 *   bun test test/06-pipes.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/06-pipes.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { Fifo, PIPE_BUF, type PipeEnd } from "../lib/index.ts";
import { explain, gradedChapter, must } from "./harness/task.ts";
import type { CallResult, RunningCall } from "./harness/student.ts";

const { task } = gradedChapter("06-pipes");

/** Polls `check` until it holds, or the student's call ends; false after `limitMs`. */
async function whileRunning(run: RunningCall, check: () => boolean, limitMs = 15_000): Promise<CallResult | undefined> {
  let ended: CallResult | undefined;
  void run.finished.then((result) => (ended = result));
  const deadline = performance.now() + limitMs;
  for (let pause = 1; !check() && ended === undefined && performance.now() < deadline; pause = Math.min(pause * 2, 25)) await Bun.sleep(pause);
  return check() ? undefined : ended;
}

/**
 * A shell script that writes, to `record`, its parent's pid and what its
 * descriptor `fd` is (such as "pipe:[123456]"), then becomes `program`
 * with the script's arguments: the grader's view of how it was started.
 */
function recordingScript(dir: string, name: string, fd: 0 | 1, program: string): { script: string; record: string } {
  const script = path.join(dir, name);
  const record = path.join(dir, `${name}.seen`);
  fs.writeFileSync(script, `#!/bin/sh\nprintf '%s %s\\n' "$PPID" "$(readlink /proc/$$/fd/${fd})" > '${record}'\nexec ${program} "$@"\n`, { mode: 0o755 });
  return { script, record };
}

function readRecord(record: string): { parent: number; target: string } | undefined {
  if (!fs.existsSync(record)) return undefined;
  const [parent, target] = fs.readFileSync(record, "utf8").trim().split(" ");
  return { parent: Number(parent), target: target ?? "" };
}

const WORDS = ["amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron", "inlet", "juniper", "kestrel", "larch"];

task(
  {
    number: 1,
    title: "connect two programs by a pipe, by hand, and match the shell's output",
    points: 3,
    read: "Building a pipeline by hand",
    hint: "Make a Pipe; spawn the first program with stdout: pipe.writer.fd and the second with stdin: pipe.reader.fd and stdout: { path }; close both ends in your process; then await both children's exited().",
  },
  async (t) => {
    const dir = t.scratch("connect");
    const input = path.join(dir, "words.txt");
    const lines = Array.from({ length: 400 }, () => `${WORDS[randomInt(WORDS.length)]} ${randomBytes(4).toString("hex")} ${WORDS[randomInt(WORDS.length)]}`);
    fs.writeFileSync(input, `${lines.join("\n")}\n`);
    const pattern = WORDS[randomInt(WORDS.length)]!;
    const expected = Bun.spawnSync(["sh", "-c", `grep '${pattern}' '${input}' | sort -r`]).stdout.toString();
    must(expected.length > 0, "the test made an input with no match (retry)");

    const grep = recordingScript(dir, "stage1", 1, "grep");
    const sort = recordingScript(dir, "stage2", 0, "sort");
    const output = path.join(dir, "out.txt");
    const run = t.start("connect", [[grep.script, pattern, input], [sort.script, "-r"], output]);
    const result = await run.finished;
    t.done(result, "connect()");

    must(fs.existsSync(output), `connect() returned but wrote nothing to ${output}`);
    const got = fs.readFileSync(output, "utf8");
    must(got === expected, `the output has ${got.split("\n").length - 1} lines; \`grep ${pattern} FILE | sort -r\` in a shell gives ${expected.split("\n").length - 1}, and they must be the same`);
    const first = readRecord(grep.record);
    const second = readRecord(sort.record);
    must(first && second, "the two programs given to connect() were not both run");
    must(
      first.parent === run.pid && second.parent === run.pid,
      "the programs were not started by your process itself (a shell in between?): spawn each argument vector yourself",
    );
    must(
      first.target.startsWith("pipe:") && first.target === second.target,
      `the first program's standard output (${first.target}) is not the very pipe the second reads from (${second.target}): connect them by one pipe, not through your process`,
    );
  },
);

task(
  {
    number: 2,
    title: "one pipe, several writers: read until end of file",
    points: 3,
    read: "End of file and broken pipes",
    hint: "Give every child the same pipe.writer.fd as stdout, then close your own write end before reading: end of file comes only when no write end is open anywhere.",
    timeoutMs: 15_000,
  },
  async (t) => {
    const dir = t.scratch("gather");
    const tokens = Array.from({ length: 3 }, () => randomBytes(8).toString("hex"));
    const writers = tokens.map((_, i) => recordingScript(dir, `writer${i}`, 1, "echo"));
    const result = await t.call("gather", [writers.map((w, i) => [w.script, tokens[i]!])]);
    must(
      !result.timedOut,
      "gather() never returned: its read never saw end of file, so a write end of the pipe was still open somewhere — yours? Close it once the children have theirs",
    );
    t.done(result, "gather()");
    const seen = writers.map((w) => readRecord(w.record));
    must(seen.every((s) => s !== undefined), "not every command was run");
    must(
      seen.every((s) => s!.target.startsWith("pipe:") && s!.target === seen[0]!.target),
      `the commands did not all write into one pipe (their standard outputs: ${seen.map((s) => s!.target).join(", ")})`,
    );
    const got = typeof result.value === "string" ? result.value.trim().split("\n").sort() : [];
    must(
      JSON.stringify(got) === JSON.stringify([...tokens].sort()),
      `gather() returned ${JSON.stringify(result.value)}; the commands wrote ${tokens.join(", ")} (one line each)`,
    );
  },
);

/** A line for client `tag`: its number, then random text, `size` bytes in all (without "\n"). */
function clientLine(tag: string, seq: number, size: number): string {
  const head = `${tag} ${seq} `;
  return head + randomBytes(size).toString("base64").replace(/[^A-Za-z0-9]/g, "x").slice(0, size - head.length);
}

/** Checks that `lines` holds every line of every client, whole and in each client's order. */
function checkLog(lines: string[], sent: Map<string, string[]>, who: string, tooFew = ""): void {
  const total = [...sent.values()].reduce((n, l) => n + l.length, 0);
  const known = new Set([...sent.values()].flat());
  const torn = lines.filter((line) => !known.has(line));
  must(torn.length === 0, `${torn.length} line(s) ${who} are torn or mixed with another line, such as ${JSON.stringify(torn[0]?.slice(0, 60))}`);
  must(lines.length === total, `${lines.length} lines arrived ${who}; the clients sent ${total}${lines.length < total ? tooFew : ""}`);
  for (const [tag, mine] of sent) {
    const arrived = lines.filter((line) => line.startsWith(`${tag} `));
    must(JSON.stringify(arrived) === JSON.stringify(mine), `the lines of client ${tag} did not arrive complete and in order ${who}`);
  }
}

task(
  {
    number: 3,
    title: "a FIFO log server takes lines from clients that come and go",
    points: 3,
    read: "A FIFO server with many clients",
    hint: "new Fifo(path, { exclusive: true }); open the read end non-blocking, then a write end of your own (so that end of file never comes between clients), make the read end blocking again and read lines() until you have them all; unlink the FIFO at the end.",
    timeoutMs: 30_000,
  },
  async (t) => {
    const dir = t.scratch("server");
    const fifoPath = path.join(dir, "log.fifo");
    const output = path.join(dir, "log.txt");
    const sent = new Map<string, string[]>();
    for (const tag of ["first", "second", "third", "fourth"]) {
      sent.set(tag, Array.from({ length: randomInt(20, 60) }, (_, i) => clientLine(tag, i, randomInt(50, PIPE_BUF - 1))));
    }
    const total = [...sent.values()].reduce((n, l) => n + l.length, 0);
    const server = t.start("logServer", [fifoPath, output, total]);
    const early = await whileRunning(server, () => Fifo.isFifo(fifoPath));
    if (early) must(false, `${explain(early, "logServer()")} before ${fifoPath} was a FIFO`);
    must(Fifo.isFifo(fifoPath), `no FIFO appeared at ${fifoPath}`);
    const mode = fs.statSync(fifoPath).mode & 0o777;
    must(mode === 0o600, `the FIFO has mode ${mode.toString(8)}; make it 600`);

    // The clients: this test's own processes, each writing its lines with one write(2) apiece.
    const client = (tag: string) =>
      Bun.spawn(
        [
          process.execPath,
          "-e",
          `const fs = require("node:fs"); const lines = JSON.parse(fs.readFileSync(0, "utf8"));
           const fd = fs.openSync(process.argv[1], "w");
           for (const line of lines) fs.writeSync(fd, line + "\\n");`,
          fifoPath,
        ],
        { stdin: Buffer.from(JSON.stringify(sent.get(tag))), stdout: "ignore", stderr: "pipe" },
      );
    const clients: Bun.Subprocess[] = [];
    /** Whether client `c` delivered all its lines (exit status 0) within a generous limit. */
    const finished = (c: Bun.Subprocess, limit = 15_000) =>
      Promise.race([c.exited.then((code) => code === 0), Bun.sleep(limit).then(() => false)]);
    try {
      clients.push(client("first")); // alone, and gone before the others come
      must(await finished(clients[0]!), "the first client could not write all its lines (is the server reading?)");
      const rest = ["second", "third", "fourth"].map(client);
      clients.push(...rest);
      const all = await Promise.all(rest.map((c) => finished(c)));
      must(
        all.every(Boolean),
        "after the first client left, the others could not deliver their lines: did the server stop reading at that end of file? Keep a write end of your own open",
      );
    } finally {
      for (const c of clients) if (c.exitCode === null) c.kill("SIGKILL");
    }
    const result = await server.finished;
    t.done(result, "logServer()");
    must(fs.existsSync(output), `logServer() returned but ${output} does not exist`);
    checkLog(
      fs.readFileSync(output, "utf8").split("\n").slice(0, -1),
      sent,
      "in the log",
      " (did the server take the end of file after the first client left for the end of the log?)",
    );
    must(!fs.existsSync(fifoPath), "logServer() left its FIFO behind; unlink it before returning");
  },
);

task(
  {
    number: 4,
    title: "log clients writing at once: no line torn or mixed",
    points: 2,
    read: "Inside a pipe: a buffer in the kernel",
    hint: "Open the FIFO for writing once, and write each line together with its \"\\n\" in a single write(): at most PIPE_BUF bytes are written atomically.",
  },
  async (t) => {
    const fifo = new Fifo(path.join(t.scratch("clients"), "log.fifo"), { create: true });
    const sent = new Map<string, string[]>();
    for (const tag of ["north", "south", "east", "west"]) {
      // Long lines, so that a line written in two pieces has every chance to be cut; few of them, for the argument list.
      sent.set(tag, Array.from({ length: 30 }, (_, i) => clientLine(tag, i, randomInt(1000, PIPE_BUF - 1))));
    }
    const total = [...sent.values()].reduce((n, l) => n + l.length, 0);
    let reader: PipeEnd | undefined;
    let keep: PipeEnd | undefined;
    try {
      reader = fifo.open("read", { nonBlocking: true });
      keep = fifo.open("write", { nonBlocking: true }); // so that end of file waits for every client
      reader.nonBlocking = false;
      const lines: string[] = [];
      const reading = (async () => {
        for await (const line of reader!.lines()) {
          lines.push(line);
          if (lines.length === total) break;
        }
      })();
      const results = await t.callTogether("logClient", [...sent].map(([, mine]) => [fifo.path, mine]));
      results.forEach((r, i) => t.done(r, `logClient() in client ${i + 1}`));
      keep.close(); // every client is done: end of file may come now
      await Promise.race([reading, Bun.sleep(15_000)]);
      checkLog(lines, sent, "in the FIFO");
    } finally {
      keep?.close();
      reader?.close();
      fifo.unlink();
    }
  },
);

task(
  {
    number: 5,
    title: "a writer that stops cleanly when its reader goes away",
    points: 2,
    read: "End of file and broken pipes",
    hint: "Writing to a FIFO whose reader has closed fails with EPIPE (Bun ignores SIGPIPE, so you get an IpcError instead of dying): catch that one, stop, and return your count; let any other error through.",
  },
  async (t) => {
    const fifo = new Fifo(path.join(t.scratch("tap"), "tap.fifo"), { create: true });
    const wanted = randomInt(100, 2000);
    const writer = t.start("writeUntilGone", [fifo.path]);
    let got: string[] = [];
    let reader: PipeEnd | undefined;
    try {
      const opening = fifo.openAsync("read", { timeout: 15 });
      const ended = await Promise.race([opening.then(() => undefined, () => undefined), writer.finished]);
      if (ended) {
        must(false, `${explain(ended, "writeUntilGone()")} before opening the FIFO`);
      }
      reader = await opening;
      for await (const line of reader.lines()) {
        got.push(line);
        if (got.length === wanted) break;
      }
    } finally {
      reader?.close(); // the reader goes away
      fifo.unlink();
    }
    const result = await writer.finished;
    must(!result.timedOut, "writeUntilGone() was still running long after its reader had gone: stop when a write fails with EPIPE");
    t.done(result, "writeUntilGone()");
    must(
      got.every((line, i) => line === String(i + 1)),
      `the lines read were ${got.slice(0, 5).map((l) => JSON.stringify(l)).join(", ")}…; they must be "1", "2", "3", …`,
    );
    must(got.length === wanted, `only ${got.length} lines arrived before the writer stopped`);
    const count = result.value;
    must(
      typeof count === "number" && count >= wanted,
      `writeUntilGone() returned ${JSON.stringify(count)}, but the reader had read ${wanted} of its lines`,
    );
  },
);
