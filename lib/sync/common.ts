/**
 * What every synchronisation object shares: timeouts, the errors peculiar
 * to locks, placement in shared memory (size, alignment, bounds), and a
 * per-process record of each object's state (destroyed? held by whom?).
 */
import { ERRNO, errnoName } from "../ffi/errno.ts";
import { ClosedError, errorFor, IpcError, type Hints, type IpcErrorInit } from "../errors.ts";
import type { Pointer } from "bun:ffi";
import type { Mapping } from "../mapping.ts";
import { count } from "../validate.ts";
import { FOREVER } from "./native.ts";

// ---------------------------------------------------------------- timeouts

/**
 * A timeout in seconds as the library takes it: `undefined` waits forever,
 * `0` does not block, anything else is a bound on the wait.
 */
export function timeoutSeconds(value: unknown, call: string): number | undefined {
  if (value === undefined || value === Infinity) return undefined;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${call}: the timeout must be a number of seconds, got ${typeof value === "number" ? "NaN" : typeof value}`);
  }
  if (value < 0) throw new RangeError(`${call}: the timeout must be at least 0 seconds, got ${value}`);
  return value;
}

/** The absolute deadline (epoch milliseconds, or FOREVER) of a timeout starting now. */
export function deadlineOf(seconds: number | undefined): number {
  return seconds === undefined ? FOREVER : Date.now() + seconds * 1000;
}

// ---------------------------------------------------------------- errors

/**
 * The lock you asked for is yours, but its previous owner died holding it
 * (EOWNERDEAD from a robust mutex). The data it protects may be half
 * updated. You hold the mutex now: repair the data, then call
 * `mutex.consistent()` and `mutex.unlock()`; or give up with
 * `mutex.markUnrecoverable()`, after which every lock attempt fails with
 * ENOTRECOVERABLE.
 */
export class OwnerDeadError extends IpcError {
  /** The mutex, held by you now. */
  readonly mutex: unknown;
  constructor(init: IpcErrorInit & { mutex: unknown }) {
    super(init);
    this.mutex = init.mutex;
  }
}

/**
 * A previous owner died holding the mutex and nobody made it consistent
 * (ENOTRECOVERABLE): it can never be locked again. Destroy it and
 * initialise it (and the data it protected) afresh.
 */
export class UnrecoverableError extends IpcError {}

export function ownerDead(call: string, object: string, mutex: unknown): OwnerDeadError {
  return new OwnerDeadError({
    errno: ERRNO.EOWNERDEAD,
    call,
    object,
    mutex,
    hint:
      "its previous owner died while holding it, and the data it protects may be half updated. You hold the lock now: " +
      "repair the data, then call consistent() and unlock(); or call markUnrecoverable()",
  });
}

export function unrecoverable(call: string, object: string): UnrecoverableError {
  return new UnrecoverableError({
    errno: ERRNO.ENOTRECOVERABLE,
    call,
    object,
    hint:
      "an owner died holding it and nobody made it consistent, so it can never be locked again; " +
      "destroy it and initialise it (and the data it protects) afresh",
  });
}

/** An error for a misuse the library catches itself, worded like the kernel's. */
export function misuse(errnum: number, call: string, object: string, hint: string): IpcError {
  return errorFor(errnum, call, object, { [errnoName(errnum)]: hint } as Hints);
}

/** Using an object after destroy(). */
export function destroyedError(call: string, object: string): ClosedError {
  return new ClosedError({
    errno: ERRNO.EBADF,
    call,
    object,
    message: "the object was destroyed",
    hint: "destroy() ends an object for every process; initialise it again (init) before using it",
  });
}

// ---------------------------------------------------------------- placement

/** Size and alignment of an object placed in shared memory. */
export interface Footprint {
  size: number;
  align: number;
}

/**
 * Checks that an object of `footprint` fits at `offset` in `mapping`, at an
 * offset that is a multiple of its alignment, in writable shared memory.
 */
export function checkPlacement(what: string, mapping: Mapping, offset: number, footprint: Footprint): void {
  if (mapping === null || typeof mapping !== "object" || typeof (mapping as Mapping).view !== "function") {
    throw new TypeError(`${what}: the first argument must be a Mapping (from SharedMemory.map()), got ${typeof mapping}`);
  }
  count(offset, `${what}: offset`);
  if (!mapping.mapped) {
    throw new ClosedError({ errno: ERRNO.EBADF, call: what, object: mapping.label, message: "the mapping is unmapped" });
  }
  if (!mapping.writable) {
    throw new TypeError(`${what}: the mapping of ${mapping.label} is read-only; a lock must be written to, so map it read-write`);
  }
  if (offset % footprint.align !== 0) {
    throw new RangeError(
      `${what}: offset ${offset} is not a multiple of ${footprint.align}; this object must be aligned to ${footprint.align} bytes ` +
        `(use layout() to place objects, it aligns them for you)`,
    );
  }
  if (offset + footprint.size > mapping.length) {
    throw new RangeError(
      `${what}: ${footprint.size} bytes at offset ${offset} run past the end of the ${mapping.length}-byte mapping of ${mapping.label}`,
    );
  }
  if (!mapping.shared) {
    throw new TypeError(`${what}: the mapping of ${mapping.label} is private (copy-on-write); other processes would never see this object`);
  }
}

/** The address of byte `offset` of a mapping. */
export function addressAt(mapping: Mapping, offset: number): Pointer {
  return (mapping.pointer + offset) as Pointer;
}

/** Per-process state of one object, shared by every handle on the same bytes. */
export interface BaseState {
  kind: string;
  destroyed: boolean;
  /** Async waits in progress: destroying or closing now would pull the memory from under them. */
  pending: number;
}

const registry = new WeakMap<Mapping, Map<number, BaseState>>();

/**
 * The state of the object at `offset` in `mapping`. `fresh` (after init)
 * starts a new record; otherwise the existing one is reused, so two
 * handles on the same object in this process agree on who holds it.
 */
export function stateAt<S extends BaseState>(mapping: Mapping, offset: number, create: () => S, fresh: boolean): S {
  let objects = registry.get(mapping);
  if (objects === undefined) {
    objects = new Map();
    registry.set(mapping, objects);
  }
  const existing = objects.get(offset);
  const made = create();
  if (!fresh && existing !== undefined && existing.kind === made.kind) return existing as S;
  objects.set(offset, made);
  return made;
}

/**
 * An object placed in shared memory: a pthread object or a semaphore at
 * some offset of a Mapping. Knows its address, refuses to be used once its
 * handle is closed, its memory unmapped or the object destroyed.
 */
export abstract class Placed<S extends BaseState> implements Disposable {
  readonly mapping: Mapping;
  readonly offset: number;
  protected readonly state: S;
  #closed = false;

  protected constructor(mapping: Mapping, offset: number, state: S) {
    this.mapping = mapping;
    this.offset = offset;
    this.state = state;
  }

  /** For messages: "mutex at offset 64 of /jobs". */
  get label(): string {
    return `${this.state.kind} at offset ${this.offset} of ${this.mapping.label}`;
  }

  /** The object's address, after checking that it may be used. */
  protected address(call: string): Pointer {
    if (this.#closed) {
      throw new ClosedError({
        errno: ERRNO.EBADF,
        call,
        object: this.label,
        message: "this handle is closed",
        hint: "attach to the object again to use it",
      });
    }
    if (!this.mapping.mapped) {
      throw new ClosedError({
        errno: ERRNO.EBADF,
        call,
        object: this.label,
        message: "the shared memory holding it is unmapped",
        hint: "keep the mapping until you are done with every object in it",
      });
    }
    if (this.state.destroyed) throw destroyedError(call, this.label);
    return addressAt(this.mapping, this.offset);
  }

  /** Refuses to pull the object away while an async wait of this process uses it. */
  protected assertIdle(call: string): void {
    if (this.state.pending > 0) {
      throw misuse(
        ERRNO.EBUSY,
        call,
        this.label,
        `${this.state.pending} async wait(s) of this process are still in progress on it; let them finish first`,
      );
    }
  }

  /** Marks the object destroyed for every handle of this process. */
  protected markDestroyed(): void {
    this.state.destroyed = true;
  }

  /** Whether this handle was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Forgets this handle. The object itself stays for the other processes;
   * `destroy()` ends it for everyone.
   */
  close(): void {
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Counts an async operation as pending for the length of `work`, and
   * keeps the memory mapped meanwhile (and that of `also`, a condition's
   * mutex): the helper thread doing the work must not wake up in pages
   * that `unmap()` took away.
   */
  protected async pendingWhile<T>(work: Promise<T>, also?: Mapping): Promise<T> {
    const unpins = [this.mapping.pin()];
    if (also !== undefined && also !== this.mapping && also.mapped) unpins.push(also.pin());
    this.state.pending += 1;
    try {
      return await work;
    } finally {
      this.state.pending -= 1;
      for (const unpin of unpins) unpin();
    }
  }
}

/**
 * How the layout() function places an object, and how it makes or reaches
 * one there: the classes themselves (`Mutex`) and their `.field(options)`
 * both have this shape.
 */
export interface FieldKind<T> {
  /** For printing a layout: "Mutex". */
  readonly name?: string;
  readonly size: number;
  readonly align: number;
  init(mapping: Mapping, offset: number): T;
  attach(mapping: Mapping, offset: number): T;
}
