/**
 * Two spinning locks: `SpinLock`, the C library's (pthread_spin_*), and
 * `TslLock`, a test-and-set lock written in TypeScript on `Atomics`.
 *
 * A spinning lock never sleeps: a process that finds it taken tries again,
 * and again, burning its CPU until the holder lets go. That is cheaper
 * than sleeping when the wait is shorter than a trip through the
 * scheduler, and a waste of a whole core when it is not. And if the holder
 * dies, the lock stays taken: an untimed lock() then spins forever. Use
 * the timed forms, or a robust Mutex, when that can happen.
 */
import type { Pointer } from "bun:ffi";
import { PTHREAD_PROCESS, layout } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import { sys } from "../ffi/libc.ts";
import { errorFor, type Hints } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import { addressAt, checkPlacement, misuse, Placed, stateAt, timeoutSeconds, type BaseState, type FieldKind } from "./common.ts";

const HINTS: Hints = {
  EBUSY: "the spin lock is held",
  EDEADLK: "this process holds it already",
  EINVAL: "this memory does not hold an initialised spin lock",
};

/** Spins until `attempt()` succeeds or `seconds` pass (0: one attempt); returns the failed attempts, or -1 on timeout. */
function spinUntil(attempt: () => boolean, seconds: number | undefined): number {
  if (seconds === 0) return attempt() ? 0 : -1;
  const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
  let spins = 0;
  while (!attempt()) {
    spins += 1;
    // Reading the clock costs more than a failed attempt: look every 1024 spins.
    if ((spins & 1023) === 0 && Date.now() >= deadline) return -1;
  }
  return spins;
}

/** Tries `attempt()` until it succeeds or `seconds` pass, letting the event loop run between tries. */
async function spinAsync(attempt: () => boolean, seconds: number | undefined): Promise<boolean> {
  const deadline = seconds === undefined ? Infinity : Date.now() + seconds * 1000;
  for (;;) {
    for (let i = 0; i < 256; i++) if (attempt()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

interface SpinState extends BaseState {
  held: boolean;
}

const spinFootprint = layout.pthread_spinlock_t;

/** The C library's process-shared spin lock (pthread_spin_*), placed in shared memory. */
export class SpinLock extends Placed<SpinState> {
  /** sizeof(pthread_spinlock_t). */
  static readonly size = spinFootprint.size;
  static readonly align = spinFootprint.align;

  private constructor(mapping: Mapping, offset: number, fresh: boolean) {
    super(mapping, offset, stateAt(mapping, offset, () => ({ kind: "spin lock", destroyed: false, pending: 0, held: false }), fresh));
  }

  /** Initialises a process-shared spin lock at `offset` (pthread_spin_init). */
  static init(mapping: Mapping, offset = 0): SpinLock {
    checkPlacement("pthread_spin_init", mapping, offset, spinFootprint);
    const lock = new SpinLock(mapping, offset, true);
    const rc = sys.pthread_spin_init(addressAt(mapping, offset), PTHREAD_PROCESS.SHARED);
    if (rc !== 0) throw errorFor(rc, "pthread_spin_init", lock.label, HINTS);
    return lock;
  }

  /** A handle on a spin lock another process initialised. */
  static attach(mapping: Mapping, offset = 0): SpinLock {
    checkPlacement("SpinLock.attach", mapping, offset, spinFootprint);
    return new SpinLock(mapping, offset, false);
  }

  /** A field for layout(). */
  static field(): FieldKind<SpinLock> {
    return { name: "SpinLock", size: SpinLock.size, align: SpinLock.align, init: SpinLock.init, attach: SpinLock.attach };
  }

  /** Whether this process holds it. */
  get held(): boolean {
    return this.state.held;
  }

  /**
   * Spins until the lock is free, for at most `timeout` seconds (undefined:
   * forever, pthread_spin_lock; 0: one try). TimeoutError if it stays taken.
   */
  lock(timeout?: number): void {
    const seconds = timeoutSeconds(timeout, "pthread_spin_lock");
    const address = this.#ready("pthread_spin_lock");
    if (seconds === undefined) {
      const rc = sys.pthread_spin_lock(address);
      if (rc !== 0) throw errorFor(rc, "pthread_spin_lock", this.label, HINTS);
    } else if (spinUntil(() => this.#tryAt(address), seconds) === -1) {
      throw errorFor(seconds === 0 ? ERRNO.EBUSY : ERRNO.ETIMEDOUT, "pthread_spin_trylock", this.label, HINTS);
    }
    this.state.held = true;
  }

  /** One attempt: true if it is yours now. */
  tryLock(): boolean {
    const address = this.#ready("pthread_spin_trylock");
    if (!this.#tryAt(address)) return false;
    this.state.held = true;
    return true;
  }

  /** Spins without blocking the event loop: tries, lets other work run, tries again. */
  async lockAsync(timeout?: number): Promise<void> {
    const seconds = timeoutSeconds(timeout, "pthread_spin_lock");
    // Unlike lock(), no check that this process holds it: another async task may release it meanwhile.
    const address = this.address("pthread_spin_lock");
    const got = await this.pendingWhile(spinAsync(() => this.#tryAt(address), seconds));
    if (!got) throw errorFor(ERRNO.ETIMEDOUT, "pthread_spin_trylock", this.label, HINTS);
    this.state.held = true;
  }

  /** Releases it. pthread_spin_unlock does not check who calls; this does (EPERM). */
  unlock(): void {
    const address = this.address("pthread_spin_unlock");
    if (!this.state.held) throw misuse(ERRNO.EPERM, "pthread_spin_unlock", this.label, "this process does not hold it; only the holder may unlock it");
    const rc = sys.pthread_spin_unlock(address);
    if (rc !== 0) throw errorFor(rc, "pthread_spin_unlock", this.label, HINTS);
    this.state.held = false;
  }

  /** Destroys it (pthread_spin_destroy) for every process; only when nobody holds it. */
  destroy(): void {
    const address = this.address("pthread_spin_destroy");
    this.assertIdle("pthread_spin_destroy");
    if (this.state.held) throw misuse(ERRNO.EBUSY, "pthread_spin_destroy", this.label, "this process still holds it; unlock it first");
    const rc = sys.pthread_spin_destroy(address);
    if (rc !== 0) throw errorFor(rc, "pthread_spin_destroy", this.label, HINTS);
    this.markDestroyed();
  }

  #ready(call: string): Pointer {
    const address = this.address(call);
    if (this.state.held) throw misuse(ERRNO.EDEADLK, call, this.label, "this process holds it already; spinning for it would never end");
    return address;
  }

  #tryAt(address: Pointer): boolean {
    const rc = sys.pthread_spin_trylock(address);
    if (rc === 0) return true;
    if (rc === ERRNO.EBUSY) return false;
    throw errorFor(rc, "pthread_spin_trylock", this.label, HINTS);
  }
}

const tslFootprint = { size: 4, align: 4 };

/**
 * A test-and-set spin lock in TypeScript: one 32-bit word in shared memory
 * that holds 0 when the lock is free and the holder's process id when it
 * is taken. Taking it is one atomic compare-and-exchange (x86 `lock
 * cmpxchg`): "if the word is 0, make it my pid", as one indivisible step.
 * Storing the pid lets unlock() refuse a process that does not hold it,
 * and lets you see who does.
 */
export class TslLock implements Disposable {
  /** Bytes it takes: one 32-bit word. */
  static readonly size = tslFootprint.size;
  static readonly align = tslFootprint.align;
  readonly mapping: Mapping;
  readonly offset: number;
  readonly #word: Int32Array;
  readonly #pid = process.pid;

  private constructor(mapping: Mapping, offset: number) {
    checkPlacement("TslLock", mapping, offset, tslFootprint);
    this.mapping = mapping;
    this.offset = offset;
    this.#word = mapping.view(Int32Array, offset, 1);
  }

  /** Makes the word at `offset` a free lock (stores 0). */
  static init(mapping: Mapping, offset = 0): TslLock {
    const lock = new TslLock(mapping, offset);
    Atomics.store(lock.#word, 0, 0);
    return lock;
  }

  /** A handle on the lock word at `offset`, set up by another process. */
  static attach(mapping: Mapping, offset = 0): TslLock {
    return new TslLock(mapping, offset);
  }

  /** A field for layout(). */
  static field(): FieldKind<TslLock> {
    return { name: "TslLock", size: TslLock.size, align: TslLock.align, init: TslLock.init, attach: TslLock.attach };
  }

  /** The pid of the process holding it, or 0 if it is free. */
  get holder(): number {
    return Atomics.load(this.#live("holder"), 0);
  }

  /**
   * Spins until it gets the lock, for at most `timeout` seconds (undefined:
   * forever). Returns how many times it found the lock taken: the CPU it
   * burned waiting.
   */
  lock(timeout?: number): number {
    const seconds = timeoutSeconds(timeout, "TslLock.lock");
    const word = this.#ready("TslLock.lock");
    const spins = spinUntil(() => Atomics.compareExchange(word, 0, 0, this.#pid) === 0, seconds);
    if (spins === -1) throw this.#busy(seconds === 0 ? ERRNO.EBUSY : ERRNO.ETIMEDOUT, "TslLock.lock");
    return spins;
  }

  /** One test-and-set: true if it is yours now. */
  tryLock(): boolean {
    const word = this.#ready("TslLock.tryLock");
    return Atomics.compareExchange(word, 0, 0, this.#pid) === 0;
  }

  /** lock() that lets the event loop run between rounds of attempts. */
  async lockAsync(timeout?: number): Promise<void> {
    const seconds = timeoutSeconds(timeout, "TslLock.lockAsync");
    const word = this.#live("TslLock.lockAsync"); // another async task of this process may hold it, and release it
    if (!(await spinAsync(() => Atomics.compareExchange(word, 0, 0, this.#pid) === 0, seconds))) {
      throw this.#busy(ERRNO.ETIMEDOUT, "TslLock.lockAsync");
    }
  }

  /** Releases it: stores 0, if (and only if) this process holds it. */
  unlock(): void {
    const word = this.#live("TslLock.unlock");
    const was = Atomics.compareExchange(word, 0, this.#pid, 0);
    if (was !== this.#pid) {
      throw misuse(
        ERRNO.EPERM,
        "TslLock.unlock",
        this.#label,
        was === 0 ? "it is not locked" : `process ${was} holds it, not this one (${this.#pid}); only the holder may unlock it`,
      );
    }
  }

  /** Nothing to release: the lock is a word of memory. (For `using`.) */
  close(): void {}

  [Symbol.dispose](): void {}

  get #label(): string {
    return `TSL lock at offset ${this.offset} of ${this.mapping.label}`;
  }

  #live(call: string): Int32Array {
    if (this.#word.length === 0) {
      throw misuse(ERRNO.EBADF, call, this.#label, "the shared memory holding it is unmapped; keep the mapping while you use the lock");
    }
    return this.#word;
  }

  #ready(call: string): Int32Array {
    const word = this.#live(call);
    if (Atomics.load(word, 0) === this.#pid) {
      throw misuse(ERRNO.EDEADLK, call, this.#label, "this process holds it already; spinning for it would never end");
    }
    return word;
  }

  #busy(errnum: number, call: string) {
    const holder = Atomics.load(this.#word, 0);
    return errorFor(errnum, call, this.#label, {
      [errnum === ERRNO.EBUSY ? "EBUSY" : "ETIMEDOUT"]: holder === 0 ? "the lock was taken every time it was tried" : `process ${holder} holds it`,
    });
  }
}
