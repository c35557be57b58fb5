/**
 * The plumbing of the `ipc` command: exit statuses, the argument parser
 * every verb uses, argument checks that turn bad input into usage errors,
 * and output helpers (owners, modes, hex dumps, binary-safe stdout).
 */
import fs from "node:fs";
import { BusyError, ExistsError, IpcError, NotFoundError, TimeoutError } from "../../lib/errors.ts";
import { posixName } from "../../lib/validate.ts";

/** The exit statuses of `ipc`, as `ipc --help` documents them. */
export const EXIT = {
  /** It worked. */
  OK: 0,
  /** The system said no: the object does not exist, permission denied, a limit reached… */
  FAILURE: 1,
  /** The command line is wrong: unknown verb or option, a missing or malformed argument. */
  USAGE: 2,
  /** A wait ended without success: the timeout ran out, or a non-blocking call found nothing (an empty queue, a semaphore at 0, a held lock). */
  TIMEOUT: 3,
  /** `ipc lock`: the command could not be run (not executable). */
  CANNOT_RUN: 126,
  /** `ipc lock`: the command was not found. */
  NOT_FOUND: 127,
} as const;

/** The help text's section on exit statuses, shared by `ipc --help` and the verbs that wait. */
export const EXIT_HELP = `Exit status:
  0    success
  1    failure: the system refused (no such object, permission denied, a limit, …)
  2    usage error: unknown verb or option, missing or malformed argument
  3    a wait ended without success: --timeout ran out, or --nonblock / --timeout 0 /
       --wait 0 found nothing to take (empty queue, semaphore at 0, lock held)
  ipc lock exits with the command's own status (128+N if signal N killed it),
  126 if the command cannot be run, 127 if it is not found.`;

/** A mistake on the command line: exit status 2, with a pointer to the verb's help. */
export class UsageError extends Error {}

/** A failure with a chosen exit status and a message already worded for the user. */
export class Failure extends Error {
  /** Builds the failure; `status` is the exit status to end with. */
  constructor(
    message: string,
    readonly status: number = EXIT.FAILURE,
  ) {
    super(message);
  }
}

/** How one option of a verb is spelled and what it takes. */
export interface OptionSpec {
  /** "string" takes a value (`--priority 5` or `--priority=5`); "boolean" is a flag. */
  type: "string" | "boolean";
  /** A one-letter alias (`-y`). */
  short?: string;
}

/** What a verb's command line parsed into. */
export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** The words after `--` (or, for a verb with `command: true`, from the command word on). */
  rest: string[];
  help: boolean;
}

/** One verb of the tool: its help, its options and what it does. */
export interface Verb {
  /** The words that select it: "mq send". */
  name: string;
  /** One line: what it does. */
  summary: string;
  /** The synopsis, without the leading "ipc ". */
  usage: string;
  /** More help: options, notes, examples. */
  details: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes, and their names for "missing NAME". */
  positionals: { names: string[]; min: number; max?: number };
  /**
   * A command follows the positionals (`ipc lock FILE COMMAND …`): option
   * parsing stops at the word after the last positional, and everything
   * from there on is the command.
   */
  command?: boolean;
  run(args: Parsed): Promise<number> | number;
}

/** Text wrapped at 78 columns, each line indented. */
export function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > 78) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}

/** Full help of one verb. */
export function verbHelp(verb: Verb): string {
  return `usage: ipc ${verb.usage}\n\n${wrap(verb.summary, "")}\n${verb.details ? `\n${verb.details.trimEnd()}\n` : ""}`;
}

/**
 * Parses a verb's arguments. Long options take `--name value` or
 * `--name=value`; `-` alone and negative numbers (`-5`) are positionals,
 * so that "negative size" gets its own message; `--` ends the options.
 */
export function parseVerb(verb: Verb, argv: string[]): Parsed {
  const parsed: Parsed = { values: {}, positionals: [], rest: [], help: false };
  const byShort = new Map(Object.entries(verb.options).filter(([, o]) => o.short).map(([name, o]) => [o.short!, name]));
  const maxPositionals = verb.command ? verb.positionals.names.length : Infinity;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      parsed.rest = argv.slice(i + 1);
      break;
    }
    if (word === "--help" || word === "-h") {
      parsed.help = true;
      continue;
    }
    const isOption = word.startsWith("-") && word !== "-" && !/^-\.?\d/.test(word);
    if (!isOption) {
      if (parsed.positionals.length >= maxPositionals) {
        parsed.rest = argv.slice(i);
        break;
      }
      parsed.positionals.push(word);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      name = eq === -1 ? word.slice(2) : word.slice(2, eq);
      inline = eq === -1 ? undefined : word.slice(eq + 1);
    } else {
      const long = word.length === 2 ? byShort.get(word[1]!) : undefined;
      if (long === undefined) throw new UsageError(`unknown option ${word}`);
      name = long;
    }
    const spec = verb.options[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      parsed.values[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    parsed.values[name] = value;
  }
  if (parsed.help) return parsed;
  const { names, min, max = names.length } = verb.positionals;
  if (parsed.positionals.length < min) throw new UsageError(`missing ${names[parsed.positionals.length]}`);
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}${argv.includes("--") ? "" : " (a value that starts with - goes after --)"}`);
  }
  return parsed;
}

// ---------------------------------------------------------------------------
// Arguments

/** A POSIX IPC name, checked by the library's own rule; a malformed one is a usage error. */
export function nameArg(text: string, call: string): string {
  try {
    return posixName(text, call);
  } catch (error) {
    if (error instanceof IpcError) {
      // The library's message is `call on "name": EINVAL (what is wrong): hint`; keep what is wrong and the hint.
      const start = error.message.indexOf(`${error.code} (`) + error.code.length + 2;
      const end = error.hint ? error.message.length - error.hint.length - 3 : error.message.length - 1;
      const what = error.message.slice(start, end);
      throw new UsageError(`invalid name ${JSON.stringify(text)}: ${what}${error.hint ? `; ${error.hint}` : ""}`);
    }
    throw error;
  }
}

/** A whole number of at least `min`, written in decimal. */
export function integerArg(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${what} must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text.trim());
  if (value < min) throw new UsageError(`${what} must be at least ${min}, got ${text}`);
  if (!Number.isSafeInteger(value) || value > max) throw new UsageError(`${what} must be at most ${max}, got ${text}`);
  return value;
}

/** A number of seconds, such as 2 or 0.5; 0 means "do not wait". */
export function secondsArg(text: string, what: string): number {
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(text.trim())) {
    throw new UsageError(`${what} must be a number of seconds such as 2 or 0.5, got ${JSON.stringify(text)}`);
  }
  const value = Number(text);
  if (value < 0) throw new UsageError(`${what} must be at least 0 seconds, got ${text}`);
  return value;
}

/** Permission bits in octal: 600, 0600 or 0o600. */
export function modeArg(text: string): number {
  const digits = text.replace(/^0o/i, "");
  if (!/^[0-7]{1,4}$/.test(digits)) throw new UsageError(`--mode takes octal permission bits such as 600 or 0644, got ${JSON.stringify(text)}`);
  return Number.parseInt(digits, 8);
}

/** The options every `create` verb takes: --mode and --exclusive. */
export const CREATE_OPTIONS: Record<string, OptionSpec> = { mode: { type: "string" }, exclusive: { type: "boolean" } };

/** The help lines of CREATE_OPTIONS, for an object called `what`. */
export function createOptionsHelp(what: string): string {
  return `  --mode MODE    permission bits in octal, default 600
  --exclusive    fail if the ${what} exists (O_EXCL)`;
}

/** --mode (default 0o600) and --exclusive, as the library's open options take them. */
export function createOptions(args: Parsed): { mode: number; exclusive: boolean } {
  const mode = option(args, "mode");
  return { mode: mode === undefined ? 0o600 : modeArg(mode), exclusive: flag(args, "exclusive") };
}

/** The value of a string option, or undefined. */
export function option(args: Parsed, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Whether a flag was given. */
export function flag(args: Parsed, name: string): boolean {
  return args.values[name] === true;
}

/** Bytes from hex digits ("de ad be ef", "0xdeadbeef"); whitespace and colons are ignored. */
export function hexBytes(text: string): Uint8Array {
  const digits = text.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) {
    throw new UsageError(`--hex data must be pairs of hex digits such as "48 69 0a", got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** All of standard input, as bytes, exactly as they came. */
export async function readStdin(): Promise<Uint8Array> {
  return new Uint8Array(await Bun.stdin.arrayBuffer());
}

/**
 * The bytes a DATA or MESSAGE argument stands for: "-" reads standard
 * input exactly; otherwise the text's UTF-8 bytes, or with `hex` the bytes
 * its hex digits spell.
 */
export async function dataArg(text: string, hex: boolean): Promise<Uint8Array> {
  if (text !== "-") return hex ? hexBytes(text) : Buffer.from(text, "utf8");
  if (hex) throw new UsageError("--hex takes the data as an argument; standard input (-) is read as raw bytes");
  return readStdin();
}

// ---------------------------------------------------------------------------
// Output

/** Writes all of `data` to a descriptor, synchronously (retrying when a non-blocking pipe is full). */
export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(fd, bytes, done, bytes.length - done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      Bun.sleepSync(1);
    }
  }
}

/** Writes text to standard output. */
export function out(text: string): void {
  writeAll(1, text);
}

/** Writes a line to standard error. */
export function note(text: string): void {
  writeAll(2, `${text}\n`);
}

/**
 * Writes raw bytes to standard output, exactly. On a terminal a final
 * newline is added when the data lacks one, so the prompt starts on a
 * line of its own; a pipe or a file gets the bytes alone.
 */
export function outBytes(bytes: Uint8Array): void {
  writeAll(1, bytes);
  if (process.stdout.isTTY && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) writeAll(1, "\n");
}

/** A hex dump in the manner of `hexdump -C`: offset, 16 bytes, the printable characters. */
export function hexDump(bytes: Uint8Array, startOffset = 0): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0"));
    const left = hex.slice(0, 8).join(" ").padEnd(23);
    const right = hex.slice(8).join(" ").padEnd(23);
    const text = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${(startOffset + at).toString(16).padStart(8, "0")}  ${left}  ${right}  |${text}|`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** Permission bits as four octal digits: "0600". */
export function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

let users: Map<number, string> | undefined;

/** The user name for a uid, from /etc/passwd; the number when there is none. */
export function ownerName(uid: number): string {
  if (users === undefined) {
    users = new Map();
    try {
      for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
        const [name, , id] = line.split(":");
        if (name && id !== undefined && /^\d+$/.test(id) && !users.has(Number(id))) users.set(Number(id), name);
      }
    } catch {
      // no /etc/passwd (a minimal container): numbers will do
    }
  }
  return users.get(uid) ?? String(uid);
}

/** Lays rows out in columns under a header; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/**
 * One line for an error: the library's message with its hint, where the
 * tool has a better hint for the command line (`create it with ipc mq
 * create`), that one instead.
 */
export function errorLine(error: unknown, cliHint?: string): string {
  if (error instanceof IpcError) {
    let text = error.message;
    if (cliHint !== undefined) {
      if (error.hint && text.endsWith(`: ${error.hint}`)) text = text.slice(0, text.length - error.hint.length - 2);
      text = `${text}: ${cliHint}`;
    }
    return oneLine(text);
  }
  return oneLine(error instanceof Error ? error.message : String(error));
}

/** Newlines folded into spaces: an error takes exactly one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The user id of this process. */
export function myUid(): number {
  return process.getuid?.() ?? -1;
}

/** Hints in the tool's terms for the errors people meet most when opening or creating an object. */
export interface CliHints {
  /** For NotFoundError: how to create the object. */
  notFound?: string;
  /** For ExistsError: how to remove it, or to drop --exclusive. */
  exists?: string;
}

/** Runs an open or create call; a missing or existing object fails with the tool's hint. */
export function withHints<T>(call: () => T, hints: CliHints): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof NotFoundError && hints.notFound) throw new Failure(errorLine(error, hints.notFound));
    if (error instanceof ExistsError && hints.exists) throw new Failure(errorLine(error, hints.exists));
    throw error;
  }
}

/** Runs a wait; one that timed out or found nothing to take exits with status 3 and `hint`. */
export function waiting<T>(call: () => T, hint: string): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof TimeoutError || error instanceof BusyError) throw new Failure(errorLine(error, hint), EXIT.TIMEOUT);
    throw error;
  }
}

/** The `rm` verb of a kind of POSIX object: `ipc mq rm NAME` and its siblings. */
export function unlinkVerb(name: string, summary: string, call: string, unlink: (name: string) => void): Verb {
  return {
    name,
    summary,
    usage: `${name} NAME`,
    details: "",
    options: {},
    positionals: { names: ["NAME"], min: 1 },
    run(args: Parsed): number {
      unlink(nameArg(args.positionals[0]!, call));
      return EXIT.OK;
    },
  };
}
