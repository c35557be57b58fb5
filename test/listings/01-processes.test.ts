/**
 * Runs every listing of chapter 1 (examples/01-processes/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no object in /dev/shm, no
 * temporary folder, and no process in its process group (each listing
 * runs as the leader of a group of its own, so a child it forgot, or an
 * orphan it failed to reap, would still be found there).
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const DIR = path.resolve(import.meta.dir, "../../examples/01-processes");
const PREFIX = `ipcbook-listing01-${process.pid}-${Date.now().toString(36)}`;
const TIMEOUT_MS = 60_000;

/** Listing files that a test below runs (directly or through a script). */
const covered = new Set<string>();
const groups: number[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Processes in the process group `pgid`, from /proc. */
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

async function run(argv: string[]): Promise<Run> {
  const child = Bun.spawn(argv, {
    env: { ...process.env, IPC_PREFIX: PREFIX, BUN: process.execPath },
    stdout: "pipe",
    stderr: "pipe",
    detached: true, // a session and process group of its own, led by the listing
  });
  groups.push(child.pid);
  const timer = setTimeout(() => process.kill(-child.pid, "SIGKILL"), TIMEOUT_MS - 5_000);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr, pid: child.pid };
  } finally {
    clearTimeout(timer);
  }
}

function leftoverObjects(): string[] {
  return fs.readdirSync("/dev/shm").filter((entry) => entry.startsWith(PREFIX));
}

function leftoverTempDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((entry) => entry.startsWith(PREFIX));
}

/** Waits (boundedly) for the group to empty: a killed grandchild may take a moment to be reaped by init. */
async function settledGroup(pgid: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await Bun.sleep(20);
    members = groupMembers(pgid);
  }
  return members;
}

/** Defines the test of one listing (or of a script running some): runs it and checks the common rules, then `check`. */
function listing(name: string, argv: string[], files: string[], check: (result: Run) => void): void {
  for (const file of files) covered.add(file);
  test(
    name,
    async () => {
      const result = await run(argv);
      if (result.code !== 0) console.error(`${name} stderr:\n${result.stderr}`);
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

/** A .ts listing run with bun. */
function tsListing(file: string, check: (result: Run) => void): void {
  listing(file, [process.execPath, path.join(DIR, file)], [file], check);
}

afterAll(() => {
  // A safety net for a failing run; the tests above assert there is nothing to do.
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

describe("chapter 1 listings", () => {
  tsListing("inherit.ts", ({ stdout, pid }) => {
    expect(stdout.match(/^worker [123] \(pid \d+\): wrote through descriptor 3; descriptors open on the log: \[3\]$/gm)).toHaveLength(3);
    expect(stdout).toMatch(/^process 4 \(pid \d+\): no LOG_FD; descriptors open on the log: \[\]$/m);
    const log = stdout.split("the log:\n")[1]!;
    expect(log).toMatch(new RegExp(`^main process ${pid} opened the log as its descriptor \\d+$`, "m"));
    expect(log.match(new RegExp(`^worker [123] \\(pid \\d+, parent ${pid}\\) was here$`, "gm"))).toHaveLength(3);
  });

  listing("start-system.sh production", ["sh", path.join(DIR, "start-system.sh"), "production"], ["start-system.sh", "system.ts"], ({ stdout }) => {
    expect(stdout).toMatch(new RegExp(`^starting the production variant, meeting at /${PREFIX}-system-\\d+$`, "m"));
    const client = /^client (\d+): sent 1000 requests$/m.exec(stdout)?.[1];
    expect(client).toBeDefined();
    expect(stdout).toContain(`server: 1000 requests from client ${client}`);
    expect(stdout).not.toContain("[debug");
    expect(stdout).toContain("client exited with 0, server with 0");
  });

  listing("start-system.sh diagnostic", ["sh", path.join(DIR, "start-system.sh"), "diagnostic"], ["start-system.sh", "system.ts"], ({ stdout }) => {
    expect(stdout).toMatch(/^\[debug server \d+\] created \/\S+; waiting for a client$/m);
    expect(stdout.match(/^\[debug client \d+\] request [123]$/gm)).toHaveLength(3);
    expect(stdout).toMatch(/^server: 3 requests from client \d+$/m);
    expect(stdout).toMatch(/^\[debug server \d+\] removed \/\S+$/m);
    expect(stdout).toContain("client exited with 0, server with 0");
  });

  listing("start-system.sh with a bad variant", ["sh", "-c", `sh "$0" staging 2>/dev/null; echo "status $?"`, path.join(DIR, "start-system.sh")], [], ({ stdout }) => {
    expect(stdout).toBe("status 2\n");
  });

  tsListing("fork-exec.ts", ({ stdout, pid }) => {
    expect(stdout).toContain(`parent: pid ${pid}`);
    const child = /^child: pid (\d+), running \/bin\/sh$/m.exec(stdout)?.[1];
    expect(stdout).toContain(`parent: child ${child} exited with code 3`);
    expect(stdout).toMatch(/parent: child \d+ exited with code 127 \(execv failed/);
  });

  tsListing("inherited-fd.ts", ({ stdout, pid }) => {
    expect(stdout).toMatch(/^child \d+ exited with code 0$/m);
    const lines = stdout.trim().split("\n").slice(1);
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^parent ${pid}: first line, written through descriptor \\d+$`)),
      "child: second line, through the descriptor it inherited",
      `parent ${pid}: third line; the offset had moved past the child's line`,
    ]);
  });

  tsListing("copy-on-write.ts", ({ stdout }) => {
    const parent = /^parent \d+: value = (\d+) at (0x[0-9a-f]+)$/m.exec(stdout);
    const child = /^child +\d+: value = (\d+) at (0x[0-9a-f]+)$/m.exec(stdout);
    expect([parent?.[1], child?.[1]]).toEqual(["42", "99"]);
    expect(parent?.[2]).toBe(child?.[2]!);
    expect(stdout).toContain("same address: true; same value: false");
  });

  tsListing("fork-from-js.ts", ({ stdout }) => {
    // Bun 1.4: the forked child dies before its first console.log.
    expect(stdout).toMatch(/^parent: the forked child killed by SIG(SEGV|BUS|ABRT|ILL|TRAP)/m);
    expect(stdout).not.toContain("child: made");
    expect(stdout).toContain("the sacrificial parent exited with code 0");
  });

  tsListing("spawn-actions.ts", ({ stdout }) => {
    expect(stdout).toContain("sort exited with code 0: 7 42 1000");
    expect(stdout).toMatch(/^sh exited with code 0: GREETING=hello from the parent; my descriptors: 0 1 2 3 4 ?$/m);
    const group = /^our process group: (\d+); sleep (\d+) leads group (\d+)$/m.exec(stdout);
    expect(group?.[2]).toBe(group?.[3]!);
    expect(group?.[1]).not.toBe(group?.[2]!);
    expect(stdout).toContain("sleep killed by SIGTERM");
  });

  tsListing("clone.ts", ({ stdout, pid }) => {
    const thread = new RegExp(`^thread +(\\d+) +${pid} +(\\d+) +\\d+ +true +true  \\(a thread`, "m").exec(stdout);
    expect(thread?.[1]).toBe(thread?.[2]!);
    const forked = new RegExp(`^process +(\\d+) +(\\d+) +(\\d+) +${pid} +false +false  exited with code 0$`, "m").exec(stdout);
    expect(new Set([forked?.[1], forked?.[2], forked?.[3]]).size).toBe(1);
  });

  tsListing("injection.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^system: exited with code 0; INJECTED/m);
    expect(stdout).toMatch(/^popen: +read "3"; INJECTED/m);
    expect(stdout).toMatch(/^run: +exited with code 1, stderr .*No such file or directory.*; nothing injected$/m);
    expect(stdout).toContain('run on a real name: "3 notes.txt"');
    expect(stdout).toMatch(/^a fixed script: exited with code [12]; nothing injected$/m);
  });

  tsListing("wait-status.ts", ({ stdout }) => {
    expect(stdout).toMatch(/sh -c 'exit 0' +raw 0x0000 +exited with code 0/);
    expect(stdout).toMatch(/sh -c 'exit 3' +raw 0x0300 +exited with code 3/);
    expect(stdout).toMatch(/\(300 & 0xff\) +raw 0x2c00 +exited with code 44/);
    expect(stdout).toMatch(/sent SIGKILL +raw 0x0009 +killed by SIGKILL/);
    expect(stdout).toMatch(/kill -TERM \$\$' +raw 0x000f +killed by SIGTERM/);
    expect(stdout).toMatch(/sent SIGSTOP +raw 0x137f +stopped by SIGSTOP/);
    expect(stdout).toMatch(/then SIGCONT +raw 0xffff +continued/);
    expect(stdout).toMatch(/then SIGTERM +raw 0x000f +killed by SIGTERM/);
  });

  tsListing("zombie.ts", ({ stdout, pid }) => {
    const zombie = new RegExp(`^/proc/(\\d+)/stat: \\1 \\(true\\) Z ${pid} …$`, "m").exec(stdout)?.[1];
    expect(zombie).toBeDefined();
    expect(stdout).toContain("waitpid: the child exited with code 0");
    expect(stdout).toContain(`after waitpid, /proc/${zombie} exists: false`);
  });

  tsListing("orphan.ts", ({ stdout, pid }) => {
    expect(stdout).toContain("the shell exited with code 0");
    const sleep = new RegExp(`^we are ${pid}; the shell was \\d+; it had started sleep (\\d+)$`, "m").exec(stdout)?.[1];
    expect(stdout).toContain(`sleep ${sleep}: parent is now ${pid}`);
    expect(stdout).toContain(`waitpid(${sleep}): killed by SIGTERM`);
  });

  tsListing("bun-spawn.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^ls \d+ exited with 0; its descriptors: 0 1 2 3$/m);
    expect(stdout).toContain("sleep: exitCode null, signalCode SIGTERM");
    expect(stdout).toContain("sleep with a 100 ms timeout: signalCode SIGKILL");
    expect(stdout).toContain("sh wrote: written to descriptor 3");
    expect(stdout).toContain('spawnSync: exit 2, stdout "to stdout\\n", stderr "to stderr\\n"');
  });

  test("every listing in examples/01-processes has a test", () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".ts") || f.endsWith(".sh")).sort();
    expect(files.length).toBeGreaterThan(0);
    expect([...covered].sort()).toEqual(files);
  });

  test("every C file there is compiled by a listing that runs", () => {
    const cFiles = fs.readdirSync(DIR).filter((f) => f.endsWith(".c"));
    for (const c of cFiles) {
      const users = [...covered].filter((f) => f.endsWith(".ts") && fs.readFileSync(path.join(DIR, f), "utf8").includes(c));
      expect({ c, users: users.length > 0 }).toEqual({ c, users: true });
    }
  });
});
