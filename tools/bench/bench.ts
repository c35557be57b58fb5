/**
 * `bun run bench`: how fast each IPC mechanism of the book is, from
 * TypeScript through this library and from C doing the same protocol, in
 * one run, with what a Bun user would reach for instead.
 *
 *   bun run bench                 the full run: writes bench-results/latest.json,
 *                                 latest.md (the table) and latest.svg (the chart),
 *                                 and the chart chapter 11 shows (chapters/img/11-results.svg)
 *   bun run bench --quick         a seconds-long smoke run (the test suite's); writes
 *                                 files only with --out
 *   bun run bench --out DIR       write the JSON, table and chart into DIR instead
 *   bun run bench --only ring,pipe  only these mechanisms
 *   bun run bench --repeats N     runs of each measurement (the median is kept)
 *
 * Every measurement is a fresh process: `bun tools/bench/ts/run.ts` for
 * TypeScript, and the C program tools/bench/c/ipcbench.c, compiled by this
 * script with cc (or gcc) into a temporary folder. Each prints one line of
 * JSON. Latency is a ping-pong of 64 bytes (median and 99th percentile of
 * the round trips), with both processes on one core (taskset -c 0) so that
 * a round trip is two context switches and not two wake-ups of an idle
 * core; throughput is one-way streaming of 64 B, 4 KiB and 64 KiB
 * messages, on all the cores. The TypeScript/C ratio is "how many times C's time
 * TypeScript takes": 1.00 is as fast as C.
 *
 * Nothing is left behind: every name a run makes carries its pid, and
 * after each run whatever it left (a run killed at its time limit) is
 * removed from /dev/shm, /dev/mqueue, /tmp and the System V queues.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describeMachine, finish, type Machine } from "./machine.ts";
import { chart, shortNumber } from "./svg.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const RUN_TS = path.join(import.meta.dir, "ts", "run.ts");
const C_SOURCE = path.join(import.meta.dir, "c", "ipcbench.c");

/* ------------------------------------------------------------------ */
/* What is measured                                                    */

/** One mechanism of the table. */
export interface MechanismSpec {
  id: string;
  label: string;
  /** kernel: the kernel carries the data; shm: shared memory; ffi: no library, bun:ffi only; bun: Bun's own. */
  group: "kernel" | "shm" | "ffi" | "bun";
  /** The C program's name for the same protocol, or null if there is none. */
  c: string | null;
  /** Messages above this size are not possible with the system's default limits. */
  maxSize?: () => { bytes: number; why: string };
  /**
   * Throughput runs send this many times the settings' count: the fast
   * mechanisms need more messages for the JIT to reach its steady state
   * and for the run to outlast the scheduler's noise.
   */
  scale?: number;
  /** Spins, so its latency is measured on two cores (unpinned), never on one. */
  twoCores?: boolean;
}

function readNumber(file: string): number {
  try {
    return Number(fs.readFileSync(file, "utf8").trim());
  } catch {
    return Infinity;
  }
}

export const MECHANISMS: MechanismSpec[] = [
  { id: "pipe", label: "pipe", group: "kernel", c: "pipe" },
  { id: "fifo", label: "FIFO", group: "kernel", c: "fifo" },
  { id: "unix-stream", label: "Unix stream socket", group: "kernel", c: "unix-stream" },
  { id: "unix-dgram", label: "Unix datagram socket", group: "kernel", c: "unix-dgram" },
  {
    id: "posix-mq",
    label: "POSIX message queue",
    group: "kernel",
    c: "posix-mq",
    maxSize: () => ({ bytes: readNumber("/proc/sys/fs/mqueue/msgsize_max"), why: "over msgsize_max (/proc/sys/fs/mqueue)" }),
  },
  {
    id: "sysv-mq",
    label: "System V message queue",
    group: "kernel",
    c: "sysv-mq",
    maxSize: () => ({ bytes: readNumber("/proc/sys/kernel/msgmax"), why: "over msgmax (/proc/sys/kernel)" }),
  },
  { id: "shm-sem", label: "shm + semaphore", group: "shm", c: "shm-sem", scale: 4 },
  { id: "shm-futex", label: "shm + futex", group: "shm", c: "shm-futex", scale: 4 },
  { id: "shm-spin", label: "shm, spinning on Atomics", group: "shm", c: "shm-spin", scale: 4, twoCores: true },
  { id: "ring", label: "capstone ring", group: "shm", c: "ring", scale: 8 },
  { id: "pipe-ffi", label: "pipe, bun:ffi only", group: "ffi", c: "pipe" },
  { id: "unix-stream-ffi", label: "Unix stream, bun:ffi only", group: "ffi", c: "unix-stream" },
  { id: "bun-ipc", label: "Bun.spawn ipc", group: "bun", c: null },
  { id: "worker", label: "Worker postMessage", group: "bun", c: null },
  { id: "node-net", label: "node:net, Unix socket", group: "bun", c: null },
];

export const SIZES = [64, 4096, 65536] as const;

/** How much each measurement does. */
export interface Settings {
  latency: { size: number; count: number; warmup: number };
  /**
   * How latency runs are placed: "taskset -c 0" puts both processes on one
   * core (except the spinning mechanism, which needs two); "none" if
   * taskset is missing. On an idle (virtual) machine a wake-up across
   * cores can cost tens of microseconds; on one core it is a plain
   * context switch.
   */
  latencyPinning?: string;
  throughput: Record<string, { count: number; warmup: number }>;
  repeats: number;
  /** Seconds before a run is killed. */
  timeout: number;
}

const FULL: Settings = {
  latency: { size: 64, count: 20_000, warmup: 2_000 },
  throughput: { "64": { count: 300_000, warmup: 30_000 }, "4096": { count: 50_000, warmup: 5_000 }, "65536": { count: 5_000, warmup: 500 } },
  repeats: 5,
  timeout: 120,
};

const QUICK: Settings = {
  latency: { size: 64, count: 300, warmup: 50 },
  throughput: { "64": { count: 3_000, warmup: 300 }, "4096": { count: 500, warmup: 50 }, "65536": { count: 50, warmup: 5 } },
  repeats: 1,
  timeout: 30,
};

/* ------------------------------------------------------------------ */
/* Results                                                             */

export interface LatencyStats {
  median_us: number;
  p99_us: number;
  mean_us: number;
  /** The median of each run, in the order run: the spread behind the median of medians. */
  runs: number[];
}

export interface ThroughputStats {
  msgs_per_s: number;
  mb_per_s: number;
  /** Messages per second of each run, in the order run. */
  runs: number[];
}

/** One side of one measurement: the statistics, or why there are none. */
type Side<T> = T | null;

export interface MechanismResult {
  id: string;
  label: string;
  group: MechanismSpec["group"];
  c: string | null;
  /** Throughput runs sent this many times the settings' count (full runs only). */
  scale: number;
  latency: { ts: Side<LatencyStats>; c: Side<LatencyStats>; ratio: number | null };
  throughput: Record<string, { ts: Side<ThroughputStats>; c: Side<ThroughputStats>; ratio: number | null }>;
  /** Why a measurement is missing. */
  notes: string[];
}

export interface Target {
  name: string;
  /** The measured value, in the unit of `limit`. */
  value: number | null;
  limit: string;
  met: boolean | null;
}

export interface BenchResult {
  schema: 1;
  generated: string;
  command: string;
  quick: boolean;
  machine: Machine;
  settings: Settings;
  mechanisms: MechanismResult[];
  targets: Target[];
}

/* ------------------------------------------------------------------ */
/* Running one measurement                                             */

interface Outcome {
  value: Record<string, number> | null;
  error?: string;
}

/** Runs argv with a time limit in its own process group; parses its last line as JSON. */
async function measure(argv: string[], timeoutSeconds: number): Promise<Outcome & { pid: number }> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", detached: true, cwd: ROOT });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }, timeoutSeconds * 1000);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const code = await child.exited;
  clearTimeout(timer);
  try {
    process.kill(-child.pid, "SIGKILL"); // anything of its group still running
  } catch {
    // the group is gone
  }
  if (timedOut) return { pid: child.pid, value: null, error: `timed out after ${timeoutSeconds} s` };
  const line = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || !line.startsWith("{")) {
    const why = stderr.trim().split("\n").filter((l) => /\S/.test(l)).at(-1) ?? `exit status ${code}`;
    return { pid: child.pid, value: null, error: why.slice(0, 200) };
  }
  return { pid: child.pid, value: JSON.parse(line) as Record<string, number> };
}

/** Removes whatever the run with this pid may have left: its names carry the pid. */
function sweep(pid: number): string[] {
  const removed: string[] = [];
  const mark = `ipcbook-bench-${pid}-`;
  for (const dir of ["/dev/shm", "/dev/mqueue", os.tmpdir()]) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir)) {
      if (entry.startsWith(mark)) {
        fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
        removed.push(path.join(dir, entry));
      }
    }
  }
  try {
    const key = 0x49000000 + pid; // tools/bench/ts/channels.ts sysvKey(), and ipcbench.c
    const rows = fs.readFileSync("/proc/sysvipc/msg", "utf8").trim().split("\n").slice(1);
    for (const row of rows) {
      const [k, id] = row.trim().split(/\s+/).map(Number);
      if (k === key) {
        Bun.spawnSync(["ipcrm", "-q", String(id)]);
        removed.push(`System V queue ${id}`);
      }
    }
  } catch {
    // no System V IPC here
  }
  return removed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Several runs of one measurement: the median of each statistic, each run's `key`, or the last error. */
function combine(outcomes: Outcome[], key: string): { value: Record<string, number> | null; runs: number[]; error?: string } {
  const good = outcomes.filter((o) => o.value !== null).map((o) => o.value!);
  if (good.length === 0) return { value: null, runs: [], error: outcomes.at(-1)?.error };
  const keys = Object.keys(good[0]!);
  return { value: Object.fromEntries(keys.map((k) => [k, median(good.map((g) => g[k]!))])), runs: good.map((g) => Number(g[key]!.toPrecision(4))) };
}

/* ------------------------------------------------------------------ */
/* The table                                                           */

function fmtRatio(ratio: number | null): string {
  return ratio === null ? "—" : `${ratio.toFixed(2)}×`;
}

function fmtRate(stats: Side<ThroughputStats>, size: number): string {
  if (stats === null) return "—";
  return size >= 4096 ? String(Math.round(stats.mb_per_s)) : shortNumber(stats.msgs_per_s, "/s");
}

/** The results as Markdown tables (what chapter 11 includes), and the targets under them. */
export function markdownTable(result: BenchResult): string {
  const us = (v: number | undefined) => (v === undefined ? "—" : v.toFixed(1));
  const latency = [
    "Round trip of 64 bytes, in µs:",
    "",
    "| mechanism | TS median | TS p99 | C median | C p99 | TS/C |",
    "|---|--:|--:|--:|--:|--:|",
    ...result.mechanisms.map(
      (m) => `| ${m.label} | ${us(m.latency.ts?.median_us)} | ${us(m.latency.ts?.p99_us)} | ${us(m.latency.c?.median_us)} | ${us(m.latency.c?.p99_us)} | ${fmtRatio(m.latency.ratio)} |`,
    ),
  ];
  const small = [
    "Throughput of 64-byte messages, per second:",
    "",
    "| mechanism | TS | C | TS/C |",
    "|---|--:|--:|--:|",
    ...result.mechanisms.map((m) => {
      const t = m.throughput["64"]!;
      return `| ${m.label} | ${fmtRate(t.ts, 64)} | ${fmtRate(t.c, 64)} | ${fmtRatio(t.ratio)} |`;
    }),
  ];
  const large = [
    "Throughput of 4 KiB and 64 KiB messages, in MB/s:",
    "",
    "| mechanism | 4 KiB: TS | C | TS/C | 64 KiB: TS | C | TS/C |",
    "|---|--:|--:|--:|--:|--:|--:|",
    ...result.mechanisms.map((m) => {
      const cells = [4096, 65536].flatMap((size) => {
        const t = m.throughput[String(size)]!;
        return [fmtRate(t.ts, size), fmtRate(t.c, size), fmtRatio(t.ratio)];
      });
      return `| ${m.label} | ${cells.join(" | ")} |`;
    }),
  ];
  const notes = result.mechanisms.flatMap((m) => m.notes.map((n) => `- ${m.label}: ${n}`));
  const range = (runs: number[] | undefined) => (runs && runs.length > 1 ? `${shortNumber(Math.min(...runs), "/s")} to ${shortNumber(Math.max(...runs), "/s")}` : null);
  const spread = result.mechanisms
    .filter((m) => m.group === "shm" && range(m.throughput["64"]?.ts?.runs))
    .map((m) => `- ${m.label}: TypeScript ${range(m.throughput["64"]!.ts!.runs)}, C ${range(m.throughput["64"]!.c?.runs) ?? "—"}`);
  const targets = result.targets.map((t) => `- ${t.met === null ? "?" : t.met ? "✓" : "✗"} ${t.name}: ${t.value === null ? "not measured" : `${t.value.toFixed(2)}`} (${t.limit})`);
  const m = result.machine;
  return [
    `Measured ${result.generated.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.arch}), ${m.kernel}, ${m.os}, Bun ${m.bun}, ${m.compiler}; load average ${m.loadStart.join(", ")} at the start and ${m.loadEnd.join(", ")} at the end.${result.quick ? " A quick run: indicative only." : ""} Round trips: ${result.settings.latencyPinning ?? "unpinned"}. TS/C is TypeScript's time divided by C's: 1.00× is as fast as C. Regenerate with \`${result.command}\`.`,
    "",
    ...latency,
    "",
    ...small,
    "",
    ...large,
    "",
    ...(notes.length > 0 ? ["Not measured:", "", ...notes, ""] : []),
    ...(spread.length > 0 ? [`64-byte throughput of the shared-memory mechanisms, slowest and fastest of the ${result.settings.repeats} runs:`, "", ...spread, ""] : []),
    "Targets:",
    "",
    ...targets,
    "",
  ].join("\n");
}

/* ------------------------------------------------------------------ */
/* Targets of issue 9                                                  */

function targets(mechanisms: MechanismResult[]): Target[] {
  const byId = new Map(mechanisms.map((m) => [m.id, m]));
  const out: Target[] = [];
  for (const m of mechanisms.filter((x) => x.group === "kernel")) {
    const r = m.latency.ratio;
    out.push({ name: `${m.label}: round trip, TypeScript over C`, value: r, limit: "at most 1.25", met: r === null ? null : r <= 1.25 });
  }
  const ring = byId.get("ring");
  if (ring) {
    const t = ring.throughput["64"]!;
    const share = t.ts && t.c ? t.ts.msgs_per_s / t.c.msgs_per_s : null;
    out.push({ name: "capstone ring, 64 B: TypeScript's rate as a share of C's", value: share, limit: "at least 0.50", met: share === null ? null : share >= 0.5 });
    const ipc = byId.get("bun-ipc")?.throughput["64"]?.ts;
    const times = t.ts && ipc ? t.ts.msgs_per_s / ipc.msgs_per_s : null;
    out.push({ name: "capstone ring, 64 B: rate over Bun.spawn ipc's", value: times, limit: "at least 20", met: times === null ? null : times >= 20 });
  }
  return out;
}

/* ------------------------------------------------------------------ */

function compile(dir: string): { binary: string; compiler: string } {
  const compiler = Bun.which("cc") ? "cc" : Bun.which("gcc") ? "gcc" : null;
  if (compiler === null) throw new Error("bench: no C compiler (cc or gcc) on PATH; install gcc and the libc headers (libc6-dev)");
  const binary = path.join(dir, "ipcbench");
  const run = Bun.spawnSync([compiler, "-O2", "-Wall", "-o", binary, C_SOURCE], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`bench: compiling ${C_SOURCE} failed:\n${run.stderr.toString()}`);
  return { binary, compiler };
}

interface Options {
  quick: boolean;
  out: string | null;
  only: string[] | null;
  repeats: number | null;
  chapter: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, out: null, only: null, repeats: null, chapter: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") options.quick = true;
    else if (arg === "--out") options.out = argv[++i] ?? null;
    else if (arg === "--only") options.only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (arg === "--repeats") options.repeats = Number(argv[++i]);
    else if (arg === "--help" || arg === "-h") {
      console.log(fs.readFileSync(import.meta.path, "utf8").split("*/")[0]!.replace(/^\/\*\*?|^ \* ?/gm, ""));
      process.exit(0);
    } else {
      console.error(`bench: unknown option ${arg} (try --help)`);
      process.exit(2);
    }
  }
  if (options.only) {
    const unknown = options.only.filter((id) => !MECHANISMS.some((m) => m.id === id));
    if (unknown.length > 0) {
      console.error(`bench: unknown mechanism ${unknown.join(", ")}; known: ${MECHANISMS.map((m) => m.id).join(", ")}`);
      process.exit(2);
    }
  }
  if (options.repeats !== null && (!Number.isInteger(options.repeats) || options.repeats < 1)) {
    console.error("bench: --repeats takes a whole number of at least 1");
    process.exit(2);
  }
  return options;
}

/** Runs the benchmark and returns (and writes) its results. */
export async function runBench(argv: string[]): Promise<BenchResult> {
  const options = parseArgs(argv);
  const settings: Settings = { ...(options.quick ? QUICK : FULL) };
  if (options.repeats !== null) settings.repeats = options.repeats;
  const specs = MECHANISMS.filter((m) => options.only === null || options.only.includes(m.id));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ipcbook-bench-build-"));
  try {
    const { binary, compiler } = compile(work);
    const machine = describeMachine(compiler);
    const command = ["bun run bench", ...argv].join(" ");
    console.log(`${command}\n${machine.cpu}, ${machine.cores} cores, ${machine.kernel}, Bun ${machine.bun}; load average ${machine.loadStart.join(" ")}`);
    if (!options.quick && machine.loadStart[0]! > machine.cores / 2) {
      console.log(`note: the machine is busy (load ${machine.loadStart[0]} on ${machine.cores} cores); numbers will be noisy`);
    }

    // Every measurement: [spec, "latency" | size].
    type Job = { spec: MechanismSpec; kind: "latency" | number };
    const jobs: Job[] = specs.flatMap((spec) => [{ spec, kind: "latency" as const }, ...SIZES.map((size) => ({ spec, kind: size }))]);
    const raw = new Map<string, { ts: Outcome[]; c: Outcome[] }>();
    const skipped = new Map<string, string>();
    const key = (job: Job) => `${job.spec.id}:${job.kind}`;
    for (const job of jobs) {
      raw.set(key(job), { ts: [], c: [] });
      const size = job.kind === "latency" ? settings.latency.size : job.kind;
      const limit = job.spec.maxSize?.();
      if (limit && size > limit.bytes) skipped.set(key(job), `${size >= 1024 ? `${size / 1024} KiB` : `${size} B`} messages: ${limit.why}, ${limit.bytes} bytes`);
    }

    const taskset = Bun.which("taskset");
    settings.latencyPinning = taskset ? "taskset -c 0: both processes on one core (shm-spin: unpinned, on two)" : "none: taskset not found";
    const started = performance.now();
    for (let round = 0; round < settings.repeats; round++) {
      for (const job of jobs) {
        if (skipped.has(key(job))) continue;
        const base = job.kind === "latency" ? settings.latency : { size: job.kind, ...settings.throughput[String(job.kind)]! };
        const scale = job.kind === "latency" || options.quick ? 1 : (job.spec.scale ?? 1);
        const { size } = base;
        const [count, warmup] = [base.count * scale, base.warmup * scale];
        const mode = job.kind === "latency" ? "latency" : "throughput";
        const args = [String(size), String(count), String(warmup)];
        const sides: ("ts" | "c")[] = job.spec.c === null ? ["ts"] : round % 2 === 0 ? ["ts", "c"] : ["c", "ts"];
        for (const side of sides) {
          const pin = mode === "latency" && taskset && !job.spec.twoCores ? [taskset, "-c", "0"] : [];
          const argv = [...pin, ...(side === "ts" ? [process.execPath, RUN_TS, job.spec.id, mode, ...args] : [binary, job.spec.c!, mode, ...args])];
          const outcome = await measure(argv, settings.timeout);
          const left = sweep(outcome.pid);
          if (left.length > 0) console.log(`  removed what a killed run left: ${left.join(", ")}`);
          raw.get(key(job))![side].push(outcome);
          const shown = outcome.value
            ? mode === "latency"
              ? `${outcome.value.median_us!.toFixed(2)} µs median`
              : `${shortNumber(outcome.value.msgs_per_s!, "/s")}, ${outcome.value.mb_per_s!.toFixed(0)} MB/s`
            : `failed: ${outcome.error}`;
          console.log(`  [${round + 1}/${settings.repeats}] ${job.spec.id.padEnd(16)} ${String(job.kind).padEnd(8)} ${side === "ts" ? "TS" : "C "}  ${shown}`);
        }
      }
    }

    const mechanisms: MechanismResult[] = specs.map((spec) => {
      const notes: string[] = [];
      const pick = (kind: "latency" | number) => {
        const k = `${spec.id}:${kind}`;
        if (skipped.has(k)) {
          notes.push(skipped.get(k)!);
          return { ts: null, c: null };
        }
        const entry = raw.get(k)!;
        const key = kind === "latency" ? "median_us" : "msgs_per_s";
        const ts = combine(entry.ts, key);
        const c = spec.c === null ? { value: null, runs: [] as number[], error: undefined } : combine(entry.c, key);
        if (ts.value === null) notes.push(`${kind === "latency" ? "round trip" : `${kind} B`} from TypeScript: ${ts.error}`);
        if (spec.c !== null && c.value === null) notes.push(`${kind === "latency" ? "round trip" : `${kind} B`} from C: ${c.error}`);
        return { ts: ts.value, c: c.value, tsRuns: ts.runs, cRuns: c.runs };
      };
      const lat = pick("latency");
      const latency = {
        ts: lat.ts === null ? null : { median_us: lat.ts.median_us!, p99_us: lat.ts.p99_us!, mean_us: lat.ts.mean_us!, runs: lat.tsRuns! },
        c: lat.c === null ? null : { median_us: lat.c.median_us!, p99_us: lat.c.p99_us!, mean_us: lat.c.mean_us!, runs: lat.cRuns! },
        ratio: null as number | null,
      };
      if (latency.ts && latency.c) latency.ratio = latency.ts.median_us / latency.c.median_us;
      const throughput: MechanismResult["throughput"] = {};
      for (const size of SIZES) {
        const t = pick(size);
        const ts = t.ts === null ? null : { msgs_per_s: t.ts.msgs_per_s!, mb_per_s: t.ts.mb_per_s!, runs: t.tsRuns! };
        const c = t.c === null ? null : { msgs_per_s: t.c.msgs_per_s!, mb_per_s: t.c.mb_per_s!, runs: t.cRuns! };
        throughput[String(size)] = { ts, c, ratio: ts && c ? c.msgs_per_s / ts.msgs_per_s : null };
      }
      return { id: spec.id, label: spec.label, group: spec.group, c: spec.c, scale: options.quick ? 1 : (spec.scale ?? 1), latency, throughput, notes };
    });
    finish(machine);
    const result: BenchResult = {
      schema: 1,
      generated: new Date().toISOString(),
      command,
      quick: options.quick,
      machine,
      settings,
      mechanisms,
      targets: targets(mechanisms),
    };

    const table = markdownTable(result);
    console.log(`\n${table}`);
    console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const out = options.out ?? (options.quick ? null : path.join(ROOT, "bench-results"));
    if (out !== null) {
      fs.mkdirSync(out, { recursive: true });
      const base = path.join(out, "latest");
      fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
      fs.writeFileSync(`${base}.md`, table);
      fs.writeFileSync(`${base}.svg`, chart(result));
      console.log(`wrote ${base}.json, ${base}.md and ${base}.svg`);
      if (options.out === null && !options.quick && options.only === null) {
        const image = path.join(ROOT, "chapters", "img", "11-results.svg");
        fs.copyFileSync(`${base}.svg`, image);
        console.log(`and the chart for chapter 11: ${path.relative(ROOT, image)}`);
      }
    } else console.log("(a quick run writes no files; give --out DIR to keep its JSON, table and chart)");
    return result;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) await runBench(process.argv.slice(2));
