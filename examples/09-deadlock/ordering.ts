/**
 * ordering.ts — preventing deadlock by lock ordering. Two processes move
 * money back and forth between accounts 0 and 1 many times, each transfer
 * locking both records. In the naive version each locks the account it
 * takes money from first, so the two lock in opposite orders, and from
 * time to time the kernel has to break a deadlock with EDEADLK. In the
 * ordered version both always lock the lower record first: a cycle of
 * waiting can no longer form, and no transfer ever fails.
 *
 * Run:  bun run examples/09-deadlock/ordering.ts [transfers]
 * The parent starts itself again as the two workers (`... worker MODE FROM TO N PATH`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeadlockError, OpenFile } from "../../lib/index.ts";

const RECORD = 16;
type Mode = "naive" | "ordered";

// ANCHOR: transfer
function transfer(accounts: OpenFile, from: number, to: number, mode: Mode): void {
  const [first, second] = mode === "ordered" ? [Math.min(from, to), Math.max(from, to)] : [from, to];
  accounts.lock("exclusive", { start: first * RECORD, length: RECORD });
  try {
    accounts.lock("exclusive", { start: second * RECORD, length: RECORD }); // may throw DeadlockError
    try {
      move(accounts, from, to, 1n);
    } finally {
      accounts.unlock({ start: second * RECORD, length: RECORD });
    }
  } finally {
    accounts.unlock({ start: first * RECORD, length: RECORD });
  }
}
// ANCHOR_END: transfer

/** Moves `cents` from one balance to the other (offset 8 of each record). */
function move(accounts: OpenFile, from: number, to: number, cents: bigint): void {
  const balance = (n: number) => accounts.read(n * RECORD + 8, 8).readBigInt64LE(0);
  const put = (n: number, value: bigint) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(value);
    accounts.write(bytes, n * RECORD + 8);
  };
  const a = balance(from);
  const b = balance(to);
  put(from, a - cents);
  put(to, b + cents);
}

if (process.argv[2] === "worker") {
  const [mode, from, to, count, file] = process.argv.slice(3);
  using accounts = new OpenFile(file!);
  let deadlocks = 0;
  for (let i = 0; i < Number(count); i++) {
    try {
      transfer(accounts, Number(from), Number(to), mode as Mode);
    } catch (error) {
      if (!(error instanceof DeadlockError)) throw error;
      deadlocks++; // this transfer did not happen
    }
  }
  console.log(deadlocks);
} else {
  const count = Number(process.argv[2] ?? 3000);
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-ordering-`));
  try {
    const file = path.join(dir, "accounts.bin");
    for (const mode of ["naive", "ordered"] as const) {
      const start = Buffer.alloc(2 * RECORD);
      start.writeBigInt64LE(1_000_000n, 8);
      start.writeBigInt64LE(1_000_000n, RECORD + 8);
      fs.writeFileSync(file, start);
      const worker = (from: number, to: number) =>
        Bun.spawn([process.execPath, import.meta.path, "worker", mode, String(from), String(to), String(count), file], { stdout: "pipe" });
      const workers = [worker(0, 1), worker(1, 0)];
      const failed = (await Promise.all(workers.map((w) => new Response(w.stdout).text()))).map(Number);
      const codes = await Promise.all(workers.map((w) => w.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: ${codes}`);
      const bytes = fs.readFileSync(file);
      const total = bytes.readBigInt64LE(8) + bytes.readBigInt64LE(RECORD + 8);
      console.log(`${mode.padEnd(7)}  ${2 * count} transfers, ${failed[0]! + failed[1]!} failed with EDEADLK, money in total: ${total}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
