/**
 * The pristine exercise files: every `exercises/NN-topic.ts` as the project
 * ships it, kept in tools/pristine.json (one array of lines per file, so a
 * change reads well in a diff), from which `bun run check --reset NN`
 * restores a student's file without git.
 *
 *   bun tools/pristine.ts            refresh the store from exercises/ (after changing an exercise)
 *   bun tools/pristine.ts --check    exit 1 if a file is missing, stale or extra
 *
 * test/tools/pristine.test.ts runs the check, so the store cannot drift
 * from the exercises unnoticed.
 */
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { ROOT } from "../test/harness/student.ts";

export const STORE = path.join(ROOT, "tools", "pristine.json");
const EXERCISES = path.join(ROOT, "exercises");
const EXERCISE_FILE = /^\d\d-[a-z0-9-]+\.ts$/;

interface Store {
  about: string;
  files: Record<string, { sha256: string; lines: string[] }>;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function load(): Store {
  if (!fs.existsSync(STORE)) return { about: "", files: {} };
  return JSON.parse(fs.readFileSync(STORE, "utf8")) as Store;
}

/** The project's exercise files ("03-shm.ts", …). */
export function exerciseFiles(): string[] {
  return fs.readdirSync(EXERCISES).filter((f) => EXERCISE_FILE.test(f)).sort();
}

/** The pristine text of `<chapter>.ts`, or undefined if the store has none (or a damaged one). */
export function pristineText(chapter: string): string | undefined {
  const entry = load().files[`${chapter}.ts`];
  if (!entry) return undefined;
  const text = entry.lines.join("\n");
  return sha256(text) === entry.sha256 ? text : undefined;
}

/** Every way the store differs from exercises/, in words; empty when they match. */
export function drift(): string[] {
  const problems: string[] = [];
  const store = load();
  for (const file of exerciseFiles()) {
    const entry = store.files[file];
    const text = fs.readFileSync(path.join(EXERCISES, file), "utf8");
    if (!entry) problems.push(`exercises/${file} is not in tools/pristine.json`);
    else if (entry.lines.join("\n") !== text) problems.push(`tools/pristine.json holds another version of exercises/${file}`);
    else if (entry.sha256 !== sha256(text)) problems.push(`tools/pristine.json has a wrong checksum for ${file}`);
  }
  for (const file of Object.keys(store.files)) {
    if (!fs.existsSync(path.join(EXERCISES, file))) problems.push(`tools/pristine.json holds ${file}, which is not in exercises/`);
  }
  return problems;
}

/** Rewrites the store from the exercise files; returns the files that changed. */
export function refresh(): string[] {
  const before = load().files;
  const store: Store = {
    about: "The exercises as shipped, for `bun run check --reset NN`. Written by `bun tools/pristine.ts`; do not edit.",
    files: {},
  };
  const changed: string[] = [];
  for (const file of exerciseFiles()) {
    const text = fs.readFileSync(path.join(EXERCISES, file), "utf8");
    store.files[file] = { sha256: sha256(text), lines: text.split("\n") };
    if (before[file]?.sha256 !== store.files[file].sha256) changed.push(file);
  }
  for (const file of Object.keys(before)) if (!store.files[file]) changed.push(file);
  fs.writeFileSync(STORE, `${JSON.stringify(store, null, 1)}\n`);
  return changed;
}

if (import.meta.main) {
  if (process.argv.includes("--check")) {
    const problems = drift();
    if (problems.length > 0) {
      console.error(`${problems.join("\n")}\nRun \`bun tools/pristine.ts\` after changing an exercise, and commit tools/pristine.json.`);
      process.exit(1);
    }
    console.log(`tools/pristine.json matches exercises/ (${exerciseFiles().length} files).`);
  } else {
    const changed = refresh();
    console.log(changed.length > 0 ? `Refreshed tools/pristine.json: ${changed.join(", ")}` : "tools/pristine.json was up to date.");
  }
}
