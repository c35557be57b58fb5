/**
 * Runs every listing of chapter 9 (examples/09-deadlock/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no temporary folder, and no
 * process it started (a deadlocked child it forgot would wait forever).
 * Measured numbers (times, counts of failed attempts) are printed, never
 * asserted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const DIR = path.resolve(import.meta.dir, "../../examples/09-deadlock");
const PREFIX = `ipcbook-listing09-${process.pid}-${Date.now().toString(36)}`;
const TIMEOUT_MS = 60_000;

/** Listings that have a test below; filled in as the tests are defined. */
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
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function leftoverTempDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((entry) => entry.startsWith(PREFIX));
}

/** Processes still running one of this chapter's listings. */
function leftoverProcesses(): string[] {
  const left: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(DIR)) left.push(`${pid}: ${cmdline}`);
    } catch {
      // it ended while we looked
    }
  }
  return left;
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
      expect(leftoverProcesses()).toEqual([]);
      expect(leftoverTempDirs()).toEqual([]);
      check(result);
    },
    TIMEOUT_MS,
  );
}

afterAll(() => {
  for (const entry of leftoverTempDirs()) fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
});

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
  }, ["500"]);

  listing("backoff.ts", ({ stdout }) => {
    console.log(`backoff measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toContain("lockRanges with a timeout of 0.3 s: TimeoutError ETIMEDOUT");
    expect(stdout).toContain("locks this process holds afterwards: 0");
    expect(stdout).toMatch(/^at once\s+\d+ of 200 rounds done, \d+ attempts failed$/m);
    expect(stdout).toMatch(/^random back-off\s+200 of 200 rounds done, \d+ attempts failed$/m);
  }, ["100"]);

  listing("starvation.ts", ({ stdout }) => {
    expect(stdout).toContain("500 shared locks granted while the writer waited; after 500 of them it still had nothing");
    expect(stdout).toContain("the writer has its exclusive lock");
  }, ["500"]);

  listing("big-lock.ts", ({ stdout }) => {
    console.log(`big-lock measured: ${stdout.trim().replace(/\n/g, " | ")}`);
    expect(stdout).toMatch(/^one big lock\s+counters 20 20 20 20\s+in \d+ ms$/m);
    expect(stdout).toMatch(/^a lock per record\s+counters 20 20 20 20\s+in \d+ ms$/m);
  }, ["20"]);

  test("every listing in examples/09-deadlock has a test", () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".ts")).sort();
    expect(files.length).toBeGreaterThan(0);
    expect([...covered].sort()).toEqual(files);
  });
});
