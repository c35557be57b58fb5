/**
 * What every exercise file shares: `todo()` marks a task the student has
 * not done yet, and `runDemo()` runs a file's demonstration, turning an
 * unfinished task into directions instead of a stack trace.
 */

/** Thrown by a task that is still a TODO. */
export class TodoError extends Error {
  constructor(
    readonly chapter: string,
    readonly task: number,
    readonly what: string,
    /** The heading of the chapter section that teaches it. */
    readonly read: string,
  ) {
    super(`Task ${task} of chapter ${chapter} is not done yet: ${what}`);
    this.name = "TodoError";
  }
}

/** A task's placeholder body: throws a TodoError that says what to do and where to read. */
export function todo(chapter: string, task: number, what: string, read: string): never {
  throw new TodoError(chapter, task, what, read);
}

/** The anchor mdBook gives a heading: "Races on shared memory" → "races-on-shared-memory". */
export function headingAnchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .trim()
    .replace(/\s+/g, "-");
}

/**
 * Runs an exercise's demonstration. Exits 0 when it completes; on a TODO
 * prints which task to do and where to read, and exits 1.
 */
export async function runDemo(demo: () => Promise<void> | void): Promise<void> {
  try {
    await demo();
  } catch (error) {
    if (!(error instanceof TodoError)) throw error;
    const anchor = headingAnchor(error.read);
    console.error(
      [
        "",
        `✗ ${error.message}`,
        "",
        `  Read "${error.read}" in chapter ${error.chapter}: chapters/${error.chapter}.md#${anchor}`,
        `  (in the served book: http://localhost:3000/${error.chapter}.html#${anchor})`,
        `  Then run this file again, or check every task with: bun run check ${error.chapter.slice(0, 2)}`,
        "",
      ].join("\n"),
    );
    process.exit(1);
  }
}
