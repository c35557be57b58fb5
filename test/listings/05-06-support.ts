/**
 * What the listing tests of chapters 05 and 06 share: run a listing as a
 * real process with its own IPC_PREFIX, as the leader of a process group
 * of its own, and check the common rules — exit status 0, nothing on
 * stderr, no object with the prefix in /dev/shm, no temporary folder, no
 * process left in its group — before the listing's own checks; and at the
 * end, that every file of the folder was run.
 *
 *   const { listing, everyListingRun } = listings("examples/05-signals", "05");
 */
import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

const TIMEOUT_MS = 60_000;

/** Members of process group `pgid`, from /proc: "pid (command) state". */
function groupMembers(pgid: number): string[] {
  const members: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) members.push(`${entry} ${stat.slice(stat.indexOf("("), stat.lastIndexOf(")") + 1)} ${fields[0]}`);
    } catch {
      // it ended while we looked
    }
  }
  return members;
}

/** Waits (boundedly) for a group to empty: an orphan may take a moment to be reaped by init. */
async function settledGroup(pgid: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await Bun.sleep(20);
    members = groupMembers(pgid);
  }
  return members;
}

/** The tests of one folder of listings (`folder` relative to the project, `chapter` "05"). */
export function listings(folder: string, chapter: string) {
  const dir = path.resolve(import.meta.dir, "../..", folder);
  const prefix = `ipcbook-listing${chapter}-${process.pid}-${Date.now().toString(36)}`;
  /** Listing files that a test runs (directly or through a script). */
  const covered = new Set<string>();
  const groups: number[] = [];

  const leftoverObjects = () => fs.readdirSync("/dev/shm").filter((entry) => entry.startsWith(prefix));
  const leftoverTempDirs = () => fs.readdirSync(os.tmpdir()).filter((entry) => entry.startsWith(prefix));

  async function run(argv: string[]): Promise<Run> {
    const child = Bun.spawn(argv, {
      env: { ...process.env, IPC_PREFIX: prefix },
      stdout: "pipe",
      stderr: "pipe",
      detached: true, // a session and process group of its own, led by the listing
    });
    groups.push(child.pid);
    const timer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), TIMEOUT_MS - 5_000);
    try {
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { code, stdout, stderr, pid: child.pid };
    } finally {
      clearTimeout(timer);
    }
  }

  afterAll(() => {
    // A safety net for a failing run; the tests assert there is nothing to do.
    for (const pgid of groups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // the group is empty, as it should be
      }
    }
    for (const entry of leftoverObjects()) fs.rmSync(path.join("/dev/shm", entry), { force: true });
    for (const entry of leftoverTempDirs()) fs.rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
  });

  /** Defines the test of listing `file` (and of the `also` files it runs): the common rules, then `check`. */
  function listing(file: string, check: (result: Run) => void, also: string[] = []): void {
    covered.add(file);
    for (const f of also) covered.add(f);
    test(
      file,
      async () => {
        const result = await run([process.execPath, path.join(dir, file)]);
        if (result.code !== 0) console.error(`${file} stderr:\n${result.stderr}`);
        expect(result.code).toBe(0);
        expect(result.stderr).toBe("");
        expect(leftoverObjects()).toEqual([]);
        expect(leftoverTempDirs()).toEqual([]);
        expect(await settledGroup(result.pid)).toEqual([]);
        check(result);
      },
      TIMEOUT_MS,
    );
  }

  /** The last test: every file of the folder was run by one of the tests above. */
  function everyListingRun(): void {
    test(`every listing in ${folder} has a test`, () => {
      const files = fs.readdirSync(dir).sort();
      expect(files.length).toBeGreaterThan(0);
      expect([...covered].sort()).toEqual(files);
    });
  }

  return { listing, everyListingRun };
}
