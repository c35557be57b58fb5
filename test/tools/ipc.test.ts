/**
 * The `ipc` command, run as a subprocess the way a user runs it: help,
 * every verb of ls, mq, shm, sem and rm, and bad input (unknown verbs and
 * options, missing or malformed names, negative sizes, binary data that
 * does not fit). Each error must be one line on standard error, and the
 * exit status 0, 1, 2 or 3 as `ipc --help` documents.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { SysVSharedMemory } from "../../lib/shm.ts";
import { IPC, ipc, leftovers, PREFIX, removeLeftovers, ROOT, runCommand, uniqueName, type Ran } from "./ipc-support.ts";

setDefaultTimeout(60_000);

const stray: string[] = [];
afterEach(() => {
  stray.push(...removeLeftovers());
});

/** The run failed with `status`, printing nothing on stdout and exactly one line on stderr. */
function failedWith(ran: Ran, status: number): string {
  expect({ status: ran.code, stdout: ran.stdout }).toEqual({ status, stdout: "" });
  expect(ran.stderr.endsWith("\n")).toBe(true);
  expect(ran.stderr.trimEnd().split("\n")).toHaveLength(1);
  return ran.stderr.trim();
}

function ok(ran: Ran): Ran {
  expect({ status: ran.code, stderr: ran.stderr }).toEqual({ status: 0, stderr: "" });
  return ran;
}

describe("help and invocation", () => {
  test("ipc --help lists every verb and documents the exit statuses", async () => {
    const ran = ok(await ipc(["--help"]));
    for (const verb of ["ls", "mq create", "mq send", "mq receive", "mq attr", "mq rm", "shm create", "shm write", "shm read", "shm rm"]) {
      expect(ran.stdout).toContain(`ipc ${verb} `);
    }
    for (const verb of ["sem create", "sem post", "sem wait", "sem value", "sem rm", "lock", "locks", "signal", "rm"]) expect(ran.stdout).toContain(`ipc ${verb} `);
    expect(ran.stdout).toContain("Exit status:");
    for (const status of ["0 ", "1 ", "2 ", "3 "]) expect(ran.stdout).toContain(`\n  ${status}`);
  });

  test("every verb has its own --help, on stdout with status 0", async () => {
    const top = (await ipc(["--help"])).stdout;
    const verbs = [...new Set([...top.matchAll(/^ {2}ipc ((?:mq|shm|sem) \w+|\w+)/gm)].map((m) => m[1]!))];
    expect(verbs.length).toBe(19);
    const runs = await Promise.all(verbs.map((verb) => ipc([...verb.split(" "), "--help"])));
    runs.forEach((ran, i) => {
      expect(ran.code).toBe(0);
      expect(ran.stdout.startsWith(`usage: ipc ${verbs[i]}`)).toBe(true);
    });
    expect((await ipc(["help", "mq", "send"])).stdout.startsWith("usage: ipc mq send")).toBe(true);
    const group = await ipc(["sem", "--help"]);
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("ipc sem wait NAME [--timeout S]");
  });

  test("no verb at all: a short usage on stderr, status 2", async () => {
    const ran = await ipc([]);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe("");
    expect(ran.stderr).toContain("usage: ipc VERB");
  });

  test("`bun run ipc` and the package's `ipc` bin run the tool", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(path.resolve(ROOT, pkg.bin.ipc!)).toBe(IPC);
    expect(fs.readFileSync(IPC, "utf8").startsWith("#!/usr/bin/env bun\n")).toBe(true);
    expect(fs.statSync(IPC).mode & 0o111).not.toBe(0);

    const viaScript = await runCommand([process.execPath, "run", "--silent", "ipc", "sem", "--help"]);
    expect(viaScript.code).toBe(0);
    expect(viaScript.stdout).toContain("ipc sem create");

    // The bin runs as an executable, found through the shebang's `env bun`.
    const bunDir = path.join(ROOT, "node_modules", ".bin");
    const direct = await runCommand([IPC, "mq", "--help"], { env: { PATH: `${bunDir}:${process.env.PATH ?? ""}` } });
    expect(direct.code).toBe(0);
    expect(direct.stdout).toContain("ipc mq send");
  });
});

test("every command of the book's appendix on tools exists, with the options it names", async () => {
  const appendix = fs.readFileSync(path.join(ROOT, "chapters", "appendix-tools.md"), "utf8");
  const section = appendix.slice(appendix.indexOf("## The ipc tool"));
  const commands = [...section.matchAll(/`(ipc [^`]+)`/g)].map((m) => m[1]!.replace(/\\\|/g, "|"));
  expect(commands.length).toBeGreaterThan(10);
  const helps = new Map<string, string>();
  for (const command of commands) {
    const words = command.split(/\s+/).slice(1);
    const verb = ["mq", "shm", "sem"].includes(words[0]!) ? words.slice(0, 2) : words.slice(0, 1);
    const key = verb.join(" ");
    if (!helps.has(key)) {
      const ran = await ipc([...verb, "--help"]);
      expect({ command, status: ran.code }).toEqual({ command, status: 0 });
      helps.set(key, ran.stdout);
    }
    for (const option of command.match(/--[a-z]+/g) ?? []) expect({ command, option, known: helps.get(key)!.includes(option) }).toEqual({ command, option, known: true });
  }
});

describe("ipc mq", () => {
  test("create, attr, send with priorities, receive in priority order, rm", async () => {
    const name = uniqueName("q");
    try {
      ok(await ipc(["mq", "create", name, "--maxmsg", "3", "--msgsize", "64", "--mode", "640"]));
      const attr = JSON.parse(ok(await ipc(["mq", "attr", name, "--json"])).stdout);
      expect(attr).toMatchObject({ name, maxmsg: 3, msgsize: 64, messages: 0, bytes: 0, notifyPid: 0, mode: "0640" });
      expect((await ipc(["mq", "attr", name])).stdout).toContain("maxmsg    3\n");

      ok(await ipc(["mq", "send", name, "low"]));
      ok(await ipc(["mq", "send", name, "high", "--priority", "9"]));
      ok(await ipc(["mq", "send", name, "mid", "--priority", "4", "--timeout", "1"]));
      expect(JSON.parse((await ipc(["mq", "attr", name, "--json"])).stdout)).toMatchObject({ messages: 3, bytes: 10 });

      const first = await ipc(["mq", "receive", name, "--verbose"]);
      expect([first.code, first.stdout, first.stderr]).toEqual([0, "high", "size 4, priority 9\n"]);
      expect(ok(await ipc(["mq", "receive", name, "--timeout", "5"])).stdout).toBe("mid");
      expect(ok(await ipc(["mq", "receive", name, "--hex"])).stdout).toBe("00000000  6c 6f 77                                          |low|\n");

      ok(await ipc(["mq", "rm", name]));
      expect(fs.existsSync(`/dev/mqueue${name}`)).toBe(false);
      expect(failedWith(await ipc(["mq", "rm", name]), 1)).toContain("ENOENT");
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });

  test("binary data on stdin goes through unchanged; `-` with --hex is a usage error", async () => {
    const name = uniqueName("q");
    try {
      ok(await ipc(["mq", "create", name, "--maxmsg", "1", "--msgsize", "256"]));
      const data = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
      ok(await ipc(["mq", "send", name, "-"], { input: data }));
      const got = ok(await ipc(["mq", "receive", name]));
      expect(Buffer.from(got.bytes).equals(Buffer.from(data))).toBe(true);
      expect(failedWith(await ipc(["mq", "send", name, "-", "--hex"], { input: "00" }), 2)).toContain("--hex");
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });

  test("an empty queue with --nonblock or a timeout, and a full one with --timeout 0, exit with status 3", async () => {
    const name = uniqueName("q");
    try {
      ok(await ipc(["mq", "create", name, "--maxmsg", "1", "--msgsize", "16"]));
      expect(failedWith(await ipc(["mq", "receive", name, "--nonblock"]), 3)).toContain("the queue is empty");
      expect(failedWith(await ipc(["mq", "receive", name, "--timeout", "0.05"]), 3)).toContain("ETIMEDOUT");
      ok(await ipc(["mq", "send", name, "one"]));
      expect(failedWith(await ipc(["mq", "send", name, "two", "--timeout", "0"]), 3)).toContain("the queue is full");
      expect(failedWith(await ipc(["mq", "receive", name, "--nonblock", "--timeout", "1"]), 2)).toContain("not both");
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });

  test("create on an existing queue leaves it (with a note); --exclusive refuses with the tool's hint", async () => {
    const name = uniqueName("q");
    try {
      ok(await ipc(["mq", "create", name, "--maxmsg", "2", "--msgsize", "8"]));
      const again = await ipc(["mq", "create", name, "--maxmsg", "1"]);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain("existed already");
      expect(JSON.parse((await ipc(["mq", "attr", name, "--json"])).stdout).maxmsg).toBe(2);
      const error = failedWith(await ipc(["mq", "create", name, "--exclusive"]), 1);
      expect(error).toContain("EEXIST");
      expect(error).toContain(`ipc mq rm ${name}`);
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });

  test("a missing queue: one line with ENOENT and how to create it", async () => {
    const name = uniqueName("absent");
    for (const args of [["send", name, "x"], ["receive", name, "--nonblock"], ["attr", name]]) {
      const error = failedWith(await ipc(["mq", ...args]), 1);
      expect(error).toStartWith(`ipc mq ${args[0]}: mq_open on "${name}": ENOENT`);
      expect(error).toContain(`ipc mq create ${name}`);
    }
  });

  test("a message longer than msgsize, from stdin as binary, fails before the call with the size in the message", async () => {
    const name = uniqueName("q");
    try {
      ok(await ipc(["mq", "create", name, "--maxmsg", "1", "--msgsize", "16"]));
      const error = failedWith(await ipc(["mq", "send", name, "-"], { input: new Uint8Array(17).fill(0xff) }), 1);
      expect(error).toContain("EMSGSIZE");
      expect(error).toContain("17 bytes");
      expect(JSON.parse((await ipc(["mq", "attr", name, "--json"])).stdout).messages).toBe(0);
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });
});

describe("ipc shm", () => {
  test("create, write at offsets, read exactly, read --hex, resize by create, rm", async () => {
    const name = uniqueName("m");
    try {
      ok(await ipc(["shm", "create", name, "64", "--mode", "0640"]));
      expect(fs.statSync(`/dev/shm${name}`).size).toBe(64);
      expect(fs.statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o640);
      ok(await ipc(["shm", "write", name, "hello"]));
      ok(await ipc(["shm", "write", name, "world", "--offset", "16"]));
      expect(ok(await ipc(["shm", "read", name, "--length", "5"])).stdout).toBe("hello");
      expect(ok(await ipc(["shm", "read", name, "--offset", "16", "--length", "5"])).stdout).toBe("world");
      const whole = ok(await ipc(["shm", "read", name]));
      expect(whole.bytes.length).toBe(64);
      expect(ok(await ipc(["shm", "read", name, "--offset", "14", "--length", "4", "--hex"])).stdout).toBe(
        "0000000e  00 00 77 6f                                       |..wo|\n",
      );

      const grown = await ipc(["shm", "create", name, "128"]);
      expect(grown.code).toBe(0);
      expect(grown.stderr).toContain("resized from 64 to 128 bytes");
      expect(ok(await ipc(["shm", "read", name, "--length", "5"])).stdout).toBe("hello");
      expect(failedWith(await ipc(["shm", "create", name, "8", "--exclusive"]), 1)).toContain(`ipc shm rm ${name}`);

      ok(await ipc(["shm", "rm", name]));
      expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
      expect(failedWith(await ipc(["shm", "read", name]), 1)).toContain(`ipc shm create ${name} SIZE`);
    } finally {
      await ipc(["shm", "rm", name]);
    }
  });

  test("writes and reads past the end are refused, and the object is unchanged", async () => {
    const name = uniqueName("m");
    try {
      ok(await ipc(["shm", "create", name, "8"]));
      expect(failedWith(await ipc(["shm", "write", name, "123456789"]), 1)).toContain("run past the end");
      expect(failedWith(await ipc(["shm", "write", name, "-", "--offset", "4"], { input: new Uint8Array([0, 1, 2, 3, 4]) }), 1)).toContain(
        "run past the end",
      );
      expect(failedWith(await ipc(["shm", "read", name, "--offset", "9"]), 1)).toContain("past the end");
      expect(failedWith(await ipc(["shm", "read", name, "--offset", "4", "--length", "5"]), 1)).toContain("past the end");
      expect(ok(await ipc(["shm", "read", name])).bytes).toEqual(new Uint8Array(8));
      expect(ok(await ipc(["shm", "read", name, "--offset", "8"])).bytes).toEqual(new Uint8Array(0));
    } finally {
      await ipc(["shm", "rm", name]);
    }
  });

  test("an object of size 0 reads as nothing", async () => {
    const name = uniqueName("m");
    try {
      ok(await ipc(["shm", "create", name, "0"]));
      expect(ok(await ipc(["shm", "read", name])).bytes.length).toBe(0);
      expect(ok(await ipc(["shm", "read", name, "--hex"])).stdout).toBe("");
    } finally {
      await ipc(["shm", "rm", name]);
    }
  });
});

describe("ipc sem", () => {
  test("create with a value, post, wait, value, rm", async () => {
    const name = uniqueName("s");
    try {
      ok(await ipc(["sem", "create", name, "2"]));
      expect(fs.existsSync(`/dev/shm/sem.${name.slice(1)}`)).toBe(true);
      expect(ok(await ipc(["sem", "value", name])).stdout).toBe("2\n");
      ok(await ipc(["sem", "post", name]));
      expect(ok(await ipc(["sem", "value", name])).stdout).toBe("3\n");
      ok(await ipc(["sem", "wait", name]));
      ok(await ipc(["sem", "wait", name, "--timeout", "1"]));
      ok(await ipc(["sem", "wait", name, "--timeout", "0"]));
      expect(ok(await ipc(["sem", "value", name])).stdout).toBe("0\n");

      const again = await ipc(["sem", "create", name, "7"]);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain("left as it was, with value 0");
      expect(failedWith(await ipc(["sem", "create", name, "--exclusive"]), 1)).toContain(`ipc sem rm ${name}`);

      ok(await ipc(["sem", "rm", name]));
      expect(failedWith(await ipc(["sem", "value", name]), 1)).toContain(`ipc sem create ${name}`);
    } finally {
      await ipc(["sem", "rm", name]);
    }
  });

  test("a wait on a semaphore at 0 that cannot succeed exits with status 3", async () => {
    const name = uniqueName("s");
    try {
      ok(await ipc(["sem", "create", name]));
      expect(failedWith(await ipc(["sem", "wait", name, "--timeout", "0"]), 3)).toContain("EAGAIN");
      expect(failedWith(await ipc(["sem", "wait", name, "--timeout", "0.05"]), 3)).toContain("ETIMEDOUT");
      expect(failedWith(await ipc(["sem", "create", uniqueName("s"), "2147483648"]), 2)).toContain("at most 2147483647");
    } finally {
      await ipc(["sem", "rm", name]);
    }
  });
});

describe("ipc ls", () => {
  test("lists queues, shared memory and semaphores with their details; --json; filters by kind and prefix", async () => {
    const q = uniqueName("lsq");
    const m = uniqueName("lsm");
    const s = uniqueName("lss");
    try {
      ok(await ipc(["mq", "create", q, "--maxmsg", "4", "--msgsize", "32"]));
      ok(await ipc(["mq", "send", q, "abc"]));
      ok(await ipc(["mq", "send", q, "defgh"]));
      ok(await ipc(["shm", "create", m, "100", "--mode", "644"]));
      ok(await ipc(["sem", "create", s, "5"]));

      const entries = JSON.parse(ok(await ipc(["ls", "--json", "--prefix", PREFIX])).stdout) as Array<Record<string, unknown>>;
      const user = (await runCommand(["id", "-un"])).stdout.trim();
      expect(entries).toContainEqual({ kind: "mq", name: q, owner: user, uid: process.getuid!(), mode: "0600", messages: 2, bytes: 8, maxmsg: 4, msgsize: 32 });
      expect(entries).toContainEqual({ kind: "shm", name: m, owner: user, uid: process.getuid!(), mode: "0644", size: 100 });
      expect(entries).toContainEqual({ kind: "sem", name: s, owner: user, uid: process.getuid!(), mode: "0600", value: 5 });
      expect(entries).toHaveLength(3);

      const text = ok(await ipc(["ls", "--prefix", PREFIX.slice(1)])).stdout;
      expect(text).toMatch(new RegExp(`${q}\\s+${user}\\s+0600\\s+2\\s+8\\s+4\\s+32\\n`));
      expect(text).toMatch(new RegExp(`${m}\\s+${user}\\s+0644\\s+100\\n`));
      expect(text).toMatch(new RegExp(`${s}\\s+${user}\\s+0600\\s+5\\n`));

      const onlyShm = JSON.parse(ok(await ipc(["ls", "shm", "--json", "--prefix", PREFIX])).stdout) as Array<{ name: string }>;
      expect(onlyShm.map((e) => e.name)).toEqual([m]);
      const two = JSON.parse(ok(await ipc(["ls", "mq", "sem", "--mine", "--json", "--prefix", PREFIX])).stdout) as Array<{ name: string }>;
      expect(two.map((e) => e.name).sort()).toEqual([q, s].sort());
      expect(ok(await ipc(["ls", "mq", "--prefix", `${PREFIX}-none`])).stdout).toBe("POSIX message queues (/dev/mqueue)\n  (none)\n");
    } finally {
      await ipc(["mq", "rm", q]);
      await ipc(["shm", "rm", m]);
      await ipc(["sem", "rm", s]);
    }
  });

  test("lists System V segments from /proc/sysvipc", async () => {
    const segment = new SysVSharedMemory("private", { size: 4096, mode: 0o640 });
    try {
      const entries = JSON.parse(ok(await ipc(["ls", "sysv", "--json"])).stdout) as Array<Record<string, unknown>>;
      expect(entries).toContainEqual(
        expect.objectContaining({ kind: "sysv-shm", id: segment.id, key: "0x00000000", mode: "0640", size: 4096, count: 0, creatorPid: process.pid }),
      );
      expect(ok(await ipc(["ls", "sysv"])).stdout).toMatch(new RegExp(`segment\\s+${segment.id}\\s+0x00000000\\s+\\S+\\s+0640\\s+4096 bytes`));
    } finally {
      segment.remove();
    }
  });

  test("an unknown kind is a usage error", async () => {
    expect(failedWith(await ipc(["ls", "pipes"]), 2)).toContain("unknown kind");
  });
});

describe("ipc rm --prefix", () => {
  test("lists what matches, asks, removes only on yes; --yes does not ask", async () => {
    const stem = `${PREFIX}-rm`;
    const names = [`${stem}q`, `${stem}m`, `${stem}s`];
    try {
      ok(await ipc(["mq", "create", names[0]!, "--maxmsg", "1", "--msgsize", "8"]));
      ok(await ipc(["shm", "create", names[1]!, "8"]));
      ok(await ipc(["sem", "create", names[2]!]));

      const declined = await ipc(["rm", "--prefix", stem], { input: "n\n" });
      expect(declined.code).toBe(1);
      for (const name of names) expect(declined.stdout).toContain(name);
      expect(declined.stderr).toContain("Remove these 3 objects? [y/N]");
      expect(declined.stderr).toContain("nothing removed");
      const noAnswer = await ipc(["rm", "--prefix", stem], { input: "" });
      expect(noAnswer.code).toBe(1);
      expect(JSON.parse((await ipc(["ls", "--json", "--prefix", stem])).stdout)).toHaveLength(3);

      const accepted = await ipc(["rm", "--prefix", stem], { input: "yes\n" });
      expect(accepted.code).toBe(0);
      expect(accepted.stdout).toContain("Removed 3 of 3.");
      expect(leftovers()).toEqual([]);

      ok(await ipc(["mq", "create", names[0]!, "--maxmsg", "1", "--msgsize", "8"]));
      const forced = ok(await ipc(["rm", "--prefix", stem.slice(1), "--yes"]));
      expect(forced.stdout).toContain("Removed 1 of 1.");
      expect(ok(await ipc(["rm", "--prefix", stem, "--yes"])).stdout).toBe(`Nothing of yours starts with ${stem}.\n`);
    } finally {
      await ipc(["rm", "--prefix", stem, "--yes"]);
    }
  });

  test("without --prefix, or with / alone, it refuses", async () => {
    expect(failedWith(await ipc(["rm"]), 2)).toContain("missing --prefix");
    expect(failedWith(await ipc(["rm", "--prefix", "/", "--yes"]), 2)).toContain("every object");
  });
});

describe("bad input", () => {
  const cases: Array<[string, string[], string]> = [
    ["unknown verb", ["frobnicate"], 'unknown verb "frobnicate"'],
    ["unknown verb of a kind", ["mq", "peek", "/x"], 'unknown verb "mq peek"'],
    ["unknown option", ["mq", "send", "/x", "hi", "--urgent"], "unknown option --urgent"],
    ["option without its value", ["mq", "send", "/x", "hi", "--priority"], "--priority needs a value"],
    ["missing name", ["mq", "create"], "missing NAME"],
    ["missing message", ["mq", "send", "/x"], "missing MESSAGE"],
    ["missing size", ["shm", "create", "/x"], "missing SIZE"],
    ["too many arguments", ["sem", "post", "/x", "/y"], 'unexpected argument "/y"'],
    ["name without slash (queue)", ["mq", "create", "orders"], 'invalid name "orders": a POSIX IPC name starts with a slash; write "/orders"'],
    ["name without slash (shm)", ["shm", "read", "cache"], "starts with a slash"],
    ["name without slash (semaphore)", ["sem", "value", "jobs"], "starts with a slash"],
    ["name with a second slash", ["mq", "rm", "/a/b"], "no slash after the first"],
    ["negative size", ["shm", "create", "/ipcbook-never", "-5"], "SIZE must be at least 0, got -5"],
    ["size that is not a number", ["shm", "create", "/ipcbook-never", "10k"], "SIZE must be a whole number"],
    ["negative offset", ["shm", "read", "/ipcbook-never", "--offset", "-1"], "--offset must be at least 0"],
    ["negative timeout", ["mq", "receive", "/ipcbook-never", "--timeout", "-2"], "--timeout must be at least 0 seconds"],
    ["negative priority", ["mq", "send", "/ipcbook-never", "x", "--priority", "-1"], "--priority must be at least 0"],
    ["zero maxmsg", ["mq", "create", "/ipcbook-never", "--maxmsg", "0"], "--maxmsg must be at least 1"],
    ["mode that is not octal", ["mq", "create", "/ipcbook-never", "--mode", "rw"], "octal"],
    ["hex that is not hex", ["shm", "write", "/ipcbook-never", "--hex", "xyz"], "pairs of hex digits"],
    ["negative semaphore value", ["sem", "create", "/ipcbook-never", "-1"], "VALUE must be at least 0"],
  ];
  for (const [what, args, message] of cases) {
    test(`${what}: status 2, one line naming the problem`, async () => {
      const error = failedWith(await ipc(args), 2);
      expect(error).toContain(message);
      expect(error).toStartWith("ipc");
    });
  }

  test("the name checks come before any system call: nothing is created", async () => {
    await ipc(["mq", "create", "ipcbook-noslash"]);
    await ipc(["shm", "create", "/ipcbook-never", "-5"]);
    expect(fs.existsSync("/dev/mqueue/ipcbook-noslash")).toBe(false);
    expect(fs.existsSync("/dev/shm/ipcbook-never")).toBe(false);
  });
});

afterAll(() => {
  removeLeftovers();
});

test("each test's own ipc … rm removed what it made: nothing was left in /dev/mqueue or /dev/shm", () => {
  expect(stray).toEqual([]);
  expect(leftovers()).toEqual([]);
});
