/**
 * graceful.ts — a small daemon that makes IPC objects (a shared-memory
 * object and a FIFO), reloads its configuration on SIGHUP, reports on
 * SIGUSR1 and shuts down on SIGTERM by removing everything it made. Then
 * the same daemon killed with SIGKILL, which no handler sees: its objects
 * stay behind, and the parent must remove them.
 *
 * Run:  bun run examples/05-signals/graceful.ts
 * The daemon is this file again (`... daemon DIR SHM`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Fifo, kill, onShutdown, onSignal, SharedMemory } from "../../lib/index.ts";

if (process.argv[2] === "daemon") {
  const [dir, shmName] = process.argv.slice(3) as [string, string];
  // ANCHOR: daemon
  const config = path.join(dir, "daemon.json");
  const shm = new SharedMemory(shmName, { exclusive: true, size: 4096 });
  const fifo = new Fifo(path.join(dir, "control.fifo"), { exclusive: true });
  let settings = JSON.parse(fs.readFileSync(config, "utf8")) as { greeting: string };
  let served = 0;
  const work = setInterval(() => served++, 5); // the daemon's "work"

  onSignal("SIGHUP", () => {
    settings = JSON.parse(fs.readFileSync(config, "utf8")); // today's meaning of hang-up: reload
    console.log(`  daemon: SIGHUP, configuration reloaded: greeting "${settings.greeting}"`);
  });
  onSignal("SIGUSR1", () => console.log(`  daemon: SIGUSR1, status: alive, greeting "${settings.greeting}"`));
  onShutdown((signal) => {
    clearInterval(work);
    shm.close();
    SharedMemory.unlink(shmName); // everything this process made goes
    fifo.unlink();
    console.log(`  daemon: ${signal}, removed ${shmName} and ${path.basename(fifo.path)}; ending by ${signal} (served ${served > 0 ? "some" : "no"} requests)`);
  });
  console.log("  daemon: ready");
  // ANCHOR_END: daemon
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-graceful-`));
  const shmName = `/${prefix}-daemon-${process.pid}`;
  try {
    // ANCHOR: parent
    fs.writeFileSync(path.join(dir, "daemon.json"), JSON.stringify({ greeting: "hello" }));
    const daemon = start();
    await daemon.said("ready");
    fs.writeFileSync(path.join(dir, "daemon.json"), JSON.stringify({ greeting: "dzień dobry" }));
    kill(daemon.pid, "SIGHUP");
    await daemon.said("reloaded");
    kill(daemon.pid, "SIGUSR1");
    await daemon.said("status");
    kill(daemon.pid, "SIGTERM");
    console.log(`SIGTERM: the daemon ${await daemon.ended()}; left behind: ${leftovers().join(", ") || "nothing"}`);

    const victim = start();
    await victim.said("ready");
    kill(victim.pid, "SIGKILL"); // no handler runs, no clean-up happens
    console.log(`SIGKILL: the daemon ${await victim.ended()}; left behind: ${leftovers().join(", ") || "nothing"}`);
    // ANCHOR_END: parent
  } finally {
    if (SharedMemory.exists(shmName)) SharedMemory.unlink(shmName);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** What is left of the daemon's objects. */
  function leftovers(): string[] {
    return [...(SharedMemory.exists(shmName) ? [shmName] : []), ...fs.readdirSync(dir).filter((f) => f.endsWith(".fifo"))];
  }

  /** Starts the daemon and follows its output. */
  function start() {
    const child = Bun.spawn([process.execPath, import.meta.path, "daemon", dir, shmName], { stdout: "pipe" });
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const readUntil = async (word: string) => {
      while (!buffer.includes(word)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the daemon ended without saying "${word}"`);
        buffer += decoder.decode(value, { stream: true });
      }
      const upTo = buffer.indexOf("\n", buffer.indexOf(word)) + 1;
      process.stdout.write(buffer.slice(0, upTo));
      buffer = buffer.slice(upTo);
    };
    return {
      pid: child.pid,
      said: readUntil,
      async ended() {
        for (let r = await reader.read(); !r.done; r = await reader.read()) buffer += decoder.decode(r.value);
        process.stdout.write(buffer);
        await child.exited;
        return child.signalCode ? `was ended by ${child.signalCode}` : `exited with status ${child.exitCode}`;
      },
    };
  }
}
