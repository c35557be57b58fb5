/**
 * Deadlock tooling.
 *
 * - `waitForGraph()`: who waits for whom. Built from the kernel's table of
 *   locks (/proc/locks: a blocked request "->" waits for every held lock
 *   on the same file whose range overlaps and whose mode conflicts) and
 *   from the library's own waits in this process (timed and async waits,
 *   lock files), which the kernel does not see as blocked.
 * - `findCycles()` / `findDeadlocks()`: the cycles in that graph, with the
 *   processes in them named. A cycle is a deadlock: every process in it
 *   waits for the next, and none can go on.
 * - `acquireWithBackoff()`: retry a non-blocking attempt with randomised
 *   exponential back-off until it succeeds or a timeout runs out, the
 *   practical defence when deadlock cannot be ruled out.
 * - `lockRanges()`: lock several byte ranges of a file in one fixed order
 *   (by offset), the way to prevent deadlock in the first place.
 *
 *   for (const cycle of findDeadlocks()) console.log(cycle.description);
 */
import fs from "node:fs";
import { ERRNO } from "./ffi/errno.ts";
import { ipcError } from "./errors.ts";
import {
  backoffDelays,
  blockedLockCalls,
  commandOf,
  deviceName,
  libraryWaits,
  ofdHolders,
  OpenFile,
  pidAlive,
  readProcLocks,
  type ByteRange,
  type LibraryWait,
  type LockMode,
  type ProcLock,
  type RecordLockKind,
} from "./locks.ts";
import { F } from "./ffi/constants.ts";

/** A process in the wait-for graph. */
export interface ProcessNode {
  pid: number;
  /** Its command name (/proc/PID/comm), or null if it is gone. */
  command: string | null;
}

/** An edge of the wait-for graph: `waiter` cannot go on until `holder` lets go of a lock. */
export interface WaitEdge {
  waiter: number;
  holder: number;
  /** The kind of lock waited for. */
  kind: "flock" | "posix" | "ofd" | "lockfile";
  /** The mode the waiter asked for. */
  mode: LockMode;
  /** The file: device ("fe:00"), inode and, when known, path. */
  device: string;
  inode: number;
  path: string | null;
  /** The bytes the waiter asked for (end null: to the end of the file). */
  start: number;
  end: number | null;
  /** Where the wait was seen: in /proc/locks, or in this process's library waits. */
  source: "kernel" | "library";
}

/** Who waits for whom. */
export interface WaitForGraph {
  /** Every process that waits or is waited for. */
  processes: Map<number, ProcessNode>;
  edges: WaitEdge[];
}

/** A cycle of the wait-for graph: a deadlock. */
export interface DeadlockCycle {
  /** The processes, each waiting for the next and the last for the first. */
  processes: ProcessNode[];
  /** The edges of the cycle, in the same order. */
  edges: WaitEdge[];
  /** One line per edge, in words. */
  description: string;
}

/** Options of `waitForGraph()` and `findDeadlocks()`. */
export interface WaitForGraphOptions {
  /** The lock table to use instead of reading /proc/locks (its lines, or /proc/locks text). */
  locks?: ProcLock[] | string;
  /** Add this process's own library waits (default true). */
  library?: boolean;
  /** Only waits on these files. */
  paths?: string[];
  /**
   * Name the owners that /proc/locks shows as pid -1 (open-file-description
   * locks and their waiters) by searching /proc/PID/fdinfo and
   * /proc/PID/task/TID/syscall. Default true; it reads every process's
   * entries, so turn it off for a quick look.
   */
  resolveOfd?: boolean;
}

/** flock locks conflict only with flock locks; POSIX and OFD record locks with each other. */
function family(kind: string): "flock" | "record" | "other" {
  if (kind === "flock") return "flock";
  if (kind === "posix" || kind === "ofd") return "record";
  return "other";
}

function overlaps(a: { start: number; end: number | null }, b: { start: number; end: number | null }): boolean {
  const aEnd = a.end ?? Infinity;
  const bEnd = b.end ?? Infinity;
  return a.start <= bEnd && b.start <= aEnd;
}

function conflicts(a: LockMode, b: LockMode): boolean {
  return a === "exclusive" || b === "exclusive";
}

/** The device and inode of each path, to match against /proc/locks. */
function fileKeys(paths: string[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const p of paths) {
    try {
      const st = fs.statSync(p, { bigint: true });
      keys.set(`${deviceName(st.dev)}:${st.ino}`, p);
    } catch {
      // a file that is gone has no locks
    }
  }
  return keys;
}

/**
 * Builds the wait-for graph from /proc/locks (or `options.locks`) and,
 * unless `library: false`, from the library's own waits in this process.
 */
export function waitForGraph(options: WaitForGraphOptions = {}): WaitForGraph {
  const locks = Array.isArray(options.locks) ? options.locks : readProcLocks(options.locks);
  const wanted = options.paths === undefined ? null : fileKeys(options.paths);
  const key = (l: { device: string; inode: number }) => `${l.device}:${l.inode}`;
  const relevant = wanted === null ? locks : locks.filter((l) => wanted.has(key(l)));
  const resolve = options.resolveOfd ?? true;
  const held = relevant.filter((l) => !l.blocked);

  // Owners that /proc/locks shows as -1, resolved once each.
  const ofdCache = new Map<string, number[]>();
  const holdersOf = (lock: ProcLock): number[] => {
    if (lock.pid > 0) return [lock.pid];
    if (!resolve) return [];
    const id = `${key(lock)}:${lock.start}:${lock.end}:${lock.mode}`;
    if (!ofdCache.has(id)) ofdCache.set(id, ofdHolders(lock));
    return ofdCache.get(id)!;
  };
  let blockedCalls: ReturnType<typeof blockedLockCalls> | null = null;
  const waitersOf = (request: ProcLock): number[] => {
    if (request.pid > 0) return [request.pid];
    if (!resolve) return [];
    blockedCalls ??= blockedLockCalls();
    const pids = blockedCalls
      .filter((b) => b.inode === request.inode && b.device === request.device && b.call === "fcntl" && b.operation === F.OFD_SETLKW)
      .map((b) => b.pid);
    return [...new Set(pids)];
  };

  const edges: WaitEdge[] = [];
  const seen = new Set<string>();
  const add = (edge: WaitEdge) => {
    const id = `${edge.waiter}>${edge.holder}:${key(edge)}:${edge.start}:${edge.end}:${edge.kind}`;
    if (seen.has(id)) return;
    seen.add(id);
    edges.push(edge);
  };
  const pathOf = (l: { device: string; inode: number }) => wanted?.get(key(l)) ?? null;

  for (const request of relevant.filter((l) => l.blocked)) {
    const blockers = held.filter(
      (h) => key(h) === key(request) && family(h.kind) === family(request.kind) && overlaps(h, request) && conflicts(h.mode, request.mode),
    );
    for (const waiter of waitersOf(request)) {
      for (const blocker of blockers) {
        for (const holder of holdersOf(blocker)) {
          // A process's own POSIX locks never block it.
          if (holder === waiter && request.kind === "posix" && blocker.kind === "posix") continue;
          add({
            waiter,
            holder,
            kind: request.kind === "flock" ? "flock" : request.kind === "ofd" ? "ofd" : "posix",
            mode: request.mode,
            device: request.device,
            inode: request.inode,
            path: pathOf(request),
            start: request.start,
            end: request.end,
            source: "kernel",
          });
        }
      }
    }
  }

  if (options.library ?? true) {
    for (const wait of libraryWaits()) {
      if (wanted !== null && !wanted.has(key(wait))) continue;
      for (const holder of libraryWaitHolders(wait, held, holdersOf)) {
        if (holder === wait.pid && wait.kind === "posix") continue;
        add({ ...waitEdgeBase(wait), holder, path: wanted?.get(key(wait)) ?? wait.path });
      }
    }
  }

  const processes = new Map<number, ProcessNode>();
  for (const edge of edges) {
    for (const pid of [edge.waiter, edge.holder]) {
      if (!processes.has(pid)) processes.set(pid, { pid, command: commandOf(pid) });
    }
  }
  return { processes, edges };
}

function waitEdgeBase(wait: LibraryWait): Omit<WaitEdge, "holder"> {
  return {
    waiter: wait.pid,
    kind: wait.kind,
    mode: wait.mode,
    device: wait.device,
    inode: wait.inode,
    path: wait.path,
    start: wait.start,
    end: wait.end,
    source: "library",
  };
}

/** Whom a library wait waits for: the conflicting holders in the lock table, or a lock file's owner. */
function libraryWaitHolders(wait: LibraryWait, held: ProcLock[], holdersOf: (l: ProcLock) => number[]): number[] {
  if (wait.kind === "lockfile") {
    const owners = held.filter((h) => h.kind === "flock" && h.device === wait.device && h.inode === wait.inode).flatMap(holdersOf);
    if (wait.ownerPid !== undefined && pidAlive(wait.ownerPid)) owners.push(wait.ownerPid);
    return [...new Set(owners)];
  }
  const blockers = held.filter(
    (h) =>
      h.device === wait.device &&
      h.inode === wait.inode &&
      family(h.kind) === family(wait.kind) &&
      overlaps(h, wait) &&
      conflicts(h.mode, wait.mode),
  );
  return [...new Set(blockers.flatMap(holdersOf))];
}

/** "bytes 0..15", "the whole file". */
function bytesText(edge: WaitEdge): string {
  if (edge.kind === "flock" || edge.kind === "lockfile") return "";
  if (edge.start === 0 && edge.end === null) return " (the whole file)";
  return ` (bytes ${edge.start}..${edge.end ?? "EOF"})`;
}

function nameOf(node: ProcessNode | undefined, pid: number): string {
  return node?.command ? `${pid} (${node.command})` : String(pid);
}

/** One edge in words: "1234 (bun) waits for 1240 (bun): exclusive POSIX lock on accounts.bin (bytes 0..15)". */
export function describeEdge(edge: WaitEdge, processes?: Map<number, ProcessNode>): string {
  const file = edge.path ?? `inode ${edge.inode} on ${edge.device}`;
  const kinds = { flock: "flock", posix: "POSIX lock", ofd: "OFD lock" } as const;
  const what = edge.kind === "lockfile" ? "the lock file" : `${edge.mode} ${kinds[edge.kind]} on`;
  return `${nameOf(processes?.get(edge.waiter), edge.waiter)} waits for ${nameOf(processes?.get(edge.holder), edge.holder)}: ${what} ${file}${bytesText(edge)}`;
}

/**
 * The cycles of the graph, each once: Tarjan's algorithm finds the
 * strongly connected components, and a walk inside each component that
 * has more than one process (or a process waiting for itself) gives one
 * cycle through its lowest PID.
 */
export function findCycles(graph: WaitForGraph): DeadlockCycle[] {
  const next = new Map<number, WaitEdge[]>();
  for (const edge of graph.edges) {
    if (!next.has(edge.waiter)) next.set(edge.waiter, []);
    next.get(edge.waiter)!.push(edge);
  }
  const components = stronglyConnected([...graph.processes.keys()], (pid) => (next.get(pid) ?? []).map((e) => e.holder));
  const cycles: DeadlockCycle[] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = Math.min(...component);
    const selfLoop = (next.get(start) ?? []).find((e) => e.holder === start);
    if (component.length === 1 && !selfLoop) continue;
    const path = selfLoop ? [selfLoop] : cycleThrough(start, members, next);
    if (path === null) continue;
    const processes = path.map((e) => graph.processes.get(e.waiter) ?? { pid: e.waiter, command: null });
    cycles.push({
      processes,
      edges: path,
      description: path.map((e) => describeEdge(e, graph.processes)).join("\n"),
    });
  }
  return cycles.sort((a, b) => a.processes[0]!.pid - b.processes[0]!.pid);
}

/** The deadlocks on this machine now (or among `options.paths`), with the processes named. */
export function findDeadlocks(options: WaitForGraphOptions = {}): DeadlockCycle[] {
  return findCycles(waitForGraph(options));
}

/** Tarjan's strongly connected components, iteratively (no recursion limit). */
function stronglyConnected(nodes: number[], successors: (n: number) => number[]): number[][] {
  let counter = 0;
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const result: number[][] = [];
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: number; children: number[]; i: number }[] = [];
    const visit = (node: number) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: successors(node), i: 0 });
    };
    visit(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) visit(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: number[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        result.push(component);
      }
    }
  }
  return result;
}

/** A shortest cycle from `start` back to itself inside `members` (breadth first). */
function cycleThrough(start: number, members: Set<number>, next: Map<number, WaitEdge[]>): WaitEdge[] | null {
  const via = new Map<number, WaitEdge>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const edge of next.get(node) ?? []) {
      if (!members.has(edge.holder)) continue;
      if (edge.holder === start) {
        const path = [edge];
        let at = node;
        while (at !== start) {
          const back = via.get(at)!;
          path.unshift(back);
          at = back.waiter;
        }
        return path;
      }
      if (!via.has(edge.holder)) {
        via.set(edge.holder, edge);
        queue.push(edge.holder);
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Timeouts and back-off

/** Options of `acquireWithBackoff()`. */
export interface BackoffOptions {
  /** Give up after this many seconds (TimeoutError); undefined: never. */
  timeout?: number;
  /** The first delay's ceiling in milliseconds; default 1. */
  initialDelay?: number;
  /** The largest delay in milliseconds; default 100. */
  maxDelay?: number;
  /** What is being acquired, for the error message. */
  what?: string;
}

/** What `acquireWithBackoff()` got, and after how many attempts. */
export interface Acquired<T> {
  value: T;
  attempts: number;
}

function checkBackoff(options: BackoffOptions, call: string): void {
  const t = options.timeout;
  if (t !== undefined && (typeof t !== "number" || Number.isNaN(t) || t < 0 || !Number.isFinite(t))) {
    throw new RangeError(`${call}: timeout must be 0 or more seconds, or left out to wait forever`);
  }
  for (const [name, value] of [
    ["initialDelay", options.initialDelay],
    ["maxDelay", options.maxDelay],
  ] as const) {
    if (value !== undefined && (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))) {
      throw new RangeError(`${call}: ${name} must be a positive number of milliseconds`);
    }
  }
}

/**
 * Calls `attempt` until it returns something other than false, null or
 * undefined, sleeping between attempts with randomised exponential
 * back-off (each delay drawn between half and all of a ceiling that
 * doubles up to `maxDelay`). The event loop keeps running meanwhile.
 * Throws TimeoutError (ETIMEDOUT) when `timeout` seconds have passed.
 */
export async function acquireWithBackoff<T>(
  attempt: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: BackoffOptions = {},
): Promise<Acquired<Exclude<T, false | null | undefined>>> {
  checkBackoff(options, "acquireWithBackoff");
  const deadline = options.timeout === undefined ? Infinity : performance.now() + options.timeout * 1000;
  let attempts = 0;
  for (const delay of backoffDelays({ initial: options.initialDelay ?? 1, max: options.maxDelay ?? 100 })) {
    attempts++;
    const value = await attempt();
    if (value !== false && value !== null && value !== undefined) return { value: value as Exclude<T, false | null | undefined>, attempts };
    const left = deadline - performance.now();
    if (left <= 0) throw backoffTimeout(options, attempts);
    await Bun.sleep(Math.min(delay, left));
  }
  throw new Error("unreachable");
}

/** acquireWithBackoff() for synchronous code: sleeps with Bun.sleepSync, blocking the event loop. */
export function acquireWithBackoffSync<T>(attempt: () => T | false | null | undefined, options: BackoffOptions = {}): Acquired<Exclude<T, false | null | undefined>> {
  checkBackoff(options, "acquireWithBackoffSync");
  const deadline = options.timeout === undefined ? Infinity : performance.now() + options.timeout * 1000;
  let attempts = 0;
  for (const delay of backoffDelays({ initial: options.initialDelay ?? 1, max: options.maxDelay ?? 100 })) {
    attempts++;
    const value = attempt();
    if (value !== false && value !== null && value !== undefined) return { value: value as Exclude<T, false | null | undefined>, attempts };
    const left = deadline - performance.now();
    if (left <= 0) throw backoffTimeout(options, attempts);
    Bun.sleepSync(Math.min(delay, left));
  }
  throw new Error("unreachable");
}

function backoffTimeout(options: BackoffOptions, attempts: number) {
  return ipcError({
    errno: ERRNO.ETIMEDOUT,
    call: "acquireWithBackoff",
    object: options.what,
    message: `not acquired within ${options.timeout} s (${attempts} attempts)`,
    hint: "whoever holds it has not let go; look in /proc/locks, or findDeadlocks(), for who that is",
  });
}

// ---------------------------------------------------------------------------
// Lock ordering

/** Options of `lockRanges()`. */
export interface LockRangesOptions extends RecordLockKind {
  /**
   * Seconds. Undefined: wait for each range in turn (safe because the
   * order is fixed). A number: all-or-nothing: try every range without
   * waiting, and if one is taken release those already held, back off,
   * and try again, until the timeout.
   */
  timeout?: number;
}

/** Sorted by start and free of duplicates: one global order for every process. */
function ordered(ranges: ByteRange[]): { start: number; length: number }[] {
  const list = ranges.map((r) => ({ start: r.start ?? 0, length: r.length ?? 0 }));
  list.sort((a, b) => a.start - b.start || a.length - b.length);
  return list.filter((r, i) => i === 0 || r.start !== list[i - 1]!.start || r.length !== list[i - 1]!.length);
}

/**
 * Locks several byte ranges of `file`, always in the same order (by
 * offset), so that two processes that need overlapping sets of ranges can
 * never wait for each other in a circle. Returns a function that releases
 * them all.
 */
export function lockRanges(file: OpenFile, mode: LockMode, ranges: ByteRange[], options: LockRangesOptions = {}): () => void {
  const list = ordered(ranges);
  const ofd = options.ofd ?? false;
  const release = (taken: { start: number; length: number }[]) => () => {
    for (const range of [...taken].reverse()) file.unlock({ ...range, ofd });
  };
  if (options.timeout === undefined) {
    const taken: { start: number; length: number }[] = [];
    try {
      for (const range of list) {
        file.lock(mode, { ...range, ofd });
        taken.push(range);
      }
    } catch (error) {
      release(taken)();
      throw error;
    }
    return release(taken);
  }
  const { value } = acquireWithBackoffSync(
    () => {
      const taken: { start: number; length: number }[] = [];
      for (const range of list) {
        if (!file.tryLock(mode, { ...range, ofd })) {
          release(taken)(); // all or nothing: never wait while holding
          return null;
        }
        taken.push(range);
      }
      return taken;
    },
    { timeout: options.timeout, what: file.path },
  );
  return release(value);
}

