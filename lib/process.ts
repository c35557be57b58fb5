/**
 * Processes: starting programs, waiting for them, and reading what became
 * of them.
 *
 * - `spawn(argv, options)`: posix_spawn(3) with an argument vector, an
 *   environment, a working directory, file actions (redirect, pass or
 *   close descriptors) and a process group. Returns a `Child`.
 * - `Child.wait()` / `waitpid()`: waitpid(2), with the status decoded into
 *   `{ kind: "exited", code }`, `{ kind: "signaled", signal }`,
 *   `{ kind: "stopped", signal }` or `{ kind: "continued" }`.
 * - `run(argv)`: run a program to completion without a shell and collect
 *   its exit status, standard output and standard error.
 * - `system()` / `popenRead()`: the C library's way through `/bin/sh -c`,
 *   here so that the book can show why not to use it with untrusted text.
 * - The fork family (fork then exec, an inherited descriptor,
 *   copy-on-write, clone) lives in C, in lib/native/, because a forked
 *   copy of Bun cannot run JavaScript: see `lib/native/forks.ts`.
 *
 *   using child = spawn(["sort", "-n"], { stdin: { path: "numbers.txt" }, stdout: { path: "sorted.txt" } });
 *   const status = child.wait(); // { kind: "exited", code: 0, … }
 *
 * Bun and waitpid: Bun installs no SIGCHLD handler and never calls
 * waitpid(-1, …); it waits only for the children it started itself with
 * Bun.spawn (by their pid). A child started here is therefore ours alone to
 * wait for, and its status cannot be stolen (test/lib/process.test.ts pins
 * this). The reverse does not hold: never waitpid() a Bun.spawn child, or
 * Bun will not learn that it exited; await its `exited` instead.
 */
import fs from "node:fs";
import { ptr } from "bun:ffi";
import { layout, MFD, O, POSIX_SPAWN, PR, SIG, W } from "./ffi/constants.ts";
import { cstr, errno, sys } from "./ffi/libc.ts";
import { ERRNO } from "./ffi/errno.ts";
import { errorFor, invalid, IpcError, lastError, type Hints } from "./errors.ts";
import { kill, signalName, type SignalName } from "./signals.ts";
import { count, fileMode } from "./validate.ts";

export { forkExec, forkWrite, copyOnWrite, cloneDemo } from "./native/forks.ts";
export type { ForkedChild, Sighting, CloneObservation } from "./native/forks.ts";

// ---------------------------------------------------------------------------
// Signals: names, numbers and kill(2) live in lib/signals.ts.

export { kill, signalName, signalNumber, type SignalName } from "./signals.ts";

// ---------------------------------------------------------------------------
// Wait statuses

/**
 * The C macros of <sys/wait.h>, reimplemented on the raw status word that
 * waitpid(2) stores. Linux packs it as:
 *
 *   exited:    code << 8             (low 7 bits 0)
 *   signaled:  signal | 0x80 if a core was dumped
 *   stopped:   signal << 8 | 0x7f
 *   continued: 0xffff
 *
 * test/lib/process.test.ts compares each with the real macro.
 */
export const statusMacros = {
  WIFEXITED: (status: number) => (status & 0x7f) === 0,
  WEXITSTATUS: (status: number) => (status >> 8) & 0xff,
  // The (signed char)((status & 0x7f) + 1) >> 1 trick of glibc: low bits neither 0 nor 0x7f.
  WIFSIGNALED: (status: number) => ((((status & 0x7f) + 1) << 24) >> 25) > 0,
  WTERMSIG: (status: number) => status & 0x7f,
  WCOREDUMP: (status: number) => (status & 0x80) !== 0,
  WIFSTOPPED: (status: number) => (status & 0xff) === 0x7f,
  WSTOPSIG: (status: number) => (status >> 8) & 0xff,
  WIFCONTINUED: (status: number) => status === 0xffff,
} as const;

/** What a waitpid status says happened to a child. */
export type WaitStatus =
  | { kind: "exited"; code: number; raw: number }
  | { kind: "signaled"; signal: string; signalNumber: number; coreDumped: boolean; raw: number }
  | { kind: "stopped"; signal: string; signalNumber: number; raw: number }
  | { kind: "continued"; raw: number };

/** Decodes a raw status word from waitpid(2) (or system(3), or pclose(3)). */
export function decodeStatus(raw: number): WaitStatus {
  const m = statusMacros;
  if (m.WIFEXITED(raw)) return { kind: "exited", code: m.WEXITSTATUS(raw), raw };
  if (m.WIFSIGNALED(raw)) {
    const n = m.WTERMSIG(raw);
    return { kind: "signaled", signal: signalName(n), signalNumber: n, coreDumped: m.WCOREDUMP(raw), raw };
  }
  if (m.WIFSTOPPED(raw)) {
    const n = m.WSTOPSIG(raw);
    return { kind: "stopped", signal: signalName(n), signalNumber: n, raw };
  }
  if (m.WIFCONTINUED(raw)) return { kind: "continued", raw };
  throw new RangeError(`${raw} (0x${raw.toString(16)}) is not a wait status`);
}

/** "exited with code 3", "killed by SIGKILL", "killed by SIGSEGV (core dumped)", "stopped by SIGSTOP", "continued". */
export function describeStatus(status: WaitStatus): string {
  switch (status.kind) {
    case "exited":
      return `exited with code ${status.code}`;
    case "signaled":
      return `killed by ${status.signal}${status.coreDumped ? " (core dumped)" : ""}`;
    case "stopped":
      return `stopped by ${status.signal}`;
    case "continued":
      return "continued";
  }
}

/** What `waitpid` should also report, and whether it may block: its `W*` flags. */
export interface WaitOptions {
  /** WNOHANG: return null at once if no child has changed state. */
  noHang?: boolean;
  /** WUNTRACED: also report a child stopped by a signal. */
  untraced?: boolean;
  /** WCONTINUED: also report a stopped child resumed by SIGCONT. */
  continued?: boolean;
}

const WAIT_HINTS: Hints = {
  ECHILD:
    "no such child to wait for: it is not a child of this process, or it was waited for already " +
    "(a Bun.spawn child is waited for by Bun itself: await its `exited` instead)",
  EINVAL: "the options are invalid",
};

/**
 * waitpid(2): waits for the child `pid` (or any child, with -1; a process
 * group, with -PGID) to change state and returns its pid and decoded
 * status; with `noHang`, returns null if none has. Blocks the whole event
 * loop while it waits: use `Child.exited()` in code that must stay
 * responsive. Retries when a signal interrupts it.
 */
export function waitpid(pid: number, options: WaitOptions = {}): { pid: number; status: WaitStatus } | null {
  if (!Number.isInteger(pid)) throw new TypeError(`waitpid: pid must be an integer, got ${pid}`);
  const flags = (options.noHang ? W.NOHANG : 0) | (options.untraced ? W.UNTRACED : 0) | (options.continued ? W.CONTINUED : 0);
  const word = new Int32Array(1);
  for (;;) {
    const result = sys.waitpid(pid, ptr(word), flags);
    if (result > 0) return { pid: result, status: decodeStatus(word[0]!) };
    if (result === 0) return null; // WNOHANG and nothing to report
    const e = errno();
    if (e !== ERRNO.EINTR) throw errorFor(e, "waitpid", `pid ${pid}`, WAIT_HINTS);
  }
}

// ---------------------------------------------------------------------------
// Spawning

/** One step the child takes on its descriptors between fork and exec, in order. */
export type FileAction =
  /** The child's descriptor `to` becomes a copy of `fd` (ours): dup2(fd, to). */
  | { dup2: number; to: number }
  /** The child's descriptor `close` is closed. */
  | { close: number }
  /** The child opens `path` as descriptor `fd`. `flags` default O_RDONLY, `mode` 0o600. */
  | { open: string; fd: number; flags?: number; mode?: number };

/** Where one of the child's standard streams comes from or goes to. */
export type Stdio =
  /** The same as ours (the default). */
  | "inherit"
  /** /dev/null. */
  | "null"
  /** Closed: the child starts without it (rarely wise). */
  | "close"
  /** One of our descriptors. */
  | number
  /** A file, opened in the child: read-only for stdin, else created/truncated (or appended to). */
  | { path: string; append?: boolean };

/** How `spawn()` starts the child: environment, directory, descriptors, process group. */
export interface SpawnOptions {
  /** The environment, as name → value. Default: this process's (process.env). */
  env?: Record<string, string | undefined>;
  /**
   * The working directory of the child (posix_spawn_file_actions_addchdir_np).
   * It is changed before the other file actions run, so their relative
   * paths are relative to it.
   */
  cwd?: string;
  stdin?: Stdio;
  stdout?: Stdio;
  stderr?: Stdio;
  /**
   * Descriptors of ours to hand to the child under the same number. A
   * descriptor opened by Node's fs or by this library has close-on-exec
   * set, so exec would close it; dup2(fd, fd) in the file actions clears
   * that flag in the child only.
   */
  pass?: number[];
  /** Further file actions, applied after stdin/stdout/stderr and `pass`. */
  actions?: FileAction[];
  /**
   * Put the child in a process group: 0 makes a new group led by the child
   * (so `kill(-child.pid)` reaches it and everything it starts); a pgid
   * joins that group. Default: our group.
   */
  processGroup?: number;
  /** Start a new session (setsid): no controlling terminal. */
  newSession?: boolean;
  /**
   * Search PATH for argv[0] when it has no slash (posix_spawnp); default
   * true. The search uses this process's PATH, not the child's `env`.
   */
  search?: boolean;
}

const SPAWN_HINTS: Hints = {
  ENOENT:
    "no such program, or no such file for stdin or an open action, or no such working directory; " +
    "check argv[0], PATH, `cwd` and the paths of the file actions",
  EACCES: "the program exists but is not executable by your user (chmod +x?), or a directory on the way is not searchable",
  ENOEXEC: "the file is not a program the kernel can run (a script without a #! line?)",
  ENOTDIR: "a component of the path or of `cwd` is not a directory",
  E2BIG: "the arguments and environment together are longer than the kernel allows (ARG_MAX)",
  EBADF: "a file action names a descriptor that is not open in this process",
  EAGAIN: "the limit on processes for your user is reached (ulimit -u)",
  ENOMEM: "not enough memory to start the process",
};

/** Checks an argument vector and returns it; a string is refused, with the reason. */
export function checkArgv(argv: unknown, call: string): readonly string[] {
  if (typeof argv === "string") {
    throw new TypeError(
      `${call}: expected an argument vector such as ["ls", "-l", dir], got the string ${JSON.stringify(argv)}. ` +
        `A command line in one string needs a shell to split it, and a shell also obeys any ; | & $( ) or \` inside it: ` +
        `pass every argument as its own array element instead.`,
    );
  }
  if (!Array.isArray(argv)) throw new TypeError(`${call}: argv must be an array of strings, got ${typeof argv}`);
  if (argv.length === 0) throw new TypeError(`${call}: argv is empty; argv[0] names the program to run`);
  argv.forEach((arg, i) => {
    if (typeof arg !== "string") throw new TypeError(`${call}: argv[${i}] must be a string, got ${typeof arg}`);
    if (arg.includes("\0")) throw invalid(call, arg, `argv[${i}] contains a NUL byte, which would end it early`);
  });
  if (argv[0] === "") throw invalid(call, "", "argv[0] is empty; it names the program to run");
  return argv as string[];
}

/** A NULL-terminated array of C strings, kept alive with its strings. */
class CStringArray {
  readonly strings: Buffer[];
  readonly pointers: BigUint64Array;

  constructor(items: readonly string[]) {
    this.strings = items.map((item) => cstr(item));
    this.pointers = new BigUint64Array(items.length + 1); // the last stays 0: NULL
    this.strings.forEach((s, i) => (this.pointers[i] = BigInt(ptr(s))));
  }

  get pointer() {
    return ptr(this.pointers);
  }
}

function environment(env: Record<string, string | undefined> | undefined, call: string): string[] {
  const source = env ?? process.env;
  const entries: string[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (name === "" || name.includes("=") || name.includes("\0")) {
      throw invalid(call, name, "an environment variable's name must be non-empty, without '=' or NUL");
    }
    if (typeof value !== "string") throw new TypeError(`${call}: env.${name} must be a string`);
    if (value.includes("\0")) throw invalid(call, name, "an environment variable's value must not contain NUL");
    entries.push(`${name}=${value}`);
  }
  return entries;
}

/** A timeout in seconds: a finite number, 0 or more (fractions allowed). */
function seconds(value: unknown, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`${what} must be a number of seconds`);
  if (value < 0 || !Number.isFinite(value)) throw new RangeError(`${what} must be 0 or more seconds, got ${value}`);
  return value;
}

function descriptor(fd: unknown, what: string): number {
  return count(fd, what, 0x7fffffff);
}

/** The file actions for the options, in the order they will run. */
function fileActions(options: SpawnOptions): FileAction[] {
  const actions: FileAction[] = [];
  (["stdin", "stdout", "stderr"] as const).forEach((stream, fd) => {
    const spec = options[stream] ?? "inherit";
    if (spec === "inherit") return;
    if (spec === "null") actions.push({ open: "/dev/null", fd, flags: fd === 0 ? O.RDONLY : O.WRONLY });
    else if (spec === "close") actions.push({ close: fd });
    else if (typeof spec === "number") actions.push({ dup2: descriptor(spec, `${stream} descriptor`), to: fd });
    else if (typeof spec === "object" && spec !== null && typeof spec.path === "string") {
      const flags = fd === 0 ? O.RDONLY : O.WRONLY | O.CREAT | (spec.append ? O.APPEND : O.TRUNC);
      actions.push({ open: spec.path, fd, flags, mode: 0o600 });
    } else throw new TypeError(`spawn: ${stream} must be "inherit", "null", "close", a descriptor or { path }`);
  });
  for (const fd of options.pass ?? []) actions.push({ dup2: descriptor(fd, "pass: descriptor"), to: fd });
  return [...actions, ...(options.actions ?? [])];
}

/** A running (or finished) child started by `spawn()`. */
export class Child implements Disposable {
  /** The final status, once the child has been waited for. */
  #status: WaitStatus | undefined;

  /** Wraps a child that `spawn()` started; `pid` must be a child of this process. */
  constructor(
    readonly pid: number,
    readonly argv: readonly string[],
  ) {}

  /** The final status (exited or signaled), once waited for; else undefined. */
  get status(): WaitStatus | undefined {
    return this.#status;
  }

  /**
   * Waits for the child to end and returns how it ended. Blocks the event
   * loop (waitpid). With `timeout` (seconds) gives up after that long and
   * returns null, leaving the child running; 0 only looks.
   */
  wait(): WaitStatus;
  wait(timeout: number): WaitStatus | null;
  wait(timeout?: number): WaitStatus | null {
    if (this.#status) return this.#status;
    if (timeout === undefined) return this.#reap(waitpid(this.pid)!);
    seconds(timeout, "wait: timeout");
    // waitpid has no timeout: look with WNOHANG, sleeping a little longer each time.
    const deadline = performance.now() + timeout * 1000;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const result = waitpid(this.pid, { noHang: true });
      if (result) return this.#reap(result);
      const left = deadline - performance.now();
      if (left <= 0) return null;
      Bun.sleepSync(Math.min(pause, left));
    }
  }

  /** Whether the child has ended, without blocking (waitpid with WNOHANG). */
  poll(): WaitStatus | null {
    return this.wait(0);
  }

  /**
   * Waits without blocking the event loop: looks with WNOHANG between
   * timers (waitpid has a non-blocking mode, so no thread is needed).
   */
  async exited(): Promise<WaitStatus> {
    for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
      const status = this.poll();
      if (status) return status;
      await Bun.sleep(pause);
    }
  }

  /** Sends a signal (default SIGTERM). Does nothing once the child has been waited for. */
  kill(signal: SignalName | number = "SIGTERM"): void {
    if (this.#status) return; // its pid may belong to another process by now
    kill(this.pid, signal);
  }

  /** Kills the child (SIGKILL) unless it has ended, and waits for it: no zombie, no orphan. */
  [Symbol.dispose](): void {
    if (this.#status) return;
    try {
      if (this.poll()) return;
    } catch (error) {
      if (error instanceof IpcError && error.code === "ECHILD") return; // someone called waitpid() on it directly
      throw error;
    }
    try {
      kill(this.pid, "SIGKILL");
    } catch {
      // It ended between poll and kill; wait() collects it.
    }
    this.wait();
  }

  // Without WUNTRACED/WCONTINUED, waitpid reports only the end: an exit or a death by signal.
  #reap(result: { status: WaitStatus }): WaitStatus {
    this.#status = result.status;
    return result.status;
  }
}

/**
 * Starts `argv[0]` with the arguments `argv` through posix_spawn(3): no
 * shell, so no argument is ever split or interpreted. Every signal starts
 * with its default action and none blocked (Bun ignores SIGPIPE and
 * SIGXFSZ, and an ignored signal would stay ignored across exec).
 */
export function spawn(argv: readonly string[], options: SpawnOptions = {}): Child {
  const call = options.search === false ? "posix_spawn" : "posix_spawnp";
  checkArgv(argv, call);
  const args = new CStringArray(argv);
  const env = new CStringArray(environment(options.env, call));
  const actions = fileActions(options);

  const fa = new Uint8Array(layout.posix_spawn_file_actions_t.size);
  const attr = new Uint8Array(layout.posix_spawnattr_t.size);
  const check = (result: number, what: string, object: string = argv[0]!) => {
    if (result !== 0) throw errorFor(result, what, object, SPAWN_HINTS);
  };
  check(sys.posix_spawn_file_actions_init(ptr(fa)), "posix_spawn_file_actions_init");
  check(sys.posix_spawnattr_init(ptr(attr)), "posix_spawnattr_init");
  const keep: Buffer[] = []; // paths the file actions point at, alive until the call
  try {
    // chdir first, so that relative paths in the open actions are relative to `cwd`.
    if (options.cwd !== undefined) {
      if (typeof options.cwd !== "string" || options.cwd === "") throw new TypeError("spawn: cwd must be a non-empty string");
      const dir = cstr(options.cwd);
      keep.push(dir);
      check(sys.posix_spawn_file_actions_addchdir_np(ptr(fa), dir), "posix_spawn_file_actions_addchdir_np", options.cwd);
    }
    for (const action of actions) {
      if ("dup2" in action) {
        const from = descriptor(action.dup2, "dup2: descriptor");
        check(sys.posix_spawn_file_actions_adddup2(ptr(fa), from, descriptor(action.to, "dup2: to")), "posix_spawn_file_actions_adddup2", `fd ${from}`);
      } else if ("close" in action) {
        check(sys.posix_spawn_file_actions_addclose(ptr(fa), descriptor(action.close, "close: descriptor")), "posix_spawn_file_actions_addclose", `fd ${action.close}`);
      } else if ("open" in action) {
        if (typeof action.open !== "string" || action.open === "") throw new TypeError("open: the path must be a non-empty string");
        const path = cstr(action.open);
        keep.push(path);
        const mode = fileMode(action.mode ?? 0o600, "posix_spawn_file_actions_addopen");
        check(sys.posix_spawn_file_actions_addopen(ptr(fa), descriptor(action.fd, "open: fd"), path, action.flags ?? O.RDONLY, mode), "posix_spawn_file_actions_addopen", action.open);
      } else {
        throw new TypeError(`spawn: unknown file action ${JSON.stringify(action)}`);
      }
    }

    let flags = POSIX_SPAWN.SETSIGDEF | POSIX_SPAWN.SETSIGMASK;
    const defaults = new Uint8Array(layout.sigset_t.size);
    const mask = new Uint8Array(layout.sigset_t.size);
    sys.sigemptyset(ptr(defaults));
    sys.sigemptyset(ptr(mask));
    for (let n = 1; n <= 31; n++) if (n !== SIG.KILL && n !== SIG.STOP) sys.sigaddset(ptr(defaults), n);
    check(sys.posix_spawnattr_setsigdefault(ptr(attr), ptr(defaults)), "posix_spawnattr_setsigdefault");
    check(sys.posix_spawnattr_setsigmask(ptr(attr), ptr(mask)), "posix_spawnattr_setsigmask");
    if (options.processGroup !== undefined) {
      flags |= POSIX_SPAWN.SETPGROUP;
      check(sys.posix_spawnattr_setpgroup(ptr(attr), count(options.processGroup, "spawn: processGroup", 0x7fffffff)), "posix_spawnattr_setpgroup");
    }
    if (options.newSession) flags |= POSIX_SPAWN.SETSID;
    check(sys.posix_spawnattr_setflags(ptr(attr), flags), "posix_spawnattr_setflags");

    const pid = new Int32Array(1);
    const spawner = options.search === false ? sys.posix_spawn : sys.posix_spawnp;
    check(spawner(ptr(pid), args.strings[0]!, ptr(fa), ptr(attr), args.pointer, env.pointer), call);
    return new Child(pid[0]!, [...argv]);
  } finally {
    sys.posix_spawn_file_actions_destroy(ptr(fa));
    sys.posix_spawnattr_destroy(ptr(attr));
    keep.length = 0;
  }
}

// ---------------------------------------------------------------------------
// Running a program to completion, without a shell

/** How `run()` starts the program and how long it may take. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Bytes or text for the child's standard input. Default: none (empty). */
  input?: string | Uint8Array;
  /** Kill the child with SIGKILL after this many seconds. Default: wait forever. */
  timeout?: number;
  /** Search PATH for argv[0]; default true. */
  search?: boolean;
}

/** What `run()` collected: how the program ended and what it printed. */
export interface RunResult {
  status: WaitStatus;
  /** Whether it exited with code 0. */
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Whether it was killed because `timeout` ran out. */
  timedOut: boolean;
}

/** An anonymous in-memory file (memfd_create), closed on exec in this process's other children. */
function memoryFile(label: string): number {
  const fd = sys.memfd_create(cstr(`ipcbook-run-${label}`), MFD.CLOEXEC);
  if (fd === -1) throw lastError("memfd_create", label);
  return fd;
}

function readAll(fd: number): string {
  const size = fs.fstatSync(fd).size;
  const bytes = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, bytes, done, size - done, done); // pread: the offset the child moved does not matter
    if (n === 0) break;
    done += n;
  }
  return bytes.subarray(0, done).toString("utf8");
}

/**
 * Runs the program `argv[0]` with the arguments `argv` and waits for it,
 * without a shell: an argument such as `"x; rm -rf ~"` reaches the program
 * as that very text and nothing interprets it. A string instead of an
 * array is refused with a TypeError.
 *
 * Output goes to in-memory files rather than pipes, so a child that
 * writes a lot cannot block on a full pipe while we wait for it. Waiting
 * does not block the event loop.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  checkArgv(argv, "run");
  if (options.timeout !== undefined) seconds(options.timeout, "run: timeout");
  const fds: number[] = [];
  try {
    const stdin = memoryFile("stdin");
    fds.push(stdin);
    if (options.input !== undefined) {
      const input = typeof options.input === "string" ? Buffer.from(options.input) : options.input;
      fs.writeSync(stdin, input, 0, input.length, 0); // pwrite: the offset stays at 0 for the child
    }
    const stdout = memoryFile("stdout");
    fds.push(stdout);
    const stderr = memoryFile("stderr");
    fds.push(stderr);

    const child = spawn(argv, { env: options.env, cwd: options.cwd, search: options.search, stdin, stdout, stderr });
    let timedOut = false;
    const timer =
      options.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeout * 1000);
    let status: WaitStatus;
    try {
      status = await child.exited();
    } finally {
      clearTimeout(timer);
    }
    return {
      status,
      ok: status.kind === "exited" && status.code === 0,
      stdout: readAll(stdout),
      stderr: readAll(stderr),
      timedOut,
    };
  } finally {
    for (const fd of fds) sys.close(fd);
  }
}

// ---------------------------------------------------------------------------
// Through the shell: system(3) and popen(3)

/**
 * system(3): runs `command` with `/bin/sh -c command` and waits for it.
 * Whatever the text contains, the shell obeys: `;`, `|`, `&&`, `$(…)`,
 * backquotes, redirections. NEVER build `command` from text you did not
 * write yourself; use `run([program, ...args])`. Blocks the event loop.
 */
export function system(command: string): WaitStatus {
  if (typeof command !== "string") throw new TypeError("system: the command must be a string");
  const raw = sys.system(cstr(command));
  if (raw === -1) throw lastError("system", command);
  return decodeStatus(raw);
}

/**
 * popen(3) for reading: runs `command` with `/bin/sh -c`, reads all it
 * writes to its standard output, then pclose(3) waits for it. The same
 * warning as `system()` applies.
 */
export function popenRead(command: string): { output: string; status: WaitStatus } {
  if (typeof command !== "string") throw new TypeError("popen: the command must be a string");
  const stream = sys.popen(cstr(command), cstr("re")); // "e": close-on-exec, so other children do not inherit it
  if (stream === null) throw lastError("popen", command);
  const chunks: Buffer[] = [];
  let failure: unknown;
  try {
    const fd = sys.fileno(stream);
    const buffer = Buffer.alloc(65536);
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; ) chunks.push(Buffer.from(buffer.subarray(0, n)));
  } catch (error) {
    failure = error;
  }
  const raw = sys.pclose(stream); // always: it waits for the shell, so no zombie is left
  if (failure !== undefined) throw failure;
  if (raw === -1) throw lastError("pclose", command);
  return { output: Buffer.concat(chunks).toString("utf8"), status: decodeStatus(raw) };
}

// ---------------------------------------------------------------------------
// Looking at processes: /proc, subreapers

/** What /proc/PID/stat says about a process. */
export interface ProcessInfo {
  pid: number;
  /** The program name, at most 15 characters ("sleep"). */
  command: string;
  /**
   * R running, S sleeping, D in uninterruptible sleep (disk), T stopped,
   * Z zombie: exited, waiting for its parent to collect the status.
   */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
}

/** The process `pid` as /proc sees it, or null if there is no such process. */
export function processInfo(pid: number): ProcessInfo | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${count(pid, "processInfo: pid", 0x7fffffff, 1)}/stat`, "utf8");
  } catch {
    return null;
  }
  // "PID (COMMAND) STATE PPID PGRP SESSION …": the command may contain spaces and parentheses.
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const [state = "?", ppid = "0", pgid = "0", sid = "0"] = text.slice(close + 2).split(" ");
  return { pid, command: text.slice(open + 1, close), state, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid) };
}

/** This process's parent (getppid). */
export function parentPid(): number {
  return sys.getppid();
}

/** The process group of `pid` (default: this process). */
export function processGroupOf(pid = 0): number {
  const pgid = sys.getpgid(pid);
  if (pgid === -1) throw lastError("getpgid", `pid ${pid}`);
  return pgid;
}

/**
 * Makes this process a "child subreaper" (prctl PR_SET_CHILD_SUBREAPER):
 * an orphaned descendant is then re-parented to us instead of to init, so
 * we can wait for it.
 */
export function setChildSubreaper(on: boolean): void {
  if (sys.prctl(PR.SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) === -1) throw lastError("prctl(PR_SET_CHILD_SUBREAPER)");
}

/** Whether this process is a child subreaper. */
export function isChildSubreaper(): boolean {
  const flag = new Int32Array(1);
  if (sys.prctl(PR.GET_CHILD_SUBREAPER, BigInt(ptr(flag)), 0, 0, 0) === -1) throw lastError("prctl(PR_GET_CHILD_SUBREAPER)");
  return flag[0] !== 0;
}
