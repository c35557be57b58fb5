/**
 * What the tools' tests share: running a tool as a student or an
 * instructor would, temporary folders, and the fixture chapters
 * (test/fixtures/graded/: 98-probe and 99-second) that keep these tests
 * independent of the book's real chapters.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "../harness/student.ts";

export { ROOT };
export const FIXTURES = path.join(ROOT, "test", "fixtures");
/** The tools find the fixture chapters instead of the book's with this. */
export const FIXTURE_ENV = { IPC_GRADED_DIR: path.join(FIXTURES, "graded") };
export const PROBE_EXERCISE = path.join(FIXTURES, "probe", "exercise");
export const PROBE_SOLUTION = path.join(FIXTURES, "probe", "solution");

/** What a run of a command gave back. */
export interface Ran {
  code: number | null;
  /** Standard output, as bytes and as text. */
  bytes: Uint8Array;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Written to its standard input, byte for byte. */
  input?: string | Uint8Array;
  cwd?: string;
}

/** Runs any command in the project's root (binary-safe both ways) and waits for it. */
export async function runCommand(argv: string[], options: RunOptions = {}): Promise<Ran> {
  const child = Bun.spawn(argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdin: options.input === undefined ? "ignore" : "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (options.input !== undefined && child.stdin) {
    child.stdin.write(options.input);
    await child.stdin.end();
  }
  const [out, stderr] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text()]);
  const bytes = new Uint8Array(out);
  return { code: await child.exited, bytes, stdout: new TextDecoder().decode(bytes), stderr };
}

/** Runs `bun <args>` in the project's root and waits for it. */
export async function runTool(args: string[], options: RunOptions = {}): Promise<Ran> {
  return runCommand([process.execPath, ...args], options);
}

const made: string[] = [];

/** A fresh temporary folder, removed by `removeTemporary()`. */
export function temporary(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ipcbook-tools-${label}-`));
  made.push(dir);
  return dir;
}

export function removeTemporary(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A folder holding copies of the given exercise files. */
export function submission(label: string, files: string[]): string {
  const dir = temporary(label);
  for (const file of files) fs.copyFileSync(file, path.join(dir, path.basename(file)));
  return dir;
}

/** Live processes whose command line contains `text`. */
export function processesWith(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (cmdline.includes(text) && state !== "Z") found.push(`${pid}: ${cmdline.trim()}`);
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Entries of the temporary folder that start with `prefix`. */
export function temporaryEntries(prefix: string): string[] {
  return fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(prefix));
}
