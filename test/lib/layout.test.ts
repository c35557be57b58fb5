/**
 * Every constant, struct layout and errno number the library hard-codes,
 * checked against the real C headers of this machine.
 *
 * The C program is generated from the TypeScript tables themselves, so a
 * new entry is checked with no change here:
 * - a new key in a constant group of lib/ffi/constants.ts (`O.DIRECTORY`)
 *   is compared with the C macro `O_DIRECTORY` (group name + "_" + key,
 *   unless CONSTANT_PREFIX says otherwise);
 * - a new top-level number (`NAME_MAX`) is compared with the C macro of the
 *   same name;
 * - a new field of a layout (`st_nlink`, or a nested path such as
 *   `shm_perm.cuid`) is compared with offsetof/sizeof/signedness in C;
 * - a new errno name in lib/ffi/errno.ts is compared with <errno.h>.
 * A new constant group whose C names use another prefix needs one line in
 * CONSTANT_PREFIX; a new struct layout (mq_attr, timespec, flock, …) needs
 * one line in C_TYPE (and its header in HEADERS). An export this file does
 * not know how to check fails the test instead of being skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import * as constants from "../../lib/ffi/constants.ts";
import type { Field } from "../../lib/ffi/constants.ts";
import { ERRNO } from "../../lib/ffi/errno.ts";
import { PAGE_SIZE } from "../../lib/ffi/libc.ts";
import { tempDir } from "./support.ts";

/** Headers the generated program includes. Add one with each new family. */
const HEADERS = [
  "errno.h",
  "fcntl.h",
  "limits.h",
  "linux/futex.h",
  "pthread.h",
  "semaphore.h",
  "mqueue.h",
  "poll.h",
  "signal.h",
  "spawn.h",
  "stddef.h",
  "stdio.h",
  "sys/ipc.h",
  "sys/eventfd.h",
  "sys/mman.h",
  "sys/msg.h",
  "sys/prctl.h",
  "sys/resource.h",
  "sys/shm.h",
  "sys/stat.h",
  "sys/wait.h",
  "time.h",
  "unistd.h",
  "sys/file.h",
  "sys/socket.h",
  "sys/syscall.h",
  "sys/un.h",
];

/** C prefix of a constant group whose macros are not named GROUP_KEY. */
const CONSTANT_PREFIX: Record<string, string> = {
  SC: "_SC_",
  POLL: "POLL",
  W: "W",
  SIG: "SIG",
  MSGF: "MSG_",
};

/** C type of each layout in `layout` (lib/ffi/constants.ts). */
const C_TYPE: Record<string, string> = {
  stat: "struct stat",
  shmid_ds: "struct shmid_ds",
  sem_t: "sem_t",
  pthread_mutex_t: "pthread_mutex_t",
  pthread_mutexattr_t: "pthread_mutexattr_t",
  pthread_cond_t: "pthread_cond_t",
  pthread_condattr_t: "pthread_condattr_t",
  pthread_rwlock_t: "pthread_rwlock_t",
  pthread_rwlockattr_t: "pthread_rwlockattr_t",
  pthread_barrier_t: "pthread_barrier_t",
  pthread_barrierattr_t: "pthread_barrierattr_t",
  pthread_spinlock_t: "pthread_spinlock_t",
  mq_attr: "struct mq_attr",
  timespec: "struct timespec",
  sigevent: "struct sigevent",
  rlimit: "struct rlimit",
  pollfd: "struct pollfd",
  msqid_ds: "struct msqid_ds",
  posix_spawn_file_actions_t: "posix_spawn_file_actions_t",
  posix_spawnattr_t: "posix_spawnattr_t",
  sigset_t: "sigset_t",
  flock: "struct flock",
  sockaddr_un: "struct sockaddr_un",
  ucred: "struct ucred",
  msghdr: "struct msghdr",
  iovec: "struct iovec",
  cmsghdr: "struct cmsghdr",
};

/** Exports of constants.ts that are not constants (checked elsewhere or code). */
const NOT_CONSTANTS = new Set(["layout", "getField", "setField"]);

/** What a field type of the TypeScript tables means in C ("bytes": a char array of the field's `length`). */
const FIELD_TYPE: Record<Exclude<Field["type"], "bytes">, { size: number; signed: boolean }> = {
  i16: { size: 2, signed: true },
  u16: { size: 2, signed: false },
  i32: { size: 4, signed: true },
  u32: { size: 4, signed: false },
  i64: { size: 8, signed: true },
  u64: { size: 8, signed: false },
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function checked(text: string, pattern: RegExp, what: string): string {
  if (!pattern.test(text)) throw new Error(`${what} ${JSON.stringify(text)} is not a C identifier`);
  return text;
}

/** Constant name in C → value in TypeScript, for every constant export. */
function tsConstants(): Map<string, Map<string, number>> {
  const groups = new Map<string, Map<string, number>>();
  for (const [exportName, value] of Object.entries(constants)) {
    if (NOT_CONSTANTS.has(exportName)) continue;
    const group = new Map<string, number>();
    if (typeof value === "number") {
      group.set(checked(exportName, IDENTIFIER, "constant"), value);
    } else if (value !== null && typeof value === "object" && Object.values(value).every((v) => typeof v === "number")) {
      const prefix = CONSTANT_PREFIX[exportName] ?? `${exportName}_`;
      for (const [key, v] of Object.entries(value as Record<string, number>)) {
        group.set(checked(`${prefix}${key}`, IDENTIFIER, "constant"), v);
      }
    } else {
      throw new Error(
        `lib/ffi/constants.ts exports ${exportName}, which test/lib/layout.test.ts cannot check: ` +
          `make it a number or a group of numbers, or teach this test about it`,
      );
    }
    groups.set(exportName, group);
  }
  return groups;
}

/** A layout's alignment, for the layouts that state one (the synchronisation objects). */
function alignOf(layout: object): number | undefined {
  return "align" in layout && typeof layout.align === "number" ? layout.align : undefined;
}

const CONSTANTS = tsConstants();
const LAYOUTS = Object.entries(constants.layout) as [string, constants.Layout<string>][];

/** The generated C program: prints one JSON object. */
function cSource(): string {
  const lines: string[] = ["#define _GNU_SOURCE", ...HEADERS.map((h) => `#include <${h}>`), "", "int main(void) {"];
  const out = (text: string) => lines.push(`  fputs(${JSON.stringify(text)}, stdout);`);
  const number = (key: string, expression: string, last: boolean) =>
    lines.push(`  printf("%s: %lld%s", ${JSON.stringify(JSON.stringify(key))}, (long long)(${expression}), "${last ? "" : ","}");`);

  out('{"constants": {');
  const allConstants = [...CONSTANTS.values()].flatMap((group) => [...group.keys()]);
  allConstants.forEach((name, i) => number(name, name, i === allConstants.length - 1));
  out('}, "errno": {');
  const errnoNames = Object.keys(ERRNO);
  errnoNames.forEach((name, i) => number(checked(name, IDENTIFIER, "errno"), name, i === errnoNames.length - 1));
  out('}, "layouts": {');
  let emitted = 0;
  for (const [layoutName, layout] of LAYOUTS) {
    const cType = C_TYPE[layoutName];
    if (cType === undefined) continue; // reported by the layout's own test
    const member = (field: string) => `((${cType} *)0)->${field}`;
    out(`${emitted++ === 0 ? "" : ","}${JSON.stringify(layoutName)}: {`);
    number("size", `sizeof(${cType})`, false);
    if (alignOf(layout) !== undefined) number("align", `_Alignof(${cType})`, false);
    out('"fields": {');
    const fields = Object.keys(layout.fields);
    fields.forEach((field, j) => {
      checked(field, FIELD_PATH, "field");
      out(`${j === 0 ? "" : ","}${JSON.stringify(field)}: {`);
      number("offset", `offsetof(${cType}, ${field})`, false);
      number("size", `sizeof(${member(field)})`, false);
      // A char array has no signedness to test (a cast to an array type is not C).
      const isArray = layout.fields[field]!.type === "bytes";
      number("signed", isArray ? "0" : `((__typeof__(${member(field)}))-1 < 0)`, true);
      out("}");
    });
    out("}}");
  }
  out("}, ");
  number("sysconf_pagesize", "sysconf(_SC_PAGESIZE)", true);
  out("}\n");
  lines.push("  return 0;", "}", "");
  return lines.join("\n");
}

interface CField {
  offset: number;
  size: number;
  signed: number;
}
interface CResult {
  constants: Record<string, number>;
  errno: Record<string, number>;
  layouts: Record<string, { size: number; fields: Record<string, CField> }>;
  sysconf_pagesize: number;
}

const scratch = tempDir("layout");
let c: CResult;

beforeAll(() => {
  const compiler = Bun.which("cc") ?? Bun.which("gcc");
  if (compiler === null) throw new Error("no C compiler (cc or gcc) on PATH; install a C toolchain with libc headers");
  const source = path.join(scratch.dir, "layout.c");
  const binary = path.join(scratch.dir, "layout");
  fs.writeFileSync(source, cSource());
  const build = Bun.spawnSync([compiler, "-std=c11", "-Wall", "-Werror", "-o", binary, source]);
  if (build.exitCode !== 0) {
    throw new Error(`compiling the generated ${source} failed:\n${build.stderr.toString()}\n--- source ---\n${cSource()}`);
  }
  const run = Bun.spawnSync([binary]);
  if (run.exitCode !== 0) throw new Error(`the layout program failed: ${run.stderr.toString()}`);
  c = JSON.parse(run.stdout.toString()) as CResult;
});

afterAll(() => scratch.remove());

describe("constants match the C headers", () => {
  for (const [group, entries] of CONSTANTS) {
    test(group, () => {
      const fromC: Record<string, number | undefined> = Object.fromEntries(
        [...entries.keys()].map((name) => [name, c.constants[name]]),
      );
      const fromTs: Record<string, number | undefined> = Object.fromEntries(entries);
      expect(fromTs).toEqual(fromC);
    });
  }
});

describe(`struct layouts match the C headers (${process.arch})`, () => {
  for (const [layoutName, layout] of LAYOUTS) {
    test(layoutName, () => {
      const cType = C_TYPE[layoutName];
      if (cType === undefined) {
        throw new Error(`add the C type of layout "${layoutName}" to C_TYPE in test/lib/layout.test.ts`);
      }
      const fromC = c.layouts[layoutName];
      expect(fromC).toBeDefined();
      const ts = {
        size: layout.size,
        ...(alignOf(layout) === undefined ? {} : { align: alignOf(layout) }),
        fields: Object.fromEntries(
          Object.entries(layout.fields).map(([name, field]) => [
            name,
            field.type === "bytes"
              ? { offset: field.offset, size: field.length, signed: 0 }
              : { offset: field.offset, size: FIELD_TYPE[field.type].size, signed: FIELD_TYPE[field.type].signed ? 1 : 0 },
          ]),
        ),
      };
      expect(ts).toEqual(fromC!);
    });
  }
});

test("errno numbers match <errno.h>", () => {
  expect({ ...ERRNO }).toEqual(c.errno as typeof ERRNO);
});

test("errno numbers are distinct, so errnoName is unambiguous (leave aliases such as ENOTSUP out)", () => {
  const seen = new Map<number, string>();
  const aliases: string[] = [];
  for (const [name, n] of Object.entries(ERRNO)) {
    const first = seen.get(n);
    if (first === undefined) seen.set(n, name);
    else aliases.push(`${name} = ${first} (${n})`);
  }
  expect(aliases).toEqual([]);
});

test("PAGE_SIZE is sysconf(_SC_PAGESIZE)", () => {
  expect(PAGE_SIZE).toBe(c.sysconf_pagesize);
  expect(PAGE_SIZE).toBeGreaterThanOrEqual(4096);
  expect(PAGE_SIZE & (PAGE_SIZE - 1)).toBe(0);
});

test("the generated program checks every table entry", () => {
  const constantCount = [...CONSTANTS.values()].reduce((n, group) => n + group.size, 0);
  expect(Object.keys(c.constants)).toHaveLength(constantCount);
  expect(Object.keys(c.errno)).toHaveLength(Object.keys(ERRNO).length);
  expect(Object.keys(c.layouts).sort()).toEqual(LAYOUTS.map(([name]) => name).sort());
});
