/**
 * lib/signals.ts on real processes: names and numbers against bash's
 * `kill -l`, default actions against what really happens to a process,
 * kill to a process and to a group, probing with signal 0, ESRCH and EPERM
 * with their hints, sigqueue payloads received in order by a
 * SignalReceiver (here and in another process), dispositions, and bad
 * input refused before any system call.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import {
  BusyError,
  ClosedError,
  IpcError,
  InvalidError,
  NotFoundError,
  PermissionError,
  TimeoutError,
  ignoreSignal,
  kill,
  killGroup,
  MessageQueue,
  killList,
  onSignal,
  probeProcess,
  processExists,
  processGroup,
  processSignals,
  sigqueue,
  SignalReceiver,
  signalDisposition,
  signalName,
  signalNumber,
  signalTable,
  SIGRTMAX,
  SIGRTMIN,
  spawn,
  waitpid,
  type Signal,
} from "../../lib/index.ts";
import { LineChild, SIGNALS_CHILD, until } from "./signals-support.ts";
import { ascending, thrown, uniqueName } from "./support.ts";

/** Children started with lib spawn, killed and reaped after the file. */
const started: { pid: number; [Symbol.dispose](): void }[] = [];
afterAll(() => {
  for (const child of started) child[Symbol.dispose]();
});

function state(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
}

describe("names and numbers", () => {
  test("SIGRTMIN and SIGRTMAX come from the C library: glibc keeps 32 and 33", () => {
    expect(SIGRTMIN).toBe(34);
    expect(SIGRTMAX).toBe(64);
  });

  test("killList() is exactly what bash's `kill -l` prints", () => {
    const bash = Bun.which("bash");
    if (bash === null) return; // nothing to compare with
    expect(killList()).toBe(Bun.spawnSync([bash, "-c", "kill -l"]).stdout.toString());
  });

  test("the forms of a name, aliases and numbers", () => {
    for (const form of ["SIGTERM", "TERM", "sigterm", "Term", 15]) expect(signalNumber(form as Signal)).toBe(15);
    expect(signalNumber("SIGIOT" as Signal)).toBe(6);
    expect(signalNumber("SIGCLD" as Signal)).toBe(17);
    expect(signalNumber("SIGRTMIN")).toBe(34);
    expect(signalNumber("RTMIN+3" as Signal)).toBe(37);
    expect(signalNumber("SIGRTMAX-1")).toBe(63);
    expect(signalNumber(0)).toBe(0);
    expect(signalName(15)).toBe("SIGTERM");
    expect(signalName(49)).toBe("SIGRTMIN+15");
    expect(signalName(50)).toBe("SIGRTMAX-14");
    expect(signalName(33)).toBe("signal 33");
  });

  test("an unknown name is a TypeError that suggests the nearest, before any call", () => {
    const error = thrown(() => kill(process.pid, "SIGTREM" as Signal));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("did you mean SIGTERM?");
    expect(thrown(() => signalNumber("SIGNOPE" as Signal))).toBeInstanceOf(TypeError);
    expect(thrown(() => signalNumber("toString" as Signal))).toBeInstanceOf(TypeError);
    expect(thrown(() => signalNumber("SIGRTMIN+31"))).toBeInstanceOf(RangeError);
    expect(thrown(() => signalNumber(32))).toBeInstanceOf(RangeError);
    expect(thrown(() => signalNumber(65))).toBeInstanceOf(RangeError);
    expect(thrown(() => signalNumber(1.5))).toBeInstanceOf(TypeError);
  });

  test("the table: 31 standard and 31 real-time signals, descriptions from strsignal", () => {
    const table = signalTable();
    expect(table).toHaveLength(62);
    expect(table.find((e) => e.number === 15)).toEqual({ number: 15, name: "SIGTERM", description: "Terminated", defaultAction: "terminate", catchable: true });
    expect(table.find((e) => e.number === 9)!.catchable).toBe(false);
    expect(table.find((e) => e.number === 19)!.catchable).toBe(false);
  });

  // What really happens to a program that does not handle the signal.
  const observed: Record<string, "ignore" | "stop" | "terminate" | "core"> = {
    SIGCHLD: "ignore",
    SIGWINCH: "ignore",
    SIGURG: "ignore",
    SIGTSTP: "stop",
    SIGTTIN: "stop",
    SIGSTOP: "stop",
    SIGTERM: "terminate",
    SIGHUP: "terminate",
    SIGUSR1: "terminate",
    SIGQUIT: "core",
  };
  for (const [name, action] of Object.entries(observed)) {
    test(`default action of ${name} is "${action}", as the table says`, async () => {
      expect(signalTable().find((e) => e.name === name)!.defaultAction).toBe(action);
      const child = spawn(["sleep", "30"]);
      started.push(child);
      kill(child.pid, name as Signal);
      if (action === "ignore") {
        kill(child.pid, "SIGUSR2"); // a second signal, which does end it: the first must not have
        expect(child.wait()).toMatchObject({ kind: "signaled", signal: "SIGUSR2" });
      } else if (action === "stop") {
        expect(waitpid(child.pid, { untraced: true })!.status).toMatchObject({ kind: "stopped", signal: name });
        kill(child.pid, "SIGKILL");
        expect(child.wait()).toMatchObject({ kind: "signaled", signal: "SIGKILL" });
      } else {
        expect(child.wait()).toMatchObject({ kind: "signaled", signal: name });
      }
    });
  }
});

describe("kill and probing", () => {
  test("a process that has ended and been reaped: ESRCH as NotFoundError with a hint", () => {
    const child = spawn(["true"]);
    child.wait();
    expect(probeProcess(child.pid)).toBe("no-such-process");
    expect(processExists(child.pid)).toBe(false);
    const error = thrown(() => kill(child.pid, "SIGTERM")) as IpcError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe("ESRCH");
    expect(error.call).toBe("kill");
    expect(error.object).toBe(`pid ${child.pid}`);
    expect(error.hint).toContain("ps -p");
  });

  test("a zombie still exists for signal 0, until it is waited for", async () => {
    const child = spawn(["true"]);
    started.push(child);
    await until(() => state(child.pid) === "Z", "the child to end");
    expect(probeProcess(child.pid)).toBe("signallable");
    child.wait();
    expect(probeProcess(child.pid)).toBe("no-such-process");
  });

  test("this process and a running child are signallable", () => {
    expect(probeProcess(process.pid)).toBe("signallable");
    const child = spawn(["sleep", "30"]);
    started.push(child);
    expect(probeProcess(child.pid)).toBe("signallable");
    kill(child.pid, 0); // sends nothing
    expect(state(child.pid)).not.toBe("Z");
  });

  test.skipIf(process.getuid!() !== 0 || Bun.which("setpriv") === null)(
    "as another user (nobody, via setpriv): EPERM as PermissionError with a hint, and probe says not-permitted",
    async () => {
      await using child = new LineChild(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, SIGNALS_CHILD, "probe", String(process.pid)]);
      const report = JSON.parse(await child.line((l) => l.startsWith("{"))) as {
        uid: number;
        killError: { name: string; code: string; hint: string };
        probe: string;
      };
      expect(report.uid).toBe(65534);
      expect(report.killError).toMatchObject({ name: "PermissionError", code: "EPERM" });
      expect(report.killError.hint).toContain("another user");
      expect(report.probe).toBe("not-permitted");
    },
    30_000,
  );

  test.skipIf(process.getuid!() === 0)("as an ordinary user: init (pid 1) is not ours, EPERM", () => {
    expect(probeProcess(1)).toBe("not-permitted");
    expect(thrown(() => kill(1, "SIGTERM"))).toBeInstanceOf(PermissionError);
  });

  test("killGroup: one signal reaches every process of a group, and only them", async () => {
    const leader = spawn(["sh", "-c", "sleep 30 & sleep 30 & wait"], { processGroup: 0 });
    started.push(leader);
    const bystander = spawn(["sleep", "30"]);
    started.push(bystander);
    const members = () =>
      fs.readdirSync("/proc").filter((entry) => {
        if (!/^\d+$/.test(entry)) return false;
        try {
          const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
          return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) === leader.pid;
        } catch {
          return false;
        }
      });
    await until(() => members().length === 3, "the shell and its two sleeps");
    killGroup(leader.pid, "SIGTERM");
    expect(leader.wait()).toMatchObject({ kind: "signaled", signal: "SIGTERM" });
    await until(() => members().length === 0, "the group to empty"); // the sleeps are reaped by init
    expect(probeProcess(bystander.pid)).toBe("signallable");
    const error = thrown(() => killGroup(leader.pid, 0)) as IpcError;
    expect(error.code).toBe("ESRCH");
    expect(error.object).toBe(`process group ${leader.pid}`);
    expect(processGroup()).toBe(Number(fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[2]));
  });

  test("bad pids are refused before any call", () => {
    expect(thrown(() => kill(0))).toBeInstanceOf(TypeError);
    expect(thrown(() => kill(-1, "SIGTERM")).message).toContain("every process");
    expect(thrown(() => kill(1.5))).toBeInstanceOf(TypeError);
    expect(thrown(() => kill("123" as unknown as number))).toBeInstanceOf(TypeError);
    expect(thrown(() => killGroup(-5))).toBeInstanceOf(TypeError);
    expect(thrown(() => sigqueue(-process.pid, "SIGUSR1", 1))).toBeInstanceOf(TypeError);
    expect(thrown(() => sigqueue(process.pid, "SIGRTMIN", 2 ** 31))).toBeInstanceOf(RangeError);
    expect(thrown(() => sigqueue(process.pid, "SIGRTMIN", 0.5))).toBeInstanceOf(RangeError);
  });
});

describe("SignalReceiver and sigqueue", () => {
  test("queued real-time signals to this process: every payload, with the sender", () => {
    // Their order is exact in a plain Bun process (the tests with a child below), not in bun test's: its
    // HTTP client thread waits with every signal unblocked, and may take one at the same moment as this one.
    using receiver = new SignalReceiver("SIGRTMIN+4");
    const values = Array.from({ length: 200 }, (_, i) => (i % 2 ? -1 : 1) * Math.floor(Math.random() * 2 ** 31));
    for (const v of values) sigqueue(process.pid, "SIGRTMIN+4", v);
    const got = values.map(() => receiver.receive({ timeout: 10 }));
    expect(ascending(got.map((s) => s.value))).toEqual(ascending(values));
    expect(got[0]).toMatchObject({ signal: "SIGRTMIN+4", number: SIGRTMIN + 4, pid: process.pid, uid: process.getuid!(), source: "sigqueue", lostBefore: 0 });
    expect(receiver.dropped).toBe(0);
  });

  test("kill() shows up as source kill, with value 0", () => {
    using receiver = new SignalReceiver(["SIGUSR2"]);
    kill(process.pid, "SIGUSR2");
    expect(receiver.receive({ timeout: 10 })).toMatchObject({ signal: "SIGUSR2", source: "kill", value: 0, pid: process.pid });
  });

  test("to another process: a Bun child receives 300 payloads all, in order", async () => {
    await using child = LineChild.signals("receive", "SIGRTMIN+2", "300");
    await child.line("ready");
    const values = Array.from({ length: 300 }, () => Math.floor(Math.random() * 2 ** 31));
    for (const v of values) sigqueue(child.pid, "SIGRTMIN+2", v);
    expect(await child.exit(30_000)).toEqual({ code: 0, signal: null });
    const received = child.lines.slice(1).map((line) => JSON.parse(line) as { value: number; pid: number; source: string });
    expect(received.map((r) => r.value)).toEqual(values);
    expect(received.every((r) => r.pid === process.pid && r.source === "sigqueue")).toBe(true);
  }, 60_000);

  test("order holds with several busy threads: one started after the receiver takes none of the deliveries", async () => {
    await using child = LineChild.signals("crowded", "SIGRTMIN+7", "3000");
    await child.line("ready");
    const values = Array.from({ length: 3000 }, (_, i) => i);
    for (const v of values) sigqueue(child.pid, "SIGRTMIN+7", v);
    expect(await child.exit(30_000)).toEqual({ code: 0, signal: null });
    expect(JSON.parse(child.lines[1]!)).toEqual(values);
  }, 60_000);

  test("while a receiver is open, only this thread and threads waiting in an event loop can take its signal; after close() this one takes it at any time again", () => {
    /** A mask from a thread's status ("SigBlk", "SigPnd"); undefined once the thread has ended. */
    const maskOf = (task: string, field: string) => {
      try {
        return BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(fs.readFileSync(`${task}/status`, "utf8"))![1]}`);
      } catch {
        return undefined;
      }
    };
    const bit = 1n << BigInt(SIGRTMIN + 8 - 1);
    const self = "/proc/thread-self";
    const me = fs.readlinkSync(self).split("/").pop();
    {
      using _receiver = new SignalReceiver("SIGRTMIN+8");
      // Blocked here: this thread takes deliveries only while it waits, one at a time, and the threads it starts inherit the block.
      expect(maskOf(self, "SigBlk")! & bit).toBe(bit);
      // Every other thread blocks it, or has the thread-directed priming signal pending (taken before any other),
      // or waits in epoll_pwait2 with every signal unblocked, as Bun's event loops do (those forward what they take).
      const open = fs.readdirSync("/proc/self/task").filter((tid) => {
        const task = `/proc/self/task/${tid}`;
        const blocked = maskOf(task, "SigBlk");
        if (blocked === undefined || tid === me || (blocked & bit) !== 0n || (maskOf(task, "SigPnd")! & bit) !== 0n) return false;
        return !fs.readFileSync(`${task}/wchan`, "utf8").includes("epoll");
      });
      expect(open).toEqual([]);
    }
    expect(maskOf(self, "SigBlk")! & bit).toBe(0n);
  });

  test("receive: 0 does not wait (BusyError), a timeout ends in TimeoutError", () => {
    using receiver = new SignalReceiver("SIGRTMIN+5");
    expect(thrown(() => receiver.receive({ timeout: 0 }))).toBeInstanceOf(BusyError);
    const error = thrown(() => receiver.receive({ timeout: 0.05 })) as IpcError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.hint).toContain("pid");
  });

  test("receiveAsync waits without blocking the event loop: a timer sends the signal it waits for", async () => {
    using receiver = new SignalReceiver("SIGRTMIN+6");
    const value = Math.floor(Math.random() * 1e9);
    setTimeout(() => sigqueue(process.pid, "SIGRTMIN+6", value), 20);
    const got = await receiver.receiveAsync({ timeout: 20 });
    expect(got.value).toBe(value);
    await expect(receiver.receiveAsync({ timeout: 0.05 })).rejects.toBeInstanceOf(TimeoutError);
  });

  test("for await ends when the receiver is closed", async () => {
    const receiver = new SignalReceiver("SIGRTMIN+7");
    const seen: number[] = [];
    const loop = (async () => {
      for await (const s of receiver) {
        seen.push(s.value);
        if (seen.length === 2) setTimeout(() => receiver.close(), 1);
      }
    })();
    sigqueue(process.pid, "SIGRTMIN+7", 1);
    sigqueue(process.pid, "SIGRTMIN+7", 2);
    await loop;
    expect(seen).toEqual([1, 2]);
    expect(thrown(() => receiver.receive({ timeout: 0 }))).toBeInstanceOf(ClosedError);
  });

  test("an idle receiver does not keep a process alive", async () => {
    await using child = LineChild.signals("idle-receiver");
    expect(await child.exit(20_000)).toEqual({ code: 0, signal: null });
    expect(child.lines).toEqual(["open SIGRTMIN+3"]);
  }, 30_000);

  test("it replaces a process.on handler while open, and close() puts it back", async () => {
    let jsCalls = 0;
    using subscription = onSignal("SIGUSR1", () => jsCalls++);
    expect(signalDisposition("SIGUSR1")).toBe("handler");
    const receiver = new SignalReceiver("SIGUSR1");
    kill(process.pid, "SIGUSR1");
    expect(receiver.receive({ timeout: 10 }).source).toBe("kill");
    receiver.close();
    kill(process.pid, "SIGUSR1");
    await until(() => jsCalls === 1, "the JavaScript handler to run again");
    expect(jsCalls).toBe(1);
    subscription.remove();
  });

  test("a message queue's notification (mq_notify by signal) shows its source and the queue's descriptor", () => {
    const name = uniqueName("notify");
    using queue = new MessageQueue(name, { exclusive: true, maxmsg: 2, msgsize: 64 });
    try {
      // MessageQueue.notify wants a process.on handler; while the receiver is open, the signals come to it.
      using subscription = onSignal("SIGUSR2", () => {});
      using receiver = new SignalReceiver("SIGUSR2");
      queue.notify("SIGUSR2");
      queue.send("a message into the empty queue");
      expect(receiver.receive({ timeout: 10 })).toMatchObject({ signal: "SIGUSR2", source: "mq_notify", value: queue.fd, pid: process.pid });
      expect(subscription.signal).toBe("SIGUSR2");
    } finally {
      queue.unlink();
    }
  });

  test("after close(), a real-time signal takes its default action again: it ends the process", async () => {
    await using child = LineChild.signals("closed-receiver");
    await child.line("ready");
    sigqueue(child.pid, "SIGRTMIN+3", 1);
    expect(await child.exit()).toEqual({ code: null, signal: String(SIGRTMIN + 3) });
  }, 30_000);

  test("refused: signals that cannot or must not get a C handler, and a signal already taken", () => {
    for (const name of ["SIGKILL", "SIGSTOP", "SIGSEGV", "SIGPWR"]) {
      expect(thrown(() => new SignalReceiver(name as Signal))).toBeInstanceOf(InvalidError);
    }
    using first = new SignalReceiver("SIGRTMIN+8");
    const error = thrown(() => new SignalReceiver(["SIGRTMIN+9", "SIGRTMIN+8"]));
    expect(error).toBeInstanceOf(InvalidError);
    expect(error.message).toContain("already taken");
    expect(signalDisposition("SIGRTMIN+9")).toBe("default"); // the part that was installed was undone
    expect(first.signals).toEqual(["SIGRTMIN+8"]);
    expect(thrown(() => new SignalReceiver([]))).toBeInstanceOf(TypeError);
  });
});

describe("dispositions", () => {
  test("ignoreSignal: the signal is discarded, then restore() puts the default back", () => {
    expect(signalDisposition("SIGVTALRM")).toBe("default");
    const ignored = ignoreSignal("SIGVTALRM");
    expect(signalDisposition("SIGVTALRM")).toBe("ignore");
    expect(processSignals().ignored).toContain("SIGVTALRM");
    kill(process.pid, "SIGVTALRM"); // would end this process at its default
    ignored.restore();
    expect(signalDisposition("SIGVTALRM")).toBe("default");
    expect(processSignals().ignored).not.toContain("SIGVTALRM");
  });

  test("SIGKILL cannot be ignored: refused, with the reason", () => {
    const error = thrown(() => ignoreSignal("SIGKILL"));
    expect(error).toBeInstanceOf(InvalidError);
    expect(error.message).toContain("cannot be caught, blocked or ignored");
  });

  test("processSignals reads another process's masks: a handler shows as caught", async () => {
    await using child = LineChild.signals("handlers", "SIGHUP", "SIGUSR1");
    await child.line("ready");
    const masks = processSignals(child.pid);
    expect(masks.caught).toContain("SIGHUP");
    expect(masks.caught).toContain("SIGUSR1");
    expect(masks.ignored.sort()).toEqual(["SIGPIPE", "SIGXFSZ"]);
  }, 30_000);
});
