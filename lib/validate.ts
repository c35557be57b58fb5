/**
 * Checks run before any system call, so bad input gets a clear message and
 * the kernel never sees it. Wrong types throw TypeError, numbers out of
 * range RangeError, and malformed object names an `InvalidError` naming the
 * call that would have been made.
 */
import { NAME_MAX } from "./ffi/constants.ts";
import { invalid } from "./errors.ts";

/**
 * A POSIX IPC object name: one leading slash, no other slash, 1 to
 * NAME_MAX characters after it ("/orders"). Returns the name.
 */
export function posixName(name: unknown, call: string): string {
  if (typeof name !== "string") throw new TypeError(`${call}: the name must be a string, got ${typeof name}`);
  const example = `"/${name.replace(/\//g, "") || "orders"}"`;
  if (!name.startsWith("/")) {
    throw invalid(call, name, "a POSIX IPC name starts with a slash", `write ${example}`);
  }
  if (name.length === 1) throw invalid(call, name, "the name is empty after its slash", 'write a name such as "/orders"');
  if (name.indexOf("/", 1) !== -1) {
    throw invalid(call, name, "a POSIX IPC name has no slash after the first", `write ${example}; it is one flat namespace`);
  }
  if (name.includes("\0")) throw invalid(call, name, "the name contains a NUL character");
  if (name === "/." || name === "/..") throw invalid(call, name, "the names /. and /.. are reserved", 'write a name such as "/orders"');
  if (Buffer.byteLength(name) - 1 > NAME_MAX) {
    throw invalid(call, name, `the name is longer than NAME_MAX (${NAME_MAX} bytes)`);
  }
  return name;
}

/** A non-negative whole number of bytes (or items) within `max`. */
export function count(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${what} must be a number, got ${typeof value === "number" ? "NaN" : typeof value}`);
  }
  if (!Number.isInteger(value)) throw new RangeError(`${what} must be a whole number, got ${value}`);
  if (value < min) throw new RangeError(`${what} must be at least ${min}, got ${value}`);
  if (value > max) throw new RangeError(`${what} must be at most ${max}, got ${value}`);
  return value;
}

/**
 * A file mode such as 0o600: permission bits only, at most `max` (0o777
 * for calls that read higher bits as flags, such as shmget).
 */
export function fileMode(mode: unknown, call: string, max = 0o7777): number {
  if (typeof mode === "number" && Number.isInteger(mode) && (mode < 0 || mode > max)) {
    throw new RangeError(`${call}: mode must be between 0o0 and 0o${max.toString(8)}, got 0o${mode.toString(8)}`);
  }
  return count(mode, `${call}: mode`, max);
}
