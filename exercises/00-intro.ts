/**
 * Chapter 00 warm-up (optional): two processes, one file, no lost update.
 *
 * The payroll of the introduction's race story, kept in a plain text file
 * that several processes change at the same time. Three small tasks, each
 * a function below with a TODO; they need nothing but `node:fs`. Replace
 * each `todo(...)` line with your code; the chapter section named in it
 * teaches what you need.
 *
 *   bun run exercises/00-intro.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 00                  grades the tasks the way your instructor will
 *
 * The grader runs your functions in separate processes, several at once,
 * and then reads the files they left: only the right bytes in the file
 * earn the points.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runDemo, todo } from "./support.ts";

const CHAPTER = "00-intro";

// ANCHOR: ledger
/**
 * The payroll ledger: a text file with one change per line, the employee's
 * name, a space and a whole number of crowns (which may be negative):
 *
 *   novak 100
 *   svoboda 100
 *   novak 500
 *
 * An employee's salary is the sum of that employee's lines. Names are
 * lower-case letters only.
 */
export const LEDGER_LINE = /^([a-z]+) (-?\d+)$/;
// ANCHOR_END: ledger

// ANCHOR: task1
/**
 * Task 1. Add the line "`employee` `amount`" to the end of the ledger at
 * `ledger` (create the file if it does not exist). Several processes do
 * this at the same moment, hundreds of times each: no line may be lost,
 * doubled or torn in two. Do it with one append, never by reading the
 * file, changing it in memory and writing it all back.
 */
export function recordChange(ledger: string, employee: string, amount: number): void {
  todo(CHAPTER, 1, "recordChange(): append one line to the ledger, in one write", "When two processes change the same data");
}
// ANCHOR_END: task1

// ANCHOR: task2
/**
 * Task 2. The salary of `employee`: the sum of the amounts on that
 * employee's lines of the ledger. An employee with no line earns 0; a line
 * that does not match LEDGER_LINE is an error (throw one).
 */
export function salaryOf(ledger: string, employee: string): number {
  todo(CHAPTER, 2, "salaryOf(): add up the employee's lines", "When two processes change the same data");
}
// ANCHOR_END: task2

// ANCHOR: task3
/**
 * Task 3. Several clerks start at the same moment, and exactly one of them
 * may run the monthly payroll. Each calls `claimPayroll(marker, clerk)`:
 * the first to create the file `marker` wins, writes its name into it and
 * returns true; every other clerk returns false and leaves the file alone.
 * A marker that exists already (from an earlier run) means nobody wins.
 * "Check whether it exists, then create it" is two steps, and another
 * clerk can come between them: make it one.
 */
export function claimPayroll(marker: string, clerk: string): boolean {
  todo(CHAPTER, 3, "claimPayroll(): create the marker file exclusively; exactly one clerk wins", "Where races hide");
}
// ANCHOR_END: task3

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/00-intro.ts` runs. You do not
 * need to change anything below.
 * ---------------------------------------------------------------------- */

const CLERKS = ["secretary", "boss", "accountant"];
const CHANGES = 300;

async function demo(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-intro-"));
  const ledger = path.join(dir, "ledger.txt");
  const marker = path.join(dir, "payroll.claimed");
  try {
    recordChange(ledger, "svoboda", 100);
    // The secretary gives everyone a raise while the boss adds bonuses and
    // the accountant makes corrections, all at once, in three processes.
    const workers = CLERKS.map((clerk) =>
      Bun.spawn([process.execPath, import.meta.path, "clerk", ledger, clerk], { stderr: "inherit" }),
    );
    if ((await Promise.all(workers.map((w) => w.exited))).some((code) => code !== 0)) {
      process.exitCode = 1; // the workers have said what went wrong
      return;
    }
    const lines = fs.readFileSync(ledger, "utf8").split("\n").filter((line) => line !== "");
    console.log(`Task 1: ${CLERKS.length} processes × ${CHANGES} changes + 1 = ${lines.length} lines (expected ${CLERKS.length * CHANGES + 1})`);

    console.log(`Task 2: novak earns ${salaryOf(ledger, "novak")} (expected ${CHANGES * 100 + CHANGES * 500 - CHANGES * 50})`);

    const claims = CLERKS.map((clerk) =>
      Bun.spawn([process.execPath, import.meta.path, "claim", marker, clerk], { stdout: "pipe", stderr: "inherit" }),
    );
    const answers = await Promise.all(claims.map(async (c) => (await new Response(c.stdout).text()).trim()));
    const winners = CLERKS.filter((_, i) => answers[i] === "true");
    console.log(`Task 3: winners ${JSON.stringify(winners)}, the marker names "${fs.readFileSync(marker, "utf8").trim()}"`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Records several changes for one employee, one `recordChange` call each,
 * in order. The grader calls this in several processes at once.
 */
export function recordChanges(ledger: string, employee: string, amounts: number[]): void {
  for (const amount of amounts) recordChange(ledger, employee, amount);
}

/** One clerk's work in its own process: a raise, a bonus or a correction for novak, CHANGES times. */
function clerk(ledger: string, who: string): void {
  const amount = { secretary: 100, boss: 500, accountant: -50 }[who] ?? 0;
  recordChanges(ledger, "novak", Array.from({ length: CHANGES }, () => amount));
}

if (import.meta.main) {
  const [mode, file, who] = process.argv.slice(2);
  if (mode === "clerk" && file && who) await runDemo(() => clerk(file, who));
  else if (mode === "claim" && file && who) await runDemo(() => console.log(claimPayroll(file, who)));
  else await runDemo(demo);
}
