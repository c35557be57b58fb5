/**
 * Runs every listing of chapter 3 (examples/03-shm/) as a real process, with
 * its own IPC_PREFIX, and checks what it printed, its exit code, and that it
 * left nothing behind: no object in /dev/shm, no System V segment, no
 * temporary directory.
 */
import { describe, expect } from "bun:test";
import fs from "node:fs";
import { listings } from "./support.ts";

const { listing, everyListingRun, prefix } = listings("examples/03-shm", { leaks: ["shm", "tmp", "sysv-shm"] });

describe("chapter 3 listings", () => {
  listing("create-and-map.ts", ({ stdout }) => {
    expect(stdout).toContain(`created /${prefix}-greeting-`);
    expect(stdout).toMatch(/: size 0\n/);
    expect(stdout).toContain("after ftruncate: size 4096");
    expect(stdout).toMatch(/mode 600, 4096 bytes/);
    const writer = stdout.match(/created \/\S+-greeting-(\d+)/)![1];
    expect(stdout).toMatch(new RegExp(`reader \\d+: 4096 bytes, says "hello from process ${writer}"`));
  });

  listing("partial-mapping.ts", ({ stdout }) => {
    expect(stdout).toMatch(/whole mapping, byte \d+: "written through the window"/);
    expect(stdout).toContain("is not a multiple of the page size");
    expect(stdout).toContain("run past the end of");
  });

  listing("private-mapping.ts", ({ stdout }) => {
    expect(stdout).toContain('private, before writing: "original"');
    expect(stdout).toContain('private, after writing:  "changed!"');
    expect(stdout).toContain('shared mapping:          "original"');
    expect(stdout).toContain('a new shared mapping:    "original"');
  });

  listing("lives-on.ts", ({ stdout }) => {
    expect(stdout).toContain('after close:  in /dev/shm: true, mapping reads "still here"');
    expect(stdout).toContain('after unlink: in /dev/shm: false, mapping reads "still here"');
    expect(stdout).toContain('reopen: ENOENT from shm_open (kind "not-found")');
    expect(stdout).toContain("a view kept from before has length 0");
  });

  listing("lost-updates.ts", ({ stdout }) => {
    const totals = new Map<string, { expected: number; got: number; lost: number }>();
    for (const m of stdout.matchAll(/^(plain|atomic)\s+expected (\d+)\s+got (-?\d+)\s+lost (-?\d+)/gm)) {
      totals.set(m[1]!, { expected: Number(m[2]), got: Number(m[3]), lost: Number(m[4]) });
    }
    const plain = totals.get("plain")!;
    const atomic = totals.get("atomic")!;
    expect(plain).toBeDefined();
    expect(atomic).toBeDefined();
    console.log(`lost-updates measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    // The scheduler does not promise that plain increments collide, so only bound them.
    expect(plain.got).toBeGreaterThan(0);
    expect(plain.got).toBeLessThanOrEqual(plain.expected);
    expect(plain.got + plain.lost).toBe(plain.expected);
    expect(atomic.got).toBe(atomic.expected);
    expect(atomic.lost).toBe(0);
  });

  listing("record-layout.ts", ({ stdout }) => {
    expect(stdout).toMatch(/reader \d+: job 7 "kompresja logów", 42% done, started 2024-04-15T10:30:00\.000Z/);
  });

  listing("mapped-file.ts", ({ stdout }) => {
    const [before, after] = stdout.split("after (read back with fs.readFileSync):");
    expect(before).toMatch(/1002\s+12\s+nuts M6/);
    expect(after).toMatch(/1001\s+40\s+bolts M6/);
    expect(after).toMatch(/1002\s+9\s+nuts M6/);
    expect(after).toMatch(/1003\s+7\s+washers/);
  });

  listing("sysv.ts", ({ stdout }) => {
    const id = Number(stdout.match(/shmget: segment (\d+)/)![1]);
    expect(stdout).toMatch(/shmat: 1 attached, 1000 bytes, mode 600/);
    expect(stdout).toContain('still reads "hello, System V"');
    expect(stdout).toMatch(/\bdest\b/);
    expect(stdout).toContain("(no such segment)");
    const ids = fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
    expect(ids.map((row) => Number(row.trim().split(/\s+/)[1]))).not.toContain(id);
  });

  listing("library-errors.ts", ({ stdout }) => {
    expect(stdout).toMatch(/a name without its slash: InvalidError\n\s+code EINVAL \(errno 22\), call shm_open, object counter\n\s+hint: write "\/counter"/);
    expect(stdout).toMatch(/a negative size: RangeError: .*must be at least 0/);
    expect(stdout).toMatch(/creating it a second time: ExistsError\n\s+code EEXIST/);
    expect(stdout).toMatch(/a writable view of a read-only mapping: TypeError: .*SIGSEGV/);
  });

  everyListingRun();
});
