/**
 * Files and file locks.
 *
 * - `OpenFile`: an open regular file and the three kinds of lock Linux
 *   puts on one: `flock(2)` locks on the whole file, `fcntl(2)` record
 *   locks on byte ranges owned by the process (F_SETLK, F_SETLKW,
 *   F_GETLK), and open-file-description locks (F_OFD_*), owned by the
 *   open file instead. All of them are advisory: they stop only the
 *   programs that ask for them.
 * - `LockFile`: a lock file in the old Unix manner ("/etc/shadow.lock"),
 *   created atomically with O_CREAT|O_EXCL, with the owner's PID inside,
 *   and a safe takeover when the owner has died.
 * - `TempFile`: a temporary file with an unpredictable name, created with
 *   O_EXCL and mode 0600, like mkstemp(3).
 * - `readProcLocks()`: the kernel's table of locks, /proc/locks, with the
 *   processes named.
 *
 *   using file = new OpenFile("/var/tmp/counter", { create: true });
 *   file.flock("exclusive");            // waits for other processes
 *   file.overwrite(String(Number(file.readText() || 0) + 1));
 *   file.unflock();
 *
 * Timeouts are in seconds: `undefined` waits forever, `0` does not wait,
 * a positive number retries with back-off until then. A blocking wait
 * blocks Bun's event loop; the `…Async` methods wait in a Worker instead.
 */
import fs from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { randomBytes } from "node:crypto";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { ptr } from "bun:ffi";
import { F, LOCK, layout, getField, O, SEEK, setField, SYS } from "./ffi/constants.ts";
import { ERRNO } from "./ffi/errno.ts";
import { cstr, errno, sys } from "./ffi/libc.ts";
import {
  BusyError,
  closed,
  errorFor,
  IpcError,
  ipcError,
  lastError,
  type Hints,
  type IpcErrorInit,
} from "./errors.ts";
import { count, fileMode } from "./validate.ts";

/** A shared (read) lock lets others share it; an exclusive (write) lock excludes everyone else. */
export type LockMode = "shared" | "exclusive";

/** How long to wait for a lock, in seconds: `undefined` forever, `0` not at all. */
export interface LockWaitOptions {
  timeout?: number;
}

/** A byte range of a file: `length` 0 means "to the end of the file, however far it grows". */
export interface ByteRange {
  /** First byte; default 0. */
  start?: number;
  /** Number of bytes, never negative; default 0 (to the end and beyond). */
  length?: number;
}

/** Which fcntl locks to use: process-associated (F_SETLK) or open-file-description (F_OFD_SETLK). */
export interface RecordLockKind {
  /**
   * `true`: an open-file-description lock, owned by this open file (and
   * its duplicates), released when the last of them is closed. Default
   * `false`: a classic POSIX record lock, owned by the process and
   * released when the process closes *any* descriptor of the file.
   */
  ofd?: boolean;
}

/** Options of `OpenFile.lock()` and friends. */
export interface RecordLockOptions extends ByteRange, RecordLockKind, LockWaitOptions {}

/** Who holds a lock that is in the way, as F_GETLK reports it. */
export interface LockConflict {
  mode: LockMode;
  start: number;
  /** 0: to the end of the file. */
  length: number;
  /** The holder's process id; -1 for an open-file-description lock (the kernel does not say whose). */
  pid: number;
  /** The holder's command name (/proc/PID/comm), when known. */
  command: string | null;
}

/** A thrown EDEADLK: waiting would close a cycle of processes waiting for each other. */
export class DeadlockError extends IpcError {}

/** The owner of a lock is alive and holds it: it cannot be taken over. */
export class LockHeldError extends BusyError {
  /** The process that holds the lock, if known. */
  readonly owner: { pid: number | null; command: string | null };

  /** Builds the error; `owner` says who holds the lock. */
  constructor(init: IpcErrorInit, owner: { pid: number | null; command: string | null }) {
    super(init);
    this.owner = owner;
  }
}

const LOCK_HINTS: Hints = {
  EAGAIN: "another process holds a conflicting lock; `cat /proc/locks` or `lslocks` shows who",
  EACCES: "another process holds a conflicting lock; `cat /proc/locks` or `lslocks` shows who",
  EDEADLK:
    "waiting would deadlock: a process this one waits for is itself waiting for a lock this process holds; " +
    "release your locks and retry, or take locks in one fixed order",
  ENOLCK: "the kernel's table of locks is full (or the file system does not support locks)",
  EINTR: "a signal arrived while waiting for the lock; the lock was not taken",
  EBADF: "the descriptor is closed, or its access mode does not allow this lock (a write lock needs a file opened for writing)",
  EINVAL: "the range or the command is not valid for this file",
};

const OPEN_HINTS: Hints = {
  EEXIST: "a file of this name exists already; open it without `exclusive`, or choose another name",
  ENOENT: "there is no file at this path (or a folder in the path is missing); pass `create: true` to create it",
  ELOOP: "the path is a symbolic link, which this call refuses to follow (O_NOFOLLOW)",
  EISDIR: "the path is a directory",
};

// ---------------------------------------------------------------------------
// Small helpers

/** Whether a process exists (kill(pid, 0)); a zombie that nobody reaped counts as dead. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"; // it exists, but belongs to someone else
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false; // it ended between the two checks
  }
}

/** The command name of a process (/proc/PID/comm), or null if it is gone or hidden. */
export function commandOf(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

/** "1234 (bun)", or "an open file description" for pid -1. */
function describeOwner(pid: number | null, command: string | null): string {
  if (pid === null) return "an unknown process";
  if (pid === -1) return "an open-file-description lock (no single process owns it)";
  return command === null ? `process ${pid}` : `process ${pid} (${command})`;
}

/**
 * Delays for retrying, in milliseconds: randomised exponential back-off.
 * Each delay is drawn between half and all of `initial × factor^n`,
 * capped at `max`, so that processes that collided once do not collide
 * again in lock-step.
 */
export function* backoffDelays(options: { initial?: number; max?: number; factor?: number } = {}): Generator<number, never> {
  const initial = options.initial ?? 1;
  const max = options.max ?? 100;
  const factor = options.factor ?? 2;
  let ceiling = initial;
  for (;;) {
    yield ceiling / 2 + Math.random() * (ceiling / 2);
    ceiling = Math.min(max, ceiling * factor);
  }
}

/** A timeout in seconds: undefined, 0, or a positive finite number. */
function checkTimeout(timeout: unknown, call: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) throw new TypeError(`${call}: timeout must be a number of seconds`);
  if (timeout < 0 || !Number.isFinite(timeout)) {
    throw new RangeError(`${call}: timeout must be 0 or more seconds (leave it out to wait forever), got ${timeout}`);
  }
  return timeout;
}

function checkMode(mode: unknown, call: string): LockMode {
  if (mode !== "shared" && mode !== "exclusive") {
    throw new TypeError(`${call}: the lock mode must be "shared" or "exclusive", got ${JSON.stringify(mode)}`);
  }
  return mode;
}

/** Validates a byte range before any call; a negative length is refused. */
function checkRange(range: ByteRange, call: string): { start: number; length: number } {
  const start = range.start ?? 0;
  const length = range.length ?? 0;
  if (typeof length === "number" && Number.isInteger(length) && length < 0) {
    throw new RangeError(
      `${call}: a lock range cannot have a negative length (got ${length}); ` +
        `give the first byte as start and a length of 0 or more (0 = to the end of the file)`,
    );
  }
  count(start, `${call}: start`);
  count(length, `${call}: length`);
  if (start + length > Number.MAX_SAFE_INTEGER) throw new RangeError(`${call}: start + length is too large`);
  return { start, length };
}

function timeoutError(call: string, object: string, seconds: number, holder: string): IpcError {
  return ipcError({
    errno: ERRNO.ETIMEDOUT,
    call,
    object,
    message: `the lock was not free within ${seconds} s; it is held by ${holder}`,
    hint: "retry later, or find the holder with `cat /proc/locks` or `lslocks`",
  });
}

/** The error for a failed lock call, with EDEADLK as a DeadlockError and EACCES as busy. */
function lockError(errnum: number, call: string, object: string, holder?: string): IpcError {
  if (errnum === ERRNO.EDEADLK) {
    return new DeadlockError({ errno: errnum, call, object, hint: LOCK_HINTS.EDEADLK });
  }
  if (errnum === ERRNO.EAGAIN || errnum === ERRNO.EACCES) {
    // POSIX lets F_SETLK report a conflict as EACCES or EAGAIN; both mean "busy".
    return new BusyError({
      errno: ERRNO.EAGAIN,
      call,
      object,
      message: holder === undefined ? "the lock is held by someone else" : `the lock is held by ${holder}`,
      hint: LOCK_HINTS.EAGAIN,
    });
  }
  return errorFor(errnum, call, object, LOCK_HINTS);
}

// ---------------------------------------------------------------------------
// The library's own waits, for the wait-for graph of lib/deadlock.ts

/** A lock this process is waiting for through the library. */
export interface LibraryWait {
  pid: number;
  kind: "flock" | "posix" | "ofd" | "lockfile";
  mode: LockMode;
  /** The file's device ("fe:00", as /proc/locks writes it) and inode. */
  device: string;
  inode: number;
  path: string;
  start: number;
  /** Last byte, or null for "to the end of the file". */
  end: number | null;
  /** For a lock file: the PID written in it, which is who we wait for. */
  ownerPid?: number;
  since: number;
}

const waits = new Set<LibraryWait>();

/**
 * The locks this process is waiting for through the library right now,
 * including waits that retry with back-off and so never show up in
 * /proc/locks as blocked requests.
 */
export function libraryWaits(): LibraryWait[] {
  return [...waits].map((w) => ({ ...w }));
}

/** "fe:00", as /proc/locks prints a device (major:minor in hex). */
export function deviceName(dev: number | bigint): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  const hex = (n: bigint) => n.toString(16).padStart(2, "0");
  return `${hex(major)}:${hex(minor)}`;
}

function waitRecord(fd: number, path: string, kind: LibraryWait["kind"], mode: LockMode, start: number, length: number): LibraryWait {
  const st = fs.fstatSync(fd, { bigint: true });
  return {
    pid: process.pid,
    kind,
    mode,
    device: deviceName(st.dev),
    inode: Number(st.ino),
    path,
    start,
    end: length === 0 ? null : start + length - 1,
    since: Date.now(),
  };
}

// ---------------------------------------------------------------------------
// The lock calls themselves, shared by the methods and the async worker

interface FlockRequest {
  op: "flock";
  fd: number;
  label: string;
  mode: LockMode;
  timeout: number | undefined;
}

interface RecordRequest {
  op: "fcntl";
  fd: number;
  label: string;
  mode: LockMode;
  start: number;
  length: number;
  ofd: boolean;
  timeout: number | undefined;
}

type LockRequest = FlockRequest | RecordRequest;

/** flock(fd, op), the error number or 0. */
function flockOnce(fd: number, operation: number): number {
  return sys.flock(fd, operation) === -1 ? errno() : 0;
}

/** A struct flock in a fresh buffer. */
function flockStruct(type: number, start: number, length: number): { buffer: ArrayBuffer; view: DataView } {
  const buffer = new ArrayBuffer(layout.flock.size);
  const view = new DataView(buffer);
  const f = layout.flock.fields;
  setField(view, f.l_type, type);
  setField(view, f.l_whence, SEEK.SET);
  setField(view, f.l_start, start);
  setField(view, f.l_len, length);
  setField(view, f.l_pid, 0); // must be 0 for the OFD commands
  return { buffer, view };
}

/** fcntl(fd, cmd, &flock), the error number or 0. */
function fcntlLockOnce(fd: number, command: number, type: number, start: number, length: number): number {
  const { buffer } = flockStruct(type, start, length);
  return sys.fcntl(fd, command, ptr(buffer)) === -1 ? errno() : 0;
}

/** Who holds a lock that conflicts with `mode` on the range (F_GETLK / F_OFD_GETLK), or null. */
function getLock(fd: number, label: string, mode: LockMode, start: number, length: number, ofd: boolean): LockConflict | null {
  const { buffer, view } = flockStruct(mode === "exclusive" ? F.WRLCK : F.RDLCK, start, length);
  const call = ofd ? "fcntl(F_OFD_GETLK)" : "fcntl(F_GETLK)";
  if (sys.fcntl(fd, ofd ? F.OFD_GETLK : F.GETLK, ptr(buffer)) === -1) throw lastError(call, label, LOCK_HINTS);
  const f = layout.flock.fields;
  const type = getField(view, f.l_type);
  if (type === F.UNLCK) return null;
  const pid = getField(view, f.l_pid);
  return {
    mode: type === F.WRLCK ? "exclusive" : "shared",
    start: getField(view, f.l_start),
    length: getField(view, f.l_len),
    pid,
    command: commandOf(pid),
  };
}

/** Who holds a flock on the file behind fd, from /proc/locks (flock has no F_GETLK). */
function flockHolder(fd: number): string {
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    const device = deviceName(st.dev);
    const held = readProcLocks().find((l) => !l.blocked && l.kind === "flock" && l.inode === Number(st.ino) && l.device === device);
    return held ? describeOwner(held.pid, held.command) : "another open file";
  } catch {
    return "another open file";
  }
}

function holderText(request: LockRequest): string {
  if (request.op === "flock") return flockHolder(request.fd);
  const conflict = getLock(request.fd, request.label, request.mode, request.start, request.length, request.ofd);
  if (conflict === null) return "someone who has let go of it since";
  const end = conflict.length === 0 ? "the end" : String(conflict.start + conflict.length - 1);
  return `${describeOwner(conflict.pid, conflict.command)}: ${conflict.mode}, bytes ${conflict.start}..${end}`;
}

function callName(request: LockRequest, wait: boolean): string {
  if (request.op === "flock") return `flock(LOCK_${request.mode === "exclusive" ? "EX" : "SH"}${wait ? "" : "|LOCK_NB"})`;
  if (request.ofd) return wait ? "fcntl(F_OFD_SETLKW)" : "fcntl(F_OFD_SETLK)";
  return wait ? "fcntl(F_SETLKW)" : "fcntl(F_SETLK)";
}

/** One attempt: 0 on success or an errno; `wait` blocks in the kernel. */
function attempt(request: LockRequest, wait: boolean): number {
  if (request.op === "flock") {
    const operation = (request.mode === "exclusive" ? LOCK.EX : LOCK.SH) | (wait ? 0 : LOCK.NB);
    return flockOnce(request.fd, operation);
  }
  const command = request.ofd ? (wait ? F.OFD_SETLKW : F.OFD_SETLK) : wait ? F.SETLKW : F.SETLK;
  const type = request.mode === "exclusive" ? F.WRLCK : F.RDLCK;
  return fcntlLockOnce(request.fd, command, type, request.start, request.length);
}

function isBusy(errnum: number): boolean {
  return errnum === ERRNO.EAGAIN || errnum === ERRNO.EACCES;
}

/**
 * Takes the lock described by `request`, synchronously: blocking in the
 * kernel (no timeout), once (timeout 0), or retrying with back-off until
 * the timeout. Throws BusyError, TimeoutError, DeadlockError, ….
 */
function performLock(request: LockRequest): void {
  if (request.timeout === undefined) {
    const result = attempt(request, true);
    if (result !== 0) throw lockError(result, callName(request, true), request.label);
    return;
  }
  const first = attempt(request, false);
  if (first === 0) return;
  if (!isBusy(first)) throw lockError(first, callName(request, false), request.label);
  if (request.timeout === 0) throw lockError(first, callName(request, false), request.label, holderText(request));
  const deadline = performance.now() + request.timeout * 1000;
  for (const delay of backoffDelays({ initial: 2, max: 50 })) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    Bun.sleepSync(Math.max(1, Math.min(delay, left)));
    const result = attempt(request, false);
    if (result === 0) return;
    if (!isBusy(result)) throw lockError(result, callName(request, false), request.label);
  }
  throw timeoutError(callName(request, false), request.label, request.timeout, holderText(request));
}

/** What the lock worker posts back. */
type WorkerAnswer = { ok: true } | { ok: false; error: IpcErrorInit & { deadlock: boolean; text: string } };

/** Runs `performLock` in a Worker, so that the event loop keeps running while it waits. */
function performLockInWorker(request: LockRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { ipcbookLockRequest: request } });
    let settled = false;
    worker.once("message", (message: WorkerAnswer) => {
      settled = true;
      void worker.terminate();
      if (message.ok) return resolve();
      const { deadlock, text, ...init } = message.error;
      const error = deadlock ? new DeadlockError(init) : ipcError(init);
      error.message = text; // exactly as the worker worded it
      reject(error);
    });
    worker.once("error", (error) => {
      if (!settled) reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the lock worker for ${request.label} stopped (exit code ${code}) without an answer`));
    });
  });
}

// The worker side: lib/locks.ts started as a Worker by performLockInWorker.
if (!isMainThread && parentPort !== null && (workerData as { ipcbookLockRequest?: LockRequest } | null)?.ipcbookLockRequest) {
  const request = (workerData as { ipcbookLockRequest: LockRequest }).ipcbookLockRequest;
  try {
    performLock(request);
    parentPort.postMessage({ ok: true });
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    const answer: WorkerAnswer = {
      ok: false,
      error: {
        errno: error.errno,
        call: error.call,
        object: error.object,
        hint: error.hint,
        deadlock: error instanceof DeadlockError,
        text: error.message,
      },
    };
    parentPort.postMessage(answer);
  }
}

// ---------------------------------------------------------------------------
// OpenFile

/** Options of `new OpenFile(path, options)`. */
export interface FileOptions {
  /** Create the file if it does not exist. */
  create?: boolean;
  /** Fail with ExistsError if it exists (O_CREAT|O_EXCL; implies `create`). */
  exclusive?: boolean;
  /** Permission bits for a new file; default 0o600. */
  mode?: number;
  /** Open for reading only (a read-only file takes shared locks only). */
  readOnly?: boolean;
  /** Empty the file on opening (O_TRUNC). */
  truncate?: boolean;
  /** Refuse to open a symbolic link (O_NOFOLLOW). */
  noFollow?: boolean;
  /** Wrap this descriptor, already open, instead of opening `path`; it is closed with the object. */
  descriptor?: number;
}

/** An open regular file, with reads and writes at offsets and the three kinds of lock. */
export class OpenFile implements Disposable {
  /** The path it was opened by (or a label for an adopted descriptor). */
  readonly path: string;
  /** Opened with O_RDONLY: no writes, no exclusive locks. */
  readonly readOnly: boolean;
  #fd: number;

  /** Opens (or, with `create`, creates) the file at `path`. */
  constructor(path: string, options: FileOptions = {}) {
    if (typeof path !== "string" || path.length === 0) throw new TypeError("open: the path must be a non-empty string");
    if (path.includes("\0")) throw new TypeError("open: the path contains a NUL character");
    this.path = path;
    this.readOnly = options.readOnly ?? false;
    if (options.descriptor !== undefined) {
      this.#fd = count(options.descriptor, "OpenFile: descriptor", 2 ** 31 - 1);
      return;
    }
    const mode = fileMode(options.mode ?? 0o600, "open");
    if (options.readOnly && options.truncate) throw new TypeError("open: a file opened read-only cannot be truncated");
    let flags = (options.readOnly ? O.RDONLY : O.RDWR) | O.CLOEXEC;
    if (options.create || options.exclusive) flags |= O.CREAT;
    if (options.exclusive) flags |= O.EXCL;
    if (options.truncate) flags |= O.TRUNC;
    if (options.noFollow) flags |= O.NOFOLLOW;
    const fd = sys.open(cstr(path), flags, mode);
    if (fd === -1) throw lastError("open", path, OPEN_HINTS);
    this.#fd = fd;
  }

  /** The file descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd === -1) throw closed("fd", this.path);
    return this.#fd;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#fd === -1;
  }

  /** The device ("fe:00", as /proc/locks shows it) and inode of the open file. */
  identity(): { device: string; inode: number } {
    const st = fs.fstatSync(this.fd, { bigint: true });
    return { device: deviceName(st.dev), inode: Number(st.ino) };
  }

  /** The size in bytes (fstat). */
  get size(): number {
    return fs.fstatSync(this.fd).size;
  }

  /** Reads up to `length` bytes at `position` (pread); fewer at the end of the file. */
  read(position: number, length: number): Buffer {
    count(position, `read: position in ${this.path}`);
    count(length, `read: length`);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buffer, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  }

  /** The whole file. */
  readAll(): Buffer {
    return this.read(0, this.size);
  }

  /** The whole file as UTF-8 text. */
  readText(): string {
    return this.readAll().toString("utf8");
  }

  /** Writes all of `data` at `position` (pwrite). */
  write(data: Uint8Array | string, position: number): void {
    count(position, `write: position in ${this.path}`);
    if (this.readOnly) throw new TypeError(`write: ${this.path} was opened read-only`);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, position + done);
  }

  /** Replaces the whole contents with `data`: writes it at 0 and cuts the file to its length. */
  overwrite(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    this.write(bytes, 0);
    this.truncate(bytes.length);
  }

  /** Writes `data` at the current end of the file. */
  append(data: Uint8Array | string): void {
    this.write(data, this.size);
  }

  /** Sets the size (ftruncate). */
  truncate(size: number): void {
    count(size, `ftruncate: size of ${this.path}`);
    if (sys.ftruncate(this.fd, size) === -1) throw lastError("ftruncate", this.path);
  }

  /** Waits until the data is on the disk (fsync). */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  // -- flock(2): one lock on the whole file, owned by the open file description

  /**
   * Takes a flock(2) lock on the whole file: "shared" or "exclusive".
   * Asking again converts the lock (not atomically: it is released first).
   * With `timeout: 0` a held lock throws BusyError at once; with a
   * positive timeout it retries until then and throws TimeoutError.
   */
  flock(mode: LockMode, options: LockWaitOptions = {}): void {
    this.#take(this.#flockRequest(mode, options, "flock"));
  }

  /** flock with LOCK_NB: true if taken, false if someone else holds a conflicting lock. */
  tryFlock(mode: LockMode): boolean {
    return this.#try(this.#flockRequest(mode, { timeout: 0 }, "flock"));
  }

  /** flock() that waits in a Worker, so the event loop keeps running. */
  flockAsync(mode: LockMode, options: LockWaitOptions = {}): Promise<void> {
    return this.#takeAsync(this.#flockRequest(mode, options, "flockAsync"));
  }

  /** Releases the flock (LOCK_UN). */
  unflock(): void {
    if (sys.flock(this.fd, LOCK.UN) === -1) throw lastError("flock(LOCK_UN)", this.path, LOCK_HINTS);
  }

  // -- fcntl(2) record locks: byte ranges, owned by the process or by the open file description

  /**
   * Locks a byte range with fcntl: a POSIX record lock (F_SETLKW, owned by
   * the process) or, with `ofd: true`, an open-file-description lock
   * (F_OFD_SETLKW). No timeout waits in the kernel, which for POSIX locks
   * detects deadlocks (DeadlockError, EDEADLK).
   */
  lock(mode: LockMode, options: RecordLockOptions = {}): void {
    this.#take(this.#recordRequest(mode, options, "lock"));
  }

  /** F_SETLK: true if the range is now locked, false if someone holds a conflicting lock. */
  tryLock(mode: LockMode, options: ByteRange & RecordLockKind = {}): boolean {
    return this.#try(this.#recordRequest(mode, { ...options, timeout: 0 }, "tryLock"));
  }

  /** lock() that waits in a Worker, so the event loop keeps running. */
  lockAsync(mode: LockMode, options: RecordLockOptions = {}): Promise<void> {
    return this.#takeAsync(this.#recordRequest(mode, options, "lockAsync"));
  }

  /** Releases a range (F_UNLCK); the default is the whole file. */
  unlock(options: ByteRange & RecordLockKind = {}): void {
    const { start, length } = checkRange(options, "unlock");
    const call = options.ofd ? "fcntl(F_OFD_SETLK, F_UNLCK)" : "fcntl(F_SETLK, F_UNLCK)";
    const result = fcntlLockOnce(this.fd, options.ofd ? F.OFD_SETLK : F.SETLK, F.UNLCK, start, length);
    if (result !== 0) throw lockError(result, call, this.path);
  }

  /**
   * Asks the kernel whether `mode` could be taken on the range now
   * (F_GETLK, or F_OFD_GETLK with `ofd`): null if so, else one lock that
   * is in the way and who holds it. A process's own POSIX locks never get
   * in its way, so they are not reported.
   */
  testLock(mode: LockMode, options: ByteRange & RecordLockKind = {}): LockConflict | null {
    checkMode(mode, "testLock");
    const { start, length } = checkRange(options, "testLock");
    return getLock(this.fd, this.path, mode, start, length, options.ofd ?? false);
  }

  /** Closes the descriptor. For POSIX record locks this drops *all* of this process's locks on the file. */
  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    if (sys.close(fd) === -1) throw lastError("close", this.path);
  }

  /** Closes the file (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #flockRequest(mode: LockMode, options: LockWaitOptions, call: string): FlockRequest {
    checkMode(mode, call);
    return { op: "flock", fd: this.fd, label: this.path, mode, timeout: checkTimeout(options.timeout, call) };
  }

  #recordRequest(mode: LockMode, options: RecordLockOptions, call: string): RecordRequest {
    checkMode(mode, call);
    const { start, length } = checkRange(options, call);
    if (mode === "exclusive" && this.readOnly) {
      throw new TypeError(`${call}: ${this.path} was opened read-only; an exclusive (write) lock needs a file opened for writing`);
    }
    const timeout = checkTimeout(options.timeout, call);
    return { op: "fcntl", fd: this.fd, label: this.path, mode, start, length, ofd: options.ofd ?? false, timeout };
  }

  /** One attempt without waiting: true if taken. */
  #try(request: LockRequest): boolean {
    const result = attempt(request, false);
    if (result === 0) return true;
    if (isBusy(result)) return false;
    throw lockError(result, callName(request, false), this.path);
  }

  /**
   * Takes the lock here. A timed wait, which retries instead of sleeping
   * in the kernel, is listed in libraryWaits() while it lasts.
   */
  #take(request: LockRequest): void {
    if (request.timeout === undefined || request.timeout === 0) return performLock(request);
    if (this.#try(request)) return;
    const record = this.#track(request);
    try {
      performLock(request);
    } finally {
      waits.delete(record);
    }
  }

  /** Takes the lock in a Worker (listed in libraryWaits() meanwhile). */
  async #takeAsync(request: LockRequest): Promise<void> {
    if (request.timeout === 0) return performLock(request);
    if (this.#try(request)) return;
    const record = this.#track(request);
    try {
      await performLockInWorker(request);
    } finally {
      waits.delete(record);
    }
  }

  #track(request: LockRequest): LibraryWait {
    const [kind, start, length] = request.op === "flock" ? (["flock", 0, 0] as const) : ([request.ofd ? "ofd" : "posix", request.start, request.length] as const);
    const record = waitRecord(request.fd, this.path, kind, request.mode, start, length);
    waits.add(record);
    return record;
  }
}

// ---------------------------------------------------------------------------
// Safe temporary files

/** Options of `TempFile.create()`. */
export interface TempFileOptions {
  /** The folder; default the system's temporary folder (TMPDIR or /tmp). */
  dir?: string;
  /** The start of the name; default "ipcbook-". */
  prefix?: string;
  /** The end of the name, such as ".json"; default none. */
  suffix?: string;
  /** Permission bits; default 0o600, owner only. */
  mode?: number;
}

const NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** 16 random characters from a-z0-9: about 82 bits, not guessable. */
function randomName(): string {
  return [...randomBytes(16)].map((b) => NAME_ALPHABET[b % NAME_ALPHABET.length]).join("");
}

/**
 * A temporary file made safely, like mkstemp(3): a name nobody can
 * predict, created with O_CREAT|O_EXCL|O_NOFOLLOW so that it is a new file
 * and never someone's symbolic link, with mode 0600. Closing it (or the
 * end of a `using` block) also removes it.
 */
export class TempFile extends OpenFile {
  #removed = false;

  private constructor(path: string, mode: number) {
    super(path, { exclusive: true, noFollow: true, mode });
  }

  /** Creates a new temporary file; retries with another name in the unlikely case of a collision. */
  static create(options: TempFileOptions = {}): TempFile {
    const dir = options.dir ?? os.tmpdir();
    const prefix = options.prefix ?? "ipcbook-";
    const suffix = options.suffix ?? "";
    if (prefix.includes("/") || suffix.includes("/")) throw new TypeError("TempFile.create: prefix and suffix cannot contain a slash");
    const mode = fileMode(options.mode ?? 0o600, "open");
    for (let tries = 0; ; tries++) {
      try {
        return new TempFile(nodePath.join(dir, `${prefix}${randomName()}${suffix}`), mode);
      } catch (error) {
        if (!(error instanceof IpcError) || error.code !== "EEXIST" || tries >= 100) throw error;
      }
    }
  }

  /** Removes the file's name (it stays readable through this descriptor until closed). */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    if (sys.unlink(cstr(this.path)) === -1 && errno() !== ERRNO.ENOENT) throw lastError("unlink", this.path);
  }

  /** Closes the descriptor and removes the file. */
  override close(): void {
    try {
      this.remove();
    } finally {
      super.close();
    }
  }
}

// ---------------------------------------------------------------------------
// Lock files

/** Options of `LockFile.acquire()`. */
export interface LockFileOptions extends LockWaitOptions {
  /** Permission bits of the lock file; default 0o644, so that others can read who holds it. */
  mode?: number;
  /** Take over a stale lock file (its owner has died); default true. */
  takeOverStale?: boolean;
}

/** What a lock file says about its owner. */
export interface LockFileState {
  /** The PID written in the file, or null if it holds none (being created, or garbage). */
  pid: number | null;
  /** Whether that process exists. */
  alive: boolean;
  /** Its command name, if it is alive. */
  command: string | null;
  /** Whether some process holds a flock on the file (every LockFile owner does). */
  flocked: boolean;
  /** Neither a live owner nor a flock: a takeover is safe. */
  stale: boolean;
}

/** The PID in a lock file's text, or null. */
function parsePid(text: string): number | null {
  const match = /^\s*(\d{1,10})\s*$/.exec(text);
  if (!match) return null;
  const pid = Number(match[1]);
  return pid > 0 && pid <= 2 ** 22 ? pid : null;
}

type AcquireOutcome = { held: number; tookOverFrom: number | null } | { busy: LockFileState };

/**
 * Whether the descriptor `fd` still refers to the file at `path`: false
 * if the name was removed, or now names another file. Check it after
 * taking a lock on a file that others may remove or replace.
 */
export function stillAt(fd: number, path: string): boolean {
  try {
    const open = fs.fstatSync(fd, { bigint: true });
    const named = fs.lstatSync(path, { bigint: true });
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

function readFd(fd: number): string {
  const buffer = Buffer.alloc(64);
  const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
  return buffer.subarray(0, n).toString("utf8");
}

function writePid(fd: number): void {
  if (sys.ftruncate(fd, 0) === -1) throw lastError("ftruncate", "lock file");
  const text = Buffer.from(`${process.pid}\n`);
  fs.writeSync(fd, text, 0, text.length, 0);
}

/**
 * A lock file: a file whose existence means "locked", with the owner's
 * PID inside. Created atomically with O_CREAT|O_EXCL, so that of two
 * processes exactly one creates it. The owner also holds a flock on it
 * for as long as it holds the lock; a process that finds the file checks
 * the PID and the flock, and takes over only a stale file (owner dead, no
 * flock), under the flock, so that two processes can never both take it
 * over.
 */
export class LockFile implements Disposable {
  /** The lock file's path. */
  readonly path: string;
  /** This process's PID, written in the file. */
  readonly pid: number;
  /** The PID of the dead owner whose stale file this one took over, or null. */
  readonly tookOverFrom: number | null;
  #fd: number;

  private constructor(path: string, fd: number, tookOverFrom: number | null) {
    this.path = path;
    this.#fd = fd;
    this.pid = process.pid;
    this.tookOverFrom = tookOverFrom;
  }

  /**
   * Acquires the lock file at `path`. If it exists and its owner is alive,
   * waits according to `timeout` (default: forever, retrying with
   * back-off), then throws LockHeldError (timeout 0) or TimeoutError. A
   * stale file is taken over.
   */
  static acquire(path: string, options: LockFileOptions = {}): LockFile {
    const { mode, timeout, takeOver } = LockFile.#check(path, options, "LockFile.acquire");
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout * 1000;
    let record: LibraryWait | null = null;
    try {
      for (const delay of backoffDelays({ initial: 2, max: 100 })) {
        const outcome = LockFile.#tryOnce(path, mode, takeOver);
        if ("held" in outcome) return new LockFile(path, outcome.held, outcome.tookOverFrom);
        const left = deadline - performance.now();
        if (timeout === 0 || left <= 0) throw LockFile.#busyError(path, outcome.busy, timeout);
        record ??= LockFile.#trackWait(path, outcome.busy);
        Bun.sleepSync(Math.max(1, Math.min(delay, left)));
      }
      throw new Error("unreachable");
    } finally {
      if (record !== null) waits.delete(record);
    }
  }

  /** acquire() that waits with `await` between attempts, so the event loop keeps running. */
  static async acquireAsync(path: string, options: LockFileOptions = {}): Promise<LockFile> {
    const { mode, timeout, takeOver } = LockFile.#check(path, options, "LockFile.acquireAsync");
    const deadline = timeout === undefined ? Infinity : performance.now() + timeout * 1000;
    let record: LibraryWait | null = null;
    try {
      for (const delay of backoffDelays({ initial: 2, max: 100 })) {
        const outcome = LockFile.#tryOnce(path, mode, takeOver);
        if ("held" in outcome) return new LockFile(path, outcome.held, outcome.tookOverFrom);
        const left = deadline - performance.now();
        if (timeout === 0 || left <= 0) throw LockFile.#busyError(path, outcome.busy, timeout);
        record ??= LockFile.#trackWait(path, outcome.busy);
        await Bun.sleep(Math.max(1, Math.min(delay, left)));
      }
      throw new Error("unreachable");
    } finally {
      if (record !== null) waits.delete(record);
    }
  }

  /**
   * Takes over the lock file at `path`, which must be stale. If its owner
   * is alive this throws LockHeldError naming the owner, and the file is
   * left as it was.
   */
  static takeOver(path: string, options: Omit<LockFileOptions, "timeout" | "takeOverStale"> = {}): LockFile {
    try {
      return LockFile.acquire(path, { ...options, timeout: 0, takeOverStale: true });
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      throw new LockHeldError(
        {
          errno: ERRNO.EAGAIN,
          call: "LockFile.takeOver",
          object: path,
          message: `the lock file is held by ${describeOwner(error.owner.pid, error.owner.command)}, which is alive: it is not stale`,
          hint: "only a lock file whose owner has died may be taken over; wait for the owner to release it",
        },
        error.owner,
      );
    }
  }

  /** Reads who owns the lock file at `path` without touching it; null if there is no such file. */
  static inspect(path: string): LockFileState | null {
    let text: string;
    let st: fs.BigIntStats;
    try {
      text = fs.readFileSync(path, "utf8").slice(0, 64);
      st = fs.statSync(path, { bigint: true });
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return null;
      throw error;
    }
    const pid = parsePid(text);
    const alive = pid !== null && pidAlive(pid);
    const device = deviceName(st.dev);
    const flocked = readProcLocks().some((l) => !l.blocked && l.kind === "flock" && l.inode === Number(st.ino) && l.device === device);
    return { pid, alive, command: alive && pid !== null ? commandOf(pid) : null, flocked, stale: !alive && !flocked };
  }

  /** Whether this object still holds the lock. */
  get held(): boolean {
    return this.#fd !== -1;
  }

  /** Releases the lock: removes the file (if it is still ours), then drops the flock. Idempotent. */
  release(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      // Remove the name only if it is still our file with our PID in it.
      if (stillAt(fd, this.path) && parsePid(readFd(fd)) === this.pid) {
        if (sys.unlink(cstr(this.path)) === -1 && errno() !== ERRNO.ENOENT) throw lastError("unlink", this.path);
      }
    } finally {
      sys.close(fd); // drops the flock
    }
  }

  /** Releases the lock (for `using`). */
  [Symbol.dispose](): void {
    this.release();
  }

  static #check(path: string, options: LockFileOptions, call: string) {
    if (typeof path !== "string" || path.length === 0) throw new TypeError(`${call}: the path must be a non-empty string`);
    return {
      mode: fileMode(options.mode ?? 0o644, call),
      timeout: checkTimeout(options.timeout, call),
      takeOver: options.takeOverStale ?? true,
    };
  }

  /** One attempt to create or take over the lock file. */
  static #tryOnce(path: string, mode: number, takeOver: boolean): AcquireOutcome {
    for (let round = 0; round < 100; round++) {
      // 1. Create it: O_EXCL makes "does it exist?" and "create it" one step.
      const created = sys.open(cstr(path), O.RDWR | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, mode);
      if (created !== -1) {
        // A contender may hold the flock for a moment (it saw the empty file): wait for it.
        const result = flockOnce(created, LOCK.EX);
        if (result !== 0) {
          sys.close(created);
          throw errorFor(result, "flock(LOCK_EX)", path, LOCK_HINTS);
        }
        if (!stillAt(created, path)) {
          sys.close(created); // taken over and released meanwhile: start again
          continue;
        }
        writePid(created);
        return { held: created, tookOverFrom: null };
      }
      const createError = errno();
      if (createError !== ERRNO.EEXIST) throw errorFor(createError, "open(O_CREAT|O_EXCL)", path, OPEN_HINTS);

      // 2. It exists. Hold its flock while deciding, so that no one else decides at the same time.
      const fd = sys.open(cstr(path), O.RDWR | O.NOFOLLOW | O.CLOEXEC, 0);
      if (fd === -1) {
        if (errno() === ERRNO.ENOENT) continue; // released meanwhile
        throw lastError("open", path, OPEN_HINTS);
      }
      const locked = flockOnce(fd, LOCK.EX | LOCK.NB);
      if (locked !== 0) {
        const pid = parsePid(readFd(fd));
        sys.close(fd);
        if (!isBusy(locked)) throw errorFor(locked, "flock(LOCK_EX|LOCK_NB)", path, LOCK_HINTS);
        const alive = pid !== null && pidAlive(pid);
        return { busy: { pid, alive, command: alive && pid !== null ? commandOf(pid) : null, flocked: true, stale: false } };
      }
      if (!stillAt(fd, path)) {
        sys.close(fd); // removed or replaced while we opened it
        continue;
      }
      const pid = parsePid(readFd(fd));
      const alive = pid !== null && pid !== process.pid && pidAlive(pid);
      if (alive || !takeOver) {
        sys.close(fd);
        return { busy: { pid, alive, command: alive && pid !== null ? commandOf(pid) : null, flocked: false, stale: !alive } };
      }
      // Stale: the owner is dead (or never wrote its PID), and we hold the flock.
      writePid(fd);
      return { held: fd, tookOverFrom: pid };
    }
    throw new Error(`LockFile: ${path} keeps changing under us; giving up after 100 rounds`);
  }

  static #busyError(path: string, state: LockFileState, timeout: number | undefined): IpcError {
    const owner = describeOwner(state.pid, state.command);
    if (timeout !== undefined && timeout > 0) {
      return timeoutError("LockFile.acquire", path, timeout, owner);
    }
    const why = state.alive
      ? `the lock file is held by ${owner}, which is alive`
      : state.pid === null
        ? "the lock file is being created by another process (it holds no PID yet)"
        : `the lock file names ${owner}, which is not running, but ${state.flocked ? "another process holds its flock" : "taking over stale files is off"}`;
    return new LockHeldError(
      { errno: ERRNO.EAGAIN, call: "LockFile.acquire", object: path, message: why, hint: "wait for the owner to release it, or give a timeout" },
      { pid: state.pid, command: state.command },
    );
  }

  static #trackWait(path: string, state: LockFileState): LibraryWait | null {
    try {
      const st = fs.statSync(path, { bigint: true });
      const record: LibraryWait = {
        pid: process.pid,
        kind: "lockfile",
        mode: "exclusive",
        device: deviceName(st.dev),
        inode: Number(st.ino),
        path,
        start: 0,
        end: null,
        ownerPid: state.pid ?? undefined,
        since: Date.now(),
      };
      waits.add(record);
      return record;
    } catch {
      return null;
    }
  }
}

// ---------------------------------------------------------------------------
// /proc/locks

/** One line of /proc/locks. */
export interface ProcLock {
  /** The lock's ordinal number in the listing; a blocked request repeats the number of the lock it waits for. */
  id: number;
  /** A "->" line: a request waiting for lock `id`, not a lock held. */
  blocked: boolean;
  /** FLOCK, POSIX, OFDLCK (and LEASE, DELEG) as "flock", "posix", "ofd", … */
  kind: "flock" | "posix" | "ofd" | "lease" | "other";
  /** READ is shared, WRITE exclusive. */
  mode: LockMode;
  /** The owner's process id; -1 for open-file-description locks and their waiters. */
  pid: number;
  /** Its command name, when pid > 0 and the process is still there. */
  command: string | null;
  /** The file's device, "fe:00" (major:minor in hex). */
  device: string;
  inode: number;
  start: number;
  /** Last byte locked, or null for EOF (to the end of the file). */
  end: number | null;
  /** The line as the kernel wrote it. */
  line: string;
}

const KINDS: Record<string, ProcLock["kind"]> = { FLOCK: "flock", POSIX: "posix", OFDLCK: "ofd", LEASE: "lease" };

/**
 * Parses /proc/locks (or `text` in its format) and names the processes.
 * Blocked requests ("N: -> …") follow the lock they wait for.
 */
export function readProcLocks(text?: string): ProcLock[] {
  const source = text ?? fs.readFileSync("/proc/locks", "utf8");
  const locks: ProcLock[] = [];
  const commands = new Map<number, string | null>();
  for (const line of source.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words.length < 8) continue;
    const id = Number.parseInt(words[0]!, 10);
    const blocked = words[1] === "->";
    const rest = blocked ? words.slice(2) : words.slice(1);
    const [kindWord, , access, pidText, fileId, startText, endText] = rest;
    if (!kindWord || !access || !pidText || !fileId || !startText || !endText) continue;
    const fileParts = fileId.split(":");
    if (fileParts.length !== 3) continue;
    const pid = Number.parseInt(pidText, 10);
    if (!commands.has(pid)) commands.set(pid, commandOf(pid));
    locks.push({
      id,
      blocked,
      kind: KINDS[kindWord] ?? "other",
      mode: access === "WRITE" ? "exclusive" : "shared",
      pid,
      command: commands.get(pid) ?? null,
      device: `${fileParts[0]}:${fileParts[1]}`,
      inode: Number(fileParts[2]),
      start: Number(startText),
      end: endText === "EOF" ? null : Number(endText),
      line: line.trim(),
    });
  }
  return locks;
}

/** The lines of /proc/locks about the file at `path` (held locks and blocked requests). */
export function locksOn(path: string, text?: string): ProcLock[] {
  const st = fs.statSync(path, { bigint: true });
  const device = deviceName(st.dev);
  return readProcLocks(text).filter((l) => l.inode === Number(st.ino) && l.device === device);
}

/** A process blocked in a lock call, as /proc/PID/task/TID/syscall shows it. */
export interface BlockedLockCall {
  pid: number;
  tid: number;
  command: string | null;
  call: "flock" | "fcntl";
  /** The descriptor it waits on, and the file behind it. */
  fd: number;
  device: string;
  inode: number;
  /** For fcntl the command (F_SETLKW or F_OFD_SETLKW); for flock the operation (LOCK_EX, …). */
  operation: number;
}

/**
 * The threads that are blocked in flock(2) or fcntl(F_SETLKW /
 * F_OFD_SETLKW) right now, found through /proc/*\/task/*\/syscall. This
 * names the waiters that /proc/locks shows only as pid -1 (the
 * open-file-description locks). Processes of other users are skipped
 * unless we are root.
 */
export function blockedLockCalls(): BlockedLockCall[] {
  const found: BlockedLockCall[] = [];
  for (const pidText of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pidText)) continue;
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${pidText}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let words: string[];
      try {
        words = fs.readFileSync(`/proc/${pidText}/task/${tid}/syscall`, "utf8").trim().split(/\s+/);
      } catch {
        continue;
      }
      const nr = Number(words[0]);
      const fd = Number(words[1]);
      const cmd = Number(words[2]);
      const isFlock = nr === SYS.flock;
      const isFcntl = nr === SYS.fcntl && (cmd === F.SETLKW || cmd === F.OFD_SETLKW);
      if (!isFlock && !isFcntl) continue;
      try {
        const st = fs.statSync(`/proc/${pidText}/fd/${fd}`, { bigint: true });
        const pid = Number(pidText);
        found.push({
          pid,
          tid: Number(tid),
          command: commandOf(pid),
          call: isFlock ? "flock" : "fcntl",
          fd,
          device: deviceName(st.dev),
          inode: Number(st.ino),
          operation: cmd,
        });
      } catch {
        // it got its lock (or ended) while we looked
      }
    }
  }
  return found;
}

/**
 * The processes that have an open-file-description lock open: /proc/locks
 * writes pid -1 for them, but /proc/PID/fdinfo/FD lists the locks held
 * through each descriptor. Returns the pids whose descriptors carry a lock
 * matching `lock` (same file, range and mode).
 */
export function ofdHolders(lock: Pick<ProcLock, "device" | "inode" | "start" | "end" | "mode">): number[] {
  const pids = new Set<number>();
  const end = lock.end === null ? "EOF" : String(lock.end);
  const access = lock.mode === "exclusive" ? "WRITE" : "READ";
  const needle = new RegExp(`OFDLCK\\s+\\S+\\s+${access}\\s+-1\\s+${lock.device}:${lock.inode}\\s+${lock.start}\\s+${end}\\b`);
  for (const pidText of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pidText)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pidText}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const info = fs.readFileSync(`/proc/${pidText}/fdinfo/${fd}`, "utf8");
        if (info.includes("OFDLCK") && needle.test(info)) pids.add(Number(pidText));
      } catch {
        // closed while we looked
      }
    }
  }
  return [...pids].sort((a, b) => a - b);
}
