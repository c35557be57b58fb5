/**
 * lost-bonus.ts — the secretary and the boss, for real. A payroll of
 * salaries sits in shared memory. Two processes update it at the same
 * time: the secretary adds a raise of 100 to every salary, the boss a
 * bonus of 500. Each update reads a salary, adds to it and writes it back.
 * At the end the program compares the payroll with what it should be and
 * prints how much money the race lost.
 *
 * Run:  bun run examples/00-intro/lost-bonus.ts [rounds]
 *
 * The parent starts this file twice more, as the secretary and the boss
 * (`... secretary NAME ROUNDS`); both wait for a "go" word so that their
 * loops really overlap. Chapter 04 fixes the race with a mutex
 * (examples/04-sync/lost-bonus-fixed.ts).
 */
import { SharedMemory } from "../../lib/index.ts";

const EMPLOYEES = 1000;
const START_SALARY = 30_000;
const AMOUNT = { secretary: 100, boss: 500 } as const;
type Role = keyof typeof AMOUNT;

// The shared memory: two control words, then one 32-bit salary per employee.
const READY = 0; // processes that are mapped and waiting
const GO = 1; // set by the parent to start both at once
const SALARIES = 2; // index of the first salary

// ANCHOR: update
/** One read-modify-write of a salary: read it, think, write it back. */
function update(words: Int32Array, employee: number, amount: number): void {
  const salary = words[SALARIES + employee]!; // read
  coffeeBreak(); // anything can happen here
  words[SALARIES + employee] = salary + amount; // write what *this* process computed
}
// ANCHOR_END: update

/** A moment of other work between the read and the write: the coffee break. */
function coffeeBreak(): void {
  let x = 0;
  for (let i = 0; i < 50; i++) x += i;
  if (x < 0) console.log(x);
}

function worker(role: Role, name: string, rounds: number): void {
  using shm = new SharedMemory(name);
  using map = shm.map();
  const words = map.view(Int32Array);
  Atomics.add(words, READY, 1);
  while (Atomics.load(words, GO) === 0); // wait for the start
  // ANCHOR: worker
  for (let round = 0; round < rounds; round++) {
    for (let employee = 0; employee < EMPLOYEES; employee++) update(words, employee, AMOUNT[role]);
  }
  // ANCHOR_END: worker
}

async function main(rounds: number): Promise<void> {
  const name = `/${process.env.IPC_PREFIX ?? "ipcbook"}-payroll-${process.pid}`;
  using shm = new SharedMemory(name, { exclusive: true, size: (SALARIES + EMPLOYEES) * 4 });
  try {
    using map = shm.map();
    const words = map.view(Int32Array);
    words.fill(START_SALARY, SALARIES);
    const people = (["secretary", "boss"] as const).map((role) =>
      Bun.spawn([process.execPath, import.meta.path, role, name, String(rounds)], { stdout: "inherit", stderr: "inherit" }),
    );
    try {
      while (Atomics.load(words, READY) < people.length) await Bun.sleep(1);
      Atomics.store(words, GO, 1);
      const codes = await Promise.all(people.map((p) => p.exited));
      if (codes.some((code) => code !== 0)) throw new Error(`a worker failed: exit codes ${codes}`);
    } finally {
      for (const p of people) if (p.exitCode === null) p.kill();
    }

    // ANCHOR: count
    const expected = START_SALARY + rounds * (AMOUNT.secretary + AMOUNT.boss);
    let lost = 0;
    let shortPaid = 0;
    let example = "";
    for (let employee = 0; employee < EMPLOYEES; employee++) {
      const missing = expected - words[SALARIES + employee]!;
      lost += missing;
      if (missing > 0) shortPaid += 1;
      if (missing > 0 && example === "") example = `employee ${employee} should earn ${expected} and earns ${expected - missing}`;
    }
    // ANCHOR_END: count
    const payroll = EMPLOYEES * expected;
    console.log(`${EMPLOYEES} employees, ${rounds} rounds: raises of ${AMOUNT.secretary} and bonuses of ${AMOUNT.boss}`);
    console.log(`payroll expected ${payroll}  got ${payroll - lost}  lost ${lost} crowns`);
    console.log(`${shortPaid} of ${EMPLOYEES} employees are short-paid${example ? `; ${example}` : ""}`);
  } finally {
    SharedMemory.unlink(name);
  }
}

const [mode, name, rounds] = process.argv.slice(2);
if ((mode === "secretary" || mode === "boss") && name && rounds) {
  worker(mode, name, Number(rounds));
} else {
  const r = Number(mode ?? 200);
  if (!Number.isInteger(r) || r < 1 || r > 100_000) {
    console.error("usage: bun run examples/00-intro/lost-bonus.ts [rounds]");
    process.exit(2);
  }
  await main(r);
}
