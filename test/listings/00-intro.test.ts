/**
 * Runs the listings of the introduction (examples/00-intro/) as real
 * processes, each with its own IPC_PREFIX, and checks what they printed,
 * their exit status, and that they left nothing in /dev/shm.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";

const DIR = path.resolve(import.meta.dir, "../../examples/00-intro");
const PREFIX = `ipcbook-listing00-${process.pid}-${Date.now().toString(36)}`;
const TIMEOUT_MS = 60_000;

const covered = new Set<string>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[] = []): Promise<Run> {
  const child = Bun.spawn([process.execPath, path.join(DIR, file), ...args], {
    env: { ...process.env, IPC_PREFIX: PREFIX },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS - 5_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function leftovers(): string[] {
  return fs.readdirSync("/dev/shm").filter((entry) => entry.includes(PREFIX));
}

function listing(file: string, check: (result: Run) => void, args: string[] = []): void {
  covered.add(file);
  test(
    file,
    async () => {
      const result = await run(file, args);
      if (result.code !== 0) console.error(`${file} stderr:\n${result.stderr}`);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(leftovers()).toEqual([]);
      check(result);
    },
    TIMEOUT_MS,
  );
}

afterAll(() => {
  for (const entry of leftovers()) fs.rmSync(path.join("/dev/shm", entry), { force: true });
});

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

  test("every listing in examples/00-intro has a test", () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".ts")).sort();
    expect([...covered].sort()).toEqual(files);
  });
});
