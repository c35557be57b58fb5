/**
 * lib/pipes.ts on real pipes, FIFOs and processes: reading and writing
 * (blocking, timed, non-blocking, async), end of file only once every
 * write end is closed (and the classic hang when one is left open or
 * inherited), EPIPE and SIGPIPE, capacity and PIPE_BUF atomicity with
 * several writer processes, FIFOs (opening, ENXIO, a regular file in the
 * way), pipelines against the shell, and bad input.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  BusyError,
  ClosedError,
  ExistsError,
  Fifo,
  InvalidError,
  IpcError,
  NotFoundError,
  Pipe,
  PIPE_BUF,
  PipeEnd,
  pipeline,
  spawn,
  TimeoutError,
  type Child,
} from "../../lib/index.ts";
import { record } from "./pipes-child.ts";
import { until } from "./signals-support.ts";
import { openFdTargets, tempDir, thrown } from "./support.ts";

const CHILD = path.join(import.meta.dir, "pipes-child.ts");
const scratch = tempDir("pipes");
const opened: { close(): void }[] = [];
const children: Child[] = [];
let pipesBefore: number;

/** Our descriptors that are pipes or FIFOs (Bun's own eventfds and epolls come and go as it likes). */
function pipeDescriptors(): string[] {
  return [...openFdTargets()].filter(([, t]) => t.startsWith("pipe:") || t.startsWith(scratch.dir)).map(([fd, t]) => `${fd} -> ${t}`);
}

function pipe(options?: ConstructorParameters<typeof Pipe>[0]): Pipe {
  const p = new Pipe(options);
  opened.push(p);
  return p;
}

function child(argv: string[], options: Parameters<typeof spawn>[1] = {}): Child {
  const c = spawn(argv, options);
  children.push(c);
  return c;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

beforeAll(() => {
  pipesBefore = pipeDescriptors().length;
});
afterEach(() => {
  for (const c of children.splice(0)) c[Symbol.dispose]();
  for (const o of opened.splice(0)) o.close();
});
afterAll(async () => {
  scratch.remove();
  Bun.gc(true);
  await Bun.sleep(10); // Bun closes the duplicates its streams made once they are collected
  expect(pipeDescriptors()).toHaveLength(pipesBefore);
});

describe("a pipe in one process", () => {
  test("bytes come out in order, once; a closed write end then reads as end of file", () => {
    const p = pipe();
    expect(p.writer.write("hello, ")).toBe(7);
    p.writer.write(new TextEncoder().encode("pipe"));
    expect(text(p.reader.read())).toBe("hello, pipe");
    p.writer.close();
    expect(p.reader.read()).toEqual(new Uint8Array(0));
  });

  test("close-on-exec by default, non-blocking on request; flags can change later", () => {
    const p = pipe();
    expect(p.reader.closeOnExec).toBe(true);
    expect(p.writer.nonBlocking).toBe(false);
    const q = pipe({ closeOnExec: false, nonBlocking: true });
    expect(q.reader.closeOnExec).toBe(false);
    expect(q.reader.nonBlocking).toBe(true);
    q.reader.nonBlocking = false;
    q.reader.closeOnExec = true;
    expect(q.reader.nonBlocking).toBe(false);
    expect(q.reader.closeOnExec).toBe(true);
  });

  test("an empty pipe: timeout 0 is BusyError, a timeout is TimeoutError, a non-blocking read is BusyError", () => {
    const p = pipe();
    expect(thrown(() => p.reader.read({ timeout: 0 }))).toBeInstanceOf(BusyError);
    const late = thrown(() => p.reader.read({ timeout: 0.05 })) as IpcError;
    expect(late).toBeInstanceOf(TimeoutError);
    expect(late.hint).toContain("writer");
    p.reader.nonBlocking = true;
    expect((thrown(() => p.reader.read()) as IpcError).code).toBe("EAGAIN");
  });

  test("capacity: 64 KiB, rounded up to a power of two pages when set; filling it exactly, then EAGAIN", () => {
    const p = pipe({ nonBlocking: true });
    expect(p.writer.capacity).toBe(65536);
    p.writer.capacity = 100_000;
    expect(p.writer.capacity).toBe(131072);
    expect(p.reader.capacity).toBe(131072); // one pipe, two ends
    let stored = 0;
    const page = new Uint8Array(PIPE_BUF);
    for (;;) {
      try {
        stored += p.writer.write(page, { timeout: 0 });
      } catch (error) {
        expect(error).toBeInstanceOf(BusyError);
        break;
      }
    }
    expect(stored).toBe(131072);
    const error = thrown(() => (p.writer.capacity = 4096)) as IpcError;
    expect(error.code).toBe("EBUSY");
    expect(error.hint).toContain("read it first");
  });

  test.skipIf(process.getuid!() === 0)("an ordinary user cannot go past /proc/sys/fs/pipe-max-size: EPERM with a hint", () => {
    const max = Number(fs.readFileSync("/proc/sys/fs/pipe-max-size", "utf8"));
    const error = thrown(() => pipe({ capacity: max * 2 })) as IpcError;
    expect(error.code).toBe("EPERM");
    expect(error.hint).toContain("pipe-max-size");
  });

  test("a write with a timeout waits for room and gives up with TimeoutError", () => {
    const p = pipe();
    p.writer.write(new Uint8Array(65536)); // full
    expect(thrown(() => p.writer.write("x", { timeout: 0.05 }))).toBeInstanceOf(TimeoutError);
    expect(thrown(() => p.writer.write("x", { timeout: 0 }))).toBeInstanceOf(BusyError);
    p.reader.read({ max: PIPE_BUF });
    expect(p.writer.write("x", { timeout: 1 })).toBe(1);
  });

  test("a write to a pipe nobody can read: EPIPE as an IpcError, and this process lives on", () => {
    const p = pipe();
    p.reader.close();
    const error = thrown(() => p.writer.write("anyone there?")) as IpcError;
    expect(error).toBeInstanceOf(IpcError);
    expect(error.code).toBe("EPIPE");
    expect(error.call).toBe("write");
    expect(error.hint).toContain("SIGPIPE");
  });

  test("each end does one job: reading the write end is a TypeError", () => {
    const p = pipe();
    expect(thrown(() => p.writer.read())).toBeInstanceOf(TypeError);
    expect(thrown(() => p.reader.write("x"))).toBeInstanceOf(TypeError);
    p.reader.close();
    expect(thrown(() => p.reader.read())).toBeInstanceOf(ClosedError);
    p.reader.close(); // idempotent
  });
});

describe("without blocking the event loop", () => {
  test("readable(): chunks as they come while timers keep running; lines() rejoins lines split across writes", async () => {
    // The writer is a timer of this very process: the loop finishes only if reading leaves the event loop free.
    const p = pipe();
    const parts = ["first li", "ne\nsecond line\nthi", "rd", " line\nno newline at the end"];
    let i = 0;
    const feeder = setInterval(() => {
      if (i < parts.length) p.writer.write(parts[i++]!);
      else {
        clearInterval(feeder);
        p.writer.close();
      }
    }, 5);
    const lines: string[] = [];
    for await (const line of p.reader.lines()) lines.push(line);
    expect(lines).toEqual(["first line", "second line", "third line", "no newline at the end"]);
  });

  test("writeAsync: 1 MiB through a 64 KiB pipe to a slow reader, the loop free meanwhile; the flags come back", async () => {
    // The reader runs in this process too: were writeAsync to block, 1 MiB could never pass a 64 KiB pipe.
    const p = pipe();
    const data = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const reading = p.reader.bytes();
    await p.writer.writeAsync(data);
    const flagsDuring = p.writer.nonBlocking;
    p.writer.close();
    const got = await reading;
    expect(got.length).toBe(data.length);
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
    expect(flagsDuring).toBe(true); // Bun's writer needs O_NONBLOCK while it works
  });

  test("writeAsync to a pipe nobody reads rejects with EPIPE", async () => {
    const p = pipe();
    p.reader.close();
    const error = await p.writer.writeAsync("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe("EPIPE");
  });

  test("writable(): a web stream into the pipe", async () => {
    const p = pipe();
    const reading = p.reader.text();
    const writer = p.writer.writable().getWriter();
    await writer.write("streamed ");
    await writer.write(new TextEncoder().encode("bytes"));
    await writer.close();
    p.writer.close();
    expect(await reading).toBe("streamed bytes");
  });
});

describe("between processes", () => {
  test("end of file comes only when every write end is closed, ours included", async () => {
    const input = pipe();
    const output = pipe();
    const cat = child(["cat"], { stdin: input.reader.fd, stdout: output.writer.fd });
    input.reader.close();
    output.writer.close();
    input.writer.write("through cat\n");
    expect(text(output.reader.read({ timeout: 10 }))).toBe("through cat\n");
    // cat waits for more: our write end is still open, so it has not seen end of file.
    expect(thrown(() => output.reader.read({ timeout: 0.2 }))).toBeInstanceOf(TimeoutError);
    expect(cat.poll()).toBeNull();
    input.writer.close();
    expect(output.reader.read({ timeout: 10 })).toEqual(new Uint8Array(0));
    expect(cat.wait()).toMatchObject({ kind: "exited", code: 0 });
  });

  test("a write end inherited by the reader itself (no close-on-exec) keeps it waiting for ever", async () => {
    const leaky = pipe({ closeOnExec: false });
    const output = pipe();
    // posix_spawn passes every descriptor without FD_CLOEXEC: sort gets its own pipe's write end as well.
    const sort = child(["sort"], { stdin: leaky.reader.fd, stdout: output.writer.fd });
    output.writer.close();
    leaky.writer.write("b\na\n");
    leaky.writer.close();
    leaky.reader.close();
    expect(thrown(() => output.reader.read({ timeout: 0.3 }))).toBeInstanceOf(TimeoutError);
    expect(sort.poll()).toBeNull(); // still waiting for the end of its input: it holds a writer itself
    sort.kill("SIGKILL");
    sort.wait();
  });

  test("the same with close-on-exec (the default): sort sees end of file and finishes", async () => {
    const input = pipe();
    const output = pipe();
    const sort = child(["sort"], { stdin: input.reader.fd, stdout: output.writer.fd });
    output.writer.close();
    input.reader.close();
    input.writer.write("b\na\n");
    input.writer.close();
    expect(await output.reader.text()).toBe("a\nb\n");
    expect(sort.wait()).toMatchObject({ kind: "exited", code: 0 });
  });

  test("a C program writing into a pipe nobody reads is killed by SIGPIPE", () => {
    const p = pipe();
    const yes = child(["yes"], { stdout: p.writer.fd });
    p.writer.close();
    expect(text(p.reader.read({ max: 2, timeout: 10 }))).toBe("y\n");
    p.reader.close(); // the last reader goes
    expect(yes.wait()).toMatchObject({ kind: "signaled", signal: "SIGPIPE" });
  });

  test("PIPE_BUF: four processes write 4096-byte records at once, and no record is torn", async () => {
    const p = pipe();
    const writers = ["A", "B", "C", "D"].map((tag) =>
      child([process.execPath, CHILD, "records", "200", String(PIPE_BUF), tag], { stdout: p.writer.fd }),
    );
    p.writer.close();
    const all = await p.reader.bytes();
    expect(all.length).toBe(4 * 200 * PIPE_BUF);
    const next = new Map<string, number>();
    for (let at = 0; at < all.length; at += PIPE_BUF) {
      const rec = all.subarray(at, at + PIPE_BUF);
      const tag = String.fromCharCode(rec[0]!);
      const seq = next.get(tag) ?? 0;
      expect(Buffer.from(rec).equals(Buffer.from(record(tag, seq, PIPE_BUF)))).toBe(true);
      next.set(tag, seq + 1);
    }
    expect([...next.values()]).toEqual([200, 200, 200, 200]);
    for (const w of writers) expect(w.wait()).toMatchObject({ kind: "exited", code: 0 });
  }, 60_000);
});

describe("FIFOs", () => {
  const fifoPath = (name: string) => path.join(scratch.dir, name);

  test("mkfifo makes a special file with mode 0600; exclusive refuses an existing one", () => {
    const p = fifoPath("made");
    const fifo = new Fifo(p, { create: true });
    const st = fs.statSync(p);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600 & ~process.umask());
    expect(Fifo.isFifo(p)).toBe(true);
    new Fifo(p, { create: true }); // exists already: fine without exclusive
    expect(thrown(() => new Fifo(p, { exclusive: true }))).toBeInstanceOf(ExistsError);
    fifo.unlink();
    expect(fifo.exists).toBe(false);
    expect(thrown(() => new Fifo(p))).toBeInstanceOf(NotFoundError);
  });

  test("a path that is a regular file (or a folder) is refused before any open, with the reason", () => {
    const p = fifoPath("regular");
    fs.writeFileSync(p, "not a pipe");
    for (const options of [{}, { create: true }]) {
      const error = thrown(() => new Fifo(p, options)) as IpcError;
      expect(error).toBeInstanceOf(InvalidError);
      expect(error.message).toContain("is a regular file, not a FIFO");
    }
    expect(thrown(() => new Fifo(scratch.dir))).toBeInstanceOf(InvalidError);
    expect(fs.readFileSync(p, "utf8")).toBe("not a pipe");
  });

  test("a FIFO replaced by a regular file after construction is caught at open", () => {
    const p = fifoPath("swapped");
    const fifo = new Fifo(p, { create: true });
    fs.rmSync(p);
    fs.writeFileSync(p, "");
    expect(thrown(() => fifo.open("read", { nonBlocking: true }))).toBeInstanceOf(InvalidError);
  });

  test("non-blocking: a writer with no reader fails with ENXIO; a reader opens at once, and then the writer can", () => {
    const fifo = new Fifo(fifoPath("nb"), { create: true });
    const error = thrown(() => fifo.open("write", { nonBlocking: true })) as IpcError;
    expect(error.code).toBe("ENXIO");
    expect(error.hint).toContain("start the reader first");
    using reader = fifo.open("read", { nonBlocking: true });
    using writer = fifo.open("write", { nonBlocking: true });
    writer.write("across\n");
    expect(text(reader.read())).toBe("across\n");
  });

  test("blocking opens wait for each other; openAsync leaves the event loop free", async () => {
    const fifo = new Fifo(fifoPath("pair"), { create: true });
    const reading = fifo.openAsync("read");
    await Bun.sleep(20); // a timer runs while the open waits (were the loop blocked, this would never return)
    using writer = fifo.open("write"); // the reader is waiting (or about to), so this returns
    using reader = await reading;
    writer.write("hello\n");
    writer.close();
    expect(await reader.text()).toBe("hello\n");
  });

  test("openAsync with a timeout: TimeoutError when nobody comes, and the waiting open is released", async () => {
    const fifo = new Fifo(fifoPath("lonely"), { create: true });
    await expect(fifo.openAsync("read", { timeout: 0.1 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(fifo.openAsync("write", { timeout: 0.1 })).rejects.toBeInstanceOf(TimeoutError);
    // Nothing of ours holds the FIFO open now.
    const ours = [...openFdTargets().values()].filter((t) => t === fifo.path);
    expect(ours).toEqual([]);
  });

  test("a FIFO server: lines from five writer processes, none torn, each writer's in order", async () => {
    const fifo = new Fifo(fifoPath("log"), { create: true });
    // The server's way: open the read end without waiting, then a write end of its own, so that the
    // pipe never has zero writers between two clients (which the readers would take for end of file).
    using reader = fifo.open("read", { nonBlocking: true });
    const keep = fifo.open("write", { nonBlocking: true });
    reader.nonBlocking = false;
    const tags = ["alpha", "bravo", "charlie", "delta", "echo"];
    const writers = tags.map((tag) => child([process.execPath, CHILD, "fifo", fifo.path, "150", tag]));
    const lines: string[] = [];
    for await (const line of reader.lines()) {
      lines.push(line);
      if (lines.length === tags.length * 150) keep.close(); // all in: now let end of file come
    }
    for (const w of writers) expect(w.wait()).toMatchObject({ kind: "exited", code: 0 });
    expect(lines).toHaveLength(tags.length * 150);
    for (const tag of tags) {
      const mine = lines.filter((l) => l.startsWith(`${tag} `));
      expect(mine.map((l) => Number(l.split(" ")[1]))).toEqual(Array.from({ length: 150 }, (_, i) => i));
      mine.forEach((l, i) => expect(`${l}\n`).toBe(text(record(tag, i, 100 + ((i * 977) % 2900)))));
    }
    fifo.unlink();
  }, 60_000);

  test("the same without a write end of its own: end of file after the first client, the others stuck", async () => {
    const fifo = new Fifo(fifoPath("naive"), { create: true });
    const first = child([process.execPath, CHILD, "fifo", fifo.path, "3", "first"]);
    using reader = await fifo.openAsync("read", { timeout: 20 });
    const lines: string[] = [];
    for await (const line of reader.lines()) lines.push(line);
    expect(first.wait()).toMatchObject({ kind: "exited", code: 0 });
    expect(lines).toHaveLength(3); // then end of file: the only writer had gone
    reader.close();
    const late = child([process.execPath, CHILD, "fifo", fifo.path, "3", "late"]);
    await Bun.sleep(100);
    expect(late.poll()).toBeNull(); // waiting in open() for a reader that will never come
  }, 60_000);
});

describe("pipelines", () => {
  test("grep ro /etc/passwd | sort, without a shell, prints what the shell prints", async () => {
    const shell = Bun.spawnSync(["sh", "-c", "grep ro /etc/passwd | sort"]).stdout.toString();
    using line = pipeline([["grep", "ro", "/etc/passwd"], ["sort"]]);
    const { stdout, statuses } = await line.result();
    expect(stdout).toBe(shell);
    expect(statuses).toEqual([
      { kind: "exited", code: 0, raw: 0 },
      { kind: "exited", code: 0, raw: 0 },
    ]);
  });

  test("three stages, one process group led by the first", async () => {
    using line = pipeline([["printf", "c\\nb\\na\\nb\\n"], ["sort"], ["uniq", "-c"]]);
    const groups = line.children.map((c) => {
      const stat = fs.readFileSync(`/proc/${c.pid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    });
    const { stdout } = await line.result();
    expect(stdout.split("\n").map((l) => l.trim().replace(/ +/g, " "))).toEqual(["1 a", "2 b", "1 c", ""]);
    expect(new Set(groups)).toEqual(new Set([line.processGroup]));
  });

  test("yes | head -n 3: head exits, and yes dies of SIGPIPE, as in a shell", async () => {
    using line = pipeline([["yes"], ["head", "-n", "3"]]);
    const { stdout, statuses } = await line.result();
    expect(stdout).toBe("y\ny\ny\n");
    expect(statuses[0]).toMatchObject({ kind: "signaled", signal: "SIGPIPE" });
    expect(statuses[1]).toMatchObject({ kind: "exited", code: 0 });
  });

  test("kill() stops the whole pipeline", async () => {
    using line = pipeline([["sleep", "30"], ["cat"]]);
    line.kill("SIGTERM");
    const statuses = await line.exited();
    expect(statuses.map((s) => (s.kind === "signaled" ? s.signal : s.kind))).toEqual(["SIGTERM", "SIGTERM"]);
  });

  test("a program that does not exist: the error names it, and nothing started is left running", () => {
    const before = pipeDescriptors();
    const error = thrown(() => pipeline([["sleep", "30"], ["no-such-program-ipcbook"], ["cat"]])) as IpcError;
    expect(error.code).toBe("ENOENT");
    expect(error.object).toBe("no-such-program-ipcbook");
    expect(pipeDescriptors()).toEqual(before);
  });

  test("stdout to a file instead of a pipe", async () => {
    const out = path.join(scratch.dir, "sorted.txt");
    using line = pipeline([["printf", "2\\n1\\n"], ["sort", "-n"]], { stdout: { path: out } });
    expect(line.output).toBeUndefined();
    await line.exited();
    expect(fs.readFileSync(out, "utf8")).toBe("1\n2\n");
  });
});

describe("bad input", () => {
  test("refused before any call", () => {
    expect(thrown(() => new Pipe({ capacity: 0 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => new PipeEnd(-1, "read"))).toBeInstanceOf(RangeError);
    expect(thrown(() => new PipeEnd(5, "sideways" as "read"))).toBeInstanceOf(TypeError);
    expect(thrown(() => new Fifo(""))).toBeInstanceOf(TypeError);
    expect(thrown(() => new Fifo(path.join(scratch.dir, "m"), { create: true, mode: 0o1777 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => pipeline([]))).toBeInstanceOf(TypeError);
    expect(thrown(() => pipeline(["grep ro /etc/passwd" as unknown as string[]]))).toBeInstanceOf(TypeError);
    const p = pipe();
    expect(thrown(() => p.writer.write(42 as unknown as string))).toBeInstanceOf(TypeError);
    expect(thrown(() => p.reader.read({ max: 0 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => p.reader.read({ timeout: -1 }))).toBeInstanceOf(RangeError);
  });
});

test("no child of these tests is left", async () => {
  await until(() => children.length === 0, "the children list to be empty");
  expect(children).toEqual([]);
});
