/**
 * copy-on-write.ts — after fork, parent and child see the same virtual
 * address for a variable, but not the same memory: the child changes the
 * variable and the parent's copy stays as it was. The kernel copied the
 * page at the child's first write (lib/native/fork.c, copy_on_write).
 *
 * Run:  bun run examples/01-processes/copy-on-write.ts
 */
import { copyOnWrite, describeStatus } from "../../lib/index.ts";

// ANCHOR: run
const seen = copyOnWrite();
const hex = (address: bigint) => `0x${address.toString(16)}`;
console.log(`parent ${process.pid}: value = ${seen.parent.value} at ${hex(seen.parent.address)}`);
console.log(`child  ${seen.pid}: value = ${seen.child.value} at ${hex(seen.child.address)}`);
console.log(`child ${describeStatus(seen.status)}`);
console.log(`same address: ${seen.parent.address === seen.child.address}; same value: ${seen.parent.value === seen.child.value}`);
// ANCHOR_END: run
