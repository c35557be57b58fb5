/**
 * lost-bonus-fixed.ts — the secretary and the boss again (see
 * examples/00-intro/lost-bonus.ts), now with a process-shared mutex in the
 * shared memory. Each read-modify-write of a salary is a critical section:
 * the process locks the mutex, reads, adds, writes, and unlocks. No raise
 * and no bonus is lost.
 *
 * Run:  bun run examples/04-sync/lost-bonus-fixed.ts [rounds]
 */
import { layout, Mutex, SharedMemory } from "../../lib/index.ts";

const EMPLOYEES = 1000;
const START_SALARY = 30_000;
const AMOUNT = { secretary: 100, boss: 500 } as const;
type Role = keyof typeof AMOUNT;

// ANCHOR: layout
const Payroll = layout({
  lock: Mutex, // protects every salary
  ready: "i32", // workers mapped and waiting
  go: "i32", // set by the parent to start them together
  salaries: ["i32", EMPLOYEES],
});
// ANCHOR_END: layout

function coffeeBreak(): void {
  let x = 0;
  for (let i = 0; i < 50; i++) x += i;
  if (x < 0) console.log(x);
}

function worker(role: Role, name: string, rounds: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const payroll = Payroll.attach(map); // the parent initialised it
  Atomics.add(payroll.ready, 0, 1);
  while (Atomics.load(payroll.go, 0) === 0);
  // ANCHOR: critical
  for (let round = 0; round < rounds; round++) {
    for (let employee = 0; employee < EMPLOYEES; employee++) {
      payroll.lock.lock(); // enter the critical section
      try {
        const salary = payroll.salaries[employee]!;
        coffeeBreak(); // the other process now waits at lock()
        payroll.salaries[employee] = salary + AMOUNT[role];
      } finally {
        payroll.lock.unlock(); // leave it, whatever happened inside
      }
    }
  }
  // ANCHOR_END: critical
}

async function main(rounds: number): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-payroll-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: Payroll.size });
  try {
    using map = shm.map();
    const payroll = Payroll.init(map); // zeroes the memory and initialises the mutex
    payroll.salaries.fill(START_SALARY);
    const people = (["secretary", "boss"] as const).map((role) =>
      Bun.spawn([process.execPath, import.meta.path, role, name, String(rounds)], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      while (Atomics.load(payroll.ready, 0) < people.length) await Bun.sleep(1);
      Atomics.store(payroll.go, 0, 1);
      const codes = await Promise.all(people.map((p) => p.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes}`);
    } finally {
      for (const p of people) if (p.exitCode === null) p.kill();
    }
    const expected = START_SALARY + rounds * (AMOUNT.secretary + AMOUNT.boss);
    const lost = payroll.salaries.reduce((sum, salary) => sum + (expected - salary), 0);
    const payrollTotal = EMPLOYEES * expected;
    console.log(`${EMPLOYEES} employees, ${rounds} rounds, every update under the mutex`);
    console.log(`payroll expected ${payrollTotal}  got ${payrollTotal - lost}  lost ${lost} crowns`);
    payroll.lock.destroy();
  } finally {
    SharedMemory.unlink(name);
  }
}

const [mode, name, rounds] = process.argv.slice(2);
if ((mode === "secretary" || mode === "boss") && name && rounds) {
  worker(mode, name, Number(rounds));
} else {
  const r = Number(mode ?? 50);
  if (!Number.isInteger(r) || r < 1 || r > 100_000) {
    console.error("usage: bun run examples/04-sync/lost-bonus-fixed.ts [rounds]");
    process.exit(2);
  }
  await main(r);
}
