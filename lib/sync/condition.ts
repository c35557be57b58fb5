/**
 * A process-shared condition variable placed in shared memory: a place to
 * sleep until another process says that something changed.
 *
 *   lock.lock();
 *   try {
 *     while (!ready()) changed.wait(lock);   // releases lock while asleep
 *     …                                       // the predicate holds, lock held
 *   } finally { lock.unlock(); }
 *
 *   // the other side: change the data with the lock held, then
 *   changed.signal();                          // or broadcast()
 *
 * Always wait in a loop on a predicate about the shared data: a wait may
 * return without a signal (a spurious wake-up), and another process may
 * have got there first and changed the data back.
 */
import { PTHREAD_PROCESS, layout } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import { sys } from "../ffi/libc.ts";
import { errorFor, type Hints } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import { addressAt, checkPlacement, deadlineOf, misuse, Placed, stateAt, timeoutSeconds, type BaseState, type FieldKind } from "./common.ts";
import type { Mutex } from "./mutex.ts";
import { OP, perform } from "./native.ts";

const HINTS: Hints = {
  EPERM: "the mutex passed to wait() is not held by this thread; lock it first",
  EINVAL: "this memory does not hold an initialised condition variable, or it was used with two different mutexes",
};

const footprint = layout.pthread_cond_t;

/** A process-shared pthread condition variable in shared memory; wait on it with a Mutex held. */
export class Condition extends Placed<BaseState> {
  /** sizeof(pthread_cond_t). */
  static readonly size = footprint.size;
  static readonly align = footprint.align;

  private constructor(mapping: Mapping, offset: number, fresh: boolean) {
    super(mapping, offset, stateAt(mapping, offset, () => ({ kind: "condition variable", destroyed: false, pending: 0 }), fresh));
  }

  /** Initialises a process-shared condition variable at `offset` (pthread_cond_init). Once, in one process. */
  static init(mapping: Mapping, offset = 0): Condition {
    checkPlacement("pthread_cond_init", mapping, offset, footprint);
    const attr = new Uint8Array(layout.pthread_condattr_t.size);
    let rc = sys.pthread_condattr_init(attr);
    if (rc !== 0) throw errorFor(rc, "pthread_condattr_init", undefined);
    try {
      rc = sys.pthread_condattr_setpshared(attr, PTHREAD_PROCESS.SHARED);
      if (rc !== 0) throw errorFor(rc, "pthread_condattr_setpshared", undefined);
      const condition = new Condition(mapping, offset, true);
      rc = sys.pthread_cond_init(addressAt(mapping, offset), attr);
      if (rc !== 0) throw errorFor(rc, "pthread_cond_init", condition.label, HINTS);
      return condition;
    } finally {
      sys.pthread_condattr_destroy(attr);
    }
  }

  /** A handle on a condition variable another process initialised. */
  static attach(mapping: Mapping, offset = 0): Condition {
    checkPlacement("Condition.attach", mapping, offset, footprint);
    return new Condition(mapping, offset, false);
  }

  /** A field for layout(). */
  static field(): FieldKind<Condition> {
    return { name: "Condition", size: Condition.size, align: Condition.align, init: Condition.init, attach: Condition.attach };
  }

  /**
   * Releases `mutex` (which you must hold), sleeps until signalled or until
   * `timeout` seconds pass, and locks `mutex` again before returning.
   * Returns false if the time ran out. Either way you hold the mutex, and
   * must check your predicate again. Throws OwnerDeadError if, while you
   * slept, a holder of the mutex died.
   */
  wait(mutex: Mutex, timeout?: number): boolean {
    const seconds = timeoutSeconds(timeout, "pthread_cond_wait");
    const call = seconds === undefined ? "pthread_cond_wait" : "pthread_cond_timedwait";
    const [address, mutexAddress, holder] = this.#prepare(mutex, call);
    const deadline = deadlineOf(seconds);
    const rc =
      holder === "main"
        ? perform(OP.COND_WAIT, address, mutexAddress, deadline).errno
        : holder.runSync(OP.COND_WAIT, address, mutexAddress, deadline).errno;
    return this.#returned(rc, mutex, call);
  }

  /**
   * wait() without blocking the event loop. The mutex must be held through
   * `lockAsync()`, so that the helper thread holding it can wait here.
   */
  async waitAsync(mutex: Mutex, timeout?: number): Promise<boolean> {
    const seconds = timeoutSeconds(timeout, "pthread_cond_wait");
    const call = seconds === undefined ? "pthread_cond_wait" : "pthread_cond_timedwait";
    const [address, mutexAddress, holder] = this.#prepare(mutex, call);
    if (holder === "main") {
      throw misuse(
        ERRNO.EINVAL,
        call,
        this.label,
        "waitAsync() needs the mutex locked with lockAsync(): the main thread holds it now, and a wait there would block the event loop. " +
          "Use lockAsync() and waitAsync() together, or lock() and wait()",
      );
    }
    const rc = (await this.pendingWhile(holder.run(OP.COND_WAIT, address, mutexAddress, deadlineOf(seconds)), mutex.mapping)).errno;
    return this.#returned(rc, mutex, call);
  }

  /** Wakes one waiting process (if any). Call it after changing the data, best with the mutex held. */
  signal(): void {
    const rc = sys.pthread_cond_signal(this.address("pthread_cond_signal"));
    if (rc !== 0) throw errorFor(rc, "pthread_cond_signal", this.label, HINTS);
  }

  /** Wakes every waiting process; each re-checks its predicate in turn. */
  broadcast(): void {
    const rc = sys.pthread_cond_broadcast(this.address("pthread_cond_broadcast"));
    if (rc !== 0) throw errorFor(rc, "pthread_cond_broadcast", this.label, HINTS);
  }

  /** Destroys it for every process; only when nobody waits on it. */
  destroy(): void {
    const address = this.address("pthread_cond_destroy");
    this.assertIdle("pthread_cond_destroy");
    const rc = sys.pthread_cond_destroy(address);
    if (rc !== 0) throw errorFor(rc, "pthread_cond_destroy", this.label, HINTS);
    this.markDestroyed();
  }

  #prepare(mutex: Mutex, call: string) {
    if (mutex === null || typeof mutex !== "object" || typeof mutex.addressForCondition !== "function") {
      throw new TypeError(`${call}: the first argument must be the Mutex that protects the data`);
    }
    const address = this.address(call);
    const mutexAddress = mutex.addressForCondition(call);
    const holder = mutex.holderForCondition;
    if (holder === null) {
      throw misuse(ERRNO.EPERM, call, this.label, "lock the mutex before waiting: wait() releases it while asleep and takes it back afterwards");
    }
    if (mutex.ownerDied) {
      throw misuse(ERRNO.EINVAL, call, this.label, "the mutex was taken over from a dead owner; repair the data and call consistent() first");
    }
    return [address, mutexAddress, holder] as const;
  }

  #returned(rc: number, mutex: Mutex, call: string): boolean {
    if (rc === 0) return true;
    if (rc === ERRNO.ETIMEDOUT) return false;
    mutex.conditionReturned(rc, call);
    throw errorFor(rc, call, this.label, HINTS);
  }
}
