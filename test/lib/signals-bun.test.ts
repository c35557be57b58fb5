/**
 * Which signals Bun delivers to a JavaScript handler (process.on), tested
 * one by one on a real Bun process, so that BUN_UNDELIVERABLE in
 * lib/signals.ts and the book's statement stay true for the Bun in use.
 * Also: a JavaScript handler runs only once the running code has returned,
 * and Bun ignores SIGPIPE and SIGXFSZ.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import { BUN_UNDELIVERABLE, onSignal, processSignals, signalDisposition, signalNumber, SIGRTMAX, SIGRTMIN, type Signal } from "../../lib/index.ts";
import { LineChild } from "./signals-support.ts";

/** Every standard signal Bun does deliver to JavaScript, when another process sends it. */
const DELIVERED = [
  "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGUSR1", "SIGSEGV",
  "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGCHLD", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
  "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGSYS",
];

describe("signals Bun delivers to process.on", () => {
  test(`each of the ${DELIVERED.length} runs its JavaScript handler, and the process lives on`, async () => {
    await using child = LineChild.signals("handlers", ...DELIVERED);
    await child.line("ready");
    for (const name of DELIVERED) {
      process.kill(child.pid, signalNumber(name as Signal));
      await child.line(`got ${name}`);
    }
    expect(child.ended).toBe(false);
    expect(child.lines.filter((l) => l.startsWith("got ")).sort()).toEqual(DELIVERED.map((n) => `got ${n}`).sort());
  }, 60_000);

  test("the handler runs only after the running code returns: later, on the event loop", async () => {
    await using child = LineChild.signals("busy", "1500");
    await child.line("busy");
    process.kill(child.pid, "SIGUSR1"); // arrives in the middle of the loop
    await child.line("handler ran after the loop");
    expect(child.lines).toEqual(["busy", "free", "handler ran after the loop"]);
  }, 30_000);
});

describe("signals Bun does not deliver to JavaScript", () => {
  const fatal: [string, number][] = [
    ["SIGSTKFLT", signalNumber("SIGSTKFLT")],
    ["SIGRTMIN", SIGRTMIN],
    ["SIGRTMIN+1", SIGRTMIN + 1],
    ["SIGRTMAX", SIGRTMAX],
    ["SIGKILL", 9],
  ];
  for (const [name, number] of fatal) {
    test(`${name}: process.on accepts it silently, and the signal still ends the process`, async () => {
      await using child = LineChild.signals("handlers", name);
      await child.line("ready");
      process.kill(child.pid, number);
      const end = await child.exit();
      // Bun.spawn reports a real-time signal by its number: it has no name for it.
      expect(end.signal).toBe(name.startsWith("SIGRT") ? String(number) : name);
      expect(child.lines).toEqual(["ready"]);
    }, 30_000);
  }

  test("SIGPWR: the process lives on, but the handler never runs (the engine uses it)", async () => {
    await using child = LineChild.signals("handlers", "SIGPWR", "SIGUSR1");
    await child.line("ready");
    process.kill(child.pid, signalNumber("SIGPWR"));
    process.kill(child.pid, "SIGUSR1"); // sent after SIGPWR: once its handler has run, SIGPWR has been dealt with
    await child.line("got SIGUSR1");
    expect(child.ended).toBe(false);
    expect(child.lines).toEqual(["ready", "got SIGUSR1"]);
  }, 30_000);

  test("SIGSTOP: the process stops whatever it registered; SIGCONT resumes it", async () => {
    await using child = LineChild.signals("handlers", "SIGSTOP", "SIGCONT");
    await child.line("ready");
    process.kill(child.pid, "SIGSTOP");
    const state = () => {
      const stat = fs.readFileSync(`/proc/${child.pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    };
    const deadline = performance.now() + 20_000;
    while (state() !== "T" && performance.now() < deadline) await Bun.sleep(5);
    expect(state()).toBe("T");
    process.kill(child.pid, "SIGCONT");
    await child.line("got SIGCONT");
    expect(child.lines).not.toContain("got SIGSTOP");
  }, 30_000);

  test("onSignal refuses each of them before calling process.on, with the reason", () => {
    for (const name of ["SIGKILL", "SIGSTOP", "SIGPWR", "SIGSTKFLT", "SIGRTMIN", "SIGRTMIN+1", "SIGRTMAX"]) {
      let message = "";
      try {
        onSignal(name as Signal, () => {});
      } catch (error) {
        message = String(error);
      }
      expect(message).toContain("InvalidError");
      const reason = name.startsWith("SIGRT") ? BUN_UNDELIVERABLE["real-time"]! : BUN_UNDELIVERABLE[name]!;
      expect(message).toContain(reason.slice(0, 40));
    }
    expect(process.listenerCount("SIGPWR")).toBe(0);
  });
});

describe("what Bun does with signals nobody handles", () => {
  test("SIGPIPE and SIGXFSZ are ignored in a Bun process, and nothing else", () => {
    expect(signalDisposition("SIGPIPE")).toBe("ignore");
    expect(signalDisposition("SIGXFSZ")).toBe("ignore");
    expect(processSignals().ignored.sort()).toEqual(["SIGPIPE", "SIGXFSZ"]);
  });

  test("a program started by Bun.spawn starts with SIGPIPE at its default again", () => {
    const status = Bun.spawnSync(["grep", "^SigIgn", "/proc/self/status"]).stdout.toString();
    expect(status).toMatch(/^SigIgn:\s*0+$/m);
  });
});
