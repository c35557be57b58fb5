/**
 * The bun:ffi facts lib/mq.ts relies on, pinned with raw calls through
 * `sys`, so that a Bun or glibc change fails here under a clear name.
 *
 * mq_open is variadic (`mqd_t mq_open(const char *name, int oflag, ...)`):
 * it reads a mode_t and a struct mq_attr * after oflag when O_CREAT is
 * set. The library declares it with those four arguments; these tests show
 * that both really reach the kernel.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { EFD, layout, O, POLL } from "../../lib/ffi/constants.ts";
import { ERRNO } from "../../lib/ffi/errno.ts";
import { cstr, errno, sys } from "../../lib/ffi/libc.ts";
import { cleanUpQueues, queueLeftovers, queueName } from "./mq-support.ts";

const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) sys.close(fd);
  cleanUpQueues();
});
afterAll(() => {
  expect(queueLeftovers()).toEqual([]);
});

/** An mq_attr asking for maxmsg and msgsize. */
function attr(maxmsg: number, msgsize: number): BigInt64Array {
  const a = new BigInt64Array(layout.mq_attr.size / 8);
  a[layout.mq_attr.fields.mq_maxmsg.offset / 8] = BigInt(maxmsg);
  a[layout.mq_attr.fields.mq_msgsize.offset / 8] = BigInt(msgsize);
  return a;
}

function getattr(fd: number): { maxmsg: number; msgsize: number; curmsgs: number } {
  const a = new BigInt64Array(layout.mq_attr.size / 8);
  expect(sys.mq_getattr(fd, a)).toBe(0);
  const f = layout.mq_attr.fields;
  return { maxmsg: Number(a[f.mq_maxmsg.offset / 8]), msgsize: Number(a[f.mq_msgsize.offset / 8]), curmsgs: Number(a[f.mq_curmsgs.offset / 8]) };
}

function mqOpen(name: string, flags: number, mode: number, attributes: BigInt64Array | null): number {
  const fd = sys.mq_open(cstr(name), flags, mode, attributes);
  if (fd !== -1) fds.push(fd);
  return fd;
}

describe("mq_open declared with its four arguments", () => {
  test("the struct mq_attr * (fourth argument) reaches the kernel", () => {
    const fd = mqOpen(queueName("attr"), O.RDWR | O.CREAT | O.EXCL, 0o600, attr(3, 40));
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(getattr(fd)).toEqual({ maxmsg: 3, msgsize: 40, curmsgs: 0 });
  });

  for (const mode of [0o600, 0o640, 0o604]) {
    test(`the mode (third argument) ${mode.toString(8)} reaches the kernel, less the umask`, () => {
      const fd = mqOpen(queueName(`mode${mode.toString(8)}`), O.RDWR | O.CREAT | O.EXCL, mode, attr(2, 16));
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(fs.fstatSync(fd).mode & 0o777).toBe(mode & ~process.umask());
    });
  }

  test("a NULL attr gives the defaults of /proc/sys/fs/mqueue", () => {
    const fd = mqOpen(queueName("null-attr"), O.RDWR | O.CREAT | O.EXCL, 0o600, null);
    expect(fd).toBeGreaterThanOrEqual(0);
    const read = (file: string) => Number(fs.readFileSync(`/proc/sys/fs/mqueue/${file}`, "utf8"));
    expect(getattr(fd)).toMatchObject({ maxmsg: read("msg_default"), msgsize: read("msgsize_default") });
  });

  test("without O_CREAT the extra arguments are ignored, and a missing queue is ENOENT", () => {
    expect(mqOpen(queueName("absent"), O.RDONLY, 0o777, attr(1, 1))).toBe(-1);
    expect(errno()).toBe(ERRNO.ENOENT);
  });

  test("O_EXCL on an existing name is EEXIST", () => {
    const name = queueName("excl");
    expect(mqOpen(name, O.RDWR | O.CREAT | O.EXCL, 0o600, attr(2, 16))).toBeGreaterThanOrEqual(0);
    expect(mqOpen(name, O.RDWR | O.CREAT | O.EXCL, 0o600, attr(2, 16))).toBe(-1);
    expect(errno()).toBe(ERRNO.EEXIST);
  });

  test("an mqd_t is a file descriptor, opened close-on-exec whatever the flags say", () => {
    const fd = mqOpen(queueName("cloexec"), O.RDWR | O.CREAT | O.EXCL, 0o600, attr(2, 16));
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(info)![1]!, 8);
    expect(flags & O.CLOEXEC).toBe(O.CLOEXEC);
  });
});

describe("sending and receiving through the raw calls", () => {
  test("mq_timedreceive returns the size as a bigint, -1 with errno when it fails", () => {
    const fd = mqOpen(queueName("sizes"), O.RDWR | O.CREAT | O.EXCL, 0o600, attr(2, 32));
    const message = Buffer.from("seven b");
    expect(sys.mq_timedsend(fd, message, message.length, 4, null)).toBe(0);
    const buffer = new Uint8Array(32);
    const priority = new Uint32Array(1);
    const received = sys.mq_timedreceive(fd, buffer, buffer.length, priority, null);
    expect(received).toBe(7n);
    expect(priority[0]).toBe(4);
    // A buffer shorter than msgsize is refused even for a short message.
    expect(sys.mq_timedsend(fd, message, message.length, 0, null)).toBe(0);
    expect(sys.mq_timedreceive(fd, buffer, 31, priority, null)).toBe(-1n);
    expect(errno()).toBe(ERRNO.EMSGSIZE);
  });

  test("a timespec of {0, 0} is long past: an empty queue answers ETIMEDOUT at once", () => {
    const fd = mqOpen(queueName("past"), O.RDWR | O.CREAT | O.EXCL, 0o600, attr(2, 16));
    const past = new BigInt64Array(layout.timespec.size / 8);
    expect(sys.mq_timedreceive(fd, new Uint8Array(16), 16, null, past)).toBe(-1n);
    expect(errno()).toBe(ERRNO.ETIMEDOUT);
  });
});

describe("poll and eventfd", () => {
  function pollOnce(entries: [number, number][], ms: number): number[] {
    const table = new Uint8Array(entries.length * layout.pollfd.size);
    const view = new DataView(table.buffer);
    const f = layout.pollfd.fields;
    entries.forEach(([fd, events], i) => {
      view.setInt32(i * 8 + f.fd.offset, fd, true);
      view.setInt16(i * 8 + f.events.offset, events, true);
    });
    expect(sys.poll(table, entries.length, ms)).toBeGreaterThanOrEqual(0);
    return entries.map((_, i) => view.getInt16(i * 8 + f.revents.offset, true));
  }

  test("poll sees POLLIN on a queue with a message and POLLOUT on one with room", () => {
    const fd = mqOpen(queueName("poll"), O.RDWR | O.CREAT | O.EXCL, 0o600, attr(1, 16));
    expect(pollOnce([[fd, POLL.IN | POLL.OUT]], 0)).toEqual([POLL.OUT]);
    expect(sys.mq_timedsend(fd, Buffer.from("x"), 1, 0, null)).toBe(0);
    expect(pollOnce([[fd, POLL.IN | POLL.OUT]], 0)).toEqual([POLL.IN]);
  });

  test("eventfd_write makes an eventfd readable, which is how a waiting worker is woken", () => {
    const efd = sys.eventfd(0, EFD.CLOEXEC | EFD.NONBLOCK);
    expect(efd).toBeGreaterThanOrEqual(0);
    fds.push(efd);
    expect(pollOnce([[efd, POLL.IN]], 0)).toEqual([0]);
    expect(sys.eventfd_write(efd, 1n)).toBe(0);
    expect(pollOnce([[efd, POLL.IN]], 0)).toEqual([POLL.IN]);
  });

  test("dup gives a second descriptor of the same queue", () => {
    const fd = mqOpen(queueName("dup"), O.RDWR | O.CREAT | O.EXCL, 0o600, attr(2, 16));
    const copy = sys.dup(fd);
    expect(copy).toBeGreaterThan(fd);
    fds.push(copy);
    expect(sys.mq_timedsend(fd, Buffer.from("via fd"), 6, 0, null)).toBe(0);
    expect(getattr(copy).curmsgs).toBe(1);
  });
});
