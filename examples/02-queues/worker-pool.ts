/**
 * worker-pool.ts — one queue shared by a pool of interchangeable workers.
 * Each message goes to exactly one of the processes waiting in receive,
 * so the jobs are spread over the pool with no job done twice and none
 * lost, and without any locking of our own.
 *
 * Run:  bun run examples/02-queues/worker-pool.ts [workers] [jobs]
 *
 * The workers are this file started again (`... worker JOBS DONE`). Each
 * reports "ready" on the second queue once it has opened the queues; a
 * "stop" message tells one worker to finish, so the parent sends one per
 * worker after the jobs.
 */
import { MessageQueue } from "../../lib/index.ts";

if (process.argv[2] === "worker") {
  // ANCHOR: worker
  using jobs = new MessageQueue(process.argv[3]!, { access: "read" });
  using done = new MessageQueue(process.argv[4]!, { access: "write" });
  done.send(`worker ${process.pid} ready`);
  let handled = 0;
  for (;;) {
    const job = jobs.receive().text(); // whichever worker is waiting gets it
    if (job === "stop") break;
    Bun.sleepSync(5); // pretend the job takes a while
    done.send(`${job} by ${process.pid}`);
    handled++;
  }
  done.send(`worker ${process.pid} handled ${handled}`);
  // ANCHOR_END: worker
} else {
  const workers = Number(process.argv[2] ?? 3);
  const count = Number(process.argv[3] ?? 12);
  const prefix = process.env.IPC_PREFIX ?? "ipcbook";
  const jobsName = `/${prefix}-jobs-${process.pid}`;
  const doneName = `/${prefix}-done-${process.pid}`;

  // ANCHOR: pool
  using jobs = new MessageQueue(jobsName, { exclusive: true, access: "write", maxmsg: 10, msgsize: 64 });
  using done = new MessageQueue(doneName, { exclusive: true, access: "read", maxmsg: 10, msgsize: 64 });
  try {
    const pool = Array.from({ length: workers }, () =>
      Bun.spawn([process.execPath, import.meta.path, "worker", jobsName, doneName], { stderr: "inherit" }),
    );
    for (let w = 0; w < workers; w++) await done.receiveAsync({ timeout: 20 }); // "worker PID ready"
    const reports: string[] = [];
    const collecting = (async () => {
      while (reports.length < count + workers) reports.push((await done.receiveAsync({ timeout: 20 })).text());
    })();
    for (let i = 1; i <= count; i++) await jobs.sendAsync(`job ${i}`); // waits for room when 10 are queued
    for (let w = 0; w < workers; w++) await jobs.sendAsync("stop");
    await collecting;
    if ((await Promise.all(pool.map((p) => p.exited))).some((code) => code !== 0)) throw new Error("a worker failed");
    // ANCHOR_END: pool
    const jobsDone = reports.filter((r) => r.startsWith("job ")).sort((a, b) => Number(a.split(" ")[1]) - Number(b.split(" ")[1]));
    for (const line of jobsDone) console.log(line);
    for (const line of reports.filter((r) => r.startsWith("worker "))) console.log(line);
    const numbers = new Set(jobsDone.map((r) => Number(r.split(" ")[1])));
    console.log(`${jobsDone.length} results for ${count} jobs, ${numbers.size} different jobs`);
  } finally {
    MessageQueue.unlink(jobsName);
    MessageQueue.unlink(doneName);
  }
}
