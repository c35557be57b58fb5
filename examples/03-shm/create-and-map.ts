/**
 * create-and-map.ts — create a POSIX shared-memory object, give it a size,
 * map it and write into it; then a second process opens the same name and
 * reads what the first one wrote.
 *
 * Run:  bun run examples/03-shm/create-and-map.ts
 *
 * The reader is this same file started again as a child process
 * (`... reader NAME`); it shares nothing with the writer but the name.
 */
import fs from "node:fs";
import { SharedMemory } from "../../lib/index.ts";

if (process.argv[2] === "reader") {
  // ANCHOR: reader
  const name = process.argv[3]!;
  using shm = new SharedMemory(name, { readOnly: true }); // O_RDONLY, no O_CREAT
  using map = shm.map(); // PROT_READ, because the object was opened read-only
  console.log(`reader ${process.pid}: ${shm.size} bytes, says "${map.readText(0)}"`);
  // ANCHOR_END: reader
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const name = `/${prefix}-greeting-${process.pid}`;

  // ANCHOR: create
  using shm = new SharedMemory(name, { exclusive: true, mode: 0o600 }); // O_CREAT | O_EXCL | O_RDWR
  try {
    console.log(`created ${name}: size ${shm.size}`); // a new object is empty
    shm.resize(4096); // ftruncate(fd, 4096): now there are bytes to map
    console.log(`after ftruncate: size ${shm.size}`);

    using map = shm.map(); // mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
    map.write(`hello from process ${process.pid}`, 0);
    // ANCHOR_END: create

    // ANCHOR: devshm
    const st = fs.statSync(`/dev/shm${name}`); // the object is a file on a tmpfs
    console.log(`/dev/shm${name}: mode ${(st.mode & 0o777).toString(8)}, ${st.size} bytes`);
    // ANCHOR_END: devshm

    // ANCHOR: spawn
    const reader = Bun.spawn([process.execPath, import.meta.path, "reader", name], { stdout: "inherit" });
    if ((await reader.exited) !== 0) throw new Error("the reader failed");
    // ANCHOR_END: spawn
  } finally {
    SharedMemory.unlink(name);
  }
}
