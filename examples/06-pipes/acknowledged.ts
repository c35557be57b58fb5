/**
 * acknowledged.ts — message passing over pipes, with what the lecture
 * lists as its hard parts: a receiver that acknowledges each message, a
 * sender that waits for the acknowledgement (synchronous) or sends ahead
 * and collects them (asynchronous), and a receiver that dies halfway,
 * which the sender must notice and report: which messages got through,
 * and which were lost.
 *
 * Run:  bun run examples/06-pipes/acknowledged.ts
 * The receiver is this file again (`... receiver DIE_AFTER`), on two pipes.
 */
import { IpcError, Pipe, PipeEnd, spawn, TimeoutError } from "../../lib/index.ts";

if (process.argv[2] === "receiver") {
  // ANCHOR: receiver
  const dieAfter = Number(process.argv[3]);
  const acks = new PipeEnd(1, "write", "acknowledgements"); // our stdout
  let handled = 0;
  for await (const line of new PipeEnd(0, "read", "messages").lines()) {
    if (handled === dieAfter) process.kill(process.pid, "SIGKILL"); // a crash, with a message in hand
    handled++;
    acks.write(`ack ${line.split(" ")[0]}\n`); // one write: atomic, never half an acknowledgement
  }
  // ANCHOR_END: receiver
} else {
  // ANCHOR: sender
  async function exchange(mode: "synchronous" | "asynchronous", messages: number, dieAfter: number): Promise<void> {
    using requests = new Pipe();
    using replies = new Pipe();
    using receiver = spawn([process.execPath, import.meta.path, "receiver", String(dieAfter)], {
      stdin: requests.reader.fd,
      stdout: replies.writer.fd,
    });
    requests.reader.close();
    replies.writer.close();
    const acked = new Set<number>();
    let pending = "";
    /** Waits for the next acknowledgement; false at end of file (the receiver is gone). */
    const awaitAck = () => {
      while (!pending.includes("\n")) {
        const bytes = replies.reader.read({ timeout: 10 }); // TimeoutError if it hangs
        if (bytes.length === 0) return false; // end of file: no write end left
        pending += new TextDecoder().decode(bytes);
      }
      const newline = pending.indexOf("\n");
      acked.add(Number(pending.slice(0, newline).split(" ")[1]));
      pending = pending.slice(newline + 1);
      return true;
    };
    let sent = 0;
    let problem = "";
    try {
      for (let id = 1; id <= messages; id++) {
        requests.writer.write(`${id} payload\n`);
        sent = id;
        if (mode === "synchronous" && !awaitAck()) throw new Error(`no acknowledgement for message ${id}: end of file on the reply pipe`);
      }
      requests.writer.close();
      while (acked.size < sent) {
        if (!awaitAck()) throw new Error(`end of file on the reply pipe after ${acked.size} acknowledgements: the receiver is gone`);
      }
    } catch (error) {
      if (error instanceof IpcError && error.code === "EPIPE") problem = `EPIPE sending message ${sent + 1}: the receiver is gone`;
      else if (error instanceof TimeoutError) problem = "no acknowledgement within 10 s";
      else if (error instanceof Error) problem = error.message;
      else throw error;
    }
    const status = await receiver.exited();
    const lost = Array.from({ length: sent }, (_, i) => i + 1).filter((id) => !acked.has(id));
    console.log(`${mode}: sent ${sent} of ${messages}, acknowledged ${acked.size}; receiver ${status.kind === "signaled" ? `killed by ${status.signal}` : `exited ${status.kind === "exited" ? status.code : ""}`}`);
    if (problem) console.log(`  noticed: ${problem}`);
    console.log(`  not acknowledged (lost, or done but not confirmed): ${lost.length === 0 ? "none" : lost.length > 6 ? `${lost.slice(0, 3).join(", ")} … ${lost.at(-1)} (${lost.length})` : lost.join(", ")}`);
  }

  await exchange("synchronous", 10, 100); // a healthy receiver
  await exchange("synchronous", 10, 4); // it dies with the 5th in hand
  await exchange("asynchronous", 10, 4); // the same, sending ahead
  // ANCHOR_END: sender
}
