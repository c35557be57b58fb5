/**
 * Helpers for the signal and pipe tests: a child Bun process whose output
 * lines can be awaited (bounded waits on events, never a fixed sleep), and
 * polling a condition with a generous limit.
 */
import path from "node:path";

/** The child script of the signal tests. */
export const SIGNALS_CHILD = path.join(import.meta.dir, "signals-child.ts");

/** Waits until `check()` is true, looking every few milliseconds; fails after `limitMs`. */
export async function until(check: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  for (let pause = 1; !check(); pause = Math.min(pause * 2, 25)) {
    if (performance.now() > deadline) throw new Error(`gave up waiting after ${limitMs} ms for ${what}`);
    await Bun.sleep(pause);
  }
}

/** A child process whose standard output is collected line by line. */
export class LineChild implements AsyncDisposable {
  readonly process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly lines: string[] = [];
  stderr = "";
  readonly #reading: Promise<void>;

  constructor(argv: string[], options: { env?: Record<string, string> } = {}) {
    this.process = Bun.spawn(argv, {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...options.env },
    });
    this.#reading = this.#read();
    void new Response(this.process.stderr).text().then((text) => (this.stderr = text));
  }

  /** A Bun child running test/lib/signals-child.ts in `mode`. */
  static signals(mode: string, ...args: string[]): LineChild {
    return new LineChild([process.execPath, SIGNALS_CHILD, mode, ...args]);
  }

  get pid(): number {
    return this.process.pid;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of this.process.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = rest.indexOf("\n")) !== -1) {
        this.lines.push(rest.slice(0, newline));
        rest = rest.slice(newline + 1);
      }
    }
    if (rest) this.lines.push(rest);
  }

  /** Waits for a line that satisfies `match` (a string is an exact line); returns it. */
  async line(match: string | ((line: string) => boolean), limitMs = 20_000): Promise<string> {
    const test = typeof match === "string" ? (l: string) => l === match : match;
    let found: string | undefined;
    await until(
      () => (found = this.lines.find(test)) !== undefined || this.ended,
      `the line ${String(match)} from ${this.process.pid}`,
      limitMs,
    );
    if (found === undefined) {
      await this.#reading;
      found = this.lines.find(test);
      if (found === undefined) {
        throw new Error(`the child ended (${this.process.exitCode ?? this.process.signalCode}) without the line ${String(match)}; it said:\n${this.lines.join("\n")}\n${this.stderr}`);
      }
    }
    return found;
  }

  get ended(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  /** Waits for the end (bounded) and returns how it ended. */
  async exit(limitMs = 20_000): Promise<{ code: number | null; signal: string | null }> {
    const timer = setTimeout(() => this.process.kill("SIGKILL"), limitMs);
    await this.process.exited;
    clearTimeout(timer);
    await this.#reading;
    return { code: this.process.exitCode, signal: this.process.signalCode === null ? null : String(this.process.signalCode) };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.ended) this.process.kill("SIGKILL");
    await this.process.exited;
  }
}
