/**
 * Runs every listing of chapter 8 (examples/08-locks/) as a real process,
 * with its own IPC_PREFIX, and checks what it printed, its exit code, and
 * that it left nothing behind: no temporary folder, and no process it
 * started (a lock holder it forgot would keep its locks).
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/08-locks", { leaks: ["processes", "tmp"] });

describe("chapter 8 listings", () => {
  listing("toctou.ts", ({ stdout }) => {
    expect(stdout).toMatch(/has mode 1777: everyone may create files there/);
    expect(stdout).toContain('after the race, passwords holds: "quarterly figures\\n"');
    expect(stdout).toContain("O_CREAT|O_EXCL on the planted name: EEXIST");
    expect(stdout).toMatch(/TempFile\.create: report-X{16}\.tmp \(16 random characters\), mode 600/);
  });

  listing("advisory.ts", ({ stdout }) => {
    expect(stdout).toMatch(/holder \d+ has an exclusive flock on ledger\.txt/);
    expect(stdout).toContain('rude write: succeeded, the file now reads "balance 100\\nbalance 1000000\\n"');
    expect(stdout).toContain('polite tryFlock("exclusive"): refused, so it does not write');
  });

  listing("flock.ts", ({ stdout }) => {
    const [shared, waits, after] = stdout.split(/the writer waits:|the readers are gone; the writer holds:/);
    expect(shared!.match(/FLOCK shared\s+reader [12]/g)).toHaveLength(2);
    expect(stdout).toContain('flock("exclusive", { timeout: 0 }): BusyError EAGAIN');
    expect(stdout).toContain('flock("exclusive", { timeout: 0.2 }): TimeoutError ETIMEDOUT');
    expect(waits).toMatch(/-> FLOCK exclusive writer/);
    expect(waits!.match(/FLOCK shared\s+reader [12]/g)).toHaveLength(2);
    expect(after!.trim()).toBe("FLOCK exclusive writer");
  });

  listing("counter.ts", ({ stdout }) => {
    console.log(`counter measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    const none = stdout.match(/^no lock\s+expected (\d+)\s+got (-?\d+)\s+lost (-?\d+)$/m);
    const locked = stdout.match(/^flock\s+expected (\d+)\s+got (\d+)\s+lost (-?\d+)$/m);
    expect(none).not.toBeNull();
    expect(locked).not.toBeNull();
    // Without a lock anything can happen (even a number above the expected one); with flock, nothing is lost.
    expect(Number(none![2]) + Number(none![3])).toBe(Number(none![1]));
    expect(locked![2]).toBe(locked![1]);
    expect(locked![3]).toBe("0");
  }, { args: ["3", "300"] });

  listing("record-locks.ts", ({ stdout }) => {
    const clerk = stdout.match(/the clerk is (\d+)/)![1];
    expect(stdout).toContain("lock record 1 for writing: granted");
    expect(stdout).toContain("lock record 2 for reading: granted");
    expect(stdout).toContain("lock record 2 for writing: refused");
    expect(stdout).toContain("lock record 0 for reading: refused");
    expect(stdout).toMatch(new RegExp(`F_GETLK on record 0: exclusive lock on bytes 0\\.\\.15, held by ${clerk} \\(\\S+\\)`));
  });

  listing("close-gotcha.ts", ({ stdout }) => {
    expect(stdout).toContain("POSIX lock taken:   /proc/locks lists POSIX exclusive 0..9; another process may lock: false");
    expect(stdout).toContain("after reading 16 bytes with fs.readFileSync: /proc/locks lists nothing; another process may lock: true");
    expect(stdout).toContain("OFD lock, after fs.readFileSync: /proc/locks lists OFD exclusive 0..9; another process may lock: false");
    expect(stdout).toContain("a second open file of this process may take the OFD lock: false");
    expect(stdout).toContain("after closing its own descriptor: /proc/locks lists nothing");
  });

  listing("lock-file.ts", ({ stdout }) => {
    const us = stdout.match(/^we \((\d+)\) hold shadow\.lock/m)![1];
    expect(stdout).toContain(`it contains "${us}\\n", mode 644`);
    expect(stdout).toMatch(new RegExp(`second process: LockHeldError: .*the lock file is held by process ${us} \\(\\S+\\), which is alive`));
    expect(stdout).toContain("released: shadow.lock exists: false");
    const owner = stdout.match(/owner (\d+) killed; shadow\.lock still names it: alive false, stale true/)![1];
    expect(stdout).toContain(`took over the stale lock of ${owner}; it now contains "${us}\\n"`);
    expect(stdout).toContain(`is ${owner} alive? false; are we (${us})? true`);
  });

  listing("shell-locks.ts", ({ stdout }) => {
    expect(stdout).toMatch(/\(first\)  exit 0\n.*\(second\) exit 2: cannot create app\.lock: File exists/);
    expect(stdout).toMatch(/mkdir app\.lock\.d\s+\(first\)  exit 0\nmkdir app\.lock\.d\s+\(second\) exit 1/);
    if (Bun.which("flock") !== null) {
      expect(stdout.match(/flock -[nw] .*exit 1/g)).toHaveLength(2);
      expect(stdout).toMatch(/flock -n job\.lock echo ran\s+exit 0: ran\s+\(after we let go\)/);
    }
  });

  listing("inspect.ts", ({ stdout }) => {
    const pids = stdout.match(/holders: flock (\d+), posix (\d+), ofd (\d+); this process (\d+)/)!.slice(1);
    expect(stdout).toMatch(new RegExp(`FLOCK\\s+exclusive\\s+0\\.\\.EOF\\s+queue\\.txt\\s+${pids[0]} \\(`));
    expect(stdout).toMatch(new RegExp(`POSIX\\s+exclusive\\s+0\\.\\.99\\s+data\\.bin\\s+${pids[1]} \\(`));
    expect(stdout).toMatch(new RegExp(`OFD\\s+shared\\s+100\\.\\.199\\s+data\\.bin\\s+open file of ${pids[2]}\\n`));
    expect(stdout).toMatch(/ -> POSIX\s+exclusive\s+50\.\.149\s+data\.bin\s+this process/);
    if (Bun.which("lslocks") !== null) expect(stdout).toMatch(/lslocks lists \d+ of our locks/);
  });

  everyListingRun();
});
