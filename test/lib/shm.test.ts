/**
 * SharedMemory, MappedFile and SysVSharedMemory, on real kernel objects.
 * Every object has a name under the run prefix and is removed after each
 * test, even when the test fails.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  ClosedError,
  ExistsError,
  IpcError,
  type Mapping,
  MappedFile,
  NotFoundError,
  PAGE_SIZE,
  SharedMemory,
  SysVSharedMemory,
} from "../../lib/index.ts";
import {
  hasOpenFd,
  inDevShm,
  isMapped,
  removeShmLeftovers,
  segmentListed,
  shmLeftovers,
  sysvSegments,
  tempDir,
  thrown,
  uniqueName,
} from "./support.ts";

const LIB = path.resolve(import.meta.dir, "../../lib/index.ts");
const scratch = tempDir("shm");

/** Objects and mappings a test opened, closed and removed after it. */
const opened: { close(): void }[] = [];
const mappings: Mapping[] = [];
const segments = new Set<number>();

function open(name: string, options?: ConstructorParameters<typeof SharedMemory>[1]): SharedMemory {
  const shm = new SharedMemory(name, options);
  opened.push(shm);
  return shm;
}

function track(mapping: Mapping): Mapping {
  mappings.push(mapping);
  return mapping;
}

afterEach(() => {
  for (const mapping of mappings.splice(0)) mapping.unmap();
  for (const object of opened.splice(0)) object.close();
  for (const id of segments) {
    if (segmentListed(id)) SysVSharedMemory.remove(id);
  }
  segments.clear();
  removeShmLeftovers();
});

afterAll(() => {
  scratch.remove();
  expect(shmLeftovers()).toEqual([]);
});

describe("SharedMemory", () => {
  test("create with a size: the object in /dev/shm has that size and mode 0600", () => {
    const name = uniqueName("create");
    const shm = open(name, { create: true, size: 3 * PAGE_SIZE });
    const file = fs.statSync(`/dev/shm${name}`);
    const mode = 0o600 & ~process.umask(); // shm_open applies the umask, like open
    expect(file.isFile()).toBe(true);
    expect(file.size).toBe(3 * PAGE_SIZE);
    expect(file.mode & 0o7777).toBe(mode);
    expect(shm.size).toBe(3 * PAGE_SIZE);
    expect(shm.stat()).toMatchObject({ size: 3 * PAGE_SIZE, mode, uid: process.getuid!() });
    expect(SharedMemory.exists(name)).toBe(true);
  });

  test("exclusive create of an existing name: ExistsError with the details", () => {
    const name = uniqueName("exists");
    open(name, { create: true });
    const error = thrown(() => open(name, { exclusive: true })) as IpcError;
    expect(error).toBeInstanceOf(ExistsError);
    expect(error).toBeInstanceOf(IpcError);
    expect(error.code).toBe("EEXIST");
    expect(error.errno).toBe(17);
    expect(error.call).toBe("shm_open");
    expect(error.object).toBe(name);
    expect(error.kind).toBe("exists");
    expect(error.hint).toContain("exclusive");
    expect(error.message).toContain("EEXIST");
    expect(error.message).toContain(name);
    expect(error.name).toBe("ExistsError");
  });

  test("opening a missing name: NotFoundError, kind not-found, and nothing is created", () => {
    const name = uniqueName("missing");
    const error = thrown(() => open(name)) as IpcError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe("ENOENT");
    expect(error.kind).toBe("not-found");
    expect(error.call).toBe("shm_open");
    expect(error.hint).toContain("create");
    expect(inDevShm(name)).toBe(false);
  });

  test("two objects on one name see each other's writes", () => {
    const name = uniqueName("two");
    const a = open(name, { create: true, size: PAGE_SIZE });
    const b = open(name);
    const ma = track(a.map());
    const mb = track(b.map());
    ma.write("from a", 0);
    mb.write("from b", 100);
    expect(mb.readText(0)).toBe("from a");
    expect(ma.readText(100)).toBe("from b");
    Atomics.add(ma.view(Int32Array, 200, 1), 0, 5);
    expect(Atomics.load(mb.view(Int32Array, 200, 1), 0)).toBe(5);
  });

  test("a second process sees our writes, and we see its writes", async () => {
    const name = uniqueName("child");
    const shm = open(name, { create: true, size: PAGE_SIZE });
    const map = track(shm.map());
    map.write("hello from the parent", 0);
    const script = path.join(scratch.dir, "child.ts");
    fs.writeFileSync(
      script,
      `import { SharedMemory } from ${JSON.stringify(LIB)};
       using shm = new SharedMemory(process.argv[2]!);
       using map = shm.map();
       console.log(map.readText(0));
       map.write("hello from the child", 512);
       Atomics.add(map.view(Int32Array, 1024, 1), 0, 41);`,
    );
    const child = Bun.spawn([process.execPath, script, name], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout.trim()).toBe("hello from the parent");
    expect(map.readText(512)).toBe("hello from the child");
    expect(Atomics.add(map.view(Int32Array, 1024, 1), 0, 1)).toBe(41);
  });

  test("a private mapping is copy-on-write: the object does not change", () => {
    const name = uniqueName("private");
    const shm = open(name, { create: true, size: PAGE_SIZE });
    const shared = track(shm.map());
    shared.write("original", 0);
    const copy = track(shm.map({ private: true }));
    expect(copy.shared).toBe(false);
    expect(copy.readText(0)).toBe("original");
    copy.write("changed!", 0);
    expect(copy.readText(0)).toBe("changed!");
    expect(shared.readText(0)).toBe("original");
    expect(fs.readFileSync(`/dev/shm${name}`).subarray(0, 8).toString()).toBe("original");
  });

  test("a partial mapping at a page offset sees the right bytes", () => {
    const name = uniqueName("partial");
    const shm = open(name, { create: true, size: 3 * PAGE_SIZE });
    const whole = track(shm.map());
    whole.write("second page", PAGE_SIZE + 8);
    const part = track(shm.map({ offset: PAGE_SIZE, length: PAGE_SIZE }));
    expect(part.offset).toBe(PAGE_SIZE);
    expect(part.length).toBe(PAGE_SIZE);
    expect(part.readText(8)).toBe("second page");
    part.write("written through the part", 100);
    expect(whole.readText(PAGE_SIZE + 100)).toBe("written through the part");
    // Without a length it runs to the end of the object.
    const tail = track(shm.map({ offset: 2 * PAGE_SIZE }));
    expect(tail.length).toBe(PAGE_SIZE);
  });

  test("the object persists after close() and is gone after unlink()", () => {
    const name = uniqueName("persist");
    {
      using shm = new SharedMemory(name, { create: true, size: PAGE_SIZE });
      using map = shm.map();
      map.write("kept", 0);
    }
    expect(SharedMemory.exists(name)).toBe(true);
    {
      using again = new SharedMemory(name);
      using map = again.map();
      expect(map.readText(0)).toBe("kept");
      again.unlink();
    }
    expect(SharedMemory.exists(name)).toBe(false);
    expect(inDevShm(name)).toBe(false);
    expect(() => open(name)).toThrow(NotFoundError);
    const error = thrown(() => SharedMemory.unlink(name)) as IpcError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.call).toBe("shm_unlink");
  });

  test("a mapping stays usable after close(), and the memory after unlink() while mapped", () => {
    const name = uniqueName("afterclose");
    const shm = open(name, { create: true, size: PAGE_SIZE });
    const map = track(shm.map());
    shm.close();
    expect(shm.closed).toBe(true);
    expect(hasOpenFd(`/dev/shm${name}`)).toBe(false);
    map.write("still here", 0);
    expect(map.readText(0)).toBe("still here");
    SharedMemory.unlink(name);
    expect(inDevShm(name)).toBe(false);
    expect(isMapped(`/dev/shm${name}`)).toBe(true);
    map.write("and here", 100);
    expect(map.readText(0)).toBe("still here");
    expect(map.readText(100)).toBe("and here");
    map.unmap();
    expect(isMapped(`/dev/shm${name}`)).toBe(false);
  });

  test("a view kept after unmap() has length 0 and reading it does not crash", () => {
    const name = uniqueName("detach");
    const shm = open(name, { create: true, size: PAGE_SIZE });
    const map = shm.map();
    const ints = map.view(Int32Array);
    const bytes = map.bytes();
    ints[0] = 7;
    map.unmap();
    expect(map.mapped).toBe(false);
    expect(ints.length).toBe(0);
    expect(bytes.length).toBe(0);
    expect(ints[0]).toBeUndefined();
    expect(bytes[10]).toBeUndefined();
    // Indexing reads undefined; methods that need the buffer throw a
    // catchable TypeError (the JS rule for detached buffers), never a SIGSEGV.
    expect(() => [...bytes]).toThrow(TypeError);
    expect(() => map.read()).toThrow(ClosedError);
    expect(() => map.bytes()).toThrow(ClosedError);
    expect(() => map.pointer).toThrow(ClosedError);
  });

  test("unmap() twice is fine", () => {
    const name = uniqueName("twice");
    const shm = open(name, { create: true, size: PAGE_SIZE });
    const map = shm.map();
    map.unmap();
    expect(() => map.unmap()).not.toThrow();
    expect(() => map[Symbol.dispose]()).not.toThrow();
    expect(isMapped(`/dev/shm${name}`)).toBe(false);
    shm.close();
    expect(() => shm.close()).not.toThrow();
  });

  test("`using` closes the descriptor and unmaps the mapping", () => {
    const name = uniqueName("using");
    const target = `/dev/shm${name}`;
    let fd = -1;
    let kept: Uint8Array;
    {
      using shm = new SharedMemory(name, { create: true, size: PAGE_SIZE });
      using map = shm.map();
      fd = shm.fd;
      kept = map.bytes();
      kept[0] = 1;
      expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe(target);
      expect(isMapped(target)).toBe(true);
    }
    expect(hasOpenFd(target)).toBe(false);
    expect(isMapped(target)).toBe(false);
    expect(kept.length).toBe(0);
    expect(fs.readFileSync(target)[0]).toBe(1);
  });

  test("resize grows (new bytes are zero) and shrinks the object", () => {
    const name = uniqueName("resize");
    const shm = open(name, { create: true, size: PAGE_SIZE });
    track(shm.map()).write("first", 0);
    shm.resize(3 * PAGE_SIZE);
    expect(shm.size).toBe(3 * PAGE_SIZE);
    expect(fs.statSync(`/dev/shm${name}`).size).toBe(3 * PAGE_SIZE);
    const grown = track(shm.map());
    expect(grown.length).toBe(3 * PAGE_SIZE);
    expect(grown.readText(0)).toBe("first");
    expect(grown.read(PAGE_SIZE, 2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
    grown.unmap();
    shm.resize(100);
    expect(shm.size).toBe(100);
    expect(track(shm.map()).length).toBe(100);
  });

  test("a read-only object gives read-only mappings that still read", () => {
    const name = uniqueName("readonly");
    track(open(name, { create: true, size: PAGE_SIZE }).map()).write("visible", 0);
    const reader = open(name, { readOnly: true });
    const map = track(reader.map());
    expect(map.writable).toBe(false);
    expect(map.readText(0)).toBe("visible");
  });

  test("SharedMemory.exists", () => {
    const name = uniqueName("exists-check");
    expect(SharedMemory.exists(name)).toBe(false);
    open(name, { create: true });
    expect(SharedMemory.exists(name)).toBe(true);
  });
});

describe("MappedFile", () => {
  test("updates a file in place; sync() writes it back", () => {
    const file = path.join(scratch.dir, "records.bin");
    fs.writeFileSync(file, Buffer.alloc(2 * PAGE_SIZE, "a"));
    const mapped = new MappedFile(file);
    opened.push(mapped);
    expect(mapped.size).toBe(2 * PAGE_SIZE);
    const map = track(mapped.map());
    expect(map.readText(0, 3)).toBe("aaa");
    map.write("HELLO", 10);
    map.write("WORLD", PAGE_SIZE + 1);
    map.sync();
    map.sync({ wait: false });
    const content = fs.readFileSync(file);
    expect(content.length).toBe(2 * PAGE_SIZE);
    expect(content.subarray(8, 17).toString()).toBe("aaHELLOaa");
    expect(content.subarray(PAGE_SIZE + 1, PAGE_SIZE + 6).toString()).toBe("WORLD");
  });

  test("creates a file with a size, which unlink() removes", () => {
    const file = path.join(scratch.dir, "new.bin");
    const mapped = new MappedFile(file, { create: true, exclusive: true, size: 1000 });
    opened.push(mapped);
    expect(fs.statSync(file).size).toBe(1000);
    track(mapped.map()).write("x", 999);
    expect(fs.readFileSync(file)[999]).toBe("x".charCodeAt(0));
    expect(() => new MappedFile(file, { exclusive: true })).toThrow(ExistsError);
    mapped.unlink();
    expect(fs.existsSync(file)).toBe(false);
  });

  test("a missing file without create: NotFoundError naming the path", () => {
    const file = path.join(scratch.dir, "absent.bin");
    const error = thrown(() => new MappedFile(file)) as IpcError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.call).toBe("open");
    expect(error.object).toBe(file);
  });
});

describe("SysVSharedMemory", () => {
  test("private segment: attach, write, stat, detach, remove", () => {
    const segment = new SysVSharedMemory("private", { size: PAGE_SIZE });
    segments.add(segment.id);
    expect(segmentListed(segment.id)).toBe(true);
    expect(segment.key).toBe(0);

    const map = track(segment.attach());
    map.write("sysv", 0);
    expect(map.readText(0)).toBe("sysv");
    const attached = segment.stat();
    expect(attached).toMatchObject({
      size: PAGE_SIZE,
      attachments: 1,
      mode: 0o600,
      uid: process.getuid!(),
      creatorPid: process.pid,
      lastPid: process.pid,
    });
    const row = sysvSegments().find((r) => r.id === segment.id);
    expect(row).toMatchObject({ size: PAGE_SIZE, nattch: 1, cpid: process.pid });

    // A second attachment sees the same bytes.
    const second = track(segment.attach({ readOnly: true }));
    expect(second.writable).toBe(false);
    expect(second.readText(0)).toBe("sysv");
    expect(segment.stat().attachments).toBe(2);
    second.unmap();

    map.unmap();
    expect(segment.stat().attachments).toBe(0);
    segment.remove();
    expect(segmentListed(segment.id)).toBe(false);
    expect(() => segment.stat()).toThrow(IpcError);
  });

  test("a segment removed while attached goes when the last attachment does", () => {
    const segment = new SysVSharedMemory("private", { size: PAGE_SIZE });
    segments.add(segment.id);
    const map = track(segment.attach());
    segment.remove();
    expect(segmentListed(segment.id)).toBe(true);
    map.write("still usable", 0);
    expect(map.readText(0)).toBe("still usable");
    map.unmap();
    expect(segmentListed(segment.id)).toBe(false);
  });

  test("a key from ftok: create, then open by key, exclusive fails with ExistsError", () => {
    const keyFile = path.join(scratch.dir, "ftok-key");
    fs.writeFileSync(keyFile, "");
    const key = SysVSharedMemory.key(keyFile, 0x42);
    const created = new SysVSharedMemory(key, { create: true, exclusive: true, size: PAGE_SIZE });
    segments.add(created.id);
    expect(new SysVSharedMemory(key).id).toBe(created.id);
    const error = thrown(() => new SysVSharedMemory(key, { exclusive: true, size: PAGE_SIZE })) as IpcError;
    expect(error).toBeInstanceOf(ExistsError);
    expect(error.call).toBe("shmget");
    created.remove();
    expect(() => new SysVSharedMemory(key)).toThrow(NotFoundError);
  });
});
