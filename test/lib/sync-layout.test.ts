/**
 * layout(): offsets as a C compiler would choose them (checked against a
 * real C struct), typed accessors, init and attach, and refusals of bad
 * specifications and bad placement.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { Barrier, Condition, layout, Mutex, RwLock, Semaphore, SharedMemory, SpinLock, TslLock } from "../../lib/index.ts";
import { tempDir, thrown, uniqueName } from "./support.ts";

const scratch = tempDir("sync-layout");
afterAll(() => scratch.remove());

// The same fields, in the same order, as a C struct: the offsets must agree.
const Mixed = layout({
  flag: "u8",
  lock: Mutex,
  small: "i16",
  items: Semaphore.field({ value: 3 }),
  count: "i32",
  cond: Condition,
  ratio: "f64",
  rw: RwLock.field({ prefer: "writer-nonrecursive" }),
  name: ["u8", 13],
  phase: Barrier.field({ count: 2 }),
  spin: SpinLock,
  tsl: TslLock,
  big: "u64",
  tail: ["u16", 3],
});

const C_STRUCT = `
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
struct mixed {
  uint8_t flag; pthread_mutex_t lock; int16_t small; sem_t items; int32_t count; pthread_cond_t cond;
  double ratio; pthread_rwlock_t rw; uint8_t name[13]; pthread_barrier_t phase; pthread_spinlock_t spin;
  int32_t tsl; uint64_t big; uint16_t tail[3];
};
#define F(x) printf("\\"%s\\": %zu, ", #x, offsetof(struct mixed, x))
int main(void) {
  printf("{");
  F(flag); F(lock); F(small); F(items); F(count); F(cond); F(ratio); F(rw); F(name); F(phase); F(spin); F(tsl); F(big); F(tail);
  printf("\\"size\\": %zu, \\"align\\": %zu}\\n", sizeof(struct mixed), _Alignof(struct mixed));
  return 0;
}
`;

describe("layout()", () => {
  test("places fields exactly where a C compiler places the same struct's", () => {
    const compiler = Bun.which("cc") ?? Bun.which("gcc");
    if (compiler === null) throw new Error("no C compiler on PATH");
    const source = path.join(scratch.dir, "mixed.c");
    const binary = path.join(scratch.dir, "mixed");
    fs.writeFileSync(source, C_STRUCT);
    const build = Bun.spawnSync([compiler, "-std=c11", "-Wall", "-Werror", "-o", binary, source]);
    expect(build.stderr.toString()).toBe("");
    const c = JSON.parse(Bun.spawnSync([binary]).stdout.toString()) as Record<string, number>;
    const { size, align, ...offsets } = c;
    expect({ ...Mixed.offsets } as Record<string, number>).toEqual(offsets);
    expect(Mixed.size).toBe(size!);
    expect(Mixed.align).toBe(align!);
  });

  test("init zeroes the bytes and makes the objects; attach reaches them; accessors are typed views", () => {
    const name = uniqueName("layout");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    using map = shm.map();
    map.bytes().fill(0xee);
    const a = Mixed.init(map, 64);
    expect(map.bytes()[63]).toBe(0xee); // before the layout: untouched
    expect(map.bytes()[64 + Mixed.size]).toBe(0xee); // after it: untouched
    expect(a.count).toBeInstanceOf(Int32Array);
    expect(a.count.length).toBe(1);
    expect(a.big).toBeInstanceOf(BigUint64Array);
    expect(a.name).toBeInstanceOf(Uint8Array);
    expect(a.name.length).toBe(13);
    expect([...a.tail]).toEqual([0, 0, 0]);
    expect(a.items.value).toBe(3);
    expect(a.lock).toBeInstanceOf(Mutex);
    expect(a.tsl.holder).toBe(0);
    a.count[0] = 7;
    a.lock.lock();
    const b = Mixed.attach(map, 64);
    expect(b.count[0]).toBe(7);
    expect(b.lock.held).toBe(true); // the same mutex, as this process sees it
    b.lock.unlock();
    expect(b.rw.tryWriteLock()).toBe(true);
    expect(a.rw.held).toBe("write");
    a.rw.unlock();
  });

  test("fields and toString() describe the layout", () => {
    const small = layout({ lock: Mutex, items: Semaphore.field(), count: "i32", buf: ["u8", 10] });
    expect(small.fields.map((f) => `${f.name}@${f.offset}:${f.type}/${f.size}`)).toEqual([
      `lock@0:Mutex/${Mutex.size}`,
      `items@${Mutex.size}:Semaphore/${Semaphore.size}`,
      `count@${Mutex.size + Semaphore.size}:i32/4`,
      `buf@${Mutex.size + Semaphore.size + 4}:u8[10]/10`,
    ]);
    expect(String(small)).toContain("items: Semaphore");
    expect(small.size % small.align).toBe(0);
  });

  test("bad specifications are refused with the field named", () => {
    expect(thrown(() => layout({}))).toBeInstanceOf(TypeError);
    expect(thrown(() => layout({ x: "int" as never })).message).toContain('"x"');
    expect(thrown(() => layout({ x: ["u8", 0] }))).toBeInstanceOf(RangeError);
    expect(thrown(() => layout({ x: ["u8", 1.5] }))).toBeInstanceOf(RangeError);
    expect(thrown(() => layout({ x: {} as never })).message).toContain("object kind");
    expect(thrown(() => Barrier.field({ count: 0 }))).toBeInstanceOf(RangeError);
  });

  test("a bare Barrier in a layout says it needs a count when initialised", () => {
    const Bare = layout({ phase: Barrier });
    const name = uniqueName("layout");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    using map = shm.map();
    expect(thrown(() => Bare.init(map)).message).toContain("Barrier.field({ count: 3 })");
  });

  test("misaligned, oversized and read-only placement is refused", () => {
    const name = uniqueName("layout");
    using shm = new SharedMemory(name, { exclusive: true, size: 4096 });
    shm.unlink();
    using map = shm.map();
    expect(thrown(() => Mixed.init(map, 4)).message).toContain(`multiple of ${Mixed.align}`);
    expect(thrown(() => Mixed.init(map, 4096 - 8)).message).toContain("run past the end");
    using readOnly = shm.map({ protection: "read" });
    expect(thrown(() => Mixed.attach(readOnly))).toBeInstanceOf(TypeError);
    const tiny = uniqueName("tiny");
    using small = new SharedMemory(tiny, { exclusive: true, size: 16 });
    small.unlink();
    using smallMap = small.map();
    expect(thrown(() => Mixed.init(smallMap)).message).toContain("16-byte mapping");
  });
});
