/**
 * `ipc lock`, `ipc locks` and `ipc signal`, run as subprocesses. The lock
 * is observed from outside the command that holds it (a second `ipc lock
 * --wait 0`, /proc/locks through `ipc locks --json`), a deadlock is built
 * from two C processes that each hold one flock and wait for the other's,
 * and signals are received by a C program that reports si_code and
 * si_value. No assertion depends on timing: every wait is for a condition.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { compileInterop, IPC, ipc, removeTemporary, temporary } from "./ipc-support.ts";

setDefaultTimeout(60_000);

let program = "";
let dir = "";

beforeAll(() => {
  dir = temporary("lock");
  program = compileInterop(dir);
});

afterAll(() => {
  removeTemporary();
});

/** A shell word for `sh -c`. */
function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** `ipc ARGS` as a shell command line, for commands run under `ipc lock`. */
function ipcLine(...args: string[]): string {
  return [process.execPath, IPC, ...args].map(quote).join(" ");
}

/** Reads lines from a child's stdout as they come. */
function lineReader(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  return async () => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before a full line (had ${JSON.stringify(buffered)})`);
      buffered += decoder.decode(value, { stream: true });
    }
  };
}

/** Polls `check` until it returns something, for at most `attempts` × 50 ms; the bound only keeps a broken test from hanging. */
async function eventually<T>(check: () => T | null | undefined | Promise<T | null | undefined>, what: string, attempts = 400): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const found = await check();
    if (found !== null && found !== undefined) return found;
    await Bun.sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

interface LocksJson {
  locks: Array<{ id: number; blocked: boolean; kind: string; mode: string; pid: number; command: string | null; path: string | null }>;
  deadlocks: Array<{ processes: Array<{ pid: number; command: string | null }>; description: string }>;
}

describe("ipc lock", () => {
  test("holds the lock while the command runs, and exits with the command's status", async () => {
    const file = path.join(dir, "exclusive.lock");
    const report = path.join(dir, "exclusive.json");
    const script = [
      `${ipcLine("lock", file, "--wait", "0", "--", "true")}; echo "inner=$?"`,
      `${ipcLine("locks", "--json")} > ${quote(report)}`,
      'echo "holder=$PPID"',
      "echo from-the-command",
      "exit 7",
    ].join("; ");
    const ran = await ipc(["lock", file, "--", "sh", "-c", script]);
    expect(ran.code).toBe(7);
    const holder = Number(/holder=(\d+)/.exec(ran.stdout)?.[1]);
    expect(ran.stdout).toBe(`inner=3\nholder=${holder}\nfrom-the-command\n`);
    expect(ran.stderr).toContain("the lock is held and --wait 0 does not wait");

    const seen = JSON.parse(fs.readFileSync(report, "utf8")) as LocksJson;
    const row = seen.locks.find((l) => l.path === file);
    expect(row).toMatchObject({ kind: "flock", mode: "exclusive", blocked: false, pid: holder });

    // Released when the command ended.
    const after = await ipc(["lock", file, "--wait", "0", "--", "true"]);
    expect(after.code).toBe(0);
  });

  test("--shared admits other shared holders and keeps exclusive ones out", async () => {
    const file = path.join(dir, "shared.lock");
    const script = [
      `${ipcLine("lock", file, "--shared", "--wait", "0", "--", "true")}; echo "shared=$?"`,
      `${ipcLine("lock", file, "--wait", "0.05", "--", "true")}; echo "exclusive=$?"`,
    ].join("; ");
    const ran = await ipc(["lock", file, "--shared", "--", "sh", "-c", script]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe("shared=0\nexclusive=3\n");
  });

  test("creates the file when it is missing, and takes the command from the first word after FILE without --", async () => {
    const file = path.join(dir, "created.lock");
    const ran = await ipc(["lock", file, "echo", "--not-an-option"]);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe("--not-an-option\n");
    expect(fs.existsSync(file)).toBe(true);
  });

  test("a command killed by a signal gives 128+N; a missing command 127; no command is a usage error", async () => {
    const file = path.join(dir, "status.lock");
    expect((await ipc(["lock", file, "--", "sh", "-c", "kill -TERM $$"])).code).toBe(128 + 15);
    const missing = await ipc(["lock", file, "--", "ipcbook-no-such-command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("cannot run");
    const none = await ipc(["lock", file]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing COMMAND");
  });

  test("SIGTERM to ipc reaches the command, and the lock is held until the command has ended", async () => {
    const file = path.join(dir, "term.lock");
    const script = "trap 'echo got-term; exit 5' TERM; echo \"started $$\"; while :; do sleep 0.05; done";
    const child = Bun.spawn([process.execPath, IPC, "lock", file, "--", "sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
    let command = 0;
    try {
      const next = lineReader(child.stdout);
      const started = await next();
      expect(started).toMatch(/^started \d+$/);
      command = Number(started.split(" ")[1]);
      child.kill("SIGTERM");
      expect(await next()).toBe("got-term");
      expect(await child.exited).toBe(5);
      expect((await ipc(["lock", file, "--wait", "0", "--", "true"])).code).toBe(0);
    } finally {
      child.kill("SIGKILL");
      if (command > 0) {
        try {
          process.kill(command, "SIGKILL"); // the command, should ipc have died without passing the signal on
        } catch {
          // it has ended, as it should
        }
      }
    }
  });
});

describe("ipc locks", () => {
  test("names the holder and the waiter of a lock, and finds a deadlock between two processes", async () => {
    const first = path.join(dir, "first.lock");
    const second = path.join(dir, "second.lock");
    const a = Bun.spawn([program, "flock-pair", first, second], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const b = Bun.spawn([program, "flock-pair", second, first], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    try {
      expect(await lineReader(a.stdout)()).toBe("holding");
      expect(await lineReader(b.stdout)()).toBe("holding");
      a.stdin.write("g");
      await a.stdin.flush();
      b.stdin.write("g");
      await b.stdin.flush();

      // Both are now blocked in flock(), each on the other's file: wait until the kernel shows it.
      const seen = await eventually(async () => {
        const ran = await ipc(["locks", "--json"]);
        const json = JSON.parse(ran.stdout) as LocksJson;
        return json.deadlocks.some((d) => d.processes.some((p) => p.pid === a.pid)) ? json : null;
      }, "ipc locks to report the deadlock");
      const cycle = seen.deadlocks.find((d) => d.processes.some((p) => p.pid === a.pid))!;
      expect(cycle.processes.map((p) => p.pid).sort()).toEqual([a.pid, b.pid].sort());
      expect(cycle.description).toContain(first);
      expect(cycle.description).toContain(second);

      const held = seen.locks.filter((l) => !l.blocked && (l.path === first || l.path === second));
      expect(held.map((l) => [l.path, l.pid, l.command])).toEqual(
        expect.arrayContaining([
          [first, a.pid, "interop"],
          [second, b.pid, "interop"],
        ]),
      );
      expect(seen.locks.filter((l) => l.blocked && (l.pid === a.pid || l.pid === b.pid))).toHaveLength(2);

      const text = (await ipc(["locks"])).stdout;
      expect(text).toMatch(/^ID\s+KIND\s+MODE\s+PID\s+COMMAND\s+RANGE\s+FILE$/m);
      expect(text).toMatch(new RegExp(`^\\d+\\s+flock\\s+exclusive\\s+${a.pid}\\s+interop\\s+0-EOF\\s+${first}$`, "m"));
      expect(text).toMatch(new RegExp(`^->\\d+\\s+flock\\s+exclusive\\s+${a.pid}\\s+interop\\s+0-EOF\\s+${second}$`, "m"));
      expect(text).toContain("DEADLOCK: 2 processes wait for each other in a cycle");
      expect(text).toMatch(new RegExp(`${a.pid} \\(interop\\) waits for ${b.pid} \\(interop\\)`));
    } finally {
      a.kill("SIGKILL");
      b.kill("SIGKILL");
      await Promise.all([a.exited, b.exited]);
    }
    const after = JSON.parse((await ipc(["locks", "--json"])).stdout) as LocksJson;
    expect(after.locks.filter((l) => l.pid === a.pid || l.pid === b.pid)).toEqual([]);
  });
});

describe("ipc signal", () => {
  /** Starts the C receiver for `signal` and returns it once it has the signal blocked. */
  async function receiver(signal: number) {
    const child = Bun.spawn([program, "sig-wait", String(signal)], { stdout: "pipe", stderr: "pipe" });
    const next = lineReader(child.stdout);
    expect(await next()).toBe("ready");
    return { child, next };
  }

  test("sends a signal by name or number: the receiver sees it from kill (SI_USER)", async () => {
    const { child, next } = await receiver(10);
    try {
      const ran = await ipc(["signal", String(child.pid), "USR1"]);
      expect([ran.code, ran.stderr]).toEqual([0, ""]);
      expect(await next()).toBe("10 0 0"); // signo 10 (SIGUSR1), si_code SI_USER (0)
    } finally {
      child.kill("SIGKILL");
    }
    const second = await receiver(12);
    try {
      expect((await ipc(["signal", String(second.child.pid), "12"])).code).toBe(0);
      expect(await second.next()).toBe("12 0 0");
    } finally {
      second.child.kill("SIGKILL");
    }
  });

  test("--value queues the signal with sigqueue: the receiver sees SI_QUEUE and the value", async () => {
    const rtmin = Number(/SIGRTMIN is (\d+)/.exec((await ipc(["signal", "--help"])).stdout)?.[1]);
    expect(rtmin).toBeGreaterThanOrEqual(32);
    const { child, next } = await receiver(rtmin + 1);
    try {
      const ran = await ipc(["signal", String(child.pid), "SIGRTMIN+1", "--value", "-42"]);
      expect([ran.code, ran.stderr]).toEqual([0, ""]);
      expect(await next()).toBe(`${rtmin + 1} -1 -42`); // si_code SI_QUEUE (-1), si_value.sival_int
    } finally {
      child.kill("SIGKILL");
    }
    const usr2 = await receiver(12);
    try {
      expect((await ipc(["signal", String(usr2.child.pid), "usr2", "--value", "2147483647"])).code).toBe(0);
      expect(await usr2.next()).toBe("12 -1 2147483647");
    } finally {
      usr2.child.kill("SIGKILL");
    }
    expect((await ipc(["signal", String(process.pid), "USR1", "--value", "2147483648"])).stderr).toContain("--value must be at most 2147483647");
    expect((await ipc(["signal", "-4000000", "USR1", "--value", "1"])).code).toBe(2);
  });

  test("bad input: an unknown signal, a missing pid, a process that does not exist", async () => {
    const unknown = await ipc(["signal", String(process.pid), "SIGNOPE"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown signal "SIGNOPE"');
    expect((await ipc(["signal", String(process.pid), "USR3"])).stderr).toContain("did you mean SIGUSR1?");
    expect((await ipc(["signal", String(process.pid), "RTMIN+99"])).code).toBe(2);
    expect((await ipc(["signal", "-1", "TERM"])).code).toBe(2);
    expect((await ipc(["signal"])).stderr).toContain("missing PID");
    expect((await ipc(["signal", "12x", "USR1"])).code).toBe(2);
    const gone = await ipc(["signal", "2147483000", "0"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("ESRCH");
    expect(gone.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});
