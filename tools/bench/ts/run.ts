/**
 * The TypeScript half of `bun run bench`: one measurement of one
 * mechanism, the same protocol as tools/bench/c/ipcbench.c, printed as
 * one line of JSON.
 *
 *   bun tools/bench/ts/run.ts MECHANISM latency|throughput SIZE COUNT WARMUP
 *
 * latency: the parent sends SIZE bytes and the child sends them back,
 * COUNT timed round trips after WARMUP untimed ones. throughput: WARMUP
 * messages and an answer, untimed; then COUNT messages of SIZE bytes and
 * one answer, timed from the first send to the answer.
 *
 * The parent starts a copy of this file as its child (`--child …`), which
 * dies with it (PR_SET_PDEATHSIG). Names are removed once both sides have
 * opened them, and again in a `finally`.
 *
 * MECHANISM: the synchronous ones of channels.ts, and what a Bun user
 * would reach for instead: bun-ipc (Bun.spawn with `ipc`), worker
 * (Worker postMessage, a thread, not a process) and node-net (node:net
 * over a Unix socket). Those three are asynchronous: the sender keeps at
 * most WINDOW messages in flight, as the kernel's buffers do for the others.
 */
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { spawn } from "../../../lib/index.ts";
import { sys } from "../../../lib/ffi/libc.ts";
import { slotsFor, SYNC_MECHANISMS, type Link } from "./channels.ts";
import { WINDOW } from "./protocol.ts";

const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9;

export const NATIVE_MECHANISMS = ["bun-ipc", "worker", "node-net"] as const;

interface Params {
  mechanism: string;
  mode: "latency" | "throughput";
  size: number;
  count: number;
  warmup: number;
}

function parse(args: string[]): Params {
  const [mechanism, mode, size, count, warmup] = args;
  if (!mechanism || (mode !== "latency" && mode !== "throughput") || !size || !count || warmup === undefined) {
    console.error("usage: bun tools/bench/ts/run.ts MECHANISM latency|throughput SIZE COUNT WARMUP");
    process.exit(2);
  }
  return { mechanism, mode, size: Number(size), count: Number(count), warmup: Number(warmup) };
}

function report(p: Params, rtt: Float64Array | null, seconds: number): void {
  if (rtt) {
    rtt.sort();
    const us = (s: number) => Number((s * 1e6).toFixed(3));
    const sum = rtt.reduce((a, b) => a + b, 0);
    const p99 = Math.min(rtt.length - 1, Math.floor(rtt.length * 0.99));
    console.log(JSON.stringify({ median_us: us(rtt[rtt.length >> 1]!), p99_us: us(rtt[p99]!), mean_us: us(sum / rtt.length), seconds, count: p.count }));
  } else {
    console.log(JSON.stringify({ msgs_per_s: p.count / seconds, mb_per_s: (p.count * p.size) / seconds / 1e6, seconds, count: p.count }));
  }
}

const now = () => Bun.nanoseconds() / 1e9;

/* ------------------------------------------------------------------ */
/* Synchronous mechanisms                                              */

function childLoop(p: Params, link: Link): void {
  const out = new Uint8Array(Math.max(64, p.size));
  const { a, b } = link;
  if (p.mode === "latency") {
    for (let i = 0; i < p.warmup + p.count; i++) {
      a.recv(out);
      b.send(out);
    }
  } else {
    for (let i = 0; i < p.warmup; i++) a.recv(out);
    b.send(out);
    for (let i = 0; i < p.count; i++) a.recv(out);
    b.send(out);
  }
}

async function parentSync(p: Params): Promise<void> {
  const mechanism = SYNC_MECHANISMS[p.mechanism]!;
  const slots = slotsFor(p.size);
  const tag = `ipcbook-bench-${process.pid}-${randomBytes(3).toString("hex")}`;
  const setup = mechanism.setup(p.size, slots, tag);
  let link: Link | undefined;
  try {
    using child = spawn([process.execPath, import.meta.path, "--child", p.mechanism, p.mode, String(p.size), String(p.count), String(p.warmup), ...setup.childArgs], {
      pass: setup.pass,
      stdout: "null",
    });
    link = setup.link;
    await setup.childReady?.();
    const buf = new Uint8Array(Math.max(64, p.size)).fill(0x5a);
    const out = new Uint8Array(Math.max(64, p.size));
    const { a, b } = link;
    if (p.mode === "latency") {
      for (let i = 0; i < p.warmup; i++) {
        a.send(buf);
        b.recv(out);
      }
      setup.unlinkNames();
      // ANCHOR: latency
      const rtt = new Float64Array(p.count);
      const started = now();
      for (let i = 0; i < p.count; i++) {
        const t0 = now();
        a.send(buf); // to the child, which sends it straight back
        b.recv(out);
        rtt[i] = now() - t0;
      }
      const total = now() - started;
      // ANCHOR_END: latency
      report(p, rtt, total);
    } else {
      for (let i = 0; i < p.warmup; i++) a.send(buf);
      b.recv(out);
      setup.unlinkNames();
      const started = now();
      for (let i = 0; i < p.count; i++) a.send(buf);
      b.recv(out);
      report(p, null, now() - started);
    }
    const status = child.wait(30);
    if (status === null || status.kind !== "exited" || status.code !== 0) throw new Error(`the child failed: ${JSON.stringify(status)}`);
  } finally {
    link?.close();
    setup.cleanup();
  }
}

/* ------------------------------------------------------------------ */
/* What a Bun user would use: asynchronous, message events             */

/** The sending side of an asynchronous mechanism. */
interface AsyncLink {
  send(message: Uint8Array): void;
  /** Resolves with the next message from the peer. */
  next(): Promise<unknown>;
  close(): void | Promise<void>;
}

/** Queues incoming messages and hands them to whoever waits. */
class Inbox {
  #queue: unknown[] = [];
  #waiter: ((message: unknown) => void) | null = null;

  push(message: unknown): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter(message);
    } else this.#queue.push(message);
  }

  next(): Promise<unknown> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift());
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

/** Runs the protocol on an asynchronous link; the peer echoes (latency) or answers every WINDOW/2 and at the end. */
async function driveAsync(p: Params, link: AsyncLink): Promise<void> {
  const buf = new Uint8Array(p.size).fill(0x5a);
  if (p.mode === "latency") {
    for (let i = 0; i < p.warmup; i++) {
      link.send(buf);
      await link.next();
    }
    const rtt = new Float64Array(p.count);
    const started = now();
    for (let i = 0; i < p.count; i++) {
      const t0 = now();
      link.send(buf);
      await link.next();
      rtt[i] = now() - t0;
    }
    report(p, rtt, now() - started);
    return;
  }
  const batch = async (n: number) => {
    // The peer answers after every WINDOW / 2 messages and after the last.
    let answered = 0;
    for (let sent = 0; sent < n; ) {
      while (sent < n && sent - answered < WINDOW) {
        link.send(buf);
        sent++;
      }
      answered = Number(await link.next());
    }
    while (answered < n) answered = Number(await link.next());
  };
  await batch(p.warmup);
  const started = now();
  await batch(p.count);
  report(p, null, now() - started);
}

/** The peer's side: echo, or count and answer with the count so far. */
function peerHandler(p: Params, send: (message: unknown) => void): (message: unknown) => void {
  if (p.mode === "latency") return (message) => send(message);
  let received = 0;
  let phase = p.warmup;
  return () => {
    received++;
    if (received % (WINDOW / 2) === 0 || received === phase) send(received);
    if (received === phase) {
      received = 0;
      phase = p.count;
    }
  };
}

async function parentNative(p: Params): Promise<void> {
  const args = ["--child", p.mechanism, p.mode, String(p.size), String(p.count), String(p.warmup)];
  const inbox = new Inbox();
  if (p.mechanism === "bun-ipc") {
    const child = Bun.spawn([process.execPath, import.meta.path, ...args], {
      ipc: (message) => inbox.push(message),
      stdout: "ignore",
      stderr: "inherit",
    });
    try {
      await driveAsync(p, { send: (m) => child.send(m), next: () => inbox.next(), close: () => child.disconnect() });
      child.disconnect();
      const code = await child.exited;
      if (code !== 0) throw new Error(`the child exited with ${code}`);
    } finally {
      child.kill("SIGKILL");
    }
    return;
  }
  if (p.mechanism === "worker") {
    const worker = new Worker(new URL("./worker-peer.ts", import.meta.url).href, { argv: args.slice(2) } as WorkerOptions);
    worker.onmessage = (event) => inbox.push(event.data);
    try {
      await driveAsync(p, { send: (m) => worker.postMessage(m), next: () => inbox.next(), close: () => worker.terminate() });
    } finally {
      await worker.terminate();
    }
    return;
  }
  // node-net: a server on a Unix socket in a fresh folder; the child connects.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ipcbook-bench-${process.pid}-`));
  const socketPath = path.join(dir, "bench.sock");
  const server = net.createServer();
  try {
    const connected = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const child = Bun.spawn([process.execPath, import.meta.path, ...args, socketPath], { stdout: "ignore", stderr: "inherit" });
    try {
      const socket = await connected;
      socket.setNoDelay(true);
      // Echoes come back whole (SIZE bytes); throughput answers are 4-byte counts.
      const framer = p.mode === "latency" ? new Framer(p.size, (m) => inbox.push(m)) : new Framer(4, (m) => inbox.push(m), true);
      socket.on("data", (chunk) => framer.push(chunk as Buffer));
      await driveAsync(p, {
        send: (m) => socket.write(m),
        next: () => inbox.next(),
        close: () => void socket.end(),
      });
      socket.end();
      const code = await child.exited;
      if (code !== 0) throw new Error(`the child exited with ${code}`);
    } finally {
      child.kill("SIGKILL");
    }
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Splits a byte stream into messages: SIZE-byte echoes (latency), or
 * 4-byte counts (throughput answers). The stream carries no lengths: each
 * side knows what the other sends.
 */
class Framer {
  #pending: Buffer = Buffer.alloc(0);
  constructor(
    /** Bytes per message; 4 for counts. */
    readonly size: number,
    readonly deliver: (message: unknown) => void,
    /** Whether the messages are 4-byte counts (decoded) rather than bytes. */
    readonly counts = false,
  ) {}

  push(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= this.size) {
      const message = this.#pending.subarray(0, this.size);
      this.#pending = this.#pending.subarray(this.size);
      this.deliver(this.counts ? message.readUInt32LE(0) : message);
    }
  }
}

async function childNative(p: Params, extra: string[]): Promise<void> {
  if (p.mechanism === "bun-ipc") {
    const handler = peerHandler(p, (m) => process.send!(m));
    process.on("message", handler);
    process.on("disconnect", () => process.exit(0));
    return;
  }
  // node-net
  const socket = net.connect(extra[0]!);
  socket.setNoDelay(true);
  const write = (m: unknown) => {
    if (typeof m === "number") {
      const answer = Buffer.alloc(4);
      answer.writeUInt32LE(m, 0);
      socket.write(answer);
    } else socket.write(m as Uint8Array);
  };
  const handler = peerHandler(p, write);
  const framer = new Framer(p.size, handler);
  socket.on("data", (chunk) => framer.push(chunk as Buffer));
  socket.on("end", () => process.exit(0));
}

/* ------------------------------------------------------------------ */

if (import.meta.main) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    sys.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); // die with the parent
    const p = parse(argv.slice(1, 6));
    const extra = argv.slice(6);
    const mechanism = SYNC_MECHANISMS[p.mechanism];
    if (mechanism) {
      const link = mechanism.child(p.size, slotsFor(p.size), extra);
      try {
        childLoop(p, link);
      } finally {
        link.close();
      }
    } else await childNative(p, extra);
  } else {
    const p = parse(argv);
    if (SYNC_MECHANISMS[p.mechanism]) await parentSync(p);
    else if ((NATIVE_MECHANISMS as readonly string[]).includes(p.mechanism)) await parentNative(p);
    else {
      console.error(`unknown mechanism ${p.mechanism}`);
      process.exit(2);
    }
  }
}
