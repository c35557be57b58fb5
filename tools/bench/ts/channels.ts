/**
 * The TypeScript half of the benchmark's synchronous mechanisms: the same
 * protocols as tools/bench/c/ipcbench.c, through this project's library
 * (lib/): Pipe, Fifo, UnixSocket, MessageQueue, SysVMessageQueue,
 * SharedMemory, Semaphore, futexWait/futexWake and Ring. The "-ffi"
 * variants move the same bytes through pipes and sockets with read(2)
 * and write(2) as lib/ffi/libc.ts binds them, and nothing else: they
 * separate what bun:ffi costs from what the library adds.
 *
 * Each mechanism gives two one-way channels: `a` from the parent to the
 * child and `b` back. The parent sets them up (`setup`), starts the child
 * with the arguments and descriptors it needs, and the child reaches the
 * same objects (`child`).
 */
import os from "node:os";
import path from "node:path";
import { ptr, type Pointer } from "bun:ffi";
import {
  Fifo,
  futexWait,
  futexWake,
  lastError,
  MessageQueue,
  Pipe,
  PipeEnd,
  Ring,
  Semaphore,
  SharedMemory,
  SysVMessageQueue,
  UnixSocket,
  type Mapping,
  type RingConsumer,
  type RingProducer,
} from "../../../lib/index.ts";
import { errno, sys } from "../../../lib/ffi/libc.ts";
import { ERRNO } from "../../../lib/ffi/errno.ts";

/** One direction of a mechanism. */
export interface Channel {
  send(buf: Uint8Array): void;
  recv(out: Uint8Array): void;
}

/** Both directions, as one side sees them. */
export interface Link {
  a: Channel;
  b: Channel;
  close(): void;
}

/** What the parent made: how to start the child, its own link, and the clean-up. */
export interface Setup {
  childArgs: string[];
  /** Descriptors the child must inherit under the same numbers. */
  pass: number[];
  link: Link;
  /** Removes the names as soon as both sides have opened them (after the warm-up). */
  unlinkNames(): void;
  /** Waits until the child has attached, where sending earlier would lose messages. */
  childReady?(): Promise<void>;
  cleanup(): void;
}

/** A synchronous mechanism of the benchmark. */
export interface SyncMechanism {
  setup(size: number, slots: number, tag: string): Setup;
  child(size: number, slots: number, args: string[]): Link;
}

/** Slots of a shared-memory channel: as in ipcbench.c. */
export function slotsFor(size: number): number {
  return Math.min(1024, Math.max(16, Math.floor((1 << 20) / size)));
}

/* ------------------------------------------------------------------ */
/* Descriptors: pipes, FIFOs, sockets                                  */

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

function check(result: number | bigint, call: string): number {
  const n = Number(result);
  if (n === -1) throw lastError(call);
  return n;
}

/** A channel over descriptors; `stream`: messages may arrive in pieces. */
function fdChannel(rfd: number, wfd: number, size: number, stream: boolean): Channel {
  let lastIn: Uint8Array | null = null;
  let inPtr = 0;
  let lastOut: Uint8Array | null = null;
  let outPtr = 0;
  return {
    send(buf) {
      if (buf !== lastIn) {
        lastIn = buf;
        inPtr = ptr(buf);
      }
      let done = 0;
      while (done < size) {
        const n = Number(sys.write(wfd, (inPtr + done) as Pointer, size - done));
        if (n === -1) {
          if (errno() === ERRNO.EINTR) continue;
          throw lastError("write");
        }
        done += n;
        if (!stream) return;
      }
    },
    recv(out) {
      if (out !== lastOut) {
        lastOut = out;
        outPtr = ptr(out);
      }
      let done = 0;
      while (done < size) {
        const n = Number(sys.read(rfd, (outPtr + done) as Pointer, size - done));
        if (n === -1) {
          if (errno() === ERRNO.EINTR) continue;
          throw lastError("read");
        }
        if (n === 0) throw new Error("read: unexpected end of file");
        done += n;
        if (!stream) return;
      }
    },
  };
}

function closeAll(fds: number[]): void {
  for (const fd of fds) sys.close(fd);
}

const pipeFfi: SyncMechanism = {
  setup(size) {
    const a = new Int32Array(2);
    const b = new Int32Array(2);
    check(sys.pipe2(a, 0), "pipe2");
    check(sys.pipe2(b, 0), "pipe2");
    const [ar, aw] = [a[0]!, a[1]!];
    const [br, bw] = [b[0]!, b[1]!];
    return {
      childArgs: [String(ar), String(bw)],
      pass: [ar, bw],
      link: { a: fdChannel(-1, aw, size, true), b: fdChannel(br, -1, size, true), close: () => closeAll([aw, br]) },
      unlinkNames() {
        closeAll([ar, bw]); // the child has its own copies
      },
      cleanup() {},
    };
  },
  child(size, _slots, [ar, bw]) {
    return { a: fdChannel(Number(ar), -1, size, true), b: fdChannel(-1, Number(bw), size, true), close: () => closeAll([Number(ar), Number(bw)]) };
  },
};

const O_RDONLY = 0;
const O_WRONLY = 1;

function openFifo(path: string, flags: number): number {
  return check(sys.open(Buffer.from(`${path}\0`), flags, 0), "open");
}

/* Through the library: lib/pipes.ts and lib/sockets.ts. */

/** A channel over a pipe or FIFO's ends, with PipeEnd.read and write. */
function pipeEndChannel(reader: PipeEnd | null, writer: PipeEnd | null, size: number): Channel {
  return {
    send(buf) {
      writer!.write(buf.length === size ? buf : buf.subarray(0, size));
    },
    recv() {
      let got = 0;
      while (got < size) {
        const chunk = reader!.read({ max: size - got });
        if (chunk.length === 0) throw new Error("read: unexpected end of file");
        got += chunk.length;
      }
    },
  };
}

const pipe: SyncMechanism = {
  setup(size) {
    const a = new Pipe();
    const b = new Pipe();
    return {
      childArgs: [String(a.reader.fd), String(b.writer.fd)],
      pass: [a.reader.fd, b.writer.fd],
      link: { a: pipeEndChannel(null, a.writer, size), b: pipeEndChannel(b.reader, null, size), close: () => [a, b].forEach((p) => p.close()) },
      unlinkNames() {
        a.reader.close(); // the child has its own copies
        b.writer.close();
      },
      cleanup: () => [a, b].forEach((p) => p.close()),
    };
  },
  child(size, _slots, [ar, bw]) {
    const reader = new PipeEnd(Number(ar), "read");
    const writer = new PipeEnd(Number(bw), "write");
    return { a: pipeEndChannel(reader, null, size), b: pipeEndChannel(null, writer, size), close: () => [reader, writer].forEach((e) => e.close()) };
  },
};

const fifo: SyncMechanism = {
  setup(size, _slots, tag) {
    const fifos = [new Fifo(path.join(os.tmpdir(), `${tag}-a`), { exclusive: true }), new Fifo(path.join(os.tmpdir(), `${tag}-b`), { exclusive: true })];
    const ends: PipeEnd[] = [];
    const removeNames = () => {
      for (const f of fifos) if (f.exists) f.unlink();
    };
    return {
      childArgs: fifos.map((f) => f.path),
      pass: [],
      // open(2) on a FIFO waits for the other end, so the parent opens once the child runs.
      get link(): Link {
        const writer = fifos[0]!.open("write");
        const reader = fifos[1]!.open("read");
        ends.push(writer, reader);
        return { a: pipeEndChannel(null, writer, size), b: pipeEndChannel(reader, null, size), close: () => ends.forEach((e) => e.close()) };
      },
      unlinkNames: removeNames,
      cleanup: removeNames,
    };
  },
  child(size, _slots, [aPath, bPath]) {
    const reader = new Fifo(aPath!).open("read");
    const writer = new Fifo(bPath!).open("write");
    return { a: pipeEndChannel(reader, null, size), b: pipeEndChannel(null, writer, size), close: () => [reader, writer].forEach((e) => e.close()) };
  },
};

/** A channel over a connected UnixSocket: send, and receive until a whole message is in. */
function unixChannel(socket: UnixSocket, size: number, stream: boolean): Channel {
  const options = { maxBytes: size };
  return {
    send(buf) {
      socket.send(buf.length === size ? buf : buf.subarray(0, size));
    },
    recv() {
      let got = 0;
      do {
        const message = socket.receive(stream ? { maxBytes: size - got } : options);
        if (message.eof) throw new Error("receive: unexpected end of stream");
        got += message.data.length;
      } while (stream && got < size);
    },
  };
}

function unixMechanism(type: "stream" | "datagram"): SyncMechanism {
  const stream = type === "stream";
  return {
    setup(size) {
      const [mine, theirs] = UnixSocket.pair(type);
      return {
        childArgs: [String(theirs.fd)],
        pass: [theirs.fd],
        link: { a: unixChannel(mine, size, stream), b: unixChannel(mine, size, stream), close: () => mine.close() },
        unlinkNames: () => theirs.close(),
        cleanup: () => [mine, theirs].forEach((s) => s.close()),
      };
    },
    child(size, _slots, [fd]) {
      const socket = UnixSocket.fromDescriptor(Number(fd), type);
      return { a: unixChannel(socket, size, stream), b: unixChannel(socket, size, stream), close: () => socket.close() };
    },
  };
}

const fifoFfi: SyncMechanism = {
  setup(size, _slots, tag) {
    const paths = [path.join(os.tmpdir(), `${tag}-a`), path.join(os.tmpdir(), `${tag}-b`)];
    for (const path of paths) check(sys.mkfifo(Buffer.from(`${path}\0`), 0o600), "mkfifo");
    let fds: number[] = [];
    const removeNames = () => {
      for (const path of paths) sys.unlink(Buffer.from(`${path}\0`));
    };
    return {
      childArgs: paths,
      pass: [],
      // open(2) on a FIFO waits for the other end, so the parent opens once the child runs.
      get link(): Link {
        const aw = openFifo(paths[0]!, O_WRONLY);
        const br = openFifo(paths[1]!, O_RDONLY);
        fds = [aw, br];
        return { a: fdChannel(-1, aw, size, true), b: fdChannel(br, -1, size, true), close: () => closeAll(fds) };
      },
      unlinkNames: removeNames,
      cleanup: removeNames,
    };
  },
  child(size, _slots, [aPath, bPath]) {
    const ar = openFifo(aPath!, O_RDONLY);
    const bw = openFifo(bPath!, O_WRONLY);
    return { a: fdChannel(ar, -1, size, true), b: fdChannel(-1, bw, size, true), close: () => closeAll([ar, bw]) };
  },
};

function socketFfiMechanism(type: number): SyncMechanism {
  const stream = type === SOCK_STREAM;
  return {
    setup(size) {
      const pair = new Int32Array(2);
      check(sys.socketpair(AF_UNIX, type, 0, pair), "socketpair");
      const [mine, theirs] = [pair[0]!, pair[1]!];
      return {
        childArgs: [String(theirs)],
        pass: [theirs],
        link: { a: fdChannel(-1, mine, size, stream), b: fdChannel(mine, -1, size, stream), close: () => closeAll([mine]) },
        unlinkNames: () => closeAll([theirs]),
        cleanup() {},
      };
    },
    child(size, _slots, [fd]) {
      const own = Number(fd);
      return { a: fdChannel(own, -1, size, stream), b: fdChannel(-1, own, size, stream), close: () => closeAll([own]) };
    },
  };
}

/* ------------------------------------------------------------------ */
/* Message queues                                                      */

function queueChannel(send: MessageQueue, receive: MessageQueue): Channel {
  return {
    send: (buf) => send.send(buf),
    recv: () => void receive.receive(),
  };
}

const posixMq: SyncMechanism = {
  setup(size, _slots, tag) {
    const names = [`/${tag}-a`, `/${tag}-b`];
    const queues = names.map((name) => new MessageQueue(name, { exclusive: true, maxmsg: 10, msgsize: Math.max(64, size) }));
    let unlinked = false;
    const unlinkNames = () => {
      if (unlinked) return;
      unlinked = true;
      for (const name of names) MessageQueue.unlink(name);
    };
    return {
      childArgs: names,
      pass: [],
      link: { a: queueChannel(queues[0]!, queues[0]!), b: queueChannel(queues[1]!, queues[1]!), close: () => queues.forEach((q) => q.close()) },
      unlinkNames,
      cleanup: unlinkNames,
    };
  },
  child(_size, _slots, names) {
    const [a, b] = names.map((name) => new MessageQueue(name!));
    return { a: queueChannel(a!, a!), b: queueChannel(b!, b!), close: () => [a!, b!].forEach((q) => q.close()) };
  },
};

/** The System V key of the benchmark's queue in process `pid` (ipcbench.c uses the same). */
export function sysvKey(pid: number): number {
  return 0x49000000 + pid;
}

function sysvChannel(queue: SysVMessageQueue, type: number, size: number): Channel {
  const options = { type };
  const receive = { type, maxSize: size };
  return {
    send: (buf) => queue.send(buf, options),
    recv: () => void queue.receive(receive),
  };
}

const sysvMq: SyncMechanism = {
  setup(size) {
    // A key made from the pid, so that the benchmark can find the queue of a run it had to kill.
    const queue = new SysVMessageQueue(sysvKey(process.pid), { exclusive: true });
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      queue.remove();
    };
    return {
      childArgs: [String(queue.key)],
      pass: [],
      link: { a: sysvChannel(queue, 1, size), b: sysvChannel(queue, 2, size), close() {} },
      unlinkNames() {},
      cleanup: remove,
    };
  },
  child(size, _slots, [key]) {
    const queue = new SysVMessageQueue(Number(key));
    return { a: sysvChannel(queue, 1, size), b: sysvChannel(queue, 2, size), close() {} };
  },
};

/* ------------------------------------------------------------------ */
/* Shared memory                                                       */

/**
 * One shared-memory channel as ipcbench.c's `struct shchan`: head and a
 * "reader waits" flag on one cache line, tail and "writer waits" on the
 * next, two semaphores, then the slots.
 */
const HEAD = 0;
const READER_WAITING = 1;
const TAIL = 16;
const WRITER_WAITING = 17;
const ITEMS = 128;
const SPACES = 192;
const SLOTS = 256;

function channelBytes(size: number, slots: number): number {
  return Math.ceil((SLOTS + size * slots) / 4096) * 4096;
}

type ShmKind = "sem" | "futex" | "spin";

function shmChannel(kind: ShmKind, map: Mapping, base: number, size: number, slots: number, fresh: boolean): Channel {
  const words = map.view(Int32Array, base, SLOTS / 4);
  const bytes = map.bytes();
  const views = Array.from({ length: slots }, (_, i) => bytes.subarray(base + SLOTS + i * size, base + SLOTS + (i + 1) * size));
  let local = 0;
  if (kind === "sem") {
    const items = fresh ? Semaphore.init(map, base + ITEMS, { value: 0 }) : Semaphore.attach(map, base + ITEMS);
    const spaces = fresh ? Semaphore.init(map, base + SPACES, { value: slots }) : Semaphore.attach(map, base + SPACES);
    return {
      send(buf) {
        spaces.wait();
        views[local % slots]!.set(buf);
        local++;
        items.post();
      },
      recv(out) {
        items.wait();
        out.set(views[local % slots]!);
        local++;
        spaces.post();
      },
    };
  }
  const sleep = kind === "futex";
  return {
    send(buf) {
      const h = local;
      for (;;) {
        const t = Atomics.load(words, TAIL);
        if (h - t < slots) break;
        if (!sleep) continue;
        Atomics.store(words, WRITER_WAITING, 1);
        if (h - Atomics.load(words, TAIL) < slots) {
          Atomics.store(words, WRITER_WAITING, 0);
          break;
        }
        futexWait(words, TAIL, t);
        Atomics.store(words, WRITER_WAITING, 0);
      }
      views[h % slots]!.set(buf);
      local = h + 1;
      Atomics.store(words, HEAD, local);
      if (sleep && Atomics.load(words, READER_WAITING) !== 0) futexWake(words, HEAD, 1);
    },
    recv(out) {
      const t = local;
      for (;;) {
        const h = Atomics.load(words, HEAD);
        if (h !== t) break;
        if (!sleep) continue;
        Atomics.store(words, READER_WAITING, 1);
        if (Atomics.load(words, HEAD) !== t) {
          Atomics.store(words, READER_WAITING, 0);
          break;
        }
        futexWait(words, HEAD, h);
        Atomics.store(words, READER_WAITING, 0);
      }
      out.set(views[t % slots]!);
      local = t + 1;
      Atomics.store(words, TAIL, local);
      if (sleep && Atomics.load(words, WRITER_WAITING) !== 0) futexWake(words, TAIL, 1);
    },
  };
}

function shmMechanism(kind: ShmKind): SyncMechanism {
  return {
    setup(size, slots, tag) {
      const name = `/${tag}`;
      const per = channelBytes(size, slots);
      const shm = new SharedMemory(name, { exclusive: true, size: 2 * per });
      const map = shm.map();
      shm.close();
      let unlinked = false;
      const unlinkNames = () => {
        if (unlinked) return;
        unlinked = true;
        SharedMemory.unlink(name);
      };
      return {
        childArgs: [name],
        pass: [],
        link: { a: shmChannel(kind, map, 0, size, slots, true), b: shmChannel(kind, map, per, size, slots, true), close: () => map.unmap() },
        unlinkNames,
        cleanup: unlinkNames,
      };
    },
    child(size, slots, [name]) {
      const shm = new SharedMemory(name!);
      const map = shm.map();
      shm.close();
      const per = channelBytes(size, slots);
      return { a: shmChannel(kind, map, 0, size, slots, false), b: shmChannel(kind, map, per, size, slots, false), close: () => map.unmap() };
    },
  };
}

/* ------------------------------------------------------------------ */
/* The capstone ring                                                   */

function ringSlotSize(size: number): number {
  return Math.ceil((size + 8) / 8) * 8;
}

function ringChannel(producer: RingProducer | null, consumer: RingConsumer | null): Channel {
  return {
    send: (buf) => producer!.write(buf),
    recv: (out) => void consumer!.readInto(out),
  };
}

const ring: SyncMechanism = {
  setup(size, slots, tag) {
    const names = [`/${tag}-a`, `/${tag}-b`];
    const rings = names.map((name) => Ring.create(name, { slots, slotSize: ringSlotSize(size), consumers: 1 }));
    // The parent produces on a and consumes from b; it must be registered on b before the child writes.
    const producer = rings[0]!.producer();
    const consumer = rings[1]!.consumer();
    let unlinked = false;
    const unlinkNames = () => {
      if (unlinked) return;
      unlinked = true;
      for (const name of names) Ring.unlink(name);
    };
    return {
      childArgs: names,
      pass: [],
      link: {
        a: ringChannel(producer, null),
        b: ringChannel(null, consumer),
        close: () => rings.forEach((r) => r.close()),
      },
      unlinkNames,
      cleanup: unlinkNames,
      // A ring drops what is written while nobody is registered: wait for the child's consumer.
      async childReady() {
        const deadline = Date.now() + 30_000;
        while (rings[0]!.status().consumers.length === 0) {
          if (Date.now() > deadline) throw new Error("the child never registered as a consumer");
          await Bun.sleep(2);
        }
      },
    };
  },
  child(_size, _slots, names) {
    const [a, b] = names.map((name) => Ring.open(name!));
    const consumer = a!.consumer();
    const producer = b!.producer();
    return { a: ringChannel(null, consumer), b: ringChannel(producer, null), close: () => [a!, b!].forEach((r) => r.close()) };
  },
};

/** The synchronous mechanisms, by the names ipcbench.c uses. */
export const SYNC_MECHANISMS: Record<string, SyncMechanism> = {
  pipe,
  fifo,
  "unix-stream": unixMechanism("stream"),
  "unix-dgram": unixMechanism("datagram"),
  "pipe-ffi": pipeFfi,
  "fifo-ffi": fifoFfi,
  "unix-stream-ffi": socketFfiMechanism(SOCK_STREAM),
  "unix-dgram-ffi": socketFfiMechanism(SOCK_DGRAM),
  "posix-mq": posixMq,
  "sysv-mq": sysvMq,
  "shm-sem": shmMechanism("sem"),
  "shm-futex": shmMechanism("futex"),
  "shm-spin": shmMechanism("spin"),
  ring,
};
