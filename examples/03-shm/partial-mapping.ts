/**
 * partial-mapping.ts — map only part of an object: one page at a page
 * offset. Shows that the offset must be a multiple of the page size and
 * that a mapping may not reach past the end of the object.
 *
 * Run:  bun run examples/03-shm/partial-mapping.ts
 */
import { PAGE_SIZE, SharedMemory } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-pages-${process.pid}`;

using shm = new SharedMemory(name, { exclusive: true, size: 3 * PAGE_SIZE });
try {
  // ANCHOR: window
  using window = shm.map({ offset: PAGE_SIZE, length: PAGE_SIZE }); // the second page only
  window.write("written through the window", 0);

  using whole = shm.map(); // all three pages, at another address
  console.log(`page size ${PAGE_SIZE}; window covers bytes ${window.offset}..${window.offset + window.length - 1}`);
  console.log(`whole mapping, byte ${PAGE_SIZE}: "${whole.readText(PAGE_SIZE)}"`);
  // ANCHOR_END: window

  // ANCHOR: refused
  for (const options of [
    { offset: 100 }, // not a multiple of the page size: mmap would fail with EINVAL
    { offset: 2 * PAGE_SIZE, length: 2 * PAGE_SIZE }, // past the end: touching it would raise SIGBUS
  ]) {
    try {
      shm.map(options);
    } catch (error) {
      console.log(`map(${JSON.stringify(options)}) refused: ${(error as Error).message}`);
    }
  }
  // ANCHOR_END: refused
} finally {
  SharedMemory.unlink(name);
}
