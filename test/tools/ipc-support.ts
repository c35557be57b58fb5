/**
 * What the tests of the `ipc` command share: running the real command as
 * a subprocess (binary-safe in both directions), unique object names under
 * a per-run prefix and their removal, and a small C program, compiled by
 * the test with cc, that does the same operations through the C library
 * so that the tests can prove the tool and C agree byte for byte.
 */
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../harness/student.ts";
import { runCommand, type Ran, type RunOptions } from "./helpers.ts";

export { ROOT };
export { removeTemporary, runCommand, temporary, type Ran } from "./helpers.ts";
export const IPC = path.join(ROOT, "tools", "ipc.ts");

/** Every object name of this run starts with this ("/ipcbook-ipc1234-ab12cd"). */
export const PREFIX = `/ipcbook-ipc${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

let serial = 0;

/** A fresh POSIX name under the run prefix. */
export function uniqueName(label: string): string {
  serial += 1;
  return `${PREFIX}-${label}${serial}`;
}

/** Runs `ipc ARGS…` (bun tools/ipc.ts) and waits for it; `input` goes to its standard input. */
export async function ipc(args: string[], options: RunOptions = {}): Promise<Ran> {
  return runCommand([process.execPath, IPC, ...args], options);
}

/** The entries of /dev/mqueue and /dev/shm that belong to this run. */
export function leftovers(): string[] {
  const stem = PREFIX.slice(1);
  const found: string[] = [];
  for (const dir of ["/dev/mqueue", "/dev/shm"]) {
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir)) if (entry.startsWith(stem) || entry.startsWith(`sem.${stem}`)) found.push(`${dir}/${entry}`);
  }
  return found;
}

/** Removes whatever this run left (unlinking the file is mq_unlink, shm_unlink or sem_unlink); returns it. */
export function removeLeftovers(): string[] {
  const found = leftovers();
  for (const file of found) fs.rmSync(file, { force: true });
  return found;
}


/** Bytes as lowercase hex, without spaces. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Reads the bytes back out of `ipc … --hex` (hexdump -C style): the columns between the offset and the |text|. */
export function parseHexDump(dump: string): { offset: number; bytes: Uint8Array } {
  const rows = dump.split("\n").filter((l) => l.trim());
  const bytes: number[] = [];
  for (const row of rows) {
    const match = /^([0-9a-f]{8})  (.*?)\s*\|.*\|$/.exec(row);
    if (!match) throw new Error(`not a hex dump line: ${JSON.stringify(row)}`);
    for (const pair of match[2]!.trim().split(/\s+/)) bytes.push(Number.parseInt(pair, 16));
  }
  return { offset: rows.length === 0 ? 0 : Number.parseInt(rows[0]!.slice(0, 8), 16), bytes: Uint8Array.from(bytes) };
}

/**
 * The C side of the interoperability tests: one program, a sub-command per
 * operation, each a plain use of the C calls.
 *
 *   interop mq-send NAME PRIORITY HEX     mq_send the bytes
 *   interop mq-recv NAME                  mq_receive one message; prints "PRIORITY HEX"
 *   interop shm-write NAME OFFSET HEX     shm_open + mmap, copy the bytes in
 *   interop shm-read NAME OFFSET LENGTH   shm_open + mmap read-only; prints HEX
 *   interop sem-post NAME                 sem_open + sem_post
 *   interop sem-value NAME                sem_open + sem_getvalue; prints the value
 *   interop flock-pair FIRST SECOND       flock FIRST, print "holding", read a byte, flock SECOND (waits)
 *   interop sig-wait SIGNO                block SIGNO, print "ready", sigtimedwait; prints "SIGNO CODE VALUE"
 *
 * Every wait is bounded (30 s) so that a failing test cannot hang it for ever.
 */
export const INTEROP_C = String.raw`
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) { perror(what); return 1; }

static size_t unhex(const char *text, unsigned char *out) {
  size_t n = 0;
  for (; text[0] && text[1]; text += 2) {
    unsigned int byte;
    sscanf(text, "%2x", &byte);
    out[n++] = (unsigned char)byte;
  }
  return n;
}

static void puthex(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static struct timespec in_seconds(int seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += seconds;
  return ts;
}

static unsigned char data[1 << 16];

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: interop COMMAND ARGS\n"); return 2; }
  const char *cmd = argv[1], *name = argv[2];
  if (!strcmp(cmd, "mq-send") && argc == 5) {
    mqd_t q = mq_open(name, O_WRONLY);
    if (q == (mqd_t)-1) return fail("mq_open");
    size_t n = unhex(argv[4], data);
    if (mq_send(q, (const char *)data, n, (unsigned)atoi(argv[3])) == -1) return fail("mq_send");
    return mq_close(q) == -1 ? fail("mq_close") : 0;
  }
  if (!strcmp(cmd, "mq-recv")) {
    mqd_t q = mq_open(name, O_RDONLY);
    if (q == (mqd_t)-1) return fail("mq_open");
    struct mq_attr attr;
    if (mq_getattr(q, &attr) == -1) return fail("mq_getattr");
    unsigned priority;
    struct timespec until = in_seconds(30);
    ssize_t n = mq_timedreceive(q, (char *)data, (size_t)attr.mq_msgsize, &priority, &until);
    if (n == -1) return fail("mq_timedreceive");
    printf("%u ", priority);
    puthex(data, (size_t)n);
    return mq_close(q) == -1 ? fail("mq_close") : 0;
  }
  if (!strcmp(cmd, "shm-write") && argc == 5) {
    int fd = shm_open(name, O_RDWR, 0);
    if (fd == -1) return fail("shm_open");
    struct stat st;
    if (fstat(fd, &st) == -1) return fail("fstat");
    unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return fail("mmap");
    size_t n = unhex(argv[4], data);
    memcpy(p + atol(argv[3]), data, n);
    munmap(p, (size_t)st.st_size);
    return close(fd);
  }
  if (!strcmp(cmd, "shm-read") && argc == 5) {
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd == -1) return fail("shm_open");
    struct stat st;
    if (fstat(fd, &st) == -1) return fail("fstat");
    unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return fail("mmap");
    puthex(p + atol(argv[3]), (size_t)atol(argv[4]));
    munmap(p, (size_t)st.st_size);
    return close(fd);
  }
  if (!strcmp(cmd, "sem-post") || !strcmp(cmd, "sem-value")) {
    sem_t *s = sem_open(name, 0);
    if (s == SEM_FAILED) return fail("sem_open");
    if (!strcmp(cmd, "sem-post")) {
      if (sem_post(s) == -1) return fail("sem_post");
    } else {
      int value;
      if (sem_getvalue(s, &value) == -1) return fail("sem_getvalue");
      printf("%d\n", value);
    }
    return sem_close(s) == -1 ? fail("sem_close") : 0;
  }
  if (!strcmp(cmd, "flock-pair") && argc == 4) {
    int first = open(name, O_RDWR | O_CREAT, 0600), second = open(argv[3], O_RDWR | O_CREAT, 0600);
    if (first == -1 || second == -1) return fail("open");
    if (flock(first, LOCK_EX) == -1) return fail("flock first");
    printf("holding\n");
    fflush(stdout);
    char go;
    if (read(0, &go, 1) != 1) return 1;
    if (flock(second, LOCK_EX) == -1) return fail("flock second");
    printf("got both\n");
    return 0;
  }
  if (!strcmp(cmd, "sig-wait")) {
    int signo = atoi(name);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) return fail("sigprocmask");
    printf("ready\n");
    fflush(stdout);
    siginfo_t info;
    struct timespec limit = { 30, 0 };
    if (sigtimedwait(&set, &info, &limit) == -1) return fail("sigtimedwait");
    printf("%d %d %d\n", info.si_signo, info.si_code, info.si_value.sival_int);
    return 0;
  }
  fprintf(stderr, "interop: unknown command %s\n", cmd);
  return 2;
}
`;

/** Compiles the C side into `dir` and returns the program's path. */
export function compileInterop(dir: string): string {
  const compiler = Bun.which("cc") ?? Bun.which("gcc");
  if (compiler === null) throw new Error("no C compiler (cc or gcc) on PATH; install a C toolchain with the libc headers (gcc, libc6-dev)");
  const source = path.join(dir, "interop.c");
  const program = path.join(dir, "interop");
  fs.writeFileSync(source, INTEROP_C);
  const built = Bun.spawnSync([compiler, "-O1", "-Wall", "-o", program, source, "-lrt", "-pthread"], { stderr: "pipe" });
  if (built.exitCode !== 0) throw new Error(`compiling the interop program failed:\n${built.stderr.toString()}`);
  return program;
}

/** Runs the C program and returns its output; fails the test with its stderr when it fails. */
export function runC(program: string, args: string[]): string {
  const ran = Bun.spawnSync([program, ...args], { stdout: "pipe", stderr: "pipe" });
  if (ran.exitCode !== 0) throw new Error(`interop ${args.join(" ")} exited ${ran.exitCode}: ${ran.stderr.toString()}`);
  return ran.stdout.toString();
}
