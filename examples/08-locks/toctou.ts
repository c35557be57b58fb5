/**
 * toctou.ts — the check-then-create race on a temporary file, for real,
 * and its fix.
 *
 * A "victim" program wants a scratch file under a name anyone can predict.
 * It checks that the name is free and then creates the file. Between the
 * check and the creation, an "attacker" plants a symbolic link under that
 * name, pointing at a file the victim may write but the attacker may not.
 * The victim's write follows the link and overwrites that file. In real
 * life the window is microseconds wide and the attacker simply tries a
 * million times; here the victim stops in the window and waits to be told
 * to go on, as the secretary in the lecture went for a coffee, so that the
 * race is lost every time.
 *
 * The fix is to make "check" and "create" one step in the kernel
 * (O_CREAT|O_EXCL, plus O_NOFOLLOW), and to use a name nobody can predict.
 *
 * Run:  bun run examples/08-locks/toctou.ts
 * The parent plays the attacker and starts itself again as the victim
 * (`... victim PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { IpcError, OpenFile, TempFile } from "../../lib/index.ts";

if (process.argv[2] === "victim") {
  await victim(process.argv[3]!);
} else {
  await attacker();
}

// ANCHOR: victim
async function victim(report: string): Promise<void> {
  if (fs.existsSync(report)) return; // the check: "nobody has this name"
  console.log("checked"); // tell the demo we are in the window ...
  await Bun.stdin.text(); // ... and wait there until told to go on
  fs.writeFileSync(report, "quarterly figures\n"); // the use: follows a symlink, truncates
}
// ANCHOR_END: victim

async function attacker(): Promise<void> {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-toctou-`));
  try {
    const tmp = fs.statSync(os.tmpdir());
    console.log(`${os.tmpdir()} has mode ${(tmp.mode & 0o7777).toString(8)}: everyone may create files there (sticky bit set)`);

    // ANCHOR: attack
    const precious = path.join(dir, "passwords");
    fs.writeFileSync(precious, "root:$6$Zk3…:19000:0:99999:7:::\n");
    const report = path.join(dir, "report.tmp"); // a name anyone can predict

    const victimProcess = Bun.spawn([process.execPath, import.meta.path, "victim", report], { stdin: "pipe", stdout: "pipe" });
    await victimProcess.stdout.getReader().read(); // "checked": the name was free, the victim is in the window
    fs.symlinkSync(precious, report); // the attack: a link under the predicted name
    victimProcess.stdin.end(); // the victim goes on
    await victimProcess.exited;

    console.log(`after the race, ${path.basename(precious)} holds: ${JSON.stringify(fs.readFileSync(precious, "utf8"))}`);
    // ANCHOR_END: attack

    // ANCHOR: fix
    // The same planted link, against a creation that checks and creates in one step:
    try {
      new OpenFile(report, { exclusive: true, noFollow: true }).close(); // O_CREAT|O_EXCL|O_NOFOLLOW
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      console.log(`O_CREAT|O_EXCL on the planted name: ${error.code} (the victim notices and stops)`);
    }
    // Better still: a name nobody can predict, created the same safe way, mode 0600.
    using safe = TempFile.create({ dir, prefix: "report-", suffix: ".tmp" });
    safe.write("quarterly figures\n", 0);
    const mode = (fs.statSync(safe.path).mode & 0o777).toString(8);
    console.log(`TempFile.create: ${path.basename(safe.path).replace(/-[a-z0-9]{16}\./, "-XXXXXXXXXXXXXXXX.")} (16 random characters), mode ${mode}`);
    // ANCHOR_END: fix
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
