/**
 * A process that takes locks on command, for the lock and deadlock tests.
 *
 * Run as a program it performs a list of actions given as JSON and
 * reports each one on stdout ("done 2" or "error 2 EDEADLK …"), then keeps
 * its locks until its stdin closes or it is killed:
 *
 *   bun test/lib/lock-actor.ts '[{"do":"open","path":"/tmp/x"},{"do":"lock","mode":"exclusive"}]'
 *
 * Imported, it exports `Actor`, which starts such a process and reads its
 * reports line by line.
 */
import { OpenFile, type LockMode } from "../../lib/index.ts";

/** One thing an actor does. Files are named by `as` (default "main"). */
export type Action =
  | { do: "open"; path: string; as?: string; readOnly?: boolean }
  | { do: "flock"; file?: string; mode: LockMode; timeout?: number }
  | { do: "unflock"; file?: string }
  | { do: "lock"; file?: string; mode: LockMode; start?: number; length?: number; ofd?: boolean; timeout?: number }
  | { do: "unlock"; file?: string; start?: number; length?: number; ofd?: boolean }
  | { do: "close"; file?: string }
  | { do: "wait" } // for a line on stdin
  | { do: "exit"; code?: number };

async function act(actions: Action[]): Promise<void> {
  const files = new Map<string, OpenFile>();
  const file = (name = "main") => {
    const f = files.get(name);
    if (!f) throw new Error(`no file named ${name}`);
    return f;
  };
  const lines = (async function* () {
    let buffered = "";
    for await (const chunk of Bun.stdin.stream()) {
      buffered += new TextDecoder().decode(chunk);
      let newline: number;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        yield buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
      }
    }
  })();
  for (const [i, action] of actions.entries()) {
    try {
      switch (action.do) {
        case "open":
          files.set(action.as ?? "main", new OpenFile(action.path, { readOnly: action.readOnly }));
          break;
        case "flock":
          file(action.file).flock(action.mode, { timeout: action.timeout });
          break;
        case "unflock":
          file(action.file).unflock();
          break;
        case "lock":
          file(action.file).lock(action.mode, action);
          break;
        case "unlock":
          file(action.file).unlock(action);
          break;
        case "close":
          file(action.file).close();
          break;
        case "wait":
          await lines.next();
          break;
        case "exit":
          process.exit(action.code ?? 0);
      }
      console.log(`done ${i}`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      console.log(`error ${i} ${typeof code === "string" ? code : (error as Error).name} ${(error as Error).message}`);
    }
  }
  // Hold everything until stdin closes (or we are killed).
  while (!(await lines.next()).done) {
    // keep reading
  }
}

if (import.meta.main) await act(JSON.parse(process.argv[2] ?? "[]") as Action[]);

/** A running lock-actor process. */
export class Actor implements AsyncDisposable {
  readonly process: Bun.Subprocess<"pipe", "pipe", "pipe">;
  #buffer = "";
  #reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
  /** Every line it has printed so far. */
  readonly lines: string[] = [];

  /** Starts an actor that performs `actions`. */
  constructor(actions: Action[]) {
    this.process = Bun.spawn([process.execPath, import.meta.path, JSON.stringify(actions)], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.#reader = this.process.stdout.getReader();
  }

  /** Its process id. */
  get pid(): number {
    return this.process.pid;
  }

  /** Waits for the next line it prints (rejects after `ms`, or if it exits first). */
  async next(ms = 15_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline !== -1) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        this.lines.push(line);
        return line;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`actor ${this.pid}: no line within ${ms} ms (so far: ${JSON.stringify(this.lines)})`);
      let timer: Timer | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), left))),
      ]);
      clearTimeout(timer);
      if (chunk === "timeout") continue;
      if (chunk.done) {
        const stderr = await new Response(this.process.stderr).text();
        throw new Error(`actor ${this.pid} ended before printing a line (lines: ${JSON.stringify(this.lines)}; stderr: ${stderr})`);
      }
      this.#buffer += new TextDecoder().decode(chunk.value);
    }
  }

  /** Waits for the report of action `i` and returns it ("done 3" or "error 3 EAGAIN …"). */
  async report(i: number, ms?: number): Promise<string> {
    for (;;) {
      const line = await this.next(ms);
      if (line.startsWith(`done ${i}`) || line.startsWith(`error ${i} `)) return line;
    }
  }

  /** Sends a line to its stdin (for a "wait" action). */
  send(line = "go"): void {
    this.process.stdin.write(`${line}\n`);
    void this.process.stdin.flush();
  }

  /** Kills it with SIGKILL and waits until it is gone. */
  async kill(): Promise<void> {
    this.process.kill("SIGKILL");
    await this.process.exited;
  }

  /** Closes its stdin, so that it exits, and waits. */
  async finish(): Promise<number> {
    try {
      await this.process.stdin.end();
    } catch {
      // it has gone already
    }
    return this.process.exited;
  }

  /** Kills it (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) await this.kill();
  }
}
