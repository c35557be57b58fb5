/**
 * `bun run watch` in a real terminal: each test starts it in a private tmux
 * server, types keys with send-keys and reads the screen with capture-pane.
 * It runs on the fixture chapters 98-probe and 99-second.
 *
 * Needs tmux (`apt-get install tmux`); .ci/run installs it where it is
 * missing. Without it these tests fail and say so.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { FIXTURE_ENV, PROBE_EXERCISE, PROBE_SOLUTION, ROOT, processesWith, removeTemporary, submission } from "./helpers.ts";

const TMUX = Bun.which("tmux");

/** A tmux server of our own, one window, a fixed size. */
class Terminal {
  readonly server = `ipcbook-watch-${process.pid}-${randomBytes(3).toString("hex")}`;

  constructor(command: string) {
    if (!TMUX) throw new Error("tmux is not installed: the watch tests need it (apt-get install tmux; .ci/run does this)");
    this.tmux(["-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "45", command]);
  }

  private tmux(args: string[]): string {
    const run = Bun.spawnSync([TMUX!, "-L", this.server, ...args], { stdout: "pipe", stderr: "pipe" });
    if (run.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${run.stderr.toString()}`);
    return run.stdout.toString();
  }

  screen(): string {
    return this.tmux(["capture-pane", "-p", "-J"]);
  }

  keys(...keys: string[]): void {
    this.tmux(["send-keys", ...keys]);
  }

  /** Waits until the screen shows every text; fails with the screen as it is. */
  async waitFor(...texts: string[]): Promise<string> {
    const deadline = Date.now() + 45_000;
    let screen = "";
    while (Date.now() < deadline) {
      screen = this.screen();
      if (texts.every((text) => screen.includes(text))) return screen;
      await Bun.sleep(100);
    }
    throw new Error(`the screen never showed ${JSON.stringify(texts)}; it shows:\n${screen}`);
  }

  close(): void {
    Bun.spawnSync([TMUX!, "-L", this.server, "kill-server"], { stdout: "ignore", stderr: "ignore" });
  }
}

const open: Terminal[] = [];
afterEach(() => {
  for (const terminal of open.splice(0)) terminal.close();
});
afterAll(removeTemporary);

function watch(dir: string, flags = "", env: Record<string, string> = {}): Terminal {
  const vars = Object.entries({ ...FIXTURE_ENV, ...env })
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  // After it quits, the shell says how it ended and keeps the pane open to be read.
  const terminal = new Terminal(`cd ${ROOT} && env ${vars} ${process.execPath} tools/watch.ts --dir ${dir} ${flags}; echo "[watch exited $?]"; sleep 600`);
  open.push(terminal);
  return terminal;
}

function save(dir: string, file: string): void {
  // As an editor does: write a new file beside it, then rename it into place.
  const target = path.join(dir, path.basename(file));
  fs.copyFileSync(file, `${target}.tmp`);
  fs.renameSync(`${target}.tmp`, target);
}

describe("watch", () => {
  test("shows progress over all tasks, a hint on h, moves on when a chapter is done, quits on q", async () => {
    if (!TMUX) throw new Error("tmux is not installed: the watch tests need it (apt-get install tmux; .ci/run does this)");
    const dir = submission("watch", [`${PROBE_EXERCISE}/98-probe.ts`, `${PROBE_EXERCISE}/99-second.ts`]);
    const term = watch(dir);

    let screen = await term.waitFor("Chapter 98-probe: 0/4 tasks", "0/5 tasks · 0/2 chapters done");
    expect(screen).toContain("file events");
    expect(screen).toContain("✗ task 1: store a number in a shared-memory object");
    expect(screen).toContain("h: hint · r: check again · q: quit");
    expect(screen).not.toContain("hint: Write the number");

    term.keys("h");
    screen = await term.waitFor("hint: Write the number, as decimal text, to /dev/shm followed by the name.");
    expect(screen).toContain('read: "Storing a number" in chapters/98-probe.md#storing-a-number');
    expect(screen.match(/hint: /g)?.length).toBe(1); // the first failing task's hint only

    save(dir, `${PROBE_SOLUTION}/98-probe.ts`);
    screen = await term.waitFor("✓ Chapter 98-probe is done. On to chapter 99-second.", "Chapter 99-second: 0/1 tasks");
    expect(screen).toContain("4/5 tasks · 1/2 chapters done");
    expect(screen).toContain(`Save ${dir}/99-second.ts and it is checked again.`);

    save(dir, `${PROBE_SOLUTION}/99-second.ts`);
    screen = await term.waitFor("Every chapter is done.");
    expect(screen).toContain("5/5 tasks · 2/2 chapters done");

    term.keys("q");
    screen = await term.waitFor("[watch exited 0]");
    expect(screen).toContain("Stopped watching. 5/5 tasks done.");
    // Nothing of it runs on: not watch itself, not a check it had started (the pane's shell and tmux aside).
    expect(processesWith(dir).filter((p) => !/tmux|sh -c/.test(p))).toEqual([]);
    expect(processesWith(FIXTURE_ENV.IPC_GRADED_DIR).filter((p) => !/tmux|sh -c/.test(p))).toEqual([]);
  }, 120_000);

  test("a save that breaks a finished chapter brings it back; r checks again", async () => {
    if (!TMUX) throw new Error("tmux is not installed: the watch tests need it (apt-get install tmux; .ci/run does this)");
    const dir = submission("watch-back", [`${PROBE_SOLUTION}/98-probe.ts`, `${PROBE_EXERCISE}/99-second.ts`]);
    const term = watch(dir);
    await term.waitFor("Chapter 99-second: 0/1 tasks", "4/5 tasks");
    save(dir, `${PROBE_EXERCISE}/98-probe.ts`);
    await term.waitFor("Chapter 98-probe: 0/4 tasks", "0/5 tasks");
    term.keys("r");
    await term.waitFor("Chapter 98-probe: 0/4 tasks");
    term.keys("q");
    await term.waitFor("[watch exited 0]");
  }, 120_000);

  test("--poll finds saves by looking at the files", async () => {
    if (!TMUX) throw new Error("tmux is not installed: the watch tests need it (apt-get install tmux; .ci/run does this)");
    const dir = submission("watch-poll", [`${PROBE_EXERCISE}/98-probe.ts`, `${PROBE_SOLUTION}/99-second.ts`]);
    const term = watch(dir, "--poll --poll-interval 200");
    await term.waitFor("polling every 0.2 s", "Chapter 98-probe: 0/4 tasks");
    save(dir, `${PROBE_SOLUTION}/98-probe.ts`);
    await term.waitFor("Every chapter is done.", "5/5 tasks");
    term.keys("q");
    await term.waitFor("[watch exited 0]");
  }, 120_000);

  test("where file events never arrive, it notices a save anyway and switches to polling", async () => {
    if (!TMUX) throw new Error("tmux is not installed: the watch tests need it (apt-get install tmux; .ci/run does this)");
    const dir = submission("watch-noevents", [`${PROBE_EXERCISE}/98-probe.ts`, `${PROBE_SOLUTION}/99-second.ts`]);
    // The test hook makes watch ignore every file event, as on a network or WSL folder.
    const term = watch(dir, "", { IPC_WATCH_IGNORE_EVENTS: "1" });
    await term.waitFor("file events", "Chapter 98-probe: 0/4 tasks");
    save(dir, `${PROBE_SOLUTION}/98-probe.ts`);
    const screen = await term.waitFor("Every chapter is done.");
    expect(screen).toContain("polling every 1 s (file events do not arrive in this folder)");
    term.keys("q");
    await term.waitFor("[watch exited 0]");
  }, 120_000);
});
