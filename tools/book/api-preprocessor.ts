/**
 * mdBook 0.5 preprocessor: replaces a marker line
 *
 *   <!-- api-reference: lib/index.ts -->
 *
 * in any chapter with the API reference generated from the TSDoc comments
 * of that entry module (see api-reference.ts). Declared in book.toml as
 * `[preprocessor.api-reference]`, before `shiki` so that the generated code
 * blocks are highlighted like every other listing.
 *
 * An undocumented export fails the build: the preprocessor prints each one
 * with its file and line and exits 1, and mdBook stops.
 *
 * Run on its own to check the library without building the book:
 *
 *   bun tools/book/api-preprocessor.ts check [lib/index.ts]
 */
import path from "node:path";
import { generateApiReference } from "./api-reference.ts";
import { forEachChapter, parseInput, runPreprocessor, type Book } from "./mdbook.ts";

const NAME = "api-reference";
/** `<!-- api-reference: PATH -->` on a line of its own. */
export const MARKER = /^<!--\s*api-reference:\s*(\S+)\s*-->[ \t]*$/gm;

/**
 * Replaces every marker in the book's chapters with the reference for the
 * module it names (a path relative to `root`). Each module is generated
 * once. Throws `UndocumentedError` for an undocumented export.
 */
export function expandMarkers(book: Book, root: string): Book {
  const generated = new Map<string, string>();
  forEachChapter(book.items, (chapter) => {
    chapter.content = chapter.content.replace(MARKER, (_, entry: string) => {
      let reference = generated.get(entry);
      if (reference === undefined) {
        reference = generateApiReference(path.resolve(root, entry), { root });
        generated.set(entry, reference);
      }
      return reference;
    });
  });
  return book;
}

async function main(args: readonly string[]): Promise<number> {
  if (args[0] === "supports") return args[1] === "html" ? 0 : 1;
  if (args[0] === "check") {
    const root = path.resolve(import.meta.dir, "..", "..");
    generateApiReference(path.resolve(root, args[1] ?? "lib/index.ts"), { root });
    console.error(`${NAME}: every export is documented`);
    return 0;
  }
  if (args.length > 0) {
    console.error(`${NAME}: unexpected arguments: ${args.join(" ")}`);
    return 2;
  }
  const [context, book] = parseInput(JSON.parse(await Bun.stdin.text()));
  const root = typeof context.root === "string" ? context.root : process.cwd();
  expandMarkers(book, root);
  await Bun.write(Bun.stdout, JSON.stringify(book));
  return 0;
}

if (import.meta.main) await runPreprocessor(NAME, main);
