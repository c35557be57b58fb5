/**
 * Bad input to the message-queue classes gets a clear error, before any
 * system call where the library can tell: every function in `sys` is
 * counted while the bad call runs, and the kernel shows no trace (no queue
 * created, no message sent). The faults only the kernel can report (the
 * per-user queue memory used up) get a hint that says what really happened.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { MQ_PRIO_MAX, RLIMIT } from "../../lib/ffi/constants.ts";
import { sys } from "../../lib/ffi/libc.ts";
import {
  ClosedError,
  InvalidError,
  IpcError,
  LimitError,
  MessageQueue,
  PermissionError,
  queueLimits,
  SysVMessageQueue,
} from "../../lib/index.ts";
import { cleanUpQueues, openQueue, queueLeftovers, queueName, SMALL } from "./mq-support.ts";
import { callsDuring, thrown } from "./support.ts";


/** Expects `fn` to throw `Class` with a message matching `about`, without calling libc. */
function refusedBeforeCall<E extends Error>(fn: () => unknown, Class: abstract new (...args: never[]) => E, about: RegExp): E {
  const { error, calls } = callsDuring(fn);
  expect(error).toBeInstanceOf(Class);
  expect(error.message).toMatch(about);
  expect(calls).toEqual([]);
  return error as E;
}

afterEach(() => {
  cleanUpQueues();
});

afterAll(() => {
  expect(queueLeftovers()).toEqual([]);
});

test("the counter sees real calls (so an empty list means something)", () => {
  const { calls } = callsDuring(() => {
    openQueue(queueName("counted"));
    throw new Error("done");
  });
  expect(calls).toContain("mq_open");
  expect(calls).toContain("mq_getattr");
});

describe("queue names", () => {
  test("a name without its leading slash", () => {
    const bare = queueName("noslash").slice(1);
    const error = refusedBeforeCall(() => new MessageQueue(bare, { create: true, ...SMALL }), InvalidError, /starts with a slash/);
    expect(error.call).toBe("mq_open");
    expect(error.hint).toContain(`"/${bare}"`);
    expect(MessageQueue.exists(`/${bare}`)).toBe(false);
  });

  test("a name with a slash after the first", () => {
    refusedBeforeCall(() => new MessageQueue(`${queueName("inner")}/jobs`, { create: true }), InvalidError, /no slash after the first/);
  });

  test("unlink and exists check the name too", () => {
    refusedBeforeCall(() => MessageQueue.unlink("orders"), InvalidError, /slash/);
    refusedBeforeCall(() => MessageQueue.exists("/a/b"), InvalidError, /slash/);
  });
});

describe("sizes over the system's limits", () => {
  test("maxmsg over msg_max: the error names /proc/sys/fs/mqueue/msg_max", () => {
    const name = queueName("maxmsg");
    const { msgMax } = queueLimits();
    const error = refusedBeforeCall(
      () => new MessageQueue(name, { create: true, maxmsg: msgMax + 1, msgsize: 64 }),
      InvalidError,
      /\/proc\/sys\/fs\/mqueue\/msg_max/,
    );
    expect(error.message).toContain(`maxmsg ${msgMax + 1}`);
    expect(error.hint).toContain("sysctl fs.mqueue.msg_max");
    expect(MessageQueue.exists(name)).toBe(false);
  });

  test("msgsize over msgsize_max: the error names /proc/sys/fs/mqueue/msgsize_max", () => {
    const name = queueName("msgsize");
    const { msgsizeMax } = queueLimits();
    const error = refusedBeforeCall(
      () => new MessageQueue(name, { create: true, maxmsg: 2, msgsize: msgsizeMax + 1 }),
      InvalidError,
      /\/proc\/sys\/fs\/mqueue\/msgsize_max/,
    );
    expect(error.code).toBe("EINVAL");
    expect(MessageQueue.exists(name)).toBe(false);
  });

  test("the limits themselves are accepted (not off by one)", () => {
    const { msgMax } = queueLimits();
    const queue = openQueue(queueName("at-limit"), { exclusive: true, maxmsg: msgMax, msgsize: 16 });
    expect(queue.maxmsg).toBe(msgMax);
  });

  test("zero, negative, fractional and non-numeric sizes", () => {
    const name = queueName("sizes");
    refusedBeforeCall(() => new MessageQueue(name, { create: true, maxmsg: 0, msgsize: 16 }), RangeError, /maxmsg must be at least 1/);
    refusedBeforeCall(() => new MessageQueue(name, { create: true, maxmsg: 2, msgsize: -1 }), RangeError, /msgsize must be at least 1/);
    refusedBeforeCall(() => new MessageQueue(name, { create: true, maxmsg: 2.5, msgsize: 16 }), RangeError, /whole number/);
    refusedBeforeCall(() => new MessageQueue(name, { create: true, maxmsg: "4" as unknown as number }), TypeError, /maxmsg must be a number/);
    expect(MessageQueue.exists(name)).toBe(false);
  });

  test("maxmsg or msgsize without create", () => {
    refusedBeforeCall(() => new MessageQueue(queueName("nocreate"), { maxmsg: 4, msgsize: 16 }), TypeError, /create: true/);
  });

  test("a mode with bits above 0o777, and an unknown access", () => {
    const name = queueName("mode");
    refusedBeforeCall(() => new MessageQueue(name, { create: true, mode: 0o1600 }), RangeError, /mode/);
    refusedBeforeCall(() => new MessageQueue(name, { create: true, access: "rw" as "read" }), TypeError, /access must be/);
  });
});

describe("messages", () => {
  test("a message longer than msgsize is refused before mq_timedsend", () => {
    const queue = openQueue(queueName("long"));
    const error = refusedBeforeCall(() => queue.send("x".repeat(SMALL.msgsize + 1)), InvalidError, /65 bytes, longer than the queue's msgsize of 64/);
    expect(error.code).toBe("EMSGSIZE");
    expect(error.hint).toContain("msgsize_max");
    // bytes, not characters: 33 × "ż" is 66 bytes
    refusedBeforeCall(() => queue.send("ż".repeat(33)), InvalidError, /66 bytes/);
    expect(queue.attributes().curmsgs).toBe(0);
  });

  test("a priority at or over MQ_PRIO_MAX", () => {
    const queue = openQueue(queueName("priority"));
    const error = refusedBeforeCall(() => queue.send("x", { priority: MQ_PRIO_MAX }), InvalidError, /priorities run from 0 to 32767/);
    expect(error).toBeInstanceOf(IpcError);
    refusedBeforeCall(() => queue.send("x", { priority: 2 ** 40 }), InvalidError, /too high/);
    refusedBeforeCall(() => queue.send("x", { priority: -1 }), RangeError, /priority must be at least 0/);
    refusedBeforeCall(() => queue.send("x", { priority: 1.5 }), RangeError, /whole number/);
    queue.send("x", { priority: MQ_PRIO_MAX - 1 });
    expect(queue.receive().priority).toBe(MQ_PRIO_MAX - 1);
  });

  test("a message that is neither a string nor bytes", () => {
    const queue = openQueue(queueName("type"));
    refusedBeforeCall(() => queue.send(42 as unknown as string), TypeError, /string or a Uint8Array/);
    refusedBeforeCall(() => queue.send({ text: "x" } as unknown as string), TypeError, /string or a Uint8Array/);
  });

  test("timeouts that are negative, NaN or not numbers", () => {
    const queue = openQueue(queueName("timeout"));
    refusedBeforeCall(() => queue.receive({ timeout: -1 }), RangeError, /at least 0 seconds/);
    refusedBeforeCall(() => queue.receive({ timeout: NaN }), TypeError, /NaN/);
    refusedBeforeCall(() => queue.send("x", { timeout: "1" as unknown as number }), TypeError, /timeout must be a number/);
    refusedBeforeCall(() => MessageQueue.wait([queue], -0.5), RangeError, /at least 0/);
  });
});

describe("the wrong end of a queue", () => {
  test("receiving on a write-only descriptor: PermissionError before the call", () => {
    const name = queueName("writeonly");
    openQueue(name).send("not for the writer");
    const writer = openQueue(name, { access: "write" });
    const error = refusedBeforeCall(() => writer.receive(), PermissionError, /write-only/);
    expect(error.call).toBe("mq_timedreceive");
    expect(error.message).toContain("EBADF");
    expect(error.hint).toContain('access "read"');
    expect(writer.attributes().curmsgs).toBe(1);
  });

  test("receiveAsync on a write-only descriptor rejects the same way", async () => {
    const writer = openQueue(queueName("writeonly-async"), { create: true, access: "write", ...SMALL });
    await expect(writer.receiveAsync()).rejects.toBeInstanceOf(PermissionError);
  });

  test("sending on a read-only descriptor: PermissionError before the call", () => {
    const reader = openQueue(queueName("readonly"), { create: true, access: "read", ...SMALL });
    refusedBeforeCall(() => reader.send("x"), PermissionError, /read-only/);
    expect(reader.attributes().curmsgs).toBe(0);
  });

  test("a closed queue: ClosedError before the call, for every operation", () => {
    const queue = openQueue(queueName("closed"));
    queue.close();
    for (const use of [
      () => queue.send("x"),
      () => queue.receive(),
      () => queue.attributes(),
      () => queue.setNonBlocking(true),
      () => queue.notify(null),
      () => MessageQueue.wait([queue], 0),
    ]) {
      const error = refusedBeforeCall(use, ClosedError, /closed/);
      expect(error.kind).toBe("closed");
    }
  });
});

describe("notification", () => {
  test("notify without a handler for the signal: InvalidError before mq_notify", () => {
    const queue = openQueue(queueName("nohandler"));
    expect(process.listenerCount("SIGUSR2")).toBe(0);
    const error = refusedBeforeCall(() => queue.notify("SIGUSR2"), InvalidError, /no handler for SIGUSR2/);
    expect(error.hint).toContain('process.on("SIGUSR2"');
  });

  test("an unknown signal name: TypeError", () => {
    const queue = openQueue(queueName("badsignal"));
    refusedBeforeCall(() => queue.notify("SIGNOPE" as NodeJS.Signals), TypeError, /unknown signal/);
    refusedBeforeCall(() => queue.notify(-3), TypeError, /signal must be/);
  });
});

describe("faults only the kernel can see", () => {
  test("EMFILE from the per-user queue memory: LimitError whose hint says RLIMIT_MSGQUEUE", () => {
    // Lower this process's soft limit to 0: every new queue is then over it,
    // whatever the other queues of this user take.
    const saved = new BigUint64Array(2);
    expect(sys.getrlimit(RLIMIT.MSGQUEUE, saved)).toBe(0);
    const none = new BigUint64Array([0n, saved[1]!]);
    expect(sys.setrlimit(RLIMIT.MSGQUEUE, none)).toBe(0);
    let error: IpcError;
    const name = queueName("emfile");
    try {
      error = thrown(() => new MessageQueue(name, { create: true, ...SMALL })) as IpcError;
    } finally {
      expect(sys.setrlimit(RLIMIT.MSGQUEUE, saved)).toBe(0);
    }
    expect(error).toBeInstanceOf(LimitError);
    expect(error.code).toBe("EMFILE");
    expect(error.hint).toContain("RLIMIT_MSGQUEUE");
    expect(error.hint).toContain("ulimit -q");
    expect(error.hint).toContain("0 bytes here");
    expect(error.hint).toContain("/dev/mqueue");
    expect(MessageQueue.exists(name)).toBe(false);
  });
});

describe("System V queues", () => {
  test("a key that is not an integer, a type below 1, a mode over 0o777", () => {
    refusedBeforeCall(() => new SysVMessageQueue(1.5), TypeError, /key/);
    refusedBeforeCall(() => new SysVMessageQueue(0x1d000000, { mode: 0o1600 }), RangeError, /mode/);
    const queue = new SysVMessageQueue("private");
    try {
      refusedBeforeCall(() => queue.send("x", { type: 0 }), RangeError, /type must be at least 1/);
      refusedBeforeCall(() => queue.receive({ type: 0.5 }), TypeError, /whole number/);
      expect(queue.stat().messages).toBe(0);
    } finally {
      queue.remove();
    }
  });
});
