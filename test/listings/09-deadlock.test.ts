/**
 * Runs every listing of chapter 9 (examples/09-deadlock/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no temporary folder, and no
 * process it started (a deadlocked child it forgot would wait forever).
 * Measured numbers (times, counts of failed attempts) are printed, never
 * asserted.
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/09-deadlock", { leaks: ["processes", "tmp"] });

describe("chapter 9 listings", () => {
  listing("printer-floppy.ts", ({ stdout }) => {
    const [a, b] = stdout.match(/A = (\d+) holds the printer and waits for the floppy; B = (\d+) holds the floppy/)!.slice(1);
    expect(stdout).toContain("deadlock of 2 processes:");
    expect(stdout).toMatch(new RegExp(`${a} \\(\\S+\\) waits for ${b} \\(\\S+\\): exclusive flock on \\S+/floppy`));
    expect(stdout).toMatch(new RegExp(`${b} \\(\\S+\\) waits for ${a} \\(\\S+\\): exclusive flock on \\S+/printer`));
    expect(stdout).toContain(`killed ${b}; A says: ${a} has both devices`);
    expect(stdout).toContain("deadlocks left: 0");
  });

  listing("edeadlk.ts", ({ stdout }) => {
    expect(stdout).toContain("A holds byte 0 and waits for byte 1; B holds byte 1 and now asks for byte 0");
    expect(stdout).toContain("B: EDEADLK from fcntl(F_SETLKW): giving up byte 1");
    expect(stdout).toContain("A: got byte 1 too");
  });

  listing("ordering.ts", ({ stdout }) => {
    console.log(`ordering measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toMatch(/^naive\s+1000 transfers, \d+ failed with EDEADLK, money in total: 2000000$/m);
    expect(stdout).toMatch(/^ordered\s+1000 transfers, 0 failed with EDEADLK, money in total: 2000000$/m);
  }, { args: ["500"] });

  listing("backoff.ts", ({ stdout }) => {
    console.log(`backoff measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toContain("lockRanges with a timeout of 0.3 s: TimeoutError ETIMEDOUT");
    expect(stdout).toContain("locks this process holds afterwards: 0");
    expect(stdout).toMatch(/^at once\s+\d+ of 200 rounds done, \d+ attempts failed$/m);
    expect(stdout).toMatch(/^random back-off\s+200 of 200 rounds done, \d+ attempts failed$/m);
  }, { args: ["100"] });

  listing("starvation.ts", ({ stdout }) => {
    expect(stdout).toContain("500 shared locks granted while the writer waited; after 500 of them it still had nothing");
    expect(stdout).toContain("the writer has its exclusive lock");
  }, { args: ["500"] });

  listing("big-lock.ts", ({ stdout }) => {
    console.log(`big-lock measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toMatch(/^one big lock\s+counters 20 20 20 20\s+in \d+ ms$/m);
    expect(stdout).toMatch(/^a lock per record\s+counters 20 20 20 20\s+in \d+ ms$/m);
  }, { args: ["20"] });

  everyListingRun();
});
