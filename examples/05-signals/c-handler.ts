/**
 * c-handler.ts — compiles c-handler.c with the system's C compiler, runs
 * it, waits until it is working, and asks it to stop with SIGTERM. Its
 * handlers only note what came (async-signal-safe), and the C program
 * shows that three blocked SIGUSR1 arrive as one while three SIGRTMIN
 * arrive as three, with their values, in order.
 *
 * Run:  bun run examples/05-signals/c-handler.ts   (needs cc or gcc)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { kill } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-c-handler-`));
try {
  const compiler = Bun.which("cc") ?? Bun.which("gcc");
  if (compiler === null) throw new Error("no C compiler (cc or gcc) on PATH");
  const binary = path.join(dir, "c-handler");
  const build = Bun.spawnSync([compiler, "-std=c11", "-Wall", "-O1", "-o", binary, path.join(import.meta.dir, "c-handler.c")]);
  if (build.exitCode !== 0) throw new Error(`compiling c-handler.c failed:\n${build.stderr}`);

  // ANCHOR: run
  const program = Bun.spawn([binary], { stdout: "pipe" });
  const reader = program.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  let signalled = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    output += decoder.decode(value, { stream: true });
    if (!signalled && output.includes("works until SIGTERM")) {
      kill(program.pid, "SIGTERM"); // it is in its loop now: ask it to stop
      signalled = true;
    }
  }
  process.stdout.write(output);
  console.log(`exit status ${await program.exited}`);
  // ANCHOR_END: run
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
