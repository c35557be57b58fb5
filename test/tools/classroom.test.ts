/**
 * The GitHub Classroom template (.github/classroom/classroom.yml): it takes
 * the grader from the course's repository and only the submission from the
 * student's, and its grading step, run here as a runner would run it (on
 * the fixture chapter), produces the result the Classroom reporter adds up.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { FIXTURE_ENV, PROBE_SOLUTION, ROOT, removeTemporary, temporary } from "./helpers.ts";

afterAll(removeTemporary);

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
  "working-directory"?: string;
}

const workflow = Bun.YAML.parse(fs.readFileSync(path.join(ROOT, ".github", "classroom", "classroom.yml"), "utf8")) as {
  on: string[];
  permissions: Record<string, string>;
  jobs: Record<string, { name: string; steps: Step[]; env: Record<string, string> }>;
};
const job = Object.values(workflow.jobs)[0]!;
const steps = job.steps;
const gradeStep = steps.find((s) => s.run?.includes("bun run grade"))!;
const reporter = steps.find((s) => s.uses?.startsWith("classroom-resources/autograding-grading-reporter@"))!;

describe("the GitHub Classroom template", () => {
  test("grades on push, with a job the reporter finds, and may write checks", () => {
    expect(workflow.on).toContain("push");
    expect(job.name).toBe("Autograding Tests");
    expect(workflow.permissions.checks).toBe("write");
  });

  test("the grader comes from the course's repository; only the submission from the student's", () => {
    const checkouts = steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
    expect(checkouts.map((s) => s.with?.path)).toEqual(["submission", "grader"]);
    expect(checkouts[0]!.with?.repository).toBeUndefined(); // the student's own repository
    expect(checkouts[1]!.with?.repository).toBe("${{ env.GRADER_REPOSITORY }}");
    expect(gradeStep["working-directory"]).toBe("grader");
    expect(gradeStep.run).toContain("npx bun run grade ../submission");
    expect(gradeStep.run).toContain("--sandbox require");
  });

  test("the reporter reads the grading step's output under the runner name it is given", () => {
    const runner = reporter.with?.runners;
    expect(runner).toBe(gradeStep.id);
    expect(reporter.env?.[`${runner!.toUpperCase()}_RESULTS`]).toBe(`\${{ steps.${gradeStep.id}.outputs.result }}`);
  });

  test("its grading step, run as a runner would, gives the reporter a result it can add up", async () => {
    const runnerTemp = temporary("runner");
    // A student's repository is a clone of the project: the work is in exercises/.
    const student = path.join(temporary("student"), "submission");
    fs.mkdirSync(path.join(student, "exercises"), { recursive: true });
    const wrong = fs.readFileSync(path.join(PROBE_SOLUTION, "98-probe.ts"), "utf8").replace("return n * 2;", "return n * 3;");
    fs.writeFileSync(path.join(student, "exercises", "98-probe.ts"), wrong);
    const output = path.join(runnerTemp, "github-output");
    const script = gradeStep.run!.replaceAll("npx bun", process.execPath).replaceAll("../submission", student);
    const run = Bun.spawn(["bash", "-e", "-c", script], {
      cwd: ROOT,
      env: { ...process.env, ...FIXTURE_ENV, CHAPTERS: "98", RUNNER_TEMP: runnerTemp, GITHUB_OUTPUT: output },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = await new Response(run.stderr).text();
    expect(await run.exited).toBe(0);
    expect(stderr).not.toMatch(/error/i); // bun run only echoes the command
    const line = fs.readFileSync(output, "utf8").trim();
    expect(line.startsWith("result=")).toBe(true);
    const result = JSON.parse(Buffer.from(line.slice("result=".length), "base64").toString("utf8")) as {
      status: string;
      max_score: number;
      tests: { name: string; status: string; score: number; message: string | null }[];
    };
    // What the reporter does: add up each test's score against max_score.
    expect(result.max_score).toBe(8);
    expect(result.tests.reduce((sum, t) => sum + t.score, 0)).toBe(7);
    expect(result.status).toBe("fail");
    expect(result.tests.map((t) => t.status)).toEqual(["pass", "pass", "fail", "pass"]);
    expect(result.tests[2]!.message).toMatch(/^double\(\d+\) returned \d+\nHint: return n \* 2/);
  }, 60_000);
});
