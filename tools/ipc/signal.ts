/**
 * `ipc signal PID SIGNAL [--value N]`: send a signal, with kill(2), or
 * with sigqueue(3) and a value that the receiver reads from si_value.
 */
import os from "node:os";
import { lastError, type Hints } from "../../lib/errors.ts";
import { sys } from "../../lib/ffi/libc.ts";
import { EXIT, Failure, integerArg, option, UsageError, type Parsed, type Verb } from "./cli.ts";

/** glibc's SIGRTMIN and SIGRTMAX on Linux (it keeps 32 and 33 for its threads). */
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

const HINTS: Hints = {
  ESRCH: "there is no process with this pid (it ended?); `ps -p PID` checks",
  EPERM: "you may signal only your own processes (unless you are root)",
  EINVAL: "this is not a valid signal number",
  EAGAIN: "the receiver's queue of pending real-time signals is full (RLIMIT_SIGPENDING, `ulimit -i`)",
};

/**
 * A signal given as a name (SIGUSR1, USR1, usr1), a number (10), or a
 * real-time signal relative to SIGRTMIN or SIGRTMAX (SIGRTMIN+2, RTMAX-1).
 */
export function signalArg(text: string): number {
  const word = text.toUpperCase().replace(/^SIG/, "");
  if (/^\d+$/.test(word)) return integerArg(word, "SIGNAL", 0, SIGRTMAX);
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(word);
  if (rt) {
    const base = rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
    const number = base + (rt[2] === "-" ? -1 : 1) * Number(rt[3] ?? 0);
    if (number < SIGRTMIN || number > SIGRTMAX) throw new UsageError(`${text} is outside SIGRTMIN..SIGRTMAX (${SIGRTMIN}..${SIGRTMAX})`);
    return number;
  }
  const number = (os.constants.signals as Record<string, number>)[`SIG${word}`];
  if (number === undefined) throw new UsageError(`unknown signal ${JSON.stringify(text)}; give a name such as USR1 or TERM, a number, or RTMIN+N (see kill -l)`);
  return number;
}

/** The name of a signal number, for messages: "SIGUSR1", "SIGRTMIN+2". */
export function signalName(number: number): string {
  if (number >= SIGRTMIN && number <= SIGRTMAX) return number === SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${number - SIGRTMIN}`;
  const signals = os.constants.signals as Record<string, number>;
  return Object.keys(signals).find((name) => signals[name] === number) ?? `signal ${number}`;
}

/** Sends `signal` to `pid` (kill(2)); with a value, queues it with sigqueue(3). */
function send(pid: number, signal: number, value: number | undefined): void {
  if (value !== undefined) {
    throw new Failure(
      "--value needs sigqueue(3), which the library does not bind yet (lib/signals.ts); send the signal without a value, or use `kill`",
    );
  }
  if (sys.kill(pid, signal) === -1) throw lastError("kill", `pid ${pid}`, HINTS);
}

/** `ipc signal`. */
export const signal: Verb = {
  name: "signal",
  summary: "Send a signal to a process, optionally with a value (sigqueue) that its handler reads.",
  usage: "signal PID SIGNAL [--value N]",
  details: `SIGNAL is a name (USR1, SIGTERM), a number (10), or a real-time signal written
as RTMIN+N or RTMAX-N (SIGRTMIN is ${SIGRTMIN} and SIGRTMAX ${SIGRTMAX} with glibc).
Signal 0 sends nothing but checks that the process exists and may be signalled.

Options:
  --value N   send with sigqueue(3), carrying the integer N (-2147483648 to
              2147483647) in si_value.sival_int; real-time signals queue,
              standard ones do not (two SIGUSR1 in a row may arrive once)`,
  options: { value: { type: "string" } },
  positionals: { names: ["PID", "SIGNAL"], min: 2 },
  run(args: Parsed): number {
    const pid = integerArg(args.positionals[0]!, "PID", 1, 2 ** 31 - 1);
    const signalNumber = signalArg(args.positionals[1]!);
    const valueText = option(args, "value");
    const value = valueText === undefined ? undefined : integerArg(valueText, "--value", -(2 ** 31), 2 ** 31 - 1);
    send(pid, signalNumber, value);
    return EXIT.OK;
  },
};
