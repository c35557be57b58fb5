/**
 * send-and-probe.ts — kill(2) from a program: probe a process with signal
 * 0, ask it to end with SIGTERM, probe again, and meet the two errors of
 * kill: ESRCH (no such process) and EPERM (not yours to signal). For EPERM
 * the listing starts a copy of itself as user nobody (with setpriv) when it
 * runs as root; an ordinary user meets it at pid 1.
 *
 * Run:  bun run examples/05-signals/send-and-probe.ts
 */
import { describeStatus, IpcError, kill, probeProcess, spawn } from "../../lib/index.ts";

if (process.argv[2] === "as-nobody") {
  // ANCHOR: eperm
  const target = Number(process.argv[3]);
  console.log(`as uid ${process.getuid!()}: probeProcess(${target}) = ${probeProcess(target)}`);
  try {
    kill(target, "SIGTERM");
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`as uid ${process.getuid!()}: kill(${target}, SIGTERM) → ${error.name} ${error.code}: ${error.hint}`);
  }
  // ANCHOR_END: eperm
} else {
  // ANCHOR: lifecycle
  using sleeper = spawn(["sleep", "60"]);
  console.log(`probeProcess(${sleeper.pid}) = ${probeProcess(sleeper.pid)}`); // kill(pid, 0): sends nothing
  kill(sleeper.pid, "SIGTERM");
  console.log(`after SIGTERM the child ${describeStatus(sleeper.wait())}`);
  console.log(`probeProcess(${sleeper.pid}) = ${probeProcess(sleeper.pid)}`);
  try {
    kill(sleeper.pid, "SIGTERM");
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`kill again → ${error.name} ${error.code}: ${error.hint}`);
  }
  // ANCHOR_END: lifecycle

  // ANCHOR: permission
  if (process.getuid!() !== 0) {
    console.log(`as uid ${process.getuid!()}: probeProcess(1) = ${probeProcess(1)}`); // init belongs to root
  } else if (Bun.which("setpriv")) {
    const other = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, import.meta.path, "as-nobody", String(process.pid)]);
    process.stdout.write(other.stdout);
  } else {
    console.log("running as root without setpriv: every process may be signalled, so there is no EPERM to show");
  }
  // ANCHOR_END: permission
}
