/**
 * `bun run check`: the overview of every chapter with what to do next, and
 * one chapter task by task with the failed expectation in plain words, the
 * hint and where to read. Runs on the fixture chapters (98-probe,
 * 99-second) and once on the book's worked example, chapter 03.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { FIXTURE_ENV, PROBE_EXERCISE, PROBE_SOLUTION, ROOT, removeTemporary, runTool, submission } from "./helpers.ts";

afterAll(removeTemporary);

const check = (args: string[]) => runTool(["tools/check.ts", ...args], { env: FIXTURE_ENV });
const lines = (text: string) => text.split("\n");

describe("check, the overview", () => {
  test("a table of every chapter, tasks passed of total, and which task to do next", async () => {
    const dir = submission("check-new", [`${PROBE_EXERCISE}/98-probe.ts`, `${PROBE_EXERCISE}/99-second.ts`]);
    const { code, stdout } = await check(["--dir", dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/· 98-probe\s+0\/4\s+0\/8/);
    expect(stdout).toMatch(/· 99-second\s+0\/1\s+0\/1/);
    expect(stdout).toContain("0/5 tasks");
    expect(stdout).toContain("Next: chapter 98-probe, task 1: store a number in a shared-memory object");
    expect(stdout).toContain('read: "Storing a number" in chapters/98-probe.md#storing-a-number');
    expect(stdout).toContain("then: bun run check 98");
  }, 60_000);

  test("a finished chapter is ticked and the next unfinished one is named", async () => {
    const dir = submission("check-half", [`${PROBE_SOLUTION}/98-probe.ts`, `${PROBE_EXERCISE}/99-second.ts`]);
    const { stdout } = await check(["--dir", dir]);
    expect(stdout).toMatch(/✓ 98-probe\s+4\/4\s+8\/8/);
    expect(stdout).toContain("Next: chapter 99-second, task 1: greet by name in a file");
  }, 60_000);

  test("a chapter without its file shows as missing; all done says so", async () => {
    const half = submission("check-missing", [`${PROBE_SOLUTION}/99-second.ts`]);
    expect((await check(["--dir", half])).stdout).toMatch(/· 98-probe\s+–\s+missing/);
    const { stdout } = await check(["--dir", PROBE_SOLUTION]);
    expect(stdout).toContain("Every chapter is done.");
    expect(stdout).toContain("5/5 tasks");
  }, 60_000);
});

describe("check NN", () => {
  test("each task on a line; for a TODO, what to do, the hint and where to read", async () => {
    const { code, stdout } = await check(["98", "--dir", PROBE_EXERCISE]);
    expect(code).toBe(1);
    expect(stdout).toContain("Chapter 98-probe");
    expect(stdout).toContain("0/4 tasks pass, 0/8 points");
    const taskLines = lines(stdout).filter((l) => /^ {2}[✓✗] task \d+:/.test(l));
    expect(taskLines).toEqual([
      "  ✗ task 1: store a number in a shared-memory object (2 points)",
      "  ✗ task 2: write a file (3 points)",
      "  ✗ task 3: double a number (1 point)",
      "  ✗ task 4: two processes meet (2 points)",
    ]);
    const after1 = lines(stdout).slice(lines(stdout).indexOf(taskLines[0]!) + 1, lines(stdout).indexOf(taskLines[1]!));
    expect(after1).toEqual([
      "      store() is still a TODO: Task 1 of chapter 98-probe is not done yet: store(): write the number into /dev/shm",
      "      hint: Write the number, as decimal text, to /dev/shm followed by the name.",
      '      read: "Storing a number" in chapters/98-probe.md#storing-a-number',
    ]);
  }, 60_000);

  test("a wrong answer shows the first failed expectation in plain words; passed tasks are ticked", async () => {
    const dir = submission("check-wrong", [`${PROBE_SOLUTION}/98-probe.ts`]);
    const file = path.join(dir, "98-probe.ts");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("String(value)", "String(value + 1)"));
    const { code, stdout } = await check(["98", "--dir", dir]);
    expect(code).toBe(1);
    expect(stdout).toContain("  ✓ task 2: write a file (3 points)");
    expect(stdout).toContain("  ✗ task 1: store a number in a shared-memory object (2 points)");
    expect(stdout).toMatch(/\n {6}\/ipcbook-t[\w-]+probe-value-\d+ holds "(\d+)"; store\(\) was given (\d+)\n/);
    expect(stdout).toContain("3/4 tasks pass, 6/8 points");
  }, 60_000);

  test("a solved chapter exits 0; an unknown chapter is a usage error", async () => {
    const solved = await check(["98", "--dir", PROBE_SOLUTION]);
    expect(solved.code).toBe(0);
    expect(solved.stdout).toContain("Chapter done.");
    const unknown = await check(["42"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("There is no chapter 42. Chapters: 98-probe, 99-second");
  }, 60_000);

  test("on the worked example, chapter 03, the hints and sections come from its graded test", async () => {
    const { code, stdout } = await runTool(["tools/check.ts", "03", "--dir", path.join(ROOT, "exercises")]);
    expect(code).toBe(1);
    expect(stdout).toContain("  ✗ task 2: several processes increment a shared counter with no lost update (3 points)");
    expect(stdout).toContain("      hint: `counter[0]++` is a read, an add and a write");
    expect(stdout).toContain('      read: "Races on shared memory" in chapters/03-shm.md#races-on-shared-memory');
  }, 60_000);
});
