/**
 * bun-spawn.ts — Bun.spawn, the everyday tool: an argument vector (never a
 * shell), pipes for stdout and stderr, `await proc.exited` for the exit
 * code without blocking the event loop, `signalCode` for a death by
 * signal, a timeout, and a descriptor handed over as the child's 3.
 * Bun waits for its own children; never call waitpid on them.
 *
 * Run:  bun run examples/01-processes/bun-spawn.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-bunspawn-`));
try {
  // ANCHOR: basic
  const proc = Bun.spawn(["ls", "-1", "/proc/self/fd"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  console.log(`ls ${proc.pid} exited with ${code}; its descriptors: ${out.trim().split("\n").join(" ")}`);
  // ANCHOR_END: basic

  // ANCHOR: signal
  const sleeper = Bun.spawn(["sleep", "60"]);
  sleeper.kill("SIGTERM");
  await sleeper.exited;
  console.log(`sleep: exitCode ${sleeper.exitCode}, signalCode ${sleeper.signalCode}`);

  const slow = Bun.spawn(["sleep", "60"], { timeout: 100, killSignal: "SIGKILL" }); // milliseconds
  await slow.exited;
  console.log(`sleep with a 100 ms timeout: signalCode ${slow.signalCode}`);
  // ANCHOR_END: signal

  // ANCHOR: fd
  const log = fs.openSync(path.join(dir, "child.log"), "w");
  const writer = Bun.spawn(["sh", "-c", "echo written to descriptor 3 >&3"], { stdio: ["ignore", "inherit", "inherit", log] });
  await writer.exited;
  fs.closeSync(log);
  console.log(`sh wrote: ${fs.readFileSync(path.join(dir, "child.log"), "utf8").trim()}`);
  // ANCHOR_END: fd

  // ANCHOR: sync
  const sync = Bun.spawnSync(["sh", "-c", "echo to stdout; echo to stderr >&2; exit 2"]);
  console.log(`spawnSync: exit ${sync.exitCode}, stdout ${JSON.stringify(sync.stdout.toString())}, stderr ${JSON.stringify(sync.stderr.toString())}`);
  // ANCHOR_END: sync
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
