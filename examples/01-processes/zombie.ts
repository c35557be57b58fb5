/**
 * zombie.ts — a child that has exited but has not been waited for is a
 * zombie: it has no memory and runs nothing, but keeps its process-table
 * entry (pid, exit status) until its parent calls waitpid. /proc shows it
 * with state Z, and ps as <defunct>. Waiting for it makes it vanish.
 *
 * Run:  bun run examples/01-processes/zombie.ts
 */
import fs from "node:fs";
import { describeStatus, processInfo, spawn } from "../../lib/index.ts";

// ANCHOR: zombie
const child = spawn(["true"]); // exits at once; we do not wait yet
try {
  const deadline = Date.now() + 10_000;
  while (processInfo(child.pid)?.state !== "Z" && Date.now() < deadline) await Bun.sleep(5);

  console.log(`/proc/${child.pid}/stat: ${fs.readFileSync(`/proc/${child.pid}/stat`, "utf8").split(" ").slice(0, 4).join(" ")} …`);
  const ps = Bun.spawnSync(["ps", "-o", "pid,ppid,stat,args", "-p", String(child.pid)]);
  if (ps.exitCode === 0) process.stdout.write(ps.stdout.toString()); // `ps` may be missing in a minimal container
  console.log(`its parent is us (${process.pid}); it stays a zombie until we wait for it`);
} finally {
  console.log(`waitpid: the child ${describeStatus(child.wait())}`);
}
console.log(`after waitpid, /proc/${child.pid} exists: ${fs.existsSync(`/proc/${child.pid}`)}`);
// ANCHOR_END: zombie
