/**
 * The bun:ffi behaviours the library relies on, pinned so that a Bun
 * upgrade that changes one fails here, with a clear name, rather than as a
 * strange error somewhere in a family module.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { type Pointer } from "bun:ffi";
import { MAP, O, PROT } from "../../lib/ffi/constants.ts";
import { ERRNO } from "../../lib/ffi/errno.ts";
import { cstr, errno, mappedPointer, PAGE_SIZE, strerror, sys } from "../../lib/ffi/libc.ts";
import { ClosedError, IpcError, lastError, MappedFile, NotFoundError, SharedMemory } from "../../lib/index.ts";
import { removeShmLeftovers, tempDir, uniqueName } from "./support.ts";

const scratch = tempDir("ffi");
afterEach(() => {
  removeShmLeftovers();
});
afterAll(() => scratch.remove());

/** The current umask, without changing it. */
function currentUmask(): number {
  return process.umask();
}

describe("errno", () => {
  test("read right after a failing shm_open it is ENOENT", () => {
    const name = uniqueName("missing");
    expect(sys.shm_open(cstr(name), O.RDWR, 0)).toBe(-1);
    expect(errno()).toBe(ERRNO.ENOENT);
  });

  test("lastError() right after the failing call carries the right code", () => {
    const name = uniqueName("missing");
    expect(sys.shm_open(cstr(name), O.RDWR, 0)).toBe(-1);
    const error = lastError("shm_open", name);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe("ENOENT");
    expect(error.errno).toBe(ERRNO.ENOENT);
  });

  test("each failing call sets its own errno (EEXIST after ENOENT)", () => {
    const name = uniqueName("twice");
    expect(sys.shm_open(cstr(name), O.RDWR, 0)).toBe(-1);
    expect(errno()).toBe(ERRNO.ENOENT);
    const fd = sys.shm_open(cstr(name), O.RDWR | O.CREAT | O.EXCL, 0o600);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      expect(sys.shm_open(cstr(name), O.RDWR | O.CREAT | O.EXCL, 0o600)).toBe(-1);
      expect(errno()).toBe(ERRNO.EEXIST);
    } finally {
      sys.close(fd);
      sys.shm_unlink(cstr(name));
    }
  });

  test("strerror returns the C library's message", () => {
    // The text depends on the locale; it must be the C library's, not the fallback.
    for (const n of [ERRNO.ENOENT, ERRNO.EEXIST]) {
      expect(strerror(n).length).toBeGreaterThan(0);
      expect(strerror(n)).not.toBe(`errno ${n}`);
    }
    expect(strerror(ERRNO.ENOENT)).not.toBe(strerror(ERRNO.EEXIST));
  });
});

describe("mmap", () => {
  test("MAP_FAILED is not a usable pointer, and errno says why (EBADF)", () => {
    const result = sys.mmap(null, PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.SHARED, -1, 0) as Pointer | bigint | null;
    expect(mappedPointer(result)).toBeNull();
    const error = lastError("mmap", "fd -1");
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toBeInstanceOf(ClosedError);
    expect(error.code).toBe("EBADF");
    expect(error.errno).toBe(ERRNO.EBADF);
    expect(error.call).toBe("mmap");
  });

  test("MAP_FAILED ((void*)-1) comes back as the bigint 2^64-1, which mappedPointer rejects", () => {
    // If Bun ever returned it as a number, mappedPointer would take it for
    // an address: this pin fails first.
    const result = sys.mmap(null, PAGE_SIZE, PROT.READ, MAP.SHARED, -1, 0) as unknown;
    expect(result).toBe(2n ** 64n - 1n);
  });

  test("a successful mmap returns a number pointer, released by munmap", () => {
    const result = sys.mmap(null, PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | 0x20 /* MAP_ANONYMOUS */, -1, 0);
    const pointer = mappedPointer(result as Pointer | bigint | null);
    expect(pointer).not.toBeNull();
    expect(typeof pointer).toBe("number");
    expect(sys.munmap(pointer, PAGE_SIZE)).toBe(0);
  });
});

describe("open declared with its fixed three-argument list", () => {
  for (const mode of [0o600, 0o640, 0o604]) {
    test(`O_CREAT with mode ${mode.toString(8)} creates the file with that mode (less the umask)`, () => {
      const file = path.join(scratch.dir, `mode-${mode.toString(8)}`);
      const fd = sys.open(cstr(file), O.RDWR | O.CREAT | O.EXCL | O.CLOEXEC, mode);
      expect(fd).toBeGreaterThanOrEqual(0);
      sys.close(fd);
      expect(fs.statSync(file).mode & 0o7777).toBe(mode & ~currentUmask());
    });
  }

  test("a missing file without O_CREAT fails with ENOENT", () => {
    expect(sys.open(cstr(path.join(scratch.dir, "absent")), O.RDONLY, 0)).toBe(-1);
    expect(errno()).toBe(ERRNO.ENOENT);
  });

  test("MappedFile creates its file with the default mode 0600", () => {
    const file = path.join(scratch.dir, "mapped-default");
    using mapped = new MappedFile(file, { create: true, size: 100 });
    expect(fs.statSync(file).mode & 0o7777).toBe(0o600 & ~currentUmask());
    expect(fs.statSync(file).size).toBe(100);
    expect(mapped.stat().mode).toBe(0o600 & ~currentUmask());
  });

  test("shm_open passes its mode too", () => {
    const name = uniqueName("mode");
    using shm = new SharedMemory(name, { create: true, mode: 0o640 });
    expect(fs.statSync(`/dev/shm${name}`).mode & 0o7777).toBe(0o640 & ~currentUmask());
    expect(shm.stat().mode).toBe(0o640 & ~currentUmask());
    shm.unlink();
  });
});
