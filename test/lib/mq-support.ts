/**
 * Helpers for the message-queue tests: queues opened through `openQueue`
 * are closed and removed after each test, and `queueLeftovers()` finds any
 * queue of this run that is still there, by name, whether or not
 * /dev/mqueue is mounted.
 */
import fs from "node:fs";
import path from "node:path";
import { MessageQueue, type QueueOptions, SysVMessageQueue } from "../../lib/index.ts";
import { PREFIX, uniqueName } from "./support.ts";

const CHILD = path.join(import.meta.dir, "mq-child.ts");

/** Small queues: the per-user queue memory (RLIMIT_MSGQUEUE) is shared with every other test. */
export const SMALL = { maxmsg: 4, msgsize: 64 } as const;

const names = new Set<string>();
const open: MessageQueue[] = [];
const sysv = new Set<number>();

/** A fresh queue name under the run prefix, removed after the test. */
export function queueName(label: string): string {
  const name = uniqueName(label);
  names.add(name);
  return name;
}

/** Opens (by default: creates, small) a queue that is closed and removed after the test. */
export function openQueue(name: string, options: QueueOptions = { create: true, ...SMALL }): MessageQueue {
  names.add(name);
  const queue = new MessageQueue(name, options);
  open.push(queue);
  return queue;
}

/** A private System V queue, removed after the test. */
export function privateSysVQueue(): SysVMessageQueue {
  const queue = new SysVMessageQueue("private");
  sysv.add(queue.id);
  return queue;
}

/** Whether /proc/sysvipc/msg lists this queue id. */
export function sysvQueueListed(id: number): boolean {
  const rows = fs.readFileSync("/proc/sysvipc/msg", "utf8").trim().split("\n").slice(1);
  return rows.some((row) => Number(row.trim().split(/\s+/)[1]) === id);
}

/** Closes and removes everything the test made; returns the names that were still there. */
export function cleanUpQueues(): string[] {
  for (const queue of open.splice(0)) queue.close();
  const left: string[] = [];
  for (const name of names) {
    if (MessageQueue.exists(name)) {
      left.push(name);
      MessageQueue.unlink(name);
    }
  }
  names.clear();
  for (const id of sysv) if (sysvQueueListed(id)) SysVMessageQueue.remove(id);
  sysv.clear();
  return left;
}

/** Queues of this run still in /dev/mqueue (empty when it is not mounted). */
export function queueLeftovers(): string[] {
  if (!fs.existsSync("/dev/mqueue")) return [];
  const stem = PREFIX.slice(1);
  return fs.readdirSync("/dev/mqueue").filter((entry) => entry.startsWith(stem));
}

/** Whether the mqueue file system is mounted at /dev/mqueue. */
export function mqueueMounted(): boolean {
  return fs.readFileSync("/proc/mounts", "utf8").split("\n").some((line) => line.split(" ")[1] === "/dev/mqueue");
}

/** A child process running test/lib/mq-child.ts, whose stdout can be read line by line. */
export class Child {
  readonly process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly #lines: string[] = [];
  #partial = "";
  readonly #reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };

  constructor(command: string, name: string, arg?: string) {
    const argv = [process.execPath, CHILD, command, name];
    if (arg !== undefined) argv.push(arg);
    this.process = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    this.#reader = this.process.stdout.getReader();
  }

  /** Waits for the next line the child prints (null once its output ends). */
  async line(): Promise<string | null> {
    const decoder = new TextDecoder();
    while (this.#lines.length === 0) {
      const { done, value } = await this.#reader.read();
      if (done) {
        if (this.#partial) {
          this.#lines.push(this.#partial);
          this.#partial = "";
          break;
        }
        return null;
      }
      const parts = (this.#partial + decoder.decode(value)).split("\n");
      this.#partial = parts.pop() ?? "";
      this.#lines.push(...parts);
    }
    return this.#lines.shift() ?? null;
  }

  /** Every line until the output ends. */
  async rest(): Promise<string[]> {
    const lines: string[] = [];
    for (let line = await this.line(); line !== null; line = await this.line()) lines.push(line);
    return lines;
  }

  async stderr(): Promise<string> {
    return new Response(this.process.stderr).text();
  }

  /** Waits (at most `seconds`) until the child sleeps in a message-queue wait (wchan wq_sleep). */
  async blockedInQueue(seconds = 10): Promise<boolean> {
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      try {
        if (fs.readFileSync(`/proc/${this.process.pid}/wchan`, "utf8") === "wq_sleep") return true;
      } catch {
        return false; // it has ended
      }
      await Bun.sleep(5);
    }
    return false;
  }

  kill(): Promise<number | null> {
    this.process.kill("SIGKILL");
    return this.process.exited;
  }
}
