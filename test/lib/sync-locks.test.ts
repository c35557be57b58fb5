/**
 * Read-write locks (and their preference for readers or writers), barriers,
 * the two spinning locks, and futex wait/wake, across processes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { futexWait, futexWaitAsync, futexWake, IpcError, RwLock, TimeoutError, TslLock, type Mapping } from "../../lib/index.ts";
import { cleanUp, child, finished, setup, until, type SharedFields } from "./sync-support.ts";
import { thrown } from "./support.ts";

afterEach(cleanUp);

type Preference = "reader" | "writer" | "writer-nonrecursive";

function rwlockOf(s: SharedFields, prefer: Preference): RwLock {
  return prefer === "reader" ? s.rwReader : prefer === "writer" ? s.rwWriterNp : s.rwWriter;
}

describe("RwLock", () => {
  test("readers share it, a writer excludes everyone", async () => {
    const { name, s } = setup();
    child("read-hold", name, "reader");
    await until(() => Atomics.load(s.flag, 0) !== 0, "the child to take a read lock");
    expect(s.rwReader.tryReadLock()).toBe(true); // two readers at once
    expect(s.rwReader.held).toBe("read");
    s.rwReader.unlock();
    expect(s.rwReader.tryWriteLock()).toBe(false);
    expect(thrown(() => s.rwReader.writeLock(0.05))).toBeInstanceOf(TimeoutError);
    expect((thrown(() => s.rwReader.writeLock(0)) as IpcError).code).toBe("EBUSY");
  });

  test("misuse: unlock without a lock is EPERM, a lock that would wait for itself is EDEADLK", () => {
    const { s } = setup();
    expect((thrown(() => s.rwWriter.unlock()) as IpcError).code).toBe("EPERM");
    s.rwWriter.readLock();
    expect((thrown(() => s.rwWriter.writeLock()) as IpcError).code).toBe("EDEADLK");
    s.rwWriter.unlock();
    s.rwWriter.writeLock();
    expect(s.rwWriter.held).toBe("write");
    expect((thrown(() => s.rwWriter.readLock()) as IpcError).code).toBe("EDEADLK");
    expect(s.rwWriter.tryReadLock()).toBe(false);
    s.rwWriter.unlock();
    expect(s.rwWriter.held).toBe(null);
    expect(thrown(() => RwLock.init(setup().map, 0, { prefer: "writers" as Preference }))).toBeInstanceOf(RangeError);
  });

  test('"writer-nonrecursive": once a writer waits, new readers wait behind it (no writer starvation)', async () => {
    const { name, s } = setup();
    s.rwWriter.readLock(); // a reader is inside
    const writer = child("write", name, "writer-nonrecursive");
    await until(() => Atomics.load(s.flag2, 0) === writer.pid, "the writer to start");
    // The writer is about to wait, or waiting. As soon as it waits, a new
    // reader is refused; poll until that happens.
    let refused = false;
    const deadline = Date.now() + 20_000;
    while (!refused && Date.now() < deadline) {
      refused = !s.rwWriter.tryReadLock();
      if (refused) break;
      s.rwWriter.unlock(); // the probe got in: the writer is not waiting yet
      await Bun.sleep(5);
    }
    expect(refused).toBe(true);
    expect(s.word[0]).toBe(0); // the writer has not written: our read lock keeps it out
    s.rwWriter.unlock();
    expect((await finished(writer)).code).toBe(0);
    expect(s.word[0]).toBe(42);
  }, 30_000);

  for (const prefer of ["reader", "writer"] as const) {
    test(`"${prefer}": new readers overtake a waiting writer (for "writer", glibc's documented quirk)`, async () => {
      const { name, s } = setup();
      const lock = rwlockOf(s, prefer);
      lock.readLock();
      const writer = child("write", name, prefer);
      await until(() => Atomics.load(s.flag2, 0) === writer.pid, "the writer to start");
      await Bun.sleep(200); // whether or not the writer waits by now, readers still get in
      for (let i = 0; i < 5; i++) {
        expect(lock.tryReadLock()).toBe(true);
        lock.unlock();
      }
      expect(s.word[0]).toBe(0);
      lock.unlock();
      expect((await finished(writer)).code).toBe(0);
      expect(s.word[0]).toBe(42);
    });
  }

  test("readLockAsync and writeLockAsync hold the lock on a helper thread until unlock()", async () => {
    const { s } = setup();
    await s.rwWriter.readLockAsync(5);
    await s.rwWriter.readLockAsync(5);
    expect(s.rwWriter.held).toBe("read");
    expect(s.rwWriter.tryWriteLock()).toBe(false);
    s.rwWriter.unlock();
    s.rwWriter.unlock();
    await s.rwWriter.writeLockAsync(5);
    expect(s.rwWriter.held).toBe("write");
    let error: unknown;
    await s.rwWriter.readLockAsync(0.05).catch((e: unknown) => (error = e));
    expect(error).toBeInstanceOf(TimeoutError);
    s.rwWriter.unlock();
    expect(s.rwWriter.tryWriteLock()).toBe(true);
    s.rwWriter.unlock();
  });
});

describe("Barrier", () => {
  test("three processes, four phases: nobody reads a phase before everyone wrote it; one serial waiter per phase", async () => {
    const { name, s } = setup();
    const phases = 4;
    const parties = Array.from({ length: 3 }, (_, i) => child("barrier", name, i, phases));
    for (const result of await Promise.all(parties.map(finished))) expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(s.result[0]).toBe(0);
    expect([...s.serial.subarray(0, phases)]).toEqual([1, 1, 1, 1]);
  });

  test("waitAsync lets the event loop run; a count of 1 returns at once, serially", async () => {
    const { map } = setup();
    const { Barrier } = await import("../../lib/index.ts");
    const single = Barrier.init(map, 0, { count: 1 });
    expect(single.wait()).toBe(true);
    expect(await single.waitAsync()).toBe(true);
    const pair = Barrier.init(map, 64, { count: 2 });
    const events: string[] = [];
    const first = pair.waitAsync().then((serial) => events.push(`first ${serial}`));
    setTimeout(() => events.push("timer"), 1);
    await Bun.sleep(20);
    expect(events).toEqual(["timer"]);
    const second = pair.waitAsync().then((serial) => events.push(`second ${serial}`));
    await Promise.all([first, second]);
    expect(events.filter((e) => e.endsWith("true"))).toHaveLength(1);
    expect(thrown(() => Barrier.init(map, 0, { count: 0 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => Barrier.init(map, 0)).message).toContain("count");
  });
});

describe("SpinLock and TslLock", () => {
  for (const kind of ["spin", "tsl"] as const) {
    test(`${kind}: processes incrementing under it lose no update`, async () => {
      const { name, s } = setup();
      const iterations = 20_000;
      const workers = Array.from({ length: 2 }, () => child("spin-count", name, kind, iterations));
      for (const result of await Promise.all(workers.map(finished))) expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(s.total[0]).toBe(2 * iterations);
      if (kind === "tsl") expect(s.tsl.holder).toBe(0);
    }, 60_000);

    test(`${kind}: held by another process: tryLock false, timed lock TimeoutError, unlock EPERM`, async () => {
      const { name, s } = setup();
      const holder = child("spin-hold", name, kind);
      await until(() => Atomics.load(s.flag, 0) === holder.pid, "the child to take the lock");
      const lock = kind === "tsl" ? s.tsl : s.spin;
      expect(lock.tryLock()).toBe(false);
      expect(thrown(() => lock.lock(0.02))).toBeInstanceOf(TimeoutError);
      const error = thrown(() => lock.unlock()) as IpcError;
      expect(error.code).toBe("EPERM");
      if (kind === "tsl") {
        expect(s.tsl.holder).toBe(holder.pid);
        expect(error.hint).toContain(String(holder.pid));
      }
      let asyncError: unknown;
      await lock.lockAsync(0.02).catch((e: unknown) => (asyncError = e));
      expect(asyncError).toBeInstanceOf(TimeoutError);
    });
  }

  test("locking a spinning lock you hold is EDEADLK, not an endless spin", () => {
    const { s } = setup();
    s.spin.lock();
    expect((thrown(() => s.spin.lock()) as IpcError).code).toBe("EDEADLK");
    s.spin.unlock();
    expect(s.tsl.lock()).toBe(0);
    expect((thrown(() => s.tsl.lock()) as IpcError).code).toBe("EDEADLK");
    s.tsl.unlock();
    expect((thrown(() => s.tsl.unlock()) as IpcError).hint).toContain("not locked");
  });

  test("lockAsync lets timers run while it spins, and gets the lock once it is free", async () => {
    const { s } = setup();
    s.spin.lock();
    const events: string[] = [];
    const locking = s.spin.lockAsync(10).then(() => events.push("locked"));
    setTimeout(() => {
      events.push("timer");
      s.spin.unlock();
    }, 5);
    await locking;
    expect(events).toEqual(["timer", "locked"]);
    expect(s.spin.held).toBe(true);
    s.spin.unlock();
  });

  test("a TSL lock over unmapped memory refuses to work", () => {
    const { map } = setup();
    const lock = TslLock.init(map, 4);
    map.unmap();
    expect((thrown(() => lock.lock()) as IpcError).code).toBe("EBADF");
    expect(thrown(() => TslLock.init(map as Mapping, 4))).toBeInstanceOf(Error);
  });
});

describe("futex", () => {
  test("a process sleeps on a word until another changes it and wakes it", async () => {
    const { name, s } = setup();
    const sleeper = child("futex-wait", name);
    await until(() => Atomics.load(s.flag, 0) === sleeper.pid, "the sleeper to start");
    // Keep waking until it has really woken: a wake before it sleeps wakes no one,
    // but then its wait sees the new value and returns "not-equal".
    Atomics.store(s.word, 0, 1);
    let woken = 0;
    const done = finished(sleeper);
    while (sleeper.exitCode === null && woken === 0) {
      woken += futexWake(s.word, 0);
      await Bun.sleep(1);
    }
    const result = await done;
    expect(result.code).toBe(0);
    expect(["ok", "not-equal"]).toContain(result.stdout.trim());
  });

  test("not-equal, timed-out (pins syscall, declared with a fixed argument list), and errors for bad arguments", () => {
    const { s } = setup();
    expect(futexWait(s.word, 0, 7)).toBe("not-equal");
    expect(futexWait(s.word, 0, 0, 0.01)).toBe("timed-out");
    expect(futexWait(s.word, 0, 0, 0)).toBe("timed-out");
    expect(futexWake(s.word, 0)).toBe(0);
    expect(thrown(() => futexWait(s.word, 1, 0))).toBeInstanceOf(RangeError);
    expect(thrown(() => futexWait(new Uint32Array(1) as never, 0, 0))).toBeInstanceOf(TypeError);
    expect(thrown(() => futexWait(s.word, 0, 2 ** 31))).toBeInstanceOf(RangeError);
    expect(thrown(() => futexWake(s.word, 0, -1))).toBeInstanceOf(RangeError);
  });

  test("futexWaitAsync sleeps on a helper thread; a timer changes the word and wakes it", async () => {
    const { s } = setup();
    const waiting = futexWaitAsync(s.word, 0, 0, 20);
    let woke = 0;
    const timer = setInterval(() => {
      Atomics.store(s.word, 0, 1);
      woke += futexWake(s.word, 0);
    }, 2);
    try {
      expect(["ok", "not-equal"]).toContain(await waiting);
    } finally {
      clearInterval(timer);
    }
    expect(woke).toBeLessThanOrEqual(1);
  });
});
