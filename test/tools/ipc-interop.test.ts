/**
 * What the `ipc` command writes is what the C calls read, and the other
 * way round: messages (bytes and priority), shared-memory contents and
 * semaphore values, checked against a C program this test compiles.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { compileInterop, hex, ipc, leftovers, parseHexDump, removeLeftovers, removeTemporary, runC, temporary, uniqueName } from "./ipc-support.ts";

setDefaultTimeout(60_000);

let program = "";

beforeAll(() => {
  program = compileInterop(temporary("interop"));
});

/** Objects a test left for the safety net to remove: its own `ipc … rm` should have removed them. */
const stray: string[] = [];

afterEach(() => {
  stray.push(...removeLeftovers());
});

afterAll(() => {
  removeTemporary();
});

/** Every byte value, in a scrambled order, with a NUL and a newline in the middle. */
function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => (i * 167 + 13) % 256);
}

describe("message queues", () => {
  test("ipc mq send → C mq_receive: the same bytes and priority", async () => {
    const name = uniqueName("mq");
    try {
      expect((await ipc(["mq", "create", name, "--maxmsg", "2", "--msgsize", "300"])).code).toBe(0);
      const message = allBytes();
      const sent = await ipc(["mq", "send", name, "-", "--priority", "17"], { input: message });
      expect(sent.stderr).toBe("");
      expect(sent.code).toBe(0);
      expect(runC(program, ["mq-recv", name]).trim()).toBe(`17 ${hex(message)}`);

      expect((await ipc(["mq", "send", name, "héllo, wörld"])).code).toBe(0);
      expect(runC(program, ["mq-recv", name]).trim()).toBe(`0 ${hex(Buffer.from("héllo, wörld"))}`);
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });

  test("C mq_send → ipc mq receive: the same bytes and priority", async () => {
    const name = uniqueName("mq");
    try {
      expect((await ipc(["mq", "create", name, "--maxmsg", "3", "--msgsize", "300"])).code).toBe(0);
      const message = allBytes();
      runC(program, ["mq-send", name, "9", hex(message)]);
      runC(program, ["mq-send", name, "30", hex(Buffer.from("urgent\n"))]);

      const first = await ipc(["mq", "receive", name, "--verbose", "--nonblock"]);
      expect(first.code).toBe(0);
      expect(first.stdout).toBe("urgent\n");
      expect(first.stderr).toBe("size 7, priority 30\n");

      const second = await ipc(["mq", "receive", name, "--verbose", "--nonblock"]);
      expect(second.code).toBe(0);
      expect(hex(second.bytes)).toBe(hex(message));
      expect(second.stderr).toBe("size 256, priority 9\n");
    } finally {
      await ipc(["mq", "rm", name]);
    }
  });
});

describe("shared memory", () => {
  test("C writes, ipc shm read --hex shows the same bytes at the same offsets", async () => {
    const name = uniqueName("shm");
    try {
      expect((await ipc(["shm", "create", name, "600"])).code).toBe(0);
      const bytes = allBytes();
      runC(program, ["shm-write", name, "300", hex(bytes)]);

      const dump = await ipc(["shm", "read", name, "--offset", "300", "--length", "256", "--hex"]);
      expect(dump.code).toBe(0);
      const parsed = parseHexDump(dump.stdout);
      expect(parsed.offset).toBe(300);
      expect(hex(parsed.bytes)).toBe(hex(bytes));

      const raw = await ipc(["shm", "read", name]);
      expect(raw.bytes.length).toBe(600);
      expect(hex(raw.bytes.subarray(300, 556))).toBe(hex(bytes));
      expect(raw.bytes.subarray(0, 300).every((b) => b === 0)).toBe(true);
    } finally {
      await ipc(["shm", "rm", name]);
    }
  });

  test("ipc shm write (text, --hex, and binary from stdin) → C reads the same bytes", async () => {
    const name = uniqueName("shm");
    try {
      expect((await ipc(["shm", "create", name, "512"])).code).toBe(0);
      const bytes = allBytes();
      const wrote = await ipc(["shm", "write", name, "-", "--offset", "100"], { input: bytes });
      expect(wrote.stderr).toBe("");
      expect(wrote.code).toBe(0);
      expect(runC(program, ["shm-read", name, "100", "256"]).trim()).toBe(hex(bytes));

      expect((await ipc(["shm", "write", name, "counter=42"])).code).toBe(0);
      expect(runC(program, ["shm-read", name, "0", "10"]).trim()).toBe(hex(Buffer.from("counter=42")));

      expect((await ipc(["shm", "write", name, "--hex", "de ad be ef", "--offset", "508"])).code).toBe(0);
      expect(runC(program, ["shm-read", name, "508", "4"]).trim()).toBe("deadbeef");
    } finally {
      await ipc(["shm", "rm", name]);
    }
  });
});

describe("named semaphores", () => {
  test("C sem_post → ipc sem value; ipc sem post → C sem_getvalue", async () => {
    const name = uniqueName("sem");
    try {
      expect((await ipc(["sem", "create", name, "1"])).code).toBe(0);
      runC(program, ["sem-post", name]);
      runC(program, ["sem-post", name]);
      expect((await ipc(["sem", "value", name])).stdout).toBe("3\n");

      expect((await ipc(["sem", "post", name])).code).toBe(0);
      expect(runC(program, ["sem-value", name]).trim()).toBe("4");

      expect((await ipc(["sem", "wait", name, "--timeout", "0"])).code).toBe(0);
      expect(runC(program, ["sem-value", name]).trim()).toBe("3");
    } finally {
      await ipc(["sem", "rm", name]);
    }
  });
});

test("each test's own ipc … rm removed what it made: nothing was left in /dev/mqueue or /dev/shm", () => {
  expect(stray).toEqual([]);
  expect(leftovers()).toEqual([]);
});
