/**
 * Mutex and Condition across processes: locking, the errors for misuse,
 * robust recovery when a holder is killed, and critical sections that
 * lose no update even when a process dies inside one.
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  BusyError,
  ClosedError,
  IpcError,
  Mutex,
  OwnerDeadError,
  SharedMemory,
  TimeoutError,
  UnrecoverableError,
} from "../../lib/index.ts";
import { cleanUp, child, finished, setup, until } from "./sync-support.ts";
import { thrown, uniqueName } from "./support.ts";

afterEach(cleanUp);

describe("Mutex in one process", () => {
  test("lock, unlock, tryLock, held", () => {
    const { s } = setup();
    expect(s.lock.held).toBe(false);
    s.lock.lock();
    expect(s.lock.held).toBe(true);
    s.lock.unlock();
    expect(s.lock.tryLock()).toBe(true);
    s.lock.unlock();
    expect(s.lock.held).toBe(false);
  });

  test("locking twice is EDEADLK, not a hang", () => {
    const { s } = setup();
    s.lock.lock();
    const error = thrown(() => s.lock.lock()) as IpcError;
    expect(error.code).toBe("EDEADLK");
    expect(thrown(() => s.lock.tryLock()) as IpcError).toMatchObject({ code: "EDEADLK" });
    s.lock.unlock();
  });

  test("unlocking a mutex nobody holds is EPERM (reported by glibc's error-checking mutex)", () => {
    const { s } = setup();
    const error = thrown(() => s.lock.unlock()) as IpcError;
    expect(error).toBeInstanceOf(IpcError);
    expect(error.code).toBe("EPERM");
    expect(error.call).toBe("pthread_mutex_unlock");
    expect(error.hint).toContain("does not hold");
  });

  test("two handles on the same bytes agree on who holds it", () => {
    const { map, s } = setup();
    const again = Mutex.attach(map, 0);
    s.lock.lock();
    expect(again.held).toBe(true);
    expect((thrown(() => again.lock()) as IpcError).code).toBe("EDEADLK");
    again.unlock();
    expect(s.lock.held).toBe(false);
  });

  test("bad timeouts are refused before any call", () => {
    const { s } = setup();
    expect(thrown(() => s.lock.lock(-1))).toBeInstanceOf(RangeError);
    expect(thrown(() => s.lock.lock(Number.NaN))).toBeInstanceOf(TypeError);
    expect(thrown(() => s.lock.lock("1" as unknown as number))).toBeInstanceOf(TypeError);
  });

  test("a destroyed mutex, a closed handle and unmapped memory give clear errors", () => {
    const { s } = setup();
    s.lock.lock();
    expect((thrown(() => s.lock.destroy()) as IpcError).code).toBe("EBUSY");
    s.lock.unlock();
    s.lock.destroy();
    const destroyed = thrown(() => s.lock.lock());
    expect(destroyed).toBeInstanceOf(ClosedError);
    expect(destroyed.message).toContain("destroyed");

    const name = uniqueName("unmapped");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    const map = shm.map();
    const mutex = Mutex.init(map, 64);
    const closed = Mutex.attach(map, 64);
    closed.close();
    expect(thrown(() => closed.lock())).toBeInstanceOf(ClosedError);
    map.unmap();
    const unmapped = thrown(() => mutex.lock());
    expect(unmapped).toBeInstanceOf(ClosedError);
    expect(unmapped.message).toContain("unmapped");
  });

  test("misplaced mutexes are refused: misaligned, past the end, read-only, private", () => {
    const name = uniqueName("place");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    using map = shm.map();
    expect(thrown(() => Mutex.init(map, 4)).message).toContain("not a multiple of 8");
    expect(thrown(() => Mutex.init(map, 4096 - 8)).message).toContain("run past the end");
    expect(thrown(() => Mutex.init(map, -8))).toBeInstanceOf(RangeError);
    using readOnly = shm.map({ protection: "read" });
    expect(thrown(() => Mutex.init(readOnly, 0))).toBeInstanceOf(TypeError);
    using privateMap = shm.map({ private: true });
    expect(thrown(() => Mutex.init(privateMap, 0)).message).toContain("private");
    expect(thrown(() => Mutex.init({} as never, 0))).toBeInstanceOf(TypeError);
  });
});

describe("Mutex across processes", () => {
  test("a mutex another process holds: tryLock false, lock(0) BusyError, lock(t) TimeoutError", async () => {
    const { name, s } = setup();
    child("hold", name);
    await until(() => Atomics.load(s.flag, 0) !== 0, "the child to lock the mutex");
    expect(s.lock.tryLock()).toBe(false);
    expect(thrown(() => s.lock.lock(0))).toBeInstanceOf(BusyError);
    const timedOut = thrown(() => s.lock.lock(0.05)) as IpcError;
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.call).toBe("pthread_mutex_timedlock");
  });

  test("another process cannot unlock a mutex it does not hold (EPERM)", async () => {
    const { name, s } = setup();
    s.lock.lock();
    const result = await finished(child("unlock", name));
    expect(result.stdout.trim()).toBe("EPERM");
    expect(s.lock.held).toBe(true);
    s.lock.unlock();
  });

  test("robust recovery: the holder is SIGKILLed, the next lock() throws OwnerDeadError, consistent() repairs it", async () => {
    const { name, s } = setup();
    const holder = child("hold", name);
    await until(() => Atomics.load(s.flag, 0) === holder.pid, "the child to lock the mutex");
    holder.kill("SIGKILL");
    await holder.exited;

    const error = thrown(() => s.lock.lock(10));
    expect(error).toBeInstanceOf(OwnerDeadError);
    expect((error as OwnerDeadError).code).toBe("EOWNERDEAD");
    expect((error as OwnerDeadError).errno).toBe(130);
    expect((error as OwnerDeadError).mutex).toBe(s.lock);
    expect(s.lock.held).toBe(true); // the lock is ours now
    // unlock() before consistent() would make it unusable for everyone: refused
    expect(thrown(() => s.lock.unlock()).message).toContain("consistent()");
    s.lock.consistent();
    s.lock.unlock();

    // Usable again, here and in another process.
    s.lock.lock(1);
    s.lock.unlock();
    expect((await finished(child("lock-expect", name))).stdout.trim()).toBe("ok");
  });

  test("a holder that exits normally without unlocking is an owner death too", async () => {
    const { name, s } = setup();
    expect((await finished(child("hold-and-exit", name))).code).toBe(0);
    expect(thrown(() => s.lock.tryLock())).toBeInstanceOf(OwnerDeadError);
    s.lock.consistent();
    s.lock.unlock();
  });

  test("the unrecoverable path: markUnrecoverable() makes every later lock fail with ENOTRECOVERABLE", async () => {
    const { name, s } = setup();
    const holder = child("hold", name);
    await until(() => Atomics.load(s.flag, 0) === holder.pid, "the child to lock the mutex");
    holder.kill("SIGKILL");
    await holder.exited;
    expect(thrown(() => s.lock.lock(10))).toBeInstanceOf(OwnerDeadError);
    s.lock.markUnrecoverable();
    expect(s.lock.held).toBe(false);
    const error = thrown(() => s.lock.lock(1)) as IpcError;
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.code).toBe("ENOTRECOVERABLE");
    expect(error.hint).toContain("initialise it");
    expect((await finished(child("lock-expect", name))).stdout.trim()).toBe("ENOTRECOVERABLE");
    expect(thrown(() => s.lock.consistent()).message).toContain("dead owner");
  });

  test("without robustness a dead holder leaves the mutex locked for good: only a timeout gets you out", async () => {
    const { name, s } = setup();
    const holder = child("hold", name, "stalled");
    await until(() => Atomics.load(s.flag, 0) === holder.pid, "the child to lock the mutex");
    holder.kill("SIGKILL");
    await holder.exited;
    expect(thrown(() => s.stalled.lock(0.05))).toBeInstanceOf(TimeoutError);
  });

  test("processes killed inside their critical sections lose no update of the others", async () => {
    const { name, s } = setup();
    const workers = 3;
    const iterations = 300;
    // Worker 0 stops in the middle of iteration 100 (total updated, per[0] not).
    // The others start and queue for the lock; then worker 0 is killed there,
    // and one of them gets the lock with EOWNERDEAD, repairs, and all carry on.
    const victim = child("counter", name, 0, iterations, 100);
    await until(() => Atomics.load(s.flag, 0) === victim.pid, "the victim to stop inside its critical section");
    const survivors = Array.from({ length: workers - 1 }, (_, i) => child("counter", name, i + 1, iterations, -1));
    victim.kill("SIGKILL");
    await victim.exited;
    const results = await Promise.all(survivors.map(finished));
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: "" });

    expect(s.recoveries[0]).toBe(1);
    expect(s.per[0]).toBe(100); // the victim's completed iterations
    for (let i = 1; i < workers; i++) expect(s.per[i]).toBe(iterations);
    // total and per[] changed together in every critical section that completed
    expect(s.total[0]).toBe(100 + (workers - 1) * iterations);
    s.lock.lock(1); // consistent again: no OwnerDeadError
    s.lock.unlock();
  }, 60_000);
});

describe("Mutex async", () => {
  test("lockAsync waits on a helper thread while timers keep firing; the helper unlocks", async () => {
    const { name, s } = setup();
    const holder = child("hold", name);
    await until(() => Atomics.load(s.flag, 0) === holder.pid, "the child to lock the mutex");
    const events: string[] = [];
    const locking = s.lock.lockAsync(20).then(
      () => events.push("locked"),
      (error: unknown) => {
        events.push(error instanceof OwnerDeadError ? "owner-dead" : `error ${String(error)}`);
      },
    );
    // A timer fires while the lock is still pending, then kills the holder.
    setTimeout(() => {
      events.push("timer");
      holder.kill("SIGKILL");
    }, 20);
    await locking;
    expect(events).toEqual(["timer", "owner-dead"]);
    expect(s.lock.held).toBe(true);
    // The helper thread holds it: a blocking lock here would wait for ourselves.
    expect((thrown(() => s.lock.lock()) as IpcError).code).toBe("EDEADLK");
    s.lock.consistent(); // routed to the helper that holds it
    s.lock.unlock();
    expect(s.lock.held).toBe(false);
    expect((await finished(child("lock-expect", name))).stdout.trim()).toBe("ok");
  });

  test("lockAsync with a timeout rejects with TimeoutError", async () => {
    const { name, s } = setup();
    child("hold", name);
    await until(() => Atomics.load(s.flag, 0) !== 0, "the child to lock the mutex");
    let error: unknown;
    await s.lock.lockAsync(0.05).catch((e: unknown) => (error = e));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(s.lock.held).toBe(false);
    expect(s.lock.tryLock()).toBe(false); // the child still holds it
  });

  test("destroy() while an async lock is pending is refused", async () => {
    const { name, s } = setup();
    const holder = child("hold", name);
    await until(() => Atomics.load(s.flag, 0) !== 0, "the child to lock the mutex");
    const pending = s.lock.lockAsync(20).catch((e: unknown) => e);
    const error = thrown(() => s.lock.destroy()) as IpcError;
    expect(error.code).toBe("EBUSY");
    expect(error.hint).toContain("async");
    holder.kill("SIGKILL");
    expect(await pending).toBeInstanceOf(OwnerDeadError);
    s.lock.consistent();
    s.lock.unlock();
  });
});

describe("Condition", () => {
  test("wait() needs the mutex held, returns false on timeout with the mutex held again", () => {
    const { s } = setup();
    expect((thrown(() => s.cond.wait(s.lock, 0)) as IpcError).code).toBe("EPERM");
    s.lock.lock();
    expect(s.cond.wait(s.lock, 0.02)).toBe(false);
    expect(s.lock.held).toBe(true);
    expect(s.cond.wait(s.lock, 0)).toBe(false);
    s.lock.unlock();
    expect(thrown(() => s.cond.wait({} as Mutex))).toBeInstanceOf(TypeError);
  });

  test("broadcast() wakes every process waiting in its predicate loop", async () => {
    const { name, s } = setup();
    const waiters = Array.from({ length: 3 }, () => child("cond-wait", name));
    // Wait until all have taken the lock once; whether they are asleep yet or
    // not does not matter: they check `go` before sleeping.
    await until(() => Atomics.load(s.flag, 0) === 3, "the waiters to start");
    s.lock.lock();
    Atomics.store(s.go, 0, 1);
    s.cond.broadcast();
    s.lock.unlock();
    const results = await Promise.all(waiters.map(finished));
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(s.woken[0]).toBe(3);
  });

  test("waitAsync() with a mutex locked by lockAsync(); a timer signals", async () => {
    const { s } = setup();
    await s.lock.lockAsync();
    // The predicate is the shared word `go`; the timer sets it and signals.
    setTimeout(() => {
      Atomics.store(s.go, 0, 1);
      s.cond.signal();
    }, 20);
    let woke = false;
    while (Atomics.load(s.go, 0) === 0) woke = await s.cond.waitAsync(s.lock, 10);
    expect(woke).toBe(true);
    expect(s.lock.held).toBe(true);
    expect(await s.cond.waitAsync(s.lock, 0.01)).toBe(false);
    s.lock.unlock();
  });

  test("waitAsync() refuses a mutex held by the main thread, which it would have to block", async () => {
    const { s } = setup();
    s.lock.lock();
    let error: unknown;
    await s.cond.waitAsync(s.lock, 0.01).catch((e: unknown) => (error = e));
    expect((error as IpcError).hint).toContain("lockAsync");
    s.lock.unlock();
  });
});
