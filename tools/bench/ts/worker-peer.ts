/**
 * The peer of the benchmark's `worker` mechanism: a Bun Worker (a thread
 * of the same process) that echoes each message (latency) or counts them
 * and answers with the count (throughput), as tools/bench/ts/run.ts's
 * other peers do.
 */
import { WINDOW } from "./protocol.ts";

declare const self: { onmessage: ((event: MessageEvent) => void) | null; postMessage(message: unknown): void };

const [mode, , countText, warmupText] = process.argv.slice(2);
let received = 0;
let phase = Number(warmupText);
const count = Number(countText);

self.onmessage =
  mode === "latency"
    ? (event) => self.postMessage(event.data)
    : () => {
        received++;
        if (received % (WINDOW / 2) === 0 || received === phase) self.postMessage(received);
        if (received === phase) {
          received = 0;
          phase = count;
        }
      };
