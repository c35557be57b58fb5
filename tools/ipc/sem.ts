/**
 * `ipc sem …`: create, post, wait on, read and remove named POSIX
 * semaphores, through lib/sync/semaphore.ts.
 */
import { NotFoundError } from "../../lib/errors.ts";
import { SEM_VALUE_MAX } from "../../lib/ffi/constants.ts";
import { Semaphore } from "../../lib/sync/semaphore.ts";
import { CREATE_OPTIONS, createOptions, createOptionsHelp, EXIT, integerArg, nameArg, note, option, out, secondsArg, unlinkVerb, waiting, withHints, type Parsed, type Verb } from "./cli.ts";

/** Opens an existing semaphore; a missing one gets the command-line hint. */
function openSemaphore(name: string): Semaphore {
  return withHints(() => new Semaphore(name), { notFound: `there is no semaphore of this name; create it with \`ipc sem create ${name}\`` });
}

const create: Verb = {
  name: "sem create",
  summary: "Create a named semaphore (sem_open with O_CREAT) with the initial VALUE (default 0).",
  usage: "sem create NAME [VALUE] [--mode 600] [--exclusive]",
  details: `It appears as /dev/shm/sem.NAME. An existing semaphore is left as it is (its
value is not changed), unless --exclusive makes that an error.

Options:
${createOptionsHelp("semaphore")}`,
  options: CREATE_OPTIONS,
  positionals: { names: ["NAME", "VALUE"], min: 1 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "sem_open");
    const valueText = args.positionals[1];
    const value = valueText === undefined ? 0 : integerArg(valueText, "VALUE", 0, SEM_VALUE_MAX);
    const { mode, exclusive } = createOptions(args);
    let existed = false;
    if (!exclusive) {
      try {
        new Semaphore(name).close();
        existed = true;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    using semaphore = withHints(() => new Semaphore(name, { create: true, exclusive, mode, value }), {
      exists: `a semaphore of this name exists already; drop --exclusive, or remove it with \`ipc sem rm ${name}\``,
    });
    if (existed && valueText !== undefined) note(`ipc sem create: ${name} existed already; left as it was, with value ${semaphore.value}`);
    return EXIT.OK;
  },
};

/** A verb that opens the semaphore NAME and does one thing with it. */
function onSemaphore(verb: string, summary: string, details: string, action: (semaphore: Semaphore) => void): Verb {
  return {
    name: `sem ${verb}`,
    summary,
    usage: `sem ${verb} NAME`,
    details,
    options: {},
    positionals: { names: ["NAME"], min: 1 },
    run(args: Parsed): number {
      using semaphore = openSemaphore(nameArg(args.positionals[0]!, "sem_open"));
      action(semaphore);
      return EXIT.OK;
    },
  };
}

const post = onSemaphore("post", "Add one to a semaphore (sem_post), waking one process that waits on it.", "", (semaphore) => semaphore.post());

const wait: Verb = {
  name: "sem wait",
  summary: "Take one from a semaphore (sem_wait), sleeping while it is 0.",
  usage: "sem wait NAME [--timeout S]",
  details: `Options:
  --timeout S   seconds to wait at most (default: for ever; 0: do not wait).
                A semaphore still at 0 then exits with status 3.`,
  options: { timeout: { type: "string" } },
  positionals: { names: ["NAME"], min: 1 },
  run(args: Parsed): number {
    const name = nameArg(args.positionals[0]!, "sem_open");
    const timeoutText = option(args, "timeout");
    const timeout = timeoutText === undefined ? undefined : secondsArg(timeoutText, "--timeout");
    using semaphore = openSemaphore(name);
    waiting(
      () => semaphore.wait(timeout),
      timeout === 0 ? "the semaphore is 0 and --timeout 0 does not wait" : `the semaphore stayed at 0 for ${timeout} s: is anyone posting?`,
    );
    return EXIT.OK;
  },
};

const value = onSemaphore(
  "value",
  "Print a semaphore's current value (sem_getvalue).",
  "The value may have changed by the time you read it, if other processes use the semaphore.",
  (semaphore) => out(`${semaphore.value}\n`),
);

const rm = unlinkVerb("sem rm", "Remove a named semaphore (sem_unlink); processes that have it open keep using it.", "sem_unlink", (name) =>
  Semaphore.unlink(name),
);

/** The verbs of `ipc sem`. */
export const semVerbs: Verb[] = [create, post, wait, value, rm];
