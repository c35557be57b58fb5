/**
 * The runner that every listing test (test/listings/NN-topic.test.ts)
 * shares. It runs each listing as a real process with an IPC_PREFIX of
 * its own, then checks the common rules before the listing's own checks:
 * exit status 0, nothing on stderr, and nothing left behind — of the
 * kinds the chapter names (objects in /dev/shm, queues in /dev/mqueue,
 * temporary folders, System V segments, processes, sockets) and, for a
 * chapter that runs each listing in a process group of its own, no
 * process left in that group. Its last tests fail if a file of the folder
 * is run by no test.
 *
 *   const { listing, everyListingRun } = listings("examples/03-shm", { leaks: ["shm", "tmp", "sysv-shm"] });
 *
 *   describe("chapter 3 listings", () => {
 *     listing("sysv.ts", ({ stdout }) => {
 *       expect(stdout).toContain("(no such segment)");
 *     });
 *     everyListingRun();
 *   });
 */
import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { unixSocketTable } from "../../lib/index.ts";

/** What one run of a listing gave. */
export interface Run {
  /** Exit status; null when a signal ended the process. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Pid of the process started (the listing itself, or the shell that runs it). */
  pid: number;
}

/** What a leak check may look at: the chapter's folder and prefix, and every process the chapter started. */
interface Context {
  /** The folder of listings, absolute. */
  dir: string;
  /** The IPC_PREFIX every listing of the chapter gets. */
  prefix: string;
  /** Pids of the processes started so far, in order. */
  pids: readonly number[];
}

/** One kind of thing that a listing must not leave behind. */
interface Leak {
  /** What `run`, which has just ended, left: a line per thing, none when it is clean. */
  left(context: Context, run: Run): string[] | Promise<string[]>;
  /** The safety net after the chapter's tests: removes what failing runs left. */
  clean?(context: Context): void;
}

/** Entries of the folder `dir` whose name holds `prefix`, as paths; none when there is no such folder. */
function entriesNaming(dir: string, prefix: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((entry) => entry.includes(prefix))
    .map((entry) => path.join(dir, entry));
}

/** Running processes for which `matches(pid, cmdline)` holds, as "pid: command line". */
function processesWhere(matches: (pid: string, cmdline: string) => boolean): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (matches(pid, cmdline)) found.push(`${pid}: ${cmdline.trim()}`);
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

/** System V segments created by one of `creators`: [shmid, cpid] pairs, from /proc/sysvipc/shm. */
function segmentsCreatedBy(creators: readonly number[]): [number, number][] {
  const rows = fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
  const segments = rows.map((row) => row.trim().split(/\s+/).map(Number)).map((cols) => [cols[1]!, cols[4]!] as [number, number]);
  return segments.filter(([, cpid]) => creators.includes(cpid));
}

/** Members of process group `pgid`, from /proc: "pid (command) state". */
function groupMembers(pgid: number): string[] {
  const members: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) members.push(`${entry} ${stat.slice(stat.indexOf("("), stat.lastIndexOf(")") + 1)} ${fields[0]}`);
    } catch {
      // it ended while we looked
    }
  }
  return members;
}

/** Waits (boundedly) for a group to empty: an orphan may take a moment to be reaped by init. */
async function settledGroup(pgid: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await Bun.sleep(20);
    members = groupMembers(pgid);
  }
  return members;
}

/** The leak checks a chapter may ask for, by name. */
const LEAKS = {
  /** Objects in /dev/shm whose name holds the prefix, named semaphores ("sem." + name) included. */
  shm: {
    left: ({ prefix }) => entriesNaming("/dev/shm", prefix),
    clean: ({ prefix }) => {
      for (const entry of entriesNaming("/dev/shm", prefix)) fs.rmSync(entry, { force: true });
    },
  },
  /** POSIX message queues in /dev/mqueue (checked where it is mounted). */
  mqueue: {
    left: ({ prefix }) => entriesNaming("/dev/mqueue", prefix),
    clean: ({ prefix }) => {
      for (const entry of entriesNaming("/dev/mqueue", prefix)) fs.rmSync(entry, { force: true });
    },
  },
  /** Temporary folders (and so the files, FIFOs and sockets in them). */
  tmp: {
    left: ({ prefix }) => entriesNaming(os.tmpdir(), prefix),
    clean: ({ prefix }) => {
      for (const entry of entriesNaming(os.tmpdir(), prefix)) fs.rmSync(entry, { recursive: true, force: true });
    },
  },
  /** System V shared memory segments whose creator (cpid) is the listing's process. */
  "sysv-shm": {
    left: (_, run) => segmentsCreatedBy([run.pid]).map(([id, cpid]) => `segment ${id} created by ${cpid}`),
    clean: ({ pids }) => {
      for (const [id] of segmentsCreatedBy(pids)) Bun.spawnSync(["ipcrm", "-m", String(id)]);
    },
  },
  /** Processes still running a file of the folder (a child a listing forgot to end). */
  processes: {
    left: ({ dir }) => processesWhere((_, cmdline) => cmdline.includes(dir)),
  },
  /** Processes still running a file of the folder with this chapter's prefix in their environment. */
  "processes-with-prefix": {
    left: ({ dir, prefix }) =>
      processesWhere((pid, cmdline) => cmdline.includes(dir) && fs.readFileSync(`/proc/${pid}/environ`, "utf8").includes(prefix)),
  },
  /** Unix sockets in /proc/net/unix whose name holds the prefix (abstract names, or paths in our folders). */
  sockets: {
    left: ({ prefix }) =>
      unixSocketTable()
        .filter((entry) => entry.address !== null && JSON.stringify(entry.address).includes(prefix))
        .map((entry) => entry.line),
  },
} satisfies Record<string, Leak>;

/** The name of a leak check: what a listing must not leave behind. */
export type LeakKind = keyof typeof LEAKS;

/** What sets the listings of one chapter apart. */
export interface ChapterOptions {
  /**
   * What a listing must not leave behind, checked after each run (a
   * failure shows every kind, with what was found).
   */
  leaks: readonly LeakKind[];
  /**
   * Run each listing as the leader of a session and process group of its
   * own, and check after it that the group is empty: a child it forgot,
   * or an orphan it failed to reap, would still be found there. A timeout
   * kills the whole group.
   */
  processGroup?: boolean;
  /** Variables added to every listing's environment (IPC_PREFIX is always set). */
  env?: Record<string, string>;
  /** The time limit of a listing's test, in ms (default 60 000); the listing is killed 5 s before it. */
  timeoutMs?: number;
}

/** What sets one listing's test apart. */
export interface ListingOptions {
  /** The test's name, when it is not the file's (a file with several tests). */
  name?: string;
  /** Arguments after the file's path. */
  args?: string[];
  /** The whole command line instead of `bun FILE ARGS` (`sh FILE ARGS` for a .sh file), given the file's path. */
  command?: (file: string) => string[];
  /** Variables added to the environment for this listing. */
  env?: Record<string, string>;
  /** The time limit of this test, in ms, instead of the chapter's. */
  timeoutMs?: number;
  /** The listing may write to stderr (by default stderr must stay empty). */
  allowStderr?: boolean;
  /** Other files of the folder this run covers: the listings a script runs, a C source it compiles. */
  also?: string[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How long before the test's time limit a listing still running is killed. */
const KILL_MARGIN_MS = 5_000;
/** A file that is a listing on its own: a program the tests run. Other files (C sources) are used by listings. */
const LISTING = /\.(ts|sh)$/;

/**
 * The tests of one folder of listings. `folder` is relative to the
 * project ("examples/05-signals"); its number names the prefix.
 */
export function listings(folder: string, options: ChapterOptions) {
  const dir = path.resolve(import.meta.dir, "../..", folder);
  const chapter = /^\d+/.exec(path.basename(folder))?.[0] ?? path.basename(folder);
  const prefix = `ipcbook-listing${chapter}-${process.pid}-${Date.now().toString(36)}`;
  const pids: number[] = [];
  const context: Context = { dir, prefix, pids };
  const leaks = options.leaks.map((kind): [LeakKind, Leak] => [kind, LEAKS[kind]]);
  /** Files of the folder that a test runs (directly, or through a script or a compiler). */
  const covered = new Set<string>();

  /** Runs `argv` to its end with the chapter's prefix, killing it when `timeoutMs` runs out. */
  async function run(argv: string[], env: Record<string, string> | undefined, timeoutMs: number): Promise<Run> {
    const child = Bun.spawn(argv, {
      env: { ...process.env, ...options.env, ...env, IPC_PREFIX: prefix },
      stdout: "pipe",
      stderr: "pipe",
      detached: options.processGroup === true, // a session and process group of its own, led by the listing
    });
    pids.push(child.pid);
    const timer = setTimeout(() => {
      try {
        if (options.processGroup === true) process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // it ended meanwhile
      }
    }, timeoutMs - KILL_MARGIN_MS);
    try {
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      return { code, stdout, stderr, pid: child.pid };
    } finally {
      clearTimeout(timer);
    }
  }

  /** What `result` left behind, by kind (the process group last: waiting for it to settle gives the others time too). */
  async function leftovers(result: Run): Promise<Record<string, string[]>> {
    const left: Record<string, string[]> = {};
    for (const [kind, leak] of leaks) left[kind] = await leak.left(context, result);
    if (options.processGroup === true) left["process group"] = await settledGroup(result.pid);
    return left;
  }

  afterAll(() => {
    // A safety net for a failing run; the tests assert there is nothing to do.
    if (options.processGroup === true) {
      for (const pgid of pids) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          // the group is empty, as it should be
        }
      }
    }
    for (const [, leak] of leaks) leak.clean?.(context);
  });

  /**
   * Defines the test of listing `file` (and of the `also` files it runs):
   * runs it, checks the exit status, stderr and leftovers, then `check`.
   */
  function listing(file: string, check: (result: Run) => void | Promise<void>, listingOptions: ListingOptions = {}): void {
    const { name = file, args = [], command, env, allowStderr = false, also = [] } = listingOptions;
    const timeoutMs = listingOptions.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const full = path.join(dir, file);
    const argv = command?.(full) ?? [file.endsWith(".sh") ? "sh" : process.execPath, full, ...args];
    covered.add(file);
    for (const other of also) covered.add(other);
    test(
      name,
      async () => {
        const result = await run(argv, env, timeoutMs);
        if (result.code !== 0) console.error(`${name} stderr:\n${result.stderr}`);
        expect(result.code).toBe(0);
        if (!allowStderr) expect(result.stderr).toBe("");
        const left = await leftovers(result);
        expect(left).toEqual(Object.fromEntries(Object.keys(left).map((kind) => [kind, []])));
        await check(result);
      },
      timeoutMs,
    );
  }

  /**
   * The last tests: every listing of the folder was run by one of the
   * tests above (and every file a test names exists), and every other
   * file (a C source) is named by one that ran, or by a test.
   */
  function everyListingRun(): void {
    test(`every listing in ${folder} has a test`, () => {
      const files = fs.readdirSync(dir).sort();
      expect(files.length).toBeGreaterThan(0);
      // Every listing, and the other files a test names itself, in both directions.
      expect([...covered].sort()).toEqual(files.filter((file) => LISTING.test(file) || covered.has(file)));
    });

    test(`every other file in ${folder} is used by a listing that runs`, () => {
      const others = fs.readdirSync(dir).filter((file) => !LISTING.test(file) && !covered.has(file));
      const sources = [...covered].filter((file) => LISTING.test(file)).map((file) => fs.readFileSync(path.join(dir, file), "utf8"));
      expect(others.filter((other) => !sources.some((source) => source.includes(other)))).toEqual([]);
    });
  }

  return { listing, everyListingRun, prefix };
}
