/**
 * Chapter 03 exercise: shared memory and memory mapping.
 *
 * Five tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/03-shm.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 03                grades the tasks the way your instructor will
 *
 * The grader calls your functions in separate processes and then looks at
 * the shared-memory objects and files themselves, so printing the right
 * answer is not enough: the kernel objects must be right.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SharedMemory, MappedFile, ExistsError, NotFoundError } from "../lib/index.ts";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "03-shm";

// ANCHOR: task1
/**
 * Task 1. Create the shared-memory object `name` with `size` bytes and mode
 * 0600 (owner only). If an object of that name exists already, fail with an
 * ExistsError and leave it untouched: never adopt someone else's object.
 * Close your descriptor before returning; do not remove the object.
 */
export function createRegion(name: string, size: number): void {
  todo(CHAPTER, 1, "createRegion(): create the object exclusively, size it, close it", "Creating an object");
}
// ANCHOR_END: task1

// ANCHOR: task2
/**
 * Task 2. The object `name` exists and holds a 32-bit counter at offset 0.
 * Add 1 to it `times` times. Several processes run this at the same moment
 * on the same object: no increment may be lost.
 */
export function incrementCounter(name: string, times: number): void {
  todo(CHAPTER, 2, "incrementCounter(): add 1, `times` times, losing no update to other processes", "Races on shared memory");
}
// ANCHOR_END: task2

// ANCHOR: task3
/** A sensor reading, stored in shared memory with the layout of RECORD. */
export interface Reading {
  id: number;
  temperature: number;
  label: string;
}

/** Where each field lives in the object, in bytes. */
export const RECORD = {
  id: { offset: 0, type: "u32" },
  temperature: { offset: 8, type: "f64" },
  label: { offset: 16, bytes: 48 }, // UTF-8, padded with NUL bytes
  size: 64,
} as const;

/**
 * Task 3. Write `reading` into the existing object `name` with the layout
 * of RECORD (little-endian, as the machine stores numbers). A label longer
 * than 48 bytes of UTF-8 is an error: throw a RangeError and write nothing.
 */
export function writeRecord(name: string, reading: Reading): void {
  todo(CHAPTER, 3, "writeRecord(): put the three fields at their offsets", "Laying out a record");
}

/** Task 3, the other side: read the record another process wrote into `name`. */
export function readRecord(name: string): Reading {
  todo(CHAPTER, 3, "readRecord(): read the three fields back", "Laying out a record");
}
// ANCHOR_END: task3

// ANCHOR: task4
/** An account record in the file: 16 bytes each, one after another. */
export const ACCOUNT = {
  id: { offset: 0, type: "u32" },
  flags: { offset: 4, type: "u32" },
  balanceCents: { offset: 8, type: "i64" },
  size: 16,
} as const;

/**
 * Task 4. The regular file at `path` holds account records. Add `cents`
 * (which may be negative) to the balance of record number `index` (the
 * first is 0), in place through a memory mapping, and flush it with sync().
 * Every other byte of the file must stay as it was.
 */
export function addToBalance(path: string, index: number, cents: number): void {
  todo(CHAPTER, 4, "addToBalance(): map the file and change one balance in place", "Mapping a regular file");
}
// ANCHOR_END: task4

// ANCHOR: task5
/**
 * Task 5. Remove the object `name` so that it no longer appears in
 * /dev/shm. Removing an object that is already gone is not an error here:
 * clean-up code runs again after a crash.
 */
export function removeRegion(name: string): void {
  todo(CHAPTER, 5, "removeRegion(): unlink the object; succeed if it is gone already", "Removing objects");
}
// ANCHOR_END: task5

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/03-shm.ts` runs. You do not
 * need to change anything below.
 * ---------------------------------------------------------------------- */

const INCREMENTS = 200_000;
const PROCESSES = 4;

async function demo(): Promise<void> {
  const prefix = `/${process.env.IPC_PREFIX ?? "ipcbook"}-demo-${process.pid}`;
  const region = `${prefix}-region`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-"));
  const accounts = path.join(dir, "accounts.bin");
  try {
    createRegion(region, 4096);
    using shm = new SharedMemory(region, { readOnly: true });
    const { size, mode } = shm.stat();
    console.log(`Task 1: created ${region}: ${size} bytes, mode ${mode.toString(8)}`);

    const workers = Array.from({ length: PROCESSES }, () =>
      Bun.spawn([process.execPath, import.meta.path, "increment", region, String(INCREMENTS)], { stderr: "inherit" }),
    );
    const codes = await Promise.all(workers.map((w) => w.exited));
    if (codes.some((code) => code !== 0)) {
      process.exitCode = 1; // the workers have said what went wrong
      return;
    }
    const counter = readCounter(region);
    console.log(`Task 2: ${PROCESSES} processes × ${INCREMENTS} increments = ${counter} (expected ${PROCESSES * INCREMENTS})`);

    writeRecord(region, { id: 7, temperature: 21.5, label: "greenhouse" });
    console.log(`Task 3: wrote and read back`, readRecord(region));

    fs.writeFileSync(accounts, new Uint8Array(ACCOUNT.size * 3));
    addToBalance(accounts, 1, 2_500);
    const balance = fs.readFileSync(accounts).readBigInt64LE(ACCOUNT.size + ACCOUNT.balanceCents.offset);
    console.log(`Task 4: account 1 now holds ${balance} cents`);

    removeRegion(region);
    removeRegion(region);
    console.log(`Task 5: removed ${region} (twice, no error); still there: ${SharedMemory.exists(region)}`);
  } finally {
    if (SharedMemory.exists(region)) SharedMemory.unlink(region);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readCounter(name: string): number {
  using shm = new SharedMemory(name, { readOnly: true });
  using map = shm.map({ length: 4 });
  return new DataView(map.read(0, 4).buffer).getInt32(0, true);
}

if (import.meta.main) {
  const [mode, name, times] = process.argv.slice(2);
  if (mode === "increment" && name && times) await runDemo(() => incrementCounter(name, Number(times)));
  else await runDemo(demo);
}
