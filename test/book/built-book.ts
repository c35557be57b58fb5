/**
 * Builds the project's book into a fresh temporary folder with the
 * project's mdBook (.tools/bin/mdbook, else the one on PATH), for the tests
 * that inspect or browse the built site.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
const LOCAL_MDBOOK = join(ROOT, ".tools", "bin", "mdbook");

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
  const dest = mkdtempSync(join(tmpdir(), "ipc-book-site-"));
  const child = Bun.spawn([mdbook, "build", root, "-d", dest], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return {
    dest,
    code,
    log: stdout + stderr,
    [Symbol.dispose]: () => rmSync(dest, { recursive: true, force: true }),
  };
}
