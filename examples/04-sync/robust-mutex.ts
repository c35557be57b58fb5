/**
 * robust-mutex.ts — a process dies in the middle of a critical section,
 * holding the lock, and the others recover. A child starts moving 250
 * from account A to account B under a robust mutex: it takes 250 from A,
 * writes down what it is doing in a journal... and is killed with SIGKILL
 * before it adds 250 to B. A + B is now wrong, and the lock's owner is
 * dead.
 *
 * An ordinary mutex would stay locked forever. A robust one hands the lock
 * to the next process with the error EOWNERDEAD: "you hold it, but its
 * owner died". The parent repairs the accounts from the journal, calls
 * consistent() and carries on. Then it shows the other ending: a process
 * that gives up with markUnrecoverable() makes every later lock fail.
 *
 * Run:  bun run examples/04-sync/robust-mutex.ts
 */
import { layout, Mutex, OwnerDeadError, SharedMemory, UnrecoverableError } from "../../lib/index.ts";

const Bank = layout({
  lock: Mutex, // robust by default
  a: "i32",
  b: "i32",
  journal: "i32", // the amount of a transfer in progress, 0 if none
  holding: "i32", // the child's pid once it holds the lock
});

function child(name: string): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const bank = Bank.attach(map);
  // ANCHOR: die
  bank.lock.lock();
  bank.journal[0] = 250; // "moving 250 from A to B"
  bank.a[0]! -= 250;
  Atomics.store(bank.holding, 0, process.pid);
  Bun.sleepSync(60_000); // …killed here, holding the lock, before B += 250
  // ANCHOR_END: die
}

async function main(): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-bank-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Bank.size });
  try {
    using map = shm.map();
    const bank = Bank.init(map);
    bank.a[0] = 1000;
    bank.b[0] = 1000;
    const proc = Bun.spawn([process.execPath, import.meta.path, "child", name], { stdout: "inherit", stderr: "inherit" });
    while (Atomics.load(bank.holding, 0) === 0) await Bun.sleep(1);
    proc.kill("SIGKILL");
    await proc.exited;
    console.log(`child ${proc.pid} killed inside its critical section: A = ${bank.a[0]}, B = ${bank.b[0]}, total ${bank.a[0]! + bank.b[0]!}`);

    // ANCHOR: recover
    try {
      bank.lock.lock(5);
    } catch (error) {
      if (!(error instanceof OwnerDeadError)) throw error;
      console.log(`lock(): ${error.code}; we hold the lock, the data may be half updated`);
      if (bank.journal[0] !== 0) {
        bank.a[0]! += bank.journal[0]!; // roll the unfinished transfer back
        bank.journal[0] = 0;
      }
      bank.lock.consistent(); // repaired: the mutex is usable again
    }
    console.log(`repaired: A = ${bank.a[0]}, B = ${bank.b[0]}, total ${bank.a[0]! + bank.b[0]!}`);
    bank.lock.unlock();
    // ANCHOR_END: recover

    // The other ending: nobody repairs, the mutex can never be used again.
    const second = Bun.spawn([process.execPath, import.meta.path, "child", name], { stdout: "inherit", stderr: "inherit" });
    Atomics.store(bank.holding, 0, 0);
    while (Atomics.load(bank.holding, 0) === 0) await Bun.sleep(1);
    second.kill("SIGKILL");
    await second.exited;
    // ANCHOR: give-up
    try {
      bank.lock.lock(5);
    } catch (error) {
      if (!(error instanceof OwnerDeadError)) throw error;
      bank.lock.markUnrecoverable(); // "I cannot repair this"
    }
    try {
      bank.lock.lock(5);
    } catch (error) {
      if (!(error instanceof UnrecoverableError)) throw error;
      console.log(`after markUnrecoverable(), lock(): ${error.code}`);
    }
    // ANCHOR_END: give-up
  } finally {
    SharedMemory.unlink(name);
  }
}

if (process.argv[2] === "child") child(process.argv[3]!);
else await main();
