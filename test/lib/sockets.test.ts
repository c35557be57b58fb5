/**
 * lib/sockets.ts on real sockets: stream, datagram and seqpacket, pairs,
 * abstract names, framing, descriptors passed between processes, peer
 * credentials, socket-file modes, stale files, bad input, and the waits
 * that must not freeze the event loop. Other processes are started where
 * the point is a *different* process (credentials, descriptors); as root,
 * one test runs a client as user nobody with setpriv(1) to see the
 * socket file's mode and SO_PEERCRED's uid at work.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  abstractAddress,
  adoptStream,
  connectUnix,
  frame,
  FrameReader,
  InvalidError,
  IpcError,
  listenUnix,
  NotFoundError,
  TimeoutError,
  UnixSocket,
  unixSocketTable,
} from "../../lib/index.ts";
import { F, O } from "../../lib/ffi/constants.ts";
import { sys } from "../../lib/ffi/libc.ts";
import { tempDir, thrown } from "./support.ts";

setDefaultTimeout(30_000);

const scratch = tempDir("sockets");
const LIB = path.resolve(import.meta.dir, "../../lib/index.ts");
const opened: { close(): void }[] = [];
const children: Bun.Subprocess[] = [];
let serial = 0;

function socketPath(label: string): string {
  return path.join(scratch.dir, `${label}-${++serial}.sock`);
}

function track<T extends { close(): void }>(thing: T): T {
  opened.push(thing);
  return thing;
}

/** Starts `bun -e script` (the script may import the library as `lib`). */
function child(script: string, options: { stdout?: "pipe" | "inherit"; argv0?: string[] } = {}): Bun.Subprocess<"pipe", "pipe", "pipe"> {
  const body = `const lib = await import(${JSON.stringify(LIB)});\n${script}`;
  const c = Bun.spawn([...(options.argv0 ?? []), process.execPath, "-e", body], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.push(c);
  return c;
}

async function output(c: Bun.Subprocess<"pipe", "pipe", "pipe">): Promise<string> {
  const [out, err] = await Promise.all([new Response(c.stdout).text(), new Response(c.stderr).text()]);
  await c.exited;
  if (c.exitCode !== 0) throw new Error(`child failed (${c.exitCode}): ${err}`);
  return out.trim();
}

/** A unique abstract name for this run. */
function abstract(label: string) {
  return abstractAddress(`ipcbook-t${process.pid}-${label}-${++serial}`);
}

afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) thing.close();
  for (const c of children.splice(0)) {
    c.kill("SIGKILL");
    await c.exited;
  }
});

afterAll(() => {
  scratch.remove();
  expect(unixSocketTable().filter((e) => JSON.stringify(e.address ?? "").includes(`ipcbook-t${process.pid}`))).toEqual([]);
});

describe("stream sockets", () => {
  test("listen, connect, accept, send and receive both ways; close removes the socket file", () => {
    const file = socketPath("echo");
    const server = track(UnixSocket.listen(file));
    expect(fs.lstatSync(file).isSocket()).toBe(true);
    expect(fs.lstatSync(file).mode & 0o777).toBe(0o600);
    const client = track(UnixSocket.connect(file));
    const peer = track(server.accept({ timeout: 5 }));
    expect(client.send("ping")).toBe(4);
    expect(peer.receive({ timeout: 5 }).data.toString()).toBe("ping");
    peer.send("pong");
    expect(client.receive({ timeout: 5 }).data.toString()).toBe("pong");
    peer.close();
    expect(client.receive({ timeout: 5 }).eof).toBe(true);
    server.close();
    expect(fs.existsSync(file)).toBe(false);
  });

  test("the socket file gets the mode asked for, at creation", () => {
    const file = socketPath("mode");
    track(UnixSocket.listen(file, { mode: 0o660 }));
    expect(fs.lstatSync(file).mode & 0o777).toBe(0o660);
    expect(process.umask()).toBe(process.umask()); // the umask is restored (and readable twice)
  });

  test("SO_PEERCRED names the connecting process: its pid, uid and gid", async () => {
    const file = socketPath("creds");
    const server = track(UnixSocket.listen(file));
    const client = child(`using s = lib.UnixSocket.connect(${JSON.stringify(file)}); s.send("hi"); s.receive({ timeout: 10 });`);
    const peer = track(await server.acceptAsync({ timeout: 10 }));
    expect(peer.peerCredentials()).toEqual({ pid: client.pid, uid: process.getuid!(), gid: process.getgid!() });
    peer.send("bye");
    await client.exited;
  });

  test("a stream keeps no message boundaries; frames put them back", () => {
    const [a, b] = UnixSocket.pair("stream").map(track);
    a!.send("one");
    a!.send("two");
    a!.send("three");
    let joined = "";
    let reads = 0;
    while (joined.length < 11) {
      joined += b!.receive({ timeout: 5 }).data.toString();
      reads++;
    }
    expect(joined).toBe("onetwothree"); // the bytes in order, in however many reads it took
    expect(reads).toBeLessThanOrEqual(3);
    a!.sendFrame("one");
    a!.sendFrame("");
    a!.sendFrame(Buffer.from([0, 1, 2]));
    a!.send(frame("four").subarray(0, 3)); // half a frame ...
    expect(b!.receiveFrame({ timeout: 5 })!.toString()).toBe("one");
    expect(b!.receiveFrame({ timeout: 5 })!.toString()).toBe("");
    expect([...b!.receiveFrame({ timeout: 5 })!]).toEqual([0, 1, 2]);
    expect(thrown(() => b!.receiveFrame({ timeout: 0.05 }))).toBeInstanceOf(TimeoutError);
    a!.send(frame("four").subarray(3)); // ... and the rest
    expect(b!.receiveFrame({ timeout: 5 })!.toString()).toBe("four");
  });

  test("the end of a stream in the middle of a frame is an error, at a frame boundary it is null", () => {
    const [a, b] = UnixSocket.pair("stream").map(track);
    a!.sendFrame("whole");
    a!.close();
    expect(b!.receiveFrame({ timeout: 5 })!.toString()).toBe("whole");
    expect(b!.receiveFrame({ timeout: 5 })).toBeNull();
    const [c, d] = UnixSocket.pair("stream").map(track);
    c!.send(frame("cut short").subarray(0, 6));
    c!.close();
    const error = thrown(() => d!.receiveFrame({ timeout: 5 }));
    expect((error as IpcError).code).toBe("EPROTO");
  });
});

describe("FrameReader", () => {
  test("any split of the byte stream gives back the same frames", () => {
    const payloads = ["a", "", "hello, world", "ž".repeat(300)];
    const bytes = Buffer.concat(payloads.map((p) => frame(p)));
    for (const step of [1, 2, 3, 5, 7, 64, bytes.length]) {
      const reader = new FrameReader();
      const got: string[] = [];
      for (let i = 0; i < bytes.length; i += step) got.push(...reader.push(bytes.subarray(i, i + step)).map(String));
      expect(got).toEqual(payloads);
      expect(reader.pendingBytes).toBe(0);
    }
  });

  test("a length over the limit is refused instead of waited for", () => {
    const reader = new FrameReader(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    expect(() => reader.push(header)).toThrow(RangeError);
  });
});

describe("datagram and seqpacket sockets", () => {
  test("datagrams keep their boundaries and say who sent them; too small a buffer truncates", () => {
    const receiver = track(UnixSocket.bind(socketPath("dgram")));
    const sender = track(UnixSocket.bind(socketPath("sender")));
    sender.send("first", { to: receiver.address! });
    sender.send("second", { to: receiver.address! });
    const one = receiver.receive({ timeout: 5 });
    expect(one.data.toString()).toBe("first");
    expect(one.from).toBe(sender.address);
    const two = receiver.receive({ timeout: 5, maxBytes: 3 });
    expect(two.data.toString()).toBe("sec");
    expect(two.truncated).toBe(true);
    const anonymous = track(UnixSocket.datagram());
    anonymous.send("from nobody", { to: receiver.address! });
    expect(receiver.receive({ timeout: 5 }).from).toBeNull();
  });

  test("an abstract name has no file, and shows in /proc/net/unix with a leading @", () => {
    const name = abstract("abstract");
    const receiver = track(UnixSocket.bind(name));
    const sender = track(UnixSocket.datagram());
    sender.send("to a name with no file", { to: name });
    expect(receiver.receive({ timeout: 5 }).data.toString()).toBe("to a name with no file");
    expect(receiver.localAddress()).toEqual(name);
    const entry = unixSocketTable().find((e) => typeof e.address === "object" && e.address?.abstract === name.abstract);
    expect(entry).toMatchObject({ type: "datagram", listening: false });
    expect(entry!.line.endsWith(`@${name.abstract}`)).toBe(true);
  });

  test("seqpacket: connections like a stream, boundaries like datagrams, and an end", () => {
    const name = abstract("seqpacket");
    const server = track(UnixSocket.listen(name, { type: "seqpacket" }));
    expect(unixSocketTable().find((e) => typeof e.address === "object" && e.address?.abstract === name.abstract)).toMatchObject({ type: "seqpacket", listening: true });
    const client = track(UnixSocket.connect(name, { type: "seqpacket" }));
    const peer = track(server.accept({ timeout: 5 }));
    client.send("alpha");
    client.send("");
    client.send("beta");
    expect(["alpha", "", "beta"].map(() => peer.receive({ timeout: 5 }).data.toString())).toEqual(["alpha", "", "beta"]);
    client.close();
    expect(peer.receive({ timeout: 5 }).eof).toBe(true);
  });

  test("socketpair: two connected sockets, each the other's peer", () => {
    for (const type of ["stream", "datagram", "seqpacket"] as const) {
      const [a, b] = UnixSocket.pair(type).map(track);
      a!.send(`${type} hello`);
      expect(b!.receive({ timeout: 5 }).data.toString()).toBe(`${type} hello`);
      expect(b!.peerCredentials().pid).toBe(process.pid);
    }
  });

  test("a socket file of another type is refused (EPROTOTYPE); an abstract name of another type is not found (ECONNREFUSED)", () => {
    const file = socketPath("wrong-type");
    track(UnixSocket.listen(file, { type: "seqpacket" }));
    const error = thrown(() => UnixSocket.connect(file, { type: "stream" })) as IpcError;
    expect(error.code).toBe("EPROTOTYPE");
    expect(error.hint).toContain("another type");
    const name = abstract("wrong-type");
    track(UnixSocket.listen(name, { type: "seqpacket" }));
    expect((thrown(() => UnixSocket.connect(name, { type: "stream" })) as IpcError).code).toBe("ECONNREFUSED");
  });
});

describe("passing descriptors (SCM_RIGHTS)", () => {
  test("a descriptor of a file that has no name any more reaches another process, which reads it", async () => {
    const file = socketPath("rights");
    const server = track(UnixSocket.listen(file));
    const client = child(`
      using s = lib.UnixSocket.connect(${JSON.stringify(file)});
      const m = s.receive({ timeout: 10 });
      const fs = await import("node:fs");
      console.log(JSON.stringify({ text: m.data.toString(), count: m.descriptors.length, content: fs.readFileSync(m.descriptors[0], "utf8") }));`);
    const peer = track(await server.acceptAsync({ timeout: 10 }));
    const secret = path.join(scratch.dir, "secret.txt");
    fs.writeFileSync(secret, "passed by descriptor");
    const fd = fs.openSync(secret, "r");
    fs.rmSync(secret); // nobody can open it by name now
    peer.send("here", { descriptors: [fd] });
    fs.closeSync(fd); // the receiver has its own copy
    expect(JSON.parse(await output(client))).toEqual({ text: "here", count: 1, content: "passed by descriptor" });
  });

  test("several descriptors in one message; more than the receiver allows are closed by the kernel and flagged", () => {
    const [a, b] = UnixSocket.pair("stream").map(track);
    const fds = [0, 1, 2].map(() => fs.openSync(__filename, "r"));
    a!.send("x", { descriptors: fds });
    const got = b!.receive({ timeout: 5, maxDescriptors: 2 });
    for (const fd of fds) fs.closeSync(fd);
    expect(got.descriptors).toHaveLength(2);
    expect(got.descriptorsTruncated).toBe(true);
    for (const fd of got.descriptors) {
      expect(fs.readFileSync(fd, "utf8")).toContain("SCM_RIGHTS");
      fs.closeSync(fd);
    }
  });

  test("a received socket can be wrapped and used", () => {
    const [a, b] = UnixSocket.pair("stream").map(track);
    const [x, y] = UnixSocket.pair("seqpacket").map(track);
    a!.send("a socket for you", { descriptors: [x!.fd] });
    const [fd] = b!.receive({ timeout: 5 }).descriptors;
    const received = track(UnixSocket.fromDescriptor(fd!));
    expect(received.type).toBe("seqpacket");
    received.send("through the passed socket");
    expect(y!.receive({ timeout: 5 }).data.toString()).toBe("through the passed socket");
  });
});

describe("stale socket files, permissions and bad input", () => {
  test("a socket file left by a killed server is removed on start; a live server's is not touched", async () => {
    const file = socketPath("stale");
    const dead = child(`lib.UnixSocket.listen(${JSON.stringify(file)}); console.log("up"); await Bun.sleep(60000);`);
    await dead.stdout.getReader().read();
    dead.kill("SIGKILL");
    await dead.exited;
    expect(fs.lstatSync(file).isSocket()).toBe(true); // left behind
    expect((thrown(() => UnixSocket.connect(file)) as IpcError).code).toBe("ECONNREFUSED");
    expect((thrown(() => UnixSocket.connect(file)) as IpcError).hint).toContain("stale");

    const server = track(UnixSocket.listen(file)); // removes the stale file and binds
    const busy = thrown(() => UnixSocket.listen(file));
    expect((busy as IpcError).code).toBe("EADDRINUSE");
    expect(busy.message).toContain("a server is listening");
    const client = track(UnixSocket.connect(file)); // the live server still answers
    expect(server.accept({ timeout: 5 }).close()).toBeUndefined();
    client.close();
    expect(fs.existsSync(`${file}.bind-lock`)).toBe(false);
  });

  test("without removeStale a stale file is an error", async () => {
    const file = socketPath("keep");
    const dead = child(`lib.UnixSocket.listen(${JSON.stringify(file)}); console.log("up"); await Bun.sleep(60000);`);
    await dead.stdout.getReader().read();
    dead.kill("SIGKILL");
    await dead.exited;
    expect((thrown(() => UnixSocket.listen(file, { removeStale: false })) as IpcError).code).toBe("EADDRINUSE");
    fs.rmSync(file);
  });

  test("no socket file: NotFoundError with a hint", () => {
    const error = thrown(() => UnixSocket.connect(path.join(scratch.dir, "nobody-here.sock")));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as IpcError).hint).toContain("is the server running");
  });

  test("a path longer than sun_path allows is refused before any system call; 107 bytes is fine", () => {
    const calls: string[] = [];
    const table = sys as unknown as Record<string, (...args: unknown[]) => unknown>;
    const originals = new Map(["socket", "bind", "connect"].map((name) => [name, table[name]!]));
    for (const [name, original] of originals) table[name] = (...args: unknown[]) => (calls.push(name), original(...args));
    let long: Error;
    try {
      long = thrown(() => UnixSocket.connect(path.join(scratch.dir, "x".repeat(120))));
      expect(thrown(() => UnixSocket.listen({ abstract: "y".repeat(108) }))).toBeInstanceOf(InvalidError);
      expect(thrown(() => UnixSocket.connect("with\0nul"))).toBeInstanceOf(InvalidError);
    } finally {
      for (const [name, original] of originals) table[name] = original;
    }
    expect(long).toBeInstanceOf(InvalidError);
    expect(long.message).toContain("at most 107 bytes");
    expect(calls).toEqual([]);

    // Exactly 107 bytes: a folder name chosen to make the whole path that long.
    const base = path.join(scratch.dir, "d");
    const fileName = "s.sock";
    const folder = `${base}${"f".repeat(107 - Buffer.byteLength(base) - 1 - fileName.length)}`;
    fs.mkdirSync(folder);
    const exact = path.join(folder, fileName);
    expect(Buffer.byteLength(exact)).toBe(107);
    track(UnixSocket.listen(exact));
    track(UnixSocket.connect(exact));
    expect(thrown(() => UnixSocket.listen(`${exact}x`))).toBeInstanceOf(InvalidError);
  });

  test("timeouts: accept and receive give up with a TimeoutError", () => {
    const server = track(UnixSocket.listen(abstract("timeout")));
    expect(thrown(() => server.accept({ timeout: 0.05 }))).toBeInstanceOf(TimeoutError);
    const [a] = UnixSocket.pair().map(track);
    expect(thrown(() => a!.receive({ timeout: 0 }))).toBeInstanceOf(TimeoutError);
    expect(thrown(() => a!.receive({ timeout: -1 }))).toBeInstanceOf(RangeError);
  });

  test.skipIf(process.getuid?.() !== 0 || Bun.which("setpriv") === null)(
    "as another user (nobody, via setpriv): a 0600 socket file refuses the connection (EACCES), a 0666 one lets it in and SO_PEERCRED shows uid 65534",
    async () => {
      const folder = fs.mkdtempSync(path.join(scratch.dir, "shared-"));
      fs.chmodSync(scratch.dir, 0o711);
      fs.chmodSync(folder, 0o711);
      const closed = path.join(folder, "private.sock");
      const open = path.join(folder, "public.sock");
      track(UnixSocket.listen(closed)); // 0600 by default
      const server = track(UnixSocket.listen(open, { mode: 0o666 }));
      const asNobody = (file: string) =>
        child(
          `try { using s = lib.UnixSocket.connect(${JSON.stringify(file)}); console.log("connected"); s.receive({ timeout: 10 }); } catch (e) { console.log(e.code); }`,
          { argv0: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] },
        );
      expect(await output(asNobody(closed))).toBe("EACCES");
      const client = asNobody(open);
      const peer = track(await server.acceptAsync({ timeout: 10 }));
      expect(peer.peerCredentials()).toMatchObject({ pid: client.pid, uid: 65534, gid: 65534 });
      peer.send("bye");
      expect(await output(client)).toBe("connected");
    },
  );
});

describe("blocking, as in C", () => {
  for (const arrives of ["blocking", "non-blocking"]) {
    test(`receive() with no timeout waits for data that comes later, on a descriptor that arrives ${arrives}, and leaves its O_NONBLOCK alone`, async () => {
      const [mine, theirs] = UnixSocket.pair("stream");
      track(mine);
      const writer = Bun.spawn(["sh", "-c", "sleep 0.2; printf late >&3"], { stdio: ["ignore", "ignore", "ignore", theirs.fd] });
      children.push(writer as unknown as Bun.Subprocess);
      theirs.close();
      const flags = sys.fcntl(mine.fd, F.GETFL, 0);
      const wanted = arrives === "blocking" ? flags & ~O.NONBLOCK : flags | O.NONBLOCK;
      expect(sys.fcntl(mine.fd, F.SETFL, wanted)).toBe(0);
      const adopted = track(UnixSocket.fromDescriptor(sys.dup(mine.fd)));
      expect(adopted.receive().data.toString()).toBe("late");
      expect(sys.fcntl(adopted.fd, F.GETFL, 0) & O.NONBLOCK).toBe(wanted & O.NONBLOCK);
    });
  }
});

describe("the event loop keeps running", () => {
  test("acceptAsync and receiveAsync wait without blocking timers", async () => {
    const name = abstract("async");
    const server = track(UnixSocket.listen(name));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const accepting = server.acceptAsync({ timeout: 10 });
      await Bun.sleep(30);
      const before = ticks;
      expect(before).toBeGreaterThan(0);
      const client = track(UnixSocket.connect(name));
      const peer = track(await accepting);
      const receiving = peer.receiveAsync({ timeout: 10 });
      await Bun.sleep(30);
      expect(ticks).toBeGreaterThan(before);
      client.send("late");
      expect((await receiving).data.toString()).toBe("late");
      await expect(peer.receiveAsync({ timeout: 0.05 })).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      clearInterval(timer);
    }
  });
});

describe("Bun's own sockets", () => {
  test("listenUnix: Bun.listen with the file's mode set and a stale file removed; connectUnix errors carry hints", async () => {
    const file = socketPath("bun");
    const dead = child(`lib.UnixSocket.listen(${JSON.stringify(file)}); console.log("up"); await Bun.sleep(60000);`);
    await dead.stdout.getReader().read();
    dead.kill("SIGKILL");
    await dead.exited;
    const listener = listenUnix(file, { mode: 0o640, socket: { data: (s, d) => void s.write(`echo ${d}`) } });
    try {
      expect(fs.lstatSync(file).mode & 0o777).toBe(0o640);
      const answer = new Promise<string>((resolve) => {
        void connectUnix(file, { open: (s) => void s.write("hi"), data: (s, d) => void (resolve(d.toString()), s.end()) });
      });
      expect(await answer).toBe("echo hi");
    } finally {
      listener.stop(true);
    }
    expect(fs.existsSync(file)).toBe(false);
    const missing = await connectUnix(file, { data() {} }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });

  test("adoptStream hands an accepted connection (after a look at its credentials) to Bun's event loop", async () => {
    const name = abstract("adopt");
    const server = track(UnixSocket.listen(name));
    const client = track(UnixSocket.connect(name));
    const accepted = await server.acceptAsync({ timeout: 10 });
    expect(accepted.peerCredentials().pid).toBe(process.pid);
    const got = new Promise<string>((resolve) => {
      void adoptStream(accepted, { data: (s, d) => void (resolve(d.toString()), s.end("served by Bun")) });
    });
    expect(accepted.closed).toBe(true);
    client.send("to Bun");
    expect(await got).toBe("to Bun");
    expect(client.receive({ timeout: 5 }).data.toString()).toBe("served by Bun");
  });
});

describe("/proc/net/unix", () => {
  test("parses types, states, the listening flag, paths and abstract names", () => {
    const text = [
      "Num       RefCount Protocol Flags    Type St Inode Path",
      "0000000000000000: 00000002 00000000 00010000 0001 01 2001 /run/app.sock",
      "0000000000000000: 00000003 00000000 00000000 0001 03 2002 /run/app.sock",
      "0000000000000000: 00000002 00000000 00000000 0002 01 2003 @ipcbook-name",
      "0000000000000000: 00000002 00000000 00000000 0005 01 2004",
    ].join("\n");
    expect(unixSocketTable(text).map(({ line: _line, ...rest }) => rest)).toEqual([
      { inode: 2001, type: "stream", state: "unconnected", listening: true, address: "/run/app.sock" },
      { inode: 2002, type: "stream", state: "connected", listening: false, address: "/run/app.sock" },
      { inode: 2003, type: "datagram", state: "unconnected", listening: false, address: { abstract: "ipcbook-name" } },
      { inode: 2004, type: "seqpacket", state: "unconnected", listening: false, address: null },
    ]);
  });
});
