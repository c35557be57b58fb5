/**
 * The fork family, demonstrated in C (fork.c, clone.c next to this file)
 * compiled at run time by bun:ffi's `cc` (TinyCC, with the system's C
 * headers: a C toolchain's libc6-dev must be installed).
 *
 * Why not fork from TypeScript: fork(2) copies the calling thread only.
 * A Bun process runs many threads (garbage collector, JIT compiler, I/O
 * pool); in the child they no longer exist, locks they held stay locked,
 * and the child crashes (SIGSEGV on Bun 1.4) as soon as fork returns into
 * JavaScript. So the child's whole life happens inside a C function, and
 * TypeScript gets back what was observed.
 *
 * Each function compiles its C file on first use (a few milliseconds).
 */
import path from "node:path";
import { cc, ptr } from "bun:ffi";
import { cstr } from "../ffi/libc.ts";
import { errorFor } from "../errors.ts";
import { checkArgv, decodeStatus, type WaitStatus } from "../process.ts";

const i32 = "i32" as const;
const pointer = "ptr" as const;

function compile<T extends Parameters<typeof cc>[0]["symbols"]>(file: string, symbols: T) {
  const source = path.join(import.meta.dir, file);
  try {
    return cc({ source, symbols }).symbols; // TinyCC, in memory; the functions are then called like any FFI symbol
  } catch (error) {
    throw new Error(
      `compiling ${source} with bun:ffi's cc failed; it needs the C library's headers ` +
        `(on Debian or Ubuntu: apt install libc6-dev): ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

let forkLib: ReturnType<typeof loadFork> | undefined;
// ANCHOR: cc
function loadFork() {
  return compile("fork.c", {
    fork_exec: { args: [pointer, pointer, pointer], returns: i32 },
    fork_write: { args: [i32, pointer, pointer], returns: i32 },
    copy_on_write: { args: [pointer], returns: i32 },
  });
}
// ANCHOR_END: cc
function forkC() {
  return (forkLib ??= loadFork());
}

let cloneLib: ReturnType<typeof loadClone> | undefined;
function loadClone() {
  return compile("clone.c", { clone_demo: { args: [i32, pointer], returns: i32 } });
}

function check(result: number, call: string, object?: string): void {
  if (result < 0) throw errorFor(-result, call, object);
}

/** A child that the C code forked and waited for. */
export interface ForkedChild {
  pid: number;
  status: WaitStatus;
}

/**
 * fork, then execv in the child: runs the program at `argv[0]` (a path;
 * no PATH search) with the arguments `argv`, and waits for it. A program
 * that cannot be executed shows as exit code 127.
 */
export function forkExec(argv: readonly string[]): ForkedChild {
  checkArgv(argv, "fork_exec");
  const strings = argv.map((arg) => cstr(arg));
  const pointers = new BigUint64Array(strings.length + 1);
  strings.forEach((s, i) => (pointers[i] = BigInt(ptr(s))));
  const out = new BigInt64Array(2);
  check(forkC().fork_exec(ptr(strings[0]!), ptr(pointers), ptr(out)), "fork_exec", argv[0]);
  return { pid: Number(out[0]), status: decodeStatus(Number(out[1])) };
}

/**
 * Forks a child that writes `text` to our descriptor `fd`, which it has
 * inherited (fork copies the descriptor table, close-on-exec or not), and
 * waits for it. The child's exit code is 0 if the write succeeded.
 */
export function forkWrite(fd: number, text: string): ForkedChild {
  if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`forkWrite: fd must be a descriptor number, got ${fd}`);
  const out = new BigInt64Array(2);
  check(forkC().fork_write(fd, ptr(cstr(text)), ptr(out)), "fork_write", `fd ${fd}`);
  return { pid: Number(out[0]), status: decodeStatus(Number(out[1])) };
}

/** A variable as one process saw it: its value and its (virtual) address. */
export interface Sighting {
  value: number;
  address: bigint;
}

/**
 * Copy-on-write made visible: the parent sets a global variable to 42 and
 * forks; the child sets it to 99. Both then report its value and address:
 * the same address, different values.
 */
export function copyOnWrite(): ForkedChild & { parent: Sighting; child: Sighting } {
  const out = new BigInt64Array(6);
  check(forkC().copy_on_write(ptr(out)), "copy_on_write");
  return {
    pid: Number(out[0]),
    status: decodeStatus(Number(out[1])),
    parent: { value: Number(out[2]), address: BigInt.asUintN(64, out[3]!) },
    child: { value: Number(out[4]), address: BigInt.asUintN(64, out[5]!) },
  };
}

/** What clone_demo observed. */
export interface CloneObservation {
  mode: "thread" | "process";
  /** Our process id and thread id. */
  parent: { pid: number; tid: number };
  /** What clone(2) returned to us: the new task's thread id. */
  cloneReturned: number;
  /** What the new task saw: getpid(), gettid(), getppid(). */
  child: { pid: number; tid: number; ppid: number };
  /** Whether the child's change to a global variable is visible to us. */
  sharesMemory: boolean;
  /** Whether the descriptor the child dup()ed is in our table. */
  sharesDescriptors: boolean;
  /** How the child ended (process mode only; a thread has no wait status). */
  status: WaitStatus | null;
}

/**
 * clone(2) with thread-like flags (CLONE_VM | CLONE_FS | CLONE_FILES |
 * CLONE_SIGHAND | CLONE_THREAD) or fork-like ones (SIGCHLD only).
 */
export function cloneDemo(mode: "thread" | "process"): CloneObservation {
  if (mode !== "thread" && mode !== "process") throw new TypeError(`cloneDemo: mode must be "thread" or "process"`);
  const out = new BigInt64Array(10);
  check((cloneLib ??= loadClone()).clone_demo(mode === "thread" ? 1 : 0, ptr(out)), "clone_demo");
  const n = (i: number) => Number(out[i]);
  return {
    mode,
    parent: { pid: n(1), tid: n(2) },
    cloneReturned: n(3),
    child: { pid: n(4), tid: n(5), ppid: n(6) },
    sharesMemory: n(7) === 1,
    sharesDescriptors: n(8) === 1,
    status: mode === "process" ? decodeStatus(n(9)) : null,
  };
}
