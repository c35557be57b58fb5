/**
 * The fork family in C (lib/native/fork.c, clone.c), compiled at run time
 * by bun:ffi's cc and called from TypeScript: what each child did, as the
 * parent observed it, and that every child was waited for.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cloneDemo, copyOnWrite, forkExec, forkWrite, processInfo } from "../../lib/index.ts";
import { tempDir } from "./support.ts";

const scratch = tempDir("native");
afterAll(() => scratch.remove());

function childrenOfThisProcess(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => processInfo(Number(entry))?.ppid === process.pid)
    .map(Number);
}

describe("fork then exec", () => {
  test("the child runs the program with the argument vector, and the parent gets its status", () => {
    const result = forkExec(["/bin/sh", "-c", 'exit "$#"', "sh", "one", "two words", "three"]);
    expect(result.status).toEqual({ kind: "exited", code: 3, raw: 3 << 8 });
    expect(result.pid).toBeGreaterThan(0);
    expect(result.pid).not.toBe(process.pid);
  });

  test("a program that cannot be executed: the child exits with 127", () => {
    expect(forkExec([path.join(scratch.dir, "missing")]).status).toMatchObject({ kind: "exited", code: 127 });
  });

  test("a death by signal comes back decoded", () => {
    expect(forkExec(["/bin/sh", "-c", 'kill -KILL "$$"']).status).toMatchObject({ kind: "signaled", signal: "SIGKILL" });
  });

  test("a string is refused", () => {
    expect(() => forkExec("/bin/true" as unknown as string[])).toThrow(TypeError);
  });
});

describe("an inherited descriptor", () => {
  test("the child writes through our descriptor, at the shared file offset", () => {
    const file = path.join(scratch.dir, "shared.txt");
    const fd = fs.openSync(file, "w"); // close-on-exec does not matter to fork
    try {
      fs.writeSync(fd, "parent: before\n");
      const child = forkWrite(fd, "child: through the inherited descriptor\n");
      fs.writeSync(fd, "parent: after\n");
      expect(child.status).toEqual({ kind: "exited", code: 0, raw: 0 });
    } finally {
      fs.closeSync(fd);
    }
    // One open file, one offset: the three writes follow each other, none overwrites another.
    expect(fs.readFileSync(file, "utf8")).toBe("parent: before\nchild: through the inherited descriptor\nparent: after\n");
  });

  test("a descriptor that is not open: the child's write fails and it exits with 1", () => {
    const fd = fs.openSync(path.join(scratch.dir, "closed.txt"), "w");
    fs.closeSync(fd);
    expect(forkWrite(fd, "nowhere\n").status).toMatchObject({ kind: "exited", code: 1 });
  });
});

describe("copy-on-write", () => {
  test("the same address holds 42 in the parent and 99 in the child", () => {
    const seen = copyOnWrite();
    expect(seen.status).toMatchObject({ kind: "exited", code: 0 });
    expect(seen.parent.value).toBe(42);
    expect(seen.child.value).toBe(99);
    expect(seen.child.address).toBe(seen.parent.address);
    expect(seen.parent.address).toBeGreaterThan(0n);
  });
});

describe("clone", () => {
  test("thread-like flags: the same process, a new thread, shared memory and descriptors", () => {
    const seen = cloneDemo("thread");
    expect(seen.parent.pid).toBe(process.pid);
    expect(seen.child.pid).toBe(process.pid); // CLONE_THREAD: the same thread group
    expect(seen.child.tid).toBe(seen.cloneReturned);
    expect(seen.child.tid).not.toBe(seen.parent.tid);
    expect(seen.child.ppid).toBe(process.ppid); // a thread's parent is the process's parent
    expect(seen.sharesMemory).toBe(true);
    expect(seen.sharesDescriptors).toBe(true);
    expect(seen.status).toBeNull();
  });

  test("fork-like flags (SIGCHLD only): a new process with copies of everything", () => {
    const seen = cloneDemo("process");
    expect(seen.child.pid).toBe(seen.cloneReturned);
    expect(seen.child.pid).not.toBe(process.pid);
    expect(seen.child.tid).toBe(seen.child.pid);
    expect(seen.child.ppid).toBe(process.pid);
    expect(seen.sharesMemory).toBe(false);
    expect(seen.sharesDescriptors).toBe(false);
    expect(seen.status).toEqual({ kind: "exited", code: 0, raw: 0 });
  });

  test("many rounds of both leave the process intact", () => {
    for (let i = 0; i < 50; i++) {
      expect(cloneDemo("thread").sharesMemory).toBe(true);
      expect(cloneDemo("process").sharesMemory).toBe(false);
    }
    expect(() => cloneDemo("fiber" as never)).toThrow(TypeError);
  });
});

test("every forked or cloned child was waited for", () => {
  expect(childrenOfThisProcess()).toEqual([]);
});
