/**
 * Run after the whole suite (`npm test` does): fails if anything of ours
 * outlived it: POSIX IPC objects, temporary folders, or processes started
 * by the grading harness.
 *
 *   bun run test/leaks.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Every object, folder and process the project makes has this in its name. */
const MARK = "ipcbook";

const left: string[] = [];

for (const dir of ["/dev/shm", "/dev/mqueue"]) {
  if (!fs.existsSync(dir)) continue;
  for (const entry of fs.readdirSync(dir)) if (entry.includes(MARK)) left.push(path.join(dir, entry));
}
for (const entry of fs.readdirSync(os.tmpdir())) if (entry.startsWith(MARK)) left.push(path.join(os.tmpdir(), entry));

for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
  if (Number(pid) === process.pid) continue;
  let cmdline = "";
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    continue; // it ended while we looked
  }
  if (cmdline.includes("test/harness/call.ts") || cmdline.includes(`${MARK}-stage-`)) left.push(`process ${pid}: ${cmdline.trim()}`);
}

if (left.length > 0) {
  console.error(`Left behind after the suite (${left.length}):\n  ${left.join("\n  ")}`);
  process.exit(1);
}
console.log("Nothing left behind: /dev/shm, /dev/mqueue, temporary folders and processes are clean.");
