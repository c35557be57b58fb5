/**
 * timed-barrier.ts — a barrier whose wait can give up. pthread_barrier_wait
 * has no timeout: if one party never comes, the others wait forever. The
 * classic construction from a mutex and a condition variable can time out:
 * a party that gives up takes its arrival back, so the count stays right
 * for the parties of the next round.
 *
 * Three parties are expected. In round 1 only two come; both give up after
 * 0.3 s. In round 2 all three come and all go through.
 *
 * Run:  bun run examples/04-sync/timed-barrier.ts
 */
import { Condition, layout, Mutex, SharedMemory } from "../../lib/index.ts";

const PARTIES = 3;

// ANCHOR: arrive
const TimedBarrier = layout({
  lock: Mutex,
  turn: Condition,
  arrived: "u32", // parties waiting in this round
  round: "u32", // which round it is: changes when the last party arrives
});
type TimedBarrier = ReturnType<typeof TimedBarrier.attach>;

/** Waits until PARTIES have arrived, at most `timeout` seconds. */
function arrive(b: TimedBarrier, timeout: number): "opened it" | "went through" | "gave up" {
  const deadline = performance.now() + timeout * 1000;
  b.lock.lock();
  try {
    const round = b.round[0]!;
    b.arrived[0]! += 1;
    if (b.arrived[0] === PARTIES) {
      b.arrived[0] = 0;
      b.round[0] = round + 1; // everyone waiting sees the round change
      b.turn.broadcast();
      return "opened it";
    }
    while (b.round[0] === round) {
      const left = (deadline - performance.now()) / 1000;
      if (left <= 0 || !b.turn.wait(b.lock, left)) {
        if (b.round[0] !== round) break; // it opened just as the time ran out
        b.arrived[0]! -= 1; // give up: take my arrival back
        return "gave up";
      }
    }
    return "went through";
  } finally {
    b.lock.unlock();
  }
}
// ANCHOR_END: arrive

function party(name: string, index: number, timeout: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const outcome = arrive(TimedBarrier.attach(map), timeout);
  console.log(`  party ${index} ${outcome}${outcome === "gave up" ? ` after ${timeout} s` : ""}`);
}

async function round(name: string, parties: number, timeout: number): Promise<void> {
  console.log(`round with ${parties} of ${PARTIES} parties, each waiting at most ${timeout} s:`);
  const children = Array.from({ length: parties }, (_, i) =>
    Bun.spawn([process.execPath, import.meta.path, "party", name, String(i), String(timeout)], { stdout: "inherit", stderr: "inherit" }),
  );
  try {
    const codes = await Promise.all(children.map((c) => c.exited));
    if (codes.some((code) => code !== 0)) throw new Error(`a party failed: exit codes ${codes}`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-timed-barrier-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: TimedBarrier.size });
  try {
    using map = shm.map();
    const barrier = TimedBarrier.init(map);
    await round(name, PARTIES - 1, 0.3);
    console.log(`  arrivals still counted: ${barrier.arrived[0]}`);
    await round(name, PARTIES, 10);
    barrier.turn.destroy();
    barrier.lock.destroy();
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "party") party(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5]));
else await main();
