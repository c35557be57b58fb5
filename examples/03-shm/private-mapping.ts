/**
 * private-mapping.ts — MAP_SHARED versus MAP_PRIVATE. A write through a
 * private mapping copies the page for this process only (copy-on-write);
 * the object, and every shared mapping of it, keep the old bytes.
 *
 * Run:  bun run examples/03-shm/private-mapping.ts
 */
import { SharedMemory } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-cow-${process.pid}`;

using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
try {
  // ANCHOR: cow
  using shared = shm.map(); // MAP_SHARED
  shared.write("original\0", 0);

  using mine = shm.map({ private: true }); // MAP_PRIVATE
  console.log(`private, before writing: "${mine.readText(0)}"`); // reads the object's page
  mine.write("changed!\0", 0); // the kernel copies the page, then writes the copy

  console.log(`private, after writing:  "${mine.readText(0)}"`);
  console.log(`shared mapping:          "${shared.readText(0)}"`);
  using fresh = shm.map();
  console.log(`a new shared mapping:    "${fresh.readText(0)}"`);
  // ANCHOR_END: cow
} finally {
  SharedMemory.unlink(name);
}
