/**
 * A descriptor's file status flags (fcntl F_GETFL/F_SETFL), shared by the
 * modules whose objects are descriptors: pipes and sockets. The flags
 * belong to the open file description, so every descriptor that shares it
 * (a dup, a child's copy, one passed with SCM_RIGHTS) sees a change.
 */
import { F, O } from "./ffi/constants.ts";
import { sys } from "./ffi/libc.ts";
import { lastError } from "./errors.ts";

/** The file status flags of `fd` (O_NONBLOCK, O_APPEND, the access mode…). */
export function statusFlags(fd: number, label: string): number {
  const flags = sys.fcntl(fd, F.GETFL, 0);
  if (flags === -1) throw lastError("fcntl(F_GETFL)", label);
  return flags;
}

/** Sets or clears O_NONBLOCK on `fd`'s open file description; no call when it is as wanted already. */
export function setNonBlocking(fd: number, on: boolean, label: string): void {
  const flags = statusFlags(fd, label);
  const wanted = on ? flags | O.NONBLOCK : flags & ~O.NONBLOCK;
  if (wanted !== flags && sys.fcntl(fd, F.SETFL, wanted) === -1) throw lastError("fcntl(F_SETFL)", label);
}
