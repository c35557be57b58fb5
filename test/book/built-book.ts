/**
 * Builds the project's book into a fresh temporary folder with the
 * project's mdBook (.tools/bin/mdbook, else the one on PATH), for the tests
 * that inspect or browse the built site.
 *
 * `sharedBook()` builds once per test process (bun runs every test file in
 * one process), so that the build, link and browser tests look at one build
 * instead of making three.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
const LOCAL_MDBOOK = join(ROOT, ".tools", "bin", "mdbook");

/** Temporary sites are named after the test process that built them. */
const SITE_PREFIX = "ipc-book-site-";

/**
 * Removes the sites of test processes that have ended. bun's test runner
 * fires no exit event, so a shared site cannot remove itself; the next run
 * does.
 */
function removeStaleSites(): void {
  for (const entry of readdirSync(tmpdir())) {
    const pid = Number(new RegExp(`^${SITE_PREFIX}(\\d+)-`).exec(entry)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface BuiltBook extends Disposable {
  /** The folder holding the site. */
  dest: string;
  /** mdBook's exit status. */
  code: number;
  /** mdBook's log (stdout and stderr). */
  log: string;
}

/** Runs `mdbook build ROOT -d <temporary folder>`; dispose of the result to remove the folder. */
export async function buildBook(root = ROOT): Promise<BuiltBook> {
  const mdbook = existsSync(LOCAL_MDBOOK) ? LOCAL_MDBOOK : Bun.which("mdbook");
  if (mdbook === null) throw new Error("mdBook is not installed: run `node tools/setup.mjs` (or put mdBook 0.5 on PATH)");
  removeStaleSites();
  const dest = mkdtempSync(join(tmpdir(), `${SITE_PREFIX}${process.pid}-`));
  const child = Bun.spawn([mdbook, "build", root, "-d", dest], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return {
    dest,
    code,
    log: stdout + stderr,
    [Symbol.dispose]: () => rmSync(dest, { recursive: true, force: true }),
  };
}

let shared: Promise<BuiltBook> | undefined;

/**
 * The project's book, built once for every test file of this process; do
 * not dispose of it. The next test run removes it once this process ends.
 */
export function sharedBook(): Promise<BuiltBook> {
  shared ??= buildBook();
  return shared;
}
