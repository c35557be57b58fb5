/**
 * A process-shared barrier placed in shared memory: `count` processes call
 * wait(), and none of them returns until the last one has arrived.
 *
 *   const phase = Barrier.init(map, 0, { count: 4 });
 *   …phase 1…
 *   if (phase.wait()) console.log("everyone finished phase 1");
 *   …phase 2…
 *
 * wait() returns true in exactly one of the processes, so that one of them
 * can do the work that belongs between the phases.
 *
 * POSIX gives pthread_barrier_wait no timeout, so neither has wait(): if
 * one of the parties dies or never comes, the others wait forever. Use it
 * where that cannot happen, or build a barrier from a Mutex and a
 * Condition, whose waits can time out (examples/04-sync/timed-barrier.ts).
 */
import { PTHREAD_PROCESS, layout } from "../ffi/constants.ts";
import { sys } from "../ffi/libc.ts";
import { errorFor, type Hints } from "../errors.ts";
import type { Mapping } from "../mapping.ts";
import { count } from "../validate.ts";
import { addressAt, checkPlacement, Placed, stateAt, type BaseState, type FieldKind } from "./common.ts";
import { borrowHelper, returnHelper } from "./helper.ts";
import { FOREVER, OP, perform } from "./native.ts";

/** How to initialise a barrier. */
export interface BarrierOptions {
  /** How many processes (or threads) must call wait() before all go on. */
  count: number;
}

const HINTS: Hints = {
  EINVAL: "this memory does not hold an initialised barrier, or the count is 0",
  EBUSY: "processes are waiting at the barrier",
};

const footprint = layout.pthread_barrier_t;

/** A process-shared pthread barrier in shared memory: `count` parties wait for each other. */
export class Barrier extends Placed<BaseState> {
  /** sizeof(pthread_barrier_t). */
  static readonly size = footprint.size;
  static readonly align = footprint.align;

  private constructor(mapping: Mapping, offset: number, fresh: boolean) {
    super(mapping, offset, stateAt(mapping, offset, () => ({ kind: "barrier", destroyed: false, pending: 0 }), fresh));
  }

  /** Initialises a process-shared barrier for `count` parties at `offset` (pthread_barrier_init). */
  static init(mapping: Mapping, offset = 0, options?: BarrierOptions): Barrier {
    if (options === undefined || typeof options !== "object") {
      throw new TypeError("pthread_barrier_init: say how many processes it waits for: Barrier.init(map, offset, { count: 3 }), or Barrier.field({ count: 3 }) in a layout");
    }
    const parties = count(options.count, "pthread_barrier_init: count", 2 ** 32 - 1, 1);
    checkPlacement("pthread_barrier_init", mapping, offset, footprint);
    const attr = new Uint8Array(layout.pthread_barrierattr_t.size);
    let rc = sys.pthread_barrierattr_init(attr);
    if (rc !== 0) throw errorFor(rc, "pthread_barrierattr_init", undefined);
    try {
      rc = sys.pthread_barrierattr_setpshared(attr, PTHREAD_PROCESS.SHARED);
      if (rc !== 0) throw errorFor(rc, "pthread_barrierattr_setpshared", undefined);
      const barrier = new Barrier(mapping, offset, true);
      rc = sys.pthread_barrier_init(addressAt(mapping, offset), attr, parties);
      if (rc !== 0) throw errorFor(rc, "pthread_barrier_init", barrier.label, HINTS);
      return barrier;
    } finally {
      sys.pthread_barrierattr_destroy(attr);
    }
  }

  /** A handle on a barrier another process initialised. */
  static attach(mapping: Mapping, offset = 0): Barrier {
    checkPlacement("Barrier.attach", mapping, offset, footprint);
    return new Barrier(mapping, offset, false);
  }

  /** A field for layout(): `Barrier.field({ count: 3 })`. */
  static field(options: BarrierOptions): FieldKind<Barrier> {
    count(options?.count, "Barrier.field: count", 2 ** 32 - 1, 1);
    return { name: "Barrier", size: Barrier.size, align: Barrier.align, init: (m, o) => Barrier.init(m, o, options), attach: Barrier.attach };
  }

  /**
   * Waits until `count` parties have called wait(). Returns true in exactly
   * one of them (PTHREAD_BARRIER_SERIAL_THREAD), false in the others.
   */
  wait(): boolean {
    const outcome = perform(OP.BARRIER_WAIT, this.address("pthread_barrier_wait"), 0, FOREVER);
    if (outcome.errno !== 0) throw errorFor(outcome.errno, "pthread_barrier_wait", this.label, HINTS);
    return outcome.value === 1;
  }

  /** wait() without blocking the event loop. */
  async waitAsync(): Promise<boolean> {
    const address = this.address("pthread_barrier_wait");
    const helper = borrowHelper();
    try {
      const outcome = await this.pendingWhile(helper.run(OP.BARRIER_WAIT, address, 0, FOREVER));
      if (outcome.errno !== 0) throw errorFor(outcome.errno, "pthread_barrier_wait", this.label, HINTS);
      return outcome.value === 1;
    } finally {
      returnHelper(helper);
    }
  }

  /** Destroys it for every process; only when nobody waits at it. */
  destroy(): void {
    const address = this.address("pthread_barrier_destroy");
    this.assertIdle("pthread_barrier_destroy");
    const rc = sys.pthread_barrier_destroy(address);
    if (rc !== 0) throw errorFor(rc, "pthread_barrier_destroy", this.label, HINTS);
    this.markDestroyed();
  }
}
