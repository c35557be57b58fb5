/**
 * The other process of the synchronisation tests: started by
 * test/lib/sync-support.ts as `bun sync-child.ts ROLE NAME ...ARGS`, it
 * attaches to the shared memory NAME (laid out as `Shared`) and plays one
 * role. Roles that must be killed in a particular state announce it in
 * shared memory (`flag` = their pid) and then wait forever.
 */
import { futexWait, OwnerDeadError, SharedMemory, type Mutex } from "../../lib/index.ts";
import { Shared, type SharedFields } from "./sync-shared.ts";

const [role, name, ...args] = process.argv.slice(2);
const shm = new SharedMemory(name!);
const map = shm.map();
shm.close();
const s: SharedFields = Shared.attach(map);
const pid = process.pid;

function announce(word: Int32Array = s.flag): void {
  Atomics.store(word, 0, pid);
}

/** Waits here until killed. */
async function forever(): Promise<never> {
  for (;;) await Bun.sleep(1000);
}

/** A little work between reading and writing, to widen the critical section. */
function think(): void {
  let x = 0;
  for (let i = 0; i < 200; i++) x += i;
  if (x < 0) console.log(x);
}

/** Locks a robust mutex; on EOWNERDEAD repairs `total` from `per` and makes it consistent. */
function lockRepairing(lock: Mutex): void {
  try {
    lock.lock(30);
  } catch (error) {
    if (!(error instanceof OwnerDeadError)) throw error;
    // The dead owner may have counted its update in `total` but not in `per`:
    // roll back to what `per` says was completed.
    s.total[0] = s.per.reduce((sum, n) => sum + n, 0);
    s.recoveries[0]! += 1;
    lock.consistent();
  }
}

switch (role) {
  case "hold": {
    // hold FIELD: lock the mutex FIELD and wait to be killed
    const lock = args[0] === "stalled" ? s.stalled : s.lock;
    lock.lock();
    announce();
    await forever();
    break;
  }
  case "hold-and-exit": {
    s.lock.lock();
    process.exit(0); // ends holding the lock
    break;
  }
  case "unlock": {
    // unlock a mutex this process never locked: report the error code
    try {
      s.lock.unlock();
      console.log("unlocked");
    } catch (error) {
      console.log((error as { code?: string }).code);
    }
    break;
  }
  case "lock-expect": {
    // lock and report what happened: "ok", or the error's code
    try {
      s.lock.lock(10);
      console.log("ok");
      s.lock.unlock();
    } catch (error) {
      console.log((error as { code?: string }).code);
    }
    break;
  }
  case "counter": {
    // counter INDEX ITERATIONS STALL: add 1 to total and to per[INDEX] in one
    // critical section; in iteration STALL stop between the two and wait to be killed
    const [index, iterations, stall] = args.map(Number) as [number, number, number];
    for (let i = 0; i < iterations; i++) {
      lockRepairing(s.lock);
      const t = s.total[0]!;
      think();
      s.total[0] = t + 1;
      if (i === stall) {
        announce();
        await forever();
      }
      s.per[index]! += 1;
      s.lock.unlock();
    }
    break;
  }
  case "post": {
    s.items.post();
    break;
  }
  case "sem-wait": {
    s.items.wait(30);
    Atomics.add(s.woken, 0, 1);
    break;
  }
  case "cond-wait": {
    // wait until `go` is set, the right way: in a loop, with the mutex held
    s.lock.lock();
    Atomics.add(s.flag, 0, 1);
    while (Atomics.load(s.go, 0) === 0) s.cond.wait(s.lock, 30);
    Atomics.add(s.woken, 0, 1);
    s.lock.unlock();
    break;
  }
  case "read-hold": {
    const lock = args[0] === "reader" ? s.rwReader : args[0] === "writer" ? s.rwWriterNp : s.rwWriter;
    lock.readLock();
    announce();
    await forever();
    break;
  }
  case "write": {
    const lock = args[0] === "reader" ? s.rwReader : args[0] === "writer" ? s.rwWriterNp : s.rwWriter;
    announce(s.flag2); // about to ask for the write lock
    lock.writeLock(60);
    s.word[0] = 42;
    lock.unlock();
    break;
  }
  case "barrier": {
    // barrier INDEX PHASES: write this phase's value, wait, read everyone's
    const [index, phases] = args.map(Number) as [number, number];
    for (let phase = 0; phase < phases; phase++) {
      s.phase[phase * 3 + index] = (phase + 1) * 100 + index;
      if (s.barrier.wait()) Atomics.add(s.serial, phase, 1);
      let sum = 0;
      for (let i = 0; i < 3; i++) sum += s.phase[phase * 3 + i]!;
      if (sum !== (phase + 1) * 300 + 3) Atomics.add(s.result, 0, 1); // saw a phase unfinished
      if (s.barrier.wait()) Atomics.add(s.serial, phase, 0); // nobody writes phase+1 before all have read
    }
    break;
  }
  case "spin-count": {
    // spin-count KIND ITERATIONS: increment total, read-modify-write, under a spin lock or the TSL lock
    const [kind, iterations] = [args[0], Number(args[1])];
    const lock = kind === "tsl" ? s.tsl : s.spin;
    for (let i = 0; i < iterations; i++) {
      lock.lock();
      const t = s.total[0]!;
      think();
      s.total[0] = t + 1;
      lock.unlock();
    }
    break;
  }
  case "spin-hold": {
    const lock = args[0] === "tsl" ? s.tsl : s.spin;
    lock.lock();
    announce();
    await forever();
    break;
  }
  case "futex-wait": {
    announce();
    console.log(futexWait(s.word, 0, 0, 30));
    break;
  }
  default:
    console.error(`sync-child: unknown role ${role}`);
    process.exit(2);
}
map.unmap();
