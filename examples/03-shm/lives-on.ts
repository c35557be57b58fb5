/**
 * lives-on.ts — close() is not unlink(), and unlink() does not free memory
 * that is still mapped. The name disappears from /dev/shm at once; the
 * pages go when the last mapping does.
 *
 * Run:  bun run examples/03-shm/lives-on.ts
 */
import fs from "node:fs";
import { IpcError, SharedMemory } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-survivor-${process.pid}`;
const inDevShm = () => fs.existsSync(`/dev/shm${name}`);

let unlinked = false;
const shm = new SharedMemory(name, { exclusive: true, size: 4096 });
try {
  // ANCHOR: story
  const map = shm.map();
  const bytes = map.bytes();
  map.write("still here", 0);

  shm.close(); // the descriptor goes; the object and the mapping stay
  console.log(`after close:  in /dev/shm: ${inDevShm()}, mapping reads "${map.readText(0)}"`);

  SharedMemory.unlink(name); // the name goes; the memory stays while mapped
  unlinked = true;
  console.log(`after unlink: in /dev/shm: ${inDevShm()}, mapping reads "${map.readText(0)}"`);

  try {
    new SharedMemory(name); // no one can open it by name any more
  } catch (error) {
    if (!(error instanceof IpcError)) throw error;
    console.log(`reopen: ${error.code} from ${error.call} (kind "${error.kind}")`);
  }

  map.unmap(); // the last reference: now the kernel frees the pages
  console.log(`after unmap:  a view kept from before has length ${bytes.length}`);
  // ANCHOR_END: story
} finally {
  shm.close();
  if (!unlinked) SharedMemory.unlink(name);
}
