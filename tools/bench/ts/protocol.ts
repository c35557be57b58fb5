/** What the benchmark's asynchronous peers agree on (run.ts, worker-peer.ts). */

/** Messages an asynchronous sender may have unanswered; the peer answers every WINDOW / 2. */
export const WINDOW = 64;
