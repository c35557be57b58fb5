/**
 * The other process in the signal tests: started by test/lib/signals*.test.ts
 * with a mode, it reports on standard output, one line per event.
 *
 *   bun signals-child.ts handlers SIGUSR1 SIGHUP …   process.on for each; "ready", then "got SIGX" per call
 *   bun signals-child.ts receive SIGNAL COUNT         a SignalReceiver; "ready", then one JSON line per signal
 *   bun signals-child.ts probe PID                    kill(PID, 0), probeProcess(PID): one JSON line
 *   bun signals-child.ts busy MS                      "busy", a synchronous loop of MS ms, "free"; a USR1 handler reports when it ran
 *   bun signals-child.ts shutdown DIR SHM             makes IPC objects, onShutdown removes them; "ready", then works until a signal
 *   bun signals-child.ts idle-receiver                opens a SignalReceiver and returns: the process must end by itself
 *   bun signals-child.ts closed-receiver              opens and closes a SignalReceiver for SIGRTMIN+3; "ready", then waits
 *   bun signals-child.ts crowded SIGNAL COUNT         a SignalReceiver, then a Worker thread; "ready", both threads busy
 *                                                     for a second, then one JSON line: the COUNT values received
 *
 * As a Worker (crowded mode) it spins for the milliseconds it is given.
 */
import fs from "node:fs";
import path from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { Fifo, IpcError, kill, Pipe, probeProcess, SharedMemory, SignalReceiver, onShutdown, type Signal } from "../../lib/index.ts";

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy on purpose
  }
}

if (!isMainThread) {
  parentPort!.postMessage("spinning");
  spin(workerData as number);
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

switch (mode) {
  case "handlers": {
    for (const name of args) process.on(name as NodeJS.Signals, () => say(`got ${name}`));
    setInterval(() => {}, 60_000); // stay alive until killed
    say("ready");
    break;
  }
  case "receive": {
    const [signal, count] = args;
    using receiver = new SignalReceiver(signal as Signal);
    say("ready");
    for (let i = 0; i < Number(count); i++) say(JSON.stringify(await receiver.receiveAsync({ timeout: 60 })));
    break;
  }
  case "probe": {
    const pid = Number(args[0]);
    let killError: { name: string; code: string; hint: string | undefined } | null = null;
    try {
      kill(pid, 0);
    } catch (error) {
      if (!(error instanceof IpcError)) throw error;
      killError = { name: error.name, code: error.code, hint: error.hint };
    }
    say(JSON.stringify({ uid: process.getuid!(), killError, probe: probeProcess(pid) }));
    break;
  }
  case "busy": {
    const ms = Number(args[0]);
    let loopEnded = 0;
    process.on("SIGUSR1", () => {
      say(`handler ran ${loopEnded === 0 ? "during" : "after"} the loop`);
      process.exit(0);
    });
    say("busy");
    spin(ms); // a long synchronous computation: no JavaScript handler can run in here
    loopEnded = performance.now();
    say("free");
    setInterval(() => {}, 60_000);
    break;
  }
  case "shutdown": {
    const [dir, shmName] = args as [string, string];
    const fifo = new Fifo(path.join(dir, "work.fifo"), { create: true, exclusive: true });
    const shm = new SharedMemory(shmName, { exclusive: true, size: 4096 });
    const pipe = new Pipe();
    const map = shm.map();
    const counter = map.view(Int32Array, 0, 1);
    let timer: ReturnType<typeof setInterval> | undefined;
    onShutdown((signal) => {
      clearInterval(timer);
      const steps = Atomics.load(counter, 0);
      map.unmap();
      shm.close();
      SharedMemory.unlink(shmName);
      pipe.close();
      fifo.unlink();
      fs.writeFileSync(path.join(dir, "cleaned"), `${signal} after ${steps} steps\n`);
    });
    // Work in small steps on the event loop, so that the handler can run between them.
    timer = setInterval(() => {
      for (let i = 0; i < 10_000; i++) Atomics.add(counter, 0, 1);
    }, 1);
    say("ready");
    break;
  }
  case "crowded": {
    // A thread Bun starts after the receiver exists must not take (and so reorder) any delivery.
    const [signal, count] = args;
    using receiver = new SignalReceiver(signal as Signal);
    const worker = new Worker(import.meta.path, { workerData: 1000 });
    await new Promise((resolve) => worker.once("message", resolve));
    say("ready");
    spin(1000);
    const values: number[] = [];
    for (let i = 0; i < Number(count); i++) values.push((await receiver.receiveAsync({ timeout: 10 })).value);
    say(JSON.stringify(values));
    await worker.terminate();
    break;
  }
  case "closed-receiver": {
    // A receiver that came and went: the signal must again do what it did before (for RTMIN+3: end the process).
    new SignalReceiver("SIGRTMIN+3").close();
    setInterval(() => {}, 60_000);
    say("ready");
    break;
  }
  case "idle-receiver": {
    const receiver = new SignalReceiver("SIGRTMIN+3");
    say(`open ${receiver.signals.join(",")}`);
    break; // nothing waits: the process must be free to end
  }
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
