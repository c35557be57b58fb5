/**
 * advisory.ts — Linux file locks are advisory: the kernel keeps the
 * record of who holds what and makes polite programs wait, but it does not
 * stop a program that never asks. A child process holds an exclusive lock
 * on a file; a rude program writes to the file anyway, and succeeds; a
 * polite one asks first and is told no.
 *
 * Run:  bun run examples/08-locks/advisory.ts
 * The parent starts itself again as the holder (`... hold PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locksOn, OpenFile } from "../../lib/index.ts";

if (process.argv[2] === "hold") {
  // ANCHOR: holder
  using file = new OpenFile(process.argv[3]!);
  file.flock("exclusive"); // "nobody else touches this file"
  await Bun.stdin.text(); // hold it until the parent closes our stdin
  // ANCHOR_END: holder
} else {
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-advisory-`));
  const ledger = path.join(dir, "ledger.txt");
  fs.writeFileSync(ledger, "balance 100\n");
  const holder = Bun.spawn([process.execPath, import.meta.path, "hold", ledger], { stdin: "pipe" });
  try {
    await until(() => locksOn(ledger).some((l) => l.pid === holder.pid));
    console.log(`holder ${holder.pid} has an exclusive flock on ledger.txt`);

    // ANCHOR: rude-and-polite
    fs.appendFileSync(ledger, "balance 1000000\n"); // the rude program: never asks
    console.log(`rude write: succeeded, the file now reads ${JSON.stringify(fs.readFileSync(ledger, "utf8"))}`);

    using polite = new OpenFile(ledger);
    const granted = polite.tryFlock("exclusive"); // the polite program asks first
    console.log(`polite tryFlock("exclusive"): ${granted ? "granted" : "refused, so it does not write"}`);
    // ANCHOR_END: rude-and-polite
  } finally {
    holder.stdin.end();
    await holder.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i > 3000) throw new Error("gave up waiting after 15 s");
    await Bun.sleep(5);
  }
}
