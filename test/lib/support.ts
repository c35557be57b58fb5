/**
 * Helpers shared by the library tests: unique object names with a per-run
 * prefix, and finding (and removing) whatever a test left behind, straight
 * from the kernel's own listings (/dev/shm, /proc/sysvipc/shm).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sys } from "../../lib/ffi/libc.ts";

/** Per-run prefix of every POSIX object name the tests make ("/ipcbook-t1234-ab12cd"). */
export const PREFIX = `/ipcbook-t${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

let serial = 0;

/** A fresh, unique POSIX IPC name under the run prefix. */
export function uniqueName(label: string): string {
  serial += 1;
  return `${PREFIX}-${label}-${serial}`;
}

/** Entries of /dev/shm made by this run. */
export function shmLeftovers(): string[] {
  const stem = PREFIX.slice(1);
  return fs.readdirSync("/dev/shm").filter((entry) => entry.startsWith(stem));
}

/** Removes every /dev/shm entry of this run; returns what it removed. */
export function removeShmLeftovers(): string[] {
  const found = shmLeftovers();
  for (const entry of found) fs.rmSync(path.join("/dev/shm", entry), { force: true });
  return found;
}

/** Whether /dev/shm holds an object of this name. */
export function inDevShm(name: string): boolean {
  return fs.existsSync(`/dev/shm${name}`);
}

export interface SegmentRow {
  key: number;
  id: number;
  size: number;
  cpid: number;
  nattch: number;
}

/** The System V segments the kernel lists in /proc/sysvipc/shm. */
export function sysvSegments(): SegmentRow[] {
  const lines = fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
  return lines
    .map((line) => line.trim().split(/\s+/).map(Number))
    .map(([key = NaN, id = NaN, , size = NaN, cpid = NaN, , nattch = NaN]) => ({ key, id, size, cpid, nattch }));
}

/** Whether /proc/sysvipc/shm lists this segment id. */
export function segmentListed(id: number): boolean {
  return sysvSegments().some((row) => row.id === id);
}

/** A temporary directory, and a function that removes it. */
export function tempDir(label: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ipcbook-${label}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The targets of this process's open descriptors (readlink of /proc/self/fd/N). */
export function openFdTargets(): Map<number, string> {
  const targets = new Map<number, string>();
  for (const entry of fs.readdirSync("/proc/self/fd")) {
    try {
      targets.set(Number(entry), fs.readlinkSync(`/proc/self/fd/${entry}`));
    } catch {
      // closed between readdir and readlink (the readdir's own descriptor)
    }
  }
  return targets;
}

/** Whether any descriptor of this process refers to the file at `target`. */
export function hasOpenFd(target: string): boolean {
  return [...openFdTargets().values()].some((t) => t === target || t === `${target} (deleted)`);
}

/** Whether /proc/self/maps shows a mapping of the file at `target`. */
export function isMapped(target: string): boolean {
  return fs
    .readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .some((line) => line.endsWith(` ${target}`) || line.endsWith(` ${target} (deleted)`));
}

/** Runs `fn`, expecting it to throw; returns the error for further checks. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error("expected the call to throw, but it returned");
}

/** libc functions that read the state of an error rather than act on an object. */
const BOOKKEEPING = new Set(["__errno_location", "strerror"]);

/**
 * Runs `fn`, which must throw, with libc functions counted: all of them
 * (error bookkeeping aside) or only those named in `only`. Returns the
 * error and the names called, so a test can prove bad input was refused
 * before any system call.
 */
export function callsDuring(fn: () => unknown, only?: string[]): { error: Error; calls: string[] } {
  const table = sys as unknown as Record<string, (...args: unknown[]) => unknown>;
  const counted = Object.entries(table).filter(([name]) => (only ? only.includes(name) : !BOOKKEEPING.has(name)));
  const calls: string[] = [];
  for (const [name, original] of counted) {
    table[name] = (...args: unknown[]) => {
      calls.push(name);
      return original(...args);
    };
  }
  try {
    return { error: thrown(fn), calls };
  } finally {
    for (const [name, original] of counted) table[name] = original;
  }
}

/** Numbers in ascending order (a copy), to compare what arrived with what was sent when only the set matters. */
export function ascending(list: readonly number[]): number[] {
  return [...list].sort((a, b) => a - b);
}
