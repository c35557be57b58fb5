/**
 * What the synchronisation tests share: one layout with an object of every
 * kind plus some data, a fresh shared-memory object holding it, child
 * processes (test/lib/sync-child.ts) that use it from outside, and waiting
 * for a condition in shared memory without relying on timing.
 */
import fs from "node:fs";
import path from "node:path";
import { SharedMemory, type Mapping } from "../../lib/index.ts";
import { Shared, type SharedFields } from "./sync-shared.ts";
import { PREFIX, uniqueName } from "./support.ts";

export { Shared, type SharedFields };

export interface Setup {
  name: string;
  map: Mapping;
  s: SharedFields;
}

const CHILD = path.join(import.meta.dir, "sync-child.ts");
const children = new Set<Bun.Subprocess>();
const cleanups: (() => void)[] = [];

/** A new shared-memory object holding `Shared`, initialised, removed after the test. */
export function setup(label = "sync"): Setup {
  const name = uniqueName(label);
  const shm = new SharedMemory(name, { exclusive: true, size: Shared.size });
  const map = shm.map();
  shm.close();
  cleanups.push(() => {
    map.unmap();
    if (SharedMemory.exists(name)) SharedMemory.unlink(name);
  });
  return { name, map, s: Shared.init(map) };
}

/** Starts `bun test/lib/sync-child.ts ROLE NAME ...ARGS`; killed after the test if still running. */
export function child(role: string, name: string, ...args: (string | number)[]): Bun.Subprocess<"ignore", "pipe", "pipe"> {
  const proc = Bun.spawn([process.execPath, CHILD, role, name, ...args.map(String)], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

/** A child's exit code and output, once it ends. */
export async function finished(proc: Bun.Subprocess<"ignore", "pipe", "pipe">): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  return { code, signal: proc.signalCode === null ? null : String(proc.signalCode), stdout, stderr };
}

/**
 * Waits until `condition()` holds, checking every few milliseconds; fails
 * after `seconds` with `what`. For coordination only: the deadline is a
 * safety net against hangs, never what a test asserts.
 */
export async function until(condition: () => boolean, what: string, seconds = 20): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${seconds} s waiting for: ${what}`);
    await Bun.sleep(5);
  }
}

/** Named semaphores of this run: /dev/shm/sem.<prefix>… */
export function semaphoreLeftovers(): string[] {
  const stem = `sem.${PREFIX.slice(1)}`;
  return fs.readdirSync("/dev/shm").filter((entry) => entry.startsWith(stem));
}

/**
 * Kills the children and removes the objects of the test that just ran.
 * Every test file that uses this module calls `afterEach(cleanUp)`: bun
 * runs a module's own hooks only for the first file that imports it.
 */
export function cleanUp(): void {
  for (const proc of children) proc.kill("SIGKILL");
  children.clear();
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const entry of semaphoreLeftovers()) fs.rmSync(path.join("/dev/shm", entry), { force: true });
}
