/**
 * fork-exec.ts — the classic way to start a program: fork(2) makes a copy
 * of this process, and the copy replaces itself with another program by
 * execv(3). Both steps happen in C (lib/native/fork.c), because a copy of
 * Bun cannot run JavaScript; TypeScript sees the child's pid and status.
 *
 * Run:  bun run examples/01-processes/fork-exec.ts
 */
import { describeStatus, forkExec } from "../../lib/index.ts";

// ANCHOR: run
console.log(`parent: pid ${process.pid}`);
const ok = forkExec(["/bin/sh", "-c", 'echo "child: pid $$, running /bin/sh"; exit 3']);
console.log(`parent: child ${ok.pid} ${describeStatus(ok.status)}`);

const missing = forkExec(["/no/such/program"]);
console.log(`parent: child ${missing.pid} ${describeStatus(missing.status)} (execv failed, so the child called _exit(127))`);
// ANCHOR_END: run
