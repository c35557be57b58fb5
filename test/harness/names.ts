/**
 * Names for the kernel objects a test run makes, and their removal.
 * Every object gets the run's prefix, so whatever a crashed or hung
 * student process left behind can be found and removed by prefix.
 */
import fs from "node:fs";
import { randomBytes } from "node:crypto";

/** Every object this project's tests make starts with this. */
export const TEST_PREFIX = "ipcbook-t";

/** This run's prefix, unique per test process: "ipcbook-t1234-9f3a". */
export const runPrefix = `${TEST_PREFIX}${process.pid}-${randomBytes(2).toString("hex")}`;

let serial = 0;

/** A fresh POSIX object name with the run's prefix: "/ipcbook-t1234-9f3a-counter-3". */
export function uniqueName(label: string): string {
  return `/${runPrefix}-${label}-${++serial}`;
}

/** The folders where Linux shows POSIX IPC objects as files. */
export const IPC_DIRS = ["/dev/shm", "/dev/mqueue"] as const;

/**
 * Objects in /dev/shm and /dev/mqueue whose names start with `prefix`
 * (a named semaphore "/x" shows up as /dev/shm/sem.x).
 */
export function objectsWithPrefix(prefix: string): string[] {
  const ours = (entry: string) => entry.startsWith(prefix) || entry.startsWith(`sem.${prefix}`);
  return IPC_DIRS.flatMap((dir) =>
    fs.existsSync(dir) ? fs.readdirSync(dir).filter(ours).map((entry) => `${dir}/${entry}`) : [],
  );
}

/** Removes every object with the prefix; returns what it removed. */
export function removeObjects(prefix: string): string[] {
  const found = objectsWithPrefix(prefix);
  for (const file of found) fs.rmSync(file, { force: true });
  return found;
}
