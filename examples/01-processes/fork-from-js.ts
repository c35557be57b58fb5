/**
 * fork-from-js.ts — why a Bun process must never fork and carry on in
 * JavaScript. The listing starts a sacrificial copy of itself; that copy
 * calls fork(2) through bun:ffi (fork-from-js.c) and lets fork return into
 * JavaScript in both processes. The parent survives; the child, which has
 * only the one thread that called fork and none of Bun's others, crashes.
 * The listing reports how the child ended and what it printed.
 *
 * Run:  bun run examples/01-processes/fork-from-js.ts
 */
import path from "node:path";
import { cc } from "bun:ffi";
import { Child, describeStatus, run } from "../../lib/index.ts";

if (process.argv[2] === "experiment") {
  // ANCHOR: experiment
  const { symbols } = cc({
    source: path.join(import.meta.dir, "fork-from-js.c"),
    symbols: { raw_fork: { args: [], returns: "i32" } },
  });
  const pid = symbols.raw_fork(); // returns twice
  if (pid === 0) {
    // The child: one thread, a copy of memory that Bun's other threads were changing.
    console.log("child: I am running JavaScript after fork");
    const words = Array.from({ length: 100_000 }, (_, i) => `word ${i}`); // allocate: the collector must run
    console.log(`child: made ${words.length} strings`);
    process.exit(0);
  }
  const child = new Child(pid, ["(forked copy of bun)"]);
  const status = child.wait(20) ?? (child.kill("SIGKILL"), child.wait()); // a hung child is killed
  console.log(`parent: the forked child ${describeStatus(status)}`);
  // ANCHOR_END: experiment
} else {
  // ANCHOR: observe
  const result = await run([process.execPath, import.meta.path, "experiment"], { timeout: 60 });
  process.stdout.write(result.stdout);
  const crash = result.stderr.split("\n").find((line) => /panic|Segmentation fault|crashed/.test(line));
  console.log(`the child's last words on stderr: ${crash ?? "(none)"}`);
  console.log(`the sacrificial parent ${describeStatus(result.status)}`);
  // ANCHOR_END: observe
}
