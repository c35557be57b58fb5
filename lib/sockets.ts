/**
 * Unix domain sockets.
 *
 * - `UnixSocket`: a socket of the AF_UNIX family made with socket(2) and
 *   friends through FFI: stream, datagram and sequenced-packet sockets,
 *   socketpair(2), file-system and abstract addresses, descriptors passed
 *   with SCM_RIGHTS, the peer's credentials from SO_PEERCRED. A connected
 *   or datagram socket blocks, as in C, so that a send or receive with no
 *   timeout is one system call that sleeps in the kernel. Every attempt
 *   that must not sleep passes MSG_DONTWAIT: with a timeout, the plain
 *   methods then wait with poll(2) (blocking the event loop, at most for
 *   their timeout); the `…Async` methods wait by polling from a timer, so
 *   the event loop keeps running. A listening socket is non-blocking
 *   (accept has no such flag) and waits the same way.
 * - `listenUnix()` / `connectUnix()`: Bun's own `Bun.listen` and
 *   `Bun.connect` on a Unix socket, with the checks and the clean-up this
 *   module adds (path length, socket-file mode, stale socket files), for
 *   stream servers that need nothing more.
 * - `adoptStream()`: hands a connected stream `UnixSocket` to Bun's event
 *   loop, for example after checking the peer's credentials.
 * - `frame()` and `FrameReader`: length-prefixed messages on a stream.
 * - `unixSocketTable()`: the kernel's list of Unix sockets, /proc/net/unix.
 *
 *   using server = UnixSocket.listen("/tmp/app.sock");
 *   using client = UnixSocket.connect("/tmp/app.sock");
 *   using peer = server.accept();
 *   client.sendFrame("hello");
 *   peer.receiveFrame();                 // <Buffer 68 65 6c 6c 6f>
 *   peer.peerCredentials();              // { pid, uid, gid } of the client
 */
import fs from "node:fs";
import { ptr, type Pointer } from "bun:ffi";
import { AF, layout, getField, MSGF, POLL, SCM, setField, SHUT, SO, SOCK, SOL } from "./ffi/constants.ts";
import { ERRNO } from "./ffi/errno.ts";
import { errno, sys } from "./ffi/libc.ts";
import { closed, errorFor, invalid, ipcError, lastError, type Hints, type IpcError } from "./errors.ts";
import { count, fileMode } from "./validate.ts";
import { OpenFile, stillAt } from "./locks.ts";
import { setNonBlocking } from "./descriptors.ts";

/** The three kinds of Unix socket. */
export type SocketType = "stream" | "datagram" | "seqpacket";

/** A Unix socket address: a path in the file system, or a name in the abstract namespace. */
export type UnixAddress = string | { abstract: string };

/** The address `{ abstract: name }`: a socket name with no file, in the abstract namespace. */
export function abstractAddress(name: string): { abstract: string } {
  return { abstract: name };
}

/** A peer's credentials as the kernel recorded them at connect time (SO_PEERCRED). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** What `receive()` got. */
export interface SocketMessage {
  /** The bytes (for a datagram or sequenced packet, one whole message). */
  data: Buffer;
  /** Descriptors that came with it (SCM_RIGHTS); they are yours to close. */
  descriptors: number[];
  /** The sender's address, for datagrams from a bound socket; null otherwise. */
  from: UnixAddress | null;
  /** The message was longer than `maxBytes`, and the rest is lost (datagram, seqpacket). */
  truncated: boolean;
  /** More descriptors came than `maxDescriptors` allowed; the kernel closed the rest. */
  descriptorsTruncated: boolean;
  /** A stream's end: the peer has closed (or shut down writing). */
  eof: boolean;
}

/** Options of the methods that may wait. Seconds: undefined forever, 0 not at all. */
export interface SocketWaitOptions {
  timeout?: number;
}

/** Options of `receive()`. */
export interface SocketReceiveOptions extends SocketWaitOptions {
  /** The largest message to take (default 65536 bytes). */
  maxBytes?: number;
  /** How many descriptors to accept with it (default 16). */
  maxDescriptors?: number;
}

/** Options of `send()`. */
export interface SocketSendOptions extends SocketWaitOptions {
  /** Open descriptors to pass along (SCM_RIGHTS); the receiver gets its own copies. */
  descriptors?: number[];
  /** For a datagram socket that is not connected: where to send. */
  to?: UnixAddress;
}

/** Options of `UnixSocket.listen()` and `UnixSocket.bind()`. */
export interface BindOptions {
  /** Default "stream" for listen, "datagram" for bind. */
  type?: SocketType;
  /** Permission bits of the socket file; default 0o600 (connecting needs write permission). */
  mode?: number;
  /** If a socket file is at the path but nobody listens, remove it first (default true). */
  removeStale?: boolean;
  /** How many connections may wait to be accepted (listen only; default 128). */
  backlog?: number;
}

const TYPE_CODE: Record<SocketType, number> = { stream: SOCK.STREAM, datagram: SOCK.DGRAM, seqpacket: SOCK.SEQPACKET };

/** sun_path is 108 bytes: a path of at most 107 bytes and its NUL, or a NUL and an abstract name of 107. */
export const SUN_PATH_BYTES = layout.sockaddr_un.fields.sun_path.length ?? 108;

const CONNECT_HINTS: Hints = {
  ENOENT: "there is no socket file at this path: is the server running, and was it started with the same path?",
  ECONNREFUSED:
    "the socket file exists but no process is listening on it: a server that died left it behind (a stale socket file), or it has not called listen() yet",
  EACCES: "your user may not connect: connecting needs write permission on the socket file, and search permission on its folders",
  EPROTOTYPE: "the socket at this address is of another type (stream, datagram, seqpacket) than this one",
  EAGAIN: "the server's queue of connections waiting to be accepted (its backlog) is full; try again",
  ENOTSOCK: "the file at this path is not a socket",
};

const BIND_HINTS: Hints = {
  EADDRINUSE: "something is at this path already: a live server, or another file; remove it or choose another path",
  ENOENT: "a folder in the path does not exist",
  EACCES: "your user may not create files in the socket's folder",
};

const IO_HINTS: Hints = {
  EPIPE: "the peer has closed its end; nothing more can be sent",
  ECONNRESET: "the peer closed the connection while data was still unread",
  ENOTCONN: "the socket is not connected",
  EMSGSIZE: "the message is larger than the socket can send in one piece (see SO_SNDBUF)",
  ETOOMANYREFS: "too many descriptors are in flight (passed but not yet received)",
  EDESTADDRREQ: "an unconnected datagram socket needs a `to` address",
};

// ---------------------------------------------------------------------------
// Addresses

/** Validates an address and builds its struct sockaddr_un; throws before any system call. */
function sockaddr(address: UnixAddress, call: string): { buffer: Buffer; length: number; label: string } {
  const buffer = Buffer.alloc(layout.sockaddr_un.size);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  setField(view, layout.sockaddr_un.fields.sun_family, AF.UNIX);
  const at = layout.sockaddr_un.fields.sun_path.offset;
  if (typeof address === "object" && address !== null && typeof address.abstract === "string") {
    const name = Buffer.from(address.abstract, "utf8");
    if (name.length === 0) throw invalid(call, "@", "an abstract socket name cannot be empty", 'give a name, such as { abstract: "myapp" }');
    if (name.length > SUN_PATH_BYTES - 1) {
      throw invalid(call, `@${address.abstract}`, `an abstract name is at most ${SUN_PATH_BYTES - 1} bytes (sun_path holds ${SUN_PATH_BYTES}, one for the leading NUL); this one is ${name.length}`);
    }
    name.copy(buffer, at + 1); // sun_path[0] = '\0', then the name, not terminated
    return { buffer, length: at + 1 + name.length, label: `@${address.abstract}` };
  }
  if (typeof address !== "string") throw new TypeError(`${call}: the address must be a path or { abstract: name }`);
  if (address.length === 0) throw invalid(call, address, "the socket path is empty");
  if (address.includes("\0")) {
    throw invalid(call, address, "the path contains a NUL character", "for the abstract namespace, pass { abstract: name } instead of a leading NUL");
  }
  const bytes = Buffer.from(address, "utf8");
  if (bytes.length > SUN_PATH_BYTES - 1) {
    throw invalid(
      call,
      address,
      `a socket path is at most ${SUN_PATH_BYTES - 1} bytes (sun_path holds ${SUN_PATH_BYTES} with the closing NUL); this one is ${bytes.length}`,
      "use a shorter folder (or a relative path), or the abstract namespace",
    );
  }
  bytes.copy(buffer, at);
  return { buffer, length: at + bytes.length + 1, label: address };
}

/** The address in a struct sockaddr_un of `length` bytes, or null for an unnamed socket. */
function parseSockaddr(buffer: Buffer, length: number): UnixAddress | null {
  const at = layout.sockaddr_un.fields.sun_path.offset;
  if (length <= at) return null;
  if (buffer[at] === 0) return { abstract: buffer.subarray(at + 1, length).toString("utf8") };
  const end = buffer.indexOf(0, at);
  return buffer.subarray(at, end === -1 || end > length ? length : end).toString("utf8");
}

/** "/tmp/app.sock" or "@name", for messages. */
export function addressLabel(address: UnixAddress): string {
  return typeof address === "string" ? address : `@${address.abstract}`;
}

// ---------------------------------------------------------------------------
// Waiting for a descriptor: poll(2), now or from a timer

function checkSeconds(timeout: unknown, call: string): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0 || !Number.isFinite(timeout)) {
    throw new RangeError(`${call}: timeout must be 0 or more seconds (leave it out to wait forever), got ${String(timeout)}`);
  }
  return timeout;
}

/** The struct pollfd of pollOne: one for the module, as a call is synchronous and over before the next. */
const pollScratch = new DataView(new ArrayBuffer(layout.pollfd.size));
const pollScratchPtr = ptr(pollScratch.buffer);

/** poll(2) on one descriptor for up to `ms` (-1: forever). Returns revents, 0 on timeout. */
function pollOne(fd: number, events: number, ms: number): number {
  const pollfd = pollScratch;
  setField(pollfd, layout.pollfd.fields.fd, fd);
  setField(pollfd, layout.pollfd.fields.events, events);
  setField(pollfd, layout.pollfd.fields.revents, 0);
  for (;;) {
    const n = sys.poll(pollScratchPtr, 1, ms);
    if (n >= 0) return n === 0 ? 0 : getField(pollfd, layout.pollfd.fields.revents);
    if (errno() !== ERRNO.EINTR) throw lastError("poll", `fd ${fd}`);
  }
}

interface Waiter {
  fd: number;
  events: number;
  deadline: number;
  resolve: (ready: boolean) => void;
}

const waiters = new Set<Waiter>();
let ticking: ReturnType<typeof setTimeout> | null = null;
let idleDelay = 1;

/** One round of the shared poller: a single poll(2) over every waiting descriptor. */
function tick(): void {
  ticking = null;
  const list = [...waiters];
  if (list.length === 0) return;
  const size = layout.pollfd.size;
  const table = new DataView(new ArrayBuffer(size * list.length));
  list.forEach((w, i) => {
    table.setInt32(i * size + layout.pollfd.fields.fd.offset, w.fd, true);
    table.setInt16(i * size + layout.pollfd.fields.events.offset, w.events, true);
  });
  const n = sys.poll(ptr(table.buffer), list.length, 0);
  const now = performance.now();
  let progress = false;
  list.forEach((w, i) => {
    const revents = n > 0 ? table.getInt16(i * size + layout.pollfd.fields.revents.offset, true) : 0;
    if (revents !== 0) {
      waiters.delete(w);
      progress = true;
      w.resolve(true);
    } else if (now >= w.deadline) {
      waiters.delete(w);
      w.resolve(false);
    }
  });
  idleDelay = progress ? 1 : Math.min(idleDelay * 2, 16);
  schedule();
}

function schedule(): void {
  if (ticking === null && waiters.size > 0) ticking = setTimeout(tick, idleDelay);
}

/**
 * Resolves true when `fd` is ready for `events` (or has an error or a
 * hang-up), false after `timeout` seconds. The event loop keeps running.
 */
function whenReady(fd: number, events: number, timeout: number | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    idleDelay = 1;
    waiters.add({ fd, events, deadline: timeout === undefined ? Infinity : performance.now() + timeout * 1000, resolve });
    schedule();
  });
}

function timedOut(call: string, object: string, timeout: number): IpcError {
  return ipcError({
    errno: ERRNO.ETIMEDOUT,
    call,
    object,
    message: `nothing happened within ${timeout} s`,
    hint: "the peer has not sent, connected or read in time",
  });
}

/**
 * Runs a non-blocking `attempt` until it stops saying EAGAIN, waiting for
 * `events` in between (synchronously). `pollFirst`: wait before the first
 * attempt too, when the caller expects nothing to be there yet (a reply in
 * a ping-pong): poll, then one attempt, is two system calls where an
 * attempt that fails, poll and a second attempt are three.
 */
function retrySync<T>(
  attempt: () => T | "again",
  fd: number,
  events: number,
  timeout: number | undefined,
  call: string,
  object: string,
  pollFirst = false,
): T {
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout * 1000;
  if (pollFirst && timeout !== 0) pollOne(fd, events, timeout === undefined ? -1 : Math.max(1, Math.ceil(timeout * 1000)));
  for (;;) {
    const result = attempt();
    if (result !== "again") return result;
    const left = deadline - performance.now();
    if (left <= 0) throw timedOut(call, object, timeout!);
    pollOne(fd, events, left === Infinity ? -1 : Math.max(1, Math.ceil(left)));
  }
}

/** retrySync, but waiting through the shared poller so that the event loop keeps running. */
async function retryAsync<T>(attempt: () => T | "again", fd: () => number, events: number, timeout: number | undefined, call: string, object: string): Promise<T> {
  const deadline = timeout === undefined ? Infinity : performance.now() + timeout * 1000;
  for (;;) {
    const result = attempt();
    if (result !== "again") return result;
    const left = deadline - performance.now();
    if (left <= 0) throw timedOut(call, object, timeout!);
    await whenReady(fd(), events, left === Infinity ? undefined : left / 1000);
  }
}

// ---------------------------------------------------------------------------
// Control messages (SCM_RIGHTS)

/** CMSG_ALIGN: control messages are aligned to the size of a size_t (8 bytes on 64-bit Linux). */
function cmsgAlign(n: number): number {
  return (n + 7) & ~7;
}

/** CMSG_SPACE(n): the room one control message with n bytes of data takes. */
function cmsgSpace(n: number): number {
  return cmsgAlign(layout.cmsghdr.size) + cmsgAlign(n);
}

/** CMSG_LEN(n): the cmsg_len of a control message with n bytes of data. */
function cmsgLen(n: number): number {
  return cmsgAlign(layout.cmsghdr.size) + n;
}

/** A control buffer carrying `descriptors` as one SCM_RIGHTS message. */
function rightsMessage(descriptors: number[]): Buffer {
  const buffer = Buffer.alloc(cmsgSpace(4 * descriptors.length));
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const f = layout.cmsghdr.fields;
  setField(view, f.cmsg_len, cmsgLen(4 * descriptors.length));
  setField(view, f.cmsg_level, SOL.SOCKET);
  setField(view, f.cmsg_type, SCM.RIGHTS);
  descriptors.forEach((fd, i) => view.setInt32(cmsgAlign(layout.cmsghdr.size) + 4 * i, fd, true));
  return buffer;
}

/** The descriptors in the SCM_RIGHTS messages of a received control buffer. */
function receivedDescriptors(control: Buffer, length: number): number[] {
  const view = new DataView(control.buffer, control.byteOffset, control.byteLength);
  const f = layout.cmsghdr.fields;
  const found: number[] = [];
  let at = 0;
  while (at + layout.cmsghdr.size <= length) {
    const len = Number(view.getBigUint64(at + f.cmsg_len.offset, true));
    if (len < layout.cmsghdr.size) break;
    const level = view.getInt32(at + f.cmsg_level.offset, true);
    const type = view.getInt32(at + f.cmsg_type.offset, true);
    if (level === SOL.SOCKET && type === SCM.RIGHTS) {
      const data = at + cmsgAlign(layout.cmsghdr.size);
      for (let p = data; p + 4 <= at + len; p += 4) found.push(view.getInt32(p, true));
    }
    at += cmsgAlign(len);
  }
  return found;
}

/**
 * The struct msghdr and struct iovec that every sendmsg and recvmsg of this
 * module fills in: one pair for the module (each Worker has its own), as
 * a call is synchronous and its results are read before the next one.
 */
const msgScratch = (() => {
  const iovec = new DataView(new ArrayBuffer(layout.iovec.size));
  const header = new DataView(new ArrayBuffer(layout.msghdr.size));
  setField(header, layout.msghdr.fields.msg_iov, BigInt(ptr(iovec.buffer)));
  setField(header, layout.msghdr.fields.msg_iovlen, 1);
  return { iovec, header, headerPtr: ptr(header.buffer) };
})();

/** The shared struct msghdr, pointed at the given buffers (which must stay alive during the call); returns its address. */
function msghdr(options: { name?: Buffer; nameLength?: number; data: Uint8Array; dataLength?: number; control?: Buffer; controlLength?: number }): Pointer {
  const { iovec, header } = msgScratch;
  const dataLength = options.dataLength ?? options.data.length;
  setField(iovec, layout.iovec.fields.iov_base, dataLength === 0 ? 0 : BigInt(ptr(options.data)));
  setField(iovec, layout.iovec.fields.iov_len, dataLength);
  const f = layout.msghdr.fields;
  const controlLength = options.control ? (options.controlLength ?? options.control.length) : 0;
  setField(header, f.msg_name, options.name ? BigInt(ptr(options.name)) : 0);
  setField(header, f.msg_namelen, options.name ? (options.nameLength ?? options.name.length) : 0);
  setField(header, f.msg_control, controlLength > 0 ? BigInt(ptr(options.control!)) : 0);
  setField(header, f.msg_controllen, controlLength);
  setField(header, f.msg_flags, 0);
  return msgScratch.headerPtr;
}

/** After a run of receives that had to wait, every how many a receive tries before it polls (see UnixSocket.receive). */
const RECEIVE_PROBE = 16;

/** The largest receive that goes through the shared buffer; a larger maxBytes gets a buffer of its own. */
const SHARED_RECEIVE_BYTES = 1 << 20;

/**
 * What recvmsg writes into, shared by every receive of this module: the
 * data (grown on demand up to SHARED_RECEIVE_BYTES), room for the most
 * descriptors a message can carry, and an address. A receive copies out
 * only the bytes that arrived, instead of allocating 64 KiB and more per call.
 */
const receiveScratch = {
  data: Buffer.alloc(65536),
  control: Buffer.alloc(cmsgSpace(4 * 253)),
  name: Buffer.alloc(layout.sockaddr_un.size),
};

/** The buffer to receive up to `maxBytes` into: the shared one, or (for a huge maxBytes) a new one. */
function receiveBuffer(maxBytes: number): { buffer: Buffer; shared: boolean } {
  if (maxBytes > SHARED_RECEIVE_BYTES) return { buffer: Buffer.alloc(maxBytes), shared: false };
  if (receiveScratch.data.length < maxBytes) {
    let size = receiveScratch.data.length;
    while (size < maxBytes) size *= 2;
    receiveScratch.data = Buffer.alloc(size);
  }
  return { buffer: receiveScratch.data, shared: true };
}

// ---------------------------------------------------------------------------
// Framing

/** The length prefix of a frame: 4 bytes, big-endian (network order), as PostgreSQL and many others use. */
export const FRAME_HEADER_BYTES = 4;

/** `payload` with its length in front: one message on a byte stream. */
export function frame(payload: Uint8Array | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  if (body.length > 0xffffffff) throw new RangeError(`frame: a payload of ${body.length} bytes does not fit a 32-bit length`);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

/**
 * Cuts a byte stream back into the frames `frame()` made. A stream keeps
 * no message boundaries: one read may hold half a frame or three of them.
 * `push()` each chunk as it arrives; it returns the frames completed.
 */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** `maxFrame`: the largest payload to accept; a longer length is an error, not an allocation. */
  constructor(readonly maxFrame = 16 * 1024 * 1024) {}

  /** Adds a chunk; returns the frames it completes, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const frames: Buffer[] = [];
    while (this.#pending.length >= FRAME_HEADER_BYTES) {
      const length = this.#pending.readUInt32BE(0);
      if (length > this.maxFrame) {
        throw new RangeError(`FrameReader: a frame announces ${length} bytes, more than the ${this.maxFrame} allowed (a corrupt or hostile stream?)`);
      }
      if (this.#pending.length < FRAME_HEADER_BYTES + length) break;
      frames.push(this.#pending.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
      this.#pending = this.#pending.subarray(FRAME_HEADER_BYTES + length);
    }
    return frames;
  }

  /** Bytes received that do not make a whole frame yet. */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

// ---------------------------------------------------------------------------
// UnixSocket

/** A send, checked and prepared. */
interface SendPlan {
  bytes: Buffer;
  control: Buffer | undefined;
  to: ReturnType<typeof sockaddr> | undefined;
  timeout: number | undefined;
}

/** A receive, checked. */
interface ReceivePlan {
  maxBytes: number;
  maxDescriptors: number;
  timeout: number | undefined;
}

/** Makes a close-on-exec socket; a blocking one unless `nonBlocking` (for listening and connecting). */
function newSocket(type: SocketType, call: string, nonBlocking = false): number {
  const code = TYPE_CODE[type];
  if (code === undefined) throw new TypeError(`${call}: the type must be "stream", "datagram" or "seqpacket", got ${JSON.stringify(type)}`);
  const fd = sys.socket(AF.UNIX, code | (nonBlocking ? SOCK.NONBLOCK : 0) | SOCK.CLOEXEC, 0);
  if (fd === -1) throw lastError("socket", `AF_UNIX ${type}`);
  return fd;
}


/** Whether someone accepts connections at `path` (a live server), for the stale-file check. */
function someoneListens(address: ReturnType<typeof sockaddr>, type: SocketType): boolean {
  const probe = newSocket(type, "connect", true);
  try {
    if (sys.connect(probe, ptr(address.buffer), address.length) === 0) return true;
    const e = errno();
    return e === ERRNO.EAGAIN || e === ERRNO.EINPROGRESS; // alive, only busy
  } finally {
    sys.close(probe);
  }
}

/**
 * Binds `fd` to `address`, with the file's mode set at creation (by the
 * umask) and a stale socket file removed first if asked. The check for a
 * stale file and the removal happen under a flock on PATH.bind-lock, so that
 * two servers starting at once cannot remove each other's new socket.
 */
function bindTo(fd: number, address: ReturnType<typeof sockaddr>, raw: UnixAddress, type: SocketType, options: BindOptions): void {
  const mode = fileMode(options.mode ?? 0o600, "bind", 0o777);
  const bindOnce = () => {
    const old = process.umask(~mode & 0o777);
    try {
      return sys.bind(fd, ptr(address.buffer), address.length) === 0 ? 0 : errno();
    } finally {
      process.umask(old);
    }
  };
  if (typeof raw !== "string" || options.removeStale === false) {
    const result = bindOnce();
    if (result !== 0) throw errorFor(result, "bind", address.label, BIND_HINTS);
    return;
  }
  withStartupLock(raw, () => {
    let result = bindOnce();
    if (result === ERRNO.EADDRINUSE) {
      let isSocket = false;
      try {
        isSocket = fs.lstatSync(raw).isSocket();
      } catch {
        // gone meanwhile: try again below
      }
      if (isSocket && someoneListens(address, type)) {
        throw ipcError({
          errno: ERRNO.EADDRINUSE,
          call: "bind",
          object: raw,
          message: "a server is listening on this socket already",
          hint: "stop that server first, or choose another path",
        });
      }
      if (isSocket) fs.rmSync(raw, { force: true }); // stale: nobody listens
      result = bindOnce();
    }
    if (result !== 0) throw errorFor(result, "bind", address.label, BIND_HINTS);
  });
}

/**
 * Runs `fn` holding an exclusive flock on PATH.bind-lock, then removes
 * that file. (Not PATH.lock: servers often keep a lock file of their own
 * under that name, as PostgreSQL does.)
 */
function withStartupLock(path: string, fn: () => void): void {
  const lockPath = `${path}.bind-lock`;
  for (;;) {
    const lock = new OpenFile(lockPath, { create: true, mode: 0o600, noFollow: true });
    try {
      lock.flock("exclusive", { timeout: 10 }); // held only around a bind elsewhere: never for long
      if (!stillAt(lock.fd, lockPath)) continue; // removed by the one before us: take a fresh one
      try {
        fn();
      } finally {
        fs.rmSync(lockPath, { force: true });
      }
      return;
    } finally {
      lock.close();
    }
  }
}

/** A Unix domain socket. */
export class UnixSocket implements Disposable {
  /** Stream, datagram or sequenced packets. */
  readonly type: SocketType;
  /** The address this socket is bound to, or null. */
  readonly address: UnixAddress | null;
  /** Whether closing removes the socket file (a socket this object bound to a path). */
  readonly ownsFile: boolean;
  #fd: number;
  /**
   * How many synchronous receives in a row found nothing there yet and
   * waited: while it is above 0 a receive polls before it tries, except
   * every RECEIVE_PROBE-th, which tries first to see whether data now
   * comes faster than it is read.
   */
  #receiveWaits = 0;
  #frames: FrameReader | null = null;
  #queued: Buffer[] = [];

  private constructor(fd: number, type: SocketType, address: UnixAddress | null, ownsFile: boolean) {
    this.#fd = fd;
    this.type = type;
    this.address = address;
    this.ownsFile = ownsFile;
  }

  /**
   * A listening socket (stream or seqpacket) at `address`: socket, bind,
   * listen. A stale socket file at the path (nobody listens) is removed
   * first; a live server there is an error. The file gets `mode` (default
   * 0o600) and is removed again by close().
   */
  static listen(address: UnixAddress, options: BindOptions = {}): UnixSocket {
    const type = options.type ?? "stream";
    if (type === "datagram") throw new TypeError("listen: datagram sockets do not listen; use UnixSocket.bind()");
    const backlog = count(options.backlog ?? 128, "listen: backlog", 65535, 1);
    const addr = sockaddr(address, "bind");
    const fd = newSocket(type, "listen", true);
    try {
      bindTo(fd, addr, address, type, options);
      if (sys.listen(fd, backlog) === -1) throw lastError("listen", addr.label);
    } catch (error) {
      sys.close(fd);
      throw error;
    }
    return new UnixSocket(fd, type, address, typeof address === "string");
  }

  /** A datagram socket bound to `address`, to receive messages sent there. */
  static bind(address: UnixAddress, options: BindOptions = {}): UnixSocket {
    const type = options.type ?? "datagram";
    if (type !== "datagram") throw new TypeError("bind: use UnixSocket.listen() for stream and seqpacket sockets");
    const addr = sockaddr(address, "bind");
    const fd = newSocket(type, "bind");
    try {
      bindTo(fd, addr, address, type, options);
    } catch (error) {
      sys.close(fd);
      throw error;
    }
    return new UnixSocket(fd, type, address, typeof address === "string");
  }

  /** A datagram socket with no address: it can send with `to`, but nobody can reply to it. */
  static datagram(): UnixSocket {
    return new UnixSocket(newSocket("datagram", "datagram"), "datagram", null, false);
  }

  /**
   * Connects to the socket at `address` (for a datagram socket: sets its
   * default destination). Fails with NotFoundError (ENOENT) when there is
   * no socket file, and ECONNREFUSED when nobody listens on it.
   */
  static connect(address: UnixAddress, options: { type?: SocketType } & SocketWaitOptions = {}): UnixSocket {
    const type = options.type ?? "stream";
    const addr = sockaddr(address, "connect");
    const timeout = checkSeconds(options.timeout, "connect");
    const fd = newSocket(type, "connect", true);
    try {
      // A Unix connect completes at once, or fails with EAGAIN while the server's backlog is full.
      retrySync(
        () => {
          if (sys.connect(fd, ptr(addr.buffer), addr.length) === 0) return true;
          const e = errno();
          if (e === ERRNO.EAGAIN) return "again";
          throw errorFor(e, "connect", addr.label, CONNECT_HINTS);
        },
        fd,
        POLL.OUT,
        timeout,
        "connect",
        addr.label,
      );
      setNonBlocking(fd, false, addr.label); // connected: from now on it blocks, as in C
    } catch (error) {
      sys.close(fd);
      throw error;
    }
    return new UnixSocket(fd, type, null, false);
  }

  /** Two connected sockets (socketpair(2)): for a parent and the child it starts, or two threads. */
  static pair(type: SocketType = "stream"): [UnixSocket, UnixSocket] {
    const code = TYPE_CODE[type];
    if (code === undefined) throw new TypeError(`socketpair: the type must be "stream", "datagram" or "seqpacket", got ${JSON.stringify(type)}`);
    const fds = new Int32Array(2);
    if (sys.socketpair(AF.UNIX, code | SOCK.CLOEXEC, 0, ptr(fds)) === -1) throw lastError("socketpair", `AF_UNIX ${type}`);
    return [new UnixSocket(fds[0]!, type, null, false), new UnixSocket(fds[1]!, type, null, false)];
  }

  /**
   * Wraps a socket descriptor this process received (from a parent, or
   * through SCM_RIGHTS), as it is: its open file description may be
   * shared with another process, whose O_NONBLOCK this leaves alone (a
   * wait on a non-blocking one polls). Only a listening socket is made
   * non-blocking, as accept needs. Closing the object closes it.
   */
  static fromDescriptor(fd: number, type?: SocketType): UnixSocket {
    count(fd, "UnixSocket.fromDescriptor: fd", 2 ** 31 - 1);
    const actual = getIntOption(fd, SO.TYPE, "getsockopt(SO_TYPE)");
    const kind = (Object.keys(TYPE_CODE) as SocketType[]).find((k) => TYPE_CODE[k] === actual);
    if (kind === undefined) throw new TypeError(`fd ${fd} is a socket of type ${actual}, not a Unix stream, datagram or seqpacket socket`);
    if (type !== undefined && type !== kind) throw new TypeError(`fd ${fd} is a ${kind} socket, not a ${type} one`);
    if (getIntOption(fd, SO.ACCEPTCONN, "getsockopt(SO_ACCEPTCONN)") !== 0) setNonBlocking(fd, true, `fd ${fd}`);
    return new UnixSocket(fd, kind, null, false);
  }

  /** The descriptor; throws once closed. */
  get fd(): number {
    if (this.#fd === -1) throw closed("fd", this.#label());
    return this.#fd;
  }

  /** Whether close() has been called (or the descriptor was handed to Bun). */
  get closed(): boolean {
    return this.#fd === -1;
  }

  /** The address the socket is bound to, as the kernel says (getsockname). */
  localAddress(): UnixAddress | null {
    const buffer = Buffer.alloc(layout.sockaddr_un.size);
    const length = new Uint32Array([buffer.length]);
    if (sys.getsockname(this.fd, ptr(buffer), ptr(length)) === -1) throw lastError("getsockname", this.#label());
    return parseSockaddr(buffer, length[0]!);
  }

  /** Accepts one connection (waiting with poll, up to `timeout` seconds). */
  accept(options: SocketWaitOptions = {}): UnixSocket {
    const timeout = checkSeconds(options.timeout, "accept");
    return retrySync(() => this.#acceptOnce(), this.fd, POLL.IN, timeout, "accept", this.#label());
  }

  /** accept() that waits without blocking the event loop. */
  acceptAsync(options: SocketWaitOptions = {}): Promise<UnixSocket> {
    const timeout = checkSeconds(options.timeout, "acceptAsync");
    return retryAsync(() => this.#acceptOnce(), () => this.fd, POLL.IN, timeout, "accept", this.#label());
  }

  /**
   * Sends `data`, with `descriptors` if given (SCM_RIGHTS). On a stream
   * all of it is sent (the descriptors ride with the first byte); a
   * datagram or packet goes as one message. Returns the bytes sent.
   */
  send(data: Uint8Array | string, options: SocketSendOptions = {}): number {
    const plan = this.#sendPlan(data, options, "send");
    let sent = 0;
    do {
      // With no timeout, sleep in sendmsg itself: one system call, as in C.
      sent += retrySync(() => this.#sendOnce(plan, sent, plan.timeout === undefined), this.fd, POLL.OUT, plan.timeout, "sendmsg", this.#label());
    } while (this.type === "stream" && sent < plan.bytes.length);
    return sent;
  }

  /** send() that waits without blocking the event loop. */
  async sendAsync(data: Uint8Array | string, options: SocketSendOptions = {}): Promise<number> {
    const plan = this.#sendPlan(data, options, "sendAsync");
    let sent = 0;
    do {
      sent += await retryAsync(() => this.#sendOnce(plan, sent, false), () => this.fd, POLL.OUT, plan.timeout, "sendmsg", this.#label());
    } while (this.type === "stream" && sent < plan.bytes.length);
    return sent;
  }

  /**
   * Receives what has arrived: on a stream, whatever bytes are there (up
   * to `maxBytes`); on a datagram or seqpacket socket, one message. Waits
   * up to `timeout` seconds if nothing is there yet (undefined: for ever).
   */
  receive(options: SocketReceiveOptions = {}): SocketMessage {
    const plan = this.#receivePlan(options, "receive");
    if (plan.timeout === undefined) {
      // Sleep in recvmsg itself: one system call per message, as in C.
      for (;;) {
        const message = this.#receiveOnce(plan, true);
        if (message !== "again") return message;
        pollOne(this.fd, POLL.IN, -1); // a signal interrupted it, or the descriptor came non-blocking
      }
    }
    // Learn from the last receive: if it had to wait (a reply in a ping-pong), wait first now, as
    // poll + recvmsg costs two system calls where a failed recvmsg, poll and recvmsg cost three.
    const pollFirst = this.#receiveWaits > 0 && this.#receiveWaits % RECEIVE_PROBE !== 0;
    let waited = pollFirst;
    const message = retrySync(
      () => {
        const result = this.#receiveOnce(plan, false);
        if (result === "again") waited = true;
        return result;
      },
      this.fd,
      POLL.IN,
      plan.timeout,
      "recvmsg",
      this.#label(),
      pollFirst,
    );
    this.#receiveWaits = waited ? this.#receiveWaits + 1 : 0;
    return message;
  }

  /** receive() that waits without blocking the event loop. */
  receiveAsync(options: SocketReceiveOptions = {}): Promise<SocketMessage> {
    const plan = this.#receivePlan(options, "receiveAsync");
    return retryAsync(() => this.#receiveOnce(plan, false), () => this.fd, POLL.IN, plan.timeout, "recvmsg", this.#label());
  }

  /** Sends `payload` as one length-prefixed frame (on a stream). */
  sendFrame(payload: Uint8Array | string, options: SocketSendOptions = {}): void {
    this.send(frame(payload), options);
  }

  /** sendFrame() that waits without blocking the event loop. */
  async sendFrameAsync(payload: Uint8Array | string, options: SocketSendOptions = {}): Promise<void> {
    await this.sendAsync(frame(payload), options);
  }

  /** The next whole frame from the stream, or null at the end of the stream. */
  receiveFrame(options: SocketWaitOptions = {}): Buffer | null {
    const timeout = checkSeconds(options.timeout, "receiveFrame");
    const deadline = timeout === undefined ? undefined : performance.now() + timeout * 1000;
    for (;;) {
      const ready = this.#queued.shift();
      if (ready !== undefined) return ready;
      const left = deadline === undefined ? undefined : Math.max(0, (deadline - performance.now()) / 1000);
      const message = this.receive({ timeout: left });
      if (message.eof) return this.#endOfFrames();
      this.#queued.push(...this.#reader().push(message.data));
    }
  }

  /** receiveFrame() that waits without blocking the event loop. */
  async receiveFrameAsync(options: SocketWaitOptions = {}): Promise<Buffer | null> {
    const timeout = checkSeconds(options.timeout, "receiveFrameAsync");
    const deadline = timeout === undefined ? undefined : performance.now() + timeout * 1000;
    for (;;) {
      const ready = this.#queued.shift();
      if (ready !== undefined) return ready;
      const left = deadline === undefined ? undefined : Math.max(0, (deadline - performance.now()) / 1000);
      const message = await this.receiveAsync({ timeout: left });
      if (message.eof) return this.#endOfFrames();
      this.#queued.push(...this.#reader().push(message.data));
    }
  }

  /** Who is at the other end: pid, uid and gid, recorded by the kernel at connect or socketpair time (SO_PEERCRED). */
  peerCredentials(): PeerCredentials {
    const buffer = new DataView(new ArrayBuffer(layout.ucred.size));
    const length = new Uint32Array([layout.ucred.size]);
    if (sys.getsockopt(this.fd, SOL.SOCKET, SO.PEERCRED, ptr(buffer.buffer), ptr(length)) === -1) {
      throw lastError("getsockopt(SO_PEERCRED)", this.#label(), { ENOTCONN: "the socket is not connected, so it has no peer" });
    }
    const f = layout.ucred.fields;
    return { pid: getField(buffer, f.pid), uid: getField(buffer, f.uid), gid: getField(buffer, f.gid) };
  }

  /** Closes one direction: "write" tells the peer end-of-stream while this side can still read. */
  shutdown(how: "read" | "write" | "both"): void {
    const code = { read: SHUT.RD, write: SHUT.WR, both: SHUT.RDWR }[how];
    if (code === undefined) throw new TypeError(`shutdown: how must be "read", "write" or "both"`);
    if (sys.shutdown(this.fd, code) === -1) throw lastError("shutdown", this.#label(), IO_HINTS);
  }

  /**
   * Gives the descriptor away: this object is closed afterwards without
   * closing it. For handing a connection to Bun (see adoptStream) or to a
   * child process.
   */
  release(): number {
    const fd = this.fd;
    this.#fd = -1;
    return fd;
  }

  /** Closes the socket; a listening or bound socket also removes its socket file. Idempotent. */
  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    if (this.ownsFile && typeof this.address === "string") {
      // Remove the name if a socket is there (the kernel cannot tell whose).
      try {
        if (fs.lstatSync(this.address).isSocket()) fs.rmSync(this.address, { force: true });
      } catch {
        // already gone
      }
    }
    if (sys.close(fd) === -1) throw lastError("close", this.#label());
  }

  /** Closes it (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #label(): string {
    return this.address === null ? `${this.type} socket` : addressLabel(this.address);
  }

  #acceptOnce(): UnixSocket | "again" {
    const fd = sys.accept4(this.fd, null, null, SOCK.CLOEXEC); // the connection blocks, as in C
    if (fd !== -1) return new UnixSocket(fd, this.type, null, false);
    const e = errno();
    if (e === ERRNO.EAGAIN || e === ERRNO.EINTR || e === ERRNO.ECONNABORTED) return "again";
    throw errorFor(e, "accept4", this.#label(), { EINVAL: "the socket is not listening (a datagram socket cannot accept)" });
  }

  #sendPlan(data: Uint8Array | string, options: SocketSendOptions, call: string): SendPlan {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) throw new TypeError(`${call}: data must be a string or a Uint8Array`);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const descriptors = options.descriptors ?? [];
    for (const fd of descriptors) count(fd, `${call}: descriptor`, 2 ** 31 - 1);
    if (descriptors.length > 253) throw new RangeError(`${call}: at most 253 descriptors go in one message (SCM_MAX_FD)`);
    if (descriptors.length > 0 && bytes.length === 0 && this.type === "stream") {
      throw new RangeError(`${call}: descriptors travel with data; send at least one byte with them on a stream`);
    }
    const to = options.to === undefined ? undefined : sockaddr(options.to, call);
    if (to !== undefined && this.type !== "datagram") throw new TypeError(`${call}: only datagram sockets send to an address`);
    return { bytes, control: descriptors.length > 0 ? rightsMessage(descriptors) : undefined, to, timeout: checkSeconds(options.timeout, call) };
  }

  /** One sendmsg; with `sleep`, it may sleep in the kernel, else it says "again" instead (MSG_DONTWAIT). */
  #sendOnce(plan: SendPlan, offset: number, sleep: boolean): number | "again" {
    const data = plan.bytes.subarray(offset);
    const control = offset === 0 ? plan.control : undefined; // descriptors go with the first byte only
    const header = msghdr({ name: plan.to?.buffer, nameLength: plan.to?.length, data, control });
    const n = Number(sys.sendmsg(this.fd, header, MSGF.NOSIGNAL | (sleep ? 0 : MSGF.DONTWAIT)));
    if (n >= 0) return n;
    const e = errno();
    if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return "again";
    throw errorFor(e, "sendmsg", plan.to?.label ?? this.#label(), { ...CONNECT_HINTS, ...IO_HINTS });
  }

  #receivePlan(options: SocketReceiveOptions, call: string): ReceivePlan {
    const maxBytes = count(options.maxBytes ?? 65536, `${call}: maxBytes`, 2 ** 30, 1);
    const maxDescriptors = count(options.maxDescriptors ?? 16, `${call}: maxDescriptors`, 253);
    return { maxBytes, maxDescriptors, timeout: checkSeconds(options.timeout, call) };
  }

  /** One recvmsg; with `sleep`, it may sleep in the kernel, else it says "again" instead (MSG_DONTWAIT). */
  #receiveOnce(plan: ReceivePlan, sleep: boolean): SocketMessage | "again" {
    const { buffer: data, shared } = receiveBuffer(plan.maxBytes);
    const { control, name } = receiveScratch;
    const header = msghdr({
      name,
      data,
      dataLength: plan.maxBytes,
      control,
      controlLength: plan.maxDescriptors > 0 ? cmsgSpace(4 * plan.maxDescriptors) : 0,
    });
    const n = Number(sys.recvmsg(this.fd, header, MSGF.CMSG_CLOEXEC | (sleep ? 0 : MSGF.DONTWAIT)));
    if (n < 0) {
      const e = errno();
      if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return "again";
      throw errorFor(e, "recvmsg", this.#label(), IO_HINTS);
    }
    const f = layout.msghdr.fields;
    const view = msgScratch.header;
    const flags = getField(view, f.msg_flags);
    const controlLength = getField(view, f.msg_controllen);
    const nameLength = getField(view, f.msg_namelen);
    return {
      // Copy out what arrived: the shared buffer is the next receive's.
      data: shared ? Buffer.from(data.subarray(0, n)) : data.subarray(0, n),
      descriptors: controlLength > 0 ? receivedDescriptors(control, controlLength) : [],
      from: this.type === "datagram" ? parseSockaddr(name, nameLength) : null,
      truncated: (flags & MSGF.TRUNC) !== 0,
      descriptorsTruncated: (flags & MSGF.CTRUNC) !== 0,
      // A stream reads 0 bytes only at its end; a seqpacket socket can carry empty
      // messages, so there a 0 is the end only if the peer has hung up.
      eof: n === 0 && (this.type === "stream" || (this.type === "seqpacket" && (pollOne(this.fd, POLL.IN, 0) & POLL.HUP) !== 0)),
    };
  }

  #reader(): FrameReader {
    if (this.type !== "stream") throw new TypeError("frames are for stream sockets; datagrams and packets keep their own boundaries");
    this.#frames ??= new FrameReader();
    return this.#frames;
  }

  #endOfFrames(): null {
    const left = this.#frames?.pendingBytes ?? 0;
    if (left > 0) {
      throw ipcError({
        errno: ERRNO.EPROTO,
        call: "receiveFrame",
        object: this.#label(),
        message: `the stream ended in the middle of a frame (${left} bytes of it arrived)`,
        hint: "the peer closed the connection before it had sent the whole message",
      });
    }
    return null;
  }
}

function getIntOption(fd: number, option: number, call: string): number {
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  if (sys.getsockopt(fd, SOL.SOCKET, option, ptr(value), ptr(length)) === -1) throw lastError(call, `fd ${fd}`);
  return value[0]!;
}

// ---------------------------------------------------------------------------
// Bun's own sockets

/** Options of `listenUnix()`: Bun's socket handlers, and this module's file options. */
export interface ListenUnixOptions<Data> {
  /** Bun's handlers: open, data, close, drain, error, … */
  socket: Bun.SocketHandler<Data>;
  /** Permission bits of the socket file (default 0o600). */
  mode?: number;
  /** Remove a stale socket file first (default true). */
  removeStale?: boolean;
  /** Per-connection data, as in Bun.listen. */
  data?: Data;
}

/**
 * Bun.listen on a Unix socket, with the path checked before the call, the
 * file's mode set at creation, and a stale socket file removed first.
 * Bun serves the connections on its event loop, and removes the socket
 * file when the listener is stopped.
 */
export function listenUnix<Data = undefined>(address: UnixAddress, options: ListenUnixOptions<Data>): Bun.UnixSocketListener<Data> {
  const addr = sockaddr(address, "Bun.listen");
  const mode = fileMode(options.mode ?? 0o600, "Bun.listen", 0o777);
  const unix = typeof address === "string" ? address : `\0${address.abstract}`;
  const start = () => {
    const old = process.umask(~mode & 0o777);
    try {
      return Bun.listen<Data>({ unix, socket: options.socket, data: options.data as Data });
    } finally {
      process.umask(old);
    }
  };
  if (typeof address !== "string" || options.removeStale === false) return start();
  let listener: Bun.UnixSocketListener<Data> | undefined;
  withStartupLock(address, () => {
    let isSocket = false;
    try {
      isSocket = fs.lstatSync(address).isSocket();
    } catch {
      // nothing there
    }
    if (isSocket && !someoneListens(addr, "stream")) fs.rmSync(address, { force: true });
    listener = start();
  });
  return listener!;
}

/**
 * Bun.connect to a Unix socket, with the path checked before the call and
 * an IpcError with a hint (ENOENT, ECONNREFUSED, EACCES) if it fails.
 */
export async function connectUnix<Data = undefined>(address: UnixAddress, handlers: Bun.SocketHandler<Data>): Promise<Bun.Socket<Data>> {
  const addr = sockaddr(address, "Bun.connect");
  const unix = typeof address === "string" ? address : `\0${address.abstract}`;
  try {
    return await Bun.connect<Data>({ unix, socket: handlers });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const errnum = typeof code === "string" && code in ERRNO ? ERRNO[code as keyof typeof ERRNO] : undefined;
    if (errnum === undefined) throw error;
    throw errorFor(errnum, "connect", addr.label, CONNECT_HINTS);
  }
}

/**
 * Hands a connected stream socket to Bun's event loop: from then on Bun
 * reads and writes it and calls `handlers`; `socket` is closed (its
 * descriptor now belongs to Bun). Use it to serve a connection accepted
 * with UnixSocket — after checking peerCredentials(), say — the Bun way.
 */
export async function adoptStream<Data = undefined>(socket: UnixSocket, handlers: Bun.SocketHandler<Data>): Promise<Bun.Socket<Data>> {
  if (socket.type !== "stream") throw new TypeError("adoptStream: only stream sockets can be handed to Bun");
  const fd = socket.release();
  setNonBlocking(fd, true, `fd ${fd}`); // Bun's event loop must never sleep in a read
  // Bun.connect accepts { fd } (its FdSocketOptions), though its typings list only host and unix.
  const connect = Bun.connect as unknown as (options: { fd: number; socket: Bun.SocketHandler<Data> }) => Promise<Bun.Socket<Data>>;
  return connect({ fd, socket: handlers });
}

// ---------------------------------------------------------------------------
// /proc/net/unix

/** One line of /proc/net/unix. */
export interface UnixSocketEntry {
  /** The socket's inode number (as in /proc/PID/fd links "socket:[INODE]"). */
  inode: number;
  type: SocketType | "other";
  /** unconnected, connecting, connected or disconnecting. */
  state: "unconnected" | "connecting" | "connected" | "disconnecting" | "other";
  /** Whether it is a listening socket. */
  listening: boolean;
  /** The bound address, or null for an unnamed socket. */
  address: UnixAddress | null;
  /** The line as the kernel wrote it. */
  line: string;
}

const STATES: Record<string, UnixSocketEntry["state"]> = { "01": "unconnected", "02": "connecting", "03": "connected", "04": "disconnecting" };
const TYPES: Record<string, SocketType> = { "0001": "stream", "0002": "datagram", "0005": "seqpacket" };

/**
 * The kernel's list of Unix sockets (/proc/net/unix, or `text` in its
 * format). An abstract name shows there with a leading "@".
 */
export function unixSocketTable(text?: string): UnixSocketEntry[] {
  const source = text ?? fs.readFileSync("/proc/net/unix", "utf8");
  const entries: UnixSocketEntry[] = [];
  for (const line of source.split("\n").slice(1)) {
    const words = line.trim().split(/\s+/);
    if (words.length < 7) continue;
    const [, , , flags, type, state, inode] = words;
    const pathText = line.trim().split(/\s+/).slice(7).join(" ");
    let address: UnixAddress | null = null;
    if (pathText.startsWith("@")) address = { abstract: pathText.slice(1) };
    else if (pathText.length > 0) address = pathText;
    entries.push({
      inode: Number(inode),
      type: TYPES[type!] ?? "other",
      state: STATES[state!] ?? "other",
      listening: (Number.parseInt(flags!, 16) & 0x10000) !== 0, // __SO_ACCEPTCON
      address,
      line: line.trim(),
    });
  }
  return entries;
}
