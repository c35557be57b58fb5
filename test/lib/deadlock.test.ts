/**
 * lib/deadlock.ts: the wait-for graph from /proc/locks and from the
 * library's own waits, cycle finding, back-off with a timeout, and lock
 * ordering. Real deadlocks are staged between lock-actor.ts processes
 * with locks the kernel does not check (flock, OFD, and a mix), found,
 * and ended by killing a process. No assertion depends on timing.
 */
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  acquireWithBackoff,
  acquireWithBackoffSync,
  findCycles,
  findDeadlocks,
  lockRanges,
  locksOn,
  OpenFile,
  TimeoutError,
  waitForGraph,
} from "../../lib/index.ts";
import { Actor, type Action } from "./lock-actor.ts";
import { tempDir, thrown } from "./support.ts";

// Other processes take part in most tests: leave room for a busy machine.
setDefaultTimeout(30_000);

const scratch = tempDir("deadlock");
const actors: Actor[] = [];
const files: OpenFile[] = [];
let serial = 0;

function newFile(label: string): string {
  const file = path.join(scratch.dir, `${label}-${++serial}`);
  fs.writeFileSync(file, Buffer.alloc(256));
  return file;
}

function actor(actions: Action[]): Actor {
  const a = new Actor(actions);
  actors.push(a);
  return a;
}

function open(file: string): OpenFile {
  const f = new OpenFile(file);
  files.push(f);
  return f;
}

async function eventually(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await Bun.sleep(5);
  }
}

/** The cycle's pids rotated to start at the lowest, for comparison. */
function normalised(pids: number[]): number[] {
  const i = pids.indexOf(Math.min(...pids));
  return [...pids.slice(i), ...pids.slice(0, i)];
}

afterEach(async () => {
  for (const a of actors.splice(0)) await a[Symbol.asyncDispose]();
  for (const f of files.splice(0)) f.close();
});
afterAll(() => scratch.remove());

describe("the wait-for graph from a lock table", () => {
  const table = [
    "1: POSIX  ADVISORY  WRITE 100 fe:00:10 0 9",
    "1: -> POSIX  ADVISORY  WRITE 200 fe:00:10 5 5",
    "2: POSIX  ADVISORY  WRITE 300 fe:00:10 100 109",
    "3: FLOCK  ADVISORY  WRITE 200 fe:00:11 0 EOF",
    "3: -> FLOCK  ADVISORY  WRITE 100 fe:00:11 0 EOF",
    "4: POSIX  ADVISORY  READ 400 fe:00:12 0 EOF",
    "4: -> POSIX  ADVISORY  READ 500 fe:00:12 0 EOF",
    "5: POSIX  ADVISORY  READ 600 fe:00:13 0 EOF",
    "5: -> FLOCK  ADVISORY  WRITE 700 fe:00:13 0 EOF",
    "",
  ].join("\n");

  test("a blocked request waits for the held locks that overlap it and conflict with it, of its own family", () => {
    const graph = waitForGraph({ locks: table, library: false });
    const edges = graph.edges.map((e) => `${e.waiter}>${e.holder} ${e.kind}`).sort();
    // 200 waits for 100 (bytes 5..5 lie in 0..9) but not for 300 (100..109);
    // 100 waits for 200's flock; two shared locks do not conflict; a flock
    // request does not conflict with a POSIX lock.
    expect(edges).toEqual(["100>200 flock", "200>100 posix"]);
  });

  test("finds the cycle and says who waits for whom on what", () => {
    const cycles = findCycles(waitForGraph({ locks: table, library: false }));
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.processes.map((p) => p.pid)).toEqual([100, 200]);
    expect(cycles[0]!.description).toBe(
      ["100 waits for 200: exclusive flock on inode 11 on fe:00", "200 waits for 100: exclusive POSIX lock on inode 10 on fe:00 (bytes 5..5)"].join("\n"),
    );
  });

  test("a chain that does not close is not a deadlock; a longer ring is found once", () => {
    const chain = ["1: POSIX  ADVISORY  WRITE 1 fe:00:1 0 EOF", "1: -> POSIX  ADVISORY  WRITE 2 fe:00:1 0 EOF", "2: POSIX  ADVISORY  WRITE 2 fe:00:2 0 EOF", "2: -> POSIX  ADVISORY  WRITE 3 fe:00:2 0 EOF"];
    expect(findCycles(waitForGraph({ locks: chain.join("\n"), library: false }))).toEqual([]);
    const ring = [...chain, "3: POSIX  ADVISORY  WRITE 3 fe:00:3 0 EOF", "3: -> POSIX  ADVISORY  WRITE 1 fe:00:3 0 EOF"];
    const cycles = findCycles(waitForGraph({ locks: ring.join("\n"), library: false }));
    // 2 waits for 1, 3 for 2, 1 for 3: the cycle, from the lowest pid, is 1 → 3 → 2.
    expect(cycles.map((c) => c.processes.map((p) => p.pid))).toEqual([[1, 3, 2]]);
  });
});

describe("deadlocks staged between real processes", () => {
  test("a ring of three (flock, POSIX and flock waits), which the kernel does not notice, is found and named; killing one ends it", async () => {
    const [f0, f1, f2] = [newFile("ring0"), newFile("ring1"), newFile("ring2")];
    const a = actor([{ do: "open", path: f0 }, { do: "lock", mode: "exclusive", start: 0, length: 10 }, { do: "open", path: f1, as: "next" }, { do: "wait" }, { do: "flock", file: "next", mode: "exclusive" }]);
    const b = actor([{ do: "open", path: f1 }, { do: "flock", mode: "exclusive" }, { do: "open", path: f2, as: "next" }, { do: "wait" }, { do: "lock", file: "next", mode: "exclusive" }]);
    const c = actor([{ do: "open", path: f2 }, { do: "lock", mode: "exclusive" }, { do: "open", path: f0, as: "next" }, { do: "wait" }, { do: "lock", file: "next", mode: "exclusive", start: 5, length: 1 }]);
    for (const x of [a, b, c]) expect(await x.report(2)).toBe("done 2");
    // A decoy, started once B holds f1: it holds other bytes of f0, and waits for B too. It is not in the cycle.
    const d = actor([{ do: "open", path: f0 }, { do: "lock", mode: "exclusive", start: 100, length: 10 }, { do: "open", path: f1, as: "next" }, { do: "flock", file: "next", mode: "exclusive" }]);
    expect(await d.report(1)).toBe("done 1");
    for (const x of [a, b, c]) x.send();
    const paths = [f0, f1, f2];
    await eventually(() => [f0, f1, f2].flatMap((f) => locksOn(f)).filter((l) => l.blocked).length === 4, "four requests are blocked");

    const cycles = findDeadlocks({ paths });
    expect(cycles).toHaveLength(1);
    expect(normalised(cycles[0]!.processes.map((p) => p.pid))).toEqual(normalised([a.pid, b.pid, c.pid]));
    const comm = fs.readFileSync(`/proc/${a.pid}/comm`, "utf8").trim();
    expect(cycles[0]!.processes.every((p) => p.command === comm)).toBe(true);
    expect(cycles[0]!.description).toContain(`${c.pid} (${comm}) waits for ${a.pid} (${comm}): exclusive POSIX lock on ${f0} (bytes 5..5)`);
    expect(cycles[0]!.description).not.toContain(String(d.pid));

    await c.kill(); // the administrator ends it: C's locks go, B gets f2
    expect(await b.report(4)).toBe("done 4");
    expect(findDeadlocks({ paths })).toEqual([]);
  });

  test("a deadlock of OFD locks, which /proc/locks shows only as pid -1, is found through fdinfo and the blocked system calls", async () => {
    const [f0, f1] = [newFile("ofd0"), newFile("ofd1")];
    const script = (mine: string, theirs: string): Action[] => [
      { do: "open", path: mine },
      { do: "lock", mode: "exclusive", ofd: true },
      { do: "open", path: theirs, as: "next" },
      { do: "wait" },
      { do: "lock", file: "next", mode: "exclusive", ofd: true },
    ];
    const a = actor(script(f0, f1));
    const b = actor(script(f1, f0));
    for (const x of [a, b]) expect(await x.report(2)).toBe("done 2");
    a.send();
    b.send();
    await eventually(() => [f0, f1].flatMap((f) => locksOn(f)).filter((l) => l.blocked).length === 2, "both are blocked");
    expect([f0, f1].flatMap((f) => locksOn(f)).every((l) => l.pid === -1)).toBe(true);
    await eventually(() => findDeadlocks({ paths: [f0, f1] }).length === 1, "the cycle is seen once both threads sleep in fcntl");
    const [cycle] = findDeadlocks({ paths: [f0, f1] });
    expect(normalised(cycle!.processes.map((p) => p.pid))).toEqual(normalised([a.pid, b.pid]));
    expect(cycle!.edges.every((e) => e.kind === "ofd" && e.source === "kernel")).toBe(true);
    expect(findDeadlocks({ paths: [f0, f1], resolveOfd: false })).toEqual([]); // without resolving, the -1 owners are unknown
  });

  test("a wait the kernel does not see (this process retrying with back-off) closes a cycle only the library knows", async () => {
    const file = newFile("library");
    const mine = open(file);
    mine.lock("exclusive", { start: 0, length: 1 });
    const other = actor([{ do: "open", path: file }, { do: "lock", mode: "exclusive", start: 1, length: 1 }, { do: "wait" }, { do: "lock", mode: "exclusive", start: 0, length: 1 }]);
    expect(await other.report(1)).toBe("done 1");
    other.send();
    await eventually(() => locksOn(file).some((l) => l.blocked && l.pid === other.pid), "the other process waits for byte 0");
    // We now want byte 1, retrying without blocking (so the kernel cannot answer EDEADLK).
    const waiting = mine.lockAsync("exclusive", { start: 1, length: 1, timeout: 30 });
    await eventually(() => findDeadlocks({ paths: [file] }).length === 1, "the library sees its own wait");
    const [cycle] = findDeadlocks({ paths: [file] });
    expect(normalised(cycle!.processes.map((p) => p.pid))).toEqual(normalised([process.pid, other.pid]));
    expect(cycle!.edges.find((e) => e.waiter === process.pid)!.source).toBe("library");
    expect(findDeadlocks({ paths: [file], library: false })).toEqual([]); // the kernel alone sees no cycle
    mine.unlock({ start: 0, length: 1 }); // we back off: the other process proceeds ...
    expect(await other.report(3)).toBe("done 3");
    await other.finish(); // ... and ends, so we get byte 1
    await waiting;
    expect(locksOn(file).filter((l) => l.pid === process.pid).map((l) => l.start)).toEqual([1]);
  });
});

describe("back-off and ordering", () => {
  test("acquireWithBackoff retries until the attempt succeeds, and counts the attempts", async () => {
    let calls = 0;
    const { value, attempts } = await acquireWithBackoff(() => (++calls >= 4 ? "mine" : null), { initialDelay: 1, maxDelay: 2 });
    expect(value).toBe("mine");
    expect(attempts).toBe(4);
  });

  test("it gives up with a TimeoutError, ETIMEDOUT, naming what it waited for", async () => {
    let error: unknown;
    try {
      await acquireWithBackoff(() => false, { timeout: 0.05, what: "the printer" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe("ETIMEDOUT");
    expect((error as TimeoutError).message).toContain("the printer");
    expect(thrown(() => acquireWithBackoffSync(() => 0 as const, { timeout: -1 }))).toBeInstanceOf(RangeError);
  });

  test("lockRanges in a fixed order: two processes taking the same ranges in opposite orders never deadlock", async () => {
    const file = newFile("ordered");
    const lib = JSON.stringify(path.resolve(import.meta.dir, "../../lib/index.ts"));
    const body = (ranges: string) => `
      const { OpenFile, lockRanges } = await import(${lib});
      using file = new OpenFile(${JSON.stringify(file)});
      for (let i = 0; i < 300; i++) {
        const release = lockRanges(file, "exclusive", ${ranges}, { ofd: true });
        release();
      }`;
    const one = Bun.spawn([process.execPath, "-e", body("[{ start: 0, length: 1 }, { start: 8, length: 1 }]")], { stderr: "pipe" });
    const two = Bun.spawn([process.execPath, "-e", body("[{ start: 8, length: 1 }, { start: 0, length: 1 }]")], { stderr: "pipe" });
    const codes = await Promise.all([one.exited, two.exited]);
    expect(codes).toEqual([0, 0]);
    expect(locksOn(file)).toEqual([]);
  });

  test("lockRanges with a timeout is all or nothing: when one range is taken, none is left held", async () => {
    const file = newFile("all-or-nothing");
    const other = actor([{ do: "open", path: file }, { do: "lock", mode: "exclusive", start: 8, length: 1 }]);
    expect(await other.report(1)).toBe("done 1");
    const mine = open(file);
    const error = thrown(() => lockRanges(mine, "exclusive", [{ start: 0, length: 1 }, { start: 8, length: 1 }], { timeout: 0.05 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(locksOn(file).filter((l) => l.pid === process.pid)).toEqual([]);
    await other.kill();
    const release = lockRanges(mine, "exclusive", [{ start: 8, length: 1 }, { start: 0, length: 1 }], { timeout: 5 });
    expect(locksOn(file).map((l) => `${l.start}..${l.end}`).sort()).toEqual(["0..0", "8..8"]);
    release();
    expect(locksOn(file)).toEqual([]);
  });
});
