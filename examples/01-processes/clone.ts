/**
 * clone.ts — clone(2) twice, from C (lib/native/clone.c): once with the
 * flags pthread_create uses (CLONE_VM | CLONE_FS | CLONE_FILES |
 * CLONE_SIGHAND | CLONE_THREAD), once with the flags of fork (SIGCHLD
 * only). The new task changes a global variable and dup()s a descriptor;
 * the table shows who sees what.
 *
 * Run:  bun run examples/01-processes/clone.ts
 */
import { cloneDemo, describeStatus } from "../../lib/index.ts";

// ANCHOR: run
console.log(`this process: pid ${process.pid}, parent ${process.ppid}\n`);
console.log("mode     clone()  child's getpid  gettid  getppid  memory shared  descriptors shared  status");
for (const mode of ["thread", "process"] as const) {
  const seen = cloneDemo(mode);
  const cells = [
    mode.padEnd(7),
    String(seen.cloneReturned).padStart(7),
    String(seen.child.pid).padStart(14),
    String(seen.child.tid).padStart(7),
    String(seen.child.ppid).padStart(8),
    String(seen.sharesMemory).padStart(13),
    String(seen.sharesDescriptors).padStart(18),
    seen.status ? describeStatus(seen.status) : "(a thread: joined, not waited for)",
  ];
  console.log(cells.join("  "));
}
// ANCHOR_END: run
