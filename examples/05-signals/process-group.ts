/**
 * process-group.ts — a signal to a process group: kill with a negative
 * pid reaches every process of the group at once, as a shell's Ctrl+Z,
 * `fg` and Ctrl+C reach every process of a job. The listing starts a
 * shell with two sleeps as a group of its own, stops it, continues it
 * and ends it, showing each process's state from /proc.
 *
 * Run:  bun run examples/05-signals/process-group.ts
 */
import fs from "node:fs";
import { describeStatus, killGroup, processInfo, spawn } from "../../lib/index.ts";

/** Each member of group `pgid` as "pid state" (S sleeping, T stopped), from /proc. */
function members(pgid: number): string[] {
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map((e) => processInfo(Number(e)))
    .filter((info) => info !== null && info.pgid === pgid)
    .map((info) => `${info!.pid === pgid ? "leader" : "member"} ${info!.state}`)
    .sort();
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check() && Date.now() < deadline) await Bun.sleep(10);
}

// ANCHOR: group
using job = spawn(["sh", "-c", "sleep 60 & sleep 60 & wait"], { processGroup: 0 }); // a new group, led by sh
// Three processes, each asleep (a sleep that has just started may still be running).
await until(() => members(job.pid).length === 3 && members(job.pid).every((m) => m.endsWith("S")));
console.log(`group ${job.pid}: ${members(job.pid).join(", ")}`);

killGroup(job.pid, "SIGSTOP"); // kill(-pgid, SIGSTOP): all three at once
await until(() => members(job.pid).every((m) => m.endsWith("T")));
console.log(`after SIGSTOP: ${members(job.pid).join(", ")}`);

killGroup(job.pid, "SIGCONT");
await until(() => members(job.pid).every((m) => m.endsWith("S")));
console.log(`after SIGCONT: ${members(job.pid).join(", ")}`);

killGroup(job.pid, "SIGTERM");
console.log(`after SIGTERM the shell ${describeStatus(job.wait())}`);
await until(() => members(job.pid).length === 0);
console.log(`left in the group: ${members(job.pid).length}`);
// ANCHOR_END: group
