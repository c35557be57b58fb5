/**
 * Synchronisation between processes: semaphores, the process-shared
 * pthread objects, spinning locks, futexes, and layout() to place them in
 * shared memory.
 */
export { Semaphore, type SemaphoreOptions, type UnnamedSemaphoreOptions } from "./semaphore.ts";
export { Mutex, type MutexOptions } from "./mutex.ts";
export { Condition } from "./condition.ts";
export { RwLock, type RwLockOptions, type RwPreference } from "./rwlock.ts";
export { Barrier, type BarrierOptions } from "./barrier.ts";
export { SpinLock, TslLock } from "./spinlock.ts";
export { futexWait, futexWaitAsync, futexWake, type FutexResult } from "./futex.ts";
export { layout, alignUp, SharedLayout, type FieldSpec, type Fields, type PlacedField, type Scalar } from "./layout.ts";
export { OwnerDeadError, UnrecoverableError, type FieldKind } from "./common.ts";
export { SEM_VALUE_MAX } from "../ffi/constants.ts";
