/**
 * Runs every listing of chapter 5 (examples/05-signals/) as a real
 * process, with its own IPC_PREFIX, and checks what it printed, its exit
 * code, and that it left nothing behind: no object in /dev/shm, no
 * temporary folder, and no process in its process group (each listing
 * leads a group of its own). The C listing is run through the script that
 * compiles it; a listing file no test runs fails the last test.
 */
import { describe, expect } from "bun:test";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/05-signals", { leaks: ["shm", "tmp"], processGroup: true });

describe("chapter 5 listings", () => {
  listing("kill-list.ts", ({ stdout }) => {
    expect(stdout.startsWith(" 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 4) SIGILL\t 5) SIGTRAP\n")).toBe(true);
    expect(stdout).toContain("31) SIGSYS\t34) SIGRTMIN\t35) SIGRTMIN+1");
    expect(stdout).toContain("49) SIGRTMIN+15\t50) SIGRTMAX-14");
    if (Bun.which("bash")) expect(stdout).toContain("the same as bash's kill -l: true");
    expect(stdout).toContain("SIGRTMIN = 34, SIGRTMAX = 64: 31 real-time signals");
    expect(stdout).toMatch(/^ 9 SIGKILL +Killed +default: terminate  \(cannot be caught or ignored\)$/m);
    expect(stdout).toMatch(/^15 SIGTERM +Terminated +default: terminate$/m);
    expect(stdout).toMatch(/^ 3 SIGQUIT +Quit +default: core$/m);
  });

  listing("send-and-probe.ts", ({ stdout }) => {
    const pid = /^probeProcess\((\d+)\) = signallable$/m.exec(stdout)?.[1];
    expect(pid).toBeDefined();
    expect(stdout).toContain("after SIGTERM the child killed by SIGTERM");
    expect(stdout).toContain(`probeProcess(${pid}) = no-such-process`);
    expect(stdout).toMatch(/^kill again → NotFoundError ESRCH: there is no process with this pid/m);
    if (process.getuid!() !== 0) expect(stdout).toMatch(/^as uid \d+: probeProcess\(1\) = not-permitted$/m);
    else if (Bun.which("setpriv")) {
      expect(stdout).toMatch(/^as uid 65534: probeProcess\(\d+\) = not-permitted$/m);
      expect(stdout).toMatch(/^as uid 65534: kill\(\d+, SIGTERM\) → PermissionError EPERM: the process exists but belongs to another user/m);
    }
  });

  listing("process-group.ts", ({ stdout }) => {
    expect(stdout).toMatch(/^group \d+: leader S, member S, member S$/m);
    expect(stdout).toContain("after SIGSTOP: leader T, member T, member T");
    expect(stdout).toContain("after SIGCONT: leader S, member S, member S");
    expect(stdout).toContain("after SIGTERM the shell killed by SIGTERM");
    expect(stdout).toContain("left in the group: 0");
  });

  listing("dispositions.ts", ({ stdout }) => {
    expect(stdout.split("\n").slice(0, 7)).toEqual([
      '  default: SIGTERM is at "default"',
      "default: SIGTERM sent; the child killed by SIGTERM",
      '  ignore: SIGTERM is at "ignore"',
      "ignore: SIGTERM sent; the child killed by SIGKILL",
      '  handle: SIGTERM is at "handler"',
      "  handle: my handler ran; I exit with status 0",
      "handle: SIGTERM sent; the child exited with status 0",
    ]);
    expect(stdout).toContain('ignoreSignal("SIGKILL") → InvalidError: sigaction on "SIGKILL": EINVAL (SIGKILL cannot be caught, blocked or ignored');
    expect(stdout).toContain('and in Bun itself, SIGPIPE is at "ignore"');
  });

  listing(
    "c-handler.ts",
    ({ stdout }) => {
      expect(stdout).toContain("sent 3 SIGUSR1 and 3 SIGRTMIN while both were blocked; unblocking");
      expect(stdout.match(/^ {2}handler: SIGRTMIN, value (\d)$/gm)).toEqual([
        "  handler: SIGRTMIN, value 1",
        "  handler: SIGRTMIN, value 2",
        "  handler: SIGRTMIN, value 3",
      ]);
      expect(stdout.match(/^ {2}handler: SIGUSR1$/gm)).toHaveLength(1);
      expect(stdout).toContain("SIGUSR1 handler ran 1 time(s)");
      expect(stdout).toMatch(/^ready: pid \d+ works until SIGTERM$/m);
      expect(stdout).toMatch(/^SIGTERM noted between two steps \(.+\); finishing cleanly$/m);
      expect(stdout).toContain("exit status 0");
    },
    { also: ["c-handler.c"] },
  );

  listing("js-handler.ts", ({ stdout }) => {
    expect(stdout.trim().split("\n")).toEqual([
      "1. loop starts",
      "2. SIGUSR1 sent",
      expect.stringMatching(/^3\. loop ends \(sum \d+\)$/),
      "4. handler for SIGUSR1 runs",
    ]);
  });

  listing("payloads.ts", ({ stdout }) => {
    const parent = /^parent (\d+) sends 2024, 4, 15, -1, 7 to child \d+$/m.exec(stdout)?.[1];
    expect(parent).toBeDefined();
    const values = [...stdout.matchAll(new RegExp(`^ {2}SIGRTMIN\\+1 value (-?\\d+) from pid ${parent} \\(sent with sigqueue\\)$`, "gm"))].map((m) => Number(m[1]));
    expect(values).toEqual([2024, 4, 15, -1, 7]);
    expect(stdout).toContain("child exited with status 0");
  });

  listing("graceful.ts", ({ stdout }) => {
    expect(stdout).toContain('  daemon: SIGHUP, configuration reloaded: greeting "dzień dobry"');
    expect(stdout).toContain('  daemon: SIGUSR1, status: alive, greeting "dzień dobry"');
    expect(stdout).toMatch(/^ {2}daemon: SIGTERM, removed \/\S+ and control\.fifo; ending by SIGTERM/m);
    expect(stdout).toContain("SIGTERM: the daemon was ended by SIGTERM; left behind: nothing");
    expect(stdout).toMatch(/^SIGKILL: the daemon was ended by SIGKILL; left behind: \/\S+-daemon-\d+, control\.fifo$/m);
  });

  everyListingRun();
});
