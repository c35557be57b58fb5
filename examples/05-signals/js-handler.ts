/**
 * js-handler.ts — a JavaScript handler does not interrupt anything. Bun's
 * own C handler notes the signal; the JavaScript function runs later, on
 * the event loop, once the code that was running has returned. This
 * process sends itself SIGUSR1 in the middle of a long synchronous loop
 * and records when the handler ran.
 *
 * Run:  bun run examples/05-signals/js-handler.ts
 */
import { onSignal } from "../../lib/index.ts";

// ANCHOR: later
const events: string[] = [];
let handled = false;
using handler = onSignal("SIGUSR1", (signal) => {
  events.push(`handler for ${signal} runs`); // safe: any JavaScript may run here
  handled = true;
});

events.push("loop starts");
let sum = 0;
for (let i = 0; i < 50_000_000; i++) {
  sum += i % 7;
  if (i === 1_000_000) {
    process.kill(process.pid, "SIGUSR1"); // delivered now, in the middle of the loop
    events.push("SIGUSR1 sent");
  }
}
events.push(`loop ends (sum ${sum})`);
while (!handled) await Bun.sleep(1); // let the event loop turn until the handler has had its go
for (const [i, event] of events.entries()) console.log(`${i + 1}. ${event}`);
// ANCHOR_END: later
