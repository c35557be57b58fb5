/**
 * Graded tests of the chapter 00 warm-up (a payroll ledger in a file). The
 * student's functions run in their own processes, several at once; every
 * verdict comes from the files themselves, read here.
 *
 *   bun test test/00-intro.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/00-intro.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { gradedChapter, must } from "./harness/task.ts";

const { task } = gradedChapter("00-intro");

/** A random lower-case name the student cannot guess. */
function randomName(): string {
  return Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join("");
}

const WRITERS = 4;
const CHANGES = 250;

task(
  {
    number: 1,
    title: "append changes to the ledger from several processes, none lost or torn",
    points: 3,
    read: "When two processes change the same data",
    hint: "Reading the file, adding a line and writing it all back is a read-modify-write: two processes interleave it and one overwrites the other. `fs.appendFileSync(ledger, line)` opens with O_APPEND, and the kernel then adds each write at the end as one step.",
    timeoutMs: 60_000,
  },
  async (t) => {
    const dir = t.scratch("ledger");
    const ledger = path.join(dir, "ledger.txt");

    // One call first, on a ledger that does not exist yet.
    const first = { employee: randomName(), amount: randomInt(-999, 1000) };
    t.done(await t.call("recordChange", [ledger, first.employee, first.amount]), "recordChange()");
    must(fs.existsSync(ledger), "recordChange() did not create the ledger file");
    must(
      fs.readFileSync(ledger, "utf8") === `${first.employee} ${first.amount}\n`,
      `after one recordChange("${first.employee}", ${first.amount}) the ledger should hold exactly the line "${first.employee} ${first.amount}" and a newline; it holds ${JSON.stringify(fs.readFileSync(ledger, "utf8").slice(0, 200))}`,
    );

    // Then several processes at once, each recording many changes.
    const writers = Array.from({ length: WRITERS }, () => ({
      employee: randomName(),
      amounts: Array.from({ length: CHANGES }, () => randomInt(-5000, 5000)),
    }));
    // (recordChanges, below the tasks in the exercise file, calls recordChange once per amount.)
    const results = await t.callTogether("recordChanges", writers.map((w) => [ledger, w.employee, w.amounts]));
    results.forEach((result, i) => t.done(result, `recordChange() in process ${i + 1}`));

    const lines = fs.readFileSync(ledger, "utf8").split("\n");
    must(lines.at(-1) === "", "the ledger should end with a newline after the last line");
    lines.pop();
    const expected = 1 + WRITERS * CHANGES;
    const torn = lines.filter((line) => !/^[a-z]+ -?\d+$/.test(line));
    must(torn.length === 0, `${torn.length} lines of the ledger are torn or malformed, such as ${JSON.stringify(torn[0])}: each change must be written whole, in one append`);
    must(
      lines.length === expected,
      `${WRITERS} processes recorded ${WRITERS * CHANGES} changes after the first one, so the ledger should have ${expected} lines; it has ${lines.length}: ${expected - lines.length} changes were lost`,
    );
    for (const w of writers) {
      const mine = lines.filter((line) => line.startsWith(`${w.employee} `)).map((line) => Number(line.split(" ")[1]));
      must(
        JSON.stringify(mine) === JSON.stringify(w.amounts),
        `the lines of ${w.employee} are not the ${CHANGES} changes that process recorded, in its order`,
      );
    }
  },
);

task(
  {
    number: 2,
    title: "add up an employee's salary from the ledger",
    points: 2,
    read: "When two processes change the same data",
    hint: "Read the file, split it into lines, skip the empty last one, match each against LEDGER_LINE, and add up the amounts of the lines whose name is the employee's.",
  },
  async (t) => {
    const dir = t.scratch("salary");
    const ledger = path.join(dir, "ledger.txt");
    const employees = [randomName(), randomName(), randomName()];
    const totals = new Map(employees.map((e) => [e, 0]));
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) {
      const employee = employees[randomInt(employees.length)]!;
      const amount = randomInt(-3000, 3000);
      totals.set(employee, totals.get(employee)! + amount);
      lines.push(`${employee} ${amount}`);
    }
    // A name that is a prefix of another must not be counted with it.
    const prefix = employees[0]!.slice(0, 4);
    lines.push(`${prefix} 777`);
    fs.writeFileSync(ledger, `${lines.join("\n")}\n`);

    for (const employee of employees) {
      const result = await t.call("salaryOf", [ledger, employee]);
      t.done(result, `salaryOf("${employee}")`);
      must(result.value === totals.get(employee), `salaryOf("${employee}") returned ${JSON.stringify(result.value)}; the ledger adds up to ${totals.get(employee)}`);
    }
    const nobody = await t.call("salaryOf", [ledger, randomName()]);
    t.done(nobody, "salaryOf() for an employee with no line");
    must(nobody.value === 0, `salaryOf() for an employee with no line returned ${JSON.stringify(nobody.value)}; it should be 0`);

    fs.appendFileSync(ledger, "this is not a ledger line\n");
    const broken = await t.call("salaryOf", [ledger, employees[0]]);
    must(!broken.ok && broken.error !== undefined, "salaryOf() on a ledger with a malformed line must throw an error, not skip the line");
  },
);

const CLERKS = 6;

task(
  {
    number: 3,
    title: "exactly one of several clerks claims the payroll",
    points: 3,
    read: "Where races hide",
    hint: "`fs.existsSync` followed by `fs.writeFileSync` is check-then-act: several clerks can pass the check before any of them creates the file. Open with the flag \"wx\" (O_CREAT | O_EXCL): the kernel checks and creates in one step and fails with EEXIST for everyone else.",
  },
  async (t) => {
    for (let round = 0; round < 3; round++) {
      const dir = t.scratch("claim");
      const marker = path.join(dir, "payroll.claimed");
      const clerks = Array.from({ length: CLERKS }, randomName);
      const results = await t.callTogether("claimPayroll", clerks.map((clerk) => [marker, clerk]));
      results.forEach((result, i) => t.done(result, `claimPayroll() of clerk ${i + 1}`));
      const winners = clerks.filter((_, i) => results[i]!.value === true);
      must(
        results.every((r) => typeof r.value === "boolean"),
        "claimPayroll() must return true or false",
      );
      must(winners.length === 1, `${CLERKS} clerks claimed the payroll at once and ${winners.length} of them won; exactly one may`);
      must(fs.existsSync(marker), "the winner did not leave the marker file");
      const content = fs.readFileSync(marker, "utf8").trim();
      must(content === winners[0], `the marker should name the winner, ${winners[0]}; it says ${JSON.stringify(content.slice(0, 100))}`);
    }

    // A marker from an earlier run: nobody wins and it stays as it was.
    const dir = t.scratch("claimed");
    const marker = path.join(dir, "payroll.claimed");
    const earlier = `${randomName()}\n`;
    fs.writeFileSync(marker, earlier);
    const late = await t.call("claimPayroll", [marker, randomName()]);
    t.done(late, "claimPayroll() on an existing marker");
    must(late.value === false, `claimPayroll() returned ${JSON.stringify(late.value)} although the marker existed already; it should return false`);
    must(fs.readFileSync(marker, "utf8") === earlier, "claimPayroll() changed a marker that existed before it was called");
  },
);
