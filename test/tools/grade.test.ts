/**
 * `bun run grade`: points per task, every output format checked against
 * the shape its consumer documents (Gradescope results.json, Exercism test
 * runner v3 results.json, JUnit XML), the CSV class summary, the exit
 * status, what is taken from a submission (its chapter files, nothing
 * else), and the book's real chapters graded inside the box.
 *
 * Runs on the fixture chapters (test/fixtures/graded/), except the last test.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { gradedChapters } from "../harness/graded-files.ts";
import { parseJUnit } from "../harness/graded-files.ts";
import { FIXTURE_ENV, PROBE_EXERCISE, PROBE_SOLUTION, ROOT, removeTemporary, runTool, submission, temporary, temporaryEntries } from "./helpers.ts";

afterAll(removeTemporary);

const grade = (args: string[], env: Record<string, string> = FIXTURE_ENV) => runTool(["tools/grade.ts", "--quiet", ...args], { env });

// Three students: all done, nothing done, and one with a wrong answer in task 1 and chapter 99 not started.
let alice: string;
let bob: string;
let carol: string;
let gradeDirsBefore: string[];

beforeAll(() => {
  gradeDirsBefore = temporaryEntries("ipcbook-grade-");
  const base = temporary("class");
  alice = path.join(base, "alice");
  bob = path.join(base, "bob");
  carol = path.join(base, "carol");
  for (const dir of [alice, bob, carol]) fs.mkdirSync(dir);
  for (const file of ["98-probe.ts", "99-second.ts"]) {
    fs.copyFileSync(path.join(PROBE_SOLUTION, file), path.join(alice, file));
    fs.copyFileSync(path.join(PROBE_EXERCISE, file), path.join(bob, file));
  }
  const wrong = fs.readFileSync(path.join(PROBE_SOLUTION, "98-probe.ts"), "utf8").replace("String(value)", "String(-value)");
  fs.writeFileSync(path.join(carol, "98-probe.ts"), wrong);
});

// --- The documented shapes, as small validators. ---------------------------------

type Json = Record<string, unknown>;
const isString = (v: unknown) => typeof v === "string";
const isNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);

/** Gradescope autograder results.json: score, execution_time, output, tests[] {name, score, max_score, status, output, visibility}. */
function gradescopeProblems(result: Json): string[] {
  const problems: string[] = [];
  if (!isNumber(result.score)) problems.push("score must be a number");
  if (!isNumber(result.execution_time)) problems.push("execution_time must be a number of seconds");
  if (!isString(result.output)) problems.push("output must be a string");
  if (!Array.isArray(result.tests)) return [...problems, "tests must be an array"];
  for (const t of result.tests as Json[]) {
    if (!isString(t.name)) problems.push("test.name must be a string");
    if (!isNumber(t.score) || !isNumber(t.max_score)) problems.push(`${t.name}: score and max_score must be numbers`);
    if (t.status !== "passed" && t.status !== "failed") problems.push(`${t.name}: status must be passed or failed`);
    if (!isString(t.output)) problems.push(`${t.name}: output must be a string`);
    if (!["visible", "hidden", "after_due_date", "after_published"].includes(t.visibility as string)) problems.push(`${t.name}: bad visibility`);
  }
  return problems;
}

/** Exercism test runner results.json, version 3. */
function exercismProblems(result: Json): string[] {
  const problems: string[] = [];
  if (result.version !== 3) problems.push("version must be 3");
  if (!["pass", "fail", "error"].includes(result.status as string)) problems.push("status must be pass, fail or error");
  if (result.status === "error" && !isString(result.message)) problems.push("an error needs a message");
  if (!Array.isArray(result.tests)) return [...problems, "tests must be an array"];
  for (const t of result.tests as Json[]) {
    if (!isString(t.name)) problems.push("test.name must be a string");
    if (!["pass", "fail", "error"].includes(t.status as string)) problems.push(`${t.name}: bad status`);
    if (t.status !== "pass" && !isString(t.message)) problems.push(`${t.name}: a failure needs a message`);
    if (t.status === "pass" && t.message !== null) problems.push(`${t.name}: a pass has a null message`);
    if (t.output !== null && !isString(t.output)) problems.push(`${t.name}: output is a string or null`);
    if (!isString(t.test_code)) problems.push(`${t.name}: test_code must be a string`);
    if (!Number.isInteger(t.task_id) || (t.task_id as number) < 1) problems.push(`${t.name}: task_id must be a positive integer`);
  }
  return problems;
}

describe("grade", () => {
  let report: Json;

  test("json: every chapter present, points per task, partial credit; exit 0 whatever the scores", async () => {
    const out = path.join(temporary("json"), "grades.json");
    const { code, stderr } = await grade([alice, bob, carol, "--format", "json", "--out", out]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    report = JSON.parse(fs.readFileSync(out, "utf8")) as Json;
    expect(report.isolation).toContain("namespaces");
    const subs = report.submissions as { name: string; score: number; max_score: number; status: string; chapters: { chapter: string; status: string; score: number; tasks: { number: number; status: string; score: number; message: string }[] }[] }[];
    expect(subs.map((s) => [s.name, s.score, s.max_score, s.status])).toEqual([
      ["alice", 9, 9, "graded"],
      ["bob", 0, 9, "graded"],
      ["carol", 6, 9, "graded"],
    ]);
    const carol98 = subs[2]!.chapters.find((c) => c.chapter === "98-probe")!;
    expect(carol98.tasks.map((t) => [t.number, t.status, t.score])).toEqual([
      [1, "failed", 0],
      [2, "passed", 3],
      [3, "passed", 1],
      [4, "passed", 2],
    ]);
    expect(carol98.tasks[0]!.message).toMatch(/holds "-\d+"; store\(\) was given \d+/);
    expect(subs[2]!.chapters.find((c) => c.chapter === "99-second")!.status).toBe("missing");
    expect(subs[1]!.chapters[0]!.tasks[0]!.message).toContain("still a TODO");
  }, 120_000);

  test("gradescope: one submission gives Gradescope's results.json", async () => {
    const { code, stdout } = await grade([carol, "--format", "gradescope"]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Json;
    expect(gradescopeProblems(result)).toEqual([]);
    expect(result.score).toBe(6);
    const tests = result.tests as Json[];
    expect(tests.map((t) => [t.name, t.score, t.max_score, t.status])).toEqual([
      ["98-probe task 1: store a number in a shared-memory object", 0, 2, "failed"],
      ["98-probe task 2: write a file", 3, 3, "passed"],
      ["98-probe task 3: double a number", 1, 1, "passed"],
      ["98-probe task 4: two processes meet", 2, 2, "passed"],
    ]);
    expect(tests[0]!.output).toContain("Hint: Write the number, as decimal text");
  }, 60_000);

  test("exercism: version 3 results with each task's test code and task id", async () => {
    const { code, stdout } = await grade([carol, "--format", "exercism"]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as Json;
    expect(exercismProblems(result)).toEqual([]);
    expect(result.status).toBe("fail");
    const tests = result.tests as Json[];
    expect(tests.map((t) => [t.status, t.task_id])).toEqual([
      ["fail", 1],
      ["pass", 2],
      ["pass", 3],
      ["pass", 4],
    ]);
    expect(tests[0]!.test_code).toContain('t.call("store", [name, value])');
    expect(tests[1]!.test_code).toContain('t.call("save", [file, text])');

    const passing = JSON.parse((await grade([PROBE_SOLUTION, "--format", "exercism", "--chapters", "98"])).stdout) as Json;
    expect(exercismProblems(passing)).toEqual([]);
    expect(passing.status).toBe("pass");
    const empty = JSON.parse((await grade([temporary("empty"), "--format", "exercism", "--chapters", "98"])).stdout) as Json;
    expect(exercismProblems(empty)).toEqual([]);
    expect(empty.status).toBe("error");
  }, 60_000);

  test("several submissions in gradescope and exercism give an array of those results", async () => {
    const { stdout } = await grade([alice, bob, "--format", "gradescope", "--jobs", "2"]);
    const results = JSON.parse(stdout) as Json[];
    expect(results.map((r) => r.score)).toEqual([9, 0]);
    for (const r of results) expect(gradescopeProblems(r)).toEqual([]);
  }, 60_000);

  test("junit: a suite per submission and chapter, a case per task, failures with their message", async () => {
    const { code, stdout } = await grade([alice, carol, "--format", "junit"]);
    expect(code).toBe(0);
    expect(stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="grade" tests="10" failures="1" errors="1"')).toBe(true);
    expect(stdout.match(/<testsuite /g)?.length).toBe(4);
    const cases = parseJUnit(stdout);
    expect(cases.length).toBe(10);
    expect(cases.filter((c) => !c.passed).map((c) => c.name)).toEqual(["task 1: store a number in a shared-memory object", "task 1: greet by name in a file"]);
    expect(cases.find((c) => !c.passed)!.message).toMatch(/store\(\) was given/);
  }, 60_000);

  test("table (the default) on standard output, a progress line per submission on standard error, and a CSV class summary", async () => {
    const csvFile = path.join(temporary("csv"), "class.csv");
    const { code, stdout, stderr } = await runTool(["tools/grade.ts", alice, bob, carol, "--csv", csvFile], { env: FIXTURE_ENV });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^submission\s+98-probe\s+99-second\s+total\s+status$/m);
    expect(stdout).toMatch(/^alice\s+8\/8\s+1\/1\s+9\/9\s+graded$/m);
    expect(stdout).toMatch(/^carol\s+6\/8\s+–\s+6\/9\s+graded$/m);
    expect(stderr.trim().split("\n").length).toBe(3);
    expect(stderr).toMatch(/^graded 3\/3: \w+ \d+\/9$/m);
    expect(fs.readFileSync(csvFile, "utf8").trim().split("\n")).toEqual([
      "submission,path,status,score,max_score,execution_time,98-probe,99-second,message",
      expect.stringMatching(new RegExp(`^alice,${alice},graded,9,9,[\\d.]+,8,1,$`)),
      expect.stringMatching(new RegExp(`^bob,${bob},graded,0,9,[\\d.]+,0,0,$`)),
      expect.stringMatching(new RegExp(`^carol,${carol},graded,6,9,[\\d.]+,6,0,$`)),
    ]);
  }, 120_000);

  test("non-zero only when it could not grade: a missing folder is 1 (the rest is graded), a bad option 2", async () => {
    const missing = await grade([alice, path.join(temporary("gone"), "nobody"), "--format", "json", "--chapters", "98"]);
    expect(missing.code).toBe(1);
    const subs = (JSON.parse(missing.stdout) as Json).submissions as Json[];
    expect(subs.map((s) => [s.score, s.status])).toEqual([
      [8, "graded"],
      [0, "error"],
    ]);
    expect((await grade([alice, "--format", "yaml"])).code).toBe(2);
    expect((await grade([])).code).toBe(2);
    expect((await grade([alice, "--jobs", "zero"])).code).toBe(2);
  }, 60_000);

  test("takes only the chapter files: a link to a solution is refused; a clone's exercises/ is found", async () => {
    const linked = temporary("linked");
    fs.symlinkSync(path.join(PROBE_SOLUTION, "98-probe.ts"), path.join(linked, "98-probe.ts"));
    const clone = temporary("clone");
    fs.mkdirSync(path.join(clone, "exercises"));
    fs.copyFileSync(path.join(PROBE_SOLUTION, "98-probe.ts"), path.join(clone, "exercises", "98-probe.ts"));
    const { code, stdout } = await grade([linked, clone, "--format", "json", "--chapters", "98"]);
    expect(code).toBe(0);
    const subs = (JSON.parse(stdout) as Json).submissions as { score: number; chapters: { status: string; message: string }[] }[];
    expect(subs[0]!.score).toBe(0);
    expect(subs[0]!.chapters[0]!.status).toBe("rejected");
    expect(subs[0]!.chapters[0]!.message).toContain("not a regular file");
    expect(subs[1]!.score).toBe(8);
  }, 60_000);

  test("the book's own chapters: the solutions earn every point inside the box, the exercises none", async () => {
    const chapters = gradedChapters(); // the real ones: no IPC_GRADED_DIR here
    expect(chapters.length).toBeGreaterThan(0);
    const solutions = submission("book-solutions", chapters.map((c) => path.join(ROOT, "solutions", `${c.chapter}.ts`)).filter((f) => fs.existsSync(f)));
    const exercises = submission("book-exercises", chapters.map((c) => path.join(ROOT, "exercises", `${c.chapter}.ts`)).filter((f) => fs.existsSync(f)));
    const { code, stdout } = await grade([solutions, exercises, "--format", "json"], {});
    const subs = (JSON.parse(stdout) as Json).submissions as { score: number; max_score: number; chapters: { chapter: string; score: number; max_score: number; tasks: { status: string; message: string; number: number }[] }[] }[];
    const lost = subs[0]!.chapters.flatMap((c) => c.tasks.filter((t) => t.status !== "passed").map((t) => `${c.chapter} task ${t.number}: ${t.message}`));
    expect(lost).toEqual([]);
    expect(subs[0]!.score).toBe(subs[0]!.max_score);
    expect(subs[1]!.score).toBe(0);
    expect(code).toBe(0);
  }, 300_000);

  test("works for an instructor who is not root (run as nobody when the suite runs as root)", async () => {
    const setpriv = Bun.which("setpriv");
    if (process.getuid?.() !== 0 || !setpriv) return; // not root: every other test here already is that instructor
    const run = Bun.spawn(
      [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "tools/grade.ts", PROBE_SOLUTION, "--chapters", "98", "--format", "json", "--quiet"],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", TMPDIR: "/tmp", ...FIXTURE_ENV }, stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text()]);
    expect(stderr).toBe("");
    expect(await run.exited).toBe(0);
    const result = JSON.parse(stdout) as { isolation: string; submissions: { score: number }[] };
    expect(result.submissions[0]!.score).toBe(8);
    expect(result.isolation).toMatch(/^(namespaces|process groups)/);
  }, 60_000);

  test("leaves no grading folder behind", () => {
    expect(temporaryEntries("ipcbook-grade-").filter((e) => !gradeDirsBefore.includes(e))).toEqual([]);
  });
});
