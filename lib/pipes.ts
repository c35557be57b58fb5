/**
 * Pipes and FIFOs.
 *
 * - `new Pipe(options)`: pipe2(2), a one-way channel in kernel memory with
 *   a read end and a write end (`PipeEnd`s), close-on-exec by default.
 * - `PipeEnd`: read and write synchronously (with timeouts through poll),
 *   or without blocking the event loop: `readable()`, `for await`,
 *   `lines()`, `text()`, `writeAsync()`, `writable()`. Its capacity
 *   (F_GETPIPE_SZ / F_SETPIPE_SZ) and flags (O_NONBLOCK, FD_CLOEXEC).
 *   Writing after every reader has gone fails with EPIPE as an `IpcError`:
 *   Bun ignores SIGPIPE, which would otherwise have ended the process.
 * - `Fifo`: a named pipe (mkfifo(3)) that unrelated processes open by
 *   path; opening blocks until both ends are present, or, non-blocking,
 *   fails with ENXIO for a writer that has no reader.
 * - `pipeline([["grep", "ro", "/etc/passwd"], ["sort"]])`: programs joined
 *   stdout to stdin through pipes, as a shell does for `grep … | sort`,
 *   but without a shell: no command line is parsed.
 *
 *   using pipe = new Pipe();
 *   pipe.writer.write("hello\n");
 *   pipe.writer.close();                // the reader sees end of file only once every write end is closed
 *   console.log(await pipe.reader.text()); // "hello\n"
 */
import fs from "node:fs";
import { ptr } from "bun:ffi";
import { F, FD, layout, O, PIPE_BUF, POLL } from "./ffi/constants.ts";
import { cstr, errno, sys } from "./ffi/libc.ts";
import { ERRNO } from "./ffi/errno.ts";
import { closed, errorFor, invalid, IpcError, lastError, type Hints } from "./errors.ts";
import { setNonBlocking, statusFlags } from "./descriptors.ts";
import { count, fileMode } from "./validate.ts";
import { spawn, type Child, type Stdio, type WaitStatus } from "./process.ts";
import { killGroup, type Signal } from "./signals.ts";

export { PIPE_BUF } from "./ffi/constants.ts";

/** Which end of a pipe or FIFO a descriptor is. */
export type PipeSide = "read" | "write";

const WRITE_HINTS: Hints = {
  EPIPE:
    "the read end is closed: every process that could read this pipe has closed it or ended. " +
    "In C this write would have killed the process with SIGPIPE; Bun ignores SIGPIPE, so the write fails " +
    "with EPIPE instead. Stop writing: nobody will read it",
  EAGAIN: "the pipe is full and the descriptor is non-blocking: the reader is behind; wait (a timeout, or writeAsync) or try later",
  ETIMEDOUT: "the pipe stayed full until the timeout ran out: is the reader still reading?",
};

const READ_HINTS: Hints = {
  EAGAIN: "the pipe is empty and the descriptor is non-blocking; wait (a timeout, or read asynchronously) or try later",
  ETIMEDOUT: "nothing arrived before the timeout ran out: is a writer still writing?",
};

const CAPACITY_HINTS: Hints = {
  EPERM: "an unprivileged process may not make a pipe larger than /proc/sys/fs/pipe-max-size (1 MiB by default)",
  EBUSY: "the pipe holds more data than the new, smaller capacity; read it first",
  EINVAL: "the capacity is out of range",
};

/** A timeout in seconds: undefined (or Infinity) waits for ever. */
function checkTimeout(timeout: unknown, call: string): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) throw new TypeError(`${call}: timeout must be a number of seconds`);
  if (timeout < 0) throw new RangeError(`${call}: timeout must be at least 0 seconds, got ${timeout}`);
  return timeout;
}

function bytesOf(data: unknown, call: string): Uint8Array {
  if (typeof data === "string") return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  throw new TypeError(`${call}: data must be a string or a Uint8Array`);
}

/** The struct pollfd of pollOne: one for the module, as a call is synchronous and over before the next. */
const pollScratch = new DataView(new ArrayBuffer(layout.pollfd.size));
const pollScratchPtr = ptr(pollScratch.buffer);

/** poll(2) on one descriptor: true if it is ready for `events`, false if `ms` passed first (-1: wait for ever). */
function pollOne(fd: number, events: number, ms: number, label: string): boolean {
  const fds = pollScratch;
  fds.setInt32(layout.pollfd.fields.fd.offset, fd, true);
  fds.setInt16(layout.pollfd.fields.events.offset, events, true);
  fds.setInt16(layout.pollfd.fields.revents.offset, 0, true);
  for (;;) {
    const result = sys.poll(pollScratchPtr, 1, ms);
    if (result >= 0) return result > 0;
    if (errno() !== ERRNO.EINTR) throw lastError("poll", label);
  }
}

/** The largest read that goes through the shared buffer; a larger `max` gets a buffer of its own. */
const SHARED_READ_BYTES = 1 << 20;

/**
 * What read(2) writes into, shared by every `PipeEnd.read` of this module
 * (each Worker has its own): grown on demand up to SHARED_READ_BYTES. A
 * read copies out only the bytes that arrived, one allocation per call.
 */
let readScratch = new Uint8Array(65536);
let readScratchPtr = ptr(readScratch);

/** How long a read or write may wait. */
export interface PipeWaitOptions {
  /** Seconds: undefined waits as the descriptor does (for ever, unless non-blocking), 0 not at all. */
  timeout?: number;
}

/** What `read` takes. */
export interface PipeReadOptions extends PipeWaitOptions {
  /** The most bytes to return; default 65536. */
  max?: number;
}

/**
 * One end of a pipe or FIFO: a file descriptor with the operations that
 * make sense for it. The descriptor is this object's to close; `close()`
 * (or the end of a `using` block) closes it.
 */
export class PipeEnd implements Disposable, AsyncIterable<Uint8Array> {
  #fd: number;
  #sink: ReturnType<ReturnType<typeof Bun.file>["writer"]> | undefined;
  #sinkFlags: number | undefined;

  /** Wraps a descriptor of ours, which this object then owns. */
  constructor(
    fd: number,
    /** Which end it is: reading or writing. */
    readonly side: PipeSide,
    /** What it is, for messages: "pipe 5 (read end)", a FIFO's path. */
    readonly label = `pipe ${fd} (${side} end)`,
  ) {
    this.#fd = count(fd, "PipeEnd: fd", 0x7fffffff);
    if (side !== "read" && side !== "write") throw new TypeError(`PipeEnd: side must be "read" or "write", got ${String(side)}`);
  }

  /** The descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd === -1) throw closed("pipe", this.label);
    return this.#fd;
  }

  /** true once `close()` has been called. */
  get closed(): boolean {
    return this.#fd === -1;
  }

  #must(side: PipeSide, call: string): number {
    const fd = this.fd;
    if (this.side !== side) {
      throw new TypeError(`${call}: ${this.label} is the ${this.side} end; a pipe carries data one way, from the write end to the read end`);
    }
    return fd;
  }

  /**
   * Reads what is there, up to `max` bytes; an empty result means end of
   * file: every write end is closed and the pipe is empty. While the pipe
   * is empty and a writer exists it waits: for ever by default, `timeout`
   * seconds if given (TimeoutError), not at all with 0 or on a
   * non-blocking descriptor (BusyError). Waiting blocks the event loop;
   * see `readable()`.
   */
  read(options: PipeReadOptions = {}): Uint8Array {
    const fd = this.#must("read", "read");
    const max = count(options.max ?? 65536, "read: max", 0x7fffffff, 1);
    const timeout = checkTimeout(options.timeout, "read");
    if (timeout !== undefined && !pollOne(fd, POLL.IN, Math.ceil(timeout * 1000), this.label)) {
      throw errorFor(timeout === 0 ? ERRNO.EAGAIN : ERRNO.ETIMEDOUT, "read", this.label, READ_HINTS);
    }
    if (max > SHARED_READ_BYTES) {
      const own = new Uint8Array(max);
      for (;;) {
        const n = Number(sys.read(fd, own, max));
        if (n >= 0) return n === max ? own : own.slice(0, n);
        if (errno() !== ERRNO.EINTR) throw lastError("read", this.label, READ_HINTS);
      }
    }
    if (readScratch.length < max) {
      let size = readScratch.length;
      while (size < max) size *= 2;
      readScratch = new Uint8Array(size);
      readScratchPtr = ptr(readScratch);
    }
    for (;;) {
      const n = Number(sys.read(fd, readScratchPtr, max));
      // Copy out what arrived: the shared buffer is the next read's.
      if (n >= 0) return readScratch.slice(0, n);
      if (errno() !== ERRNO.EINTR) throw lastError("read", this.label, READ_HINTS);
    }
  }

  /**
   * Writes all of `data`. A write of at most PIPE_BUF bytes (4096) is one
   * write(2), which the kernel makes atomic: its bytes are never
   * interleaved with another writer's. Larger data may be split, and
   * interleaved. While the pipe is full it waits: for ever by default,
   * `timeout` seconds if given (TimeoutError). Waiting blocks the event
   * loop; see `writeAsync()`. Returns the number of bytes written.
   * If every reader has gone: an IpcError with code EPIPE.
   */
  write(data: string | Uint8Array, options: PipeWaitOptions = {}): number {
    const fd = this.#must("write", "write");
    const bytes = bytesOf(data, "write");
    const timeout = checkTimeout(options.timeout, "write");
    const deadline = timeout === undefined ? undefined : performance.now() + timeout * 1000;
    let done = 0;
    while (done < bytes.length) {
      let chunk = bytes.subarray(done);
      if (deadline !== undefined) {
        // Wait for room, then write at most PIPE_BUF bytes: that much always fits once poll says "writable".
        const left = Math.max(0, Math.ceil(deadline - performance.now()));
        if (!pollOne(fd, POLL.OUT, left, this.label)) {
          throw errorFor(timeout === 0 && done === 0 ? ERRNO.EAGAIN : ERRNO.ETIMEDOUT, "write", this.label, WRITE_HINTS);
        }
        if (chunk.length > PIPE_BUF) chunk = chunk.subarray(0, PIPE_BUF);
      }
      const n = Number(sys.write(fd, chunk, chunk.length));
      if (n >= 0) {
        done += n;
        continue;
      }
      const e = errno();
      if (e === ERRNO.EINTR) continue;
      if (e === ERRNO.EAGAIN && deadline !== undefined) continue; // someone else filled it first: poll again
      throw errorFor(e, "write", this.label, WRITE_HINTS);
    }
    return done;
  }

  /**
   * The read end as a web stream: chunks as they arrive, ending at end of
   * file, without blocking the event loop. Bun reads from a duplicate of
   * the descriptor while the stream is open: cancel it (or leave a
   * `for await` loop) to let go of it.
   */
  readable(): ReadableStream<Uint8Array> {
    const fd = this.#must("read", "readable");
    return Bun.file(fd).stream();
  }

  /** `for await (const chunk of end)`: the chunks of `readable()`. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.readable()[Symbol.asyncIterator]();
  }

  /** Everything until end of file, as bytes, without blocking the event loop. */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await new Response(this.readable()).arrayBuffer());
  }

  /** Everything until end of file, decoded as UTF-8. */
  async text(): Promise<string> {
    return new Response(this.readable()).text();
  }

  /**
   * The lines until end of file, without their "\n" (a last line without
   * one is given too), however the writes were cut into chunks.
   */
  async *lines(): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of this.readable()) {
      rest += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = rest.indexOf("\n")) !== -1) {
        yield rest.slice(0, newline);
        rest = rest.slice(newline + 1);
      }
    }
    rest += decoder.decode();
    if (rest !== "") yield rest;
  }

  /**
   * Writes all of `data` without blocking the event loop: Bun waits for
   * room in the pipe. The descriptor is non-blocking meanwhile (the flag
   * belongs to the open pipe, so a process that shares it sees that too);
   * `close()` puts the flag back. EPIPE, if the readers have gone, arrives
   * as a rejected IpcError.
   */
  async writeAsync(data: string | Uint8Array): Promise<void> {
    const fd = this.#must("write", "writeAsync");
    const bytes = bytesOf(data, "writeAsync");
    if (!this.#sink) {
      this.#sinkFlags = statusFlags(fd, this.label);
      this.#sink = Bun.file(fd).writer();
    }
    try {
      await this.#sink.write(bytes);
      await this.#sink.flush();
    } catch (error) {
      throw this.#translate(error, "write");
    }
  }

  /** The write end as a web stream (each chunk through writeAsync). */
  writable(): WritableStream<string | Uint8Array> {
    this.#must("write", "writable");
    return new WritableStream({ write: (chunk) => this.writeAsync(chunk) });
  }

  /** The pipe's capacity in bytes (F_GETPIPE_SZ); 65536 for a new pipe on Linux. */
  get capacity(): number {
    const n = sys.fcntl(this.fd, F.GETPIPE_SZ, 0);
    if (n === -1) throw lastError("fcntl(F_GETPIPE_SZ)", this.label);
    return n;
  }

  /**
   * Sets the capacity (F_SETPIPE_SZ). The kernel rounds it up to a power of
   * two pages; an unprivileged process may go up to
   * /proc/sys/fs/pipe-max-size (1 MiB). Read `capacity` for the result.
   */
  set capacity(bytes: number) {
    count(bytes, "capacity", 0x7fffffff, 1);
    if (sys.fcntl(this.fd, F.SETPIPE_SZ, bytes) === -1) throw lastError("fcntl(F_SETPIPE_SZ)", this.label, CAPACITY_HINTS);
  }

  /** Whether O_NONBLOCK is set: reads and writes that would wait fail with EAGAIN instead. */
  get nonBlocking(): boolean {
    return (statusFlags(this.fd, this.label) & O.NONBLOCK) !== 0;
  }

  set nonBlocking(on: boolean) {
    setNonBlocking(this.fd, on, this.label);
  }

  /** Whether FD_CLOEXEC is set: the descriptor is closed in programs this process starts. */
  get closeOnExec(): boolean {
    const flags = sys.fcntl(this.fd, F.GETFD, 0);
    if (flags === -1) throw lastError("fcntl(F_GETFD)", this.label);
    return (flags & FD.CLOEXEC) !== 0;
  }

  set closeOnExec(on: boolean) {
    if (sys.fcntl(this.fd, F.SETFD, on ? FD.CLOEXEC : 0) === -1) throw lastError("fcntl(F_SETFD)", this.label);
  }

  /**
   * Closes the descriptor. Closing the last write end is what lets the
   * readers see end of file; closing the last read end makes writers fail
   * with EPIPE. Idempotent.
   */
  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    if (this.#sink) {
      try {
        this.#sink.end(); // flushes what it can; it does not close our descriptor
      } catch {
        // a broken pipe: nothing more to flush
      }
      this.#sink = undefined;
      if (this.#sinkFlags !== undefined) sys.fcntl(fd, F.SETFL, this.#sinkFlags);
    }
    this.#fd = -1;
    if (sys.close(fd) === -1) throw lastError("close", this.label);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** An error from Bun's own I/O, as an IpcError like the library's. */
  #translate(error: unknown, call: string): unknown {
    const code = (error as { code?: unknown })?.code;
    if (typeof code === "string" && code in ERRNO) return errorFor(ERRNO[code as keyof typeof ERRNO], call, this.label, WRITE_HINTS);
    return error;
  }
}

/** How `new Pipe()` makes the pipe. */
export interface PipeOptions {
  /** O_CLOEXEC on both ends (the default: true), so programs this process starts do not inherit them by accident. */
  closeOnExec?: boolean;
  /** O_NONBLOCK on both ends (default false). */
  nonBlocking?: boolean;
  /** A capacity to ask for, in bytes (F_SETPIPE_SZ). */
  capacity?: number;
}

/**
 * A pipe: pipe2(2). Data written to `writer` comes out of `reader`, in
 * order, once; nothing is kept after it is read. Both ends are
 * descriptors of this process; hand one to a child (spawn's stdin/stdout)
 * and close your own copy of it.
 */
export class Pipe implements Disposable {
  readonly reader: PipeEnd;
  readonly writer: PipeEnd;

  constructor(options: PipeOptions = {}) {
    const flags = (options.closeOnExec === false ? 0 : O.CLOEXEC) | (options.nonBlocking ? O.NONBLOCK : 0);
    const fds = new Int32Array(2);
    if (sys.pipe2(ptr(fds), flags) === -1) throw lastError("pipe2", "a new pipe");
    this.reader = new PipeEnd(fds[0]!, "read");
    this.writer = new PipeEnd(fds[1]!, "write");
    if (options.capacity !== undefined) {
      try {
        this.writer.capacity = options.capacity;
      } catch (error) {
        this.close();
        throw error;
      }
    }
  }

  /** Closes both ends (those not closed already). */
  close(): void {
    this.reader.close();
    this.writer.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ---------------------------------------------------------------------------
// FIFOs

/** How `new Fifo()` finds or makes the FIFO. */
export interface FifoOptions {
  /** Create it (mkfifo) if it does not exist. */
  create?: boolean;
  /** Fail with ExistsError if the path exists (implies `create`). */
  exclusive?: boolean;
  /** Permission bits of a new FIFO; default 0o600 (owner only). */
  mode?: number;
}

/** How `Fifo.open` opens one end. */
export interface FifoOpenOptions {
  /**
   * O_NONBLOCK: do not wait for the other end. A reader then opens at
   * once; a writer fails with ENXIO while there is no reader.
   */
  nonBlocking?: boolean;
}

const FIFO_HINTS: Hints = {
  EEXIST: "something exists at this path already; open it without `exclusive`, or remove it first",
  ENOENT: "there is no FIFO at this path (pass `create: true` to make one), or a folder on the way is missing",
  EACCES: "your user may not create or open a file here; check the folder's and the FIFO's permissions",
  ENXIO:
    "no process has the FIFO open for reading, and a non-blocking writer does not wait for one: start the reader first, " +
    "or open without nonBlocking to wait for it",
  ENOTDIR: "a component of the path is not a folder",
  EROFS: "the file system is read-only",
  EINTR: "a signal arrived while waiting for the other end",
};

/** What is at `path`: "fifo", another kind of file, or nothing. */
function kindAt(path: string): "fifo" | "missing" | string {
  try {
    const st = fs.lstatSync(path);
    if (st.isFIFO()) return "fifo";
    if (st.isFile()) return "regular file";
    if (st.isDirectory()) return "directory";
    if (st.isSymbolicLink()) return "symbolic link";
    if (st.isSocket()) return "socket";
    return "special file";
  } catch {
    return "missing";
  }
}

function notAFifo(call: string, path: string, kind: string): IpcError {
  return invalid(
    call,
    path,
    `${path} exists and is a ${kind}, not a FIFO`,
    kind === "regular file"
      ? "opening it would read or write an ordinary file instead of talking to another process; remove it (or choose another path) and create the FIFO"
      : "choose another path for the FIFO",
  );
}

/**
 * A named pipe (FIFO): a special file whose name unrelated processes use
 * to find the same pipe. Its data lives in kernel memory, never on disk;
 * the file only names it, and stays until unlinked, after the processes
 * that used it have gone.
 *
 *   const fifo = new Fifo("/tmp/log.fifo", { create: true });
 *   using reader = await fifo.openAsync("read"); // waits for a writer
 */
export class Fifo {
  readonly path: string;

  constructor(path: string, options: FifoOptions = {}) {
    if (typeof path !== "string" || path === "") throw new TypeError("mkfifo: the path must be a non-empty string");
    if (path.includes("\0")) throw invalid("mkfifo", path, "the path contains a NUL character");
    const mode = fileMode(options.mode ?? 0o600, "mkfifo", 0o777);
    this.path = path;
    const kind = kindAt(path);
    if (kind !== "missing" && kind !== "fifo") throw notAFifo(options.create || options.exclusive ? "mkfifo" : "open", path, kind);
    if (options.create || options.exclusive) {
      if (sys.mkfifo(cstr(path), mode) === -1) {
        const e = errno();
        // Someone made it between our look and mkfifo: fine unless we wanted it new, or it is not a FIFO.
        if (e !== ERRNO.EEXIST || options.exclusive) throw errorFor(e, "mkfifo", path, FIFO_HINTS);
        const now = kindAt(path);
        if (now !== "fifo") throw notAFifo("mkfifo", path, now);
      }
    } else if (kind === "missing") {
      throw errorFor(ERRNO.ENOENT, "open", path, FIFO_HINTS);
    }
  }

  /** Whether `path` is a FIFO. */
  static isFifo(path: string): boolean {
    return kindAt(path) === "fifo";
  }

  #flags(side: PipeSide): number {
    if (side !== "read" && side !== "write") throw new TypeError(`open: side must be "read" or "write", got ${String(side)}`);
    const kind = kindAt(this.path);
    if (kind === "missing") throw errorFor(ERRNO.ENOENT, "open", this.path, FIFO_HINTS);
    if (kind !== "fifo") throw notAFifo("open", this.path, kind);
    return (side === "read" ? O.RDONLY : O.WRONLY) | O.CLOEXEC;
  }

  /**
   * Opens one end. Without `nonBlocking`, open(2) waits until the other
   * end is opened too — blocking the event loop meanwhile (see
   * `openAsync`). With it, a reader opens at once and a writer fails with
   * ENXIO (an IpcError) if no process has the FIFO open for reading.
   */
  open(side: PipeSide, options: FifoOpenOptions = {}): PipeEnd {
    const flags = this.#flags(side) | (options.nonBlocking ? O.NONBLOCK : 0);
    for (;;) {
      const fd = sys.open(cstr(this.path), flags, 0);
      if (fd !== -1) return new PipeEnd(fd, side, `${this.path} (${side} end)`);
      const e = errno();
      if (e !== ERRNO.EINTR) throw errorFor(e, "open", this.path, FIFO_HINTS);
    }
  }

  /**
   * Opens one end, waiting for the other end without blocking the event
   * loop (the open runs on one of Bun's I/O threads). With `timeout`
   * (seconds) it gives up after that long with a TimeoutError; to free the
   * waiting thread it then opens the other end itself for a moment, which
   * another process waiting on the same FIFO may notice as a visitor that
   * came and went at once.
   */
  async openAsync(side: PipeSide, options: PipeWaitOptions = {}): Promise<PipeEnd> {
    const flags = this.#flags(side);
    const timeout = checkTimeout(options.timeout, "openAsync");
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const opening = new Promise<number>((resolve, reject) => {
      fs.open(this.path, flags, (error, fd) => (error ? reject(error) : resolve(fd)));
    });
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        // Release the blocked open: become its other end for a moment.
        try {
          const other = sys.open(cstr(this.path), (side === "read" ? O.WRONLY : O.RDONLY) | O.NONBLOCK | O.CLOEXEC, 0);
          if (other !== -1) sys.close(other);
        } catch {
          // it completed meanwhile
        }
      }, timeout * 1000);
    }
    let fd: number;
    try {
      fd = await opening;
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (typeof code === "string" && code in ERRNO) throw errorFor(ERRNO[code as keyof typeof ERRNO], "open", this.path, FIFO_HINTS);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) {
      sys.close(fd);
      throw errorFor(ERRNO.ETIMEDOUT, "open", this.path, {
        ETIMEDOUT: `no process opened the ${side === "read" ? "write" : "read"} end before the timeout ran out`,
      });
    }
    return new PipeEnd(fd, side, `${this.path} (${side} end)`);
  }

  /** Removes the name. Processes that have the FIFO open keep using it. */
  unlink(): void {
    if (sys.unlink(cstr(this.path)) === -1) throw lastError("unlink", this.path, FIFO_HINTS);
  }

  /** Whether the FIFO still exists at its path. */
  get exists(): boolean {
    return kindAt(this.path) === "fifo";
  }
}

// ---------------------------------------------------------------------------
// Pipelines

/** How `pipeline()` connects the first and last programs, and where errors go. */
export interface PipelineOptions {
  /** Standard input of the first program; default inherit. */
  stdin?: Stdio;
  /** Standard output of the last program: "pipe" (the default) to read it as `output`, or a Stdio. */
  stdout?: "pipe" | Stdio;
  /** Standard error of every program; default inherit. */
  stderr?: Stdio;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * Programs started by `pipeline()`, one process group led by the first.
 * Dispose of it to kill whatever still runs and wait for all of them.
 */
export class Pipeline implements Disposable {
  /** The processes, in pipeline order. */
  readonly children: readonly Child[];
  /** The read end of the pipe from the last program's standard output (stdout "pipe"). */
  readonly output: PipeEnd | undefined;

  constructor(children: Child[], output: PipeEnd | undefined) {
    this.children = children;
    this.output = output;
  }

  /** The process group of the whole pipeline: the first program's pid. */
  get processGroup(): number {
    return this.children[0]!.pid;
  }

  /** Waits for every program, without blocking the event loop; statuses in pipeline order. */
  async exited(): Promise<WaitStatus[]> {
    return Promise.all(this.children.map((child) => child.exited()));
  }

  /** Reads the last program's output to the end and waits for every program. */
  async result(): Promise<{ stdout: string; statuses: WaitStatus[] }> {
    if (!this.output) throw new TypeError("pipeline: stdout was not \"pipe\", so there is no output to read");
    const [stdout, statuses] = await Promise.all([this.output.text(), this.exited()]);
    this.output.close();
    return { stdout, statuses };
  }

  /** Sends `signal` to every program (the process group). */
  kill(signal: Signal = "SIGTERM"): void {
    if (this.children.every((child) => child.status !== undefined)) return;
    killGroup(this.processGroup, signal);
  }

  [Symbol.dispose](): void {
    for (const child of this.children) child[Symbol.dispose]();
    this.output?.close();
  }
}

/**
 * Starts `commands` joined by pipes, each program's standard output to
 * the next one's standard input, as `a | b | c` in a shell, without a
 * shell: every command is an argument vector, and nothing is parsed.
 * Between each two programs is a pipe made here; each child gets its end
 * as descriptor 0 or 1, and this process closes its own copies at once, so
 * that each reader sees end of file when its writer ends. All the
 * programs form one process group, led by the first (like a shell's job).
 */
export function pipeline(commands: readonly (readonly string[])[], options: PipelineOptions = {}): Pipeline {
  if (!Array.isArray(commands) || commands.length === 0) throw new TypeError("pipeline: give at least one command, as an argument vector");
  const children: Child[] = [];
  const ours: PipeEnd[] = []; // every descriptor this process still holds
  const wantOutput = (options.stdout ?? "pipe") === "pipe";
  try {
    const output = wantOutput ? new Pipe() : undefined;
    if (output) ours.push(output.reader, output.writer);
    let previous: PipeEnd | undefined; // the read end feeding the next program
    commands.forEach((argv, i) => {
      const last = i === commands.length - 1;
      const link = last ? undefined : new Pipe();
      if (link) ours.push(link.reader, link.writer);
      const stdout: Stdio = last ? (output ? output.writer.fd : (options.stdout as Stdio)) : link!.writer.fd;
      const child = spawn(argv, {
        stdin: previous ? previous.fd : options.stdin,
        stdout,
        stderr: options.stderr,
        env: options.env,
        cwd: options.cwd,
        processGroup: i === 0 ? 0 : children[0]!.pid,
      });
      children.push(child);
      // The child has its copies now; ours would keep the pipe open and the reader from ever seeing end of file.
      previous?.close();
      if (link) link.writer.close();
      if (last) output?.writer.close();
      previous = link?.reader;
    });
    return new Pipeline(children, output?.reader);
  } catch (error) {
    for (const child of children) child[Symbol.dispose]();
    for (const end of ours) end.close();
    throw error;
  }
}
