/**
 * fcntl(2) is variadic; lib/ffi/libc.ts declares it with a fixed 64-bit
 * third argument. These calls pin that it carries both kinds of third
 * argument the library passes: an int (F_SETFD) and a pointer to a
 * struct flock (F_SETLK, F_GETLK), whose layout is checked against the
 * headers by layout.test.ts.
 */
import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { ptr } from "bun:ffi";
import { F, FD, LOCK, O, SEEK, layout } from "../../lib/ffi/constants.ts";
import { ERRNO } from "../../lib/ffi/errno.ts";
import { cstr, errno, sys } from "../../lib/ffi/libc.ts";
import { locksOn } from "../../lib/index.ts";
import { tempDir } from "./support.ts";

const scratch = tempDir("locks-ffi");
afterAll(() => scratch.remove());

function openFile(name: string): number {
  const file = path.join(scratch.dir, name);
  fs.writeFileSync(file, Buffer.alloc(100));
  const fd = sys.open(cstr(file), O.RDWR | O.CLOEXEC, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  return fd;
}

test("fcntl with an int argument: F_GETFD / F_SETFD read and clear FD_CLOEXEC", () => {
  const fd = openFile("flags");
  try {
    expect(sys.fcntl(fd, F.GETFD, 0)).toBe(FD.CLOEXEC);
    expect(sys.fcntl(fd, F.SETFD, 0)).toBe(0);
    expect(sys.fcntl(fd, F.GETFD, 0)).toBe(0);
    expect(sys.fcntl(fd, F.GETFL, 0) & 0o3).toBe(O.RDWR);
  } finally {
    sys.close(fd);
  }
});

test("fcntl with a pointer argument: F_SETLK sets the range the struct flock describes", () => {
  const fd = openFile("range");
  const file = path.join(scratch.dir, "range");
  try {
    const flock = new DataView(new ArrayBuffer(layout.flock.size));
    flock.setInt16(layout.flock.fields.l_type.offset, F.WRLCK, true);
    flock.setInt16(layout.flock.fields.l_whence.offset, SEEK.SET, true);
    flock.setBigInt64(layout.flock.fields.l_start.offset, 17n, true);
    flock.setBigInt64(layout.flock.fields.l_len.offset, 5n, true);
    expect(sys.fcntl(fd, F.SETLK, ptr(flock.buffer))).toBe(0);
    expect(locksOn(file)).toMatchObject([{ kind: "posix", mode: "exclusive", pid: process.pid, start: 17, end: 21 }]);
    // F_GETLK writes back into the struct: no conflict with our own lock, so F_UNLCK.
    expect(sys.fcntl(fd, F.GETLK, ptr(flock.buffer))).toBe(0);
    expect(flock.getInt16(layout.flock.fields.l_type.offset, true)).toBe(F.UNLCK);
  } finally {
    sys.close(fd);
  }
});

test("a bad command fails with EINVAL, read from errno right after", () => {
  const fd = openFile("bad");
  try {
    expect(sys.fcntl(fd, 99_999, 0)).toBe(-1);
    expect(errno()).toBe(ERRNO.EINVAL);
    expect(sys.flock(fd, 0)).toBe(-1); // neither LOCK_SH, LOCK_EX nor LOCK_UN
    expect(errno()).toBe(ERRNO.EINVAL);
    expect(sys.flock(fd, LOCK.EX | LOCK.NB)).toBe(0);
  } finally {
    sys.close(fd);
  }
});
