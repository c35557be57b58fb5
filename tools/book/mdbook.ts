/**
 * The mdBook 0.5 preprocessor protocol, shared by the book's preprocessors
 * (shiki-preprocessor.ts, api-preprocessor.ts): the shapes of the context
 * and the book that mdBook writes on stdin, and walking the chapters.
 */

/** A chapter as mdBook 0.5 serialises it. Other keys are kept as they are. */
export interface Chapter {
  name: string;
  content: string;
  number: number[] | null;
  sub_items: BookItem[];
  path: string | null;
  source_path: string | null;
  parent_names: string[];
}

/** An entry of the book: a chapter, a part title, or a separator. */
export type BookItem = { Chapter: Chapter } | { PartTitle: string } | "Separator";

/** The book as mdBook 0.5 serialises it. */
export interface Book {
  items: BookItem[];
}

/** What mdBook passes as the first element of the stdin array. */
export interface PreprocessorContext {
  root: string;
  renderer: string;
  mdbook_version: string;
  config: { preprocessor?: Record<string, Record<string, unknown> | undefined> } & Record<string, unknown>;
}

/** Calls `visit` for every chapter, depth first, in book order. */
export function forEachChapter(items: readonly BookItem[], visit: (chapter: Chapter) => void): void {
  for (const item of items) {
    if (typeof item === "object" && "Chapter" in item) {
      visit(item.Chapter);
      forEachChapter(item.Chapter.sub_items, visit);
    }
  }
}

/** Checks the parsed stdin and returns its two parts. */
export function parseInput(json: unknown): [PreprocessorContext, Book] {
  if (!Array.isArray(json) || json.length !== 2) {
    throw new Error("expected a JSON array [context, book] on stdin");
  }
  const [context, book] = json as [unknown, unknown];
  if (typeof context !== "object" || context === null || !("config" in context)) {
    throw new Error("the first element of the input is not an mdBook context");
  }
  if (typeof book !== "object" || book === null || !Array.isArray((book as { items?: unknown }).items)) {
    throw new Error("the book has no `items` array (this preprocessor needs mdBook 0.5; 0.4 used `sections`)");
  }
  return [context as PreprocessorContext, book as Book];
}

/**
 * A preprocessor's entry point: runs `main` with the command-line
 * arguments, sets the exit status it returns, and turns a thrown error into
 * one line on stderr and status 1 (mdBook shows stderr and stops).
 */
export async function runPreprocessor(name: string, main: (args: string[]) => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main(Bun.argv.slice(2));
  } catch (error) {
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
