/**
 * Chapter 02 exercise: message queues. REFERENCE SOLUTION.
 *
 * Five tasks, each a function below with a TODO. Replace each `todo(...)`
 * line with your code; the chapter section named in it teaches what you need.
 *
 *   bun run exercises/02-queues.ts     runs the demonstration (it stops at the first TODO)
 *   bun run check 02                   grades the tasks the way your instructor will
 *
 * The grader runs your functions in their own processes and talks to them
 * through real queues: it sends the requests, the jobs and the messages,
 * and reads back what your code really put into the queues. Printing the
 * right answer is not enough.
 */
import fs from "node:fs";
import { BusyError, MessageQueue, TimeoutError } from "../lib/index.ts";
import { runDemo } from "./support.ts";

const CHAPTER = "02-queues";

// ANCHOR: task1
/** The priorities of the job queue: urgent jobs are received first. */
export const URGENT = 10;
export const NORMAL = 1;

/** A job to post: its text, and whether it is urgent. */
export interface Job {
  text: string;
  urgent: boolean;
}

/**
 * Task 1. Create the queue `name` exclusively, with mode 0600 and room for
 * `jobs.length` messages (1 to 10) of at most 128 bytes each. Send the text
 * of every job, with priority URGENT if it is urgent and NORMAL if not.
 * Close your descriptor but leave the queue: someone else will read it. If
 * a queue of that name exists already, fail with ExistsError and send
 * nothing into it.
 */
export function postJobs(name: string, jobs: Job[]): void {
  using queue = new MessageQueue(name, { exclusive: true, mode: 0o600, access: "write", maxmsg: jobs.length, msgsize: 128 });
  for (const job of jobs) queue.send(job.text, { priority: job.urgent ? URGENT : NORMAL });
}
// ANCHOR_END: task1

// ANCHOR: task2
/** A request to the adding service, sent as JSON text. */
export interface SumRequest {
  id: string;
  numbers: number[];
}

/** The service's reply, sent as JSON text. */
export interface SumReply {
  id: string;
  sum: number;
}

/**
 * Task 2. An adding service on two queues. Take `count` requests from the
 * queue `requests`, one at a time, and answer each on the queue `replies`
 * with a SumReply (the same id, the sum of the numbers), sent with the
 * priority the request had, so that urgent answers overtake the others
 * too. Handle exactly `count` requests and leave the rest in the queue:
 * the urgent ones must be among those you handle. Both queues exist.
 */
export function serveSums(requests: string, replies: string, count: number): void {
  using inbox = new MessageQueue(requests, { access: "read" });
  using outbox = new MessageQueue(replies, { access: "write" });
  for (let handled = 0; handled < count; handled++) {
    const request = inbox.receive(); // the highest priority first
    const { id, numbers } = JSON.parse(request.text()) as SumRequest;
    const reply: SumReply = { id, sum: numbers.reduce((total, n) => total + n, 0) };
    outbox.send(JSON.stringify(reply), { priority: request.priority });
  }
}
// ANCHOR_END: task2

// ANCHOR: task3
/** A job for the squaring workers, as JSON text; or the text "stop". */
export interface SquareJob {
  id: number;
  n: number;
}

/** A worker's result, as JSON text. */
export interface SquareResult {
  id: number;
  square: number;
  /** The `worker` argument of the worker that did the job. */
  worker: number;
}

/**
 * Task 3. One worker of a pool: several copies of this function run at the
 * same time, in different processes, all taking jobs from the queue `jobs`.
 * For each job, send a SquareResult to the queue `results`. The message
 * "stop" means there is no more work for you: return, leaving the other
 * workers' "stop" messages in the queue. Between them, the workers must
 * handle every job exactly once: none lost, none done twice.
 */
export function squareWorker(jobs: string, results: string, worker: number): void {
  using inbox = new MessageQueue(jobs, { access: "read" });
  using outbox = new MessageQueue(results, { access: "write" });
  for (;;) {
    const text = inbox.receive().text(); // exactly one worker gets each message
    if (text === "stop") return;
    const { id, n } = JSON.parse(text) as SquareJob;
    const result: SquareResult = { id, square: n * n, worker };
    outbox.send(JSON.stringify(result));
  }
}
// ANCHOR_END: task3

// ANCHOR: task4
/**
 * Task 4. Take messages from the queue `name` until none has arrived for
 * `quietSeconds` seconds, then return their texts in the order received.
 * Let the kernel do the waiting: no loop that polls an empty queue.
 */
export function drainUntilQuiet(name: string, quietSeconds: number): string[] {
  using queue = new MessageQueue(name, { access: "read" });
  const texts: string[] = [];
  for (;;) {
    try {
      texts.push(queue.receive({ timeout: quietSeconds }).text());
    } catch (error) {
      if (error instanceof TimeoutError) return texts; // quiet for quietSeconds: give up
      throw error;
    }
  }
}
// ANCHOR_END: task4

// ANCHOR: task5
/**
 * Task 5. Collect `count` messages from the queue `name` without waiting
 * in receive: ask the kernel for a SIGUSR1 when a message arrives in the
 * empty queue (mq_notify), take every message that is there when the
 * signal comes, ask again, and so on. Resolve with the texts in the order
 * received. Several messages may arrive for one signal.
 */
export async function collectNotified(name: string, count: number): Promise<string[]> {
  using queue = new MessageQueue(name, { access: "read" });
  const texts: string[] = [];
  /** Takes every message there is now, without waiting. */
  const drain = () => {
    for (;;) {
      try {
        texts.push(queue.receive({ timeout: 0 }).text());
      } catch (error) {
        if (error instanceof BusyError) return; // empty
        throw error;
      }
    }
  };
  await new Promise<void>((resolve, reject) => {
    const onSignal = () => {
      try {
        queue.notify("SIGUSR1"); // ask again first, so a message that comes while we drain still signals
        drain();
        if (texts.length >= count) {
          queue.notify(null);
          process.off("SIGUSR1", onSignal);
          resolve();
        }
      } catch (error) {
        process.off("SIGUSR1", onSignal);
        reject(error);
      }
    };
    process.on("SIGUSR1", onSignal); // the handler first: SIGUSR1 would otherwise end the process
    onSignal(); // register, and take what arrived before we did
  });
  return texts;
}
// ANCHOR_END: task5

/* -------------------------------------------------------------------------
 * The demonstration: what `bun run exercises/02-queues.ts` runs. You do not
 * need to change anything below.
 * ---------------------------------------------------------------------- */

const WORKERS = 3;
const SQUARES = 12;

/** This file again, as a child process running one task. */
function child(...args: string[]) {
  return Bun.spawn([process.execPath, import.meta.path, ...args], { stdout: "inherit", stderr: "inherit" });
}

/** Waits until a process has registered for notification on the queue (shown in /dev/mqueue). */
async function registered(name: string, collector: { exitCode: number | null }): Promise<void> {
  const file = `/dev/mqueue${name}`;
  for (let waited = 0; waited < 10_000 && collector.exitCode === null; waited += 10) {
    if (!fs.existsSync("/dev/mqueue")) return Bun.sleep(500); // not mounted: give it a moment
    if (/NOTIFY_PID:[1-9]/.test(fs.readFileSync(file, "utf8"))) return;
    await Bun.sleep(10);
  }
}

async function demo(): Promise<void> {
  const prefix = `/${process.env.IPC_PREFIX ?? "ipcbook"}-demo-${process.pid}`;
  const names = ["jobs", "requests", "replies", "squares", "results", "quiet", "notified"].map((n) => `${prefix}-${n}`);
  const [jobs, requests, replies, squares, results, quiet, notified] = names as [string, string, string, string, string, string, string];
  const small = { create: true, maxmsg: 10, msgsize: 128 } as const;
  try {
    postJobs(jobs, [
      { text: "sweep the yard", urgent: false },
      { text: "put out the fire", urgent: true },
      { text: "water the plants", urgent: false },
      { text: "call the plumber", urgent: true },
    ]);
    {
      using queue = new MessageQueue(jobs, { access: "read" });
      const order = Array.from({ length: 4 }, () => queue.receive({ timeout: 0 }));
      console.log(`Task 1: received ${order.map((m) => `"${m.text()}" (${m.priority})`).join(", ")}`);
    }

    {
      using inbox = new MessageQueue(requests, small);
      using outbox = new MessageQueue(replies, small);
      inbox.send(JSON.stringify({ id: "a", numbers: [1, 2, 3] }), { priority: NORMAL });
      inbox.send(JSON.stringify({ id: "b", numbers: [40, 2] }), { priority: URGENT });
      const service = child("serve", requests, replies, "2");
      if ((await service.exited) !== 0) return void (process.exitCode = 1);
      const answers = [outbox.receive({ timeout: 0 }), outbox.receive({ timeout: 0 })];
      console.log(`Task 2: replies ${answers.map((m) => `${m.text()} (priority ${m.priority})`).join(", ")}`);
    }

    {
      using inbox = new MessageQueue(squares, small);
      using outbox = new MessageQueue(results, small);
      const pool = Array.from({ length: WORKERS }, (_, w) => child("work", squares, results, String(w)));
      await Bun.sleep(300); // let the workers start and wait, so that they share the jobs
      const got: SquareResult[] = [];
      const collecting = (async () => {
        while (got.length < SQUARES) got.push(JSON.parse((await outbox.receiveAsync({ timeout: 10 })).text()) as SquareResult);
      })();
      for (let id = 0; id < SQUARES; id++) await inbox.sendAsync(JSON.stringify({ id, n: id + 1 }), { timeout: 10 });
      for (let w = 0; w < WORKERS; w++) await inbox.sendAsync("stop", { timeout: 10 });
      const codes = await Promise.all(pool.map((p) => p.exited));
      if (codes.some((code) => code !== 0)) return void (process.exitCode = 1);
      await collecting;
      const perWorker = Array.from({ length: WORKERS }, (_, w) => got.filter((r) => r.worker === w).length);
      console.log(`Task 3: ${got.length} squares from ${WORKERS} workers (${perWorker.join(" + ")}); 12² = ${got.find((r) => r.id === 11)?.square}`);
    }

    {
      using queue = new MessageQueue(quiet, small);
      for (const text of ["one", "two", "three"]) queue.send(text);
      const started = Date.now();
      const texts = drainUntilQuiet(quiet, 0.5);
      console.log(`Task 4: received ${JSON.stringify(texts)}, gave up after ${((Date.now() - started) / 1000).toFixed(1)} s of quiet`);
    }

    {
      using queue = new MessageQueue(notified, small);
      const collector = child("notified", notified, "3");
      await registered(notified, collector);
      for (const text of ["ding", "dong", "dang"]) queue.send(text);
      if ((await collector.exited) !== 0) return void (process.exitCode = 1);
    }
  } finally {
    for (const name of names) if (MessageQueue.exists(name)) MessageQueue.unlink(name);
  }
}

if (import.meta.main) {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === "serve" && a && b && c) await runDemo(() => serveSums(a, b, Number(c)));
  else if (mode === "work" && a && b && c) await runDemo(() => squareWorker(a, b, Number(c)));
  else if (mode === "notified" && a && b) {
    await runDemo(async () => console.log(`Task 5: collected ${JSON.stringify(await collectNotified(a, Number(b)))} by signal`));
  } else await runDemo(demo);
}
