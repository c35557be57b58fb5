/**
 * Errors. A failed system call becomes an `IpcError` that carries the
 * errno name and number, the call, the object it was about and a hint.
 * Branch on the kind with `instanceof` (like Python's posix_ipc) or on
 * `error.kind`:
 *
 *   try { new SharedMemory("/jobs") }
 *   catch (e) { if (e instanceof NotFoundError) … }
 */
import { ERRNO, errnoName, type ErrnoName } from "./ffi/errno.ts";
import { errno, strerror } from "./ffi/libc.ts";

/** The coarse category of an `IpcError`, derived from its errno (`error.kind`). */
export type ErrorKind =
  | "exists"
  | "not-found"
  | "permission"
  | "busy"
  | "timeout"
  | "invalid"
  | "limit"
  | "interrupted"
  | "closed"
  | "other";

const KIND_OF: Partial<Record<ErrnoName, ErrorKind>> = {
  EEXIST: "exists",
  ENOENT: "not-found",
  EIDRM: "not-found",
  ESRCH: "not-found",
  EACCES: "permission",
  EPERM: "permission",
  EAGAIN: "busy",
  EBUSY: "busy",
  ETIMEDOUT: "timeout",
  EINVAL: "invalid",
  ENAMETOOLONG: "invalid",
  EMSGSIZE: "invalid",
  EMFILE: "limit",
  ENFILE: "limit",
  ENOSPC: "limit",
  ENOMEM: "limit",
  EFBIG: "limit",
  EINTR: "interrupted",
  EBADF: "closed",
};

/** Hints by errno name, for one call; a family module keeps its own. */
export type Hints = Partial<Record<ErrnoName, string>>;

/** Hints that hold whatever the call. */
const GENERAL_HINTS: Hints = {
  EACCES: "the object's mode does not allow this access for your user; check its owner and mode",
  EPERM: "the operation is not permitted for your user",
  EINTR: "a signal arrived during the call; retry it if that is expected",
  EMFILE: "this process has too many open descriptors; close some, or raise `ulimit -n`",
  ENFILE: "the system-wide limit on open files is reached",
  ENAMETOOLONG: "the name is longer than the system allows",
  EBADF: "the descriptor is closed or was never valid; was the object closed already?",
};

/** What an `IpcError` is made from: the errno, the call and, optionally, the object, a hint and a message. */
export interface IpcErrorInit {
  errno: number;
  call: string;
  object?: string;
  hint?: string;
  /** Overrides the C library's message, for errors found before any call. */
  message?: string;
}

/**
 * A failed IPC call: the errno name and number, the C function, the object
 * it was about and a hint in plain words. Thrown as the subclass for its
 * kind (`ExistsError`, `NotFoundError`, …).
 */
export class IpcError extends Error {
  /** The errno name, such as "EEXIST". */
  readonly code: string;
  /** The errno number. */
  readonly errno: number;
  /** The C function that failed (or would have been called). */
  readonly call: string;
  /** The object the call was about: a name, a path, a descriptor. */
  readonly object: string | undefined;
  /** What to do about it, in plain words. */
  readonly hint: string | undefined;
  /** A coarse category to branch on. */
  readonly kind: ErrorKind;

  /** Builds the error and its message from the errno value; `ipcError()` picks the subclass for you. */
  constructor(init: IpcErrorInit) {
    const code = errnoName(init.errno);
    const about = init.object === undefined ? "" : ` on ${JSON.stringify(init.object)}`;
    const detail = init.message ?? strerror(init.errno);
    super(`${init.call}${about}: ${code} (${detail})${init.hint ? `: ${init.hint}` : ""}`);
    this.name = new.target.name;
    this.code = code;
    this.errno = init.errno;
    this.call = init.call;
    this.object = init.object;
    this.hint = init.hint;
    this.kind = KIND_OF[code as ErrnoName] ?? "other";
  }
}

/** The object exists already (EEXIST), typically after `exclusive: true`. */
export class ExistsError extends IpcError {}
/** No object of that name, key or id (ENOENT, EIDRM, ESRCH). */
export class NotFoundError extends IpcError {}
/** The object's mode or the process's privileges forbid the call (EACCES, EPERM). */
export class PermissionError extends IpcError {}
/** The call would block (EAGAIN) or the object is busy (EBUSY). */
export class BusyError extends IpcError {}
/** A wait with a timeout ran out (ETIMEDOUT). */
export class TimeoutError extends IpcError {}
/** An argument was refused, by the kernel or by the library before the call. */
export class InvalidError extends IpcError {}
/** A system or per-user limit was reached. */
export class LimitError extends IpcError {}
/** A signal interrupted a blocking call (EINTR). */
export class InterruptedError extends IpcError {}
/** The object or descriptor is closed. */
export class ClosedError extends IpcError {}

const CLASS_OF: Record<ErrorKind, new (init: IpcErrorInit) => IpcError> = {
  exists: ExistsError,
  "not-found": NotFoundError,
  permission: PermissionError,
  busy: BusyError,
  timeout: TimeoutError,
  invalid: InvalidError,
  limit: LimitError,
  interrupted: InterruptedError,
  closed: ClosedError,
  other: IpcError,
};

/** The `IpcError` subclass for an errno value, filled in. */
export function ipcError(init: IpcErrorInit): IpcError {
  const kind = KIND_OF[errnoName(init.errno) as ErrnoName] ?? "other";
  return new CLASS_OF[kind](init);
}

/**
 * The error for a call that just failed: reads errno at once, picks the
 * hint from the family's table or the general one.
 */
export function lastError(call: string, object?: string | number, hints: Hints = {}): IpcError {
  return errorFor(errno(), call, object, hints);
}

/** The error for a known errno value (pthread functions return it). */
export function errorFor(errnum: number, call: string, object?: string | number, hints: Hints = {}): IpcError {
  const code = errnoName(errnum) as ErrnoName;
  return ipcError({
    errno: errnum,
    call,
    object: object === undefined ? undefined : String(object),
    hint: hints[code] ?? GENERAL_HINTS[code],
  });
}

/** An error found before any system call: the argument is invalid. */
export function invalid(call: string, object: string | undefined, message: string, hint?: string): InvalidError {
  return new InvalidError({ errno: ERRNO.EINVAL, call, object, message, hint });
}

/** Using an object after `close()`: a clear error instead of a stale descriptor. */
export function closed(call: string, object: string): ClosedError {
  return new ClosedError({
    errno: ERRNO.EBADF,
    call,
    object,
    message: "the object is closed",
    hint: "it was closed earlier in this process; open it again to use it",
  });
}
