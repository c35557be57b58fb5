/**
 * The process in which the grader runs one function of a student's
 * exercise file. Usage (by test/harness/student.ts only):
 *
 *   bun call.ts MODULE EXPORT ARGS_JSON RESULT_FILE [--together]
 *
 * It imports MODULE, calls EXPORT(...ARGS), and writes the outcome as JSON
 * to RESULT_FILE. With --together it first creates RESULT_FILE.ready and
 * waits for a line on stdin, so that several such processes start their
 * work at the same moment.
 */
import fs from "node:fs";

export interface CallOutcome {
  ok: boolean;
  value?: unknown;
  error?: { name: string; code?: string; message: string; todo: boolean };
}

const [modulePath, exportName, argsJson, resultFile, together] = process.argv.slice(2);
if (!modulePath || !exportName || !argsJson || !resultFile) {
  console.error("usage: call.ts MODULE EXPORT ARGS_JSON RESULT_FILE [--together]");
  process.exit(2);
}

function report(outcome: CallOutcome): void {
  const json = JSON.stringify(outcome, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  fs.writeFileSync(resultFile!, json);
}

function describe(error: unknown): NonNullable<CallOutcome["error"]> {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error), todo: false };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    code: typeof code === "string" ? code : undefined,
    message: error.message,
    todo: error.name === "TodoError",
  };
}

try {
  const module = (await import(modulePath)) as Record<string, unknown>;
  const fn = module[exportName];
  if (typeof fn !== "function") {
    throw new TypeError(`the exercise file does not export a function named ${exportName}`);
  }
  if (together === "--together") {
    fs.writeFileSync(`${resultFile}.ready`, "");
    for await (const _ of Bun.stdin.stream()) break;
  }
  const value: unknown = await fn(...(JSON.parse(argsJson) as unknown[]));
  report({ ok: true, value });
  process.exit(0);
} catch (error) {
  report({ ok: false, error: describe(error) });
  process.exit(1);
}
