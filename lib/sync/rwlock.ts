/**
 * A process-shared read-write lock placed in shared memory: any number of
 * readers at once, or one writer alone.
 *
 *   const catalogue = RwLock.init(map, 0, { prefer: "writer-nonrecursive" });
 *   catalogue.readLock();  try { …read… }  finally { catalogue.unlock(); }
 *   catalogue.writeLock(); try { …write… } finally { catalogue.unlock(); }
 *
 * Whom it prefers when both wait (glibc's pthread_rwlockattr_setkind_np):
 * - "reader" (the default, PTHREAD_RWLOCK_PREFER_READER_NP): a new reader
 *   gets in while a writer waits, so a steady stream of readers can starve
 *   the writer forever;
 * - "writer" (PTHREAD_RWLOCK_PREFER_WRITER_NP): glibc treats this exactly
 *   like "reader". A documented glibc quirk, kept here so you can see it;
 * - "writer-nonrecursive" (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP):
 *   real writer preference: once a writer waits, new readers wait behind
 *   it. The price: a thread that already holds a read lock must not take
 *   another one, or it deadlocks behind the waiting writer.
 */
import { PTHREAD_PROCESS, PTHREAD_RWLOCK, layout } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import { sys } from "../ffi/libc.ts";
import { errorFor, type Hints } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import { addressAt, checkPlacement, deadlineOf, misuse, Placed, stateAt, timeoutSeconds, type BaseState, type FieldKind } from "./common.ts";
import { borrowHelper, returnHelper } from "./helper.ts";
import type { Holder } from "./mutex.ts";
import { OP, perform } from "./native.ts";

/** Whom a read-write lock lets in first when readers and a writer wait (glibc's pthread_rwlockattr_setkind_np). */
export type RwPreference = "reader" | "writer" | "writer-nonrecursive";

/** How to initialise a read-write lock. */
export interface RwLockOptions {
  /** Whom to let in first when readers and a writer wait; default "reader". */
  prefer?: RwPreference;
}

const KIND: Record<RwPreference, number> = {
  reader: PTHREAD_RWLOCK.PREFER_READER_NP,
  writer: PTHREAD_RWLOCK.PREFER_WRITER_NP,
  "writer-nonrecursive": PTHREAD_RWLOCK.PREFER_WRITER_NONRECURSIVE_NP,
};

type Mode = "read" | "write";

interface RwState extends BaseState {
  /** The locks this process holds, most recent last. */
  holds: { holder: Holder; mode: Mode }[];
}

const HINTS: Hints = {
  EDEADLK: "this thread holds it for writing already",
  ETIMEDOUT: "the lock stayed unavailable for the whole timeout",
  EBUSY: "the lock is held in a way that conflicts with this request",
  EAGAIN: "too many read locks are held",
  EINVAL: "this memory does not hold an initialised read-write lock",
};

const footprint = layout.pthread_rwlock_t;

/** A process-shared pthread read-write lock in shared memory: many readers or one writer. */
export class RwLock extends Placed<RwState> {
  /** sizeof(pthread_rwlock_t). */
  static readonly size = footprint.size;
  static readonly align = footprint.align;

  private constructor(mapping: Mapping, offset: number, fresh: boolean) {
    super(mapping, offset, stateAt(mapping, offset, () => ({ kind: "read-write lock", destroyed: false, pending: 0, holds: [] }), fresh));
  }

  /** Initialises a process-shared read-write lock at `offset` (pthread_rwlock_init). */
  static init(mapping: Mapping, offset = 0, options: RwLockOptions = {}): RwLock {
    checkPlacement("pthread_rwlock_init", mapping, offset, footprint);
    const prefer = options.prefer ?? "reader";
    const kind = KIND[prefer];
    if (kind === undefined) {
      throw new RangeError(`pthread_rwlock_init: prefer must be "reader", "writer" or "writer-nonrecursive", got ${JSON.stringify(prefer)}`);
    }
    const attr = new Uint8Array(layout.pthread_rwlockattr_t.size);
    let rc = sys.pthread_rwlockattr_init(attr);
    if (rc !== 0) throw errorFor(rc, "pthread_rwlockattr_init", undefined);
    try {
      rc = sys.pthread_rwlockattr_setpshared(attr, PTHREAD_PROCESS.SHARED);
      if (rc !== 0) throw errorFor(rc, "pthread_rwlockattr_setpshared", undefined);
      rc = sys.pthread_rwlockattr_setkind_np(attr, kind);
      if (rc !== 0) throw errorFor(rc, "pthread_rwlockattr_setkind_np", undefined);
      const lock = new RwLock(mapping, offset, true);
      rc = sys.pthread_rwlock_init(addressAt(mapping, offset), attr);
      if (rc !== 0) throw errorFor(rc, "pthread_rwlock_init", lock.label, HINTS);
      return lock;
    } finally {
      sys.pthread_rwlockattr_destroy(attr);
    }
  }

  /** A handle on a read-write lock another process initialised. */
  static attach(mapping: Mapping, offset = 0): RwLock {
    checkPlacement("RwLock.attach", mapping, offset, footprint);
    return new RwLock(mapping, offset, false);
  }

  /** A field for layout(): `RwLock.field({ prefer: "writer-nonrecursive" })`. */
  static field(options: RwLockOptions = {}): FieldKind<RwLock> {
    return { name: "RwLock", size: RwLock.size, align: RwLock.align, init: (m, o) => RwLock.init(m, o, options), attach: RwLock.attach };
  }

  /** What this process holds: "read" (maybe several times), "write", or null. */
  get held(): Mode | null {
    const holds = this.state.holds;
    if (holds.length === 0) return null;
    return holds.some((h) => h.mode === "write") ? "write" : "read";
  }

  /** Locks for reading, waiting up to `timeout` seconds (undefined: forever; 0: do not wait). */
  readLock(timeout?: number): void {
    this.#lock("read", timeout);
  }

  /** Locks for writing, waiting up to `timeout` seconds. */
  writeLock(timeout?: number): void {
    this.#lock("write", timeout);
  }

  /** Locks for reading if that is possible now; false if not. */
  tryReadLock(): boolean {
    return this.#try("read");
  }

  /** Locks for writing if nobody holds the lock now; false if someone does. */
  tryWriteLock(): boolean {
    return this.#try("write");
  }

  /** readLock() without blocking the event loop; a helper thread holds the lock until unlock(). */
  readLockAsync(timeout?: number): Promise<void> {
    return this.#lockAsync("read", timeout);
  }

  /** writeLock() without blocking the event loop. */
  writeLockAsync(timeout?: number): Promise<void> {
    return this.#lockAsync("write", timeout);
  }

  /** Releases the lock this process took last. EPERM if it holds none. */
  unlock(): void {
    const address = this.address("pthread_rwlock_unlock");
    const hold = this.state.holds.at(-1);
    if (hold === undefined) {
      // glibc does not check this: unlocking a lock you do not hold corrupts it.
      throw misuse(ERRNO.EPERM, "pthread_rwlock_unlock", this.label, "this process holds no lock on it; only a holder may unlock it");
    }
    const rc = hold.holder === "main" ? sys.pthread_rwlock_unlock(address) : hold.holder.runSync(OP.RW_UNLOCK, address, 0, 0).errno;
    if (rc !== 0) throw errorFor(rc, "pthread_rwlock_unlock", this.label, HINTS);
    this.state.holds.pop();
    if (hold.holder !== "main") returnHelper(hold.holder);
  }

  /** Destroys it for every process; only when nobody holds it. */
  destroy(): void {
    const address = this.address("pthread_rwlock_destroy");
    this.assertIdle("pthread_rwlock_destroy");
    if (this.state.holds.length > 0) {
      throw misuse(ERRNO.EBUSY, "pthread_rwlock_destroy", this.label, "this process still holds it; unlock it first");
    }
    const rc = sys.pthread_rwlock_destroy(address);
    if (rc !== 0) throw errorFor(rc, "pthread_rwlock_destroy", this.label, HINTS);
    this.markDestroyed();
  }

  #call(mode: Mode, seconds: number | undefined): string {
    const verb = mode === "read" ? "rdlock" : "wrlock";
    return seconds === 0 ? `pthread_rwlock_try${verb}` : seconds === undefined ? `pthread_rwlock_${verb}` : `pthread_rwlock_timed${verb}`;
  }

  /** A blocking lock that this process's own holds would make wait forever. */
  #refuseSelfWait(mode: Mode, call: string): void {
    const holds = this.state.holds;
    const conflict = mode === "write" ? holds.length > 0 : holds.some((h) => h.mode === "write");
    if (conflict) {
      throw misuse(
        ERRNO.EDEADLK,
        call,
        this.label,
        `this process holds it already (${this.held}); a ${mode} lock would wait for itself forever. unlock() first`,
      );
    }
  }

  #lock(mode: Mode, timeout: number | undefined): void {
    const seconds = timeoutSeconds(timeout, this.#call(mode, undefined));
    if (seconds === 0) {
      if (!this.#try(mode)) throw errorFor(ERRNO.EBUSY, this.#call(mode, 0), this.label, HINTS);
      return;
    }
    const call = this.#call(mode, seconds);
    const address = this.address(call);
    this.#refuseSelfWait(mode, call);
    const rc = perform(mode === "read" ? OP.RW_READ : OP.RW_WRITE, address, 0, deadlineOf(seconds)).errno;
    if (rc !== 0) throw errorFor(rc, call, this.label, HINTS);
    this.state.holds.push({ holder: "main", mode });
  }

  #try(mode: Mode): boolean {
    const call = this.#call(mode, 0);
    const address = this.address(call);
    if (this.state.holds.some((h) => h.mode === "write")) return false;
    const rc = mode === "read" ? sys.pthread_rwlock_tryrdlock(address) : sys.pthread_rwlock_trywrlock(address);
    if (rc === ERRNO.EBUSY) return false;
    if (rc !== 0) throw errorFor(rc, call, this.label, HINTS);
    this.state.holds.push({ holder: "main", mode });
    return true;
  }

  async #lockAsync(mode: Mode, timeout: number | undefined): Promise<void> {
    const seconds = timeoutSeconds(timeout, this.#call(mode, undefined));
    if (seconds === 0) return this.#lock(mode, 0);
    const call = this.#call(mode, seconds);
    const address = this.address(call);
    const helper = borrowHelper();
    const outcome = await this.pendingWhile(helper.run(mode === "read" ? OP.RW_READ : OP.RW_WRITE, address, 0, deadlineOf(seconds)));
    if (outcome.errno !== 0) {
      returnHelper(helper);
      throw errorFor(outcome.errno, call, this.label, HINTS);
    }
    this.state.holds.push({ holder: helper, mode });
  }
}
