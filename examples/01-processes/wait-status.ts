/**
 * wait-status.ts — what waitpid(2) tells a parent about its child: an
 * exit code, a death by a signal, a stop and a continue. The library
 * decodes the raw status word with the macros of <sys/wait.h>
 * (WIFEXITED, WEXITSTATUS, WIFSIGNALED, WTERMSIG, WIFSTOPPED, …); the raw
 * word is printed too, in hexadecimal, so you can see the packing.
 *
 * Run:  bun run examples/01-processes/wait-status.ts
 */
import { describeStatus, spawn, waitpid, type WaitStatus } from "../../lib/index.ts";

const show = (what: string, status: WaitStatus) =>
  console.log(`${what.padEnd(32)} raw 0x${status.raw.toString(16).padStart(4, "0")}  ${describeStatus(status)}`);

// ANCHOR: endings
show("sh -c 'exit 0'", spawn(["sh", "-c", "exit 0"]).wait());
show("sh -c 'exit 3'", spawn(["sh", "-c", "exit 3"]).wait());
show("sh -c 'exit 300' (300 & 0xff)", spawn(["sh", "-c", "exit 300"]).wait());

const victim = spawn(["sleep", "60"]);
victim.kill("SIGKILL");
show("sleep 60, sent SIGKILL", victim.wait());

show("sh -c 'kill -TERM $$'", spawn(["sh", "-c", 'kill -TERM "$$"']).wait());
// ANCHOR_END: endings

// ANCHOR: stop
const sleeper = spawn(["sleep", "60"]);
try {
  sleeper.kill("SIGSTOP");
  show("sleep 60, sent SIGSTOP", waitpid(sleeper.pid, { untraced: true })!.status); // WUNTRACED
  sleeper.kill("SIGCONT");
  show("then SIGCONT", waitpid(sleeper.pid, { continued: true })!.status); // WCONTINUED
} finally {
  sleeper.kill("SIGTERM");
  show("then SIGTERM", sleeper.wait());
}
// ANCHOR_END: stop
