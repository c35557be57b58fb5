/**
 * The grader against hostile submissions (test/fixtures/hostile/, described
 * in its README.md): all of them are graded in one run, two at a time, next
 * to the honest solution. Each must earn nothing for the tasks it attacks,
 * reach nothing outside its box, leave nothing behind, and change nobody
 * else's grade; and no submission can keep the grader past the bounds the
 * instructor set.
 *
 * The hostile submissions are only ever run inside the grader's box: on a
 * machine where namespaces are not available these tests fail and say so,
 * rather than unleash a fork bomb on it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { probeIsolation } from "../../tools/grading/isolation.ts";
import { FIXTURE_ENV, FIXTURES, PROBE_EXERCISE, PROBE_SOLUTION, processesWith, removeTemporary, runTool, temporary, temporaryEntries } from "./helpers.ts";

const HOSTILE = path.join(FIXTURES, "hostile");
const GRADED = FIXTURE_ENV.IPC_GRADED_DIR;
const KINDS = ["exit-early", "fake-results", "globals", "tamper", "fork-bomb", "hang", "deadlock", "escape", "interfere", "kill-grader"];

interface TaskResult {
  number: number;
  status: string;
  score: number;
  message: string;
}
interface Graded {
  name: string;
  status: string;
  score: number;
  max_score: number;
  message: string;
  chapters: { chapter: string; status: string; score: number; message: string; fork_refusals: number; tasks: TaskResult[] }[];
}

const isolation = probeIsolation({ sandbox: "auto" });
const boxed = isolation.level === "box";
const NO_BOX = `the grader's box is not available on this machine (${isolation.notes.join("; ")}): these tests need namespaces (unshare, util-linux) and will not run hostile code without them`;

const canary = path.join(GRADED, `.canary-${randomBytes(4).toString("hex")}`);
const canaryText = randomBytes(16).toString("hex");
const created = path.join(GRADED, ".canary-created");
let gradeDirsBefore: string[] = [];
let exitCode: number | null = null;
let results = new Map<string, Graded>();

function byName(name: string): Graded {
  const found = results.get(name);
  if (!found) throw new Error(`no result for ${name}`);
  return found;
}
function tasksOf(name: string): TaskResult[] {
  return byName(name).chapters[0]!.tasks;
}
const statuses = (name: string) => tasksOf(name).map((t) => t.status);

/** A submission that brings its own tests, harness, support code and bun settings, hoping the grader uses them. */
function configSwap(): string {
  const dir = path.join(temporary("config-swap"), "config-swap");
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(PROBE_EXERCISE, "98-probe.ts"), path.join(dir, "98-probe.ts"));
  const pass = 'import { test } from "bun:test";\nfor (let n = 1; n <= 4; n++) test(`task ${n}: anything`, () => {});\n';
  fs.writeFileSync(path.join(dir, "98-probe.test.ts"), pass);
  fs.mkdirSync(path.join(dir, "harness"));
  fs.writeFileSync(path.join(dir, "harness", "task.ts"), "export const gradedChapter = () => ({ task: () => {} });\n");
  fs.writeFileSync(path.join(dir, "support.ts"), "export function todo(): void {}\n");
  fs.writeFileSync(path.join(dir, "bunfig.toml"), '[test]\npreload = ["./98-probe.test.ts"]\n');
  fs.writeFileSync(path.join(dir, "package.json"), '{ "scripts": { "test": "true" } }\n');
  return dir;
}

beforeAll(async () => {
  if (!boxed) return;
  gradeDirsBefore = temporaryEntries("ipcbook-grade-");
  fs.writeFileSync(canary, canaryText);
  const out = path.join(temporary("hostile"), "grades.json");
  const honest = path.join(temporary("honest"), "honest");
  fs.mkdirSync(honest);
  fs.copyFileSync(path.join(PROBE_SOLUTION, "98-probe.ts"), path.join(honest, "98-probe.ts"));
  // The interferer and the honest one first, so that they are graded side by side.
  const dirs = [path.join(HOSTILE, "interfere"), honest, ...KINDS.filter((k) => k !== "interfere").map((k) => path.join(HOSTILE, k)), configSwap()];
  const run = await runTool(
    ["tools/grade.ts", ...dirs, "--chapters", "98", "--task-timeout", "3", "--jobs", "2", "--max-processes", "128", "--format", "json", "--out", out, "--quiet"],
    { env: FIXTURE_ENV },
  );
  exitCode = run.code;
  if (!fs.existsSync(out)) throw new Error(`grade wrote no report (exit ${run.code}):\n${run.stderr}`);
  const report = JSON.parse(fs.readFileSync(out, "utf8")) as { submissions: Graded[] };
  results = new Map(report.submissions.map((s) => [s.name, s]));
}, 240_000);

afterAll(() => {
  fs.rmSync(canary, { force: true });
  fs.rmSync(created, { force: true });
  removeTemporary();
});

describe("hostile submissions", () => {
  test("the grader builds its box here", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(isolation.unshare.length).toBeGreaterThan(0);
  });

  test("grading worked (exit 0), and the honest solution graded beside them earned every point", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(exitCode).toBe(0);
    expect(byName("honest").score).toBe(8);
    expect(results.size).toBe(KINDS.length + 2);
  });

  test("exiting with status 0 before the work earns nothing", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(byName("exit-early").score).toBe(0);
    expect(tasksOf("exit-early").map((t) => t.message)).toEqual([
      "store() did not report a result",
      "save() did not report a result",
      "double() did not report a result",
      "meet() in process 1 did not report a result",
    ]);
  });

  test("printing fake results, forging the result file, writing to the test's descriptors earns nothing", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(byName("fake-results").score).toBe(0);
    expect(statuses("fake-results")).toEqual(["failed", "failed", "failed", "failed"]);
    expect(tasksOf("fake-results")[0]!.message).toContain("does not exist in /dev/shm");
    expect(tasksOf("fake-results")[2]!.message).toMatch(/^double\(\d+\) returned 42$/);
  });

  test("replacing globals (JSON, Array.prototype.every, process.exit, expect) earns nothing", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(byName("globals").score).toBe(0);
    expect(statuses("globals")).toEqual(["failed", "failed", "failed", "failed"]);
  });

  test("its own tests, harness, support code and bunfig are never used", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(byName("config-swap").score).toBe(0);
    for (const t of tasksOf("config-swap")) expect(t.message).toContain("still a TODO");
  });

  test("writing into the project and the grader's folders changes nothing", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(fs.readFileSync(canary, "utf8")).toBe(canaryText);
    expect(fs.existsSync(created)).toBe(false);
    // It did the work after trying; the attempts changed neither its grade nor anyone's.
    expect(byName("tamper").score).toBe(8);
  });

  test("a fork bomb is bounded, killed, and costs only its own task", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(statuses("fork-bomb")).toEqual(["failed", "passed", "passed", "passed"]);
    if (isolation.cgroup) expect(byName("fork-bomb").chapters[0]!.fork_refusals).toBeGreaterThan(0);
    expect(processesWith("sleep 3601")).toEqual([]);
  });

  test("hanging (a busy loop ignoring SIGTERM, a promise never settled, a wait without end) earns nothing and is stopped at the task time limit", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(statuses("hang")).toEqual(["failed", "failed", "failed", "passed"]);
    for (const t of tasksOf("hang").slice(0, 3)) expect(t.message).toMatch(/did not finish|within its time limit/);
  });

  test("two processes in a deadlock earn nothing for that task, and are killed", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(statuses("deadlock")).toEqual(["passed", "passed", "passed", "failed"]);
  });

  test("a process that escapes its group, session and environment is found and killed before it does harm", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(byName("escape").score).toBe(8);
    expect(processesWith("sleep 3602")).toEqual([]);
    expect(fs.readFileSync(canary, "utf8")).toBe(canaryText);
  });

  test("a submission that kills its test process loses the rest of that chapter, nothing else", () => {
    if (!boxed) throw new Error(NO_BOX);
    const killer = byName("kill-grader");
    expect(statuses("kill-grader")).toEqual(["passed", "not run", "not run", "not run"]);
    expect(killer.chapters[0]!.message).toContain("ended early");
    expect(killer.status).toBe("graded");
  });

  test("nothing is left: no process, no shared-memory object, no grading folder", () => {
    if (!boxed) throw new Error(NO_BOX);
    expect(processesWith(GRADED)).toEqual([]);
    expect(processesWith("98-probe")).toEqual([]);
    expect(fs.readdirSync("/dev/shm").filter((e) => e.includes("probe-"))).toEqual([]);
    expect(temporaryEntries("ipcbook-grade-").filter((e) => !gradeDirsBefore.includes(e))).toEqual([]);
  });
});

describe("bounds the instructor sets", () => {
  test("--submission-timeout stops a submission that hangs in every task; the grader goes on", async () => {
    if (!boxed) throw new Error(NO_BOX);
    const out = path.join(temporary("bound"), "grades.json");
    const run = await runTool(
      ["tools/grade.ts", path.join(HOSTILE, "hang"), PROBE_SOLUTION, "--chapters", "98", "--task-timeout", "3", "--submission-timeout", "6", "--jobs", "1", "--format", "json", "--out", out, "--quiet"],
      { env: FIXTURE_ENV },
    );
    expect(run.code).toBe(0);
    const [hang, solution] = (JSON.parse(fs.readFileSync(out, "utf8")) as { submissions: Graded[] }).submissions;
    expect(hang!.status).toBe("timeout");
    expect(hang!.chapters[0]!.status).toBe("timeout");
    expect(hang!.chapters[0]!.message).toContain("submission's time limit (6 s) ran out");
    // Three tasks that hang 3 s each, then the honest fourth: the limit falls before the fourth.
    expect(hang!.chapters[0]!.tasks.map((t) => t.score)).toEqual([0, 0, 0, 0]);
    expect(hang!.chapters[0]!.tasks[3]!.status).toBe("not run");
    expect(solution!.score).toBe(8);
    expect(processesWith("98-probe")).toEqual([]);
  }, 120_000);
});

describe("without namespaces (--sandbox off)", () => {
  test("a process that leaves its group but keeps its environment is found by its mark and killed between tasks", async () => {
    // Tame on purpose (it only sleeps), since nothing but the mark holds it here.
    const dir = path.join(temporary("marked"), "marked");
    fs.mkdirSync(dir);
    const source = fs.readFileSync(path.join(HOSTILE, "escape", "98-probe.ts"), "utf8");
    const tame = source
      .replace(/const script = `[^`]*`;/, 'const script = "exec sleep 3603";')
      .replace("env: {},", "env: process.env,");
    expect(tame).toContain('"exec sleep 3603"');
    expect(tame).toContain("env: process.env");
    fs.writeFileSync(path.join(dir, "98-probe.ts"), tame);
    const out = path.join(temporary("marked-out"), "grades.json");
    const run = await runTool(["tools/grade.ts", dir, "--chapters", "98", "--sandbox", "off", "--format", "json", "--out", out, "--quiet"], { env: FIXTURE_ENV });
    expect(run.code).toBe(0);
    const [graded] = (JSON.parse(fs.readFileSync(out, "utf8")) as { submissions: Graded[]; isolation: string }).submissions;
    expect(graded!.chapters[0]!.tasks.map((t) => `${t.status}${t.status === "passed" ? "" : `: ${t.message}`}`)).toEqual(["passed", "passed", "passed", "passed"]);
    expect(processesWith("sleep 3603")).toEqual([]);
  }, 60_000);
});

