/**
 * Graded tests of chapter 02 (message queues). The student's functions run
 * in their own processes; this test is their peer. It sends the jobs, the
 * requests and the messages through real queues, and judges by what it
 * receives from the queues and what is left in them, read here, in its own
 * process. While a student's process runs, this process never makes a
 * blocking call: it waits with receiveAsync/sendAsync or `timeout: 0`.
 *
 *   bun test test/02-queues.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/02-queues.test.ts  grades another folder
 */
import { afterEach } from "bun:test";
import fs from "node:fs";
import { randomBytes, randomInt } from "node:crypto";
import { BusyError, type IpcError, type Message, MessageQueue, TimeoutError } from "../lib/index.ts";
import type { CallResult } from "./harness/student.ts";
import { gradedChapter, must } from "./harness/task.ts";

const { task } = gradedChapter("02-queues");

/** The priorities of exercise task 1 (URGENT and NORMAL there). */
const URGENT = 10;
const NORMAL = 1;

/** Queues this file opened or named: closed and removed after each task. */
const opened: MessageQueue[] = [];
const named = new Set<string>();

afterEach(() => {
  for (const queue of opened.splice(0)) queue.close();
  for (const name of named) if (MessageQueue.exists(name)) MessageQueue.unlink(name);
  named.clear();
});

/** Creates a small queue for a task, removed afterwards. */
function makeQueue(name: string, maxmsg = 10, msgsize = 256): MessageQueue {
  named.add(name);
  const queue = new MessageQueue(name, { exclusive: true, maxmsg, msgsize });
  opened.push(queue);
  return queue;
}

/** Opens an existing queue to look into it, closed afterwards. */
function look(name: string): MessageQueue {
  named.add(name);
  const queue = new MessageQueue(name, { access: "read" });
  opened.push(queue);
  return queue;
}

/** Every message in the queue now, taken without waiting. */
function takeAll(queue: MessageQueue): Message[] {
  const messages: Message[] = [];
  for (;;) {
    try {
      messages.push(queue.receive({ timeout: 0 }));
    } catch (error) {
      if (error instanceof BusyError) return messages;
      throw error;
    }
  }
}

/** A word nobody can guess. */
function token(): string {
  return randomBytes(4).toString("hex");
}

/** Runs `call` and tells, at any moment, whether it has finished. */
function track<T>(call: Promise<T>): { result: Promise<T>; finished: () => boolean } {
  let finished = false;
  const result = call.finally(() => {
    finished = true;
  });
  return { result, finished: () => finished };
}

task(
  {
    number: 1,
    title: "create a queue exclusively and post jobs with priorities",
    points: 2,
    read: "Priorities",
    hint: 'new MessageQueue(name, { exclusive: true, mode: 0o600, access: "write", maxmsg: jobs.length, msgsize: 128 }), then send(job.text, { priority: job.urgent ? URGENT : NORMAL }) for each; `using` closes it.',
  },
  async (t) => {
    const name = t.name("jobs");
    named.add(name);
    const jobs = Array.from({ length: 6 }, (_, i) => ({ text: `job ${i} ${token()}`, urgent: i % 3 === 1 || i === 5 }));
    t.done(await t.call("postJobs", [name, jobs]), "postJobs()");
    must(MessageQueue.exists(name), `there is no queue ${name} after postJobs() returned (did it remove the queue?)`);
    const queue = look(name);
    const { maxmsg, msgsize, curmsgs } = queue.attributes();
    must(maxmsg === 6 && msgsize === 128, `the queue has maxmsg ${maxmsg} and msgsize ${msgsize}; it should have 6 (one per job) and 128`);
    const mode = fs.fstatSync(queue.fd).mode & 0o777;
    must(mode === 0o600, `the queue has mode ${mode.toString(8)}; it should be 600 (only its owner may use it)`);
    must(curmsgs === 6, `the queue holds ${curmsgs} messages; postJobs() should have sent 6`);

    const received = takeAll(queue).map((m) => ({ text: m.text(), priority: m.priority }));
    const expected = [...jobs.filter((j) => j.urgent), ...jobs.filter((j) => !j.urgent)].map((j) => ({
      text: j.text,
      priority: j.urgent ? URGENT : NORMAL,
    }));
    for (const job of expected) {
      const got = received.find((m) => m.text === job.text);
      must(got !== undefined, `the job "${job.text}" is not in the queue`);
      must(got.priority === job.priority, `"${job.text}" has priority ${got.priority}; it should have ${job.priority}`);
    }
    must(
      JSON.stringify(received) === JSON.stringify(expected),
      `the queue handed out ${received.map((m) => m.text).join(", ")}; expected the urgent jobs first, each group in the order given`,
    );

    // Somebody else's queue must be refused and left as it was.
    const taken = t.name("taken");
    const other = makeQueue(taken, 4, 64);
    const marker = `marker ${token()}`;
    other.send(marker);
    const second = await t.call("postJobs", [taken, [{ text: "intruder", urgent: true }]]);
    must(!second.ok && second.error?.code === "EEXIST", "postJobs() on a name that exists must fail with EEXIST (ExistsError), not open the queue");
    const left = takeAll(other).map((m) => m.text());
    must(left.length === 1 && left[0] === marker, `postJobs() sent into a queue that existed before it: it now holds ${JSON.stringify(left)}`);
  },
);

task(
  {
    number: 2,
    title: "a request/reply service on two queues, urgent requests first",
    points: 3,
    read: "Two queues for a conversation",
    hint: 'Open the request queue with access "read" and the reply queue with access "write"; receive() hands out the highest priority first. Reply with send(JSON.stringify({ id, sum }), { priority: request.priority }), exactly `count` times.',
  },
  async (t) => {
    const requestsName = t.name("requests");
    const repliesName = t.name("replies");
    const requests = makeQueue(requestsName);
    const replies = makeQueue(repliesName);
    const urgentPriorities = [URGENT, URGENT + 3, URGENT + 7];
    const sent = Array.from({ length: 8 }, (_, i) => ({
      id: token(),
      numbers: Array.from({ length: randomInt(1, 6) }, () => randomInt(-1000, 1000)),
      priority: NORMAL,
      position: i,
    }));
    // Three urgent requests, at random places among the others.
    const urgentPlaces = new Set<number>();
    while (urgentPlaces.size < 3) urgentPlaces.add(randomInt(0, sent.length));
    [...urgentPlaces].forEach((place, i) => (sent[place]!.priority = urgentPriorities[i]!));
    for (const request of sent) requests.send(JSON.stringify({ id: request.id, numbers: request.numbers }), { priority: request.priority });
    const sumOf = (id: string) => sent.find((r) => r.id === id)!.numbers.reduce((a, b) => a + b, 0);

    const checkReplies = (want: typeof sent, what: string) => {
      const got = takeAll(replies);
      must(got.length === want.length, `${what}: ${got.length} replies arrived in the reply queue; expected ${want.length}`);
      const byId = new Map<string, Message>();
      for (const reply of got) {
        let parsed: { id?: unknown; sum?: unknown };
        try {
          parsed = JSON.parse(reply.text()) as typeof parsed;
        } catch {
          must(false, `${what}: a reply is not JSON: ${JSON.stringify(reply.text().slice(0, 80))}`);
        }
        must(typeof parsed.id === "string" && want.some((r) => r.id === parsed.id), `${what}: a reply answers ${JSON.stringify(parsed.id)}, which is not one of the requests it should have handled`);
        must(!byId.has(parsed.id), `${what}: request ${parsed.id} was answered twice`);
        must(parsed.sum === sumOf(parsed.id), `${what}: the reply to ${parsed.id} says ${String(parsed.sum)}; the numbers add up to ${sumOf(parsed.id)}`);
        const request = want.find((r) => r.id === parsed.id)!;
        must(reply.priority === request.priority, `${what}: the reply to ${parsed.id} has priority ${reply.priority}; its request had ${request.priority}`);
        byId.set(parsed.id, reply);
      }
    };

    const urgent = sent.filter((r) => r.priority !== NORMAL);
    t.done(await t.call("serveSums", [requestsName, repliesName, 3]), "serveSums(requests, replies, 3)");
    checkReplies(urgent, "after serveSums(…, 3)");
    const left = requests.attributes().curmsgs;
    must(left === 5, `after serveSums(…, 3) the request queue holds ${left} requests; the 5 normal ones should be left for later`);

    t.done(await t.call("serveSums", [requestsName, repliesName, 5]), "serveSums(requests, replies, 5)");
    checkReplies(sent.filter((r) => r.priority === NORMAL), "after serveSums(…, 5)");
    must(requests.attributes().curmsgs === 0, "every request has been answered, but the request queue is not empty");
  },
);

const WORKERS = 3;
const SQUARE_JOBS = 30;

task(
  {
    number: 3,
    title: "a pool of workers shares one queue: every job done exactly once",
    points: 3,
    read: "One queue, many workers",
    hint: 'Each worker loops on receive() (which blocks until a message comes); each message goes to exactly one receiver. On "stop" return at once, without receiving again.',
    timeoutMs: 30_000,
  },
  async (t) => {
    const jobsName = t.name("squares");
    const resultsName = t.name("results");
    const jobs = makeQueue(jobsName, 10, 128);
    const results = makeQueue(resultsName, 10, 128);
    const ids = new Set<number>();
    while (ids.size < SQUARE_JOBS) ids.add(randomInt(1, 1_000_000));
    const work = [...ids].map((id) => ({ id, n: randomInt(-30_000, 30_000) }));

    // The pool: WORKERS processes at once, each running squareWorker.
    const pool = track(t.callTogether("squareWorker", Array.from({ length: WORKERS }, (_, w) => [jobsName, resultsName, w])));
    // Feed the jobs and the stops (ten fit at a time) through a descriptor of
    // its own, and collect the results meanwhile.
    const feeder = new MessageQueue(jobsName, { access: "write" });
    opened.push(feeder);
    let fed = 0;
    let feedError: unknown;
    const feeding = (async () => {
      for (const job of work) {
        await feeder.sendAsync(JSON.stringify(job), { timeout: 20 });
        fed++;
      }
      for (let w = 0; w < WORKERS; w++) await feeder.sendAsync("stop", { timeout: 20 });
    })().catch((error: unknown) => {
      feedError = error;
    });
    const got: { id?: unknown; square?: unknown; worker?: unknown }[] = [];
    while (got.length < SQUARE_JOBS) {
      try {
        const message = await results.receiveAsync({ timeout: 0.5 });
        try {
          got.push(JSON.parse(message.text()) as (typeof got)[number]);
        } catch {
          must(false, `a result is not JSON: ${JSON.stringify(message.text().slice(0, 80))}`);
        }
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        if (pool.finished()) break; // nobody left to send more
      }
    }
    await Promise.race([feeding, pool.result]);
    const outcomes = await pool.result;
    feeder.close(); // ends a send still waiting for room that no worker will make
    await feeding;
    outcomes.forEach((outcome, w) => t.done(outcome, `squareWorker() as worker ${w}`));
    must(
      fed === SQUARE_JOBS,
      `every worker returned while ${SQUARE_JOBS - fed} jobs were still waiting to be sent: a worker must keep taking jobs until it receives "stop"`,
    );
    must(feedError === undefined, `sending the "stop" messages failed: ${String(feedError)}`);
    got.push(...takeAll(results).map((m) => JSON.parse(m.text()) as (typeof got)[number]));

    const seen = new Map<number, number>();
    for (const result of got) {
      must(typeof result.id === "number" && ids.has(result.id), `a result has the id ${JSON.stringify(result.id)}, which is not one of the jobs`);
      seen.set(result.id, (seen.get(result.id) ?? 0) + 1);
      const job = work.find((j) => j.id === result.id)!;
      must(result.square === job.n * job.n, `job ${job.id} (n = ${job.n}) came back with square ${String(result.square)}, not ${job.n * job.n}`);
      must(
        typeof result.worker === "number" && result.worker >= 0 && result.worker < WORKERS,
        `the result of job ${job.id} names worker ${JSON.stringify(result.worker)}; it should be the worker argument (0 to ${WORKERS - 1})`,
      );
    }
    const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    must(twice.length === 0, `jobs ${twice.join(", ")} were done more than once`);
    const lost = [...ids].filter((id) => !seen.has(id));
    must(lost.length === 0, `${lost.length} of ${SQUARE_JOBS} jobs were never done (for example ${lost[0]})`);
    const leftover = takeAll(jobs).map((m) => m.text());
    must(leftover.length === 0, `the jobs queue still holds ${JSON.stringify(leftover.slice(0, 3))}: each worker should take exactly one "stop"`);
  },
);

const QUIET_SECONDS = 3;

task(
  {
    number: 4,
    title: "a consumer that gives up after a quiet spell",
    points: 2,
    read: "Waiting with a timeout",
    hint: "Loop on receive({ timeout: quietSeconds }) and return when it throws TimeoutError; let every other error through.",
  },
  async (t) => {
    const name = t.name("quiet");
    const queue = makeQueue(name, 10, 64);
    const first = Array.from({ length: 3 }, () => `early ${token()}`);
    const later = Array.from({ length: 2 }, () => `late ${token()}`);
    for (const text of first) queue.send(text);
    const call = track(t.call("drainUntilQuiet", [name, QUIET_SECONDS]));
    // Once the first messages are taken, send more, well within the quiet spell:
    // a consumer that waits with a timeout gets them; one that stops at the first empty queue does not.
    while (!call.finished() && queue.attributes().curmsgs > 0) await Bun.sleep(5);
    for (const text of later) queue.send(text);
    const result = await call.result;
    t.done(result, "drainUntilQuiet()");
    const texts = result.value as unknown;
    must(Array.isArray(texts), `drainUntilQuiet() returned ${JSON.stringify(texts)}; it should return the texts received, as an array`);
    const missed = takeAll(queue).map((m) => m.text());
    must(
      missed.length === 0,
      `drainUntilQuiet() returned while ${JSON.stringify(missed)} sat in the queue: those came less than ${QUIET_SECONDS} s after the last message; wait with a timeout instead of stopping when the queue is empty`,
    );
    must(
      JSON.stringify(texts) === JSON.stringify([...first, ...later]),
      `drainUntilQuiet() returned ${JSON.stringify(texts)}; the queue delivered ${JSON.stringify([...first, ...later])}`,
    );
  },
);

/** What /dev/mqueue/NAME says about the notification registered on a queue, or null if it cannot be read. */
function registration(name: string): { pid: number; signal: number } | null {
  if (!fs.existsSync("/dev/mqueue")) return null;
  const text = fs.readFileSync(`/dev/mqueue${name}`, "utf8");
  const pid = Number(/NOTIFY_PID:(\d+)/.exec(text)?.[1] ?? 0);
  const signal = Number(/SIGNO:(\d+)/.exec(text)?.[1] ?? 0);
  return { pid, signal };
}

/** Whether /dev/mqueue is a mounted mqueue file system here (the grader's box mounts one). */
function mqueueMounted(): boolean {
  return fs.readFileSync("/proc/mounts", "utf8").split("\n").some((line) => line.split(" ")[1] === "/dev/mqueue");
}

task(
  {
    number: 5,
    title: "a consumer driven by notification signals",
    points: 3,
    read: "Notification by signal",
    hint: 'process.on("SIGUSR1", handler) first, then queue.notify("SIGUSR1"). In the handler: notify("SIGUSR1") again, then receive({ timeout: 0 }) until BusyError. Resolve once you have `count` texts.',
  },
  async (t) => {
    const name = t.name("notified");
    const queue = makeQueue(name, 10, 64);
    const batches = [[`a ${token()}`], [`b ${token()}`, `c ${token()}`], [`d ${token()}`]];
    const count = batches.flat().length;
    const call = track(t.call("collectNotified", [name, count]));
    const watched = mqueueMounted();

    /** Fails with `why` if the student's call has ended (killed after waiting in vain, or returned early). */
    const stillRunning = async (why: string) => {
      if (!call.finished()) return;
      const result = await call.result;
      if (result.timedOut) must(false, `${why}; collectNotified() waited until it was killed`);
      t.done(result, "collectNotified()");
      must(false, `collectNotified() returned ${JSON.stringify(result.value)} before all ${count} messages were sent`);
    };

    for (const [i, batch] of batches.entries()) {
      if (watched) {
        // Wait until the student's process has asked for the signal (again): /dev/mqueue shows it.
        while (!call.finished() && (registration(name)?.pid ?? 0) === 0) await Bun.sleep(5);
        await stillRunning(
          i === 0
            ? 'it never registered for notification: /dev/mqueue shows NOTIFY_PID:0 (call queue.notify("SIGUSR1"), and do not wait in receive)'
            : `after the signal for message batch ${i}, it did not register again: a registration is used up by its signal`,
        );
        const now = registration(name)!;
        must(now.signal === 10, `the notification asks for signal ${now.signal}; the task says SIGUSR1 (10)`);
      } else {
        // No /dev/mqueue to watch (it is not mounted): the registration cannot be seen, only the result.
        await Bun.sleep(200);
      }
      for (const text of batch) queue.send(text); // one signal, possibly for several messages
      while (!call.finished() && queue.attributes().curmsgs > 0) await Bun.sleep(5);
      const last = i === batches.length - 1;
      if (!last || queue.attributes().curmsgs > 0) await stillRunning(
        batch.length > 1
          ? `it left ${queue.attributes().curmsgs} of ${batch.length} messages that arrived together in the queue: take every message there when the signal comes`
          : "the message sent after its registration was never taken",
      );
    }
    const result = await call.result;
    t.done(result, "collectNotified()");
    const left = takeAll(queue).map((m) => m.text());
    must(left.length === 0, `collectNotified() left ${JSON.stringify(left)} in the queue`);
    must(
      JSON.stringify(result.value) === JSON.stringify(batches.flat()),
      `collectNotified() returned ${JSON.stringify(result.value)}; the queue delivered ${JSON.stringify(batches.flat())}`,
    );
  },
);
