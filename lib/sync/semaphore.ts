/**
 * POSIX semaphores: a counter that never goes below zero. wait() (P, down)
 * takes one, sleeping while the counter is 0; post() (V, up) gives one
 * back and wakes a sleeper.
 *
 * Named, found by every process that knows the name (/dev/shm/sem.NAME):
 *
 *   using slots = new Semaphore("/printer", { create: true, value: 1 });
 *   slots.wait(); try { … } finally { slots.post(); }
 *   slots.unlink();   // by the last user
 *
 * Unnamed, placed in shared memory next to the data it counts:
 *
 *   const items = Semaphore.init(map, 0, { value: 0 });   // once
 *   const items = Semaphore.attach(map, 0);               // elsewhere
 */
import type { Pointer } from "bun:ffi";
import { O, SEM_VALUE_MAX, layout } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import { cstr, sys } from "../ffi/libc.ts";
import { ClosedError, errorFor, invalid, lastError, type Hints } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import { count, fileMode, posixName } from "../validate.ts";
import { addressAt, checkPlacement, deadlineOf, destroyedError, misuse, stateAt, timeoutSeconds, type BaseState, type FieldKind } from "./common.ts";
import { borrowHelper, returnHelper } from "./helper.ts";
import { OP, perform } from "./native.ts";

/** How to open or create a named semaphore. */
export interface SemaphoreOptions {
  /** Create it if it does not exist. */
  create?: boolean;
  /** Fail with ExistsError if it exists (implies `create`). */
  exclusive?: boolean;
  /** The initial value of a new semaphore, 0 to SEM_VALUE_MAX; default 0. */
  value?: number;
  /** Permission bits of a new semaphore; default 0o600. */
  mode?: number;
}

/** How to initialise a semaphore in shared memory. */
export interface UnnamedSemaphoreOptions {
  /** The initial value, 0 to SEM_VALUE_MAX; default 0. */
  value?: number;
}

const OPEN_HINTS: Hints = {
  EEXIST: "a semaphore of this name exists already; open it without `exclusive`, or unlink it first",
  ENOENT: "there is no semaphore of this name; pass `create: true` to create it",
  EACCES: "the semaphore exists but its mode does not let your user open it",
  EINVAL: "the value is over SEM_VALUE_MAX, or the name is not valid",
};

const HINTS: Hints = {
  EAGAIN: "the semaphore is 0: nothing to take without waiting",
  ETIMEDOUT: "the semaphore stayed at 0 for the whole timeout; is anyone posting?",
  EOVERFLOW: "the value would exceed SEM_VALUE_MAX; is something posting without anyone waiting?",
  EINVAL: "this memory does not hold a valid semaphore (destroyed, or never initialised?)",
};

const footprint = layout.sem_t;

/** "sem." takes 4 of the NAME_MAX bytes of a semaphore's file name in /dev/shm. */
const SEM_NAME_MAX = 251;

function initialValue(value: unknown, call: string): number {
  return count(value ?? 0, `${call}: the initial value`, SEM_VALUE_MAX);
}

const PLACED: unique symbol = Symbol("placed semaphore");

type Where = { named: string } | { mapping: Mapping; offset: number };

/**
 * A POSIX semaphore: named (the constructor, sem_open) or unnamed in shared
 * memory (init/attach, sem_init). P is wait(), V is post().
 */
export class Semaphore implements Disposable {
  /** sizeof(sem_t): bytes an unnamed semaphore takes in shared memory. */
  static readonly size = footprint.size;
  static readonly align = footprint.align;
  /** The name of a named semaphore; undefined for one in shared memory. */
  readonly name: string | undefined;
  readonly #where: Where;
  #pointer: Pointer | null;
  readonly #state: BaseState;

  /**
   * Opens the named semaphore `name` ("/printer"), creating it with
   * `create: true` and the initial `value`.
   */
  constructor(name: string, options?: SemaphoreOptions);
  /** @internal A handle on a semaphore in shared memory: use init() or attach(). */
  constructor(placed: typeof PLACED, where: { mapping: Mapping; offset: number; fresh: boolean });
  constructor(name: string | typeof PLACED, options: SemaphoreOptions | { mapping: Mapping; offset: number; fresh: boolean } = {}) {
    if (name === PLACED) {
      const { mapping, offset, fresh } = options as { mapping: Mapping; offset: number; fresh: boolean };
      this.name = undefined;
      this.#where = { mapping, offset };
      this.#pointer = addressAt(mapping, offset);
      this.#state = stateAt(mapping, offset, () => ({ kind: "semaphore", destroyed: false, pending: 0 }), fresh);
      return;
    }
    const opts = options as SemaphoreOptions;
    posixName(name, "sem_open");
    if (Buffer.byteLength(name) - 1 > SEM_NAME_MAX) {
      throw invalid("sem_open", name, `a semaphore name is at most ${SEM_NAME_MAX} bytes after its slash (the file in /dev/shm is "sem." + name)`);
    }
    const mode = fileMode(opts.mode ?? 0o600, "sem_open");
    const value = initialValue(opts.value, "sem_open");
    let flags = 0;
    if (opts.create || opts.exclusive) flags |= O.CREAT;
    if (opts.exclusive) flags |= O.EXCL;
    const pointer = sys.sem_open(cstr(name), flags, mode, value);
    if (pointer === null || typeof pointer !== "number") throw lastError("sem_open", name, OPEN_HINTS);
    this.name = name;
    this.#where = { named: name };
    this.#pointer = pointer;
    this.#state = { kind: "semaphore", destroyed: false, pending: 0 };
  }

  /** Initialises an unnamed, process-shared semaphore at `offset` of the mapping (sem_init). */
  static init(mapping: Mapping, offset = 0, options: UnnamedSemaphoreOptions = {}): Semaphore {
    const value = initialValue(options.value, "sem_init");
    checkPlacement("sem_init", mapping, offset, footprint);
    const semaphore = new Semaphore(PLACED, { mapping, offset, fresh: true });
    if (sys.sem_init(addressAt(mapping, offset), 1, value) === -1) throw lastError("sem_init", semaphore.label, HINTS);
    return semaphore;
  }

  /** A handle on an unnamed semaphore another process initialised at `offset`. */
  static attach(mapping: Mapping, offset = 0): Semaphore {
    checkPlacement("Semaphore.attach", mapping, offset, footprint);
    return new Semaphore(PLACED, { mapping, offset, fresh: false });
  }

  /** A field for layout(): `items: Semaphore.field({ value: 0 })`. */
  static field(options: UnnamedSemaphoreOptions = {}): FieldKind<Semaphore> {
    initialValue(options.value, "Semaphore.field");
    return { name: "Semaphore", size: Semaphore.size, align: Semaphore.align, init: (m, o) => Semaphore.init(m, o, options), attach: Semaphore.attach };
  }

  /** Removes the named semaphore `name`; it goes once every process has closed it. */
  static unlink(name: string): void {
    posixName(name, "sem_unlink");
    if (sys.sem_unlink(cstr(name)) === -1) {
      throw lastError("sem_unlink", name, { ENOENT: "there is no semaphore of this name (removed already?)" });
    }
  }

  /** For messages: the name, or "semaphore at offset 64 of /jobs". */
  get label(): string {
    if ("named" in this.#where) return this.#where.named;
    return `semaphore at offset ${this.#where.offset} of ${this.#where.mapping.label}`;
  }

  /** false once close()d. */
  get closed(): boolean {
    return this.#pointer === null;
  }

  /**
   * Takes one (P, down): decrements the value, sleeping while it is 0 for
   * at most `timeout` seconds (undefined: forever; 0: do not sleep).
   * Throws TimeoutError when the time runs out (BusyError for 0).
   */
  wait(timeout?: number): void {
    const seconds = timeoutSeconds(timeout, "sem_wait");
    if (seconds === 0) {
      if (!this.tryWait()) throw errorFor(ERRNO.EAGAIN, "sem_trywait", this.label, HINTS);
      return;
    }
    const call = seconds === undefined ? "sem_wait" : "sem_timedwait";
    const rc = perform(OP.SEM_WAIT, this.#address(call), 0, deadlineOf(seconds)).errno;
    if (rc !== 0) throw errorFor(rc, call, this.label, HINTS);
  }

  /** Takes one if the value is above 0 (sem_trywait); false if it is 0. */
  tryWait(): boolean {
    const address = this.#address("sem_trywait");
    for (;;) {
      if (sys.sem_trywait(address) === 0) return true;
      const error = lastError("sem_trywait", this.label, HINTS);
      if (error.errno === ERRNO.EAGAIN) return false;
      if (error.errno !== ERRNO.EINTR) throw error;
    }
  }

  /** wait() on a helper thread, so that the event loop keeps running. */
  async waitAsync(timeout?: number): Promise<void> {
    const seconds = timeoutSeconds(timeout, "sem_wait");
    if (seconds === 0) return this.wait(0);
    const call = seconds === undefined ? "sem_wait" : "sem_timedwait";
    const address = this.#address(call);
    const helper = borrowHelper();
    // Keep shared memory mapped until the helper is done with it, whatever unmap() says meanwhile.
    const unpin = "mapping" in this.#where ? this.#where.mapping.pin() : () => {};
    this.#state.pending += 1;
    try {
      const { errno } = await helper.run(OP.SEM_WAIT, address, 0, deadlineOf(seconds));
      if (errno !== 0) throw errorFor(errno, call, this.label, HINTS);
    } finally {
      this.#state.pending -= 1;
      unpin();
      returnHelper(helper);
    }
  }

  /** Gives one back (V, up): increments the value and wakes one sleeper. */
  post(): void {
    if (sys.sem_post(this.#address("sem_post")) === -1) throw lastError("sem_post", this.label, HINTS);
  }

  /** The current value (sem_getvalue); already stale when you read it if others use it. */
  get value(): number {
    const out = new Int32Array(1);
    if (sys.sem_getvalue(this.#address("sem_getvalue"), out) === -1) throw lastError("sem_getvalue", this.label, HINTS);
    return out[0]!;
  }

  /**
   * Closes this handle. For a named semaphore that is sem_close: the
   * semaphore itself stays until unlink(). Idempotent.
   */
  close(): void {
    const pointer = this.#pointer;
    if (pointer === null) return;
    this.#assertIdle("sem_close");
    this.#pointer = null;
    if ("named" in this.#where && sys.sem_close(pointer) === -1) throw lastError("sem_close", this.label);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Removes a named semaphore's name (sem_unlink); processes that have it open keep using it. */
  unlink(): void {
    if (!("named" in this.#where)) {
      throw new TypeError(`sem_unlink: ${this.label} has no name; an unnamed semaphore ends with destroy()`);
    }
    Semaphore.unlink(this.#where.named);
  }

  /** Destroys an unnamed semaphore (sem_destroy) for every process; only when nobody waits on it. */
  destroy(): void {
    if ("named" in this.#where) {
      throw new TypeError(`sem_destroy: ${this.label} is a named semaphore; close() it and unlink() it instead`);
    }
    const address = this.#address("sem_destroy");
    this.#assertIdle("sem_destroy");
    if (sys.sem_destroy(address) === -1) throw lastError("sem_destroy", this.label, HINTS);
    this.#state.destroyed = true;
  }

  #assertIdle(call: string): void {
    if (this.#state.pending > 0) {
      throw misuse(ERRNO.EBUSY, call, this.label, `${this.#state.pending} async wait(s) of this process are still in progress on it`);
    }
  }

  #address(call: string): Pointer {
    if (this.#pointer === null) {
      throw new ClosedError({ errno: ERRNO.EBADF, call, object: this.label, message: "the semaphore is closed", hint: "open it again to use it" });
    }
    if (this.#state.destroyed) throw destroyedError(call, this.label);
    if ("mapping" in this.#where) {
      const { mapping, offset } = this.#where;
      if (!mapping.mapped) {
        throw new ClosedError({ errno: ERRNO.EBADF, call, object: this.label, message: "the shared memory holding it is unmapped" });
      }
      return addressAt(mapping, offset);
    }
    return this.#pointer;
  }
}
