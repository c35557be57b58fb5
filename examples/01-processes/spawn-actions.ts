/**
 * spawn-actions.ts — posix_spawn(3) with file actions and attributes: the
 * control fork + exec gives, without a fork in sight. The library's
 * spawn() turns its options into posix_spawn_file_actions_* calls
 * (dup2, open, close, chdir) and posix_spawnattr_* calls (process group,
 * signal defaults), which run in the child between its creation and exec.
 *
 * Run:  bun run examples/01-processes/spawn-actions.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeStatus, processGroupOf, processInfo, spawn } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-spawn-`));
try {
  // ANCHOR: redirect
  // sort < numbers.txt > sorted.txt, with no shell: two open actions.
  fs.writeFileSync(path.join(dir, "numbers.txt"), "42\n7\n1000\n");
  const sort = spawn(["sort", "-n"], {
    cwd: dir, // addchdir_np: the relative paths below are opened in `dir`
    stdin: { path: "numbers.txt" }, // addopen(0, "numbers.txt", O_RDONLY)
    stdout: { path: "sorted.txt" }, // addopen(1, "sorted.txt", O_WRONLY|O_CREAT|O_TRUNC, 0600)
  });
  console.log(`sort ${describeStatus(sort.wait())}: ${fs.readFileSync(path.join(dir, "sorted.txt"), "utf8").trim().split("\n").join(" ")}`);
  // ANCHOR_END: redirect

  // ANCHOR: pass
  // Hand over one descriptor as the child's 3, send stderr to /dev/null,
  // and give the child an environment of our choosing.
  const report = fs.openSync(path.join(dir, "report.txt"), "w");
  const child = spawn(["sh", "-c", 'echo "GREETING=$GREETING; my descriptors: $(ls /proc/self/fd | tr "\\n" " ")" >&3'], {
    actions: [{ dup2: report, to: 3 }], // adddup2(report, 3)
    stderr: "null", // addopen(2, "/dev/null", O_WRONLY)
    env: { GREETING: "hello from the parent", PATH: process.env.PATH },
  });
  console.log(`sh ${describeStatus(child.wait())}: ${fs.readFileSync(path.join(dir, "report.txt"), "utf8").trim()}`);
  fs.closeSync(report);
  // ANCHOR_END: pass

  // ANCHOR: group
  // A process group of its own (setpgroup(0)): a signal to -pid reaches the group.
  const leader = spawn(["sleep", "60"], { processGroup: 0 });
  try {
    let info = processInfo(leader.pid);
    while (info && info.pgid !== leader.pid) info = processInfo(leader.pid); // setpgid ran in the child
    console.log(`our process group: ${processGroupOf()}; sleep ${leader.pid} leads group ${info?.pgid}`);
  } finally {
    leader.kill("SIGTERM");
    console.log(`sleep ${describeStatus(leader.wait())}`);
  }
  // ANCHOR_END: group
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
