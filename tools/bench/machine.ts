/**
 * What machine a benchmark ran on: CPU, cores, kernel, the C library,
 * the compilers and Bun, and how busy the machine was (load average).
 */
import fs from "node:fs";
import os from "node:os";

/** The description stored with every result. */
export interface Machine {
  cpu: string;
  cores: number;
  arch: string;
  kernel: string;
  os: string;
  memoryGiB: number;
  bun: string;
  compiler: string;
  /** os.loadavg() when the run started and when it ended: 1, 5 and 15 minutes. */
  loadStart: number[];
  loadEnd: number[];
}

function cpuModel(): string {
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? /^Hardware\s*:\s*(.+)$/m.exec(info)?.[1];
    if (model) return model.trim();
  } catch {
    // not Linux, or /proc hidden
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

/** The first line of `compiler --version`. */
export function compilerVersion(compiler: string): string {
  const run = Bun.spawnSync([compiler, "--version"], { stdout: "pipe", stderr: "pipe" });
  return run.stdout.toString().split("\n")[0]?.trim() || compiler;
}

const round = (load: number[]) => load.map((n) => Math.round(n * 100) / 100);

/** Describes this machine now; `finish()` adds the load at the end. */
export function describeMachine(compiler: string): Machine {
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    arch: process.arch,
    kernel: `${os.type()} ${os.release()}`,
    os: osName(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    bun: Bun.version,
    compiler: compilerVersion(compiler),
    loadStart: round(os.loadavg()),
    loadEnd: [],
  };
}

/** Records the load average at the end of the run. */
export function finish(machine: Machine): void {
  machine.loadEnd = round(os.loadavg());
}
