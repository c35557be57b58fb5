/**
 * The bun:ffi facts lib/signals.ts relies on, pinned with real calls:
 * sigqueue's union sigval passed as a 64-bit integer reaches si_value
 * intact (negative values and the int's full range too), glibc's
 * SIGRTMIN/SIGRTMAX functions agree with the C macros, and the C helper's
 * record has the size the TypeScript side reads.
 */
import { describe, expect, test } from "bun:test";
import path from "node:path";
import { cc } from "bun:ffi";
import { sys } from "../../lib/ffi/libc.ts";
import { SignalReceiver, SIGRTMAX, SIGRTMIN } from "../../lib/index.ts";
import { ascending } from "./support.ts";

const probe = cc({
  source: path.resolve(import.meta.dir, "../../lib/native/signals.c"),
  symbols: {
    ipcsig_rtmin: { args: [], returns: "i32" },
    ipcsig_rtmax: { args: [], returns: "i32" },
    ipcsig_record_size: { args: [], returns: "i32" },
  },
}).symbols;

describe("sigqueue declared with a 64-bit third argument", () => {
  test("the value arrives in si_value.sival_int, whatever its sign and size", () => {
    using receiver = new SignalReceiver("SIGRTMIN+10");
    const values = [0, 1, -1, 42, -42, 2 ** 31 - 1, -(2 ** 31), 123_456_789, -987_654_321];
    for (const v of values) expect(sys.sigqueue(process.pid, SIGRTMIN + 10, v)).toBe(0);
    // Compared as sets: in bun test's process the order is only very likely (see SignalReceiver).
    expect(ascending(values.map(() => receiver.receive({ timeout: 10 }).value))).toEqual(ascending(values));
  });
});

describe("the C side", () => {
  test("__libc_current_sigrtmin/max equal the SIGRTMIN/SIGRTMAX macros of <signal.h>", () => {
    expect(SIGRTMIN).toBe(probe.ipcsig_rtmin());
    expect(SIGRTMAX).toBe(probe.ipcsig_rtmax());
  });

  test("a delivery record is 24 bytes", () => {
    expect(probe.ipcsig_record_size()).toBe(24);
  });
});
