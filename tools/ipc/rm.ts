/**
 * `ipc rm --prefix PREFIX`: remove every POSIX object of this user whose
 * name starts with PREFIX — what a crashed program or test run left
 * behind — after listing them and asking.
 */
import { IpcError, NotFoundError } from "../../lib/errors.ts";
import { MessageQueue } from "../../lib/mq.ts";
import { SharedMemory } from "../../lib/shm.ts";
import { Semaphore } from "../../lib/sync/semaphore.ts";
import { errorLine, EXIT, flag, note, option, out, table, UsageError, writeAll, type Parsed, type Verb } from "./cli.ts";
import { listObjects, normalisePrefix, type Entry } from "./ls.ts";

/** Reads one line of standard input; yes only for "y" or "yes". End of input is no. */
async function confirmed(question: string): Promise<boolean> {
  writeAll(2, question);
  for await (const line of console) {
    if (!process.stdin.isTTY) writeAll(2, `${line}\n`);
    return /^\s*y(es)?\s*$/i.test(line);
  }
  writeAll(2, "\n");
  return false;
}

const KIND_WORD: Record<string, string> = { mq: "queue", shm: "shared memory", sem: "semaphore" };

/** Removes one POSIX object; one already gone counts as removed. */
function remove(entry: Entry & { name: string }): void {
  try {
    if (entry.kind === "mq") MessageQueue.unlink(entry.name);
    else if (entry.kind === "shm") SharedMemory.unlink(entry.name);
    else Semaphore.unlink(entry.name);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
}

/** `ipc rm`. */
export const rm: Verb = {
  name: "rm",
  summary: "Remove every POSIX queue, shared-memory object and named semaphore of yours whose name starts with PREFIX.",
  usage: "rm --prefix PREFIX [--yes]",
  details: `Lists what matches, asks for confirmation on standard error, then removes them
(mq_unlink, shm_unlink, sem_unlink). Only objects owned by your user are
considered. The leading slash of PREFIX may be left out; "/" alone is refused.
System V objects have no names: remove them with ipcrm.

Options:
  --prefix PREFIX   the start of the names to remove, such as /ipcbook
  --yes, -y         do not ask

Exit status 1 if anything could not be removed, or if the answer was not yes.`,
  options: { prefix: { type: "string" }, yes: { type: "boolean", short: "y" } },
  positionals: { names: [], min: 0 },
  async run(args: Parsed): Promise<number> {
    const text = option(args, "prefix");
    if (text === undefined) throw new UsageError("missing --prefix PREFIX");
    const prefix = normalisePrefix(text);
    if (prefix === "/") throw new UsageError('--prefix "/" would match every object; give the start of a name, such as /ipcbook');
    const found = listObjects({ kinds: ["mq", "shm", "sem"], prefix, mine: true }).filter((e): e is Entry & { name: string } => "name" in e);
    if (found.length === 0) {
      out(`Nothing of yours starts with ${prefix}.\n`);
      return EXIT.OK;
    }
    out(table(["KIND", "NAME"], found.map((e) => [KIND_WORD[e.kind] ?? e.kind, e.name])));
    if (!flag(args, "yes") && !(await confirmed(`Remove these ${found.length} object${found.length === 1 ? "" : "s"}? [y/N] `))) {
      note("ipc rm: nothing removed");
      return EXIT.FAILURE;
    }
    let failed = 0;
    for (const entry of found) {
      try {
        remove(entry);
      } catch (error) {
        if (!(error instanceof IpcError)) throw error;
        failed += 1;
        note(`ipc rm: ${errorLine(error)}`);
      }
    }
    out(`Removed ${found.length - failed} of ${found.length}.\n`);
    return failed === 0 ? EXIT.OK : EXIT.FAILURE;
  },
};
