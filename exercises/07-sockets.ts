/**
 * Chapter 07 exercise: Unix domain sockets.
 *
 * Three tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/07-sockets.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 07                    grades the tasks the way your instructor will
 *
 * Each task is a server. The grader starts your function in a process of
 * its own, connects to your socket from its own processes, and judges by
 * what really arrives: the frames, the descriptor, the socket file.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FrameReader, frame, listenUnix, OpenFile, UnixSocket } from "../lib/index.ts";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "07-sockets";

// ANCHOR: task1
/**
 * Task 1. Listen on a Unix stream socket at `path` (socket file mode
 * 0600) and serve `clients` connections at the same time. Each client
 * sends frames: a 4-byte big-endian length, then that many bytes of UTF-8
 * text. Answer every frame, on the same connection, with a frame holding
 * the text in upper case. A frame may arrive in pieces, and several may
 * arrive at once. When a client closes its end, close that connection;
 * once `clients` connections have come and gone, stop listening (the
 * socket file must go) and return.
 */
export async function serveFramed(path: string, clients: number): Promise<void> {
  todo(CHAPTER, 1, "serveFramed(): a server that answers each framed message of many clients", "Framing messages on a stream");
}
// ANCHOR_END: task1

// ANCHOR: task2
/**
 * Task 2. A broker: listen on a Unix stream socket at `socketPath`,
 * accept one client, open the file at `filePath` for reading only, and
 * send the open descriptor to the client (SCM_RIGHTS) with a one-byte
 * message. Then close everything (the socket file must go) and return.
 * The client may not be allowed to open the file itself: it gets the
 * descriptor, not the name.
 */
export async function shareFile(socketPath: string, filePath: string): Promise<void> {
  todo(CHAPTER, 2, "shareFile(): pass an open descriptor to the client", "Passing descriptors");
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3. Listen on a Unix stream socket at `path` whose file everybody
 * may connect to (mode 0666), and accept `connections` connections, one
 * after the other. Ask the kernel who each peer is (SO_PEERCRED). To a
 * peer of your own user send one frame, `welcome PID`, with the peer's
 * process id, and close; close the connection of anyone else at once,
 * without sending anything. Then stop listening (the socket file must go)
 * and return.
 */
export async function serveOwnUser(path: string, connections: number): Promise<void> {
  todo(CHAPTER, 3, "serveOwnUser(): answer only peers of your own user, by SO_PEERCRED", "Who is calling: peer credentials");
}
// ANCHOR_END: task3

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/07-sockets.ts` runs. You do
 * not need to change anything below.
 * ---------------------------------------------------------------------- */

async function demo(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-demo07-`));
  try {
    const framed = path.join(dir, "framed.sock");
    const serving = serveFramed(framed, 2);
    await listening(serving, framed);
    const [a, b] = [UnixSocket.connect(framed), UnixSocket.connect(framed)];
    a.send(frame("hello from a").subarray(0, 7)); // half a frame ...
    b.sendFrame("hello from b");
    const fromB = (await b.receiveFrameAsync({ timeout: 5 }))?.toString();
    a.send(frame("hello from a").subarray(7)); // ... and the rest
    const fromA = (await a.receiveFrameAsync({ timeout: 5 }))?.toString();
    a.close();
    b.close();
    await serving;
    console.log(`Task 1: b got "${fromB}" while a was half-way; a got "${fromA}"; socket file gone: ${!fs.existsSync(framed)}`);

    const broker = path.join(dir, "broker.sock");
    const secret = path.join(dir, "secret.txt");
    fs.writeFileSync(secret, "the broker's file");
    const sharing = shareFile(broker, secret);
    await listening(sharing, broker);
    using client = UnixSocket.connect(broker);
    const { descriptors } = await client.receiveAsync({ timeout: 5 });
    await sharing;
    const text = descriptors.length > 0 ? fs.readFileSync(descriptors[0]!, "utf8") : "(no descriptor)";
    for (const fd of descriptors) fs.closeSync(fd);
    console.log(`Task 2: the client read "${text}" through the descriptor it was sent`);

    const guarded = path.join(dir, "guarded.sock");
    const guarding = serveOwnUser(guarded, 1);
    await listening(guarding, guarded);
    const visitor = Bun.spawn([process.execPath, import.meta.path, "visit", guarded], { stdout: "pipe" });
    const said = (await new Response(visitor.stdout).text()).trim();
    await guarding;
    console.log(`Task 3: a client of our own user (pid ${visitor.pid}) was told "${said}"`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the server `task` has created its socket file (or has failed). */
async function listening(task: Promise<void>, socketPath: string): Promise<void> {
  let ended = false;
  const ending = task.finally(() => (ended = true));
  ending.catch(() => {}); // looked at below, when it has ended
  for (let i = 0; !fs.existsSync(socketPath); i++) {
    if (ended) await ending; // it failed (or returned without listening): say why
    if (ended || i > 2000) throw new Error(`the server did not create its socket file ${socketPath}`);
    await Bun.sleep(5);
  }
}

if (import.meta.main) {
  if (process.argv[2] === "visit") {
    using server = UnixSocket.connect(process.argv[3]!);
    console.log(server.receiveFrame({ timeout: 10 })?.toString() ?? "(closed without a word)");
  } else {
    await runDemo(demo);
  }
}
