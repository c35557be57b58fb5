/**
 * Semaphores, named and unnamed: values, waiting with and without a
 * timeout, across processes, asynchronously while timers fire, and the
 * errors for bad input and for objects that are closed or destroyed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import {
  BusyError,
  ClosedError,
  ExistsError,
  InvalidError,
  IpcError,
  NotFoundError,
  SEM_VALUE_MAX,
  Semaphore,
  SharedMemory,
  TimeoutError,
} from "../../lib/index.ts";
import { cleanUp, child, finished, semaphoreLeftovers, setup, Shared, until } from "./sync-support.ts";
import { thrown, uniqueName } from "./support.ts";

afterEach(cleanUp);

describe("named semaphores", () => {
  test("create, wait, post, value; the object is /dev/shm/sem.NAME until unlinked", () => {
    const name = uniqueName("sem");
    using sem = new Semaphore(name, { exclusive: true, value: 2 });
    expect(sem.name).toBe(name);
    expect(fs.existsSync(`/dev/shm/sem.${name.slice(1)}`)).toBe(true);
    expect(sem.value).toBe(2);
    sem.wait();
    expect(sem.tryWait()).toBe(true);
    expect(sem.tryWait()).toBe(false);
    expect(sem.value).toBe(0);
    sem.post();
    expect(sem.value).toBe(1);
    sem.unlink();
    expect(fs.existsSync(`/dev/shm/sem.${name.slice(1)}`)).toBe(false);
    sem.post(); // still usable by whoever has it open
    expect(sem.value).toBe(2);
  });

  test("a second handle sees the same counter; exclusive refuses an existing name; a missing name is ENOENT", () => {
    const name = uniqueName("sem");
    using first = new Semaphore(name, { create: true, value: 0 });
    using second = new Semaphore(name);
    first.post();
    expect(second.value).toBe(1);
    expect(thrown(() => new Semaphore(name, { exclusive: true }))).toBeInstanceOf(ExistsError);
    first.unlink();
    expect(thrown(() => new Semaphore(name))).toBeInstanceOf(NotFoundError);
    expect(thrown(() => Semaphore.unlink(name))).toBeInstanceOf(NotFoundError);
  });

  test("sem_open, declared with its fixed argument list, passes mode and value (variadic pin)", () => {
    const name = uniqueName("sem");
    using sem = new Semaphore(name, { exclusive: true, mode: 0o640, value: 12345 });
    expect(fs.statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777).toBe(0o640 & ~process.umask());
    expect(sem.value).toBe(12345);
    sem.unlink();
  });

  test("bad names and values are refused before sem_open", () => {
    expect(thrown(() => new Semaphore("printer", { create: true }))).toBeInstanceOf(InvalidError);
    expect(thrown(() => new Semaphore(`/${"x".repeat(252)}`, { create: true })).message).toContain("251");
    expect(thrown(() => new Semaphore(uniqueName("sem"), { create: true, value: -1 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => new Semaphore(uniqueName("sem"), { create: true, value: SEM_VALUE_MAX + 1 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => new Semaphore(uniqueName("sem"), { create: true, value: 1.5 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => new Semaphore(uniqueName("sem"), { create: true, mode: 0o10000 }))).toBeInstanceOf(RangeError);
    expect(semaphoreLeftovers()).toEqual([]);
  });

  test("a closed semaphore gives ClosedError, not a crash; close is idempotent", () => {
    const name = uniqueName("sem");
    const sem = new Semaphore(name, { exclusive: true, value: 1 });
    sem.unlink();
    sem.close();
    sem.close();
    expect(sem.closed).toBe(true);
    for (const use of [() => sem.wait(), () => sem.post(), () => sem.tryWait(), () => sem.value]) {
      expect(thrown(use)).toBeInstanceOf(ClosedError);
    }
    expect(thrown(() => sem.destroy())).toBeInstanceOf(TypeError);
  });

  test("the largest value is SEM_VALUE_MAX; one more post is EOVERFLOW", () => {
    const name = uniqueName("sem");
    using sem = new Semaphore(name, { exclusive: true, value: SEM_VALUE_MAX });
    sem.unlink();
    expect(sem.value).toBe(SEM_VALUE_MAX);
    const error = thrown(() => sem.post()) as IpcError;
    expect(error.code).toBe("EOVERFLOW");
    expect(error.hint).toContain("SEM_VALUE_MAX");
  });
});

describe("unnamed semaphores in shared memory", () => {
  test("wait(0) is BusyError, a timed wait TimeoutError, both without blocking for long", () => {
    const { s } = setup();
    expect(s.items.value).toBe(0);
    expect(thrown(() => s.items.wait(0))).toBeInstanceOf(BusyError);
    const error = thrown(() => s.items.wait(0.05)) as IpcError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.call).toBe("sem_timedwait");
    s.items.post();
    s.items.wait(0);
  });

  test("another process posts, this one waits", async () => {
    const { name, s } = setup();
    const poster = child("post", name);
    s.items.wait(20);
    expect((await finished(poster)).code).toBe(0);
    expect(s.items.value).toBe(0);
  });

  test("processes waiting on it wake one per post", async () => {
    const { name, s } = setup();
    const waiters = Array.from({ length: 3 }, () => child("sem-wait", name));
    s.items.post();
    s.items.post();
    await until(() => Atomics.load(s.woken, 0) === 2, "two waiters to wake");
    expect(s.items.value).toBe(0);
    s.items.post();
    for (const result of await Promise.all(waiters.map(finished))) expect(result.code).toBe(0);
    expect(s.woken[0]).toBe(3);
  });

  test("init and attach: bad values, misaligned offsets and Semaphore.field are checked", () => {
    const { map } = setup();
    expect(thrown(() => Semaphore.init(map, 4, { value: 1 })).message).toContain("multiple of 8");
    expect(thrown(() => Semaphore.init(map, 0, { value: -1 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => Semaphore.init(map, 0, { value: SEM_VALUE_MAX + 1 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => Semaphore.field({ value: -3 }))).toBeInstanceOf(RangeError);
    expect(thrown(() => Semaphore.attach(map, map.length))).toBeInstanceOf(RangeError);
    const sem = Semaphore.init(map, map.length - Semaphore.size, { value: SEM_VALUE_MAX });
    expect(sem.value).toBe(SEM_VALUE_MAX);
    expect(thrown(() => sem.unlink())).toBeInstanceOf(TypeError);
  });

  test("after destroy() every handle refuses to use it", () => {
    const { map, s } = setup();
    const other = Semaphore.attach(map, Shared.offsets.items);
    s.items.destroy();
    expect(thrown(() => s.items.post()).message).toContain("destroyed");
    expect(thrown(() => other.wait(0)).message).toContain("destroyed");
  });

  test("unmapped memory gives ClosedError instead of a crash", () => {
    const name = uniqueName("sem-unmap");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    const map = shm.map();
    const sem = Semaphore.init(map, 0, { value: 1 });
    map.unmap();
    expect(thrown(() => sem.wait())).toBeInstanceOf(ClosedError);
    expect(thrown(() => sem.value)).toBeInstanceOf(ClosedError);
  });
});

describe("waitAsync", () => {
  test("a timer fires while an async wait is pending, and its post ends the wait", async () => {
    const { s } = setup();
    const events: string[] = [];
    const waiting = s.items.waitAsync(20).then(() => events.push("acquired"));
    setTimeout(() => {
      events.push("timer fired");
      s.items.post();
    }, 10);
    await waiting;
    expect(events).toEqual(["timer fired", "acquired"]);
    expect(s.items.value).toBe(0);
  });

  test("the event loop runs during a wait that times out", async () => {
    const { s } = setup();
    const events: string[] = [];
    const waiting = s.items.waitAsync(0.1).catch((e: unknown) => {
      events.push(e instanceof TimeoutError ? "timed out" : `error ${String(e)}`);
    });
    setImmediate(() => events.push("loop turned"));
    await waiting;
    expect(events).toEqual(["loop turned", "timed out"]); // a blocking wait would have run the immediate after
  });

  test("several async waits at once, each on its own helper thread", async () => {
    const { s } = setup();
    const waits = Array.from({ length: 3 }, () => s.items.waitAsync(20));
    setTimeout(() => {
      for (let i = 0; i < 3; i++) s.items.post();
    }, 5);
    await Promise.all(waits);
    expect(s.items.value).toBe(0);
  });

  test("unmapping the memory while an async wait is pending does not crash: the pages stay until the wait ends", async () => {
    const name = uniqueName("sem-pinned");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    const waiterMap = shm.map();
    using posterMap = shm.map();
    const waiter = Semaphore.init(waiterMap, 0, { value: 0 });
    const poster = Semaphore.attach(posterMap, 0);
    const waiting = waiter.waitAsync(20);
    waiterMap.unmap(); // the helper thread is asleep inside these pages
    expect(waiterMap.mapped).toBe(false);
    expect(thrown(() => waiter.post())).toBeInstanceOf(ClosedError);
    const mappedPages = () => fs.readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line.includes(`/dev/shm${name}`)).length;
    expect(mappedPages()).toBe(2); // still mapped for the helper, next to the poster's mapping
    poster.post(); // wakes the helper, which then touches the pages
    await waiting;
    expect(mappedPages()).toBe(1); // released once the wait ended
  });

  test("closing or destroying while an async wait is pending is refused", async () => {
    const { s } = setup();
    const waiting = s.items.waitAsync(20);
    expect((thrown(() => s.items.destroy()) as IpcError).code).toBe("EBUSY");
    expect((thrown(() => s.items.close()) as IpcError).code).toBe("EBUSY");
    s.items.post();
    await waiting;
    s.items.destroy();
  });
});
