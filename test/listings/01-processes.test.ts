/**
 * Runs every listing of chapter 1 (examples/01-processes/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no object in /dev/shm, no
 * temporary folder, and no process in its process group (each listing
 * runs as the leader of a group of its own, so a child it forgot, or an
 * orphan it failed to reap, would still be found there).
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun, prefix } = listings("examples/01-processes", {
  leaks: ["shm", "tmp"],
  processGroup: true,
  env: { BUN: process.execPath },
});

describe("chapter 1 listings", () => {
  listing("inherit.ts", ({ stdout, pid }) => {
    expect(stdout.match(/^worker [123] \(pid \d+\): wrote through descriptor 3; descriptors open on the log: \[3\]$/gm)).toHaveLength(3);
    expect(stdout).toMatch(/^process 4 \(pid \d+\): no LOG_FD; descriptors open on the log: \[\]$/m);
    const log = stdout.split("the log:\n")[1]!;
    expect(log).toMatch(new RegExp(`^main process ${pid} opened the log as its descriptor \\d+$`, "m"));
    expect(log.match(new RegExp(`^worker [123] \\(pid \\d+, parent ${pid}\\) was here$`, "gm"))).toHaveLength(3);
  });

  listing("start-system.sh", ({ stdout }) => {
    expect(stdout).toMatch(new RegExp(`^starting the production variant, meeting at /${prefix}-system-\\d+$`, "m"));
    const client = /^client (\d+): sent 1000 requests$/m.exec(stdout)?.[1];
    expect(client).toBeDefined();
    expect(stdout).toContain(`server: 1000 requests from client ${client}`);
    expect(stdout).not.toContain("[debug");
    expect(stdout).toContain("client exited with 0, server with 0");
  }, { name: "start-system.sh production", args: ["production"], also: ["system.ts"] });

  listing("start-system.sh", ({ stdout }) => {
    expect(stdout).toMatch(/^\[debug server \d+\] created \/\S+; waiting for a client$/m);
    expect(stdout.match(/^\[debug client \d+\] request [123]$/gm)).toHaveLength(3);
    expect(stdout).toMatch(/^server: 3 requests from client \d+$/m);
    expect(stdout).toMatch(/^\[debug server \d+\] removed \/\S+$/m);
    expect(stdout).toContain("client exited with 0, server with 0");
  }, { name: "start-system.sh diagnostic", args: ["diagnostic"], also: ["system.ts"] });

  listing("start-system.sh", ({ stdout }) => {
    expect(stdout).toBe("status 2\n");
  }, { name: "start-system.sh with a bad variant", command: (script) => ["sh", "-c", `sh "$0" staging 2>/dev/null; echo "status $?"`, script] });

  listing("fork-exec.ts", ({ stdout, pid }) => {
    expect(stdout).toContain(`parent: pid ${pid}`);
    const child = /^child: pid (\d+), running \/bin\/sh$/m.exec(stdout)?.[1];
    expect(stdout).toContain(`parent: child ${child} exited with code 3`);
    expect(stdout).toMatch(/parent: child \d+ exited with code 127 \(execv failed/);
  });

  listing("inherited-fd.ts", ({ stdout, pid }) => {
    expect(stdout).toMatch(/^child \d+ exited with code 0$/m);
    const lines = stdout.trim().split("\n").slice(1);
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^parent ${pid}: first line, written through descriptor \\d+$`)),
      "child: second line, through the descriptor it inherited",
      `parent ${pid}: third line; the offset had moved past the child's line`,
    ]);
  });

  listing("copy-on-write.ts", ({ stdout }) => {
    const parent = /^parent \d+: value = (\d+) at (0x[0-9a-f]+)$/m.exec(stdout);
    const child = /^child +\d+: value = (\d+) at (0x[0-9a-f]+)$/m.exec(stdout);
    expect([parent?.[1], child?.[1]]).toEqual(["42", "99"]);
    expect(parent?.[2]).toBe(child?.[2]!);
    expect(stdout).toContain("same address: true; same value: false");
  });

  listing("fork-from-js.ts", ({ stdout }) => {
    // Bun 1.4: the forked child dies before its first console.log.
    expect(stdout).toMatch(/^parent: the forked child killed by SIG(SEGV|BUS|ABRT|ILL|TRAP)/m);
    expect(stdout).not.toContain("child: made");
    expect(stdout).toContain("the sacrificial parent exited with code 0");
  });

  listing("spawn-actions.ts", ({ stdout }) => {
    expect(stdout).toContain("sort exited with code 0: 7 42 1000");
    expect(stdout).toMatch(/^sh exited with code 0: GREETING=hello from the parent; my descriptors: 0 1 2 3 4 ?$/m);
    const group = /^our process group: (\d+); sleep (\d+) leads group (\d+)$/m.exec(stdout);
    expect(group?.[2]).toBe(group?.[3]!);
    expect(group?.[1]).not.toBe(group?.[2]!);
    expect(stdout).toContain("sleep killed by SIGTERM");
  });

  listing("clone.ts", ({ stdout, pid }) => {
    const thread = new RegExp(`^thread +(\\d+) +${pid} +(\\d+) +\\d+ +true +true  \\(a thread`, "m").exec(stdout);
    expect(thread?.[1]).toBe(thread?.[2]!);
    const forked = new RegExp(`^process +(\\d+) +(\\d+) +(\\d+) +${pid} +false +false  exited with code 0$`, "m").exec(stdout);
    expect(new Set([forked?.[1], forked?.[2], forked?.[3]]).size).toBe(1);
  });

  listing("injection.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^system: exited with code 0; INJECTED/m);
    expect(stdout).toMatch(/^popen: +read "3"; INJECTED/m);
    expect(stdout).toMatch(/^run: +exited with code 1, stderr .*No such file or directory.*; nothing injected$/m);
    expect(stdout).toContain('run on a real name: "3 notes.txt"');
    expect(stdout).toMatch(/^a fixed script: exited with code [12]; nothing injected$/m);
  });

  listing("wait-status.ts", ({ stdout }) => {
    expect(stdout).toMatch(/sh -c 'exit 0' +raw 0x0000 +exited with code 0/);
    expect(stdout).toMatch(/sh -c 'exit 3' +raw 0x0300 +exited with code 3/);
    expect(stdout).toMatch(/\(300 & 0xff\) +raw 0x2c00 +exited with code 44/);
    expect(stdout).toMatch(/sent SIGKILL +raw 0x0009 +killed by SIGKILL/);
    expect(stdout).toMatch(/kill -TERM \$\$' +raw 0x000f +killed by SIGTERM/);
    expect(stdout).toMatch(/sent SIGSTOP +raw 0x137f +stopped by SIGSTOP/);
    expect(stdout).toMatch(/then SIGCONT +raw 0xffff +continued/);
    expect(stdout).toMatch(/then SIGTERM +raw 0x000f +killed by SIGTERM/);
  });

  listing("zombie.ts", ({ stdout, pid }) => {
    const zombie = new RegExp(`^/proc/(\\d+)/stat: \\1 \\(true\\) Z ${pid} …$`, "m").exec(stdout)?.[1];
    expect(zombie).toBeDefined();
    expect(stdout).toContain("waitpid: the child exited with code 0");
    expect(stdout).toContain(`after waitpid, /proc/${zombie} exists: false`);
  });

  listing("orphan.ts", ({ stdout, pid }) => {
    expect(stdout).toContain("the shell exited with code 0");
    const sleep = new RegExp(`^we are ${pid}; the shell was \\d+; it had started sleep (\\d+)$`, "m").exec(stdout)?.[1];
    expect(stdout).toContain(`sleep ${sleep}: parent is now ${pid}`);
    expect(stdout).toContain(`waitpid(${sleep}): killed by SIGTERM`);
  });

  listing("bun-spawn.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^ls \d+ exited with 0; its descriptors: 0 1 2 3$/m);
    expect(stdout).toContain("sleep: exitCode null, signalCode SIGTERM");
    expect(stdout).toContain("sleep with a 100 ms timeout: signalCode SIGKILL");
    expect(stdout).toContain("sh wrote: written to descriptor 3");
    expect(stdout).toContain('spawnSync: exit 2, stdout "to stdout\\n", stderr "to stderr\\n"');
  });

  everyListingRun();
});
