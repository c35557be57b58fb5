/**
 * Graded tests of chapter 03 (shared memory). The student's functions run
 * in their own processes; every verdict comes from the objects themselves,
 * read here: /dev/shm entries, the bytes of the shared memory, the file.
 *
 *   bun test test/03-shm.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/03-shm.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { SharedMemory } from "../lib/index.ts";
import { gradedChapter, must } from "./harness/task.ts";

const { task } = gradedChapter("03-shm");

/** The bytes of a shared-memory object, read from this process. */
function contents(name: string, length: number): Buffer {
  return fs.readFileSync(`/dev/shm${name}`).subarray(0, length);
}

function createObject(name: string, size: number): void {
  new SharedMemory(name, { exclusive: true, size }).close();
}

task(
  {
    number: 1,
    title: "create an object exclusively, with a size and mode 0600",
    points: 2,
    read: "Creating an object",
    hint: "Open with `exclusive: true` (O_CREAT|O_EXCL), pass `size` and `mode: 0o600`, and close the descriptor; `using` does it for you.",
  },
  async (t) => {
    const name = t.name("region");
    t.done(await t.call("createRegion", [name, 8192]), "createRegion()");
    const file = `/dev/shm${name}`;
    must(fs.existsSync(file), `${name} does not exist in /dev/shm after createRegion() returned`);
    const stat = fs.statSync(file);
    must(stat.size === 8192, `${name} has ${stat.size} bytes; createRegion(name, 8192) should give it 8192`);
    const mode = stat.mode & 0o777;
    must(mode === 0o600, `${name} has mode ${mode.toString(8)}; it should be 600 (only its owner may use it)`);

    // Somebody else's object must be refused and left as it was.
    const taken = t.name("taken");
    createObject(taken, 4096);
    const marker = randomBytes(16);
    fs.writeFileSync(`/dev/shm${taken}`, marker, { flag: "r+" });
    const second = await t.call("createRegion", [taken, 128]);
    must(!second.ok && second.error?.code === "EEXIST", "createRegion() on a name that exists must fail with EEXIST (ExistsError), not open it");
    must(contents(taken, 16).equals(marker) && fs.statSync(`/dev/shm${taken}`).size === 4096, "createRegion() changed an object that existed before it");
  },
);

const WORKERS = 3;
const INCREMENTS = 1_000_000;

task(
  {
    number: 2,
    title: "several processes increment a shared counter with no lost update",
    points: 3,
    read: "Races on shared memory",
    hint: "`counter[0]++` is a read, an add and a write: two processes interleave them and lose updates. Use `Atomics.add(view, 0, 1)` on an Int32Array view of the mapping.",
    timeoutMs: 30_000,
  },
  async (t) => {
    const name = t.name("counter");
    createObject(name, 4096);
    const results = await t.callTogether(
      "incrementCounter",
      Array.from({ length: WORKERS }, () => [name, INCREMENTS]),
    );
    results.forEach((result, i) => t.done(result, `incrementCounter() in process ${i + 1}`));
    const counter = contents(name, 4).readInt32LE(0);
    const expected = WORKERS * INCREMENTS;
    must(
      counter === expected,
      `${WORKERS} processes each added ${INCREMENTS} but the counter holds ${counter}: ${expected - counter} updates were lost`,
    );
  },
);

/** The record layout of the exercise (RECORD there). */
const RECORD = { id: 0, temperature: 8, label: 16, labelBytes: 48, size: 64 };

function randomReading() {
  const labels = ["greenhouse", "cellar", "server room", "kühlraum", "sklep č. 3"];
  return {
    id: randomInt(1, 2 ** 31),
    temperature: Math.round((randomInt(-4000, 4000) / 100) * 100) / 100,
    label: `${labels[randomInt(labels.length)]} ${randomBytes(3).toString("hex")}`,
  };
}

task(
  {
    number: 3,
    title: "write a record in one process and read it in another",
    points: 3,
    read: "Laying out a record",
    hint: "A DataView over the mapping reads and writes numbers at byte offsets: setUint32(0, id, true), setFloat64(8, t, true); encode the label with TextEncoder and pad it with zero bytes.",
  },
  async (t) => {
    const name = t.name("record");
    createObject(name, 4096);
    fs.writeFileSync(`/dev/shm${name}`, Buffer.alloc(RECORD.size, 0xff), { flag: "r+" }); // old garbage under the label

    const written = randomReading();
    t.done(await t.call("writeRecord", [name, written]), "writeRecord()");
    const bytes = contents(name, RECORD.size);
    must(bytes.readUInt32LE(RECORD.id) === written.id, `the id at offset 0 is ${bytes.readUInt32LE(RECORD.id)}, expected ${written.id}`);
    must(
      bytes.readDoubleLE(RECORD.temperature) === written.temperature,
      `the temperature at offset 8 is ${bytes.readDoubleLE(RECORD.temperature)}, expected ${written.temperature}`,
    );
    const label = Buffer.alloc(RECORD.labelBytes);
    label.write(written.label, "utf8");
    must(
      bytes.subarray(RECORD.label, RECORD.label + RECORD.labelBytes).equals(label),
      `the label field (offset 16, 48 bytes) should hold "${written.label}" in UTF-8 followed by zero bytes only`,
    );

    const tooLong = await t.call("writeRecord", [name, { ...written, label: "x".repeat(RECORD.labelBytes + 1) }]);
    must(!tooLong.ok && tooLong.error?.name === "RangeError", "writeRecord() with a 49-byte label must throw a RangeError");
    must(contents(name, RECORD.size).equals(bytes), "writeRecord() with a label that does not fit must write nothing");

    const stored = randomReading();
    const record = Buffer.alloc(RECORD.size);
    record.writeUInt32LE(stored.id, RECORD.id);
    record.writeDoubleLE(stored.temperature, RECORD.temperature);
    record.write(stored.label, RECORD.label, "utf8");
    fs.writeFileSync(`/dev/shm${name}`, record, { flag: "r+" });
    const read = await t.call("readRecord", [name]);
    t.done(read, "readRecord()");
    must(
      JSON.stringify(read.value) === JSON.stringify(stored),
      `readRecord() returned ${JSON.stringify(read.value)}; the object holds ${JSON.stringify(stored)}`,
    );
  },
);

const ACCOUNT = { size: 16, balance: 8 };

task(
  {
    number: 4,
    title: "update one record of a file in place through a mapping",
    points: 3,
    read: "Mapping a regular file",
    hint: "Open the file with MappedFile, map it, take a BigInt64Array view of the 8 bytes at index × 16 + 8, add BigInt(cents), then sync().",
  },
  async (t) => {
    const file = path.join(t.scratch("accounts"), "accounts.bin");
    const accounts = 12;
    const before = Buffer.alloc(accounts * ACCOUNT.size);
    for (let i = 0; i < accounts; i++) {
      before.writeUInt32LE(1000 + i, i * ACCOUNT.size);
      before.writeUInt32LE(randomInt(0, 256), i * ACCOUNT.size + 4);
      before.writeBigInt64LE(BigInt(randomInt(-1_000_000, 1_000_000)), i * ACCOUNT.size + ACCOUNT.balance);
    }
    fs.writeFileSync(file, before);

    const index = randomInt(1, accounts - 1);
    const cents = -randomInt(1, 50_000);
    t.done(await t.call("addToBalance", [file, index, cents]), "addToBalance()");

    const after = fs.readFileSync(file);
    must(after.length === before.length, `the file was ${before.length} bytes and is now ${after.length}: it must keep its size`);
    const offset = index * ACCOUNT.size + ACCOUNT.balance;
    const expected = before.readBigInt64LE(offset) + BigInt(cents);
    must(
      after.readBigInt64LE(offset) === expected,
      `record ${index} should hold ${expected} cents after adding ${cents}, but holds ${after.readBigInt64LE(offset)}`,
    );
    const expectedFile = Buffer.from(before);
    expectedFile.writeBigInt64LE(expected, offset);
    must(after.equals(expectedFile), "bytes other than record's balance changed; only those 8 bytes may change");
  },
);

task(
  {
    number: 5,
    title: "remove an object, and succeed when it is gone already",
    points: 2,
    read: "Removing objects",
    hint: "SharedMemory.unlink(name) removes the name; catch NotFoundError (ENOENT) and ignore it, but let every other error through.",
  },
  async (t) => {
    const name = t.name("old");
    createObject(name, 4096);
    t.done(await t.call("removeRegion", [name]), "removeRegion()");
    must(!fs.existsSync(`/dev/shm${name}`), `${name} is still in /dev/shm after removeRegion()`);
    t.done(await t.call("removeRegion", [name]), "removeRegion() on an object that is gone already");
    const bad = await t.call("removeRegion", ["no-slash"]);
    must(!bad.ok, "removeRegion() must not hide errors other than 'does not exist' (it accepted a name without a slash)");
  },
);
