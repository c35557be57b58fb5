/**
 * lib/process.ts: posix_spawn with its options, waitpid and the decoded
 * statuses, run() without a shell, system()/popen() and the injection they
 * allow, /proc inspection, and the facts about Bun that waitpid relies on.
 * Every child started here is waited for; the last test checks that this
 * process has no child left (no zombie, nothing running).
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cc, ptr } from "bun:ffi";
import {
  decodeStatus,
  describeStatus,
  InvalidError,
  IpcError,
  kill,
  NotFoundError,
  PermissionError,
  popenRead,
  processGroupOf,
  processInfo,
  run,
  signalName,
  signalNumber,
  spawn,
  statusMacros,
  system,
  waitpid,
  type WaitStatus,
} from "../../lib/index.ts";
import { tempDir, thrown } from "./support.ts";

const scratch = tempDir("process");
afterAll(() => scratch.remove());

/** Processes whose parent is this one, from /proc. */
function ourChildren(): { pid: number; state: string; command: string }[] {
  return fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => processInfo(Number(entry)))
    .filter((info) => info !== null && info.ppid === process.pid)
    .map((info) => ({ pid: info!.pid, state: info!.state, command: info!.command }));
}

/** The signals a process ignores, from the SigIgn mask of its /proc status text. */
function ignoredSignals(status: string): number[] {
  const mask = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(status)![1]}`);
  return Array.from({ length: 64 }, (_, i) => i + 1).filter((n) => (mask >> BigInt(n - 1)) & 1n);
}

function exited(code: number): Partial<WaitStatus> {
  return { kind: "exited", code };
}

describe("wait statuses", () => {
  test("the TypeScript macros agree with <sys/wait.h> for every 16-bit status", () => {
    const source = path.join(scratch.dir, "macros.c");
    fs.writeFileSync(
      source,
      [
        "#include <sys/wait.h>",
        "void macros(int s, int *out) {",
        "  out[0] = WIFEXITED(s); out[1] = WEXITSTATUS(s); out[2] = WIFSIGNALED(s); out[3] = WTERMSIG(s);",
        "  out[4] = WCOREDUMP(s) != 0; out[5] = WIFSTOPPED(s); out[6] = WSTOPSIG(s); out[7] = WIFCONTINUED(s);",
        "}",
      ].join("\n"),
    );
    const { symbols } = cc({ source, symbols: { macros: { args: ["i32", "ptr"], returns: "void" } } });
    const out = new Int32Array(8);
    const m = statusMacros;
    const mismatches: string[] = [];
    for (let s = 0; s <= 0xffff; s++) {
      symbols.macros(s, ptr(out));
      const ts = [
        m.WIFEXITED(s), m.WEXITSTATUS(s), m.WIFSIGNALED(s), m.WTERMSIG(s),
        m.WCOREDUMP(s), m.WIFSTOPPED(s), m.WSTOPSIG(s), m.WIFCONTINUED(s),
      ].map(Number);
      if (ts.some((v, i) => v !== out[i])) mismatches.push(`${s}: C ${[...out]} TS ${ts}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  test("decodeStatus names each case, and refuses a word that is none", () => {
    expect(decodeStatus(3 << 8)).toEqual({ kind: "exited", code: 3, raw: 768 });
    expect(decodeStatus(9)).toEqual({ kind: "signaled", signal: "SIGKILL", signalNumber: 9, coreDumped: false, raw: 9 });
    expect(decodeStatus(0x80 | 11)).toMatchObject({ kind: "signaled", signal: "SIGSEGV", coreDumped: true });
    expect(decodeStatus((19 << 8) | 0x7f)).toMatchObject({ kind: "stopped", signal: "SIGSTOP" });
    expect(decodeStatus(0xffff)).toEqual({ kind: "continued", raw: 0xffff });
    expect(describeStatus(decodeStatus(0x80 | 6))).toBe("killed by SIGABRT (core dumped)");
    expect(describeStatus(decodeStatus(42 << 8))).toBe("exited with code 42");
    expect(() => decodeStatus(0x1ff)).toThrow(RangeError); // low byte 0xff: neither exited, signaled nor stopped
  });

  test("signal names and numbers", () => {
    expect(signalName(15)).toBe("SIGTERM");
    expect(signalName(34)).toBe("SIGRTMIN");
    expect(signalName(36)).toBe("SIGRTMIN+2");
    expect(signalName(99)).toBe("signal 99");
    expect(signalNumber("SIGUSR1")).toBe(10);
    expect(signalNumber("KILL")).toBe(9);
    expect(() => signalNumber("SIGNOPE" as never)).toThrow(TypeError);
    expect(() => signalNumber("toString" as never)).toThrow(TypeError);
  });

  test("real children: an exit code, a death by signal, a stop and a continue", () => {
    expect(spawn(["sh", "-c", "exit 3"]).wait()).toMatchObject(exited(3));
    expect(spawn(["sh", "-c", "exit 255"]).wait()).toMatchObject(exited(255));
    expect(spawn(["sh", "-c", 'kill -TERM "$$"']).wait()).toMatchObject({ kind: "signaled", signal: "SIGTERM" });

    const sleeper = spawn(["sleep", "60"]);
    sleeper.kill("SIGSTOP");
    expect(waitpid(sleeper.pid, { untraced: true })).toMatchObject({ pid: sleeper.pid, status: { kind: "stopped", signal: "SIGSTOP" } });
    expect(processInfo(sleeper.pid)?.state).toBe("T");
    sleeper.kill("SIGCONT");
    expect(waitpid(sleeper.pid, { continued: true })).toMatchObject({ pid: sleeper.pid, status: { kind: "continued" } });
    sleeper.kill("SIGKILL");
    expect(sleeper.wait()).toMatchObject({ kind: "signaled", signal: "SIGKILL", signalNumber: 9 });
  });
});

describe("waitpid from Bun", () => {
  test("Bun installs no SIGCHLD handler and does not ignore SIGCHLD", () => {
    const status = fs.readFileSync("/proc/self/status", "utf8");
    const caught = BigInt(`0x${/SigCgt:\s*([0-9a-f]+)/.exec(status)![1]}`);
    expect((caught >> 16n) & 1n).toBe(0n); // bit 17 - 1: SIGCHLD
    expect(ignoredSignals(status)).not.toContain(17);
  });

  test("our children's statuses are never taken by Bun, even while Bun reaps its own", async () => {
    for (let round = 0; round < 5; round++) {
      const ours = Array.from({ length: 6 }, (_, i) => spawn(["sh", "-c", `exit ${10 + i}`]));
      // Bun.spawn children end at the same moment; Bun waits for them by pid.
      const theirs = Array.from({ length: 6 }, () => Bun.spawn(["true"]));
      expect(await Promise.all(theirs.map((c) => c.exited))).toEqual([0, 0, 0, 0, 0, 0]);
      await Bun.sleep(5);
      expect(ours.map((c) => c.wait())).toEqual(ours.map((_, i) => ({ kind: "exited", code: 10 + i, raw: (10 + i) << 8 })));
    }
  });

  test("WNOHANG returns null while the child runs; the timed wait gives up with null", () => {
    using child = spawn(["sleep", "60"]);
    expect(waitpid(child.pid, { noHang: true })).toBeNull();
    expect(child.poll()).toBeNull();
    expect(child.wait(0.05)).toBeNull();
    expect(processInfo(child.pid)?.state).toMatch(/[RS]/);
  });

  test("dispose kills and reaps a child that is still running: no zombie", () => {
    let pid = 0;
    {
      using child = spawn(["sleep", "60"]);
      pid = child.pid;
    }
    expect(processInfo(pid)).toBeNull();
  });

  test("dispose after a direct waitpid() on the child does not throw", () => {
    const child = spawn(["true"]);
    expect(waitpid(child.pid)?.status).toMatchObject(exited(0));
    expect(() => child[Symbol.dispose]()).not.toThrow();
  });

  test("exited() waits without blocking the event loop", async () => {
    // The child ends only after a timer of ours has run: if exited() blocked the
    // loop, the timer could not run, and the child would give up with code 1.
    const flag = path.join(scratch.dir, "timer-ran");
    const child = spawn(["sh", "-c", 'i=0; while [ ! -e "$1" ]; do i=$((i+1)); [ $i -gt 2000 ] && exit 1; sleep 0.01; done; exit 7', "sh", flag]);
    setTimeout(() => fs.writeFileSync(flag, ""), 1);
    expect(await child.exited()).toMatchObject(exited(7));
  });

  test("ECHILD for a process that is not our child, with a hint", () => {
    const error = thrown(() => waitpid(1));
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe("ECHILD");
    expect((error as IpcError).hint).toContain("Bun.spawn");
  });

  test("a zombie shows as Z in /proc until it is waited for", async () => {
    const child = spawn(["true"]);
    const deadline = Date.now() + 10_000;
    while (processInfo(child.pid)?.state !== "Z" && Date.now() < deadline) await Bun.sleep(5);
    expect(processInfo(child.pid)).toMatchObject({ state: "Z", ppid: process.pid, command: "true" });
    expect(child.wait()).toMatchObject(exited(0));
    expect(processInfo(child.pid)).toBeNull();
  });
});

describe("spawn", () => {
  test("the argument vector arrives exactly, with no shell in between", async () => {
    const marker = path.join(scratch.dir, "injected");
    const args = ["two words", "", "semi;colon", `$(touch ${marker})`, "`touch ${marker}`", "'quoted'", "a\nb", "*"];
    const result = await run(["printf", "%s|", ...args]);
    expect(result.ok).toBe(true);
    expect(result.stdout).toBe(args.map((a) => `${a}|`).join(""));
    expect(fs.existsSync(marker)).toBe(false);
  });

  test("the environment is exactly what was given", async () => {
    const result = await run(["/usr/bin/env"], { env: { ONLY: "this one", EMPTY: "", SKIPPED: undefined } });
    expect(result.stdout.split("\n").filter(Boolean).sort()).toEqual(["EMPTY=", "ONLY=this one"]);
  });

  test("the working directory (addchdir_np)", async () => {
    expect((await run(["pwd"], { cwd: scratch.dir })).stdout).toBe(`${fs.realpathSync(scratch.dir)}\n`);
    const missing = path.join(scratch.dir, "no-such-dir");
    const error = thrown(() => spawn(["pwd"], { cwd: missing }));
    expect(error).toBeInstanceOf(NotFoundError);
  });

  test("stdin and stdout from and to files; append", () => {
    const input = path.join(scratch.dir, "numbers.txt");
    const output = path.join(scratch.dir, "sorted.txt");
    fs.writeFileSync(input, "10\n9\n100\n");
    expect(spawn(["sort", "-n"], { stdin: { path: input }, stdout: { path: output } }).wait()).toMatchObject(exited(0));
    expect(fs.readFileSync(output, "utf8")).toBe("9\n10\n100\n");
    expect(fs.statSync(output).mode & 0o777).toBe(0o600);
    spawn(["echo", "more"], { stdout: { path: output, append: true } }).wait();
    expect(fs.readFileSync(output, "utf8")).toBe("9\n10\n100\nmore\n");
    spawn(["echo", "fresh"], { stdout: { path: output } }).wait();
    expect(fs.readFileSync(output, "utf8")).toBe("fresh\n");
  });

  test("a descriptor handed over with dup2 under another number, and one passed under its own", async () => {
    const log = path.join(scratch.dir, "log.txt");
    const fd = fs.openSync(log, "w"); // close-on-exec, as every descriptor Bun opens
    try {
      spawn(["sh", "-c", "echo to-three >&3"], { actions: [{ dup2: fd, to: 3 }] }).wait();
      // The shell's >&N takes one digit only; bun writes to any descriptor number.
      const writeTo = (text: string) => [process.execPath, "-e", `require("node:fs").writeSync(${fd}, ${JSON.stringify(text)})`];
      expect(spawn(writeTo("same-number\n"), { pass: [fd] }).wait()).toMatchObject(exited(0));
      // Not passed: close-on-exec closed it in the child (the number may be reused there for something else).
      const look = [process.execPath, "-e", `try { console.log(require("node:fs").readlinkSync("/proc/self/fd/${fd}")) } catch { console.log("closed") }`];
      expect((await run(look)).stdout.trim()).not.toBe(log);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(log, "utf8")).toBe("to-three\nsame-number\n");
  });

  test("the child gets only 0, 1, 2 and what is passed; close and open actions", async () => {
    const listing = await run(["ls", "/proc/self/fd"]);
    // ls's own directory descriptor is the only extra one.
    expect(listing.stdout.split("\n").filter(Boolean).map(Number).filter((fd) => fd > 2)).toHaveLength(1);
    const closed = spawn(["sh", "-c", "echo x >&2"], { stdout: "null", actions: [{ close: 2 }] }).wait();
    expect(closed).not.toMatchObject(exited(0));
    const file = path.join(scratch.dir, "opened.txt");
    spawn(["sh", "-c", "echo via-five >&5"], { actions: [{ open: file, fd: 5, flags: 0o1 | 0o100, mode: 0o640 }] }).wait();
    expect(fs.readFileSync(file, "utf8")).toBe("via-five\n");
    expect(fs.statSync(file).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  test("a new process group, which a negative pid signals as a whole", () => {
    const leader = spawn(["sh", "-c", "sleep 60 & wait"], { processGroup: 0 });
    try {
      const deadline = Date.now() + 10_000;
      while (processInfo(leader.pid)?.pgid !== leader.pid && Date.now() < deadline) Bun.sleepSync(5);
      expect(processGroupOf(leader.pid)).toBe(leader.pid);
      expect(processGroupOf()).not.toBe(leader.pid);
    } finally {
      kill(-leader.pid, "SIGTERM"); // the shell and its sleep
    }
    expect(leader.wait()).toMatchObject({ kind: "signaled", signal: "SIGTERM" });
  });

  test("signals start at their defaults, although Bun ignores SIGPIPE and SIGXFSZ", async () => {
    expect(ignoredSignals(fs.readFileSync("/proc/self/status", "utf8"))).toEqual(expect.arrayContaining([13, 25]));
    const child = await run(["cat", "/proc/self/status"]);
    const ignored = ignoredSignals(child.stdout);
    expect(ignored).not.toContain(13);
    expect(ignored).not.toContain(25);
    // And so a writer to a closed pipe dies of SIGPIPE, as it would from a shell.
    const pipeline = await run(["sh", "-c", "yes | head -n 1 >/dev/null; echo done"]);
    expect(pipeline.stdout).toBe("done\n");
  });
});

describe("bad input and failures", () => {
  test("a string command is refused, with the reason", async () => {
    const error = thrown(() => spawn("ls -l" as unknown as string[]));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("argument vector");
    expect(error.message).toContain("shell");
    await expect(run("ls -l" as unknown as string[])).rejects.toThrow(TypeError);
  });

  test("empty argv, non-strings, NUL bytes, bad environment names", () => {
    expect(() => spawn([])).toThrow(TypeError);
    expect(() => spawn(["echo", 3 as unknown as string])).toThrow(TypeError);
    expect(thrown(() => spawn(["echo", "a\0b"]))).toBeInstanceOf(InvalidError);
    expect(thrown(() => spawn([""]))).toBeInstanceOf(InvalidError);
    expect(thrown(() => spawn(["env"], { env: { "A=B": "x" } }))).toBeInstanceOf(InvalidError);
    expect(() => spawn(["true"], { stdout: "nowhere" as never })).toThrow(TypeError);
    expect(() => spawn(["true"], { pass: [-1] })).toThrow(RangeError);
    const child = spawn(["true"]);
    expect(() => child.wait(-1)).toThrow(RangeError);
    expect(child.wait()).toMatchObject(exited(0));
  });

  test("a missing program is ENOENT from posix_spawnp, with a hint", () => {
    const error = thrown(() => spawn(["ipcbook-no-such-program"]));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as IpcError).call).toBe("posix_spawnp");
    expect((error as IpcError).hint).toContain("PATH");
    expect(thrown(() => spawn(["ls"], { search: false }))).toBeInstanceOf(NotFoundError); // no PATH search: ./ls
  });

  test("a file that is not executable is EACCES", () => {
    const file = path.join(scratch.dir, "not-executable");
    fs.writeFileSync(file, "#!/bin/sh\necho hi\n", { mode: 0o600 });
    const error = thrown(() => spawn([file]));
    expect(error).toBeInstanceOf(PermissionError);
    expect((error as IpcError).code).toBe("EACCES");
  });

  test("a file action on a descriptor we do not have fails the spawn with EBADF", () => {
    const error = thrown(() => spawn(["true"], { actions: [{ dup2: 987, to: 3 }] }));
    expect((error as IpcError).code).toBe("EBADF");
  });

  test("kill: a bad pid and an unknown signal", () => {
    expect(() => kill(0)).toThrow(TypeError);
    const child = spawn(["true"]);
    child.wait();
    expect(() => child.kill()).not.toThrow(); // waited for: the pid is no longer ours to signal
    expect(() => kill(process.pid, "SIGBOGUS" as never)).toThrow(TypeError);
  });
});

describe("run", () => {
  test("stdout, stderr, input and the status", async () => {
    const result = await run(["sh", "-c", "cat; echo oops >&2; exit 4"], { input: "hello\n" });
    expect(result).toMatchObject({ ok: false, stdout: "hello\n", stderr: "oops\n", timedOut: false, status: exited(4) });
  });

  test("a child that writes more than a pipe holds does not block", async () => {
    const result = await run(["head", "-c", "3000000", "/dev/zero"]);
    expect(result.ok).toBe(true);
    expect(result.stdout.length).toBe(3_000_000);
  });

  test("a timeout kills the child with SIGKILL", async () => {
    const result = await run(["sleep", "60"], { timeout: 0.1 });
    expect(result.timedOut).toBe(true);
    expect(result.status).toMatchObject({ kind: "signaled", signal: "SIGKILL" });
  });
});

describe("system and popen: the shell obeys whatever the text says", () => {
  test("statuses come back decoded", () => {
    expect(system("exit 6")).toMatchObject(exited(6));
    expect(system('kill -USR1 "$$"')).toMatchObject({ kind: "signaled", signal: "SIGUSR1" });
    expect(popenRead("printf 'a\\nb\\n'; exit 2")).toMatchObject({ output: "a\nb\n", status: exited(2) });
    expect(system("ipcbook-no-such-command 2>/dev/null")).toMatchObject(exited(127));
  });

  test("a crafted 'file name' runs a command through system and popen, and not through run", async () => {
    const marker = path.join(scratch.dir, "INJECTED");
    const name = `report.txt; echo INJECTED > ${marker}`;
    system(`exec 2>/dev/null; ls -l ${name}`);
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
    popenRead(`exec 2>/dev/null; wc -c ${name}`);
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
    const safe = await run(["ls", "-l", name]);
    expect(safe.status).toMatchObject({ kind: "exited" });
    expect(safe.ok).toBe(false); // no such file: the whole text was one name
    expect(safe.stderr).toContain("report.txt; echo INJECTED");
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe("subreapers and orphans (in a separate Bun process)", () => {
  test("prctl(PR_SET_CHILD_SUBREAPER) is read back, and an orphan comes to us", async () => {
    const script = path.join(scratch.dir, "subreaper.ts");
    const lib = path.resolve(import.meta.dir, "../../lib/index.ts");
    fs.writeFileSync(
      script,
      `import { isChildSubreaper, setChildSubreaper, spawn, processInfo } from ${JSON.stringify(lib)};
const before = isChildSubreaper();
setChildSubreaper(true);
const middle = spawn(["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"], { stdout: { path: process.argv[2] } });
middle.wait();
const orphan = Number(require("node:fs").readFileSync(process.argv[2], "utf8"));
const adopted = processInfo(orphan)?.ppid === process.pid;
process.kill(orphan, "SIGKILL");
const { waitpid } = await import(${JSON.stringify(lib)});
const status = waitpid(orphan);
console.log(JSON.stringify({ before, after: isChildSubreaper(), adopted, status: status.status.kind }));
`,
    );
    const child = Bun.spawn([process.execPath, script, path.join(scratch.dir, "orphan.pid")], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(JSON.parse(out)).toEqual({ before: false, after: true, adopted: true, status: "signaled" });
  });
});

test("no child of this process is left: nothing running, no zombie", () => {
  expect(ourChildren()).toEqual([]);
});
