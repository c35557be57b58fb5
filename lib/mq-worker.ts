/**
 * The Worker thread behind `MessageQueue.receiveAsync()` and `sendAsync()`
 * (lib/mq.ts starts it; nothing else should).
 *
 * A blocking FFI call blocks the thread that makes it. Here that thread is
 * this worker, so the main thread's event loop keeps running while the
 * worker waits. It waits with poll(2) on two descriptors: its own copy of
 * the queue's descriptor, and an eventfd that the main thread writes to
 * when the queue is closed. Once poll says the queue is ready, the worker
 * sends or receives with a deadline already in the past, so that call never
 * blocks: if another process took the message (or the room) first, it
 * fails with ETIMEDOUT and the worker waits again.
 *
 * `MessageQueue.waitAsync()` starts a worker of its own for each call,
 * which polls the queues' descriptors once ("poll"), answers, and ends.
 */
import { layout, POLL } from "./ffi/constants.ts";
import { ERRNO } from "./ffi/errno.ts";
import { errno, sys } from "./ffi/libc.ts";

/** What lib/mq.ts asks of the worker. */
export type WorkerRequest =
  | { type: "init"; fd: number; cancelFd: number; msgsize: number }
  | { type: "receive"; id: number; deadline: number | null }
  | { type: "send"; id: number; deadline: number | null; data: Uint8Array; priority: number }
  | { type: "poll"; fds: number[]; events: number; deadline: number | null }
  | { type: "stop" };

/** The worker's answers. */
export type WorkerReply =
  | { type: "done"; id: number; data?: Uint8Array; priority?: number }
  | { type: "failed"; id: number; errno: number; call: string }
  | { type: "cancelled"; id: number }
  | { type: "polled"; ready: number[] }
  | { type: "poll-failed"; errno: number }
  | { type: "stopped" };

declare const self: {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply): void;
};

let queueFd = -1;
let cancelFd = -1;
let buffer = new Uint8Array(0);
let cancelled = false;
const priority = new Uint32Array(1);
/** A timespec of {0, 0}: long past, so mq_timed* never waits. */
const PAST = new BigInt64Array(layout.timespec.size / 8);
const tableBytes = new Uint8Array(2 * layout.pollfd.size);
const table = new DataView(tableBytes.buffer);

function setPollFd(index: number, fd: number, events: number): void {
  const f = layout.pollfd.fields;
  const base = index * layout.pollfd.size;
  table.setInt32(base + f.fd.offset, fd, true);
  table.setInt16(base + f.events.offset, events, true);
  table.setInt16(base + f.revents.offset, 0, true);
}

function revents(index: number): number {
  return table.getInt16(index * layout.pollfd.size + layout.pollfd.fields.revents.offset, true);
}

type Waited = "ready" | "timeout" | "cancelled" | { errno: number };

/** Waits until the queue has `events`, the deadline passes, or the queue is closed. */
function waitFor(events: number, deadline: number | null): Waited {
  for (;;) {
    setPollFd(0, queueFd, events);
    setPollFd(1, cancelFd, POLL.IN);
    const ms = deadline === null ? -1 : Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(deadline - Date.now())));
    const ready = sys.poll(tableBytes, 2, ms);
    if (ready === -1) {
      const errnum = errno();
      if (errnum === ERRNO.EINTR) continue;
      return { errno: errnum };
    }
    if (revents(1) !== 0) {
      cancelled = true;
      return "cancelled";
    }
    if (ready > 0) return "ready";
    if (deadline !== null && Date.now() >= deadline) return "timeout";
  }
}

function receive(id: number, deadline: number | null): WorkerReply {
  for (;;) {
    const waited = waitFor(POLL.IN, deadline);
    if (waited === "cancelled") return { type: "cancelled", id };
    if (waited === "timeout") return { type: "failed", id, errno: ERRNO.ETIMEDOUT, call: "mq_timedreceive" };
    if (typeof waited === "object") return { type: "failed", id, errno: waited.errno, call: "poll" };
    const received = Number(sys.mq_timedreceive(queueFd, buffer, buffer.length, priority, PAST));
    if (received >= 0) return { type: "done", id, data: buffer.slice(0, received), priority: priority[0]! };
    const errnum = errno();
    if (errnum !== ERRNO.ETIMEDOUT && errnum !== ERRNO.EAGAIN && errnum !== ERRNO.EINTR) {
      return { type: "failed", id, errno: errnum, call: "mq_timedreceive" };
    }
    // Someone else took the message between poll and receive: wait again.
  }
}

function send(id: number, deadline: number | null, data: Uint8Array, prio: number): WorkerReply {
  for (;;) {
    const waited = waitFor(POLL.OUT, deadline);
    if (waited === "cancelled") return { type: "cancelled", id };
    if (waited === "timeout") return { type: "failed", id, errno: ERRNO.ETIMEDOUT, call: "mq_timedsend" };
    if (typeof waited === "object") return { type: "failed", id, errno: waited.errno, call: "poll" };
    if (sys.mq_timedsend(queueFd, data, data.length, prio, PAST) === 0) return { type: "done", id };
    const errnum = errno();
    if (errnum !== ERRNO.ETIMEDOUT && errnum !== ERRNO.EAGAIN && errnum !== ERRNO.EINTR) {
      return { type: "failed", id, errno: errnum, call: "mq_timedsend" };
    }
  }
}

/** Waits until any of `fds` has `events` or the deadline passes; answers the indexes of the ready ones. */
function pollOnce(fds: number[], events: number, deadline: number | null): WorkerReply {
  const size = layout.pollfd.size;
  const f = layout.pollfd.fields;
  const bytes = new Uint8Array(Math.max(1, fds.length) * size);
  const view = new DataView(bytes.buffer);
  fds.forEach((fd, i) => {
    view.setInt32(i * size + f.fd.offset, fd, true);
    view.setInt16(i * size + f.events.offset, events, true);
  });
  for (;;) {
    const ms = deadline === null ? -1 : Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(deadline - Date.now())));
    const ready = sys.poll(bytes, fds.length, ms);
    if (ready === -1) {
      const errnum = errno();
      if (errnum === ERRNO.EINTR) continue;
      return { type: "poll-failed", errno: errnum };
    }
    if (ready > 0 || (deadline !== null && Date.now() >= deadline)) {
      const wanted = events | POLL.ERR | POLL.HUP | POLL.NVAL;
      return { type: "polled", ready: fds.map((_, i) => i).filter((i) => (view.getInt16(i * size + f.revents.offset, true) & wanted) !== 0) };
    }
  }
}

self.onmessage = (event) => {
  const request = event.data;
  switch (request.type) {
    case "init":
      queueFd = request.fd;
      cancelFd = request.cancelFd;
      buffer = new Uint8Array(request.msgsize);
      return;
    case "receive":
      self.postMessage(cancelled ? { type: "cancelled", id: request.id } : receive(request.id, request.deadline));
      return;
    case "send":
      self.postMessage(
        cancelled ? { type: "cancelled", id: request.id } : send(request.id, request.deadline, request.data, request.priority),
      );
      return;
    case "poll":
      self.postMessage(pollOnce(request.fds, request.events, request.deadline));
      return;
    case "stop":
      sys.close(queueFd);
      sys.close(cancelFd);
      queueFd = cancelFd = -1;
      self.postMessage({ type: "stopped" });
      return;
  }
};
