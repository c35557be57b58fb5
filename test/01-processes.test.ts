/**
 * Graded tests of chapter 01 (processes). The student's functions run in
 * their own processes; every verdict comes from what the test observes
 * itself: the marker files the workers leave (their pids and the
 * arguments they received), the lines in the log file, and whether a
 * planted command created its file.
 *
 *   bun test test/01-processes.test.ts                              grades exercises/
 *   IPC_EXERCISES_DIR=solutions bun test test/01-processes.test.ts  grades another folder
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomInt } from "node:crypto";
import { gradedChapter, must } from "./harness/task.ts";

const { task } = gradedChapter("01-processes");

/**
 * The pool's worker, a shell script. It records its pid and its fifth
 * argument in DIR/started-I, waits until all N workers have started (or
 * gives up after 4 to 5 s and exits with 99), then exits with a code or
 * kills itself with a signal, as ACTION says ("exit:7", "signal:TERM").
 */
const WORKER = `
dir=$1 i=$2 n=$3 action=$4
printf '%s\\n%s' "$$" "$5" > "$dir/started-$i.tmp" && mv "$dir/started-$i.tmp" "$dir/started-$i"
deadline=$(( $(date +%s) + 5 ))
while [ "$(ls "$dir" | grep -c '^started-[0-9]*$')" -lt "$n" ]; do
  [ "$(date +%s)" -ge "$deadline" ] && exit 99
  sleep 0.01
done
case $action in
  exit:*) exit "\${action#exit:}" ;;
  signal:*) kill -s "\${action#signal:}" "$$"; sleep 5; exit 98 ;;
esac
`;

const SIGNALS = ["TERM", "KILL", "USR1", "USR2", "HUP", "ALRM"];

interface Outcome {
  pid: number;
  exitCode: number | null;
  signal: string | null;
}

task(
  {
    number: 1,
    title: "run a pool of processes at once and collect how each ended",
    points: 4,
    read: "Waiting for children",
    hint: "Start them all first (spawn() or Bun.spawn with an argument vector), then wait for each: an exit gives a code, a death by signal gives the signal's name and no code.",
    timeoutMs: 40_000, // room for a pool run one at a time to fail with a clear message
  },
  async (t) => {
    const dir = t.scratch("pool");
    const size = 5;
    const strange = `a b; touch ${dir}/INJECTED $(id) '"`;
    const plans = Array.from({ length: size }, (_, i) =>
      i % 2 === 0 || i === size - 1 ? { exit: randomInt(0, 90) } : { signal: SIGNALS[randomInt(SIGNALS.length)]! },
    );
    plans[randomInt(size)] = { signal: SIGNALS[randomInt(SIGNALS.length)]! }; // at least one death by signal
    const commands = plans.map((plan, i) => [
      "sh",
      "-c",
      WORKER,
      "worker",
      dir,
      String(i),
      String(size),
      "exit" in plan ? `exit:${plan.exit}` : `signal:${plan.signal}`,
      strange,
    ]);

    const result = await t.call("runPool", [commands]);
    t.done(result, "runPool()");
    const outcomes = result.value as Outcome[];
    must(Array.isArray(outcomes) && outcomes.length === size, `runPool() returned ${JSON.stringify(outcomes)}; expected ${size} outcomes, one per command`);
    must(!fs.existsSync(path.join(dir, "INJECTED")), "an argument was interpreted by a shell: pass each argument vector as it is, with no shell");

    plans.forEach((plan, i) => {
      const marker = path.join(dir, `started-${i}`);
      must(fs.existsSync(marker), `command ${i + 1} never ran`);
      const [pid, argument] = fs.readFileSync(marker, "utf8").split("\n");
      must(argument === strange, `command ${i + 1} received its last argument as ${JSON.stringify(argument)} instead of ${JSON.stringify(strange)}`);
      const got = outcomes[i]!;
      must(got.pid === Number(pid), `outcome ${i + 1} has pid ${got.pid}, but command ${i + 1} ran as pid ${pid}: keep the outcomes in the order of the commands`);
      if (got.exitCode === 99) {
        must(false, `command ${i + 1} gave up waiting for the others to start (exit code 99): start every command before waiting for any`);
      }
      if ("exit" in plan) {
        must(
          got.exitCode === plan.exit && got.signal === null,
          `command ${i + 1} exited with code ${plan.exit}; runPool() reported exitCode ${got.exitCode}, signal ${got.signal}`,
        );
      } else {
        must(
          got.signal === `SIG${plan.signal}` && got.exitCode === null,
          `command ${i + 1} was killed by SIG${plan.signal}; runPool() reported exitCode ${got.exitCode}, signal ${got.signal} (a killed process has no exit code)`,
        );
      }
    });
  },
);

/** The worker of task 2: writes one line to descriptor 3 and exits with the code it is given. */
const LOG_WORKER = 'echo "worker $$ (parent $PPID) $1" >&3 || exit 90; exit "$2"';

task(
  {
    number: 2,
    title: "hand a child an open file as its descriptor 3",
    points: 3,
    read: "What the child inherits",
    hint: "Open the log for appending, write your line, then spawn the worker with a file action dup2(log, 3) (or Bun.spawn's stdio: [.., .., .., log]); wait, write the second line, close.",
  },
  async (t) => {
    const log = path.join(t.scratch("log"), "shared.log");
    const earlier = `an earlier line ${randomBytes(4).toString("hex")}\n`;
    fs.writeFileSync(log, earlier);
    const token = randomBytes(6).toString("hex");
    const code = randomInt(0, 50);
    const result = await t.call("shareLog", [log, ["sh", "-c", LOG_WORKER, "worker", token, String(code)]]);
    t.done(result, "shareLog()");

    const text = fs.readFileSync(log, "utf8");
    must(text.startsWith(earlier), "the log lost the line it held before: open it for appending");
    const lines = text.slice(earlier.length).split("\n");
    must(lines.at(-1) === "", "the log should end with a newline");
    const start = /^parent (\d+): start$/.exec(lines[0] ?? "");
    must(start, `the first new line should be "parent PID: start", not ${JSON.stringify(lines[0])}`);
    const worker = /^worker (\d+) \(parent (\d+)\) (\S+)$/.exec(lines[1] ?? "");
    must(
      worker,
      lines[1]?.startsWith("parent")
        ? "the worker wrote nothing to the log: give it the open log as its descriptor 3"
        : `the second new line should be the worker's, not ${JSON.stringify(lines[1])}`,
    );
    must(worker[3] === token, "the worker's line is not the one the worker wrote");
    must(worker[2] === start[1], `the worker's parent was ${worker[2]}, not the process that wrote "parent ${start[1]}: start": start it directly`);
    must(lines[2] === `parent ${start[1]}: done`, `after the worker, the log should say "parent ${start[1]}: done", not ${JSON.stringify(lines[2])}`);
    must(lines.length === 4, `the log has extra lines: ${JSON.stringify(lines.slice(3))}`);
    must(result.value === code, `the worker exited with ${code}; shareLog() returned ${JSON.stringify(result.value)}`);
  },
);

task(
  {
    number: 3,
    title: "search a file with grep, safe from crafted patterns and names",
    points: 3,
    read: "The fix: argument vectors",
    hint: 'Run ["grep", "-F", "-e", pattern, "--", file] with run() or Bun.spawn: no shell, -e for a pattern that starts with a dash, -- before the name. Exit code 1 means no match; 2 means an error.',
  },
  async (t) => {
    const dir = t.scratch("grep");
    // A planted command creates a file named INJECTED…, here (absolute) or in the student's working directory (relative).
    const marker = path.join(dir, "INJECTED");
    const injected = () =>
      [dir, path.dirname(dir)].some((folder) => fs.readdirSync(folder).some((entry) => entry.startsWith("INJECTED")));
    const tag = randomBytes(3).toString("hex");
    const lines = [
      `it's ${tag} raining`,
      `a; touch ${marker} ${tag}`,
      `-v starts with a dash ${tag}`,
      `nothing to see`,
      `$(touch ${marker}) ${tag}`,
    ];
    const names = [`notes; touch INJECTED-1.txt`, `-rf ${tag}.txt`, `$(touch INJECTED-2) '.txt`];
    for (const name of names) fs.writeFileSync(path.join(dir, name), `${lines.join("\n")}\n`);

    const cases: { pattern: string; file: string; expected: string[] }[] = [
      { pattern: tag, file: path.join(dir, names[0]!), expected: lines.filter((l) => l.includes(tag)) },
      { pattern: `it's ${tag}`, file: path.join(dir, names[0]!), expected: [lines[0]!] },
      { pattern: `a; touch ${marker}`, file: path.join(dir, names[2]!), expected: [lines[1]!] },
      { pattern: "-v starts", file: path.join(dir, names[1]!), expected: [lines[2]!] },
      { pattern: `$(touch ${marker})`, file: path.join(dir, names[0]!), expected: [lines[4]!] },
      { pattern: tag, file: path.join(dir, names[1]!), expected: lines.filter((l) => l.includes(tag)) },
      { pattern: `'; touch ${marker}; echo '`, file: path.join(dir, names[2]!), expected: [] },
    ];
    for (const c of cases) {
      const result = await t.call("findInFile", [c.pattern, c.file]);
      must(!injected(), `findInFile(${JSON.stringify(c.pattern)}, ${JSON.stringify(path.basename(c.file))}) let a shell run a planted command`);
      t.done(result, `findInFile(${JSON.stringify(c.pattern)}, ${JSON.stringify(path.basename(c.file))})`);
      must(
        JSON.stringify(result.value) === JSON.stringify(c.expected),
        `findInFile(${JSON.stringify(c.pattern)}, ${JSON.stringify(path.basename(c.file))}) returned ${JSON.stringify(result.value)}; expected ${JSON.stringify(c.expected)}`,
      );
    }
    const missing = await t.call("findInFile", [tag, path.join(dir, `missing ${tag}.txt`)]);
    must(!missing.ok && !missing.timedOut && missing.error, "findInFile() on a file that does not exist must throw (grep exits with 2), not return a result");
  },
);
