/**
 * Helper threads for the async forms of the blocking waits.
 *
 * A blocking C call made from JavaScript blocks Bun's whole event loop:
 * no timer fires, no socket is read, until it returns. So `waitAsync()`
 * and its kin hand the call to a helper: a Bun Worker that makes the call
 * on its own thread and reports back, while the event loop keeps running.
 *
 * A helper that acquired a lock for you keeps it, "parked", until you
 * release it: a pthread mutex belongs to the thread that locked it, and
 * only that thread may unlock it, wait on a condition with it, or make it
 * consistent. The objects route those calls to the helper that holds the
 * lock, synchronously (`runSync`): a parked helper answers at once.
 *
 * Idle and parked helpers do not keep the process alive (they are
 * unref'd); a helper busy with a wait does, like any pending I/O.
 */
import { ERRNO } from "../ffi/errno.ts";
import type { Outcome } from "./native.ts";

/** Int32 slots of the control block. */
export const CONTROL = { SEQ: 0, DONE: 1, ERRNO: 2, VALUE: 3, length: 4 } as const;
/** Byte size of the Int32 part; the Float64 arguments follow it. */
export const CONTROL_BYTES = 16;
/** Float64 slots of the arguments. */
export const ARGS = { OP: 0, A: 1, B: 2, DEADLINE: 3, EXTRA: 4, length: 5 } as const;

export class Helper {
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #args: Float64Array;
  #seq = 0;
  #broken: string | null = null;

  constructor() {
    const block = new SharedArrayBuffer(CONTROL_BYTES + ARGS.length * 8);
    this.#control = new Int32Array(block, 0, CONTROL.length);
    this.#args = new Float64Array(block, CONTROL_BYTES, ARGS.length);
    this.#worker = new Worker(new URL("./helper-worker.ts", import.meta.url).href);
    this.#worker.addEventListener("error", (event) => {
      // Whatever waits for this helper must not wait forever.
      this.#broken = (event as ErrorEvent).message || "the helper thread failed";
      this.#control[CONTROL.ERRNO] = ERRNO.EIO;
      Atomics.store(this.#control, CONTROL.DONE, this.#seq);
      Atomics.notify(this.#control, CONTROL.DONE);
    });
    this.#worker.postMessage(block);
    this.#worker.unref();
  }

  #send(op: number, a: number, b: number, deadline: number, extra: number): number {
    if (this.#broken !== null) throw new Error(`helper thread: ${this.#broken}`);
    this.#args.set([op, a, b, deadline, extra]);
    const seq = ++this.#seq;
    Atomics.store(this.#control, CONTROL.SEQ, seq);
    Atomics.notify(this.#control, CONTROL.SEQ);
    return seq;
  }

  #outcome(): Outcome {
    return { errno: this.#control[CONTROL.ERRNO]!, value: this.#control[CONTROL.VALUE]! };
  }

  /** Performs `op` on the helper's thread; the event loop runs meanwhile. */
  async run(op: number, a: number, b: number, deadline: number, extra = 0): Promise<Outcome> {
    const seq = this.#send(op, a, b, deadline, extra);
    this.#worker.ref(); // a pending wait keeps the process alive
    try {
      for (;;) {
        const done = Atomics.load(this.#control, CONTROL.DONE);
        if (done === seq) return this.#outcome();
        await Atomics.waitAsync(this.#control, CONTROL.DONE, done).value;
      }
    } finally {
      this.#worker.unref();
    }
  }

  /**
   * Performs `op` on the helper's thread and blocks until it is done: for
   * calls that must come from the thread holding a lock (unlock, …).
   */
  runSync(op: number, a: number, b: number, deadline: number, extra = 0): Outcome {
    const seq = this.#send(op, a, b, deadline, extra);
    for (;;) {
      const done = Atomics.load(this.#control, CONTROL.DONE);
      if (done === seq) return this.#outcome();
      Atomics.wait(this.#control, CONTROL.DONE, done);
    }
  }
}

const idle: Helper[] = [];

/** An idle helper, started if there is none. */
export function borrowHelper(): Helper {
  return idle.pop() ?? new Helper();
}

/** Gives a helper back once it holds nothing and waits for nothing. */
export function returnHelper(helper: Helper): void {
  idle.push(helper);
}
