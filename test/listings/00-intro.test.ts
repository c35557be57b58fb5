/**
 * Runs the listings of the introduction (examples/00-intro/) as real
 * processes, each with its own IPC_PREFIX, and checks what they printed,
 * their exit status, and that they left nothing in /dev/shm.
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/00-intro", { leaks: ["shm"] });

describe("introduction listings", () => {
  listing("lost-bonus.ts", ({ stdout }) => {
    console.log(`lost-bonus measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toContain("1000 employees, 200 rounds: raises of 100 and bonuses of 500");
    const m = stdout.match(/payroll expected (\d+)\s+got (\d+)\s+lost (\d+) crowns/);
    expect(m).not.toBeNull();
    const [expected, got, lost] = [Number(m![1]), Number(m![2]), Number(m![3])];
    expect(expected).toBe(1000 * (30_000 + 200 * 600));
    // How much is lost depends on the scheduler; the books must balance, and
    // every loss is a whole number of raises (100) and bonuses (500).
    expect(got + lost).toBe(expected);
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost % 100).toBe(0);
    const short = stdout.match(/(\d+) of 1000 employees are short-paid/);
    expect(short).not.toBeNull();
    expect(Number(short![1]) === 0).toBe(lost === 0);
  });

  everyListingRun();
});
