/**
 * The bun:ffi facts lib/pipes.ts relies on, pinned with real calls:
 * fcntl (variadic, declared with a 64-bit third argument) carries the int
 * of F_SETPIPE_SZ and returns F_GETPIPE_SZ's; pipe2 fills an int[2] and
 * honours O_CLOEXEC and O_NONBLOCK (as /proc/self/fdinfo shows them); read
 * and write move bytes and report -1 with errno (EAGAIN, EPIPE).
 */
import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { ptr } from "bun:ffi";
import { F, FD, O } from "../../lib/ffi/constants.ts";
import { ERRNO } from "../../lib/ffi/errno.ts";
import { errno, sys } from "../../lib/ffi/libc.ts";

const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) sys.close(fd);
});

function pipe2(flags: number): [number, number] {
  const pair = new Int32Array(2);
  expect(sys.pipe2(ptr(pair), flags)).toBe(0);
  fds.push(pair[0]!, pair[1]!);
  return [pair[0]!, pair[1]!];
}

/** The flags of a descriptor as the kernel reports them (octal in fdinfo). */
function fdinfoFlags(fd: number): number {
  return parseInt(/^flags:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8);
}

describe("pipe2", () => {
  test("fills both descriptors; O_CLOEXEC and O_NONBLOCK reach the kernel", () => {
    const [r, w] = pipe2(O.CLOEXEC | O.NONBLOCK);
    expect(r).toBeGreaterThan(2);
    expect(w).toBeGreaterThan(r);
    expect(fdinfoFlags(r) & O.CLOEXEC).toBe(O.CLOEXEC);
    expect(fdinfoFlags(w) & O.NONBLOCK).toBe(O.NONBLOCK);
    const [r2] = pipe2(0);
    expect(fdinfoFlags(r2) & (O.CLOEXEC | O.NONBLOCK)).toBe(0);
  });
});

describe("fcntl declared with a 64-bit third argument", () => {
  test("F_GETPIPE_SZ returns the capacity; F_SETPIPE_SZ takes an int and rounds it up", () => {
    const [r] = pipe2(O.CLOEXEC);
    expect(sys.fcntl(r, F.GETPIPE_SZ, 0)).toBe(65536);
    expect(sys.fcntl(r, F.SETPIPE_SZ, 70_000)).toBe(131072);
    expect(sys.fcntl(r, F.GETPIPE_SZ, 0)).toBe(131072);
    expect(sys.fcntl(r, F.SETPIPE_SZ, 4096)).toBe(4096);
  });

  test("F_GETFL/F_SETFL and F_GETFD/F_SETFD carry flags", () => {
    const [r] = pipe2(0);
    expect(sys.fcntl(r, F.SETFL, O.NONBLOCK)).toBe(0);
    expect(sys.fcntl(r, F.GETFL, 0) & O.NONBLOCK).toBe(O.NONBLOCK);
    expect(sys.fcntl(r, F.SETFD, FD.CLOEXEC)).toBe(0);
    expect(sys.fcntl(r, F.GETFD, 0)).toBe(FD.CLOEXEC);
  });
});

describe("read and write", () => {
  test("move bytes; an empty non-blocking pipe is -1 with EAGAIN; no reader is -1 with EPIPE", () => {
    const [r, w] = pipe2(O.CLOEXEC | O.NONBLOCK);
    expect(Number(sys.write(w, Buffer.from("abc"), 3))).toBe(3);
    const buffer = new Uint8Array(8);
    expect(Number(sys.read(r, buffer, 8))).toBe(3);
    expect(Buffer.from(buffer.subarray(0, 3)).toString()).toBe("abc");
    expect(Number(sys.read(r, buffer, 8))).toBe(-1);
    expect(errno()).toBe(ERRNO.EAGAIN);
    sys.close(r);
    fds.splice(fds.indexOf(r), 1);
    expect(Number(sys.write(w, Buffer.from("x"), 1))).toBe(-1);
    expect(errno()).toBe(ERRNO.EPIPE);
  });
});
