/**
 * The blocking calls of the synchronisation objects, in one place, so that
 * the same code runs on the main thread (the blocking and timed forms) and
 * in a helper thread (the async forms, see helper.ts).
 *
 * Each takes raw addresses and an absolute deadline in milliseconds since
 * the epoch (or FOREVER), and returns the error number instead of throwing:
 * the caller turns it into an IpcError with its own hints. Nothing here
 * validates input; the classes do that before they get here.
 */
import { FUTEX, SYS } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import type { Pointer } from "bun:ffi";
import { errno, sys } from "../ffi/libc.ts";

/** The operations a helper thread can be asked to perform. */
export const OP = {
  SEM_WAIT: 1,
  MUTEX_LOCK: 2,
  MUTEX_UNLOCK: 3,
  MUTEX_CONSISTENT: 4,
  COND_WAIT: 5,
  RW_READ: 6,
  RW_WRITE: 7,
  RW_UNLOCK: 8,
  BARRIER_WAIT: 9,
  FUTEX_WAIT: 10,
} as const;

/** A deadline that never comes. */
export const FOREVER = -1;

/** What a call did: 0 or an error number, and a value for the calls that return one. */
export interface Outcome {
  errno: number;
  value: number;
}

/** futexWait's outcomes, as `value`; the same words Atomics.wait uses. */
export const FUTEX_RESULT = ["ok", "not-equal", "timed-out"] as const;

/** An absolute CLOCK_REALTIME timespec for a deadline in epoch milliseconds. */
export function absoluteTimespec(deadline: number): BigInt64Array {
  const ms = Math.max(0, deadline);
  const seconds = Math.floor(ms / 1000);
  return new BigInt64Array([BigInt(seconds), BigInt(Math.round((ms - seconds * 1000) * 1e6))]);
}

/** A relative timespec for the time left until `deadline`, never negative. */
function relativeTimespec(deadline: number): BigInt64Array {
  return absoluteTimespec(Math.max(0, deadline - Date.now()));
}

/** Calls a sem_* function that sets errno, retrying on EINTR (a signal arrived). */
function semCall(call: () => number): number {
  for (;;) {
    if (call() === 0) return 0;
    const e = errno();
    if (e !== ERRNO.EINTR) return e;
  }
}

function timed(deadline: number, untimed: () => number, withTimeout: (ts: BigInt64Array) => number): number {
  return deadline === FOREVER ? untimed() : withTimeout(absoluteTimespec(deadline));
}

function futexWait(address: Pointer, expected: number, deadline: number): Outcome {
  for (;;) {
    const timeout = deadline === FOREVER ? null : relativeTimespec(deadline);
    const rc = Number(sys.syscall(SYS.futex, address, FUTEX.WAIT, expected, timeout, null, 0));
    if (rc === 0) return { errno: 0, value: 0 };
    const e = errno();
    if (e === ERRNO.EAGAIN) return { errno: 0, value: 1 };
    if (e === ERRNO.ETIMEDOUT) return { errno: 0, value: 2 };
    if (e !== ERRNO.EINTR) return { errno: e, value: 0 };
  }
}

/**
 * Performs one blocking operation. `a` and `b` are addresses (b: the
 * mutex of a condition wait), `extra` the expected value of a futex wait.
 */
export function perform(op: number, first: number, second: number, deadline: number, extra = 0): Outcome {
  const a = first as Pointer;
  const b = second as Pointer;
  const done = (e: number): Outcome => ({ errno: e, value: 0 });
  switch (op) {
    case OP.SEM_WAIT:
      return done(
        semCall(() => (deadline === FOREVER ? sys.sem_wait(a) : sys.sem_timedwait(a, absoluteTimespec(deadline)))),
      );
    case OP.MUTEX_LOCK:
      return done(timed(deadline, () => sys.pthread_mutex_lock(a), (ts) => sys.pthread_mutex_timedlock(a, ts)));
    case OP.MUTEX_UNLOCK:
      return done(sys.pthread_mutex_unlock(a));
    case OP.MUTEX_CONSISTENT:
      return done(sys.pthread_mutex_consistent(a));
    case OP.COND_WAIT:
      return done(timed(deadline, () => sys.pthread_cond_wait(a, b), (ts) => sys.pthread_cond_timedwait(a, b, ts)));
    case OP.RW_READ:
      return done(timed(deadline, () => sys.pthread_rwlock_rdlock(a), (ts) => sys.pthread_rwlock_timedrdlock(a, ts)));
    case OP.RW_WRITE:
      return done(timed(deadline, () => sys.pthread_rwlock_wrlock(a), (ts) => sys.pthread_rwlock_timedwrlock(a, ts)));
    case OP.RW_UNLOCK:
      return done(sys.pthread_rwlock_unlock(a));
    case OP.BARRIER_WAIT: {
      const rc = sys.pthread_barrier_wait(a);
      // PTHREAD_BARRIER_SERIAL_THREAD (-1) for exactly one waiter, 0 for the others.
      return rc === -1 ? { errno: 0, value: 1 } : done(rc);
    }
    case OP.FUTEX_WAIT:
      return futexWait(a, extra, deadline);
    default:
      return done(ERRNO.ENOSYS);
  }
}
