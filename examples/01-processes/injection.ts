/**
 * injection.ts — command injection through system(3) and popen(3), and
 * the fix. A program counts the lines of a file the user names, by
 * building a shell command line: `wc -l < NAME`. A "file name" that
 * carries a shell command along — `notes.txt; echo INJECTED > MARKER` —
 * makes the shell run that command too. The same name passed as one
 * element of an argument vector, with no shell, is just a (strange) name.
 *
 * Run:  bun run examples/01-processes/injection.ts
 *
 * The injected command only creates a marker file in a temporary folder,
 * which the listing checks for and removes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeStatus, popenRead, run, system } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-injection-`));
const marker = path.join(dir, "MARKER");
const injected = () => (fs.existsSync(marker) ? `INJECTED (${marker.replace(dir, "$DIR")} exists)` : "nothing injected");
try {
  fs.writeFileSync(path.join(dir, "notes.txt"), "one\ntwo\nthree\n");
  // ANCHOR: crafted
  const name = `notes.txt; echo INJECTED > ${marker}`; // what an attacker types as a "file name"
  // ANCHOR_END: crafted
  console.log(`the "file name": ${name.replace(dir, "$DIR")}\n`);

  // ANCHOR: unsafe
  // UNSAFE: the name is pasted into a command line that /bin/sh -c interprets.
  const status = system(`cd ${dir} && wc -l < ${name}`);
  // ANCHOR_END: unsafe
  console.log(`system: ${describeStatus(status)}; ${injected()}`);
  fs.rmSync(marker, { force: true });

  const { output } = popenRead(`cd ${dir} && wc -l < ${name}`);
  console.log(`popen:  read ${JSON.stringify(output.trim())}; ${injected()}`);
  fs.rmSync(marker, { force: true });

  // ANCHOR: safe
  // SAFE: no shell; the name is one argument, whatever characters it holds.
  const result = await run(["wc", "-l", "--", name], { cwd: dir });
  // ANCHOR_END: safe
  console.log(`run:    ${describeStatus(result.status)}, stderr ${JSON.stringify(result.stderr.trim().replace(dir, "$DIR"))}; ${injected()}`);
  const good = await run(["wc", "-l", "--", "notes.txt"], { cwd: dir });
  console.log(`run on a real name: ${JSON.stringify(good.stdout.trim())}`);

  // ANCHOR: script
  // A fixed shell script, with the data as its argument "$1": never parsed as code.
  const script = await run(["sh", "-c", 'wc -l < "$1"', "sh", name], { cwd: dir });
  // ANCHOR_END: script
  console.log(`a fixed script: ${describeStatus(script.status)}; ${injected()}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
