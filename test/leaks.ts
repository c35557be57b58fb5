/**
 * Fails if anything of ours outlived the test suite: POSIX IPC objects,
 * temporary folders, or processes started by the grading harness. What
 * existed before the suite started (another run's folder, a clone in /tmp)
 * is not the suite's doing and is only reported.
 *
 *   bun run test/leaks.ts --before    remember what exists now (npm test runs this first)
 *   bun run test/leaks.ts             fail on anything new since then
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Every object, folder and process the project makes has this in its name. */
const MARK = "ipcbook";

const SNAPSHOT = path.join(import.meta.dir, "..", "node_modules", ".cache", "ipcbook-before-suite.json");

const found: string[] = [];

for (const dir of ["/dev/shm", "/dev/mqueue"]) {
  if (!fs.existsSync(dir)) continue;
  for (const entry of fs.readdirSync(dir)) if (entry.includes(MARK)) found.push(path.join(dir, entry));
}
for (const entry of fs.readdirSync(os.tmpdir())) if (entry.startsWith(MARK)) found.push(path.join(os.tmpdir(), entry));

for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
  if (Number(pid) === process.pid) continue;
  let cmdline = "";
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    continue; // it ended while we looked
  }
  if (cmdline.includes("test/harness/call.ts") || cmdline.includes(`${MARK}-stage-`)) found.push(`process ${pid}: ${cmdline.trim()}`);
}

if (process.argv.includes("--before")) {
  fs.mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
  fs.writeFileSync(SNAPSHOT, JSON.stringify(found));
  process.exit(0);
}

const before = new Set<string>(fs.existsSync(SNAPSHOT) ? (JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as string[]) : []);
const left = found.filter((item) => !before.has(item));
const older = found.filter((item) => before.has(item));
if (older.length > 0) console.warn(`Present before the suite started, not touched (${older.length}):\n  ${older.join("\n  ")}`);

if (left.length > 0) {
  console.error(`Left behind after the suite (${left.length}):\n  ${left.join("\n  ")}`);
  process.exit(1);
}
console.log("Nothing left behind: /dev/shm, /dev/mqueue, temporary folders and processes are clean.");
