/**
 * condition.ts — workers that sleep until there is work. A count of
 * waiting jobs sits in shared memory, guarded by a mutex; a condition
 * variable is where the workers sleep while the count is 0. The parent
 * adds jobs one by one, waking one worker for each with signal(), then
 * announces "closed" and wakes everyone with broadcast().
 *
 * Each worker waits the only correct way: with the mutex held, in a loop
 * that re-checks the predicate, because a wake-up does not promise that
 * the job is still there.
 *
 * Run:  bun run examples/04-sync/condition.ts
 */
import { Condition, layout, Mutex, SharedMemory } from "../../lib/index.ts";

const WORKERS = 3;
const JOBS = 12;

const Board = layout({
  lock: Mutex,
  changed: Condition, // "jobs or closed changed"
  jobs: "i32", // jobs waiting to be taken
  closed: "i32", // 1: no more jobs will come
  done: ["i32", WORKERS], // jobs each worker did
});

function worker(name: string, index: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const board = Board.attach(map);
  for (;;) {
    // ANCHOR: wait
    board.lock.lock();
    while (board.jobs[0] === 0 && board.closed[0] === 0) {
      board.changed.wait(board.lock, 10); // unlocks, sleeps, locks again
    }
    if (board.jobs[0] === 0) {
      board.lock.unlock(); // closed, and nothing left
      break;
    }
    board.jobs[0]! -= 1; // take a job, with the lock held
    board.lock.unlock();
    // ANCHOR_END: wait
    board.done[index]! += 1; // "do" the job, outside the critical section
    Bun.sleepSync(5);
  }
  console.log(`worker ${index} did ${board.done[index]} jobs`);
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-board-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Board.size });
  try {
    using map = shm.map();
    const board = Board.init(map);
    const workers = Array.from({ length: WORKERS }, (_, i) =>
      Bun.spawn([process.execPath, import.meta.path, "worker", name, String(i)], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      // ANCHOR: post
      for (let job = 0; job < JOBS; job++) {
        board.lock.lock();
        board.jobs[0]! += 1; // change the data with the lock held…
        board.changed.signal(); // …and wake one sleeper
        board.lock.unlock();
        await Bun.sleep(2);
      }
      board.lock.lock();
      board.closed[0] = 1;
      board.changed.broadcast(); // wake every sleeper: each sees "closed" and leaves
      board.lock.unlock();
      // ANCHOR_END: post
      const codes = await Promise.all(workers.map((w) => w.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes}`);
    } finally {
      for (const w of workers) if (w.exitCode === null) w.kill();
    }
    console.log(`${JOBS} jobs posted, ${board.done.reduce((a, b) => a + b, 0)} done, ${board.jobs[0]} left`);
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "worker") worker(process.argv[3]!, Number(process.argv[4]));
else await main();
