/**
 * payloads.ts — signals that carry data. The parent queues five real-time
 * signals with sigqueue, each with an integer, to a child that receives
 * them with a SignalReceiver: a C handler (SA_SIGINFO) that sees the
 * payload and the sender, which a JavaScript handler never learns. All
 * five arrive, in the order they were sent.
 *
 * Run:  bun run examples/05-signals/payloads.ts
 * The receiver is this file again (`... receiver COUNT`).
 */
import { SignalReceiver, sigqueue } from "../../lib/index.ts";

if (process.argv[2] === "receiver") {
  // ANCHOR: receiver
  using receiver = new SignalReceiver("SIGRTMIN+1"); // installs the C handler
  console.log("ready"); // the parent sends only after this line
  for (let i = 0; i < Number(process.argv[3]); i++) {
    const s = await receiver.receiveAsync({ timeout: 30 }); // the event loop stays free meanwhile
    console.log(`  ${s.signal} value ${s.value} from pid ${s.pid} (sent with ${s.source})`);
  }
  // ANCHOR_END: receiver
} else {
  // ANCHOR: sender
  const values = [2024, 4, 15, -1, 7];
  const child = Bun.spawn([process.execPath, import.meta.path, "receiver", String(values.length)], { stdout: "pipe" });
  const output = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await output.read()).value); // "ready"
  console.log(`parent ${process.pid} sends ${values.join(", ")} to child ${child.pid}`);
  for (const value of values) sigqueue(child.pid, "SIGRTMIN+1", value); // all at once: they queue
  for (let r = await output.read(); !r.done; r = await output.read()) text += decoder.decode(r.value);
  process.stdout.write(text.replace(/^ready\n/, ""));
  console.log(`child exited with status ${await child.exited}`);
  // ANCHOR_END: sender
}
