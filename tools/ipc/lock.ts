/**
 * `ipc lock FILE -- COMMAND …`: hold a flock(2) lock while a command runs,
 * like flock(1). `ipc locks`: the kernel's table of file locks,
 * /proc/locks, with the processes and files named.
 */
import fs from "node:fs";
import os from "node:os";
import { IpcError, PermissionError } from "../../lib/errors.ts";
import { describeEdge, findDeadlocks, type DeadlockCycle } from "../../lib/deadlock.ts";
import { deviceName, ofdHolders, OpenFile, readProcLocks, type ProcLock } from "../../lib/locks.ts";
import { errorLine, EXIT, Failure, flag, option, out, secondsArg, table, UsageError, waiting, type Parsed, type Verb } from "./cli.ts";

/** Opens the lock file as flock(1) does: created if missing; read-only where writing is not allowed (a directory, say). */
function openLockFile(path: string): OpenFile {
  try {
    return new OpenFile(path, { create: true, mode: 0o644 });
  } catch (error) {
    const code = error instanceof IpcError ? error.code : "";
    if (error instanceof PermissionError || code === "EISDIR" || code === "EROFS") return new OpenFile(path, { readOnly: true });
    throw error;
  }
}

/** Status of a child that ended: its exit code, or 128 + the signal that killed it, as shells report it. */
function statusOf(child: Bun.Subprocess): number {
  if (child.exitCode !== null) return child.exitCode;
  const signal = child.signalCode;
  const number = signal === null ? undefined : (os.constants.signals as Record<string, number>)[signal];
  return 128 + (number ?? 0);
}

const lock: Verb = {
  name: "lock",
  summary: "Hold a flock(2) lock on FILE while COMMAND runs, like flock(1); exit with the command's status.",
  usage: "lock FILE [--shared] [--wait S] -- COMMAND [ARG...]",
  details: `FILE is created (mode 644) if it does not exist. The lock is exclusive unless
--shared is given; it is taken before COMMAND starts and released when it
ends. The command runs directly, without a shell: write \`sh -c '…'\` for one.

Options:
  --shared    a shared (read) lock: other --shared holders may hold it too
  --wait S    wait at most S seconds for the lock (default: for ever;
              0: do not wait). If the lock stays taken, exit with status 3
              and do not run COMMAND.

The lock belongs to this ipc process, not to COMMAND (the descriptor is not
inherited): it is released when ipc ends. SIGTERM and SIGHUP sent to ipc are
passed on to COMMAND, and ipc keeps the lock until COMMAND has ended; SIGINT
from the terminal reaches COMMAND directly. Exit status: COMMAND's own,
128+N if signal N ended it, 126 if it cannot be run, 127 if it is not found.
\`ipc locks\` or \`lslocks\` shows the lock while it is held.`,
  options: { shared: { type: "boolean", short: "s" }, wait: { type: "string", short: "w" } },
  positionals: { names: ["FILE"], min: 1 },
  command: true,
  async run(args: Parsed): Promise<number> {
    const path = args.positionals[0]!;
    const command = args.rest;
    if (command.length === 0) throw new UsageError("missing COMMAND (write it after --: ipc lock FILE -- COMMAND ARG...)");
    const waitText = option(args, "wait");
    const timeout = waitText === undefined ? undefined : secondsArg(waitText, "--wait");
    const mode = flag(args, "shared") ? "shared" : "exclusive";
    using file = openLockFile(path);
    waiting(() => file.flock(mode, { timeout }), timeout === 0 ? "the lock is held and --wait 0 does not wait; `ipc locks` shows who holds it" : `the lock stayed held for ${timeout} s; \`ipc locks\` shows who holds it`);
    // Handlers first: a SIGTERM that comes while the command starts must not end ipc and free the lock.
    let child: Bun.Subprocess | undefined;
    const pending: NodeJS.Signals[] = [];
    const forward = (signal: NodeJS.Signals) => () => (child ? child.kill(signal) : pending.push(signal));
    const handlers = { SIGTERM: forward("SIGTERM"), SIGHUP: forward("SIGHUP"), SIGINT: () => {} } as const;
    for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
    try {
      try {
        child = Bun.spawn(command, { stdio: ["inherit", "inherit", "inherit"] });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const status = code === "ENOENT" ? EXIT.NOT_FOUND : EXIT.CANNOT_RUN;
        throw new Failure(`cannot run ${JSON.stringify(command[0])}: ${errorLine(error)}`, status);
      }
      for (const signal of pending) child.kill(signal);
      await child.exited;
    } finally {
      for (const [signal, handler] of Object.entries(handlers)) process.off(signal, handler);
    }
    return statusOf(child);
  },
};

/** The path of the file with this device and inode that process `pid` has open, if we may look. */
function openPath(pid: number, device: string, inode: number): string | null {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return null;
  }
  for (const fd of fds) {
    try {
      const stat = fs.statSync(`/proc/${pid}/fd/${fd}`, { bigint: true });
      if (Number(stat.ino) === inode && deviceName(stat.dev) === device) return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      // closed while we looked
    }
  }
  return null;
}

/** One lock of /proc/locks, with the file's path and, for an open-file-description lock, its holders. */
export interface LockRow extends ProcLock {
  /** The path of the locked file, found through the holder's descriptors; null when unknown. */
  path: string | null;
  /** The processes holding an OFD lock (which /proc/locks shows as pid -1). */
  holders: number[];
}

/** /proc/locks, parsed by the library, with paths and OFD holders. */
export function lockRows(): LockRow[] {
  return readProcLocks().map((lock) => {
    const holders = lock.kind === "ofd" && !lock.blocked ? ofdHolders(lock) : [];
    const pids = lock.pid > 0 ? [lock.pid] : holders;
    let path: string | null = null;
    for (const pid of pids) {
      path = openPath(pid, lock.device, lock.inode);
      if (path !== null) break;
    }
    return { ...lock, path, holders };
  });
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

const locks: Verb = {
  name: "locks",
  summary: "Show the file locks held and awaited in the system (/proc/locks), with process names and paths.",
  usage: "locks [--json]",
  details: `One row per line of /proc/locks: the lock's number, its kind (flock, posix for
fcntl record locks, ofd for open-file-description locks), shared or
exclusive, the process and its command name, the byte range and the file.
A row whose number is marked "->" is a request waiting for the lock of that
number. /proc/locks writes pid -1 for open-file-description locks; ipc names
their holders from /proc/PID/fdinfo. The path is found through the holder's
open descriptors, and shows as the device:inode when it cannot be.

Then, if processes wait for each other's locks in a cycle (a deadlock: none
of them can ever go on), each cycle in words, from the wait-for graph of
lib/deadlock.ts.

Options:
  --json   {"locks": [one object per row], "deadlocks": [the cycles]}`,
  options: { json: { type: "boolean" } },
  positionals: { names: [], min: 0 },
  run(args: Parsed): number {
    const rows = lockRows();
    const cycles = findDeadlocks({ locks: rows, library: false }).map((cycle) => withPaths(cycle, rows));
    if (flag(args, "json")) {
      out(`${JSON.stringify({ locks: rows, deadlocks: cycles }, null, 2)}\n`);
      return EXIT.OK;
    }
    if (rows.length === 0) {
      out("No file locks are held.\n");
      return EXIT.OK;
    }
    const cells = rows.map((r) => {
      const pid = r.pid > 0 ? String(r.pid) : r.holders.length > 0 ? r.holders.join(",") : "-1";
      const command = r.command ?? (r.pid <= 0 && r.holders.length > 0 ? r.holders.map(commandOf).join(",") : "-");
      return [
        r.blocked ? `->${r.id}` : String(r.id),
        r.kind,
        r.mode,
        pid,
        command,
        `${r.start}-${r.end === null ? "EOF" : r.end}`,
        r.path ?? `${r.device}:${r.inode}`,
      ];
    });
    out(table(["ID", "KIND", "MODE", "PID", "COMMAND", "RANGE", "FILE"], cells));
    for (const cycle of cycles) out(`\n${deadlockText(cycle)}`);
    return EXIT.OK;
  },
};

/** The cycle with each file's path filled in from the rows (the wait-for graph knows files by device and inode). */
function withPaths(cycle: DeadlockCycle, rows: LockRow[]): DeadlockCycle {
  const paths = new Map(rows.filter((r) => r.path !== null).map((r) => [`${r.device}:${r.inode}`, r.path]));
  const edges = cycle.edges.map((e) => ({ ...e, path: e.path ?? paths.get(`${e.device}:${e.inode}`) ?? null }));
  const processes = new Map(cycle.processes.map((p) => [p.pid, p]));
  return { ...cycle, edges, description: edges.map((e) => describeEdge(e, processes)).join("\n") };
}

/** A deadlock in words: who waits for whom, and what to do. */
function deadlockText(cycle: DeadlockCycle): string {
  const pids = cycle.processes.map((p) => p.pid);
  return (
    `DEADLOCK: ${pids.length === 1 ? "a process waits for itself" : `${pids.length} processes wait for each other in a cycle`}; none can go on:\n` +
    `${cycle.description.replace(/^/gm, "  ")}\n` +
    `  End one of them (kill ${pids[0]}) to break it; taking locks in one fixed order prevents it.\n`
  );
}

/** `ipc lock` and `ipc locks`. */
export const lockVerbs: Verb[] = [lock, locks];
