/**
 * shell-locks.ts — locking from the shell. Three ways a script creates a
 * lock atomically: `set -C` (noclobber: `>` refuses to overwrite, which
 * the shell does with O_CREAT|O_EXCL), `mkdir` (fails if the directory
 * exists), and the flock(1) command, which holds a flock(2) lock while it
 * runs a command, and fails at once (-n) or after a timeout (-w) if
 * someone else holds it. This program holds a flock itself so that
 * flock(1) has someone to wait for.
 *
 * Run:  bun run examples/08-locks/shell-locks.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { OpenFile } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-shell-`));

/** Runs a shell command in `dir`; returns its exit status and what it printed. */
function sh(command: string): string {
  const run = Bun.spawnSync(["sh", "-c", command], { cwd: dir });
  const said = (run.stdout.toString() + run.stderr.toString()).trim().replace(/^sh: (\d+: )?/, "");
  return `exit ${run.exitCode}${said ? `: ${said}` : ""}`;
}

try {
  // ANCHOR: noclobber
  console.log(`set -C; echo $$ > app.lock   (first)  ${sh("set -C; echo $$ > app.lock")}`);
  console.log(`set -C; echo $$ > app.lock   (second) ${sh("set -C; echo $$ > app.lock")}`);
  console.log(`mkdir app.lock.d             (first)  ${sh("mkdir app.lock.d")}`);
  console.log(`mkdir app.lock.d             (second) ${sh("mkdir app.lock.d 2>/dev/null")}`);
  // ANCHOR_END: noclobber

  if (Bun.which("flock") === null) {
    console.log("flock(1) is not installed here (it comes with util-linux)");
  } else {
    // ANCHOR: flock-command
    using held = new OpenFile(path.join(dir, "job.lock"), { create: true });
    held.flock("exclusive"); // we hold it: flock(1) must wait for us
    console.log(`flock -n job.lock echo ran     ${sh("flock -n job.lock echo ran")}`);
    console.log(`flock -w 0.2 job.lock echo ran ${sh("flock -w 0.2 job.lock echo ran")}`);
    held.unflock();
    console.log(`flock -n job.lock echo ran     ${sh("flock -n job.lock echo ran")}   (after we let go)`);
    // ANCHOR_END: flock-command
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
