/**
 * library-errors.ts — what the library adds around the raw calls: checks
 * before any system call, an IpcError that names the errno, the call, the
 * object and what to do, and mappings that refuse what would crash.
 *
 * Run:  bun run examples/03-shm/library-errors.ts
 */
import { IpcError, SharedMemory } from "../../lib/index.ts";

const prefix = process.env.IPC_PREFIX ?? "ipcbook";
const name = `/${prefix}-errors-${process.pid}`;

/** Runs `attempt` and prints the error it throws. */
function show(what: string, attempt: () => unknown): void {
  try {
    attempt();
    console.log(`${what}: no error`);
  } catch (error) {
    // ANCHOR: fields
    if (error instanceof IpcError) {
      console.log(`${what}: ${error.constructor.name}`);
      console.log(`    code ${error.code} (errno ${error.errno}), call ${error.call}, object ${error.object}`);
      console.log(`    hint: ${error.hint}`);
      return;
    }
    // ANCHOR_END: fields
    console.log(`${what}: ${(error as Error).name}: ${(error as Error).message}`); // TypeError, RangeError
  }
}

using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
try {
  // ANCHOR: cases
  show("a name without its slash", () => new SharedMemory("counter")); // refused before shm_open
  show("a negative size", () => shm.resize(-1)); // refused before ftruncate
  show("creating it a second time", () => new SharedMemory(name, { exclusive: true })); // EEXIST from the kernel

  using reader = new SharedMemory(name, { readOnly: true });
  using readOnly = reader.map(); // PROT_READ
  show("a writable view of a read-only mapping", () => readOnly.view(Int32Array)); // would be SIGSEGV
  // ANCHOR_END: cases
} finally {
  SharedMemory.unlink(name);
}
