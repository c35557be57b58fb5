/**
 * Message queues.
 *
 * - `MessageQueue`: a POSIX message queue (mq_open), a kernel object with
 *   a name such as "/orders" that holds up to `maxmsg` messages of at most
 *   `msgsize` bytes each, handed out highest priority first. Linux lists
 *   the queues as files in /dev/mqueue (where that file system is mounted).
 * - `SysVMessageQueue`: the older System V queues (msgget, msgsnd, msgrcv),
 *   found by a numeric key, whose messages carry a type to select by;
 *   `ipcs -q` lists them.
 * - `queueLimits()`: the system's limits on POSIX queues.
 *
 *   using queue = new MessageQueue("/orders", { create: true, maxmsg: 10, msgsize: 256 });
 *   queue.send("two coffees", { priority: 5 });
 *   const message = queue.receive({ timeout: 2 }); // seconds; undefined waits for ever
 *   console.log(message.text(), message.priority);
 *
 * A blocking `send` or `receive` blocks Bun's whole event loop, as every
 * blocking FFI call does. `receiveAsync` and `sendAsync` make the same wait
 * in a Worker thread and leave the event loop free.
 */
import fs from "node:fs";
import os from "node:os";
import { EFD, getField, IPC, layout, MQ_PRIO_MAX, O, POLL, RLIMIT, SIGEV, type Field } from "./ffi/constants.ts";
import { ERRNO } from "./ffi/errno.ts";
import { cstr, errno, sys } from "./ffi/libc.ts";
import {
  BusyError,
  ClosedError,
  closed,
  errorFor,
  InvalidError,
  type IpcError,
  invalid,
  lastError,
  PermissionError,
  type Hints,
} from "./errors.ts";
import type { WorkerReply, WorkerRequest } from "./mq-worker.ts";
import { SysVSharedMemory } from "./shm.ts";
import { count, fileMode, posixName } from "./validate.ts";

/* ------------------------------------------------------------------------
 * Limits
 * --------------------------------------------------------------------- */

/** Where Linux publishes the limits on POSIX message queues. */
export const MQUEUE_PROC = "/proc/sys/fs/mqueue";

/** The system's limits on POSIX message queues. */
export interface QueueLimits {
  /** Largest `maxmsg` an unprivileged process may ask for (/proc/sys/fs/mqueue/msg_max). */
  msgMax: number;
  /** Largest `msgsize` an unprivileged process may ask for (msgsize_max). */
  msgsizeMax: number;
  /** Queues the whole system may hold (queues_max). */
  queuesMax: number;
  /** `maxmsg` of a queue created without attributes (msg_default). */
  msgDefault: number;
  /** `msgsize` of a queue created without attributes (msgsize_default). */
  msgsizeDefault: number;
  /**
   * RLIMIT_MSGQUEUE, `ulimit -q`: bytes of queue memory all the queues of
   * one user may take together, soft and hard limit (Infinity: unlimited).
   * Past it, mq_open fails with the misleading EMFILE.
   */
  memory: { soft: number; hard: number };
}

function readProc(file: string): number {
  return Number(fs.readFileSync(`${MQUEUE_PROC}/${file}`, "utf8").trim());
}

/** The per-user limit on queue memory, RLIMIT_MSGQUEUE (getrlimit(2)). */
function memoryLimit(): { soft: number; hard: number } {
  const limit = new BigUint64Array(layout.rlimit.size / 8);
  if (sys.getrlimit(RLIMIT.MSGQUEUE, limit) === -1) throw lastError("getrlimit", "RLIMIT_MSGQUEUE");
  const view = new DataView(limit.buffer);
  // RLIM_INFINITY is (rlim_t)-1, which a double cannot hold exactly.
  const value = (field: Field) => (view.getBigUint64(field.offset, true) === 2n ** 64n - 1n ? Infinity : getField(view, field));
  return { soft: value(layout.rlimit.fields.rlim_cur), hard: value(layout.rlimit.fields.rlim_max) };
}

/**
 * Bytes a queue is charged against RLIMIT_MSGQUEUE while it exists: every
 * one of its maxmsg slots, full or empty, at msgsize bytes, plus the
 * kernel's bookkeeping for each (a struct msg_msg and a node of its
 * priority tree, 48 bytes each on 64-bit Linux). A 10 × 8192 queue costs
 * 82,880 bytes, so 9 of them fit in the usual 819,200.
 */
export function queueMemory(maxmsg: number, msgsize: number): number {
  count(maxmsg, "queueMemory: maxmsg", Number.MAX_SAFE_INTEGER, 1);
  count(msgsize, "queueMemory: msgsize", Number.MAX_SAFE_INTEGER, 1);
  const bookkeeping = 48; // sizeof(struct msg_msg), sizeof(struct posix_msg_tree_node) on LP64
  return maxmsg * (msgsize + bookkeeping) + Math.min(maxmsg, MQ_PRIO_MAX) * bookkeeping;
}

/** Reads the limits on POSIX message queues from /proc/sys/fs/mqueue and getrlimit. */
export function queueLimits(): QueueLimits {
  return {
    msgMax: readProc("msg_max"),
    msgsizeMax: readProc("msgsize_max"),
    queuesMax: readProc("queues_max"),
    msgDefault: readProc("msg_default"),
    msgsizeDefault: readProc("msgsize_default"),
    memory: memoryLimit(),
  };
}

/* ------------------------------------------------------------------------
 * POSIX message queues
 * --------------------------------------------------------------------- */

/** Which end of the queue a descriptor is: O_RDONLY, O_WRONLY or O_RDWR. */
export type QueueAccess = "read" | "write" | "read-write";

/** How to open a POSIX message queue: the `O_*` flags, its mode and, for a new queue, its size. */
export interface QueueOptions {
  /** Create the queue if it does not exist (O_CREAT). */
  create?: boolean;
  /** Fail with ExistsError if it exists (O_CREAT | O_EXCL; implies `create`). */
  exclusive?: boolean;
  /** Permission bits of a new queue; default 0o600 (owner only). */
  mode?: number;
  /** Default "read-write"; a producer needs only "write", a consumer only "read". */
  access?: QueueAccess;
  /** O_NONBLOCK: send on a full queue and receive on an empty one fail at once (BusyError). */
  nonBlocking?: boolean;
  /** Messages the new queue holds before `send` waits (mq_maxmsg); default msg_default. */
  maxmsg?: number;
  /** Largest message of the new queue in bytes (mq_msgsize); default msgsize_default. */
  msgsize?: number;
}

/** The priority of a message, and how long `send` may wait for room. */
export interface SendOptions {
  /** 0 (the default) to MQ_PRIO_MAX - 1; higher priorities are received first. */
  priority?: number;
  /** Seconds to wait while the queue is full: undefined waits for ever, 0 not at all. */
  timeout?: number;
}

/** How long `receive` may wait for a message. */
export interface ReceiveOptions {
  /** Seconds to wait while the queue is empty: undefined waits for ever, 0 not at all. */
  timeout?: number;
}

/** What mq_getattr says about a queue. */
export interface QueueAttributes {
  /** The most messages the queue holds (mq_maxmsg). */
  maxmsg: number;
  /** The largest message in bytes (mq_msgsize). */
  msgsize: number;
  /** Messages in the queue now (mq_curmsgs). */
  curmsgs: number;
  /** Whether this descriptor is non-blocking (O_NONBLOCK in mq_flags). */
  nonBlocking: boolean;
  /** mq_flags as the kernel reports it. */
  flags: number;
}

/** Which events `MessageQueue.wait` waits for. */
export interface QueueWaitOptions {
  /** "receive" (default): a message to take (POLLIN); "send": room for one (POLLOUT). */
  for?: "receive" | "send";
}

const decoder = new TextDecoder();

/** A message taken from a POSIX queue. */
export class Message {
  constructor(
    /** The bytes, exactly as many as were sent. */
    readonly data: Uint8Array,
    /** The priority it was sent with. */
    readonly priority: number,
  ) {}

  /** Its length in bytes. */
  get size(): number {
    return this.data.length;
  }

  /** The bytes decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.data);
  }
}

const OPEN_HINTS: Hints = {
  EEXIST: "a queue of this name exists already; open it without `exclusive`, or remove it first (MessageQueue.unlink)",
  ENOENT: "there is no queue of this name; pass `create: true` to create it",
  EACCES: "the queue exists but its mode does not let your user open it this way; check `ls -l /dev/mqueue`",
  EINVAL: "maxmsg or msgsize is out of range for this system (see /proc/sys/fs/mqueue)",
  ENOSPC: "the system holds as many queues as it may (/proc/sys/fs/mqueue/queues_max); remove the ones no longer needed",
  ENOMEM: "the kernel could not allocate the queue; create a smaller one (maxmsg × msgsize)",
};

const SEND_HINTS: Hints = {
  EAGAIN: "the queue is full and the descriptor is non-blocking; receive from it first, or wait (a timeout, or sendAsync)",
  ETIMEDOUT: "the queue stayed full until the timeout ran out: is anyone receiving from it?",
  EMSGSIZE: "the message is longer than the queue's msgsize",
  EBADF: "the descriptor is closed or was not opened for writing",
};

const RECEIVE_HINTS: Hints = {
  EAGAIN: "the queue is empty and the descriptor is non-blocking; try again later, or wait (a timeout, or receiveAsync)",
  ETIMEDOUT: "no message arrived before the timeout ran out: is anyone sending?",
  EMSGSIZE: "the buffer is smaller than the queue's msgsize",
  EBADF: "the descriptor is closed or was not opened for reading",
};

const NOTIFY_HINTS: Hints = {
  EBUSY:
    "another process is registered for notification on this queue already, and only one may be; " +
    "it must call notify(null) or close the queue first",
  EINVAL: "the signal number is not valid",
};

/** Open flags for each access mode. */
const ACCESS_FLAGS: Record<QueueAccess, number> = { read: O.RDONLY, write: O.WRONLY, "read-write": O.RDWR };

/** The hint for EMFILE from mq_open, which has two causes and usually means the second. */
function emfileHint(): string {
  let limit = "";
  try {
    const { soft } = memoryLimit();
    limit = `, ${soft === Infinity ? "unlimited" : `${soft} bytes`} here`;
  } catch {
    // getrlimit itself failed; the hint does without the number
  }
  return (
    "mq_open reports two different limits as EMFILE: this process's open descriptors (`ulimit -n`), and, " +
    `far more often, the per-user limit on queue memory, RLIMIT_MSGQUEUE (\`ulimit -q\`${limit}), ` +
    "which the queues that exist already have used up. Each queue counts maxmsg × msgsize bytes and some " +
    "bookkeeping, whether or not it holds messages. Remove the queues you no longer need (they are listed " +
    "in /dev/mqueue), or create smaller ones"
  );
}

/** A message as bytes, and its length checked against the queue's msgsize. */
function messageBytes(data: unknown, call: string): Uint8Array {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return data;
  throw new TypeError(`${call}: a message is a string or a Uint8Array, got ${data === null ? "null" : typeof data}`);
}

/** A timeout in seconds: undefined (or Infinity) waits for ever. */
function checkTimeout(timeout: unknown, call: string): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(`${call}: timeout must be a number of seconds, got ${typeof timeout === "number" ? "NaN" : typeof timeout}`);
  }
  if (timeout < 0) throw new RangeError(`${call}: timeout must be at least 0 seconds, got ${timeout}`);
  return timeout;
}

/** Fills `timespec` with the absolute CLOCK_REALTIME time `timeout` seconds from now. */
function deadline(timespec: BigInt64Array, timeout: number | undefined): BigInt64Array | null {
  if (timeout === undefined) return null; // mq_timed*: a NULL timeout waits for ever
  const fields = layout.timespec.fields;
  const at = timeout === 0 ? 0 : Date.now() + timeout * 1000; // 0: the epoch, long past, so the call does not wait
  const seconds = Math.floor(at / 1000);
  if (seconds > Number.MAX_SAFE_INTEGER) return null; // centuries away: for ever
  const view = new DataView(timespec.buffer);
  view.setBigInt64(fields.tv_sec.offset, BigInt(seconds), true);
  view.setBigInt64(fields.tv_nsec.offset, BigInt(Math.min(999_999_999, Math.floor((at - seconds * 1000) * 1e6))), true);
  return timespec;
}

/** Writes one field of a struct held in a DataView. */
function setField(view: DataView, field: Field, value: number): void {
  switch (field.type) {
    case "i16":
      view.setInt16(field.offset, value, true);
      break;
    case "i32":
      view.setInt32(field.offset, value, true);
      break;
    case "u32":
      view.setUint32(field.offset, value, true);
      break;
    case "i64":
      view.setBigInt64(field.offset, BigInt(value), true);
      break;
    case "u64":
      view.setBigUint64(field.offset, BigInt(value), true);
      break;
  }
}

/** A signal name or number, as a number; the name too, to look for a handler. */
function signalOf(signal: unknown): { number: number; name: string | undefined } {
  const signals = os.constants.signals as Record<string, number>;
  if (typeof signal === "string") {
    const number = signals[signal];
    if (number === undefined) throw new TypeError(`mq_notify: unknown signal ${JSON.stringify(signal)}; use a name such as "SIGUSR1"`);
    return { number, name: signal };
  }
  if (typeof signal === "number" && Number.isInteger(signal) && signal > 0) {
    return { number: signal, name: Object.keys(signals).find((name) => signals[name] === signal) };
  }
  throw new TypeError(`mq_notify: the signal must be a name such as "SIGUSR1", a number, or null, got ${String(signal)}`);
}

type Outcome = Extract<WorkerReply, { type: "done" | "failed" | "cancelled" }>;
type WaitRequest =
  | { type: "receive"; deadline: number | null }
  | { type: "send"; deadline: number | null; data: Uint8Array; priority: number };

/**
 * The Worker thread that makes a queue's blocking waits for receiveAsync
 * and sendAsync. It has a descriptor of its own (a dup) and an eventfd
 * that `shutdown()` writes to, which ends any wait at once: closing a
 * descriptor does not wake a thread blocked on it.
 */
class QueueWorker {
  readonly #worker: Worker;
  readonly #cancelFd: number;
  readonly #pending = new Map<number, { call: string; resolve: (reply: Outcome) => void; reject: (error: unknown) => void }>();
  #next = 1;
  #stopped = false;

  constructor(fd: number, msgsize: number, name: string) {
    const cancelFd = sys.eventfd(0, EFD.CLOEXEC | EFD.NONBLOCK);
    if (cancelFd === -1) throw lastError("eventfd", name);
    const own = sys.dup(fd);
    if (own === -1) {
      const error = lastError("dup", name);
      sys.close(cancelFd);
      throw error;
    }
    this.#cancelFd = cancelFd;
    this.#worker = new Worker(new URL("./mq-worker.ts", import.meta.url).href);
    this.#worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#settle(event.data);
    this.#worker.onerror = (event) => {
      // The worker's JavaScript failed, so it is in no wait: its descriptors can go.
      const error = new Error(`the worker behind receiveAsync/sendAsync on ${name} failed: ${event.message}`);
      for (const waiter of this.#pending.values()) waiter.reject(error);
      this.#pending.clear();
      this.#stopped = true;
      this.#worker.terminate();
      sys.close(own);
      sys.close(cancelFd);
    };
    this.#post({ type: "init", fd: own, cancelFd, msgsize });
    this.#worker.unref(); // an idle worker does not keep the process alive
  }

  /** false once shut down, or after the worker failed. */
  get alive(): boolean {
    return !this.#stopped;
  }

  /** Hands a wait to the worker; resolves with its outcome. */
  request(request: WaitRequest): Promise<Outcome> {
    const id = this.#next++;
    if (this.#pending.size === 0) this.#worker.ref(); // a pending wait keeps the process alive, like a socket read
    return new Promise<Outcome>((resolve, reject) => {
      this.#pending.set(id, { call: request.type === "receive" ? "mq_timedreceive" : "mq_timedsend", resolve, reject });
      this.#post({ ...request, id } as WorkerRequest);
    });
  }

  /** Ends every wait with `error`, and the worker once it has closed its descriptors. */
  shutdown(error: (call: string) => IpcError): void {
    if (this.#stopped) return;
    this.#stopped = true;
    sys.eventfd_write(this.#cancelFd, 1n); // wakes a poll in progress; the worker closes the eventfd
    this.#post({ type: "stop" });
    for (const waiter of this.#pending.values()) waiter.reject(error(waiter.call));
    this.#pending.clear();
    this.#worker.unref();
  }

  #post(message: WorkerRequest): void {
    this.#worker.postMessage(message);
  }

  #settle(reply: WorkerReply): void {
    if (reply.type === "stopped") {
      this.#worker.terminate();
      return;
    }
    if (reply.type === "polled" || reply.type === "poll-failed") return; // not asked of this worker
    const waiter = this.#pending.get(reply.id);
    if (waiter === undefined) return; // rejected by shutdown() already
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    waiter.resolve(reply);
  }
}

/** A POSIX message queue. */
export class MessageQueue implements Disposable {
  /** The queue's name, such as "/orders". */
  readonly name: string;
  /** Which end this descriptor is. */
  readonly access: QueueAccess;
  /** The most messages the queue holds (fixed when it was created). */
  readonly maxmsg: number;
  /** The largest message in bytes (fixed when it was created). */
  readonly msgsize: number;
  #fd: number;
  #nonBlocking: boolean;
  readonly #buffer: Uint8Array;
  readonly #priority = new Uint32Array(1);
  readonly #timespec = new BigInt64Array(layout.timespec.size / 8);
  #worker: QueueWorker | undefined;

  /**
   * Opens the queue `name` ("/orders"), creating it with `create: true`.
   * `maxmsg` and `msgsize` size a new queue; when the queue exists already
   * they are ignored, and `maxmsg`/`msgsize` here report the real ones.
   */
  constructor(name: string, options: QueueOptions = {}) {
    posixName(name, "mq_open");
    const access = options.access ?? "read-write";
    if (!(access in ACCESS_FLAGS)) {
      throw new TypeError(`mq_open: access must be "read", "write" or "read-write", got ${JSON.stringify(access)}`);
    }
    const mode = fileMode(options.mode ?? 0o600, "mq_open", 0o777);
    const creating = Boolean(options.create || options.exclusive);
    const attr = newQueueAttributes(name, options, creating);

    let flags = ACCESS_FLAGS[access];
    if (creating) flags |= O.CREAT;
    if (options.exclusive) flags |= O.EXCL;
    if (options.nonBlocking) flags |= O.NONBLOCK;
    const fd = sys.mq_open(cstr(name), flags, mode, attr);
    if (fd === -1) {
      const errnum = errno();
      throw errorFor(errnum, "mq_open", name, errnum === ERRNO.EMFILE ? { EMFILE: emfileHint() } : OPEN_HINTS);
    }
    this.#fd = fd;
    this.name = name;
    this.access = access;
    this.#nonBlocking = Boolean(options.nonBlocking);
    try {
      const actual = this.attributes();
      this.maxmsg = actual.maxmsg;
      this.msgsize = actual.msgsize;
    } catch (error) {
      this.close();
      throw error;
    }
    this.#buffer = new Uint8Array(this.msgsize); // mq_receive needs room for the largest message
  }

  /** The descriptor (an mqd_t is a file descriptor on Linux); throws once closed. */
  get fd(): number {
    if (this.#fd === -1) throw closed("mq", this.name);
    return this.#fd;
  }

  /** true once `close()` has been called. */
  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#fd === -1;
  }

  /**
   * Sends one message (mq_timedsend). While the queue is full it waits
   * `timeout` seconds (undefined: for ever; 0: not at all, BusyError), then
   * throws TimeoutError. Waiting blocks the event loop; see sendAsync.
   */
  send(data: string | Uint8Array, options: SendOptions = {}): void {
    const { bytes, priority, timeout } = this.#checkSend(data, options);
    if (sys.mq_timedsend(this.fd, bytes, bytes.length, priority, deadline(this.#timespec, timeout)) === -1) {
      throw this.#waitError(errno(), "mq_timedsend", timeout);
    }
  }

  /**
   * Takes the message of highest priority, the oldest of those
   * (mq_timedreceive). While the queue is empty it waits `timeout` seconds
   * (undefined: for ever; 0: not at all, BusyError), then throws
   * TimeoutError. Waiting blocks the event loop; see receiveAsync.
   */
  receive(options: ReceiveOptions = {}): Message {
    const timeout = this.#checkReceive(options);
    const received = sys.mq_timedreceive(this.fd, this.#buffer, this.#buffer.length, this.#priority, deadline(this.#timespec, timeout));
    if (Number(received) === -1) throw this.#waitError(errno(), "mq_timedreceive", timeout);
    return new Message(this.#buffer.slice(0, Number(received)), this.#priority[0]!);
  }

  /**
   * receive() that waits in a Worker thread, so timers, I/O and signal
   * handlers keep running meanwhile. Errors arrive as a rejected promise.
   */
  async receiveAsync(options: ReceiveOptions = {}): Promise<Message> {
    const timeout = this.#checkReceive(options);
    if (timeout === 0 || this.#nonBlocking) return this.receive(options); // it will not wait
    const outcome = await this.#queueWorker().request({ type: "receive", deadline: absolute(timeout) });
    if (outcome.type === "failed") throw this.#waitError(outcome.errno, outcome.call, timeout);
    if (outcome.type === "cancelled") throw closed("mq_timedreceive", this.name);
    return new Message(outcome.data!, outcome.priority!);
  }

  /** send() that waits for room in a Worker thread, leaving the event loop free. */
  async sendAsync(data: string | Uint8Array, options: SendOptions = {}): Promise<void> {
    const { bytes, priority, timeout } = this.#checkSend(data, options);
    if (timeout === 0 || this.#nonBlocking) return this.send(bytes, options);
    const outcome = await this.#queueWorker().request({
      type: "send",
      deadline: absolute(timeout),
      data: bytes.slice(), // a copy travels to the worker
      priority,
    });
    if (outcome.type === "failed") throw this.#waitError(outcome.errno, outcome.call, timeout);
    if (outcome.type === "cancelled") throw closed("mq_timedsend", this.name);
  }

  /** maxmsg, msgsize, the messages in the queue now, and the flags (mq_getattr). */
  attributes(): QueueAttributes {
    const attr = new BigInt64Array(layout.mq_attr.size / 8);
    if (sys.mq_getattr(this.fd, attr) === -1) throw lastError("mq_getattr", this.name);
    const view = new DataView(attr.buffer);
    const f = layout.mq_attr.fields;
    const flags = getField(view, f.mq_flags);
    return {
      maxmsg: getField(view, f.mq_maxmsg),
      msgsize: getField(view, f.mq_msgsize),
      curmsgs: getField(view, f.mq_curmsgs),
      nonBlocking: (flags & O.NONBLOCK) !== 0,
      flags,
    };
  }

  /** Turns O_NONBLOCK on or off for this descriptor (mq_setattr; the only flag it changes). */
  setNonBlocking(nonBlocking: boolean): void {
    if (typeof nonBlocking !== "boolean") throw new TypeError("mq_setattr: nonBlocking must be true or false");
    const attr = new BigInt64Array(layout.mq_attr.size / 8);
    setField(new DataView(attr.buffer), layout.mq_attr.fields.mq_flags, nonBlocking ? O.NONBLOCK : 0);
    if (sys.mq_setattr(this.fd, attr, null) === -1) throw lastError("mq_setattr", this.name);
    this.#nonBlocking = nonBlocking;
  }

  /**
   * Asks the kernel to send this process `signal` when a message arrives
   * in the empty queue (mq_notify with SIGEV_SIGNAL). Handle the signal with
   * `process.on(signal, …)`, installed first. The registration is one-shot:
   * it ends when the signal is sent, so register again in the handler,
   * before draining the queue. No signal comes for a message that arrives
   * while the queue is not empty, or while another process is blocked in
   * receive. Only one process may be registered per queue (EBUSY).
   * `notify(null)` ends the registration; so does closing any descriptor of
   * the queue in this process, even another one (a second MessageQueue of
   * the same name, or reading /dev/mqueue/NAME, which opens and closes it).
   */
  notify(signal: NodeJS.Signals | number | null): void {
    const fd = this.fd;
    if (signal === null) {
      if (sys.mq_notify(fd, null) === -1) throw lastError("mq_notify", this.name, NOTIFY_HINTS);
      return;
    }
    const { number, name } = signalOf(signal);
    if (name === undefined || process.listenerCount(name) === 0) {
      throw invalid(
        "mq_notify",
        this.name,
        `this process has no handler for ${name ?? `signal ${number}`}, so the notification would ` +
          "take the signal's default action, which for most signals ends the process",
        `install one first: process.on("${name ?? "SIGUSR1"}", () => { … })`,
      );
    }
    const event = new DataView(new ArrayBuffer(layout.sigevent.size));
    const f = layout.sigevent.fields;
    setField(event, f.sigev_notify, SIGEV.SIGNAL);
    setField(event, f.sigev_signo, number);
    setField(event, f["sigev_value.sival_int"], fd);
    if (sys.mq_notify(fd, new Uint8Array(event.buffer)) === -1) throw lastError("mq_notify", this.name, NOTIFY_HINTS);
  }

  /**
   * Closes the descriptor (mq_close). The queue and its messages stay
   * until `unlink`. Pending receiveAsync/sendAsync calls reject with
   * ClosedError. A notification registered by this process ends. Idempotent.
   */
  close(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#worker?.shutdown(
      (call) =>
        new ClosedError({
          errno: ERRNO.EBADF,
          call,
          object: this.name,
          message: "the queue was closed while this call waited",
          hint: "close() ends the receiveAsync/sendAsync calls still waiting on the queue",
        }),
    );
    if (sys.mq_close(fd) === -1) throw lastError("mq_close", this.name);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Removes the queue's name; the queue goes once every descriptor of it is closed. */
  unlink(): void {
    MessageQueue.unlink(this.name);
  }

  /** Removes the queue `name` (mq_unlink). */
  static unlink(name: string): void {
    posixName(name, "mq_unlink");
    if (sys.mq_unlink(cstr(name)) === -1) {
      throw lastError("mq_unlink", name, { ENOENT: "there is no queue of this name (removed already?)" });
    }
  }

  /**
   * Whether a queue of this name exists (whether or not this user may open
   * it). Where /dev/mqueue is mounted this only looks at the file; elsewhere
   * it opens and closes the queue, and closing any descriptor of a queue
   * ends this process's notification registration on it (see notify).
   */
  static exists(name: string): boolean {
    posixName(name, "mq_open");
    if (mqueueMounted()) return fs.existsSync(`${MQUEUE_DIR}${name}`);
    const fd = sys.mq_open(cstr(name), O.RDONLY | O.NONBLOCK, 0, null);
    if (fd !== -1) {
      sys.mq_close(fd);
      return true;
    }
    const errnum = errno();
    if (errnum === ERRNO.ENOENT) return false;
    if (errnum === ERRNO.EACCES) return true;
    throw errorFor(errnum, "mq_open", name);
  }

  /**
   * Waits until at least one of `queues` has a message (or, with
   * `{ for: "send" }`, room for one), at most `timeout` seconds (undefined:
   * for ever), with poll(2) on their descriptors. Returns the ready queues,
   * none if the time ran out. Another process may take the message first,
   * so receive with `{ timeout: 0 }` afterwards. A signal ends the wait with
   * InterruptedError. Blocks the event loop while it waits.
   */
  static wait(queues: readonly MessageQueue[], timeout?: number, options: QueueWaitOptions = {}): MessageQueue[] {
    const { seconds, events } = checkWait(queues, timeout, options);
    const f = layout.pollfd.fields;
    const table = new DataView(new ArrayBuffer(Math.max(1, queues.length) * layout.pollfd.size));
    queues.forEach((queue, i) => {
      setField(table, { ...f.fd, offset: i * layout.pollfd.size + f.fd.offset }, queue.fd);
      setField(table, { ...f.events, offset: i * layout.pollfd.size + f.events.offset }, events);
    });
    const until = absolute(seconds);
    for (;;) {
      const ms = until === null ? -1 : Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(until - Date.now())));
      const ready = sys.poll(new Uint8Array(table.buffer), queues.length, ms);
      if (ready === -1) throw lastError("poll", queues.map((q) => q.name).join(", "), POLL_HINTS);
      if (ready > 0 || until === null || Date.now() >= until) break;
    }
    return queues.filter((_, i) => {
      const revents = getField(table, { ...f.revents, offset: i * layout.pollfd.size + f.revents.offset });
      return (revents & (events | POLL.ERR | POLL.HUP | POLL.NVAL)) !== 0;
    });
  }

  /**
   * wait() in a Worker thread of its own, leaving the event loop free; the
   * promise resolves with the ready queues (none when the time ran out).
   * Closing a queue does not end the wait: give a timeout.
   */
  static async waitAsync(queues: readonly MessageQueue[], timeout?: number, options: QueueWaitOptions = {}): Promise<MessageQueue[]> {
    const { seconds, events } = checkWait(queues, timeout, options);
    if (seconds === 0) return MessageQueue.wait(queues, 0, options); // it will not wait
    const fds = queues.map((queue) => queue.fd);
    const worker = new Worker(new URL("./mq-worker.ts", import.meta.url).href);
    try {
      const reply = await new Promise<WorkerReply>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<WorkerReply>) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(`the worker behind waitAsync failed: ${event.message}`));
        worker.postMessage({ type: "poll", fds, events, deadline: absolute(seconds) } satisfies WorkerRequest);
      });
      if (reply.type === "poll-failed") throw errorFor(reply.errno, "poll", queues.map((q) => q.name).join(", "), POLL_HINTS);
      if (reply.type !== "polled") throw new Error(`waitAsync: unexpected answer ${reply.type} from its worker`);
      return reply.ready.map((i) => queues[i]!);
    } finally {
      worker.terminate();
    }
  }

  #checkSend(data: string | Uint8Array, options: SendOptions): { bytes: Uint8Array; priority: number; timeout: number | undefined } {
    this.fd; // a closed queue says so before anything else
    if (this.access === "read") throw wrongEnd("mq_timedsend", this.name, "read");
    const bytes = messageBytes(data, "mq_timedsend");
    if (bytes.length > this.msgsize) {
      throw new InvalidError({
        errno: ERRNO.EMSGSIZE,
        call: "mq_timedsend",
        object: this.name,
        message: `the message is ${bytes.length} bytes, longer than the queue's msgsize of ${this.msgsize}`,
        hint: `send at most ${this.msgsize} bytes, or create the queue with a larger msgsize (the system allows up to /proc/sys/fs/mqueue/msgsize_max)`,
      });
    }
    const priority = count(options.priority ?? 0, "mq_timedsend: priority");
    if (priority >= MQ_PRIO_MAX) {
      throw invalid(
        "mq_timedsend",
        this.name,
        `priority ${priority} is too high: priorities run from 0 to ${MQ_PRIO_MAX - 1} (MQ_PRIO_MAX is ${MQ_PRIO_MAX})`,
        "a few distinct levels (0 normal, 1 urgent) are usually all a protocol needs",
      );
    }
    return { bytes, priority, timeout: checkTimeout(options.timeout, "mq_timedsend") };
  }

  #checkReceive(options: ReceiveOptions): number | undefined {
    this.fd;
    if (this.access === "write") throw wrongEnd("mq_timedreceive", this.name, "write");
    return checkTimeout(options.timeout, "mq_timedreceive");
  }

  /** The error for a send or receive that failed with `errnum`. */
  #waitError(errnum: number, call: string, timeout: number | undefined): IpcError {
    const receiving = call !== "mq_timedsend";
    if (errnum === ERRNO.ETIMEDOUT && timeout === 0) {
      // timeout 0 is "do not wait": the queue was empty (or full) at the moment of the call
      return new BusyError({
        errno: ERRNO.EAGAIN,
        call,
        object: this.name,
        message: receiving ? "the queue is empty" : "the queue is full",
        hint: receiving ? "timeout 0 does not wait; try again later, or give a timeout" : "timeout 0 does not wait for room; give a timeout, or receive from it first",
      });
    }
    return errorFor(errnum, call, this.name, receiving ? RECEIVE_HINTS : SEND_HINTS);
  }

  #queueWorker(): QueueWorker {
    if (this.#worker === undefined || !this.#worker.alive) this.#worker = new QueueWorker(this.fd, this.msgsize, this.name);
    return this.#worker;
  }
}

/** Where Linux shows the queues, when the mqueue file system is mounted there (as systemd and Docker do). */
export const MQUEUE_DIR = "/dev/mqueue";

/** MQUEUE_MAGIC from <linux/magic.h>: statfs's type for an mqueue file system. */
const MQUEUE_MAGIC = 0x19800202;

/** Whether /dev/mqueue is an mqueue file system (and not an empty folder). */
function mqueueMounted(): boolean {
  try {
    return fs.statfsSync(MQUEUE_DIR).type === MQUEUE_MAGIC;
  } catch {
    return false;
  }
}

const POLL_HINTS: Hints = {
  EINTR: "a signal arrived while waiting; its JavaScript handler runs once this call has returned. Wait again if you still want to",
};

/** The checked arguments of wait() and waitAsync(). */
function checkWait(queues: unknown, timeout: unknown, options: QueueWaitOptions): { seconds: number | undefined; events: number } {
  if (!Array.isArray(queues) || !queues.every((q) => q instanceof MessageQueue)) {
    throw new TypeError("poll: queues must be an array of MessageQueue");
  }
  const seconds = checkTimeout(timeout, "poll");
  const wanted = options.for ?? "receive";
  if (wanted !== "receive" && wanted !== "send") throw new TypeError(`poll: for must be "receive" or "send", got ${String(wanted)}`);
  for (const queue of queues as MessageQueue[]) queue.fd; // a closed queue says so
  return { seconds, events: wanted === "receive" ? POLL.IN : POLL.OUT };
}

/** The absolute Date.now() time `timeout` seconds from now, or null for ever. */
function absolute(timeout: number | undefined): number | null {
  return timeout === undefined ? null : Date.now() + timeout * 1000;
}

/** The mq_attr for a new queue, checked against the system's limits; null for the defaults. */
function newQueueAttributes(name: string, options: QueueOptions, creating: boolean): BigInt64Array | null {
  if (options.maxmsg === undefined && options.msgsize === undefined) return null;
  if (!creating) {
    throw new TypeError(`mq_open: maxmsg and msgsize size a new queue; pass create: true (or exclusive: true) with them`);
  }
  const maxmsg = count(options.maxmsg ?? readProc("msg_default"), "mq_open: maxmsg", Number.MAX_SAFE_INTEGER, 1);
  const msgsize = count(options.msgsize ?? readProc("msgsize_default"), "mq_open: msgsize", Number.MAX_SAFE_INTEGER, 1);
  const msgMax = readProc("msg_max");
  if (maxmsg > msgMax) {
    throw invalid(
      "mq_open",
      name,
      `maxmsg ${maxmsg} is over the system's limit of ${msgMax} messages per queue (/proc/sys/fs/mqueue/msg_max)`,
      `ask for at most ${msgMax}, or raise the limit as root: sysctl fs.mqueue.msg_max=${maxmsg}`,
    );
  }
  const msgsizeMax = readProc("msgsize_max");
  if (msgsize > msgsizeMax) {
    throw invalid(
      "mq_open",
      name,
      `msgsize ${msgsize} is over the system's limit of ${msgsizeMax} bytes per message (/proc/sys/fs/mqueue/msgsize_max)`,
      `ask for at most ${msgsizeMax}, or raise the limit as root: sysctl fs.mqueue.msgsize_max=${msgsize}`,
    );
  }
  const attr = new BigInt64Array(layout.mq_attr.size / 8);
  const view = new DataView(attr.buffer);
  setField(view, layout.mq_attr.fields.mq_maxmsg, maxmsg);
  setField(view, layout.mq_attr.fields.mq_msgsize, msgsize);
  return attr;
}

/** Sending on a read-only descriptor, or receiving on a write-only one. */
function wrongEnd(call: string, name: string, access: "read" | "write"): PermissionError {
  const opened = access === "read" ? "read-only (access: \"read\")" : "write-only (access: \"write\")";
  const wanted = access === "read" ? "send" : "receive";
  return new PermissionError({
    errno: ERRNO.EACCES,
    call,
    object: name,
    message: `this descriptor was opened ${opened}, so it cannot ${wanted}; the kernel would answer EBADF`,
    hint: `open the queue with access "${access === "read" ? "write" : "read"}" (or "read-write") at this end`,
  });
}

/* ------------------------------------------------------------------------
 * System V message queues
 * --------------------------------------------------------------------- */

/** A message taken from a System V queue. */
export class SysVMessage {
  constructor(
    /** The type it was sent with (mtype, at least 1). */
    readonly type: number,
    /** The bytes, exactly as many as were sent. */
    readonly data: Uint8Array,
  ) {}

  /** The bytes decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.data);
  }
}

/** What IPC_STAT says about a System V queue. */
export interface SysVQueueStat {
  /** Messages in the queue (msg_qnum). */
  messages: number;
  /** Bytes of message text in the queue (__msg_cbytes). */
  bytes: number;
  /** The most bytes the queue may hold (msg_qbytes; /proc/sys/kernel/msgmnb by default). */
  maxBytes: number;
  /** The process that last sent (msg_lspid); 0 for none yet. */
  lastSendPid: number;
  /** The process that last received (msg_lrpid); 0 for none yet. */
  lastReceivePid: number;
  /** When a message was last sent; null for never. */
  lastSend: Date | null;
  /** When a message was last received; null for never. */
  lastReceive: Date | null;
  /** The permission bits, such as 0o600. */
  mode: number;
  /** The owner's user id. */
  uid: number;
}

/** The type of a System V message, and whether `send` may wait for room. */
export interface SysVSendOptions {
  /** The message's type, at least 1; receivers select by it. Default 1. */
  type?: number;
  /** false: fail with BusyError (EAGAIN) instead of waiting while the queue is full (IPC_NOWAIT). */
  wait?: boolean;
}

/** Which System V message to receive, and whether to wait for one. */
export interface SysVReceiveOptions {
  /**
   * Which message: 0 (default) the first in the queue; N > 0 the first of
   * type N; N < 0 the first of the lowest type at most |N|.
   */
  type?: number;
  /** false: fail (ENOMSG) instead of waiting when no message matches (IPC_NOWAIT). */
  wait?: boolean;
  /** The largest message to accept; default /proc/sys/kernel/msgmax. */
  maxSize?: number;
}

const MSGGET_HINTS: Hints = {
  EEXIST: "a queue with this key exists already; drop `exclusive`, or remove it (`ipcrm -Q KEY`)",
  ENOENT: "no queue has this key; pass `create: true`",
  ENOSPC: "the system holds as many System V queues as it may (/proc/sys/kernel/msgmni); `ipcs -q` lists leftovers",
};

const MSGSND_HINTS: Hints = {
  EAGAIN: "the queue is full (msg_qbytes bytes, /proc/sys/kernel/msgmnb by default) and wait: false was given",
  EIDRM: "the queue was removed",
  EINVAL: "the queue does not exist, or the type is below 1, or the message is longer than /proc/sys/kernel/msgmax",
};

const MSGRCV_HINTS: Hints = {
  ENOMSG: "no message of the requested type is in the queue, and wait: false was given",
  E2BIG: "the message is longer than maxSize; receive it with a larger maxSize",
  EIDRM: "the queue was removed while this process waited on it",
  EINVAL: "the queue does not exist",
};

function readKernel(file: string): number {
  return Number(fs.readFileSync(`/proc/sys/kernel/${file}`, "utf8").trim());
}

/** A System V message queue, found by a numeric key. */
export class SysVMessageQueue {
  /** The queue identifier that `ipcs -q` shows. */
  readonly id: number;
  /** The key it was found or created with (0 for a private queue). */
  readonly key: number;
  /** /proc/sys/kernel/msgmax, read once on first use rather than on every message. */
  #msgmax: number | undefined;

  /**
   * Gets the queue with `key` (a number, often from `SysVMessageQueue.key()`),
   * creating it with `create: true`, or a new private one with "private".
   */
  constructor(key: number | "private", options: Omit<QueueOptions, "access" | "nonBlocking" | "maxmsg" | "msgsize"> = {}) {
    const numericKey = key === "private" ? IPC.PRIVATE : key;
    if (!Number.isInteger(numericKey)) throw new TypeError(`msgget: the key must be an integer or "private"`);
    // msgget reads the bits above 0o777 as IPC_CREAT and IPC_EXCL.
    let flags = fileMode(options.mode ?? 0o600, "msgget", 0o777);
    if (options.create || options.exclusive || key === "private") flags |= IPC.CREAT;
    if (options.exclusive) flags |= IPC.EXCL;
    const id = sys.msgget(numericKey | 0, flags);
    if (id === -1) throw lastError("msgget", `key ${numericKey}`, MSGGET_HINTS);
    this.id = id;
    this.key = numericKey;
  }

  /** A key derived from an existing file and a project byte (ftok). */
  static key(path: string, projectId: number): number {
    return SysVSharedMemory.key(path, projectId);
  }

  /** Sends a message of `type` (msgsnd). */
  send(data: string | Uint8Array, options: SysVSendOptions = {}): void {
    const bytes = messageBytes(data, "msgsnd");
    const type = count(options.type ?? 1, "msgsnd: type", Number.MAX_SAFE_INTEGER, 1);
    const msgmax = this.#limit();
    if (bytes.length > msgmax) {
      throw invalid("msgsnd", this.label, `the message is ${bytes.length} bytes, longer than the limit of ${msgmax} (/proc/sys/kernel/msgmax)`);
    }
    // struct msgbuf: a long mtype, then the text.
    const message = new Uint8Array(8 + bytes.length);
    new DataView(message.buffer).setBigInt64(0, BigInt(type), true);
    message.set(bytes, 8);
    if (sys.msgsnd(this.id, message, bytes.length, options.wait === false ? IPC.NOWAIT : 0) === -1) {
      throw lastError("msgsnd", this.label, MSGSND_HINTS);
    }
  }

  /** Takes a message selected by `type` (msgrcv); see SysVReceiveOptions. */
  receive(options: SysVReceiveOptions = {}): SysVMessage {
    const type = options.type ?? 0;
    if (!Number.isSafeInteger(type)) throw new TypeError(`msgrcv: type must be a whole number, got ${String(type)}`);
    const maxSize = count(options.maxSize ?? this.#limit(), "msgrcv: maxSize");
    const message = new Uint8Array(8 + maxSize);
    const received = sys.msgrcv(this.id, message, maxSize, type, options.wait === false ? IPC.NOWAIT : 0);
    if (Number(received) === -1) throw lastError("msgrcv", this.label, MSGRCV_HINTS);
    const view = new DataView(message.buffer);
    return new SysVMessage(Number(view.getBigInt64(0, true)), message.slice(8, 8 + Number(received)));
  }

  /** The largest message the kernel accepts (msgmax), read once per queue object. */
  #limit(): number {
    return (this.#msgmax ??= readKernel("msgmax"));
  }

  /** Messages, bytes, limits and who last used the queue (IPC_STAT). */
  stat(): SysVQueueStat {
    const buffer = new ArrayBuffer(layout.msqid_ds.size);
    if (sys.msgctl(this.id, IPC.STAT, new Uint8Array(buffer)) === -1) throw lastError("msgctl(IPC_STAT)", this.label);
    const view = new DataView(buffer);
    const f = layout.msqid_ds.fields;
    const time = (field: Field) => (getField(view, field) === 0 ? null : new Date(getField(view, field) * 1000));
    return {
      messages: getField(view, f.msg_qnum),
      bytes: getField(view, f.__msg_cbytes),
      maxBytes: getField(view, f.msg_qbytes),
      lastSendPid: getField(view, f.msg_lspid),
      lastReceivePid: getField(view, f.msg_lrpid),
      lastSend: time(f.msg_stime),
      lastReceive: time(f.msg_rtime),
      mode: getField(view, f["msg_perm.mode"]) & 0o777,
      uid: getField(view, f["msg_perm.uid"]),
    };
  }

  /** Removes the queue at once (IPC_RMID); waiting processes get EIDRM. */
  remove(): void {
    SysVMessageQueue.remove(this.id);
  }

  /** Removes the queue with this id, like `ipcrm -q ID`. */
  static remove(id: number): void {
    if (sys.msgctl(id, IPC.RMID, null) === -1) throw lastError("msgctl(IPC_RMID)", `System V queue ${id}`);
  }

  private get label(): string {
    return `System V queue ${this.id}`;
  }
}
