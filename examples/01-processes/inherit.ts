/**
 * inherit.ts — a main process creates an object (here, an open log file)
 * and starts workers that inherit it: each worker writes to the log
 * through descriptor 3, which it was handed, without knowing the file's
 * name. A fourth process is started without it, to show that nothing is
 * inherited by accident: Bun opens every file close-on-exec.
 *
 * Run:  bun run examples/01-processes/inherit.ts
 *
 * The workers are this file again, started as `... worker N`. They learn
 * the descriptor's number from LOG_FD in their environment, the way
 * systemd tells a service about the sockets it hands over (LISTEN_FDS).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeStatus, spawn } from "../../lib/index.ts";

/** Our descriptors that are open on a file called workers.log. */
function logDescriptors(): number[] {
  return fs.readdirSync("/proc/self/fd").map(Number).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith("/workers.log");
    } catch {
      return false; // the descriptor readdir itself used, closed by now
    }
  });
}

if (process.argv[2] === "worker") {
  // ANCHOR: worker
  const n = process.argv[3];
  const have = logDescriptors();
  if (process.env.LOG_FD === undefined) {
    console.log(`process ${n} (pid ${process.pid}): no LOG_FD; descriptors open on the log: [${have}]`);
  } else {
    const fd = Number(process.env.LOG_FD);
    fs.writeSync(fd, `worker ${n} (pid ${process.pid}, parent ${process.ppid}) was here\n`);
    console.log(`worker ${n} (pid ${process.pid}): wrote through descriptor ${fd}; descriptors open on the log: [${have}]`);
  }
  // ANCHOR_END: worker
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-inherit-`));
  try {
    // ANCHOR: parent
    const log = fs.openSync(path.join(dir, "workers.log"), "a"); // close-on-exec, like every descriptor Bun opens
    fs.writeSync(log, `main process ${process.pid} opened the log as its descriptor ${log}\n`);

    const workers = [1, 2, 3].map((n) =>
      spawn([process.execPath, import.meta.path, "worker", String(n)], {
        actions: [{ dup2: log, to: 3 }], // the child's descriptor 3 = our log
        env: { ...process.env, LOG_FD: "3" },
      }),
    );
    const stranger = spawn([process.execPath, import.meta.path, "worker", "4"]); // nothing handed over
    for (const child of [...workers, stranger]) {
      const status = child.wait();
      if (status.kind !== "exited" || status.code !== 0) throw new Error(`process ${child.pid} ${describeStatus(status)}`);
    }
    fs.closeSync(log);
    // ANCHOR_END: parent
    console.log("\nthe log:");
    process.stdout.write(fs.readFileSync(path.join(dir, "workers.log"), "utf8"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
