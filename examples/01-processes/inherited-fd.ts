/**
 * inherited-fd.ts — a forked child inherits the parent's open descriptors.
 * The parent opens a file and writes a line; a child forked in C
 * (lib/native/fork.c) writes a line through the same descriptor number;
 * then the parent writes again. Parent and child share one open file, and
 * so one file offset: the lines follow each other, none overwrites another.
 *
 * Run:  bun run examples/01-processes/inherited-fd.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeStatus, forkWrite } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-inherited-`));
try {
  // ANCHOR: story
  const file = path.join(dir, "shared.txt");
  const fd = fs.openSync(file, "w");
  fs.writeSync(fd, `parent ${process.pid}: first line, written through descriptor ${fd}\n`);

  const child = forkWrite(fd, "child: second line, through the descriptor it inherited\n");
  console.log(`child ${child.pid} ${describeStatus(child.status)}`);

  fs.writeSync(fd, `parent ${process.pid}: third line; the offset had moved past the child's line\n`);
  fs.closeSync(fd);
  process.stdout.write(fs.readFileSync(file, "utf8"));
  // ANCHOR_END: story
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
