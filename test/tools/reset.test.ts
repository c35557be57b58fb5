/**
 * `bun run check --reset NN`: restores an exercise from the pristine store
 * (tools/pristine.json), after asking; and the store matches exercises/.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { drift, exerciseFiles, pristineText, STORE } from "../../tools/pristine.ts";
import { removeTemporary, runTool, temporary } from "./helpers.ts";

afterAll(removeTemporary);

test("the pristine store holds exactly the exercise files as they are (run `bun tools/pristine.ts` if not)", () => {
  expect(drift()).toEqual([]);
  expect(exerciseFiles().length).toBeGreaterThan(0);
});

describe("check --reset", () => {
  const chapter = "03-shm";
  const pristine = pristineText(chapter)!; // the store's copy: only the drift test above speaks of exercises/
  const edited = `${pristine}\n// my work in progress\n`;

  function folder(content?: string): { dir: string; file: string } {
    const dir = temporary("reset");
    const file = path.join(dir, `${chapter}.ts`);
    if (content !== undefined) fs.writeFileSync(file, content);
    return { dir, file };
  }
  const reset = (dir: string, input?: string, ...extra: string[]) =>
    runTool(["tools/check.ts", "--reset", "03", "--dir", dir, ...extra], { input });

  test("asks first; anything but yes leaves the file alone", async () => {
    for (const answer of ["n\n", "\n", "maybe\n", ""]) {
      const { dir, file } = folder(edited);
      const { code, stdout } = await reset(dir, answer);
      expect(stdout).toContain(`Reset ${file} to the original exercise?`);
      expect(stdout).toContain("[y/N]");
      expect(stdout).toContain("Nothing changed.");
      expect(code).toBe(1);
      expect(fs.readFileSync(file, "utf8")).toBe(edited);
    }
  }, 60_000);

  test("on yes, restores the pristine exercise and keeps the student's version beside it", async () => {
    const { dir, file } = folder(edited);
    const { code, stdout } = await reset(dir, "y\n");
    expect(code).toBe(0);
    expect(stdout).toContain("is the original exercise again");
    expect(fs.readFileSync(file, "utf8")).toBe(pristine);
    expect(fs.readFileSync(`${file}.bak`, "utf8")).toBe(edited);
  }, 30_000);

  test("--yes does not ask; a missing file is restored without asking; a pristine one is left alone", async () => {
    const yes = folder(edited);
    const forced = await reset(yes.dir, undefined, "--yes");
    expect(forced.code).toBe(0);
    expect(forced.stdout).not.toContain("[y/N]");
    expect(fs.readFileSync(yes.file, "utf8")).toBe(pristine);

    const missing = folder();
    const restored = await reset(missing.dir);
    expect(restored.code).toBe(0);
    expect(fs.readFileSync(missing.file, "utf8")).toBe(pristine);
    expect(fs.existsSync(`${missing.file}.bak`)).toBe(false);

    const untouched = await reset(missing.dir);
    expect(untouched.stdout).toContain("nothing to do");
  }, 30_000);

  test("the store gives back what it holds, checksum verified; an unknown chapter is a usage error", async () => {
    const store = JSON.parse(fs.readFileSync(STORE, "utf8")) as { files: Record<string, { lines: string[] }> };
    for (const [file, entry] of Object.entries(store.files)) {
      expect(pristineText(file.replace(/\.ts$/, ""))).toBe(entry.lines.join("\n"));
    }
    const unknown = await runTool(["tools/check.ts", "--reset", "77"]);
    expect(unknown.code).toBe(2);
  }, 30_000);
});
