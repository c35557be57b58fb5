/**
 * Graded tests of chapter 07 (Unix domain sockets). Every task is a
 * server: the student's function runs in a process of its own, and this
 * process (or processes it starts) connects as the clients. The verdicts
 * come from what really arrives here: the frames and their order, the
 * descriptor and the file behind it, the socket file and its mode.
 *
 *   bun test test/07-sockets.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/07-sockets.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { F, O } from "../lib/ffi/constants.ts";
import { sys } from "../lib/ffi/libc.ts";
import { frame, UnixSocket } from "../lib/index.ts";
import { gradedChapter, must, type TaskContext } from "./harness/task.ts";
import type { CallResult } from "./harness/student.ts";

const { task } = gradedChapter("07-sockets");
const LIB = path.resolve(import.meta.dir, "../lib/index.ts");

/** A call started but not awaited, with a flag that says when it ended. */
function started(promise: Promise<CallResult>): { result: Promise<CallResult>; finished: boolean } {
  const tracked = { result: promise, finished: false };
  void promise.then(() => (tracked.finished = true));
  return tracked;
}

/** Waits for the student's server to create its socket file; fails the task if the call ends first. */
async function socketAppears(t: TaskContext, call: ReturnType<typeof started>, file: string, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!fs.existsSync(file)) {
    if (call.finished) {
      t.done(await call.result, what);
      must(false, `${what} returned without creating the socket ${file}`);
    }
    must(Date.now() < deadline, `${what} did not create its socket file ${file} within 15 s`);
    await Bun.sleep(10);
  }
  must(fs.lstatSync(file).isSocket(), `${file} is not a socket file (is it a plain file?)`);
}

/** Some text with non-ASCII letters, different on every run. */
function randomText(): string {
  const words = ["příliš", "žluťoučký", "kůň", "úpěl", "ďábelské", "ódy", "zażółć", "gęślą", "jaźń", "ipc"];
  return Array.from({ length: randomInt(1, 6) }, () => words[randomInt(words.length)]).join(" ") + ` ${randomBytes(3).toString("hex")}`;
}

/**
 * Connects as a client of a server that may still be starting: its socket
 * file appears at bind(), but connections are refused until its listen().
 */
async function connectTo(file: string): Promise<UnixSocket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return UnixSocket.connect(file, { timeout: 10 });
    } catch (error) {
      if ((error as { code?: string }).code !== "ECONNREFUSED" || Date.now() > deadline) throw error;
      await Bun.sleep(20);
    }
  }
}

task(
  {
    number: 1,
    title: "a multi-client server on a Unix socket with framed messages",
    points: 4,
    read: "Framing messages on a stream",
    hint: "listenUnix(path, { mode: 0o600, socket: { open, data, close } }) serves every client on the event loop; give each connection its own FrameReader (in connection.data), answer each frame with frame(text.toUpperCase()), count the closes, then server.stop(true).",
    timeoutMs: 30_000,
  },
  async (t) => {
    const file = path.join(t.scratch("framed"), "framed.sock");
    const call = started(t.call("serveFramed", [file, 3]));
    await socketAppears(t, call, file, "serveFramed()");
    const mode = fs.lstatSync(file).mode & 0o777;
    must(mode === 0o600, `the socket file has mode ${mode.toString(8)}; it should be 600 (only your user may connect)`);

    const [a, b, c] = [await connectTo(file), await connectTo(file), await connectTo(file)];
    try {
      // A stops in the middle of a frame; B must still be answered.
      const textA = randomText();
      const wireA = frame(textA);
      a.send(wireA.subarray(0, 6));
      const textB = randomText();
      b.sendFrame(textB);
      let replyB: Buffer | null = null;
      try {
        replyB = await b.receiveFrameAsync({ timeout: 10 });
      } catch {
        // no answer within 10 s
      }
      if (call.finished) t.done(await call.result, "serveFramed()");
      must(replyB !== null, "client B got no answer while client A was half-way through a frame: serve the clients at the same time, not one after the other");
      must(replyB.toString() === textB.toUpperCase(), `client B sent "${textB}" and got "${replyB.toString()}" instead of "${textB.toUpperCase()}"`);

      // The rest of A's frame, and a second frame in the same write: two answers, in order.
      const secondA = randomText();
      a.send(Buffer.concat([wireA.subarray(6), frame(secondA)]));
      const replies = [await a.receiveFrameAsync({ timeout: 10 }), await a.receiveFrameAsync({ timeout: 10 })].map((r) => r?.toString());
      must(
        JSON.stringify(replies) === JSON.stringify([textA.toUpperCase(), secondA.toUpperCase()]),
        `client A sent "${textA}" in two pieces and then "${secondA}"; it got ${JSON.stringify(replies)}`,
      );

      // C: three frames, sent one byte at a time.
      const textsC = [randomText(), "", randomText()];
      const wireC = Buffer.concat(textsC.map((text) => frame(text)));
      for (let i = 0; i < wireC.length; i++) c.send(wireC.subarray(i, i + 1));
      const repliesC: string[] = [];
      for (let i = 0; i < textsC.length; i++) repliesC.push((await c.receiveFrameAsync({ timeout: 10 }))?.toString() ?? "(nothing)");
      must(
        JSON.stringify(repliesC) === JSON.stringify(textsC.map((text) => text.toUpperCase())),
        `client C sent ${JSON.stringify(textsC)} one byte at a time; it got ${JSON.stringify(repliesC)}`,
      );
    } finally {
      for (const s of [a, b, c]) s.close();
    }
    const result = await call.result;
    t.done(result, "serveFramed() after its three clients had closed");
    must(!fs.existsSync(file), "the socket file is still there after serveFramed() returned");
  },
);

task(
  {
    number: 2,
    title: "a broker that passes an open descriptor to a client",
    points: 3,
    read: "Passing descriptors",
    hint: "UnixSocket.listen(socketPath), then `await listener.acceptAsync()`, open the file with new OpenFile(filePath, { readOnly: true }) and send(\"F\", { descriptors: [file.fd] }); `using` closes everything.",
    timeoutMs: 20_000,
  },
  async (t) => {
    const dir = t.scratch("broker");
    const socketFile = path.join(dir, "broker.sock");
    const data = path.join(dir, "ledger.txt");
    const content = `ledger ${randomBytes(12).toString("hex")}\n`;
    fs.writeFileSync(data, content);
    const call = started(t.call("shareFile", [socketFile, data]));
    await socketAppears(t, call, socketFile, "shareFile()");

    using client = await connectTo(socketFile);
    const message = await client.receiveAsync({ timeout: 10 }).catch(() => null);
    if (call.finished && message === null) t.done(await call.result, "shareFile()");
    must(message !== null, "shareFile() accepted the connection but sent nothing within 10 s");
    must(message.data.length >= 1, "shareFile() sent no byte with the descriptor (descriptors travel with data)");
    must(message.descriptors.length === 1, `the message carried ${message.descriptors.length} descriptors; it should carry exactly one`);
    const [fd] = message.descriptors;
    try {
      const flags = sys.fcntl(fd!, F.GETFL, 0);
      must((flags & 0o3) === O.RDONLY, "the descriptor was opened for writing too; open the file for reading only");
      const st = fs.fstatSync(fd!);
      must(st.ino === fs.statSync(data).ino, "the descriptor is not of the file you were asked to share");
      const buffer = Buffer.alloc(content.length + 10);
      const n = fs.readSync(fd!, buffer, 0, buffer.length, 0);
      must(buffer.subarray(0, n).toString() === content, "reading through the descriptor did not give the file's contents");
    } finally {
      fs.closeSync(fd!);
    }
    t.done(await call.result, "shareFile()");
    must(!fs.existsSync(socketFile), "the socket file is still there after shareFile() returned");
  },
);

/** Whether the test can run a client as another user: root, with setpriv(1). */
const canBeNobody = process.getuid?.() === 0 && Bun.which("setpriv") !== null;

/** A client in a process of its own (as user nobody if asked): prints the frame it got, or "EOF", or the error code. */
function visitor(file: string, asNobody: boolean): Bun.Subprocess<"ignore", "pipe", "pipe"> {
  const script = `
    const { UnixSocket } = await import(${JSON.stringify(LIB)});
    const connect = async () => {
      for (let tries = 0; ; tries++) {
        try { return UnixSocket.connect(${JSON.stringify(file)}, { timeout: 10 }); }
        catch (e) { if (e.code !== "ECONNREFUSED" || tries > 500) throw e; await Bun.sleep(20); } // not listening yet
      }
    };
    try {
      using s = await connect();
      const f = s.receiveFrame({ timeout: 15 });
      console.log(f === null ? "EOF" : "FRAME " + f.toString());
    } catch (e) { console.log("ERROR " + (e.code ?? e.name)); }`;
  const wrap = asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  return Bun.spawn([...wrap, process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe", cwd: "/" });
}

task(
  {
    number: 3,
    title: "a server that answers only peers of its own user (SO_PEERCRED)",
    points: 3,
    read: "Who is calling: peer credentials",
    hint: "UnixSocket.listen(path, { mode: 0o666 }); for each connection `const { pid, uid } = peer.peerCredentials()`; if uid === process.getuid() sendFrame(`welcome ${pid}`); close it either way.",
    timeoutMs: 30_000,
  },
  async (t) => {
    const dir = t.scratch("guarded");
    if (canBeNobody) {
      // Let another user reach the socket: search permission on the folders above it.
      fs.chmodSync(dir, 0o711);
      fs.chmodSync(path.dirname(dir), 0o711);
    }
    const file = path.join(dir, "guarded.sock");
    const connections = canBeNobody ? 2 : 1;
    const call = started(t.call("serveOwnUser", [file, connections]));
    await socketAppears(t, call, file, "serveOwnUser()");
    const mode = fs.lstatSync(file).mode & 0o777;
    must(mode === 0o666, `the socket file has mode ${mode.toString(8)}; it should be 666, so that anyone can connect and SO_PEERCRED decides`);

    const friend = visitor(file, false);
    const said = (await new Response(friend.stdout).text()).trim();
    await friend.exited;
    if (call.finished && !said.startsWith("FRAME")) t.done(await call.result, "serveOwnUser()");
    must(
      said === `FRAME welcome ${friend.pid}`,
      `a client of your own user, process ${friend.pid}, should get "welcome ${friend.pid}" (its pid, from SO_PEERCRED); it got ${JSON.stringify(said)}`,
    );

    if (canBeNobody) {
      const stranger = visitor(file, true);
      const answer = (await new Response(stranger.stdout).text()).trim();
      await stranger.exited;
      must(answer !== "ERROR EACCES", "user nobody could not even connect: the socket file (or its folder) does not let others in; give it mode 0666");
      must(answer === "EOF", `a client of another user (nobody, uid 65534) must be closed without a word; it got ${JSON.stringify(answer)}`);
    }
    t.done(await call.result, "serveOwnUser()");
    must(!fs.existsSync(file), "the socket file is still there after serveOwnUser() returned");
  },
);
