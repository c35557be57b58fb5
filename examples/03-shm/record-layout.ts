/**
 * record-layout.ts — a fixed-layout record in shared memory, written by one
 * process and read by another through a DataView, and published with an
 * atomic flag so that the reader never sees a half-written record.
 *
 * Run:  bun run examples/03-shm/record-layout.ts
 *
 * The reader is this file started again (`... reader NAME`). It starts
 * first and waits for the flag; the writer then fills in the record.
 */
import { SharedMemory, type Mapping } from "../../lib/index.ts";

// ANCHOR: layout
// A job-status record, 48 bytes, little-endian, every field at an offset
// that is a multiple of its own size:
//    0  u32      id
//    4  u32      progress, in percent
//    8  f64      started, seconds since the epoch
//   16  u8[32]   name, UTF-8, padded with NUL bytes
// followed by a 32-bit "published" flag at offset 48.
const ID = 0, PROGRESS = 4, STARTED = 8, NAME = 16, NAME_SIZE = 32, PUBLISHED = 48;
// ANCHOR_END: layout

interface Job {
  id: number;
  progress: number;
  started: number;
  name: string;
}

// ANCHOR: write
function writeJob(map: Mapping, job: Job): void {
  const view = new DataView(map.buffer);
  view.setUint32(ID, job.id, true); // true: little-endian
  view.setUint32(PROGRESS, job.progress, true);
  view.setFloat64(STARTED, job.started, true);
  const name = new Uint8Array(map.buffer, NAME, NAME_SIZE);
  name.fill(0); // NUL padding, and no leftovers from a longer old name
  new TextEncoder().encodeInto(job.name, name); // never writes half a character
  Atomics.store(map.view(Int32Array, PUBLISHED, 1), 0, 1); // publish: after all the fields
}
// ANCHOR_END: write

// ANCHOR: read
function readJob(map: Mapping): Job {
  const view = new DataView(map.buffer);
  const name = new Uint8Array(map.buffer, NAME, NAME_SIZE);
  const end = name.indexOf(0);
  return {
    id: view.getUint32(ID, true),
    progress: view.getUint32(PROGRESS, true),
    started: view.getFloat64(STARTED, true),
    name: new TextDecoder().decode(name.subarray(0, end === -1 ? NAME_SIZE : end)),
  };
}
// ANCHOR_END: read

if (process.argv[2] === "reader") {
  using shm = new SharedMemory(process.argv[3]!);
  using map = shm.map();
  // ANCHOR: wait
  const published = map.view(Int32Array, PUBLISHED, 1);
  const deadline = Date.now() + 10_000;
  while (Atomics.load(published, 0) === 0) {
    if (Date.now() > deadline) throw new Error("reader: nothing published within 10 s");
  }
  const job = readJob(map); // safe: every field was written before the flag
  // ANCHOR_END: wait
  console.log(`reader ${process.pid}: job ${job.id} "${job.name}", ${job.progress}% done, started ${new Date(job.started * 1000).toISOString()}`);
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const name = `/${prefix}-job-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
  try {
    using map = shm.map();
    const reader = Bun.spawn([process.execPath, import.meta.path, "reader", name], { stdout: "inherit" });
    try {
      writeJob(map, { id: 7, progress: 42, started: Date.UTC(2024, 3, 15, 10, 30) / 1000, name: "kompresja logów" });
      if ((await reader.exited) !== 0) throw new Error("the reader failed");
    } finally {
      if (reader.exitCode === null) reader.kill();
    }
  } finally {
    SharedMemory.unlink(name);
  }
}
