/**
 * `ipc ls`: every IPC object the user can see.
 *
 * - POSIX message queues from /dev/mqueue: the file's owner and mode, its
 *   QSIZE line (bytes queued), and mq_getattr on a read-only,
 *   non-blocking descriptor (messages queued, maxmsg, msgsize).
 * - POSIX shared-memory objects: the files of /dev/shm, except sem.*.
 * - Named semaphores: /dev/shm/sem.NAME is the semaphore "/NAME"; its
 *   value comes from sem_getvalue.
 * - System V segments, queues and semaphore sets from /proc/sysvipc.
 */
import fs from "node:fs";
import { IpcError } from "../../lib/errors.ts";
import { MessageQueue } from "../../lib/mq.ts";
import { Semaphore } from "../../lib/sync/semaphore.ts";
import { flag, modeText, myUid, option, out, ownerName, table, UsageError, type Parsed, type Verb } from "./cli.ts";

/** Where Linux shows the POSIX queues and the shared-memory objects. */
export const MQUEUE_DIR = "/dev/mqueue";
export const SHM_DIR = "/dev/shm";

/** The kinds `ipc ls` knows, as its KIND arguments spell them. */
export const KINDS = ["mq", "shm", "sem", "sysv"] as const;
export type Kind = (typeof KINDS)[number];

interface Owned {
  owner: string;
  uid: number;
  /** Permission bits, "0600". */
  mode: string;
}

/** A POSIX message queue. Counts are null when this user may not open the queue. */
export interface QueueEntry extends Owned {
  kind: "mq";
  name: string;
  messages: number | null;
  /** Bytes of message data queued (the QSIZE line of /dev/mqueue/NAME). */
  bytes: number | null;
  maxmsg: number | null;
  msgsize: number | null;
}

/** A POSIX shared-memory object. */
export interface ShmEntry extends Owned {
  kind: "shm";
  name: string;
  size: number;
}

/** A named POSIX semaphore; value null when this user may not open it. */
export interface SemEntry extends Owned {
  kind: "sem";
  name: string;
  value: number | null;
}

/** A System V object, one row of /proc/sysvipc/{shm,msg,sem}. */
export interface SysVEntry extends Owned {
  kind: "sysv-shm" | "sysv-msg" | "sysv-sem";
  id: number;
  /** The key as ipcs prints it: "0x0000162e". */
  key: string;
  /** Segment size, bytes queued, or semaphores in the set. */
  size: number;
  /** Processes attached (segments), messages queued (queues); null for semaphore sets. */
  count: number | null;
  /** Creator, and last process to use it (segments and queues: last sender); null where the kernel does not say. */
  creatorPid: number | null;
  lastPid: number | null;
}

/** Anything `ipc ls` lists. */
export type Entry = QueueEntry | ShmEntry | SemEntry | SysVEntry;

/** What to list: kinds, a name prefix, only this user's objects. */
export interface Filter {
  kinds: readonly Kind[];
  /** POSIX names starting with this ("/ipcbook"); System V objects have no name and are left out. */
  prefix?: string;
  mine?: boolean;
}

/** A prefix as given on the command line, with its leading slash ("ipcbook" means "/ipcbook"). */
export function normalisePrefix(prefix: string): string {
  return prefix.startsWith("/") ? prefix : `/${prefix}`;
}

function owned(stat: fs.Stats): Owned {
  return { owner: ownerName(stat.uid), uid: stat.uid, mode: modeText(stat.mode) };
}

/** The entries of a folder that are regular files, with their stat; those gone meanwhile are skipped. */
function files(dir: string): Array<{ entry: string; stat: fs.Stats }> {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found: Array<{ entry: string; stat: fs.Stats }> = [];
  for (const entry of entries.sort()) {
    try {
      const stat = fs.statSync(`${dir}/${entry}`);
      if (stat.isFile()) found.push({ entry, stat });
    } catch {
      // removed while we looked
    }
  }
  return found;
}

/** The fields of /dev/mqueue/NAME: QSIZE, NOTIFY, SIGNO, NOTIFY_PID. */
export function queueFile(name: string): Record<string, number> | null {
  try {
    const text = fs.readFileSync(`${MQUEUE_DIR}${name}`, "utf8");
    const fields: Record<string, number> = {};
    for (const match of text.matchAll(/([A-Z_]+):(-?\d+)/g)) fields[match[1]!] = Number(match[2]);
    return fields;
  } catch {
    return null;
  }
}

/** The POSIX message queues. */
export function listQueues(): QueueEntry[] {
  return files(MQUEUE_DIR).map(({ entry, stat }) => {
    const name = `/${entry}`;
    const row: QueueEntry = { kind: "mq", name, ...owned(stat), messages: null, bytes: null, maxmsg: null, msgsize: null };
    row.bytes = queueFile(name)?.QSIZE ?? null;
    try {
      using queue = new MessageQueue(name, { access: "read", nonBlocking: true });
      const attributes = queue.attributes();
      row.messages = attributes.curmsgs;
      row.maxmsg = attributes.maxmsg;
      row.msgsize = attributes.msgsize;
    } catch (error) {
      if (!(error instanceof IpcError)) throw error; // not ours to open, or gone meanwhile
    }
    return row;
  });
}

/** The POSIX shared-memory objects (the files of /dev/shm but sem.*). */
export function listShm(): ShmEntry[] {
  return files(SHM_DIR)
    .filter(({ entry }) => !entry.startsWith("sem."))
    .map(({ entry, stat }) => ({ kind: "shm", name: `/${entry}`, ...owned(stat), size: stat.size }));
}

/** The named semaphores (/dev/shm/sem.NAME), with their values where this user may open them. */
export function listSemaphores(): SemEntry[] {
  return files(SHM_DIR)
    .filter(({ entry }) => entry.startsWith("sem.") && entry.length > 4)
    .map(({ entry, stat }) => {
      const name = `/${entry.slice(4)}`;
      let value: number | null = null;
      try {
        using semaphore = new Semaphore(name);
        value = semaphore.value;
      } catch (error) {
        if (!(error instanceof IpcError)) throw error;
      }
      return { kind: "sem", name, ...owned(stat), value };
    });
}

/** The rows of one /proc/sysvipc file, by the names in its header line. */
function sysvRows(file: "shm" | "msg" | "sem"): Array<Record<string, string>> {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/sysvipc/${file}`, "utf8");
  } catch {
    return [];
  }
  const [header, ...lines] = text.trim().split("\n");
  const names = (header ?? "").trim().split(/\s+/);
  return lines.filter((l) => l.trim()).map((line) => Object.fromEntries(line.trim().split(/\s+/).map((v, i) => [names[i] ?? String(i), v])));
}

/** The System V segments, queues and semaphore sets of /proc/sysvipc. */
export function listSysV(): SysVEntry[] {
  const entry = (kind: SysVEntry["kind"], row: Record<string, string>, id: string, size: string, count: string | null, cpid: string | null, lpid: string | null): SysVEntry => {
    const uid = Number(row.uid);
    const key = Number(row.key) >>> 0;
    const num = (name: string | null) => (name === null || row[name] === undefined ? null : Number(row[name]));
    return {
      kind,
      id: Number(row[id]),
      key: `0x${key.toString(16).padStart(8, "0")}`,
      owner: ownerName(uid),
      uid,
      mode: modeText(Number.parseInt(row.perms ?? "0", 8)),
      size: Number(row[size]),
      count: num(count),
      creatorPid: num(cpid),
      lastPid: num(lpid),
    };
  };
  return [
    ...sysvRows("shm").map((r) => entry("sysv-shm", r, "shmid", "size", "nattch", "cpid", "lpid")),
    ...sysvRows("msg").map((r) => entry("sysv-msg", r, "msqid", "cbytes", "qnum", null, "lspid")),
    ...sysvRows("sem").map((r) => entry("sysv-sem", r, "semid", "nsems", null, null, null)),
  ];
}

/** Every object of the kinds asked for, filtered. */
export function listObjects(filter: Filter): Entry[] {
  const wanted = new Set(filter.kinds);
  const entries: Entry[] = [];
  if (wanted.has("mq")) entries.push(...listQueues());
  if (wanted.has("shm")) entries.push(...listShm());
  if (wanted.has("sem")) entries.push(...listSemaphores());
  if (wanted.has("sysv") && filter.prefix === undefined) entries.push(...listSysV());
  const me = myUid();
  return entries.filter(
    (e) => (!filter.mine || e.uid === me) && (filter.prefix === undefined || ("name" in e && e.name.startsWith(filter.prefix))),
  );
}

const dash = (value: number | null) => (value === null ? "-" : String(value));

/** The listing as tables, one per kind. */
export function formatObjects(entries: Entry[], kinds: readonly Kind[]): string {
  const sections: string[] = [];
  const of = <K extends Entry["kind"]>(...which: K[]) => entries.filter((e): e is Extract<Entry, { kind: K }> => (which as string[]).includes(e.kind));
  const section = (title: string, header: string[], rows: string[][]) =>
    sections.push(`${title}\n${rows.length === 0 ? "  (none)\n" : table(header, rows).replace(/^(?=.)/gm, "  ")}`);
  if (kinds.includes("mq")) {
    section(
      "POSIX message queues (/dev/mqueue)",
      ["NAME", "OWNER", "MODE", "MESSAGES", "BYTES", "MAXMSG", "MSGSIZE"],
      of("mq").map((q) => [q.name, q.owner, q.mode, dash(q.messages), dash(q.bytes), dash(q.maxmsg), dash(q.msgsize)]),
    );
  }
  if (kinds.includes("shm")) {
    section("POSIX shared memory (/dev/shm)", ["NAME", "OWNER", "MODE", "SIZE"], of("shm").map((s) => [s.name, s.owner, s.mode, String(s.size)]));
  }
  if (kinds.includes("sem")) {
    section("POSIX named semaphores (/dev/shm/sem.*)", ["NAME", "OWNER", "MODE", "VALUE"], of("sem").map((s) => [s.name, s.owner, s.mode, dash(s.value)]));
  }
  if (kinds.includes("sysv")) {
    const rows = of("sysv-shm", "sysv-msg", "sysv-sem").map((s) => {
      const what = { "sysv-shm": ["segment", `${s.size} bytes`, `${s.count} attached`], "sysv-msg": ["queue", `${s.size} bytes`, `${s.count} messages`], "sysv-sem": ["semaphores", `${s.size} in set`, ""] }[s.kind];
      return [what[0]!, String(s.id), s.key, s.owner, s.mode, what[1]!, what[2]!];
    });
    section("System V objects (/proc/sysvipc; ipcs, ipcrm)", ["KIND", "ID", "KEY", "OWNER", "MODE", "SIZE", "USE"], rows);
  }
  return sections.join("\n");
}

/** The KIND arguments of `ipc ls`, checked; all kinds when none is given. */
export function kindsArg(words: string[]): Kind[] {
  for (const word of words) {
    if (!(KINDS as readonly string[]).includes(word)) throw new UsageError(`unknown kind ${JSON.stringify(word)}: choose from ${KINDS.join(", ")}`);
  }
  return words.length === 0 ? [...KINDS] : KINDS.filter((k) => words.includes(k));
}

/** `ipc ls`. */
export const ls: Verb = {
  name: "ls",
  summary: "List the IPC objects you can see: POSIX queues, shared memory, named semaphores, System V objects.",
  usage: "ls [KIND...] [--prefix PREFIX] [--mine] [--json]",
  details: `KIND is one or more of:
  mq     POSIX message queues: name, owner, mode, messages queued, bytes queued
         (the QSIZE line of /dev/mqueue/NAME), maxmsg, msgsize
  shm    POSIX shared-memory objects: name, owner, mode, size in bytes
  sem    named POSIX semaphores (/dev/shm/sem.NAME is "/NAME"): their value
  sysv   System V segments, message queues and semaphore sets, from /proc/sysvipc
         (what ipcs shows; remove them with ipcrm)
Without KIND, all of them.

Options:
  --prefix PREFIX   only POSIX objects whose name starts with PREFIX ("/ipcbook";
                    the leading slash may be left out); System V objects have no
                    name and are left out
  --mine            only objects your user owns
  --json            a JSON array of objects, each with a "kind" field

Counts show as "-" for a queue or semaphore your user may not open.`,
  options: { prefix: { type: "string" }, mine: { type: "boolean" }, json: { type: "boolean" } },
  positionals: { names: ["KIND"], min: 0, max: Infinity },
  run(args: Parsed): number {
    const kinds = kindsArg(args.positionals);
    const prefixText = option(args, "prefix");
    const prefix = prefixText === undefined ? undefined : normalisePrefix(prefixText);
    const entries = listObjects({ kinds, prefix, mine: flag(args, "mine") });
    if (flag(args, "json")) out(`${JSON.stringify(entries, null, 2)}\n`);
    else out(formatObjects(entries, prefix === undefined ? kinds : kinds.filter((k) => k !== "sysv")));
    return 0;
  },
};
