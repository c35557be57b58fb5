/**
 * Flags, limits and struct layouts from the C headers, for the two
 * architectures the project supports. Nothing here is trusted blindly:
 * `test/lib/layout.test.ts` compiles a C program against the real headers
 * and compares every number.
 */

/** open(2) and shm_open(3) flags (identical on x86-64 and arm64). */
export const O = {
  RDONLY: 0,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** mmap(2) protections and flags, msync(2) flags. */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02 } as const;
export const MS = { ASYNC: 1, INVALIDATE: 2, SYNC: 4 } as const;

/** System V IPC (sys/ipc.h, sys/shm.h). */
export const IPC = { PRIVATE: 0, CREAT: 0o1000, EXCL: 0o2000, RMID: 0, SET: 1, STAT: 2 } as const;
export const SHM = { RDONLY: 0o10000 } as const;

/** sysconf(3) names. */
export const SC = { PAGESIZE: 30 } as const;

/** NAME_MAX from <limits.h>: the longest name of a POSIX IPC object, slash excluded. */
export const NAME_MAX = 255;

/** A field of a C struct: its byte offset and its type. */
export interface Field {
  offset: number;
  type: "i32" | "u32" | "i64" | "u64";
}

/** A C struct's size and the fields the library reads. */
export interface Layout<F extends string> {
  size: number;
  fields: Record<F, Field>;
}

type StatField = "st_mode" | "st_uid" | "st_gid" | "st_size";
type ShmidField = "shm_perm.uid" | "shm_perm.mode" | "shm_segsz" | "shm_cpid" | "shm_lpid" | "shm_nattch";

interface ArchLayouts {
  stat: Layout<StatField>;
  shmid_ds: Layout<ShmidField>;
}

// System V shmid_ds is the same on both: the generic layout with 64-bit longs.
const shmid_ds: Layout<ShmidField> = {
  size: 112,
  fields: {
    "shm_perm.uid": { offset: 4, type: "u32" },
    "shm_perm.mode": { offset: 20, type: "u32" },
    shm_segsz: { offset: 48, type: "u64" },
    shm_cpid: { offset: 80, type: "i32" },
    shm_lpid: { offset: 84, type: "i32" },
    shm_nattch: { offset: 88, type: "u64" },
  },
};

const LAYOUTS: Record<"x64" | "arm64", ArchLayouts> = {
  x64: {
    stat: {
      size: 144,
      fields: {
        st_mode: { offset: 24, type: "u32" },
        st_uid: { offset: 28, type: "u32" },
        st_gid: { offset: 32, type: "u32" },
        st_size: { offset: 48, type: "i64" },
      },
    },
    shmid_ds,
  },
  arm64: {
    stat: {
      size: 128,
      fields: {
        st_mode: { offset: 16, type: "u32" },
        st_uid: { offset: 24, type: "u32" },
        st_gid: { offset: 28, type: "u32" },
        st_size: { offset: 48, type: "i64" },
      },
    },
    shmid_ds,
  },
};

function currentLayouts(): ArchLayouts {
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
    throw new Error(
      `This library binds Linux system calls and supports Linux on x86-64 and arm64; ` +
        `this is ${process.platform}/${process.arch}. (macOS, for one, has no POSIX message queues.)`,
    );
  }
  return LAYOUTS[process.arch];
}

/** The struct layouts of the machine we run on. */
export const layout: ArchLayouts = currentLayouts();

/** Reads one field of a struct held in a buffer, as a JavaScript number. */
export function getField(view: DataView, field: Field): number {
  switch (field.type) {
    case "i32":
      return view.getInt32(field.offset, true);
    case "u32":
      return view.getUint32(field.offset, true);
    case "i64":
      return Number(view.getBigInt64(field.offset, true));
    case "u64":
      return Number(view.getBigUint64(field.offset, true));
  }
}
