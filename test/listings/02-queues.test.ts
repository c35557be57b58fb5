/**
 * Runs every listing of chapter 2 (examples/02-queues/) as a real process,
 * with its own IPC_PREFIX, and checks what it printed, its exit status, and
 * that it left nothing behind: no queue in /dev/mqueue, no shared memory
 * in /dev/shm, no System V queue. Fails if a listing has no test here.
 * Nothing is checked against the clock.
 */
import { describe, expect } from "bun:test";
import fs from "node:fs";
import { queueLimits, queueMemory } from "../../lib/index.ts";
import { listings } from "./support.ts";

const { listing, everyListingRun } = listings("examples/02-queues", { leaks: ["mqueue", "shm"] });

/** Whether the mqueue file system is mounted at /dev/mqueue. */
function mqueueMounted(): boolean {
  try {
    return fs.statfsSync("/dev/mqueue").type === 0x19800202;
  } catch {
    return false;
  }
}

/** The ids of the System V message queues the kernel lists. */
function sysvQueueIds(): number[] {
  const rows = fs.readFileSync("/proc/sysvipc/msg", "utf8").trim().split("\n").slice(1);
  return rows.map((row) => Number(row.trim().split(/\s+/)[1]));
}

/** The lines of `text` that start with `start`. */
function linesStarting(text: string, start: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(start));
}

describe("chapter 2 listings", () => {
  listing("producer-consumer.ts", ({ stdout }) => {
    const orders = ["two coffees", "one tea", "a croissant", "the bill, please"];
    expect(linesStarting(stdout, "producer ").map((l) => l.replace(/^producer \d+: /, ""))).toEqual(orders.map((o) => `sent "${o}"`));
    const got = linesStarting(stdout, "consumer ").map((l) => l.replace(/^consumer \d+: /, ""));
    expect(got).toEqual([
      "msgsize is 64, so every receive offers a 64-byte buffer",
      ...orders.map((o) => `got ${Buffer.byteLength(o)} bytes: "${o}"`),
    ]);
  });

  listing("priorities.ts", ({ stdout }) => {
    expect(linesStarting(stdout, "  next: ")).toEqual([
      "  next: priority 9  cardiac arrest",
      "  next: priority 9  allergic shock",
      "  next: priority 1  sprained ankle",
      "  next: priority 1  broken arm",
      "  next: priority 0  cut finger",
      "  next: priority 0  head cold",
    ]);
  });

  listing("request-reply.ts", ({ stdout }) => {
    expect(linesStarting(stdout, "client: ")).toEqual([
      'client: request 0 "kolejka" → reply 0 "akjelok"',
      'client: request 1 "fronta" → reply 1 "atnorf"',
      'client: request 2 "queue" → reply 2 "eueuq"',
    ]);
  });

  listing("worker-pool.ts", ({ stdout }) => {
    const jobs = linesStarting(stdout, "job ");
    expect(jobs.map((l) => l.replace(/ by \d+$/, ""))).toEqual(Array.from({ length: 12 }, (_, i) => `job ${i + 1}`));
    const handled = linesStarting(stdout, "worker ").map((l) => Number(/handled (\d+)/.exec(l)![1]));
    expect(handled).toHaveLength(3);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(12);
    expect(stdout).toContain("12 results for 12 jobs, 12 different jobs");
  });

  listing("timed-receive.ts", ({ stdout }) => {
    expect(stdout).toContain("timeout 0: BusyError (EAGAIN) at once: the queue is empty");
    const timed = /timeout 1: TimeoutError \(ETIMEDOUT\) after ([\d.]+) s, using ([\d.]+) s of CPU/.exec(stdout);
    expect(timed).not.toBeNull();
    expect(Number(timed![1])).toBeGreaterThanOrEqual(1); // the deadline is never early
    expect(Number(timed![2])).toBeLessThan(Number(timed![1]) / 2); // asleep, not spinning
    expect(stdout).toMatch(/timeout 5: got "just in time" after [\d.]+ s, without waiting for the deadline/);
  });

  listing("async-receive.ts", ({ stdout }) => {
    expect(stdout).toContain('receive():      "from the other process"; the timer ticked 0 times meanwhile');
    expect(stdout).toContain('receiveAsync(): "from the timer, tick 3"');
  });

  listing("notify.ts", ({ stdout, pid }) => {
    if (mqueueMounted()) expect(stdout).toMatch(new RegExp(`sender: /dev/mqueue/\\S+ says QSIZE:0 NOTIFY:0 SIGNO:10 NOTIFY_PID:${pid}`));
    expect(stdout).toContain("sender: my own notify() fails with EBUSY: another process is registered");
    const signals = linesStarting(stdout, "signal ");
    expect(signals[0]).toBe('signal 1: now have ["one"]');
    expect(signals.at(-1)).toMatch(/: now have \["one","two","three","four"\]$/);
    expect([3, 4]).toContain(signals.length); // "two" and "three" come together: one signal, or two
    expect(stdout).toContain(`${signals.length} signals for 4 messages`);
  });

  listing("poll-queues.ts", ({ stdout }) => {
    expect(stdout).toContain("waiting 0.2 s on alerts, orders, logs: ready: []");
    expect(stdout).toContain("after a sender wrote to orders: ready: [orders]");
    expect(stdout).toContain('  orders: "table 4: soup"');
  });

  listing("dev-mqueue.ts", ({ stdout }) => {
    if (!mqueueMounted()) {
      expect(stdout).toContain("/dev/mqueue is not mounted here");
      return;
    }
    expect(stdout).toMatch(/: mode 640, owner uid \d+, size \d+/);
    expect(stdout).toMatch(/cat \/dev\/mqueue\/\S+: QSIZE:24\s+NOTIFY:0\s+SIGNO:0\s+NOTIFY_PID:0/);
    expect(stdout).toContain("messages waiting (mq_getattr): 3");
    expect(stdout).toContain("after rm: MessageQueue.exists() says false; this descriptor still works: first");
  });

  listing("limits.ts", ({ stdout }) => {
    const limits = queueLimits();
    expect(stdout).toContain(`/proc/sys/fs/mqueue/msg_max          ${limits.msgMax} messages`);
    expect(stdout).toContain(`/proc/sys/fs/mqueue/msgsize_max      ${limits.msgsizeMax} bytes`);
    expect(stdout).toContain(`/proc/sys/fs/mqueue/queues_max       ${limits.queuesMax} queues`);
    expect(stdout).toContain(`RLIMIT_MSGQUEUE (ulimit -q)          ${limits.memory.soft} bytes`);
    const perQueue = queueMemory(limits.msgDefault, limits.msgsizeDefault);
    expect(stdout).toContain(`= ${perQueue} bytes,`);
    expect(stdout).toContain(`so ${Math.floor(limits.memory.soft / perQueue)} of them fit`);
    if (Bun.which("prlimit") !== null) {
      expect(stdout).toContain("child with ulimit -q 0: LimitError, EMFILE from mq_open");
      expect(stdout).toMatch(/hint: .*RLIMIT_MSGQUEUE \(`ulimit -q`, 0 bytes here\)/);
    }
  });

  listing("sysv.ts", ({ stdout }) => {
    const id = Number(/msgget: queue (\d+) holds 4 messages, 68 bytes/.exec(stdout)![1]);
    expect(stdout).toMatch(new RegExp(`0x00000000 ${id}\\s+\\S+\\s+600\\s+68\\s+4`));
    expect(stdout).toContain('type 3:  "log: disk 91% full"');
    expect(stdout).toContain('type -2: "ALERT: fan failure" (type 1)');
    expect(stdout).toContain('type -2: "warning: cpu hot" (type 2)');
    expect(stdout).toContain('type 0:  "log: backup done" (type 3)');
    expect(stdout).toContain("(no such queue)");
    expect(sysvQueueIds()).not.toContain(id);
  });

  listing("shm-handoff.ts", ({ stdout }) => {
    const lines = linesStarting(stdout, "consumer: ");
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(new RegExp(`^consumer: \\d+-byte message → ${1048576 - 1000 * i} bytes at ${1048576 * i}, checksum ok$`));
      expect(Number(/(\d+)-byte message/.exec(line)![1])).toBeLessThan(128);
    }
  });

  listing("library-errors.ts", ({ stdout }) => {
    expect(stdout).toContain("a name without its slash: InvalidError, code EINVAL, call mq_open");
    expect(stdout).toContain('write "/orders"');
    expect(stdout).toContain("more messages than msg_max: InvalidError, code EINVAL, call mq_open");
    expect(stdout).toContain("(/proc/sys/fs/mqueue/msg_max)");
    expect(stdout).toContain("a message over msgsize: InvalidError, code EMSGSIZE, call mq_timedsend");
    expect(stdout).toContain("a priority of 40000: InvalidError, code EINVAL, call mq_timedsend");
    expect(stdout).toContain("receiving at the writing end: PermissionError, code EACCES, call mq_timedreceive");
  });

  listing("fork-queue.ts", ({ stdout }) => {
    const parent = /parent (\d+): opened the queue \(descriptor \d+\) and removed its name/.exec(stdout);
    expect(parent).not.toBeNull();
    const received = linesStarting(stdout, "parent: received ");
    const child = /child (\d+) says/.exec(received[0] ?? "")?.[1];
    expect(child).toBeDefined();
    expect(child).not.toBe(parent![1]);
    expect(received).toEqual([1, 2, 3].map((n) => `parent: received "child ${child} says hello, #${n}"`));
    expect(stdout).toContain(`parent: child ${child} exited with code 0`);
  });

  everyListingRun();
});
