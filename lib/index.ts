/**
 * Linux inter-process communication for Bun, on bun:ffi.
 * One module per IPC family; this file re-exports them all.
 */
export * from "./errors.ts";
export * from "./shm.ts";
export * from "./sync/index.ts";
export * from "./mq.ts";
export * from "./process.ts";
export * from "./signals.ts";
export * from "./pipes.ts";
export * from "./locks.ts";
export * from "./ring.ts";
export * from "./deadlock.ts";
export * from "./sockets.ts";
export { PAGE_SIZE } from "./ffi/libc.ts";
