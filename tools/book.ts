/**
 * Builds or serves the book with the project's mdBook (.tools/bin/mdbook,
 * installed by tools/setup.mjs), making sure the Shiki preprocessor finds
 * the project's Bun.
 *
 *   bun run book          build and serve on http://localhost:3000
 *   bun run book:build    build the static site into book/
 */
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "..");
const LOCAL_MDBOOK = path.join(ROOT, ".tools", "bin", "mdbook");
const PORT = process.env.PORT ?? "3000";

const mode = process.argv[2];
if (mode !== "build" && mode !== "serve") {
  console.error("usage: bun tools/book.ts build|serve");
  process.exit(2);
}

const mdbook = fs.existsSync(LOCAL_MDBOOK) ? LOCAL_MDBOOK : Bun.which("mdbook");
if (!mdbook) {
  console.error("mdBook 0.5.4 is not installed: run `node tools/setup.mjs` (or `npm start`) first.");
  process.exit(1);
}

const env = {
  ...process.env,
  PATH: [path.join(ROOT, "node_modules", ".bin"), path.dirname(process.execPath), process.env.PATH].join(":"),
};
const args = mode === "build" ? ["build"] : ["serve", "--hostname", "127.0.0.1", "--port", PORT];

if (mode === "serve") {
  console.log(
    [
      "",
      `  The book: http://localhost:${PORT}/  (Ctrl+C stops the server)`,
      "",
      `  Begin with the introduction: http://localhost:${PORT}/00-intro.html`,
      "  Then start the shared-memory exercise in another terminal:",
      "    npx bun run exercises/03-shm.ts     (or: bun run exercises/03-shm.ts, with Bun installed)",
      `  and read chapter 03 beside it: http://localhost:${PORT}/03-shm.html`,
      "",
    ].join("\n"),
  );
}

const child = Bun.spawn([mdbook, ...args], { cwd: ROOT, env, stdio: ["inherit", "inherit", "inherit"] });
process.on("SIGINT", () => child.kill("SIGINT"));
process.exit(await child.exited);
