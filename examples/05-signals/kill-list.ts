/**
 * kill-list.ts — the signals by name and number, as `kill -l` prints them,
 * built from the library's table: the standard signals 1 to 31 from the C
 * headers, then SIGRTMIN to SIGRTMAX as the C library reports them at run
 * time (glibc keeps 32 and 33 for its own threads, so SIGRTMIN is 34).
 *
 * Run:  bun run examples/05-signals/kill-list.ts
 */
import { killList, SIGRTMAX, SIGRTMIN, signalNumber, signalTable } from "../../lib/index.ts";

// ANCHOR: table
process.stdout.write(killList());
const bash = Bun.which("bash");
if (bash) {
  const theirs = Bun.spawnSync([bash, "-c", "kill -l"]).stdout.toString();
  console.log(`the same as bash's kill -l: ${theirs === killList()}`);
}
console.log(`SIGRTMIN = ${SIGRTMIN}, SIGRTMAX = ${SIGRTMAX}: ${SIGRTMAX - SIGRTMIN + 1} real-time signals`);
// ANCHOR_END: table

// ANCHOR: lecture
for (const name of ["SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGSEGV", "SIGPIPE", "SIGTERM", "SIGSTOP", "SIGCONT"] as const) {
  const entry = signalTable().find((e) => e.number === signalNumber(name))!;
  const note = entry.catchable ? "" : "  (cannot be caught or ignored)";
  console.log(`${String(entry.number).padStart(2)} ${name.padEnd(8)} ${entry.description.padEnd(22)} default: ${entry.defaultAction}${note}`);
}
// ANCHOR_END: lecture
