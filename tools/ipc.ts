#!/usr/bin/env bun
/**
 * The `ipc` command: see, create, use and remove IPC objects, POSIX and
 * System V alike, from the shell.
 *
 *   bun run ipc ls                         every queue, shared-memory object, semaphore
 *   bun run ipc mq send /orders "two coffees" --priority 5
 *   bun run ipc rm --prefix /ipcbook       clean up after a crashed run
 *
 * Installed as a package it is simply `ipc`. `ipc --help` lists the verbs
 * and the exit statuses; `ipc VERB --help` explains one verb. The verbs
 * live in tools/ipc/, one file per kind of object.
 */
import { EXIT, EXIT_HELP, Failure, errorLine, oneLine, out, parseVerb, UsageError, verbHelp, wrap, writeAll, type Verb } from "./ipc/cli.ts";
import { lockVerbs } from "./ipc/lock.ts";
import { ls } from "./ipc/ls.ts";
import { mqVerbs } from "./ipc/mq.ts";
import { rm } from "./ipc/rm.ts";
import { semVerbs } from "./ipc/sem.ts";
import { shmVerbs } from "./ipc/shm.ts";
import { signal } from "./ipc/signal.ts";

const GROUPS: Record<string, { title: string; verbs: Verb[] }> = {
  mq: { title: "POSIX message queues", verbs: mqVerbs },
  shm: { title: "POSIX shared memory", verbs: shmVerbs },
  sem: { title: "named POSIX semaphores", verbs: semVerbs },
};
const SINGLE: Verb[] = [ls, ...lockVerbs, signal, rm];
const ALL: Verb[] = [ls, ...mqVerbs, ...shmVerbs, ...semVerbs, ...lockVerbs, signal, rm];

function listing(verbs: Verb[]): string {
  return verbs.map((v) => `  ipc ${v.usage}\n${wrap(v.summary, "      ")}`).join("\n");
}

function briefHelp(): string {
  return `usage: ipc VERB [ARGUMENTS]\n\n${ALL.map((v) => `  ipc ${v.usage}`).join("\n")}\n\n\`ipc --help\` explains them and the exit statuses.\n`;
}

function toolHelp(): string {
  return `usage: ipc VERB [ARGUMENTS] [--help]

See, create, use and remove Linux IPC objects: POSIX message queues, shared
memory and named semaphores, System V objects, file locks and signals.
POSIX names start with one slash: /orders. Run it as \`bun run ipc …\` in the
project, or as \`ipc\` where the package is installed.

${listing(ALL)}

\`ipc VERB --help\` explains a verb (\`ipc mq send --help\`). Errors go to
standard error as one line, with a hint.

${EXIT_HELP}
`;
}

function groupHelp(group: string): string {
  const { title, verbs } = GROUPS[group]!;
  return `usage: ipc ${group} VERB ...   (${title})\n\n${listing(verbs)}\n\n\`ipc ${group} VERB --help\` explains one.\n`;
}

/** Finds the verb named by the first words; usage errors for unknown ones. */
function findVerb(argv: string[]): { verb: Verb; rest: string[] } | { help: string; status: number } {
  const [first, second] = argv;
  if (first === undefined) return { help: briefHelp(), status: EXIT.USAGE };
  if (first === "--help" || first === "-h" || first === "help") {
    const wanted = argv.slice(1).filter((w) => !w.startsWith("-"));
    if (wanted.length === 0) return { help: toolHelp(), status: EXIT.OK };
    const found = findVerb([...wanted, "--help"]);
    return "verb" in found ? { help: verbHelp(found.verb), status: EXIT.OK } : found;
  }
  const group = GROUPS[first];
  if (group !== undefined) {
    if (second === undefined) return { help: groupHelp(first), status: EXIT.USAGE };
    if (second === "--help" || second === "-h") return { help: groupHelp(first), status: EXIT.OK };
    const verb = group.verbs.find((v) => v.name === `${first} ${second}`);
    if (verb === undefined) {
      throw new UsageError(`unknown verb "${first} ${second}"; ipc ${first} has ${group.verbs.map((v) => v.name.split(" ")[1]).join(", ")}`);
    }
    return { verb, rest: argv.slice(2) };
  }
  const verb = SINGLE.find((v) => v.name === first);
  if (verb === undefined) {
    const names = [...SINGLE.map((v) => v.name), ...Object.keys(GROUPS)].sort();
    throw new UsageError(`unknown verb ${JSON.stringify(first)}; the verbs are ${names.join(", ")}`);
  }
  return { verb, rest: argv.slice(1) };
}

/** Runs the tool on `argv` (the words after `ipc`) and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let verbName = "";
  try {
    if (process.platform !== "linux") {
      throw new Failure(`ipc needs Linux: ${process.platform} has no /dev/mqueue, /proc/sysvipc or /proc/locks (POSIX message queues do not exist on macOS)`);
    }
    const found = findVerb(argv);
    if (!("verb" in found)) {
      writeAll(found.status === EXIT.OK ? 1 : 2, found.help);
      return found.status;
    }
    verbName = found.verb.name;
    const args = parseVerb(found.verb, found.rest);
    if (args.help) {
      out(verbHelp(found.verb));
      return EXIT.OK;
    }
    return await found.verb.run(args);
  } catch (error) {
    const who = verbName ? `ipc ${verbName}` : "ipc";
    if ((error as NodeJS.ErrnoException)?.code === "EPIPE") return EXIT.OK; // `ipc ls | head`: the reader has what it wanted
    if (error instanceof UsageError) {
      writeAll(2, `${who}: ${oneLine(error.message)} (see \`${who} --help\`)\n`);
      return EXIT.USAGE;
    }
    if (error instanceof Failure) {
      writeAll(2, `${who}: ${oneLine(error.message)}${error.status === EXIT.USAGE ? ` (see \`${who} --help\`)` : ""}\n`);
      return error.status;
    }
    // The library checks its arguments before any call: a TypeError or RangeError is bad input.
    if (error instanceof TypeError || error instanceof RangeError) {
      writeAll(2, `${who}: ${oneLine(error.message)}\n`);
      return EXIT.USAGE;
    }
    writeAll(2, `${who}: ${errorLine(error)}\n`);
    return EXIT.FAILURE;
  }
}

if (import.meta.main) {
  process.exit(await main(Bun.argv.slice(2)));
}
