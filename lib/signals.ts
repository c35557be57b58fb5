/**
 * Signals: sending them, naming them, and receiving them in Bun.
 *
 * - `kill(pid, signal)`: kill(2) to a process, `killGroup(pgid, signal)`
 *   to a process group (kill with -pgid), and `probeProcess(pid)`, which
 *   sends signal 0 to learn whether a process exists and may be signalled.
 * - `sigqueue(pid, signal, value)`: sigqueue(3), a signal that carries an
 *   integer; real-time signals sent this way queue up and arrive in order.
 * - `signalNumber`, `signalName`, `signalTable`, `killList`: the names,
 *   numbers and default actions, as `kill -l` prints them, with SIGRTMIN
 *   and SIGRTMAX read from the C library at run time.
 * - `onSignal(signal, handler)`: a JavaScript handler through Bun's
 *   `process.on`, refused with a clear error for the signals Bun cannot
 *   deliver to JavaScript (see BUN_UNDELIVERABLE below, tested one by one in
 *   test/lib/signals-bun.test.ts). A JavaScript handler runs later, on the
 *   event loop, once the code that was running when the signal came has
 *   returned; it learns the signal's name and nothing else.
 * - `SignalReceiver`: what JavaScript cannot see on its own. A C handler
 *   (lib/native/signals.c, compiled at run time with bun:ffi's `cc`) sees
 *   the whole siginfo_t — the sender's pid and uid, the sigqueue payload —
 *   and writes it into a pipe, which JavaScript then reads synchronously or
 *   without blocking the event loop. It also catches real-time signals.
 * - `onShutdown(cleanup)`: graceful shutdown on SIGTERM and SIGINT: run the
 *   clean-up (remove the IPC objects you made), then end by the same signal.
 * - `ignoreSignal`, `signalDisposition`, `processSignals`: set SIG_IGN, read
 *   a disposition, and read /proc/PID/status's signal masks.
 *
 *   kill(pid, "SIGHUP");                          // reload, please
 *   sigqueue(pid, "SIGRTMIN+1", 42);              // with a payload
 *   using receiver = new SignalReceiver("SIGRTMIN+1");
 *   const { value, pid: sender } = receiver.receive({ timeout: 5 });
 */
import fs from "node:fs";
import path from "node:path";
import { cc, ptr } from "bun:ffi";
import { F, O, SI, SIG } from "./ffi/constants.ts";
import { errno, sys } from "./ffi/libc.ts";
import { ERRNO } from "./ffi/errno.ts";
import { closed, errorFor, invalid, lastError, type Hints } from "./errors.ts";

// ---------------------------------------------------------------------------
// Names and numbers

/** A standard signal's name as the C headers spell it: "SIGTERM". */
export type SignalName = `SIG${keyof typeof SIG}`;

/** A real-time signal's name, relative to SIGRTMIN or SIGRTMAX: "SIGRTMIN+2", "SIGRTMAX-1". */
export type RealTimeSignalName = "SIGRTMIN" | "SIGRTMAX" | `SIGRTMIN+${number}` | `SIGRTMAX-${number}`;

/** A signal: a name (with or without "SIG", any case), or a number. */
export type Signal = SignalName | keyof typeof SIG | RealTimeSignalName | number;

/** The lowest real-time signal this C library lets programs use (glibc: 34; it keeps 32 and 33 for its threads). */
export const SIGRTMIN: number = sys.__libc_current_sigrtmin();
/** The highest real-time signal (64 on Linux). */
export const SIGRTMAX: number = sys.__libc_current_sigrtmax();

const STANDARD = new Map<number, SignalName>(Object.entries(SIG).map(([name, n]) => [n, `SIG${name}` as SignalName]));
/** Other names the C headers give some signals. */
const ALIASES: Record<string, number> = { IOT: SIG.ABRT, POLL: SIG.IO, CLD: SIG.CHLD };

/**
 * The name of a signal number: "SIGTERM" for 15, "SIGRTMIN+2" and
 * "SIGRTMAX-3" for real-time signals (the half nearer SIGRTMAX counts from
 * it, as `kill -l` does), "signal N" for a number that names nothing.
 */
export function signalName(signal: number): string {
  const standard = STANDARD.get(signal);
  if (standard) return standard;
  if (Number.isInteger(signal) && signal >= SIGRTMIN && signal <= SIGRTMAX) {
    if (signal === SIGRTMIN) return "SIGRTMIN";
    if (signal === SIGRTMAX) return "SIGRTMAX";
    const fromMin = signal - SIGRTMIN;
    return fromMin <= (SIGRTMAX - SIGRTMIN) / 2 ? `SIGRTMIN+${fromMin}` : `SIGRTMAX-${SIGRTMAX - signal}`;
  }
  return `signal ${signal}`;
}

/**
 * The number of a signal: 15 for "SIGTERM", "TERM", "sigterm" or 15;
 * "SIGRTMIN+2" or "RTMAX-1" for a real-time signal. Signal 0 (no signal:
 * only the checks) is accepted as a number. Anything else is a TypeError
 * (or a RangeError for a number out of range), before any system call.
 */
export function signalNumber(signal: Signal): number {
  if (typeof signal === "number") {
    if (!Number.isInteger(signal)) throw new TypeError(`signal: a signal number is a whole number, got ${signal}`);
    if (signal < 0 || signal > SIGRTMAX) throw new RangeError(`signal: ${signal} is not a signal number (0 to ${SIGRTMAX}; see \`kill -l\`)`);
    if (signal > 31 && signal < SIGRTMIN) {
      throw new RangeError(`signal: ${signal} is reserved by the C library for its own threads; real-time signals start at SIGRTMIN (${SIGRTMIN})`);
    }
    return signal;
  }
  if (typeof signal !== "string") throw new TypeError(`signal: expected a name such as "SIGTERM" or a number, got ${typeof signal}`);
  const word = signal.trim().toUpperCase().replace(/^SIG/, "");
  if (Object.hasOwn(SIG, word)) return SIG[word as keyof typeof SIG];
  if (Object.hasOwn(ALIASES, word)) return ALIASES[word]!;
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(word);
  if (rt) {
    const n = (rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX) + (rt[2] === "-" ? -1 : 1) * Number(rt[3] ?? 0);
    if (n < SIGRTMIN || n > SIGRTMAX) {
      throw new RangeError(`signal: ${signal} is outside SIGRTMIN..SIGRTMAX (${SIGRTMIN}..${SIGRTMAX}; there are ${SIGRTMAX - SIGRTMIN + 1} real-time signals)`);
    }
    return n;
  }
  const guess = closestName(word);
  throw new TypeError(
    `unknown signal ${JSON.stringify(signal)}: write a name such as "SIGTERM" or "SIGRTMIN+1", or a number` +
      (guess ? ` (did you mean ${guess}?)` : "") + "; `kill -l` lists them all",
  );
}

/** The standard name nearest to a misspelt one, if any is close. */
function closestName(word: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of Object.keys(SIG)) {
    const d = editDistance(word, name);
    if (d <= 2 && (!best || d < best.distance)) best = { name: `SIG${name}`, distance: d };
  }
  return best?.name;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** What the kernel does with a signal nobody handles (signal(7)). */
export type DefaultAction = "terminate" | "core" | "stop" | "continue" | "ignore";

const DEFAULT_ACTION: Record<keyof typeof SIG, DefaultAction> = {
  HUP: "terminate", INT: "terminate", QUIT: "core", ILL: "core", TRAP: "core", ABRT: "core", BUS: "core",
  FPE: "core", KILL: "terminate", USR1: "terminate", SEGV: "core", USR2: "terminate", PIPE: "terminate",
  ALRM: "terminate", TERM: "terminate", STKFLT: "terminate", CHLD: "ignore", CONT: "continue", STOP: "stop",
  TSTP: "stop", TTIN: "stop", TTOU: "stop", URG: "ignore", XCPU: "core", XFSZ: "core", VTALRM: "terminate",
  PROF: "terminate", WINCH: "ignore", IO: "terminate", PWR: "terminate", SYS: "core",
};

/** One line of the signal table. */
export interface SignalEntry {
  number: number;
  /** "SIGTERM", "SIGRTMIN+1". */
  name: string;
  /** The C library's description (strsignal): "Terminated". */
  description: string;
  /** What happens to a process that neither handles nor ignores it. */
  defaultAction: DefaultAction;
  /** false for SIGKILL and SIGSTOP, which no process can handle, ignore or block. */
  catchable: boolean;
}

/**
 * Every signal a program can send, in number order: the standard signals
 * 1 to 31, then SIGRTMIN to SIGRTMAX (32 and 33 belong to the C library).
 */
export function signalTable(): SignalEntry[] {
  const numbers = [...STANDARD.keys(), ...Array.from({ length: SIGRTMAX - SIGRTMIN + 1 }, (_, i) => SIGRTMIN + i)];
  return numbers.map((number) => {
    const standard = STANDARD.get(number);
    return {
      number,
      name: signalName(number),
      description: describeSignal(number),
      defaultAction: standard ? DEFAULT_ACTION[standard.slice(3) as keyof typeof SIG] : "terminate",
      catchable: number !== SIG.KILL && number !== SIG.STOP,
    };
  });
}

function describeSignal(number: number): string {
  if (number >= SIGRTMIN) return `Real-time signal ${number - SIGRTMIN}`;
  return native().ipcsig_describe(number)?.toString() ?? `Signal ${number}`;
}

/**
 * The table as bash's `kill -l` prints it: "%2d) SIGNAME" entries, five to
 * a line, separated by tabs.
 */
export function killList(): string {
  const entries = signalTable().map(({ number, name }) => `${String(number).padStart(2)}) ${name}`);
  let text = "";
  entries.forEach((entry, i) => {
    text += entry + ((i + 1) % 5 === 0 ? "\n" : "\t");
  });
  return entries.length % 5 === 0 ? text : `${text}\n`;
}

// ---------------------------------------------------------------------------
// Sending

const KILL_HINTS: Hints = {
  ESRCH: "there is no process with this pid: it has ended (and been waited for), or the pid is wrong; `ps -p PID` checks",
  EPERM:
    "the process exists but belongs to another user: you may signal only your own processes, " +
    "unless you are root (CAP_KILL); run `ps -o user= -p PID` to see whose it is",
  EINVAL: "this is not a valid signal number",
};

const GROUP_HINTS: Hints = {
  ESRCH: "no process is in this process group (they have all ended?); `ps -o pid,pgid,comm -g PGID` lists a group",
  EPERM: "the group has processes, but none that your user may signal",
  EINVAL: KILL_HINTS.EINVAL,
};

const SIGQUEUE_HINTS: Hints = {
  ...KILL_HINTS,
  EAGAIN:
    "the receiver's queue of pending real-time signals is full: it has RLIMIT_SIGPENDING signals waiting " +
    "(`ulimit -i`); it is not receiving them, or too slowly",
};

function checkPid(pid: unknown, call: string): number {
  if (typeof pid !== "number" || !Number.isInteger(pid)) throw new TypeError(`${call}: pid must be an integer, got ${String(pid)}`);
  if (pid === 0) {
    throw new TypeError(`${call}: pid 0 would signal your own process group, this process included; pass the group explicitly with killGroup()`);
  }
  if (pid === -1) {
    throw new TypeError(`${call}: pid -1 would signal every process you are allowed to signal (as root: all of them); it is refused`);
  }
  if (pid < -0x7fffffff || pid > 0x7fffffff) throw new RangeError(`${call}: pid ${pid} is out of range`);
  return pid;
}

/**
 * kill(2): sends `signal` (default SIGTERM) to the process `pid`, or to
 * every process of the group -pid when pid is negative. Signal 0 sends
 * nothing but makes the same checks: see `probeProcess`. Throws
 * NotFoundError (ESRCH) for a process that does not exist and
 * PermissionError (EPERM) for one you may not signal.
 */
export function kill(pid: number, signal: Signal = "SIGTERM"): void {
  checkPid(pid, "kill");
  const n = signalNumber(signal);
  if (sys.kill(pid, n) === -1) {
    throw pid < 0 ? lastError("kill", `process group ${-pid}`, GROUP_HINTS) : lastError("kill", `pid ${pid}`, KILL_HINTS);
  }
}

/** kill(-pgid, signal): sends `signal` to every process in the process group `pgid`. */
export function killGroup(pgid: number, signal: Signal = "SIGTERM"): void {
  if (typeof pgid !== "number" || !Number.isInteger(pgid) || pgid <= 0) {
    throw new TypeError(`killGroup: the process group id must be a positive integer, got ${String(pgid)}`);
  }
  kill(-pgid, signal);
}

/** What signal 0 tells about a pid. */
export type ProbeResult =
  /** It exists and this process may signal it. */
  | "signallable"
  /** It exists but belongs to another user (EPERM): alive, not yours. */
  | "not-permitted"
  /** There is no such process (ESRCH). */
  | "no-such-process";

/**
 * kill(pid, 0): the kernel makes every check of a real kill but sends
 * nothing. A zombie (ended, not yet waited for) still counts as existing.
 */
export function probeProcess(pid: number): ProbeResult {
  checkPid(pid, "kill");
  if (sys.kill(pid, 0) === 0) return "signallable";
  const e = errno();
  if (e === ERRNO.ESRCH) return "no-such-process";
  if (e === ERRNO.EPERM) return "not-permitted";
  throw errorFor(e, "kill", `pid ${pid}`, KILL_HINTS);
}

/** Whether a process with this pid exists (signallable by us or not). */
export function processExists(pid: number): boolean {
  return probeProcess(pid) !== "no-such-process";
}

/**
 * sigqueue(3): sends `signal` with an integer payload (`value`, a 32-bit
 * signed integer) that a receiver with an SA_SIGINFO handler reads from
 * si_value — in Bun, a `SignalReceiver`. Real-time signals sent this way
 * queue: all of them arrive, in order. Standard signals do not: a second
 * one sent while the first is pending is merged into it.
 */
export function sigqueue(pid: number, signal: Signal, value = 0): void {
  checkPid(pid, "sigqueue");
  if (pid < 0) throw new TypeError("sigqueue: it sends to one process only; a negative pid (a group) is not allowed");
  const n = signalNumber(signal);
  if (typeof value !== "number" || !Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1) {
    throw new RangeError(`sigqueue: value must be a 32-bit signed integer (-2147483648 to 2147483647), got ${String(value)}`);
  }
  if (sys.sigqueue(pid, n, value) === -1) throw lastError("sigqueue", `pid ${pid}`, SIGQUEUE_HINTS);
}

/** This process's process group id (getpgrp). */
export function processGroup(): number {
  return sys.getpgrp();
}

// ---------------------------------------------------------------------------
// JavaScript handlers through Bun

/**
 * Signals that Bun (1.4) cannot deliver to a JavaScript handler, and why.
 * Every other signal of `kill -l` 1..31 reaches `process.on`, including
 * SIGPIPE and SIGXFSZ (which Bun otherwise ignores) and SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGTRAP and SIGABRT when another process sends them.
 * test/lib/signals-bun.test.ts sends each one to a real Bun process.
 */
export const BUN_UNDELIVERABLE: Readonly<Record<string, string>> = {
  SIGKILL: "SIGKILL cannot be caught, blocked or ignored: the kernel ends the process",
  SIGSTOP: "SIGSTOP cannot be caught, blocked or ignored: the kernel stops the process (SIGCONT resumes it)",
  SIGPWR: "Bun's JavaScript engine uses SIGPWR to pause its own threads; a handler for it never runs",
  SIGSTKFLT: "Bun accepts process.on(\"SIGSTKFLT\") but installs no handler: the signal still ends the process",
  "real-time":
    "Bun has no names for the real-time signals and installs no handler for them (process.on(\"SIGRTMIN\") is " +
    "silently accepted and the signal still ends the process); use a SignalReceiver, which handles them in C",
};

function bunRefusal(n: number): string | undefined {
  if (n >= SIGRTMIN && n <= SIGRTMAX) return BUN_UNDELIVERABLE["real-time"];
  return BUN_UNDELIVERABLE[signalName(n)];
}

/** A handler installed by `onSignal`; dispose of it (or call `remove()`) to take it away. */
export interface SignalSubscription extends Disposable {
  readonly signal: string;
  remove(): void;
}

/**
 * Installs a JavaScript handler for `signal` with `process.on`. The handler
 * runs on the event loop, after whatever JavaScript was running when the
 * signal arrived has returned — never in the middle of it — so it may do
 * anything JavaScript can. It learns the signal's name only: use a
 * `SignalReceiver` for the sender and the sigqueue payload. Several
 * signals of one kind that arrive before it runs may run it once.
 *
 * Refuses, with the reason, the signals Bun cannot deliver (BUN_UNDELIVERABLE).
 */
export function onSignal(signal: Signal, handler: (signal: string) => void): SignalSubscription {
  const n = signalNumber(signal);
  if (n === 0) throw new TypeError("onSignal: signal 0 is not a signal; it only probes (see probeProcess)");
  const refusal = bunRefusal(n);
  if (refusal) throw invalid("process.on", signalName(n), refusal);
  if (typeof handler !== "function") throw new TypeError("onSignal: the handler must be a function");
  const name = signalName(n);
  const listener = () => handler(name);
  process.on(name as NodeJS.Signals, listener);
  let active = true;
  const remove = () => {
    if (!active) return;
    active = false;
    process.off(name as NodeJS.Signals, listener);
  };
  return { signal: name, remove, [Symbol.dispose]: remove };
}

/** How `onShutdown` ends the process once the clean-up is done. */
export interface ShutdownOptions {
  /** The signals that mean "shut down"; default SIGTERM and SIGINT. */
  signals?: Signal[];
  /**
   * After the clean-up: "reraise" (the default) sends the same signal again
   * with its default action, so the parent sees "killed by SIGTERM", the
   * conventional end; a number exits with that code instead.
   */
  exit?: "reraise" | number;
  /** Called if the clean-up throws; the process still ends. Default: print it. */
  onError?: (error: unknown) => void;
}

/**
 * Graceful shutdown: on the first of `signals` (default SIGTERM, SIGINT),
 * runs `cleanup` — remove the IPC objects this process made, finish or
 * abandon the work in hand — and then ends the process by the same signal.
 * Signals are brutal: they arrive between any two statements of your
 * program; this turns one into an orderly stop at the next free moment of
 * the event loop. A second signal during the clean-up takes the default
 * action (the handlers are gone by then): the way to force a stuck shutdown.
 */
export function onShutdown(cleanup: (signal: string) => void | Promise<void>, options: ShutdownOptions = {}): SignalSubscription {
  if (typeof cleanup !== "function") throw new TypeError("onShutdown: cleanup must be a function");
  const names = (options.signals ?? ["SIGTERM", "SIGINT"]).map((s) => signalName(signalNumber(s)));
  const exit = options.exit ?? "reraise";
  if (exit !== "reraise" && !(Number.isInteger(exit) && exit >= 0 && exit <= 255)) {
    throw new RangeError(`onShutdown: exit must be "reraise" or an exit code 0..255, got ${String(exit)}`);
  }
  const subscriptions: SignalSubscription[] = [];
  const removeAll = () => {
    for (const s of subscriptions.splice(0)) s.remove();
  };
  const shutDown = async (signal: string) => {
    removeAll();
    try {
      await cleanup(signal);
    } catch (error) {
      (options.onError ?? ((e: unknown) => console.error(`clean-up on ${signal} failed:`, e)))(error);
    }
    if (exit === "reraise") {
      process.kill(process.pid, signal as NodeJS.Signals); // no listener now: the default action ends us
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // it is delivered at once; this is a fallback
      process.exit(128 + signalNumber(signal as Signal));
    }
    process.exit(exit);
  };
  for (const name of names) subscriptions.push(onSignal(name as Signal, (s) => void shutDown(s)));
  return { signal: names.join(","), remove: removeAll, [Symbol.dispose]: removeAll };
}

// ---------------------------------------------------------------------------
// The C side: lib/native/signals.c

const i32 = "i32" as const;

function loadNative() {
  const source = path.join(import.meta.dir, "native", "signals.c");
  try {
    return cc({
      source,
      symbols: {
        ipcsig_record_size: { args: [], returns: i32 },
        ipcsig_rtmin: { args: [], returns: i32 },
        ipcsig_rtmax: { args: [], returns: i32 },
        ipcsig_channel: { args: [i32, i32], returns: i32 },
        ipcsig_flush: { args: [], returns: "void" },
        ipcsig_wait: { args: [i32, i32], returns: i32 },
        ipcsig_install: { args: [i32], returns: i32 },
        ipcsig_prime: { args: [i32, i32], returns: i32 },
        ipcsig_release: { args: [i32], returns: "void" },
        ipcsig_ignore: { args: [i32], returns: i32 },
        ipcsig_unignore: { args: [i32], returns: i32 },
        ipcsig_disposition: { args: [i32], returns: i32 },
        ipcsig_dropped: { args: [i32], returns: i32 },
        ipcsig_describe: { args: [i32], returns: "cstring" },
      },
    }).symbols;
  } catch (error) {
    throw new Error(
      `compiling ${source} with bun:ffi's cc failed; it needs the C library's headers ` +
        `(on Debian or Ubuntu: apt install libc6-dev): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

let nativeSymbols: ReturnType<typeof loadNative> | undefined;
/** The compiled helper; compiled once, on first use, and kept for the life of the process (its handler may run at any time). */
function native(): ReturnType<typeof loadNative> {
  return (nativeSymbols ??= loadNative());
}

/** Signals whose disposition this module has changed, and by which object. */
const owners = new Map<number, string>();

function claim(n: number, by: string): void {
  const owner = owners.get(n);
  if (owner) throw invalid("sigaction", signalName(n), `${signalName(n)} is already taken by ${owner} in this process; close that first`);
  owners.set(n, by);
}

/** Checks that a signal may get a C-level disposition here. */
function changeable(n: number, call: string): void {
  if (n === 0) throw new TypeError(`${call}: signal 0 is not a signal`);
  if (n === SIG.KILL || n === SIG.STOP) {
    throw invalid(call, signalName(n), `${signalName(n)} cannot be caught, blocked or ignored; the kernel refuses with EINVAL`);
  }
  if (n === SIG.PWR) throw invalid(call, "SIGPWR", BUN_UNDELIVERABLE.SIGPWR!);
  const fault = [SIG.SEGV, SIG.BUS, SIG.ILL, SIG.FPE, SIG.TRAP, SIG.ABRT] as number[];
  if (fault.includes(n)) {
    throw invalid(call, signalName(n), `${signalName(n)} reports a fault of this very process; Bun's crash handler must keep it`);
  }
}

/** How a signal is set up in this process now. */
export type Disposition = "default" | "ignore" | "handler";

/** sigaction(signal, NULL, &old): whether the signal is at its default, ignored or handled, here and now. */
export function signalDisposition(signal: Signal): Disposition {
  const n = signalNumber(signal);
  const result = native().ipcsig_disposition(n);
  if (result < 0) throw errorFor(-result, "sigaction", signalName(n));
  // 10 and up: a SignalReceiver's handler, closed, passing deliveries on to the action it replaced.
  return (["default", "ignore", "handler"] as const)[result % 10]!;
}

/**
 * Sets `signal` to be ignored (SIG_IGN) until the returned object is
 * disposed of, which puts back what was there before. An ignored signal is
 * discarded by the kernel on arrival, and stays ignored across exec, in the
 * programs this process starts (lib/process.ts `spawn` resets them).
 */
export function ignoreSignal(signal: Signal): Disposable & { restore(): void } {
  const n = signalNumber(signal);
  changeable(n, "sigaction");
  claim(n, "ignoreSignal()");
  const result = native().ipcsig_ignore(n);
  if (result < 0) {
    owners.delete(n);
    throw errorFor(-result, "sigaction", signalName(n));
  }
  let active = true;
  const restore = () => {
    if (!active) return;
    active = false;
    native().ipcsig_unignore(n);
    owners.delete(n);
  };
  return { restore, [Symbol.dispose]: restore };
}

/** The signal masks of a process, from /proc/PID/status. */
export interface ProcessSignals {
  /** Blocked: held back until unblocked (SigBlk). */
  blocked: string[];
  /** Ignored: discarded on arrival (SigIgn). */
  ignored: string[];
  /** Caught: a handler is installed (SigCgt). */
  caught: string[];
  /** Pending for the whole process (ShdPnd). */
  pending: string[];
}

/** A signal mask (SigBlk, SigIgn, ShdPnd…) from the text of a /proc status file; bit n-1 is signal n. 0 if absent. */
function statusMask(status: string, field: string): bigint {
  const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(status)?.[1];
  return hex === undefined ? 0n : BigInt(`0x${hex}`);
}

/** Which signals a process blocks, ignores and catches, as `ps -o blocked,ignored,caught` would show. */
export function processSignals(pid: number | "self" = "self"): ProcessSignals {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const mask = (field: string): string[] => {
    const bits = statusMask(text, field);
    const names: string[] = [];
    for (let n = 1; n <= 64; n++) if ((bits >> BigInt(n - 1)) & 1n) names.push(signalName(n));
    return names;
  };
  return { blocked: mask("SigBlk"), ignored: mask("SigIgn"), caught: mask("SigCgt"), pending: mask("ShdPnd") };
}

// ---------------------------------------------------------------------------
// Receiving with siginfo: SignalReceiver

/** Who sent a signal, from si_code: kill(2), sigqueue(3), a message queue's mq_notify(3), tgkill(2), the kernel. */
export type SignalSource = "kill" | "sigqueue" | "mq_notify" | "tkill" | "kernel" | "other";

/** One signal as the C handler saw it. */
export interface ReceivedSignal {
  /** "SIGRTMIN+1". */
  signal: string;
  number: number;
  /** The payload (si_value.sival_int): sigqueue's value, mq_notify's sigev_value; 0 for a plain kill. */
  value: number;
  /** The sender's pid (si_pid) and real user id (si_uid). */
  pid: number;
  uid: number;
  source: SignalSource;
  /** si_code as the kernel set it. */
  code: number;
  /** Deliveries of this signal lost just before this one because nobody was reading (the pipe was full). */
  lostBefore: number;
}

const RECORD_SIZE = 24;

function sourceOf(code: number): SignalSource {
  switch (code) {
    case SI.USER:
      return "kill";
    case SI.QUEUE:
      return "sigqueue";
    case SI.MESGQ:
      return "mq_notify";
    case SI.TKILL:
      return "tkill";
    case SI.KERNEL:
      return "kernel";
    default:
      return "other";
  }
}

/**
 * The process-wide channel between the C handler and JavaScript: a data
 * pipe that carries 24-byte records, and a wake pipe that gets one byte per
 * record so that an async reader can sleep on it. Both are made once, with
 * close-on-exec and non-blocking, and never closed: the handler may run at
 * any moment, and must never write into a descriptor number that has been
 * reused for something else.
 */
class Channel {
  readonly dataRead: number;
  readonly wakeRead: number;
  readonly wakeWrite: number;
  /** The thread that takes every delivery (this one: see lib/native/signals.c). */
  readonly taker: number;
  /** Threads (by tid) told to block each signal, and those that said they did. */
  readonly #primed = new Map<number, Set<number>>();
  readonly #acknowledged = new Set<number>();
  /** Records not yet taken, in arrival order, for the signals some receiver holds. */
  readonly #records: ReceivedSignal[] = [];
  readonly #open = new Set<number>();
  readonly #buffer = new Uint8Array(RECORD_SIZE * 512);
  #pending: Uint8Array = new Uint8Array(0);
  #wakeReader: { read(): Promise<unknown>; cancel(): Promise<void> } | undefined;
  #wakeRead: Promise<unknown> | undefined;
  #waiters = 0;

  constructor() {
    const lib = native();
    if (lib.ipcsig_record_size() !== RECORD_SIZE) throw new Error("lib/native/signals.c: unexpected record size");
    const data = pipePair("data");
    const wake = pipePair("wake");
    // Room for about 40,000 undelivered records instead of 2,700 (1 MiB is the unprivileged maximum).
    sys.fcntl(data[1], F.SETPIPE_SZ, 1 << 20);
    this.taker = lib.ipcsig_channel(data[1], wake[1]);
    this.dataRead = data[0];
    this.wakeRead = wake[0];
    this.wakeWrite = wake[1];
  }

  /** Lets pending deliveries run the handler, then reads every record it has written so far and files it under its signal. */
  drain(): void {
    native().ipcsig_flush();
    for (;;) {
      const n = Number(sys.read(this.dataRead, this.#buffer, this.#buffer.length));
      if (n <= 0) {
        if (n === -1 && errno() === ERRNO.EINTR) continue;
        return; // EAGAIN: nothing more for now
      }
      let bytes: Uint8Array = this.#buffer.subarray(0, n);
      if (this.#pending.length > 0) bytes = concat(this.#pending, bytes);
      const whole = bytes.length - (bytes.length % RECORD_SIZE);
      const view = new DataView(bytes.buffer, bytes.byteOffset, whole);
      for (let at = 0; at < whole; at += RECORD_SIZE) {
        const number = view.getInt32(at, true);
        const code = view.getInt32(at + 4, true);
        if (view.getInt32(at + 20, true) === -1) {
          this.#acknowledged.add(view.getInt32(at + 8, true)); // a thread has blocked the signal: see prime()
          continue;
        }
        const record: ReceivedSignal = {
          signal: signalName(number),
          number,
          value: view.getInt32(at + 16, true),
          pid: view.getInt32(at + 8, true),
          uid: view.getUint32(at + 12, true),
          source: sourceOf(code),
          code,
          lostBefore: view.getInt32(at + 20, true),
        };
        if (this.#open.has(number)) this.#records.push(record); // a signal nobody receives any more is dropped
      }
      this.#pending = bytes.slice(whole);
    }
  }

  open(n: number): void {
    this.#open.add(n);
    this.#primed.set(n, new Set());
  }

  close(n: number): void {
    this.#open.delete(n);
    this.#primed.delete(n);
    for (let i = this.#records.length - 1; i >= 0; i--) if (this.#records[i]!.number === n) this.#records.splice(i, 1);
  }

  /**
   * Makes every thread of this process but the taker block signal `n`
   * (see lib/native/signals.c), so that deliveries run the handler on the
   * taker only, one after another, and reach the pipe in the order the
   * kernel queued them. The taker blocks it too, and threads it starts from
   * now on inherit that; this tells the ones already running. Later calls
   * look again for one that slipped through. With `wait`, waits (boundedly)
   * for the threads to acknowledge.
   */
  prime(n: number, wait: boolean): void {
    const primed = this.#primed.get(n);
    if (!primed) return;
    const sent: number[] = [];
    for (const entry of fs.readdirSync("/proc/self/task")) {
      const tid = Number(entry);
      if (tid === this.taker || primed.has(tid)) continue;
      primed.add(tid);
      if (blocks(tid, n)) continue; // some of Bun's threads block every signal already
      if (native().ipcsig_prime(n, tid) === 0) sent.push(tid);
    }
    if (!wait || sent.length === 0) return;
    // A thread that already blocks the signal never answers, and needs no answer: wait a little, not for ever.
    const deadline = performance.now() + 500;
    for (;;) {
      this.drain();
      if (sent.every((tid) => this.#acknowledged.has(tid))) return;
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) return;
      this.waitSync(Math.min(left, 20));
    }
  }

  /** The oldest record for one of `numbers`, taken out; undefined if there is none. */
  take(numbers: readonly number[]): ReceivedSignal | undefined {
    this.drain();
    const at = this.#records.findIndex((record) => numbers.includes(record.number));
    return at === -1 ? undefined : this.#records.splice(at, 1)[0];
  }

  /** Waits in ppoll(2), taking deliveries, until the data pipe has something or `ms` pass (-1: for ever). Blocks the event loop. */
  waitSync(ms: number): void {
    const result = native().ipcsig_wait(this.dataRead, ms);
    if (result < 0 && result !== -ERRNO.EINTR) throw errorFor(-result, "ppoll", "the signal pipe");
  }

  /** Resolves when the handler writes a wake byte (or after `ms`, if given); keeps the event loop free. */
  async waitAsync(ms: number | undefined): Promise<void> {
    this.#waiters++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reader = (this.#wakeReader ??= Bun.file(this.wakeRead).stream().getReader());
      this.#wakeRead ??= reader.read().finally(() => {
        this.#wakeRead = undefined;
      });
      const waits: Promise<unknown>[] = [this.#wakeRead];
      if (ms !== undefined) waits.push(new Promise((resolve) => (timer = setTimeout(resolve, ms))));
      await Promise.race(waits);
    } finally {
      clearTimeout(timer);
      if (--this.#waiters === 0 && this.#wakeReader) {
        // Nobody waits: stop reading, so that an idle receiver does not keep the process alive.
        // Wake bytes read and dropped here are harmless: the records stay in the data pipe.
        const reader = this.#wakeReader;
        this.#wakeReader = undefined;
        this.#wakeRead = undefined;
        void reader.cancel().catch(() => {});
      }
    }
  }

  /** Wakes every async waiter (a receiver was closed). */
  poke(): void {
    sys.write(this.wakeWrite, new Uint8Array([0]), 1);
  }
}

/** Whether thread `tid` of this process blocks signal `n` (SigBlk in its status); false if it is gone. */
function blocks(tid: number, n: number): boolean {
  try {
    return ((statusMask(fs.readFileSync(`/proc/self/task/${tid}/status`, "utf8"), "SigBlk") >> BigInt(n - 1)) & 1n) === 1n;
  } catch {
    return true; // the thread has ended: nothing to do
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function pipePair(what: string): [number, number] {
  const fds = new Int32Array(2);
  if (sys.pipe2(ptr(fds), O.CLOEXEC | O.NONBLOCK) === -1) throw lastError("pipe2", `the signal ${what} pipe`);
  return [fds[0]!, fds[1]!];
}

let channel: Channel | undefined;

/** A timeout in seconds: undefined waits for ever. */
function checkTimeout(timeout: unknown, call: string): number | undefined {
  if (timeout === undefined || timeout === Infinity) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) throw new TypeError(`${call}: timeout must be a number of seconds`);
  if (timeout < 0) throw new RangeError(`${call}: timeout must be at least 0 seconds, got ${timeout}`);
  return timeout;
}

const RECEIVE_HINTS: Hints = {
  ETIMEDOUT: "no such signal arrived before the timeout ran out: did the sender use this process's pid and this signal?",
  EAGAIN: "no such signal is waiting (a timeout of 0 does not wait)",
};

/** How long `receive` and `receiveAsync` wait. */
export interface SignalWaitOptions {
  /** Seconds: undefined waits for ever, 0 only looks (BusyError if nothing is there). */
  timeout?: number;
}

/**
 * Receives signals with their siginfo: who sent them and the sigqueue
 * payload. Opening one installs a C handler (sigaction with SA_SIGINFO)
 * for each of its signals, which takes them from any `process.on` handler
 * while the receiver is open; after `close()` the handler passes each
 * delivery on to the disposition it replaced (a process.on handler, SIG_IGN
 * or the default action), and stays installed for the life of the process
 * (see lib/native/signals.c for why). Real-time signals
 * queue (each delivery is one record); standard ones that arrive while one
 * is pending are merged by the kernel.
 *
 * Order and threads: while it is open, the thread that opened it blocks
 * its signals and takes them only while it waits (Bun's event loop,
 * `receive`), one at a time, so records come in the order the kernel
 * queued them. That is exact in a plain `bun` program. A thread with an
 * event loop of its own (a Worker; bun test's HTTP client) waits with every
 * signal unblocked and may take one at the same instant; it is forwarded,
 * and order is then very likely, not certain. Children started with
 * `Bun.spawn` meanwhile inherit the blocked signals; this library's
 * `spawn` clears them.
 *
 *   using rx = new SignalReceiver(["SIGRTMIN", "SIGRTMIN+1"]);
 *   console.log(`send me signals: kill -s RTMIN ${process.pid}`);
 *   for await (const s of rx) console.log(s.signal, s.value, "from", s.pid);
 */
export class SignalReceiver implements Disposable, AsyncIterable<ReceivedSignal> {
  /** The signal numbers it receives. */
  readonly numbers: readonly number[];
  #open = true;

  constructor(signals: Signal | readonly Signal[]) {
    const list = (Array.isArray(signals) ? signals : [signals]) as Signal[];
    if (list.length === 0) throw new TypeError("SignalReceiver: give at least one signal");
    const numbers = [...new Set(list.map((s) => signalNumber(s)))];
    for (const n of numbers) changeable(n, "sigaction");
    channel ??= new Channel();
    const installed: number[] = [];
    try {
      for (const n of numbers) {
        claim(n, "a SignalReceiver");
        channel.open(n);
        const result = native().ipcsig_install(n);
        if (result < 0) {
          owners.delete(n);
          channel.close(n);
          throw errorFor(-result, "sigaction", signalName(n));
        }
        installed.push(n);
        channel.prime(n, true);
      }
    } catch (error) {
      for (const n of installed) this.#release(n);
      throw error;
    }
    this.numbers = numbers;
  }

  /** The names of its signals. */
  get signals(): string[] {
    return this.numbers.map(signalName);
  }

  /** true once `close()` has been called. */
  get closed(): boolean {
    return !this.#open;
  }

  /** Deliveries lost so far because the pipe was full (nobody received for a long while). */
  get dropped(): number {
    return this.numbers.reduce((sum, n) => sum + native().ipcsig_dropped(n), 0);
  }

  /**
   * The oldest signal received and not yet taken. Waits `timeout` seconds
   * for one (undefined: for ever, 0: not at all), then throws TimeoutError
   * (BusyError for 0). Waiting blocks the event loop; see receiveAsync.
   */
  receive(options: SignalWaitOptions = {}): ReceivedSignal {
    const timeout = checkTimeout(options.timeout, "receive");
    const deadline = timeout === undefined ? undefined : performance.now() + timeout * 1000;
    for (;;) {
      const ch = this.#channel("receive");
      for (const n of this.numbers) ch.prime(n, false);
      const record = ch.take(this.numbers);
      if (record) return record;
      const left = deadline === undefined ? -1 : Math.ceil(deadline - performance.now());
      if (deadline !== undefined && left <= 0) throw this.#nothing(timeout!);
      ch.waitSync(left);
    }
  }

  /** receive() that waits without blocking the event loop: timers, I/O and other handlers keep running. */
  async receiveAsync(options: SignalWaitOptions = {}): Promise<ReceivedSignal> {
    const timeout = checkTimeout(options.timeout, "receiveAsync");
    const deadline = timeout === undefined ? undefined : performance.now() + timeout * 1000;
    for (;;) {
      const ch = this.#channel("receiveAsync");
      for (const n of this.numbers) ch.prime(n, false);
      const record = ch.take(this.numbers);
      if (record) return record;
      const left = deadline === undefined ? undefined : deadline - performance.now();
      if (left !== undefined && left <= 0) throw this.#nothing(timeout!);
      await ch.waitAsync(left);
    }
  }

  /** Every signal, as it comes, until the receiver is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ReceivedSignal> {
    for (;;) {
      try {
        yield await this.receiveAsync();
      } catch (error) {
        if (!this.#open) return;
        throw error;
      }
    }
  }

  /** Stops receiving: deliveries go to the dispositions it replaced again; signals not yet taken are dropped. Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const n of this.numbers) this.#release(n);
    channel?.poke(); // an async waiter wakes, finds the receiver closed, and ends
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #release(n: number): void {
    native().ipcsig_release(n); // the C handler stays, passing deliveries on to what was there before
    owners.delete(n);
    channel?.close(n);
  }

  #channel(call: string): Channel {
    if (!this.#open || !channel) throw closed(call, this.signals.join(", "));
    return channel;
  }

  #nothing(timeout: number) {
    return errorFor(timeout === 0 ? ERRNO.EAGAIN : ERRNO.ETIMEDOUT, "receive", this.signals.join(", "), RECEIVE_HINTS);
  }
}
