/**
 * orphan.ts — a process whose parent ends before it is an orphan: the
 * kernel gives it a new parent, init (pid 1) or the nearest ancestor
 * that has declared itself a "child subreaper". This listing makes itself
 * a subreaper (prctl PR_SET_CHILD_SUBREAPER), starts a shell that starts
 * `sleep` in the background and exits, and watches the orphaned sleep
 * become its child, so that it can stop it and wait for it.
 *
 * Run:  bun run examples/01-processes/orphan.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeStatus, processInfo, setChildSubreaper, spawn, waitpid } from "../../lib/index.ts";

/** Our children, from /proc: with a subreaper, adopted orphans among them. */
function children(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && processInfo(Number(entry))?.ppid === process.pid)
    .map(Number);
}

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-orphan-`));
try {
  // ANCHOR: orphan
  setChildSubreaper(true); // orphans below us come to us, not to init
  const pidFile = path.join(dir, "pids");
  // The shell starts sleep in the background, notes its pid and its own, and exits.
  const shell = spawn(["sh", "-c", 'sleep 60 & echo "$! $$" > "$1"', "sh", pidFile]);
  console.log(`the shell ${describeStatus(shell.wait())}`);
  const [sleepPid, shellPid] = fs.readFileSync(pidFile, "utf8").trim().split(" ").map(Number) as [number, number];
  console.log(`we are ${process.pid}; the shell was ${shellPid}; it had started sleep ${sleepPid}`);

  // The shell is gone: sleep is an orphan, and its new parent is us.
  console.log(`sleep ${sleepPid}: parent is now ${processInfo(sleepPid)?.ppid}`);
  process.kill(sleepPid, "SIGTERM");
  console.log(`waitpid(${sleepPid}): ${describeStatus(waitpid(sleepPid)!.status)}`);
  // ANCHOR_END: orphan
} finally {
  for (const pid of children()) {
    // Something failed half-way: leave nothing running and no zombie.
    process.kill(pid, "SIGKILL");
    waitpid(pid);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
