/**
 * `ipc signal PID SIGNAL [--value N]`: send a signal with kill(2), or with
 * sigqueue(3) and an integer that the receiver reads from si_value, through
 * lib/signals.ts.
 */
import { kill, SIGRTMAX, SIGRTMIN, signalNumber, sigqueue, type Signal } from "../../lib/signals.ts";
import { EXIT, integerArg, option, UsageError, type Parsed, type Verb } from "./cli.ts";

/** A signal as the command line gives it (USR1, SIGTERM, 10, RTMIN+2), checked by the library; a bad one is a usage error. */
function signalArg(text: string): number {
  try {
    return signalNumber(/^\d+$/.test(text) ? Number(text) : (text as Signal));
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** `ipc signal`. */
export const signal: Verb = {
  name: "signal",
  summary: "Send a signal to a process, optionally with a value (sigqueue) that its handler reads.",
  usage: "signal PID SIGNAL [--value N]",
  details: `SIGNAL is a name (USR1, SIGTERM, any case), a number (10), or a real-time
signal written as RTMIN+N or RTMAX-N (here SIGRTMIN is ${SIGRTMIN} and SIGRTMAX ${SIGRTMAX};
\`kill -l\` lists them all). Signal 0 sends nothing but checks that the process
exists and that you may signal it. A negative PID signals the process group
-PID (kill(2) only; -1, every process you may signal, is refused).

Options:
  --value N   send with sigqueue(3), carrying the integer N (-2147483648 to
              2147483647) to a handler installed with SA_SIGINFO, which reads it
              from si_value.sival_int (si_code is SI_QUEUE). Real-time signals
              sent this way queue and arrive in order; standard ones do not (a
              second SIGUSR1 sent before the first is handled merges into it).`,
  options: { value: { type: "string" } },
  positionals: { names: ["PID", "SIGNAL"], min: 2 },
  run(args: Parsed): number {
    const pid = integerArg(args.positionals[0]!, "PID", -(2 ** 31 - 1), 2 ** 31 - 1);
    if (pid === 0 || pid === -1) throw new UsageError(`PID ${pid} would signal ${pid === 0 ? "your own process group" : "every process you may signal"}; give a process id`);
    const number = signalArg(args.positionals[1]!);
    const valueText = option(args, "value");
    if (valueText === undefined) {
      kill(pid, number);
      return EXIT.OK;
    }
    if (pid < 0) throw new UsageError("--value sends to one process (sigqueue); a negative PID, a process group, cannot take one");
    sigqueue(pid, number, integerArg(valueText, "--value", -(2 ** 31), 2 ** 31 - 1));
    return EXIT.OK;
  },
};
