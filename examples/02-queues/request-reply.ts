/**
 * request-reply.ts — a conversation needs two queues, one for each
 * direction: the client sends requests on one and reads answers from the
 * other; the server does the opposite. With a single queue for both, each
 * side could receive its own messages.
 *
 * Run:  bun run examples/02-queues/request-reply.ts
 *
 * The server is this file started again (`... server REQUESTS REPLIES`).
 * It answers until it gets the request "quit".
 */
import { MessageQueue } from "../../lib/index.ts";

interface Request {
  id: number;
  word: string;
}

if (process.argv[2] === "server") {
  // ANCHOR: server
  using requests = new MessageQueue(process.argv[3]!, { access: "read" });
  using replies = new MessageQueue(process.argv[4]!, { access: "write" });
  for (;;) {
    const text = requests.receive().text();
    if (text === "quit") break;
    const { id, word } = JSON.parse(text) as Request;
    replies.send(JSON.stringify({ id, answer: word.split("").reverse().join("") }));
  }
  // ANCHOR_END: server
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const requestsName = `/${prefix}-requests-${process.pid}`;
  const repliesName = `/${prefix}-replies-${process.pid}`;

  // ANCHOR: client
  using requests = new MessageQueue(requestsName, { exclusive: true, access: "write", maxmsg: 4, msgsize: 128 });
  using replies = new MessageQueue(repliesName, { exclusive: true, access: "read", maxmsg: 4, msgsize: 128 });
  try {
    const server = Bun.spawn([process.execPath, import.meta.path, "server", requestsName, repliesName], { stderr: "inherit" });
    for (const [id, word] of ["kolejka", "fronta", "queue"].entries()) {
      requests.send(JSON.stringify({ id, word }));
      const reply = JSON.parse(replies.receive({ timeout: 10 }).text()) as { id: number; answer: string };
      console.log(`client: request ${id} "${word}" → reply ${reply.id} "${reply.answer}"`);
    }
    requests.send("quit");
    if ((await server.exited) !== 0) throw new Error("the server failed");
  } finally {
    MessageQueue.unlink(requestsName);
    MessageQueue.unlink(repliesName);
  }
  // ANCHOR_END: client
}
