/**
 * MessageQueue and SysVMessageQueue on real kernel queues. Every queue has
 * a name under the run prefix, is small (the per-user queue memory is
 * shared with every other test on the machine), and is removed after each
 * test, even when the test fails. No assertion depends on how fast the
 * machine is: waits are for events, and times are only checked from below.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import {
  BusyError,
  ClosedError,
  ExistsError,
  InterruptedError,
  Message,
  MessageQueue,
  NotFoundError,
  queueLimits,
  queueMemory,
  SysVMessageQueue,
  TimeoutError,
  type IpcError,
} from "../../lib/index.ts";
import { MQ_PRIO_MAX } from "../../lib/ffi/constants.ts";
import { Child, cleanUpQueues, mqueueMounted, openQueue, privateSysVQueue, queueLeftovers, queueName, SMALL, sysvQueueListed } from "./mq-support.ts";
import { thrown } from "./support.ts";

afterEach(() => {
  cleanUpQueues();
});

afterAll(() => {
  expect(queueLeftovers()).toEqual([]);
});

/** A promise and the function that resolves it. */
function signalled<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("opening and creating", () => {
  test("a new queue has the maxmsg and msgsize asked for, mode 0600 and no messages", () => {
    const queue = openQueue(queueName("create"), { exclusive: true, maxmsg: 3, msgsize: 100 });
    expect(queue.maxmsg).toBe(3);
    expect(queue.msgsize).toBe(100);
    expect(queue.attributes()).toEqual({ maxmsg: 3, msgsize: 100, curmsgs: 0, nonBlocking: false, flags: 0 });
    expect(fs.fstatSync(queue.fd).mode & 0o777).toBe(0o600 & ~process.umask());
  });

  test("created without attributes, a queue gets msg_default and msgsize_default", () => {
    // Full size by default: the largest queue these tests make, removed at once.
    const queue = openQueue(queueName("defaults"), { exclusive: true });
    const limits = queueLimits();
    expect(queue.attributes()).toMatchObject({ maxmsg: limits.msgDefault, msgsize: limits.msgsizeDefault });
  });

  test("opening an existing queue reports its real attributes", () => {
    const name = queueName("existing");
    openQueue(name, { exclusive: true, maxmsg: 2, msgsize: 48 });
    const other = openQueue(name, { access: "read" });
    expect([other.maxmsg, other.msgsize]).toEqual([2, 48]);
    // With create but without exclusive, the attributes of an existing queue are ignored.
    const again = openQueue(name, { create: true, maxmsg: 4, msgsize: 64 });
    expect([again.maxmsg, again.msgsize]).toEqual([2, 48]);
  });

  test("exclusive create of an existing name: ExistsError; a missing name: NotFoundError", () => {
    const name = queueName("excl");
    openQueue(name);
    const exists = thrown(() => openQueue(name, { exclusive: true, ...SMALL })) as IpcError;
    expect(exists).toBeInstanceOf(ExistsError);
    expect(exists).toMatchObject({ code: "EEXIST", call: "mq_open", object: name, kind: "exists" });
    expect(exists.hint).toContain("exclusive");

    const missing = queueName("missing");
    const notFound = thrown(() => openQueue(missing, { access: "read" })) as IpcError;
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound.hint).toContain("create");
    expect(MessageQueue.exists(missing)).toBe(false);
  });

  test("the mode is passed to the kernel (less the umask)", () => {
    const queue = openQueue(queueName("mode"), { exclusive: true, mode: 0o640, ...SMALL });
    expect(fs.fstatSync(queue.fd).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  test("close does not remove the queue or its messages; unlink does", () => {
    const name = queueName("lifetime");
    const queue = openQueue(name);
    queue.send("kept");
    queue.close();
    expect(queue.closed).toBe(true);
    expect(MessageQueue.exists(name)).toBe(true);
    const reopened = openQueue(name, { access: "read" });
    expect(reopened.attributes().curmsgs).toBe(1);
    expect(reopened.receive({ timeout: 0 }).text()).toBe("kept");
    reopened.unlink();
    expect(MessageQueue.exists(name)).toBe(false);
    // The descriptor still works after unlink: the queue goes when the last one closes.
    reopened.setNonBlocking(true);
    expect(reopened.attributes().nonBlocking).toBe(true);
    const gone = thrown(() => MessageQueue.unlink(name)) as IpcError;
    expect(gone).toBeInstanceOf(NotFoundError);
  });

  test("`using` closes the descriptor at the end of the block", () => {
    const name = queueName("using");
    let fd = -1;
    {
      using queue = new MessageQueue(name, { create: true, ...SMALL });
      fd = queue.fd;
      expect(fs.existsSync(`/proc/self/fd/${fd}`)).toBe(true);
    }
    expect(fs.existsSync(`/proc/self/fd/${fd}`) && fs.readlinkSync(`/proc/self/fd/${fd}`).includes(name.slice(1))).toBe(false);
    expect(MessageQueue.exists(name)).toBe(true);
  });

  test.skipIf(!mqueueMounted())("a queue is a file in /dev/mqueue whose contents describe it", () => {
    const name = queueName("devmq");
    const queue = openQueue(name);
    queue.send("12345");
    const text = fs.readFileSync(`/dev/mqueue${name}`, "utf8");
    expect(text).toMatch(/^QSIZE:5\s+NOTIFY:0\s+SIGNO:0\s+NOTIFY_PID:0/);
  });
});

describe("sending and receiving", () => {
  test("text and bytes arrive unchanged, with their real size in a msgsize buffer", () => {
    const queue = openQueue(queueName("roundtrip"));
    queue.send("zażółć");
    const bytes = new Uint8Array([0, 1, 2, 255, 0]);
    queue.send(bytes);
    queue.send("");
    const text = queue.receive();
    expect(text).toBeInstanceOf(Message);
    expect(text.text()).toBe("zażółć");
    expect(text.size).toBe(Buffer.byteLength("zażółć"));
    const binary = queue.receive();
    expect(binary.data).toEqual(bytes);
    expect(binary.size).toBe(5);
    expect(queue.receive().size).toBe(0);
  });

  test("a subarray is sent from its own offset", () => {
    const queue = openQueue(queueName("subarray"));
    queue.send(new TextEncoder().encode("xxmiddlexx").subarray(2, 8));
    expect(queue.receive().text()).toBe("middle");
  });

  test("a message of exactly msgsize bytes fits", () => {
    const queue = openQueue(queueName("full-size"));
    queue.send("m".repeat(SMALL.msgsize));
    expect(queue.receive().size).toBe(SMALL.msgsize);
  });

  test("the highest priority comes out first, and equal priorities in the order sent", () => {
    const queue = openQueue(queueName("priorities"), { create: true, maxmsg: 8, msgsize: 16 });
    const sent: [string, number][] = [
      ["a", 0],
      ["b", 5],
      ["c", 0],
      ["d", MQ_PRIO_MAX - 1],
      ["e", 5],
      ["f", 1],
    ];
    for (const [text, priority] of sent) queue.send(text, { priority });
    expect(queue.attributes().curmsgs).toBe(6);
    const received = Array.from({ length: 6 }, () => queue.receive()).map((m) => `${m.text()}${m.priority}`);
    expect(received).toEqual(["d32767", "b5", "e5", "f1", "a0", "c0"]);
  });

  test("a blocking receive returns when another process sends", async () => {
    const name = queueName("cross");
    const queue = openQueue(name);
    const child = new Child("send", name, "from the child");
    expect(await child.line()).toBe("sent");
    expect(queue.receive({ timeout: 30 }).text()).toBe("from the child");
    expect(await child.process.exited).toBe(0);
  });
});

describe("waiting, timeouts and non-blocking descriptors", () => {
  test("timeout 0 on an empty queue: BusyError (EAGAIN) at once", () => {
    const queue = openQueue(queueName("empty"));
    const error = thrown(() => queue.receive({ timeout: 0 })) as IpcError;
    expect(error).toBeInstanceOf(BusyError);
    expect(error).toMatchObject({ code: "EAGAIN", call: "mq_timedreceive", kind: "busy" });
    expect(error.message).toContain("empty");
  });

  test("timeout 0 on a full queue: BusyError, and the queue keeps what it had", () => {
    const queue = openQueue(queueName("full"));
    for (let i = 0; i < SMALL.maxmsg; i++) queue.send(`m${i}`);
    const error = thrown(() => queue.send("one too many", { timeout: 0 })) as IpcError;
    expect(error).toBeInstanceOf(BusyError);
    expect(error.message).toContain("full");
    expect(queue.attributes().curmsgs).toBe(SMALL.maxmsg);
  });

  test("a timed receive on an empty queue gives up with TimeoutError, not before the time", () => {
    const queue = openQueue(queueName("timed"));
    const start = Date.now();
    const error = thrown(() => queue.receive({ timeout: 0.2 })) as IpcError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: "ETIMEDOUT", kind: "timeout" });
    expect(Date.now() - start).toBeGreaterThanOrEqual(190); // the clock has millisecond steps
  });

  test("a timed send on a full queue gives up with TimeoutError", () => {
    const queue = openQueue(queueName("timed-send"));
    for (let i = 0; i < SMALL.maxmsg; i++) queue.send(`m${i}`);
    const error = thrown(() => queue.send("late", { timeout: 0.1 })) as IpcError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.call).toBe("mq_timedsend");
  });

  test("a timed receive returns the message as soon as there is one", () => {
    const queue = openQueue(queueName("timed-ok"));
    queue.send("here");
    expect(queue.receive({ timeout: 5 }).text()).toBe("here");
  });

  test("a non-blocking descriptor fails with BusyError instead of waiting, even with a timeout", () => {
    const name = queueName("nonblock");
    const queue = openQueue(name, { create: true, nonBlocking: true, ...SMALL });
    expect(queue.attributes().nonBlocking).toBe(true);
    const error = thrown(() => queue.receive({ timeout: 10 })) as IpcError;
    expect(error).toBeInstanceOf(BusyError);
    expect(error.code).toBe("EAGAIN");
    expect(error.hint).toContain("non-blocking");
  });

  test("setNonBlocking switches O_NONBLOCK on and off (mq_setattr)", () => {
    const queue = openQueue(queueName("setattr"));
    queue.setNonBlocking(true);
    expect(queue.attributes()).toMatchObject({ nonBlocking: true, flags: 0o4000 });
    expect(() => queue.receive()).toThrow(BusyError);
    queue.setNonBlocking(false);
    expect(queue.attributes().nonBlocking).toBe(false);
    expect(() => queue.receive({ timeout: 0.01 })).toThrow(TimeoutError);
  });

  test("non-blocking is a property of the descriptor, not of the queue", () => {
    const name = queueName("per-fd");
    const a = openQueue(name, { create: true, nonBlocking: true, ...SMALL });
    const b = openQueue(name);
    expect(a.attributes().nonBlocking).toBe(true);
    expect(b.attributes().nonBlocking).toBe(false);
  });
});

describe("receiveAsync and sendAsync", () => {
  test("a timer fires while receiveAsync waits, and its message is received", async () => {
    const queue = openQueue(queueName("async"));
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
      // Only the event loop can send this, so the loop ran while receiveAsync waited.
      if (ticks === 3) queue.send("sent by the third tick", { priority: 7 });
    }, 10);
    try {
      const message = await queue.receiveAsync({ timeout: 30 });
      expect(message.text()).toBe("sent by the third tick");
      expect(message.priority).toBe(7);
      expect(ticks).toBeGreaterThanOrEqual(3);
    } finally {
      clearInterval(timer);
    }
  });

  test("a message from another process wakes receiveAsync", async () => {
    const name = queueName("async-cross");
    const queue = openQueue(name);
    const pending = queue.receiveAsync({ timeout: 30 });
    const child = new Child("send", name, "across");
    expect((await pending).text()).toBe("across");
    await child.process.exited;
  });

  test("receiveAsync gives up with TimeoutError", async () => {
    const queue = openQueue(queueName("async-timeout"));
    const error = (await queue.receiveAsync({ timeout: 0.1 }).catch((e: unknown) => e)) as IpcError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.call).toBe("mq_timedreceive");
  });

  test("with timeout 0 receiveAsync does not wait: BusyError", async () => {
    const queue = openQueue(queueName("async-zero"));
    await expect(queue.receiveAsync({ timeout: 0 })).rejects.toBeInstanceOf(BusyError);
  });

  test("several receiveAsync calls on one queue each get a different message", async () => {
    const queue = openQueue(queueName("async-many"));
    const pending = [queue.receiveAsync({ timeout: 30 }), queue.receiveAsync({ timeout: 30 }), queue.receiveAsync({ timeout: 30 })];
    for (const text of ["one", "two", "three"]) queue.send(text);
    const texts = (await Promise.all(pending)).map((m) => m.text());
    expect(texts.sort()).toEqual(["one", "three", "two"]);
  });

  test("close() rejects a pending receiveAsync with ClosedError", async () => {
    const queue = openQueue(queueName("async-close"));
    const pending = queue.receiveAsync().catch((e: unknown) => e);
    queue.close();
    const error = (await pending) as IpcError;
    expect(error).toBeInstanceOf(ClosedError);
    expect(error.message).toContain("closed while this call waited");
  });

  test("sendAsync waits for room without blocking the loop", async () => {
    const queue = openQueue(queueName("async-send"));
    for (let i = 0; i < SMALL.maxmsg; i++) queue.send(`m${i}`);
    const sending = queue.sendAsync("last", { priority: 3, timeout: 30 });
    const room = signalled();
    setTimeout(() => {
      expect(queue.receive({ timeout: 0 }).text()).toBe("m0"); // makes room, from the event loop
      room.resolve();
    }, 10);
    await room.promise;
    await sending;
    expect(queue.attributes().curmsgs).toBe(SMALL.maxmsg);
    expect(queue.receive().text()).toBe("last"); // priority 3 before the 0s
  });

  test("sendAsync on a full queue gives up with TimeoutError", async () => {
    const queue = openQueue(queueName("async-send-timeout"));
    for (let i = 0; i < SMALL.maxmsg; i++) queue.send(`m${i}`);
    await expect(queue.sendAsync("late", { timeout: 0.1 })).rejects.toBeInstanceOf(TimeoutError);
  });

  test("a pending receiveAsync keeps a process alive until its message comes", async () => {
    const name = queueName("async-alive");
    const queue = openQueue(name);
    const child = new Child("async-wait", name);
    expect(await child.line()).toBe("waiting");
    queue.send("wake up");
    expect(await child.line()).toBe("got wake up");
    expect(await child.process.exited).toBe(0);
  });

  test("after close() the worker does not keep the process alive", async () => {
    const name = queueName("async-exit");
    openQueue(name);
    const child = new Child("async-close", name);
    expect(await child.rest()).toEqual(["rejected ClosedError"]);
    expect(await child.process.exited).toBe(0);
  });
});

describe("waiting on several queues (poll)", () => {
  test("returns only the queues that have a message", () => {
    const a = openQueue(queueName("poll-a"));
    const b = openQueue(queueName("poll-b"));
    const c = openQueue(queueName("poll-c"));
    b.send("for b");
    expect(MessageQueue.wait([a, b, c], 5)).toEqual([b]);
    c.send("for c");
    expect(MessageQueue.wait([a, b, c], 5)).toEqual([b, c]);
    expect(b.receive({ timeout: 0 }).text()).toBe("for b");
  });

  test("returns none when the time runs out", () => {
    const a = openQueue(queueName("poll-none-a"));
    const b = openQueue(queueName("poll-none-b"));
    expect(MessageQueue.wait([a, b], 0)).toEqual([]);
    expect(MessageQueue.wait([a, b], 0.05)).toEqual([]);
  });

  test("for: 'send' reports the queues with room", () => {
    const full = openQueue(queueName("poll-full"));
    const free = openQueue(queueName("poll-free"));
    for (let i = 0; i < SMALL.maxmsg; i++) full.send(`m${i}`);
    expect(MessageQueue.wait([full, free], 0, { for: "send" })).toEqual([free]);
  });

  test("a signal ends the wait with InterruptedError; its handler runs afterwards", async () => {
    const queue = openQueue(queueName("poll-eintr"));
    let handled = 0;
    const ran = signalled();
    const handler = () => {
      handled += 1;
      ran.resolve();
    };
    process.on("SIGUSR2", handler);
    try {
      // The signal is sent once this process sleeps in poll, as its wchan shows.
      const me = process.pid;
      Bun.spawn(["sh", "-c", `until grep -q poll /proc/${me}/wchan; do sleep 0.01; done; kill -USR2 ${me}`]);
      const error = thrown(() => MessageQueue.wait([queue], 60)) as IpcError;
      expect(error).toBeInstanceOf(InterruptedError);
      expect(error).toMatchObject({ code: "EINTR", call: "poll", kind: "interrupted" });
      expect(handled).toBe(0); // JavaScript handlers run on the event loop, after the call
      await ran.promise;
      expect(handled).toBe(1);
    } finally {
      process.off("SIGUSR2", handler);
    }
  });

  test("waitAsync waits in a Worker: a timer runs meanwhile and sends what it returns", async () => {
    const a = openQueue(queueName("poll-async-a"));
    const b = openQueue(queueName("poll-async-b"));
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
      if (ticks === 3) b.send("from the third tick"); // only a running event loop can send this
    }, 10);
    try {
      expect(await MessageQueue.waitAsync([a, b], 30)).toEqual([b]);
      expect(b.receive({ timeout: 0 }).text()).toBe("from the third tick");
    } finally {
      clearInterval(timer);
    }
  });

  test("waitAsync resolves with none when the time runs out, and checks its arguments", async () => {
    const a = openQueue(queueName("poll-async-none"));
    expect(await MessageQueue.waitAsync([a], 0.05)).toEqual([]);
    expect(await MessageQueue.waitAsync([a], 0)).toEqual([]);
    a.send("x");
    expect(await MessageQueue.waitAsync([a], 0)).toEqual([a]);
    await expect(MessageQueue.waitAsync([a], -1)).rejects.toBeInstanceOf(RangeError);
    a.close();
    await expect(MessageQueue.waitAsync([a], 1)).rejects.toBeInstanceOf(ClosedError);
  });

  test("wakes when another process sends", async () => {
    const name = queueName("poll-cross");
    const a = openQueue(queueName("poll-cross-idle"));
    const b = openQueue(name);
    const child = new Child("send", name, "late");
    expect(await child.line()).toBe("sent");
    expect(MessageQueue.wait([a, b], 30)).toEqual([b]);
  });
});

describe("notification by signal (mq_notify)", () => {
  test("a signal comes when a message arrives in the empty queue; re-armed, it comes again", async () => {
    const name = queueName("notify");
    const queue = openQueue(name);
    const received: string[] = [];
    let arrived = signalled();
    const handler = () => {
      queue.notify("SIGUSR1"); // re-arm first, then drain
      for (;;) {
        try {
          received.push(queue.receive({ timeout: 0 }).text());
        } catch (error) {
          if (error instanceof BusyError) break;
          throw error;
        }
      }
      arrived.resolve();
    };
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      queue.send("first");
      await arrived.promise;
      expect(received).toEqual(["first"]);
      arrived = signalled();
      await new Child("send", name, "second").process.exited; // from another process, too
      await arrived.promise;
      expect(received).toEqual(["first", "second"]);
    } finally {
      queue.notify(null);
      process.off("SIGUSR1", handler);
    }
  });

  test("one process at a time: a second registration fails with EBUSY, and notify(null) frees it", async () => {
    const name = queueName("notify-busy");
    const queue = openQueue(name);
    const handler = () => {};
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      expect(await new Child("try-notify", name).rest()).toEqual(["EBUSY"]);
      queue.notify(null);
      expect(await new Child("try-notify", name).rest()).toEqual(["registered"]);
    } finally {
      process.off("SIGUSR1", handler);
    }
  });

  test("the registration is one-shot: once the signal is sent, another process may register", async () => {
    const name = queueName("notify-once");
    const queue = openQueue(name);
    const arrived = signalled();
    const handler = () => arrived.resolve();
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      queue.send("wake");
      await arrived.promise;
      expect(await new Child("try-notify", name).rest()).toEqual(["registered"]);
    } finally {
      process.off("SIGUSR1", handler);
    }
  });

  test("no signal for a message into a queue that is not empty: the registration stays", async () => {
    const name = queueName("notify-nonempty");
    const queue = openQueue(name);
    queue.send("already there");
    let signals = 0;
    const handler = () => (signals += 1);
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      queue.send("another");
      // Had a signal been sent, the registration would be gone and the child could register.
      expect(await new Child("try-notify", name).rest()).toEqual(["EBUSY"]);
      expect(signals).toBe(0);
    } finally {
      queue.notify(null);
      process.off("SIGUSR1", handler);
    }
  });

  test("closing any other descriptor of the queue in this process ends the registration", async () => {
    const name = queueName("notify-close");
    const queue = openQueue(name);
    const handler = () => {};
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      expect(await new Child("try-notify", name).rest()).toEqual(["EBUSY"]);
      new MessageQueue(name, { access: "read" }).close(); // a second descriptor, opened and closed
      expect(await new Child("try-notify", name).rest()).toEqual(["registered"]);
      expect(MessageQueue.exists(name)).toBe(true); // exists() does not open the queue where /dev/mqueue is mounted
    } finally {
      process.off("SIGUSR1", handler);
    }
  });

  test.skipIf(!mqueueMounted())("exists() leaves a registration alone where /dev/mqueue is mounted; reading the file does not", async () => {
    const name = queueName("notify-look");
    const queue = openQueue(name);
    const handler = () => {};
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      expect(MessageQueue.exists(name)).toBe(true);
      expect(await new Child("try-notify", name).rest()).toEqual(["EBUSY"]);
      expect(fs.readFileSync(`/dev/mqueue${name}`, "utf8")).toContain(`NOTIFY_PID:${process.pid}`); // opens, reads, closes…
      expect(fs.readFileSync(`/dev/mqueue${name}`, "utf8")).toContain("NOTIFY_PID:0"); // …and that close ended it
    } finally {
      process.off("SIGUSR1", handler);
    }
  });

  test.skipIf(!mqueueMounted())("/dev/mqueue shows the registration: signal and pid", () => {
    const name = queueName("notify-file");
    const queue = openQueue(name);
    const handler = () => {};
    process.on("SIGUSR1", handler);
    try {
      queue.notify("SIGUSR1");
      expect(fs.readFileSync(`/dev/mqueue${name}`, "utf8")).toMatch(new RegExp(`SIGNO:10\\s+NOTIFY_PID:${process.pid}`));
    } finally {
      process.off("SIGUSR1", handler);
    }
  });
});

describe("a consumer killed mid-stream", () => {
  test("loses no message it had not yet received: the rest stay in the queue, in order", async () => {
    const name = queueName("killed");
    const queue = openQueue(name, { create: true, maxmsg: 8, msgsize: 16 });
    for (let i = 0; i < 8; i++) queue.send(`job ${i}`);
    const consumer = new Child("consume", name, "3");
    const taken = [await consumer.line(), await consumer.line(), await consumer.line()];
    expect(taken).toEqual(["got job 0", "got job 1", "got job 2"]);
    expect(await consumer.line()).toBe("done");
    await consumer.kill();
    expect(queue.attributes().curmsgs).toBe(5);
    expect(Array.from({ length: 5 }, () => queue.receive({ timeout: 0 }).text())).toEqual(["job 3", "job 4", "job 5", "job 6", "job 7"]);
  });

  test("a consumer killed while it waits in receive takes no message with it", async () => {
    const name = queueName("killed-blocked");
    const queue = openQueue(name);
    const consumer = new Child("block", name);
    expect(await consumer.line()).toBe("waiting");
    expect(await consumer.blockedInQueue()).toBe(true); // asleep in mq_timedreceive
    await consumer.kill();
    queue.send("after the kill");
    expect(queue.receive({ timeout: 0 }).text()).toBe("after the kill");
  });
});

describe("limits", () => {
  test("queueLimits() reads /proc/sys/fs/mqueue", () => {
    const limits = queueLimits();
    const read = (file: string) => Number(fs.readFileSync(`/proc/sys/fs/mqueue/${file}`, "utf8"));
    expect(limits).toMatchObject({
      msgMax: read("msg_max"),
      msgsizeMax: read("msgsize_max"),
      queuesMax: read("queues_max"),
      msgDefault: read("msg_default"),
      msgsizeDefault: read("msgsize_default"),
    });
  });

  test("queueLimits().memory is RLIMIT_MSGQUEUE as /proc/self/limits shows it", () => {
    const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max msgqueue size"));
    const [soft, hard] = line!.replace("Max msgqueue size", "").trim().split(/\s+/);
    const value = (text: string | undefined) => (text === "unlimited" ? Infinity : Number(text));
    expect(queueLimits().memory).toEqual({ soft: value(soft), hard: value(hard) });
  });
});

/**
 * Runs mq-child.ts `create` with RLIMIT_MSGQUEUE set to `limit`, in user and
 * IPC namespaces of its own: there the per-user count of queue memory starts
 * at zero, whatever queues the real user has. null if namespaces are not allowed.
 */
function createUnderLimit(limit: number, maxmsg: number, msgsize: number): string | null {
  const unshare = Bun.which("unshare");
  const prlimit = Bun.which("prlimit");
  if (unshare === null || prlimit === null) return null;
  const child = Bun.spawnSync([
    unshare, "--user", "--map-root-user", "--ipc",
    prlimit, `--msgqueue=${limit}`, "--",
    process.execPath, `${import.meta.dir}/mq-child.ts`, "create", "/acct", `${maxmsg}x${msgsize}`,
  ]);
  if (child.exitCode !== 0) return null;
  return child.stdout.toString().trim();
}

const namespacesAllowed = createUnderLimit(queueMemory(1, 1), 1, 1) === "created";

describe("queue memory (RLIMIT_MSGQUEUE)", () => {
  test("queueMemory(10, 8192) is the 82,880 bytes that make 9 default queues fit in 819,200", () => {
    expect(queueMemory(10, 8192)).toBe(82_880);
    expect(Math.floor(819_200 / queueMemory(10, 8192))).toBe(9);
  });

  test.skipIf(!namespacesAllowed)("the kernel charges a queue exactly queueMemory(): one byte less and mq_open fails with EMFILE", () => {
    for (const [maxmsg, msgsize] of [[3, 100], [10, 8192], [1, 1]] as const) {
      const cost = queueMemory(maxmsg, msgsize);
      expect(createUnderLimit(cost, maxmsg, msgsize)).toBe("created");
      expect(createUnderLimit(cost - 1, maxmsg, msgsize)).toBe("EMFILE");
    }
  });
});

describe("System V message queues", () => {
  test("msgrcv selects by type: 0 the first, N the first of type N, -N the lowest type up to N", () => {
    const queue = privateSysVQueue();
    queue.send("a, type 3", { type: 3 });
    queue.send("b, type 1", { type: 1 });
    queue.send("c, type 2", { type: 2 });
    queue.send("d, type 3", { type: 3 });
    queue.send("e, type 1", { type: 1 });
    expect(queue.stat().messages).toBe(5);
    expect(queue.receive({ type: 2 }).text()).toBe("c, type 2");
    const lowest = queue.receive({ type: -3 });
    expect([lowest.text(), lowest.type]).toEqual(["b, type 1", 1]);
    expect(queue.receive({ type: -3 }).text()).toBe("e, type 1");
    expect(queue.receive().text()).toBe("a, type 3");
    expect(queue.receive({ type: 0 }).text()).toBe("d, type 3");
  });

  test("IPC_STAT counts messages and bytes and names the last sender and receiver", () => {
    const queue = privateSysVQueue();
    const before = queue.stat();
    expect(before).toMatchObject({ messages: 0, bytes: 0, lastSendPid: 0, lastReceivePid: 0, lastSend: null, mode: 0o600 });
    expect(before.maxBytes).toBe(Number(fs.readFileSync("/proc/sys/kernel/msgmnb", "utf8")));
    queue.send("12345");
    queue.send("678");
    queue.receive();
    const after = queue.stat();
    expect(after).toMatchObject({ messages: 1, bytes: 3, lastSendPid: process.pid, lastReceivePid: process.pid });
    expect(after.lastSend).toBeInstanceOf(Date);
  });

  test("wait: false on no matching message: ENOMSG; a message over maxSize: E2BIG, left in the queue", () => {
    const queue = privateSysVQueue();
    const none = thrown(() => queue.receive({ wait: false })) as IpcError;
    expect(none.code).toBe("ENOMSG");
    queue.send("a longer message", { type: 4 });
    expect((thrown(() => queue.receive({ type: 5, wait: false })) as IpcError).code).toBe("ENOMSG");
    const big = thrown(() => queue.receive({ maxSize: 4 })) as IpcError;
    expect(big.code).toBe("E2BIG");
    expect(big.hint).toContain("maxSize");
    expect(queue.receive().text()).toBe("a longer message");
  });

  test("a queue found by key; remove() takes it out of /proc/sysvipc/msg", () => {
    const key = 0x1c000000 + (process.pid & 0xffffff);
    const queue = new SysVMessageQueue(key, { exclusive: true });
    try {
      const same = new SysVMessageQueue(key);
      expect(same.id).toBe(queue.id);
      expect(() => new SysVMessageQueue(key, { exclusive: true })).toThrow(ExistsError);
      expect(sysvQueueListed(queue.id)).toBe(true);
    } finally {
      queue.remove();
    }
    expect(sysvQueueListed(queue.id)).toBe(false);
    expect(() => queue.stat()).toThrow(/EINVAL|EIDRM/);
  });

  test("msgsnd with wait: false on a full queue: BusyError", () => {
    const queue = privateSysVQueue();
    const limit = queue.stat().maxBytes;
    const chunk = new Uint8Array(Math.min(8192, limit));
    for (let sent = 0; sent + chunk.length <= limit; sent += chunk.length) queue.send(chunk);
    expect(() => queue.send(chunk, { wait: false })).toThrow(BusyError);
  });
});
