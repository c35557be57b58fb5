/**
 * lib/locks.ts on real files and real processes: flock, fcntl record
 * locks, open-file-description locks, lock files, temporary files and
 * /proc/locks. Other processes are lock-actor.ts children; every verdict
 * comes from the kernel (/proc/locks, F_GETLK, the file's bytes), and no
 * assertion depends on how long anything took.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  BusyError,
  DeadlockError,
  LockFile,
  LockHeldError,
  OpenFile,
  TempFile,
  TimeoutError,
  blockedLockCalls,
  deviceName,
  libraryWaits,
  locksOn,
  ofdHolders,
  pidAlive,
  readProcLocks,
} from "../../lib/index.ts";
import { sys } from "../../lib/ffi/libc.ts";
import { Actor, type Action } from "./lock-actor.ts";
import { callsDuring, tempDir, thrown } from "./support.ts";

// Other processes take part in most tests: leave room for a busy machine.
setDefaultTimeout(30_000);

const scratch = tempDir("locks");
const actors: Actor[] = [];
const files: { close(): void }[] = [];
let serial = 0;

/** A fresh file of `size` zero bytes in the scratch folder. */
function newFile(label: string, size = 64): string {
  const file = path.join(scratch.dir, `${label}-${++serial}`);
  fs.writeFileSync(file, Buffer.alloc(size));
  return file;
}

function open(file: string, options?: ConstructorParameters<typeof OpenFile>[1]): OpenFile {
  const f = new OpenFile(file, options);
  files.push(f);
  return f;
}

function actor(actions: Action[]): Actor {
  const a = new Actor(actions);
  actors.push(a);
  return a;
}

/** Waits until `condition` holds; fails with `what` if it never does (a bound, not a timing assertion). */
async function eventually(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await Bun.sleep(5);
  }
}

/** The /proc/locks lines about `file` of process `pid`. */
function linesOf(file: string, pid: number) {
  return locksOn(file).filter((l) => l.pid === pid);
}

afterEach(async () => {
  for (const a of actors.splice(0)) await a[Symbol.asyncDispose]();
  for (const f of files.splice(0)) f.close();
});

afterAll(() => scratch.remove());

describe("flock", () => {
  test("an exclusive flock held by another process: timeout 0 is BusyError naming it, a timeout is TimeoutError", async () => {
    const file = newFile("flock");
    const holder = actor([{ do: "open", path: file }, { do: "flock", mode: "exclusive" }]);
    expect(await holder.report(1)).toBe("done 1");
    const mine = open(file);
    const busy = thrown(() => mine.flock("exclusive", { timeout: 0 }));
    expect(busy).toBeInstanceOf(BusyError);
    expect(busy.message).toContain(`process ${holder.pid}`);
    expect(mine.tryFlock("shared")).toBe(false);
    const late = thrown(() => mine.flock("shared", { timeout: 0.05 }));
    expect(late).toBeInstanceOf(TimeoutError);
    expect((late as TimeoutError).code).toBe("ETIMEDOUT");
    expect(late.message).toContain(`process ${holder.pid}`);
    expect(linesOf(file, process.pid)).toEqual([]); // nothing taken, nothing left waiting
  });

  test("shared flocks share; an exclusive one waits for all of them", async () => {
    const file = newFile("share");
    const readers = [0, 1].map(() => actor([{ do: "open", path: file }, { do: "flock", mode: "shared" }]));
    for (const r of readers) expect(await r.report(1)).toBe("done 1");
    const mine = open(file);
    expect(mine.tryFlock("shared")).toBe(true);
    mine.unflock();
    const writer = actor([{ do: "open", path: file }, { do: "flock", mode: "exclusive" }]);
    await eventually(() => linesOf(file, writer.pid).some((l) => l.blocked), "the writer waits in flock");
    await readers[0]!.kill();
    expect(linesOf(file, writer.pid).every((l) => l.blocked)).toBe(true);
    await readers[1]!.kill();
    expect(await writer.report(1)).toBe("done 1");
    expect(linesOf(file, writer.pid)).toMatchObject([{ kind: "flock", mode: "exclusive", blocked: false }]);
  });

  test("flockAsync waits in a worker: the event loop keeps running, and the lock is this process's", async () => {
    const file = newFile("async");
    const holder = actor([{ do: "open", path: file }, { do: "flock", mode: "exclusive" }]);
    expect(await holder.report(1)).toBe("done 1");
    const mine = open(file);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const waiting = mine.flockAsync("exclusive");
    await eventually(() => linesOf(file, process.pid).some((l) => l.blocked), "our worker waits in flock");
    const ticksWhileBlocked = ticks;
    await eventually(() => ticks > ticksWhileBlocked + 3, "timers fire while the worker waits");
    expect(libraryWaits().map((w) => w.kind)).toEqual(["flock"]);
    await holder.kill();
    await waiting;
    clearInterval(ticker);
    expect(libraryWaits()).toEqual([]);
    expect(linesOf(file, process.pid)).toMatchObject([{ kind: "flock", mode: "exclusive", blocked: false }]);
  });
});

describe("fcntl record locks", () => {
  test("locks on different byte ranges do not conflict; overlapping ones do, and F_GETLK names the holder", async () => {
    const file = newFile("ranges");
    const holder = actor([{ do: "open", path: file }, { do: "lock", mode: "exclusive", start: 16, length: 16 }]);
    expect(await holder.report(1)).toBe("done 1");
    const mine = open(file);
    expect(mine.testLock("exclusive", { start: 0, length: 16 })).toBeNull();
    expect(mine.testLock("exclusive", { start: 32, length: 0 })).toBeNull();
    expect(mine.tryLock("exclusive", { start: 0, length: 16 })).toBe(true);
    expect(mine.testLock("shared", { start: 20, length: 1 })).toEqual({
      mode: "exclusive",
      start: 16,
      length: 16,
      pid: holder.pid,
      command: expect.any(String),
    });
    const busy = thrown(() => mine.lock("shared", { start: 31, length: 2, timeout: 0 }));
    expect(busy).toBeInstanceOf(BusyError);
    expect(busy.message).toContain(`process ${holder.pid}`);
    expect(busy.message).toContain("bytes 16..31");
  });

  test("shared (read) locks share a range; an exclusive one conflicts with them", async () => {
    const file = newFile("read");
    const reader = actor([{ do: "open", path: file, readOnly: true }, { do: "lock", mode: "shared", start: 0, length: 8 }]);
    expect(await reader.report(1)).toBe("done 1");
    const mine = open(file);
    expect(mine.tryLock("shared", { start: 0, length: 8 })).toBe(true);
    expect(mine.testLock("exclusive", { start: 4, length: 1 })).toMatchObject({ mode: "shared", pid: reader.pid });
  });

  test("a lock with a timeout gets the range when the holder lets go", async () => {
    const file = newFile("timed");
    const holder = actor([
      { do: "open", path: file },
      { do: "lock", mode: "exclusive", start: 0, length: 4 },
      { do: "wait" },
      { do: "unlock", start: 0, length: 4 },
    ]);
    expect(await holder.report(1)).toBe("done 1");
    const mine = open(file);
    const waiting = mine.lockAsync("exclusive", { start: 0, length: 4, timeout: 30 });
    await eventually(() => libraryWaits().length === 1, "our timed wait is listed");
    holder.send();
    await waiting;
    expect(linesOf(file, process.pid)).toMatchObject([{ kind: "posix", mode: "exclusive", start: 0, end: 3 }]);
  });

  test("closing ANY descriptor of the file drops the process's POSIX locks; an OFD lock stays", async () => {
    const file = newFile("gotcha");
    const posix = open(file);
    posix.lock("exclusive", { start: 0, length: 8 });
    const ofd = open(file);
    ofd.lock("exclusive", { start: 8, length: 8, ofd: true });
    expect(linesOf(file, process.pid)).toHaveLength(1);
    expect(locksOn(file).filter((l) => l.kind === "ofd")).toHaveLength(1);

    fs.readFileSync(file); // opens and closes a descriptor of its own

    expect(linesOf(file, process.pid)).toEqual([]); // the POSIX lock is gone
    expect(locksOn(file).filter((l) => l.kind === "ofd")).toMatchObject([{ start: 8, end: 15, pid: -1 }]);
    // Another process can now take the POSIX range, but not the OFD range.
    const other = actor([
      { do: "open", path: file },
      { do: "lock", mode: "exclusive", start: 0, length: 8, timeout: 0 },
      { do: "lock", mode: "exclusive", start: 8, length: 8, timeout: 0 },
    ]);
    expect(await other.report(1)).toBe("done 1");
    expect(await other.report(2)).toStartWith("error 2 EAGAIN");
  });

  test("OFD locks conflict between two open files of one process; POSIX locks of one process never do", () => {
    const file = newFile("ofd");
    const a = open(file);
    const b = open(file);
    expect(a.tryLock("exclusive", { start: 0, length: 4 })).toBe(true);
    expect(b.tryLock("exclusive", { start: 0, length: 4 })).toBe(true); // same process: merged
    expect(a.tryLock("exclusive", { start: 10, length: 4, ofd: true })).toBe(true);
    expect(b.tryLock("exclusive", { start: 10, length: 4, ofd: true })).toBe(false);
    const conflict = b.testLock("exclusive", { start: 10, length: 4, ofd: true });
    expect(conflict).toMatchObject({ mode: "exclusive", start: 10, length: 4, pid: -1 });
    a.unlock({ start: 10, length: 4, ofd: true });
    expect(b.tryLock("exclusive", { start: 10, length: 4, ofd: true })).toBe(true);
  });

  test("two processes locking in opposite orders: F_SETLKW answers EDEADLK to the one that would close the cycle", async () => {
    const file = newFile("deadlock");
    const script = (first: number, second: number): Action[] => [
      { do: "open", path: file },
      { do: "lock", mode: "exclusive", start: first, length: 1 },
      { do: "wait" },
      { do: "lock", mode: "exclusive", start: second, length: 1 },
    ];
    const a = actor(script(0, 1));
    const b = actor(script(1, 0));
    expect(await a.report(1)).toBe("done 1");
    expect(await b.report(1)).toBe("done 1");
    a.send();
    await eventually(() => linesOf(file, a.pid).some((l) => l.blocked), "A waits for byte 1");
    b.send();
    const answer = await b.report(3);
    expect(answer).toStartWith("error 3 EDEADLK");
    await b.kill(); // B gives up (here: dies), and its lock on byte 1 goes with it
    expect(await a.report(3)).toBe("done 3");
  });

  test("in this process, F_SETLKW's EDEADLK becomes a DeadlockError", async () => {
    const file = newFile("edeadlk");
    const other = actor([
      { do: "open", path: file },
      { do: "lock", mode: "exclusive", start: 1, length: 1 },
      { do: "wait" },
      { do: "lock", mode: "exclusive", start: 0, length: 1 },
    ]);
    expect(await other.report(1)).toBe("done 1");
    const mine = open(file);
    mine.lock("exclusive", { start: 0, length: 1 });
    other.send();
    await eventually(() => linesOf(file, other.pid).some((l) => l.blocked), "the other process waits for byte 0");
    const error = thrown(() => mine.lock("exclusive", { start: 1, length: 1 }));
    expect(error).toBeInstanceOf(DeadlockError);
    expect((error as DeadlockError).code).toBe("EDEADLK");
    expect((error as DeadlockError).hint).toContain("fixed order");
    mine.unlock({ start: 0, length: 1 });
    expect(await other.report(3)).toBe("done 3");
  });

  test("killing a lock holder releases its locks, and the process waiting for them proceeds", async () => {
    const file = newFile("killed");
    const holder = actor([
      { do: "open", path: file },
      { do: "lock", mode: "exclusive", start: 0, length: 32 },
      { do: "open", path: file, as: "second" },
      { do: "flock", file: "second", mode: "exclusive" },
      { do: "lock", file: "second", mode: "exclusive", start: 40, length: 8, ofd: true },
    ]);
    expect(await holder.report(4)).toBe("done 4");
    const waiter = actor([
      { do: "open", path: file },
      { do: "lock", mode: "exclusive", start: 8, length: 8 },
      { do: "open", path: file, as: "second" },
      { do: "flock", file: "second", mode: "shared" },
      { do: "lock", file: "second", mode: "shared", start: 40, length: 1, ofd: true },
    ]);
    await eventually(() => linesOf(file, waiter.pid).some((l) => l.blocked), "the waiter is blocked on the record lock");
    expect(linesOf(file, holder.pid).map((l) => l.kind).sort()).toEqual(["flock", "posix"]);
    expect(ofdHolders(locksOn(file).find((l) => l.kind === "ofd")!)).toEqual([holder.pid]);

    await holder.kill();

    expect(await waiter.report(1)).toBe("done 1");
    expect(await waiter.report(3)).toBe("done 3");
    expect(await waiter.report(4)).toBe("done 4");
    expect(linesOf(file, holder.pid)).toEqual([]);
    const now = locksOn(file);
    expect(now.filter((l) => l.blocked)).toEqual([]);
    expect(now.filter((l) => l.pid === waiter.pid).map((l) => `${l.kind} ${l.mode}`).sort()).toEqual(["flock shared", "posix exclusive"]);
    expect(ofdHolders(now.find((l) => l.kind === "ofd")!)).toEqual([waiter.pid]);
  });
});

/** The lock-related libc calls made while `fn` runs (it must throw). */
function lockCallsDuring(fn: () => unknown): { error: Error; calls: string[] } {
  return callsDuring(fn, ["fcntl", "flock", "open", "unlink"]);
}

describe("bad input is refused before any system call", () => {
  test("a negative length, a negative start, an unknown mode, a negative timeout", () => {
    const mine = open(newFile("bad"));
    const negative = lockCallsDuring(() => mine.lock("exclusive", { start: 10, length: -5 }));
    expect(negative.error).toBeInstanceOf(RangeError);
    expect(negative.error.message).toContain("negative length");
    expect(negative.calls).toEqual([]);
    for (const bad of [
      () => mine.testLock("shared", { start: -1 }),
      () => mine.unlock({ length: -1 }),
      () => mine.lock("write" as never),
      () => mine.flock("exclusive", { timeout: -1 }),
      () => LockFile.acquire("", {}),
      () => LockFile.acquire(path.join(scratch.dir, "x.lock"), { timeout: Number.NaN }),
    ]) {
      const { error, calls } = lockCallsDuring(bad);
      expect(error.name).toMatch(/^(RangeError|TypeError)$/);
      expect(calls).toEqual([]);
    }
    expect(locksOn(mine.path)).toEqual([]);
  });

  test("an exclusive record lock on a file opened read-only", () => {
    const mine = open(newFile("ro"), { readOnly: true });
    expect(thrown(() => mine.lock("exclusive"))).toBeInstanceOf(TypeError);
    expect(mine.tryLock("shared")).toBe(true);
  });
});

describe("LockFile", () => {
  test("created atomically with this process's PID inside; a second owner is refused with the first one named", async () => {
    const file = path.join(scratch.dir, `app-${++serial}.lock`);
    using lock = LockFile.acquire(file);
    expect(fs.readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(LockFile.inspect(file)).toMatchObject({ pid: process.pid, alive: true, flocked: true, stale: false });
    const second = thrown(() => LockFile.acquire(file, { timeout: 0 }));
    expect(second).toBeInstanceOf(LockHeldError);
    expect((second as LockHeldError).owner.pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    lock.release(); // idempotent
  });

  test("a stale lock file (its owner is dead) is taken over; a live owner's is not", async () => {
    const file = path.join(scratch.dir, `stale-${++serial}.lock`);
    const dead = Bun.spawn([process.execPath, "-e", ""]);
    await dead.exited;
    expect(pidAlive(dead.pid)).toBe(false);
    fs.writeFileSync(file, `${dead.pid}\n`);
    expect(LockFile.inspect(file)).toMatchObject({ pid: dead.pid, alive: false, stale: true });
    const lock = LockFile.acquire(file, { timeout: 0 });
    expect(lock.tookOverFrom).toBe(dead.pid);
    expect(fs.readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();

    // A live owner that holds no flock (a shell script's noclobber lock, say).
    const owner = actor([{ do: "wait" }]);
    fs.writeFileSync(file, `${owner.pid}\n`);
    const refused = thrown(() => LockFile.takeOver(file));
    expect(refused).toBeInstanceOf(LockHeldError);
    expect(refused.message).toContain(`process ${owner.pid}`);
    expect(refused.message).toContain("alive");
    expect(fs.readFileSync(file, "utf8")).toBe(`${owner.pid}\n`); // untouched
    fs.rmSync(file);
  });

  test("an empty lock file (its creator died before writing) is stale", () => {
    const file = path.join(scratch.dir, `empty-${++serial}.lock`);
    fs.writeFileSync(file, "");
    using lock = LockFile.acquire(file, { timeout: 0 });
    expect(lock.tookOverFrom).toBeNull();
    expect(fs.readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
  });

  test("a lock file held by a process that is then killed is taken over by the waiting process", async () => {
    const file = path.join(scratch.dir, `killed-${++serial}.lock`);
    const holder = Bun.spawn(
      [process.execPath, "-e", `const { LockFile } = await import(${JSON.stringify(path.resolve(import.meta.dir, "../../lib/index.ts"))}); LockFile.acquire(${JSON.stringify(file)}); console.log("held"); await Bun.sleep(60_000);`],
      { stdout: "pipe" },
    );
    const reader = holder.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("held\n");
    expect(LockFile.inspect(file)).toMatchObject({ pid: holder.pid, alive: true, stale: false });
    const waiting = LockFile.acquireAsync(file, { timeout: 30 });
    await eventually(() => libraryWaits().some((w) => w.kind === "lockfile" && w.ownerPid === holder.pid), "we wait for the holder");
    holder.kill("SIGKILL");
    const lock = await waiting;
    expect(lock.tookOverFrom).toBe(holder.pid);
    expect(fs.readFileSync(file, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
  });

  test("many processes racing for a stale lock file: never two inside at once", async () => {
    const file = path.join(scratch.dir, `race-${++serial}.lock`);
    const log = path.join(scratch.dir, `race-${serial}.log`);
    fs.writeFileSync(file, "999999999\n"); // a PID that cannot exist: stale from the start
    const lib = JSON.stringify(path.resolve(import.meta.dir, "../../lib/index.ts"));
    const body = `
      const { LockFile } = await import(${lib});
      const fs = await import("node:fs");
      for (let i = 0; i < 20; i++) {
        const lock = LockFile.acquire(${JSON.stringify(file)}, { timeout: 60 });
        fs.appendFileSync(${JSON.stringify(log)}, "in " + process.pid + "\\n");
        for (let j = 0; j < 3; j++) fs.readFileSync(${JSON.stringify(file)});
        fs.appendFileSync(${JSON.stringify(log)}, "out " + process.pid + "\\n");
        lock.release();
      }`;
    const racers = Array.from({ length: 4 }, () => Bun.spawn([process.execPath, "-e", body], { stderr: "pipe" }));
    const codes = await Promise.all(racers.map((r) => r.exited));
    expect(codes).toEqual([0, 0, 0, 0]);
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4 * 20 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const [inside, pid] = lines[i]!.split(" ");
      expect(inside).toBe("in");
      expect(lines[i + 1]).toBe(`out ${pid}`); // nobody else came in between
    }
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe("TempFile", () => {
  test("an unpredictable name, created new with mode 0600; closing removes it", () => {
    const a = TempFile.create({ dir: scratch.dir, prefix: "ipcbook-report-", suffix: ".txt" });
    const b = TempFile.create({ dir: scratch.dir, prefix: "ipcbook-report-", suffix: ".txt" });
    expect(a.path).not.toBe(b.path);
    expect(path.basename(a.path)).toMatch(/^ipcbook-report-[a-z0-9]{16}\.txt$/);
    expect(fs.statSync(a.path).mode & 0o777).toBe(0o600 & ~process.umask());
    a.write("secret", 0);
    expect(fs.readFileSync(a.path, "utf8")).toBe("secret");
    a.close();
    b.close();
    expect(fs.existsSync(a.path)).toBe(false);
    expect(fs.existsSync(b.path)).toBe(false);
  });

  test("O_EXCL|O_NOFOLLOW: a planted symbolic link is refused, not followed", () => {
    const target = newFile("target");
    fs.writeFileSync(target, "precious");
    const planted = path.join(scratch.dir, "planted");
    fs.symlinkSync(target, planted);
    expect((thrown(() => new OpenFile(planted, { exclusive: true })) as { code?: string }).code).toBe("EEXIST");
    expect((thrown(() => new OpenFile(planted, { noFollow: true })) as { code?: string }).code).toBe("ELOOP");
    expect(fs.readFileSync(target, "utf8")).toBe("precious");
  });
});

describe("/proc/locks", () => {
  test("parses held locks and blocked requests, with kinds, modes, ranges and EOF", () => {
    const text = [
      "1: POSIX  ADVISORY  WRITE 4242 fe:00:123 0 15",
      "1: -> POSIX  ADVISORY  READ 4343 fe:00:123 4 EOF",
      "2: FLOCK  ADVISORY  READ 4242 08:01:77 0 EOF",
      "3: OFDLCK ADVISORY  WRITE -1 fe:00:123 100 199",
      "",
    ].join("\n");
    const locks = readProcLocks(text);
    expect(locks.map(({ line: _line, command: _command, ...rest }) => rest)).toEqual([
      { id: 1, blocked: false, kind: "posix", mode: "exclusive", pid: 4242, device: "fe:00", inode: 123, start: 0, end: 15 },
      { id: 1, blocked: true, kind: "posix", mode: "shared", pid: 4343, device: "fe:00", inode: 123, start: 4, end: null },
      { id: 2, blocked: false, kind: "flock", mode: "shared", pid: 4242, device: "08:01", inode: 77, start: 0, end: null },
      { id: 3, blocked: false, kind: "ofd", mode: "exclusive", pid: -1, device: "fe:00", inode: 123, start: 100, end: 199 },
    ]);
  });

  test("names the holder's command from /proc/PID/comm, and locksOn matches the file's device and inode", () => {
    const file = newFile("named");
    const mine = open(file);
    mine.lock("exclusive", { start: 0, length: 2 });
    const st = fs.statSync(file);
    const [line] = locksOn(file);
    expect(line).toMatchObject({ pid: process.pid, inode: st.ino, device: deviceName(st.dev) });
    expect(line!.command).toBe(fs.readFileSync("/proc/self/comm", "utf8").trim());
    expect(readProcLocks().some((l) => l.pid === process.pid && l.inode === st.ino)).toBe(true);
  });

  test("blockedLockCalls finds a process blocked in an OFD wait, which /proc/locks shows only as pid -1", async () => {
    const file = newFile("blocked");
    const mine = open(file);
    mine.lock("exclusive", { ofd: true });
    const waiter = actor([{ do: "open", path: file }, { do: "lock", mode: "exclusive", ofd: true }]);
    await eventually(() => locksOn(file).some((l) => l.blocked), "the waiter is blocked");
    expect(locksOn(file).find((l) => l.blocked)!.pid).toBe(-1);
    await eventually(() => blockedLockCalls().some((b) => b.pid === waiter.pid), "the waiter's thread is seen in fcntl");
    const call = blockedLockCalls().find((b) => b.pid === waiter.pid)!;
    expect(call).toMatchObject({ call: "fcntl", inode: fs.statSync(file).ino });
    mine.unlock({ ofd: true });
    expect(await waiter.report(1)).toBe("done 1");
  });
});

test("getpid agrees with process.pid (the PID a lock file records)", () => {
  expect(sys.getpid()).toBe(process.pid);
});
