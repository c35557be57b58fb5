/**
 * sysv.ts — a System V shared-memory segment from creation to removal,
 * with what `ipcs -m` shows at each step.
 *
 * Run:  bun run examples/03-shm/sysv.ts
 *
 * The segment has key IPC_PRIVATE, so it has no name to collide with; it
 * is known by the identifier shmget returns, the `shmid` column of ipcs.
 */
import fs from "node:fs";
import { SysVSharedMemory } from "../../lib/index.ts";

/** The header and our segment's line of `ipcs -m`, or /proc/sysvipc/shm if ipcs is missing. */
function ipcs(id: number): string {
  const ipcsPath = Bun.which("ipcs");
  const text = ipcsPath
    ? Bun.spawnSync([ipcsPath, "-m"]).stdout.toString()
    : fs.readFileSync("/proc/sysvipc/shm", "utf8");
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines.find((l) => /\bshmid\b/.test(l)) ?? "";
  const mine = lines.filter((l) => l.trim().split(/\s+/)[1] === String(id));
  return [header, ...(mine.length ? mine : ["(no such segment)"])].map((l) => `    ${l.trimEnd()}`).join("\n");
}

let removed = false;
// ANCHOR: lifecycle
const segment = new SysVSharedMemory("private", { size: 1000, mode: 0o600 }); // shmget
try {
  console.log(`shmget: segment ${segment.id}\n${ipcs(segment.id)}`);

  {
    using memory = segment.attach(); // shmat
    memory.write("hello, System V", 0);
    const st = segment.stat(); // shmctl(IPC_STAT)
    console.log(`shmat: ${st.attachments} attached, ${st.size} bytes, mode ${st.mode.toString(8)}, created by ${st.creatorPid}`);

    segment.remove(); // shmctl(IPC_RMID) while attached: marked for removal
    removed = true;
    console.log(`IPC_RMID while attached; still reads "${memory.readText(0)}"\n${ipcs(segment.id)}`);
  } // `using` detaches here (shmdt): the last detach destroys it

  console.log(`shmdt: the segment is gone\n${ipcs(segment.id)}`);
} finally {
  if (!removed) segment.remove();
}
// ANCHOR_END: lifecycle
