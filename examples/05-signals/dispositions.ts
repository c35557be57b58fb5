/**
 * dispositions.ts — the three things a process can do about a signal:
 * leave the default action, ignore it, or handle it; and the two signals
 * for which it has no choice. Three copies of this file each set up
 * SIGTERM one way and get one; then SIGKILL reaches even the one that
 * ignores SIGTERM.
 *
 * Run:  bun run examples/05-signals/dispositions.ts
 */
import { ignoreSignal, IpcError, onSignal, signalDisposition } from "../../lib/index.ts";

const mode = process.argv[2];
if (mode === "default" || mode === "ignore" || mode === "handle") {
  // ANCHOR: child
  if (mode === "ignore") ignoreSignal("SIGTERM"); // SIG_IGN: the kernel discards it on arrival
  if (mode === "handle") {
    onSignal("SIGTERM", () => {
      console.log("  handle: my handler ran; I exit with status 0");
      process.exit(0);
    });
  }
  console.log(`  ${mode}: SIGTERM is at "${signalDisposition("SIGTERM")}"`); // the parent waits for this line
  setInterval(() => {}, 60_000); // then wait to be signalled
  // ANCHOR_END: child
} else {
  // ANCHOR: parent
  for (const mode of ["default", "ignore", "handle"]) {
    const child = Bun.spawn([process.execPath, import.meta.path, mode], { stdout: "pipe" });
    const lines = child.stdout.getReader();
    const decoder = new TextDecoder();
    process.stdout.write(decoder.decode((await lines.read()).value)); // its disposition is set up now
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 1_000); // if it is still there in a second
    await child.exited;
    clearTimeout(timer);
    for (let r = await lines.read(); !r.done; r = await lines.read()) process.stdout.write(decoder.decode(r.value));
    const how = child.signalCode ? `killed by ${child.signalCode}` : `exited with status ${child.exitCode}`;
    console.log(`${mode}: SIGTERM sent; the child ${how}`);
  }
  try {
    ignoreSignal("SIGKILL");
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`ignoreSignal("SIGKILL") → ${error.name}: ${error.message}`);
  }
  console.log(`and in Bun itself, SIGPIPE is at "${signalDisposition("SIGPIPE")}"`);
  // ANCHOR_END: parent
}
