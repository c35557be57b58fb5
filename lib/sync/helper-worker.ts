/**
 * A helper thread: performs blocking calls for the main thread, so that
 * the async forms (`waitAsync`, `lockAsync`, …) never block Bun's event
 * loop. It waits for commands on a shared control block (see helper.ts),
 * never on its own event loop, so that a command reaches it even while it
 * is parked holding a lock for the main thread.
 */
import { perform } from "./native.ts";
import { ARGS, CONTROL, CONTROL_BYTES } from "./helper.ts";

addEventListener(
  "message",
  (event) => {
    const block = (event as MessageEvent<SharedArrayBuffer>).data;
    const control = new Int32Array(block, 0, CONTROL.length);
    const args = new Float64Array(block, CONTROL_BYTES, ARGS.length);
    let seen = 0;
    for (;;) {
      Atomics.wait(control, CONTROL.SEQ, seen);
      const seq = Atomics.load(control, CONTROL.SEQ);
      if (seq === seen) continue;
      seen = seq;
      const outcome = perform(args[ARGS.OP]!, args[ARGS.A]!, args[ARGS.B]!, args[ARGS.DEADLINE]!, args[ARGS.EXTRA]!);
      control[CONTROL.ERRNO] = outcome.errno;
      control[CONTROL.VALUE] = outcome.value;
      Atomics.store(control, CONTROL.DONE, seq);
      Atomics.notify(control, CONTROL.DONE);
    }
  },
  { once: true },
);
