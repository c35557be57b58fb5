/**
 * Signals are brutal: one can arrive in the middle of any work. A process
 * that made IPC objects (a shared-memory object, a FIFO, a pipe) and set
 * up `onShutdown` gets SIGTERM while it works; afterwards nothing of it may
 * be left: not the objects, not the process. And without onShutdown the
 * same SIGTERM leaves the objects behind, which is why it is needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { SharedMemory } from "../../lib/index.ts";
import { LineChild, until } from "./signals-support.ts";
import { tempDir, uniqueName } from "./support.ts";

const scratch = tempDir("signals-shutdown");
afterAll(() => scratch.remove());

describe("SIGTERM in the middle of work", () => {
  test("with onShutdown: the process ends by SIGTERM and leaves no IPC object behind", async () => {
    const dir = fs.mkdtempSync(path.join(scratch.dir, "graceful-"));
    const shm = uniqueName("shutdown");
    await using child = LineChild.signals("shutdown", dir, shm);
    await child.line("ready");
    await until(() => fs.existsSync(`/dev/shm${shm}`) && fs.existsSync(path.join(dir, "work.fifo")), "the objects");
    // Let it do some work first, so that the signal lands in the middle of it.
    const counter = () => fs.readFileSync(`/dev/shm${shm}`).readInt32LE(0);
    await until(() => counter() > 50_000, "some work to be done");
    process.kill(child.pid, "SIGTERM");
    const end = await child.exit();
    expect(end).toEqual({ code: null, signal: "SIGTERM" }); // re-raised after the clean-up
    expect(fs.readFileSync(path.join(dir, "cleaned"), "utf8")).toMatch(/^SIGTERM after \d+ steps\n$/);
    expect(SharedMemory.exists(shm)).toBe(false);
    expect(fs.readdirSync("/dev/shm").filter((e) => e.startsWith(shm.slice(1)))).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(["cleaned"]);
    expect(fs.existsSync(`/proc/${child.pid}`)).toBe(false);
  }, 60_000);

  test("SIGKILL cannot be handled: the same process leaves its objects behind", async () => {
    const dir = fs.mkdtempSync(path.join(scratch.dir, "killed-"));
    const shm = uniqueName("killed");
    try {
      await using child = LineChild.signals("shutdown", dir, shm);
      await child.line("ready");
      process.kill(child.pid, "SIGKILL");
      expect(await child.exit()).toEqual({ code: null, signal: "SIGKILL" });
      expect(SharedMemory.exists(shm)).toBe(true);
      expect(fs.readdirSync(dir)).toEqual(["work.fifo"]);
    } finally {
      if (SharedMemory.exists(shm)) SharedMemory.unlink(shm);
    }
  }, 60_000);
});
