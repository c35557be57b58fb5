/**
 * futex(2): sleeping on a word of shared memory.
 *
 * `Atomics.wait` and `Atomics.notify` do exactly this, but only on a
 * SharedArrayBuffer, and a mapping of shared memory is a plain
 * ArrayBuffer. These functions make the system call directly, with the
 * same arguments and results:
 *
 *   futexWait(words, 0, 0)      // sleep while words[0] is 0 ("not-equal" if it is not)
 *   futexWake(words, 0)         // wake every process sleeping on words[0]
 *
 * The kernel checks the value and puts the caller to sleep as one atomic
 * step, so a wake between "I saw 0" and "I sleep" cannot be lost: the wait
 * returns "not-equal" at once instead. The futex is not private
 * (no FUTEX_PRIVATE_FLAG), so it works across processes that map the same
 * memory: the kernel finds the sleepers by the page, not by the address.
 */
import { ptr, type Pointer } from "bun:ffi";
import { FUTEX, SYS } from "../ffi/constants.ts";
import { ERRNO } from "../ffi/errno.ts";
import { sys } from "../ffi/libc.ts";
import { lastError } from "../errors.ts";
import { count } from "../validate.ts";
import { deadlineOf, misuse, timeoutSeconds } from "./common.ts";
import { borrowHelper, returnHelper } from "./helper.ts";
import { FUTEX_RESULT, OP, perform } from "./native.ts";

/** How a futex wait ended: woken, the word did not hold the expected value, or the time ran out. */
export type FutexResult = (typeof FUTEX_RESULT)[number];

function wordAddress(view: Int32Array, index: number, call: string): Pointer {
  if (!(view instanceof Int32Array)) throw new TypeError(`${call}: the view must be an Int32Array over shared memory`);
  if (view.length === 0) {
    throw misuse(ERRNO.EBADF, call, "Int32Array", "the view is empty: its mapping was unmapped (or it never had elements)");
  }
  count(index, `${call}: index`, view.length - 1);
  return (ptr(view) + index * 4) as Pointer;
}

function checkExpected(expected: unknown, call: string): number {
  if (typeof expected !== "number" || !Number.isInteger(expected) || expected < -(2 ** 31) || expected >= 2 ** 31) {
    throw new RangeError(`${call}: the expected value must be a 32-bit integer, got ${String(expected)}`);
  }
  return expected;
}

/**
 * Sleeps while `view[index]` holds `expected`, until futexWake() or
 * `timeout` seconds (undefined: forever). Returns "ok" when woken,
 * "not-equal" if the word held another value already, "timed-out".
 * It may also return "ok" spuriously: check the word again, in a loop.
 */
export function futexWait(view: Int32Array, index: number, expected: number, timeout?: number): FutexResult {
  const seconds = timeoutSeconds(timeout, "futex(FUTEX_WAIT)");
  const address = wordAddress(view, index, "futex(FUTEX_WAIT)");
  const outcome = perform(OP.FUTEX_WAIT, address, 0, deadlineOf(seconds), checkExpected(expected, "futex(FUTEX_WAIT)"));
  if (outcome.errno !== 0) throw misuse(outcome.errno, "futex(FUTEX_WAIT)", "Int32Array", "the word is not in valid memory");
  return FUTEX_RESULT[outcome.value]!;
}

/** futexWait() on a helper thread, so the event loop keeps running. */
export async function futexWaitAsync(view: Int32Array, index: number, expected: number, timeout?: number): Promise<FutexResult> {
  const seconds = timeoutSeconds(timeout, "futex(FUTEX_WAIT)");
  const address = wordAddress(view, index, "futex(FUTEX_WAIT)");
  const value = checkExpected(expected, "futex(FUTEX_WAIT)");
  const helper = borrowHelper();
  try {
    const outcome = await helper.run(OP.FUTEX_WAIT, address, 0, deadlineOf(seconds), value);
    if (outcome.errno !== 0) throw misuse(outcome.errno, "futex(FUTEX_WAIT)", "Int32Array", "the word is not in valid memory");
    return FUTEX_RESULT[outcome.value]!;
  } finally {
    returnHelper(helper);
  }
}

/** Wakes up to `waiters` processes sleeping on `view[index]` (default: all). Returns how many woke. */
export function futexWake(view: Int32Array, index: number, waiters = Infinity): number {
  const address = wordAddress(view, index, "futex(FUTEX_WAKE)");
  const n = waiters === Infinity ? 2 ** 31 - 1 : count(waiters, "futex(FUTEX_WAKE): waiters", 2 ** 31 - 1);
  const woken = Number(sys.syscall(SYS.futex, address, FUTEX.WAKE, n, null, null, 0));
  if (woken === -1) throw lastError("futex(FUTEX_WAKE)", "Int32Array");
  return woken;
}
