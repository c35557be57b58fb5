/**
 * The layout of the shared memory the synchronisation tests and their
 * child processes (sync-child.ts) share: an object of every kind, and
 * words to report through.
 */
import { Barrier, Condition, layout, Mutex, RwLock, Semaphore, SpinLock, TslLock } from "../../lib/index.ts";

export const Shared = layout({
  lock: Mutex,
  stalled: Mutex.field({ robust: false }),
  cond: Condition,
  items: Semaphore.field({ value: 0 }),
  rwWriter: RwLock.field({ prefer: "writer-nonrecursive" }),
  rwReader: RwLock.field({ prefer: "reader" }),
  rwWriterNp: RwLock.field({ prefer: "writer" }),
  barrier: Barrier.field({ count: 3 }),
  spin: SpinLock,
  tsl: TslLock,
  /** A child's "I am there" signal: its pid. */
  flag: "i32",
  /** A second signal, for a child's next step. */
  flag2: "i32",
  go: "i32",
  woken: "i32",
  total: "i32",
  per: ["i32", 8],
  recoveries: "i32",
  word: "i32",
  phase: ["i32", 64],
  serial: ["i32", 8],
  result: ["i32", 8],
});

export type SharedFields = ReturnType<typeof Shared.attach>;

