/**
 * Graded tests of chapter 05 (signals). The student's functions run in
 * their own processes; the verdicts come from what this process sees for
 * itself: process states in /proc, the daemon's status and objects in
 * /dev/shm, and the signals that really reach a receiver of ours, with their
 * payloads and sender (a SignalReceiver in test/lib/signals-child.ts).
 *
 *   bun test test/05-signals.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/05-signals.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomInt } from "node:crypto";
import { sigqueue, spawn, type Child } from "../lib/index.ts";
import { LineChild } from "./lib/signals-support.ts";
import { explain, gradedChapter, must } from "./harness/task.ts";
import type { RunningCall } from "./harness/student.ts";

const { task } = gradedChapter("05-signals");

/** The process state letters of every member of process group `pgid` (R, S, T, Z…). */
function groupStates(pgid: number): string[] {
  const states: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) states.push(fields[0]!);
    } catch {
      // it ended while we looked
    }
  }
  return states;
}

/** Polls `check` until it holds; false after `limitMs` (generous: the machine may be busy). */
async function eventually(check: () => boolean, limitMs = 10_000): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  for (let pause = 1; performance.now() < deadline; pause = Math.min(pause * 2, 25)) {
    if (check()) return true;
    await Bun.sleep(pause);
  }
  return check();
}

/**
 * Like eventually, but gives up at once if the student's function `call`
 * has ended, and says why.
 */
async function whileRunning(run: RunningCall, call: string, check: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  let ended: Awaited<RunningCall["finished"]> | undefined;
  void run.finished.then((result) => (ended = result));
  const ok = await eventually(() => check() || ended !== undefined, limitMs);
  if (check()) return;
  if (ended !== undefined) must(false, `${explain(ended, call)} (waiting for ${what})`);
  must(ok, `gave up waiting ${limitMs / 1000} s for ${what}`);
}

task(
  {
    number: 1,
    title: "stop and continue a whole process group; probe a pid with signal 0",
    points: 2,
    read: "Process groups and signal 0",
    hint: "kill() with a negative pid signals the whole group: kill(-pgid, \"SIGSTOP\"), then SIGCONT. Signal 0 sends nothing but tells whether the pid exists (processExists, or probeProcess).",
  },
  async (t) => {
    const group: Child = spawn(["sh", "-c", "sleep 60 & sleep 60 & wait"], { processGroup: 0 });
    try {
      must(await eventually(() => groupStates(group.pid).length === 3), "the test's process group did not start (three processes)");
      t.done(await t.call("pauseGroup", [group.pid]), "pauseGroup()");
      const stopped = await eventually(() => groupStates(group.pid).every((s) => s === "T"));
      const states = groupStates(group.pid);
      must(
        stopped,
        states.includes("T")
          ? `only some of the group were stopped (states ${states.join(" ")}): signal the group, -pgid, not the leader alone`
          : `no process of the group was stopped (states ${states.join(" ")})`,
      );
      t.done(await t.call("resumeGroup", [group.pid]), "resumeGroup()");
      must(
        await eventually(() => groupStates(group.pid).every((s) => s !== "T")),
        `the group is still stopped after resumeGroup() (states ${groupStates(group.pid).join(" ")})`,
      );

      const alive = await t.call("isAlive", [group.pid]);
      t.done(alive, "isAlive()");
      must(alive.value === true, `isAlive(${group.pid}) returned ${JSON.stringify(alive.value)} for a process that is running`);
      const gone = spawn(["true"]);
      gone.wait(); // ended and reaped: its pid names nobody now
      const dead = await t.call("isAlive", [gone.pid]);
      t.done(dead, "isAlive() on a pid that has ended");
      must(dead.value === false, `isAlive(${gone.pid}) returned ${JSON.stringify(dead.value)} for a process that has ended`);
      must(groupStates(group.pid).length === 3, "isAlive() must not harm the process it probes (use signal 0)");
    } finally {
      try {
        process.kill(-group.pid, "SIGKILL");
      } catch {
        // gone already
      }
      group.wait();
    }
  },
);

const STATUS = { ready: 0, usr1: 1, reloads: 2, level: 3, size: 16 };

task(
  {
    number: 2,
    title: "a daemon: counts SIGUSR1, reloads on SIGHUP, removes its objects on SIGTERM",
    points: 4,
    read: "Graceful shutdown",
    hint: "Install handlers with process.on (or onSignal) before setting ready; keep the counters in the status object with Atomics; on SIGTERM unmap, close and unlink both objects, then resolve the promise you returned.",
    timeoutMs: 30_000,
  },
  async (t) => {
    const statusName = t.name("daemon");
    const workName = `${statusName}-work`;
    const config = path.join(t.scratch("daemon"), "config.json");
    const first = randomInt(1, 1000);
    fs.writeFileSync(config, JSON.stringify({ level: first }));
    const status = () => {
      try {
        return new Int32Array(new Uint8Array(fs.readFileSync(`/dev/shm${statusName}`)).buffer.slice(0, STATUS.size));
      } catch {
        return undefined;
      }
    };

    const daemon = t.start("runDaemon", [statusName, config]);
    await whileRunning(daemon, "runDaemon()", () => status()?.[STATUS.ready] === 1, `${statusName} to exist with ready = 1`);
    must(fs.existsSync(`/dev/shm${workName}`), `the daemon did not create ${workName}`);
    must(status()![STATUS.level] === first, `the status says level ${status()![STATUS.level]}, the configuration file says ${first}`);

    const usr1 = randomInt(3, 8);
    for (let i = 1; i <= usr1; i++) {
      daemon.kill("SIGUSR1");
      // Standard signals do not queue: send the next only once this one has been counted.
      await whileRunning(daemon, "runDaemon()", () => status()?.[STATUS.usr1] === i, `SIGUSR1 number ${i} to be counted (the counter says ${status()?.[STATUS.usr1]})`);
    }

    const second = first + randomInt(1, 1000);
    fs.writeFileSync(config, JSON.stringify({ level: second }));
    daemon.kill("SIGHUP");
    await whileRunning(daemon, "runDaemon()", () => status()?.[STATUS.reloads] === 1, "the reload on SIGHUP to be counted");
    must(status()![STATUS.level] === second, `after SIGHUP the level is ${status()![STATUS.level]}; the new configuration says ${second}`);
    must(status()![STATUS.usr1] === usr1, `SIGHUP changed the SIGUSR1 count to ${status()![STATUS.usr1]}`);

    daemon.kill("SIGTERM");
    const result = await daemon.finished;
    must(!result.timedOut, "the daemon did not stop after SIGTERM (it was killed at the time limit)");
    const clean = result.ok || result.signal === "SIGTERM";
    must(clean, `after SIGTERM the daemon ${explain(result, "").trim() || "did not end cleanly"}; return (or end by SIGTERM) once the clean-up is done`);
    const left = [statusName, workName].filter((name) => fs.existsSync(`/dev/shm${name}`));
    must(left.length === 0, `after SIGTERM these objects were left behind: ${left.join(", ")}`);
  },
);

task(
  {
    number: 3,
    title: "queued real-time signals carry payloads, all of them, in order",
    points: 3,
    read: "Signals that carry data",
    hint: "sigqueue(pid, signal, value) sends a payload; only a SignalReceiver (a C handler with SA_SIGINFO) can read it back: receive() or receiveAsync() gives .value. process.on never sees payloads.",
  },
  async (t) => {
    // The student sends, a receiver of ours in a plain Bun process takes them: there, one thread takes
    // every delivery and their order is exact. In bun test's process, an HTTP client thread waits with
    // every signal unblocked and could take one at the same moment (see lib/native/signals.c).
    const values = Array.from({ length: 40 }, () => randomInt(-(2 ** 31), 2 ** 31));
    {
      await using receiver = LineChild.signals("receive", "SIGRTMIN+5", String(values.length + 1));
      await receiver.line("ready");
      const sent = t.start("sendPayloads", [receiver.pid, "SIGRTMIN+5", values]);
      const result = await sent.finished;
      t.done(result, "sendPayloads()");
      const arrived = () => receiver.lines.length - 1;
      await eventually(() => arrived() >= values.length, 5_000);
      await eventually(() => arrived() > values.length, 200); // one too many?
      const got = receiver.lines.slice(1).map((line) => JSON.parse(line) as { value: number; pid: number; source: string });
      must(got.length >= values.length, `${got.length} of the ${values.length} signals arrived`);
      must(got.every((s) => s.source === "sigqueue"), "the signals were sent with kill(), which carries no payload; use sigqueue()");
      must(got.every((s) => s.pid === sent.pid), "the signals did not come from your process");
      must(
        got.every((s, i) => i >= values.length || s.value === values[i]),
        `the payloads arrived as ${got.slice(0, 5).map((s) => s.value).join(", ")}…; the values were ${values.slice(0, 5).join(", ")}…`,
      );
      must(got.length === values.length, "more signals arrived than values were given");
    }

    // This process sends, the student receives.
    const ready = path.join(t.scratch("collect"), "ready");
    const count = randomInt(30, 60);
    const payloads = Array.from({ length: count }, () => randomInt(-(2 ** 31), 2 ** 31));
    const collector = t.start("collectPayloads", ["SIGRTMIN+6", count, ready]);
    await whileRunning(collector, "collectPayloads()", () => fs.existsSync(ready), `collectPayloads() to create ${ready}`);
    for (const v of payloads) sigqueue(collector.pid, "SIGRTMIN+6", v); // all at once
    const result = await collector.finished;
    must(
      result.signal === null || !/^\d+$/.test(result.signal),
      `collectPayloads() was killed by real-time signal ${result.signal}: with no handler of its own, a real-time signal ends the process, ` +
        "and Bun's process.on cannot handle one; receive it with a SignalReceiver",
    );
    t.done(result, "collectPayloads()");
    const got = result.value as number[];
    must(Array.isArray(got) && got.length === count, `collectPayloads() returned ${Array.isArray(got) ? got.length : JSON.stringify(got)} values; ${count} signals were sent`);
    must(
      got.every((v, i) => v === payloads[i]),
      `collectPayloads() returned ${got.slice(0, 4).join(", ")}…; the payloads sent were ${payloads.slice(0, 4).join(", ")}…`,
    );
  },
);
