/**
 * A process-shared, robust, error-checking pthread mutex placed in shared
 * memory.
 *
 *   const lock = Mutex.init(map, 0);   // once, by the process that sets up the memory
 *   const lock = Mutex.attach(map, 0); // in every other process
 *   lock.lock();
 *   try { … } finally { lock.unlock(); }
 *
 * - Process-shared (PTHREAD_PROCESS_SHARED): it works across processes,
 *   because it lives in memory they all map.
 * - Robust (PTHREAD_MUTEX_ROBUST): if its owner dies holding it, the next
 *   lock() does not hang forever: it throws an OwnerDeadError, and you
 *   hold the lock. Repair the data, then `consistent()` and `unlock()`;
 *   or `markUnrecoverable()`.
 * - Error-checking (PTHREAD_MUTEX_ERRORCHECK): locking it twice, or
 *   unlocking a mutex you do not hold, is an error instead of a hang or
 *   silent corruption.
 */
import type { Pointer } from "bun:ffi";
import { PTHREAD_MUTEX, PTHREAD_PROCESS, layout } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import { sys } from "../ffi/libc.ts";
import { errorFor, type Hints } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import {
  addressAt,
  checkPlacement,
  deadlineOf,
  misuse,
  ownerDead,
  Placed,
  stateAt,
  timeoutSeconds,
  unrecoverable,
  type BaseState,
  type FieldKind,
} from "./common.ts";
import { borrowHelper, returnHelper, type Helper } from "./helper.ts";
import { OP, perform } from "./native.ts";

/** How to initialise a mutex. */
export interface MutexOptions {
  /**
   * Robust (the default): a lock whose owner died is reported with
   * OwnerDeadError instead of staying locked forever.
   */
  robust?: boolean;
}

/** Which thread of this process holds a lock: the main thread or a helper (async forms). */
export type Holder = "main" | Helper;

interface MutexState extends BaseState {
  holder: Holder | null;
  /** The lock was taken over from a dead owner and is not consistent yet. */
  ownerDead: boolean;
}

const HINTS: Hints = {
  EDEADLK: "this thread holds the mutex already; unlock it before locking it again",
  EPERM: "this process does not hold the mutex; only the thread that locked it may unlock it",
  ETIMEDOUT: "the mutex stayed locked for the whole timeout; its holder may be stuck",
  EBUSY: "the mutex is locked by someone else",
  EINVAL: "this memory does not hold an initialised mutex (was it destroyed, or never initialised with Mutex.init?)",
  EAGAIN: "too many recursive locks",
};

const footprint = layout.pthread_mutex_t;

/**
 * A process-shared, robust, error-checking pthread mutex in shared memory.
 * lock() throws OwnerDeadError when the previous owner died holding it.
 */
export class Mutex extends Placed<MutexState> {
  /** Bytes a mutex takes in shared memory (sizeof(pthread_mutex_t)). */
  static readonly size = footprint.size;
  /** Its alignment: place it at an offset that is a multiple of this. */
  static readonly align = footprint.align;

  private constructor(mapping: Mapping, offset: number, fresh: boolean) {
    super(mapping, offset, stateAt(mapping, offset, () => ({ kind: "mutex", destroyed: false, pending: 0, holder: null, ownerDead: false }), fresh));
  }

  /**
   * Initialises a mutex at `offset` of the mapping (pthread_mutex_init),
   * process-shared, error-checking and (unless `robust: false`) robust.
   * Do this once, in one process, before anyone uses it.
   */
  static init(mapping: Mapping, offset = 0, options: MutexOptions = {}): Mutex {
    checkPlacement("pthread_mutex_init", mapping, offset, footprint);
    const attr = new Uint8Array(layout.pthread_mutexattr_t.size);
    let rc = sys.pthread_mutexattr_init(attr);
    if (rc !== 0) throw errorFor(rc, "pthread_mutexattr_init", undefined);
    try {
      rc = sys.pthread_mutexattr_setpshared(attr, PTHREAD_PROCESS.SHARED);
      if (rc !== 0) throw errorFor(rc, "pthread_mutexattr_setpshared", undefined);
      rc = sys.pthread_mutexattr_settype(attr, PTHREAD_MUTEX.ERRORCHECK);
      if (rc !== 0) throw errorFor(rc, "pthread_mutexattr_settype", undefined);
      const robust = options.robust ?? true;
      rc = sys.pthread_mutexattr_setrobust(attr, robust ? PTHREAD_MUTEX.ROBUST : PTHREAD_MUTEX.STALLED);
      if (rc !== 0) throw errorFor(rc, "pthread_mutexattr_setrobust", undefined);
      const mutex = new Mutex(mapping, offset, true);
      rc = sys.pthread_mutex_init(addressAt(mapping, offset), attr);
      if (rc !== 0) throw errorFor(rc, "pthread_mutex_init", mutex.label, HINTS);
      return mutex;
    } finally {
      sys.pthread_mutexattr_destroy(attr);
    }
  }

  /** A handle on the mutex another process initialised at `offset`. */
  static attach(mapping: Mapping, offset = 0): Mutex {
    checkPlacement("Mutex.attach", mapping, offset, footprint);
    return new Mutex(mapping, offset, false);
  }

  /** A field for layout(): `layout({ lock: Mutex.field({ robust: false }), … })`. */
  static field(options: MutexOptions = {}): FieldKind<Mutex> {
    return { name: "Mutex", size: Mutex.size, align: Mutex.align, init: (m, o) => Mutex.init(m, o, options), attach: Mutex.attach };
  }

  /** Whether this process holds the lock (on its main thread or through an async lock). */
  get held(): boolean {
    return this.state.holder !== null;
  }

  /**
   * Locks, waiting up to `timeout` seconds (undefined: forever; 0: do not
   * wait). Throws TimeoutError (BusyError for 0) if it stays locked,
   * OwnerDeadError if its previous owner died (you hold it then), and
   * UnrecoverableError if nobody repaired it after such a death.
   */
  lock(timeout?: number): void {
    const seconds = timeoutSeconds(timeout, "pthread_mutex_lock");
    const call = seconds === 0 ? "pthread_mutex_trylock" : seconds === undefined ? "pthread_mutex_lock" : "pthread_mutex_timedlock";
    const address = this.address(call);
    this.#refuseRelock(call);
    const rc = seconds === 0 ? sys.pthread_mutex_trylock(address) : perform(OP.MUTEX_LOCK, address, 0, deadlineOf(seconds)).errno;
    this.#acquired(rc, "main", call);
  }

  /** Locks if it is free; false if someone holds it. Throws OwnerDeadError like lock(). */
  tryLock(): boolean {
    const address = this.address("pthread_mutex_trylock");
    this.#refuseRelock("pthread_mutex_trylock");
    const rc = sys.pthread_mutex_trylock(address);
    if (rc === ERRNO.EBUSY) return false;
    this.#acquired(rc, "main", "pthread_mutex_trylock");
    return true;
  }

  /**
   * lock() without blocking the event loop: a helper thread waits for the
   * mutex and holds it for you until you call unlock().
   */
  async lockAsync(timeout?: number): Promise<void> {
    const seconds = timeoutSeconds(timeout, "pthread_mutex_lock");
    if (seconds === 0) return this.lock(0);
    const call = seconds === undefined ? "pthread_mutex_lock" : "pthread_mutex_timedlock";
    const address = this.address(call);
    const helper = borrowHelper();
    const outcome = await this.pendingWhile(helper.run(OP.MUTEX_LOCK, address, 0, deadlineOf(seconds)));
    if (outcome.errno !== 0 && outcome.errno !== ERRNO.EOWNERDEAD) returnHelper(helper);
    this.#acquired(outcome.errno, helper, call);
  }

  /**
   * Unlocks. Only the holder may: anyone else gets an EPERM error. After
   * an OwnerDeadError call consistent() (or markUnrecoverable()) first.
   */
  unlock(): void {
    const address = this.address("pthread_mutex_unlock");
    if (this.state.ownerDead) {
      throw misuse(
        ERRNO.EINVAL,
        "pthread_mutex_unlock",
        this.label,
        "its previous owner died and it is not consistent yet: repair the data and call consistent() first, " +
          "or markUnrecoverable() to give up (unlocking now would make it unusable for everyone)",
      );
    }
    this.#release(address, "pthread_mutex_unlock");
  }

  /** After an OwnerDeadError: the data is repaired, the mutex is usable again. You still hold it. */
  consistent(): void {
    const address = this.address("pthread_mutex_consistent");
    if (!this.state.ownerDead) {
      throw misuse(ERRNO.EINVAL, "pthread_mutex_consistent", this.label, "consistent() is only for a mutex you took over from a dead owner (after an OwnerDeadError)");
    }
    const holder = this.state.holder!;
    const rc = holder === "main" ? sys.pthread_mutex_consistent(address) : holder.runSync(OP.MUTEX_CONSISTENT, address, 0, 0).errno;
    if (rc !== 0) throw errorFor(rc, "pthread_mutex_consistent", this.label, HINTS);
    this.state.ownerDead = false;
  }

  /**
   * After an OwnerDeadError: give up. Unlocks without making it consistent,
   * so every later lock() anywhere fails with UnrecoverableError.
   */
  markUnrecoverable(): void {
    const address = this.address("pthread_mutex_unlock");
    if (!this.state.ownerDead) {
      throw misuse(ERRNO.EINVAL, "pthread_mutex_unlock", this.label, "markUnrecoverable() is only for a mutex you took over from a dead owner (after an OwnerDeadError)");
    }
    this.state.ownerDead = false;
    this.#release(address, "pthread_mutex_unlock");
  }

  /**
   * Destroys the mutex (pthread_mutex_destroy) for every process. Only when
   * nobody holds it or waits for it, and nobody will use it again.
   */
  destroy(): void {
    const address = this.address("pthread_mutex_destroy");
    this.assertIdle("pthread_mutex_destroy");
    if (this.state.holder !== null) {
      throw misuse(ERRNO.EBUSY, "pthread_mutex_destroy", this.label, "this process still holds it; unlock it first");
    }
    const rc = sys.pthread_mutex_destroy(address);
    if (rc !== 0) throw errorFor(rc, "pthread_mutex_destroy", this.label, { EBUSY: "someone holds it or waits for it" });
    this.markDestroyed();
  }

  /** @internal The holder, for Condition. */
  get holderForCondition(): Holder | null {
    return this.state.holder;
  }

  /** @internal The mutex's address, for Condition. */
  addressForCondition(call: string): Pointer {
    return this.address(call);
  }

  /** @internal A condition wait came back: records what it says about the mutex. */
  conditionReturned(rc: number, call: string): void {
    if (rc === ERRNO.EOWNERDEAD) {
      this.state.ownerDead = true;
      throw ownerDead(call, this.label, this);
    }
  }

  /** @internal Whether it awaits consistent(). */
  get ownerDied(): boolean {
    return this.state.ownerDead;
  }

  #refuseRelock(call: string): void {
    const holder = this.state.holder;
    if (holder === "main") throw misuse(ERRNO.EDEADLK, call, this.label, "this process holds it already; unlock it before locking it again");
    if (holder !== null) {
      throw misuse(
        ERRNO.EDEADLK,
        call,
        this.label,
        "this process holds it already through lockAsync(); waiting for it here would block the thread that must unlock it. " +
          "unlock() it first, or use lockAsync() here too",
      );
    }
  }

  #acquired(rc: number, holder: Holder, call: string): void {
    if (rc === 0) {
      this.state.holder = holder;
      return;
    }
    if (rc === ERRNO.EOWNERDEAD) {
      this.state.holder = holder;
      this.state.ownerDead = true;
      throw ownerDead(call, this.label, this);
    }
    if (rc === ERRNO.ENOTRECOVERABLE) throw unrecoverable(call, this.label);
    throw errorFor(rc, call, this.label, HINTS);
  }

  #release(address: Pointer, call: string): void {
    const holder = this.state.holder;
    // Not held here: let glibc say so (EPERM), as for a mutex of another process.
    const rc = holder === null || holder === "main" ? sys.pthread_mutex_unlock(address) : holder.runSync(OP.MUTEX_UNLOCK, address, 0, 0).errno;
    if (rc !== 0) throw errorFor(rc, call, this.label, HINTS);
    this.state.holder = null;
    if (holder !== null && holder !== "main") returnHelper(holder);
  }
}
