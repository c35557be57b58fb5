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
  APPEND: 0o2000,
  NOFOLLOW: 0o400000,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** mmap(2) protections and flags, msync(2) flags. */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = { SHARED: 0x01, PRIVATE: 0x02 } as const;
export const MS = { ASYNC: 1, INVALIDATE: 2, SYNC: 4 } as const;

/** System V IPC (sys/ipc.h, sys/shm.h). */
export const IPC = { PRIVATE: 0, CREAT: 0o1000, EXCL: 0o2000, RMID: 0, SET: 1, STAT: 2, NOWAIT: 0o4000 } as const;
export const SHM = { RDONLY: 0o10000 } as const;

/** sysconf(3) names. */
export const SC = { PAGESIZE: 30 } as const;

/** NAME_MAX from <limits.h>: the longest name of a POSIX IPC object, slash excluded. */
export const NAME_MAX = 255;

// Synchronisation

/** pthread_*attr_setpshared(3) and sem_init(3): may other processes use the object? */
export const PTHREAD_PROCESS = { PRIVATE: 0, SHARED: 1 } as const;

/** pthread_mutexattr_settype(3) types and pthread_mutexattr_setrobust(3) values. */
export const PTHREAD_MUTEX = { NORMAL: 0, RECURSIVE: 1, ERRORCHECK: 2, STALLED: 0, ROBUST: 1 } as const;

/** pthread_rwlockattr_setkind_np(3): whom a read-write lock prefers (glibc). */
export const PTHREAD_RWLOCK = { PREFER_READER_NP: 0, PREFER_WRITER_NP: 1, PREFER_WRITER_NONRECURSIVE_NP: 2 } as const;

/** What pthread_barrier_wait(3) returns to exactly one of the waiters. */
export const PTHREAD_BARRIER = { SERIAL_THREAD: -1 } as const;

/** The largest value a POSIX semaphore can hold (<limits.h>). */
export const SEM_VALUE_MAX = 2147483647;

/** futex(2) operations (<linux/futex.h>). */
export const FUTEX = { WAIT: 0, WAKE: 1, PRIVATE_FLAG: 128 } as const;

/** clock_gettime(2) clocks. */
export const CLOCK = { REALTIME: 0, MONOTONIC: 1 } as const;

// POSIX and System V message queues

/** MQ_PRIO_MAX from <limits.h>: message priorities run from 0 to MQ_PRIO_MAX - 1. */
export const MQ_PRIO_MAX = 32768;

/** How a sigevent notifies (<signal.h>); mq_notify uses SIGEV_SIGNAL. */
export const SIGEV = { SIGNAL: 0, NONE: 1, THREAD: 2 } as const;

/** poll(2) events (POLLIN, …). */
export const POLL = { IN: 0x001, OUT: 0x004, ERR: 0x008, HUP: 0x010, NVAL: 0x020 } as const;

/** eventfd(2) flags. */
export const EFD = { CLOEXEC: 0o2000000, NONBLOCK: 0o4000 } as const;

/** getrlimit(2) resources. */
export const RLIMIT = { MSGQUEUE: 12 } as const;

/** msgrcv(2) flags (System V message queues). */
export const MSG = { NOERROR: 0o10000, EXCEPT: 0o20000 } as const;

// Processes

/** waitpid(2) options. */
export const W = { NOHANG: 1, UNTRACED: 2, CONTINUED: 8 } as const;

/** posix_spawnattr_setflags(3) flags. */
export const POSIX_SPAWN = { RESETIDS: 0x01, SETPGROUP: 0x02, SETSIGDEF: 0x04, SETSIGMASK: 0x08, SETSID: 0x80 } as const;

/** Signal numbers; x86-64 and arm64 share the asm-generic numbering. */
export const SIG = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18,
  STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26,
  PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
} as const;

/** prctl(2) options for becoming a child subreaper. */
export const PR = { SET_CHILD_SUBREAPER: 36, GET_CHILD_SUBREAPER: 37 } as const;

/** memfd_create(2) flags. */
export const MFD = { CLOEXEC: 1 } as const;

/** System call numbers (<sys/syscall.h>); they differ per architecture. */
export const SYS = {
  // Synchronisation: futex has no C library wrapper, syscall(2) makes it.
  futex: process.arch === "arm64" ? 98 : 202,
  // Files and locks: read in /proc/PID/task/TID/syscall to see who is blocked in which lock call.
  fcntl: process.arch === "arm64" ? 25 : 72,
  flock: process.arch === "arm64" ? 32 : 73,
} as const;

// Files and locks

/** flock(2) operations (<sys/file.h>): shared, exclusive, don't block, unlock. */
export const LOCK = { SH: 1, EX: 2, NB: 4, UN: 8 } as const;

/**
 * fcntl(2) record-lock commands and lock types (<fcntl.h>): process-associated
 * locks (F_SETLK, …) and open-file-description locks (F_OFD_SETLK, …).
 */
export const F = {
  GETFD: 1,
  SETFD: 2,
  GETFL: 3,
  SETFL: 4,
  GETLK: 5,
  SETLK: 6,
  SETLKW: 7,
  OFD_GETLK: 36,
  OFD_SETLK: 37,
  OFD_SETLKW: 38,
  RDLCK: 0,
  WRLCK: 1,
  UNLCK: 2,
  // Pipes: read and set a pipe's capacity in bytes (Linux, _GNU_SOURCE).
  SETPIPE_SZ: 1031,
  GETPIPE_SZ: 1032,
} as const;

/** Descriptor flags for F_GETFD/F_SETFD. */
export const FD = { CLOEXEC: 1 } as const;

/** lseek(2) origins, also l_whence of struct flock. */
export const SEEK = { SET: 0, CUR: 1, END: 2 } as const;

// Signals

/** siginfo_t si_code values: who sent a signal (kill, sigqueue, mq_notify, tgkill, the kernel). */
export const SI = { USER: 0, QUEUE: -1, MESGQ: -3, TKILL: -6, KERNEL: 0x80 } as const;

// Pipes and FIFOs

/** <limits.h>: writes of at most this many bytes to a pipe or FIFO are atomic. */
export const PIPE_BUF = 4096;

// Unix domain sockets

/** Address families (<sys/socket.h>). */
export const AF = { UNIX: 1, INET: 2 } as const;

/** Socket types, and the flags socket(2), socketpair(2) and accept4(2) take with them. */
export const SOCK = { STREAM: 1, DGRAM: 2, SEQPACKET: 5, NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;

/** Socket option levels. */
export const SOL = { SOCKET: 1 } as const;

/** Socket options at level SOL_SOCKET. */
export const SO = { TYPE: 3, ERROR: 4, SNDBUF: 7, RCVBUF: 8, PASSCRED: 16, PEERCRED: 17, ACCEPTCONN: 30 } as const;

/** Control-message types at level SOL_SOCKET: descriptors and credentials. */
export const SCM = { RIGHTS: 1, CREDENTIALS: 2 } as const;

/** send(2)/recv(2) flags; the C names are MSG_* (the MSG group above is System V's msgrcv). */
export const MSGF = {
  PEEK: 0x2,
  CTRUNC: 0x8,
  TRUNC: 0x20,
  DONTWAIT: 0x40,
  EOR: 0x80,
  NOSIGNAL: 0x4000,
  CMSG_CLOEXEC: 0x40000000,
} as const;

/** shutdown(2): which direction to close. */
export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

/** A field of a C struct: its byte offset and its type. */
export interface Field {
  offset: number;
  type: "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "bytes";
  /** For "bytes" (a char array such as sun_path): its length. */
  length?: number;
}

/** A C struct's size and the fields the library reads. */
export interface Layout<F extends string> {
  size: number;
  fields: Record<F, Field>;
}

type StatField = "st_mode" | "st_uid" | "st_gid" | "st_size";
type ShmidField = "shm_perm.uid" | "shm_perm.mode" | "shm_segsz" | "shm_cpid" | "shm_lpid" | "shm_nattch";

interface ArchLayouts extends FileSocketLayouts, SyncLayouts {
  stat: Layout<StatField>;
  shmid_ds: Layout<ShmidField>;
  mq_attr: Layout<MqAttrField>;
  timespec: Layout<TimespecField>;
  sigevent: Layout<SigeventField>;
  rlimit: Layout<RlimitField>;
  pollfd: Layout<PollfdField>;
  msqid_ds: Layout<MsqidField>;
  // Opaque to the library: only their sizes matter, to allocate them.
  posix_spawn_file_actions_t: Layout<never>;
  posix_spawnattr_t: Layout<never>;
  sigset_t: Layout<never>;
}

// The spawn structures and sigset_t are the same size on both (glibc, 64-bit).
const posix_spawn_file_actions_t: Layout<never> = { size: 80, fields: {} };
const posix_spawnattr_t: Layout<never> = { size: 336, fields: {} };
const sigset_t: Layout<never> = { size: 128, fields: {} };

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

type MqAttrField = "mq_flags" | "mq_maxmsg" | "mq_msgsize" | "mq_curmsgs";
type TimespecField = "tv_sec" | "tv_nsec";
type SigeventField = "sigev_value.sival_int" | "sigev_signo" | "sigev_notify";
type RlimitField = "rlim_cur" | "rlim_max";
type PollfdField = "fd" | "events" | "revents";
type MsqidField =
  | "msg_perm.uid"
  | "msg_perm.mode"
  | "msg_stime"
  | "msg_rtime"
  | "__msg_cbytes"
  | "msg_qnum"
  | "msg_qbytes"
  | "msg_lspid"
  | "msg_lrpid";

// The message-queue structures are the same on x86-64 and arm64 (LP64 glibc).
const mq_attr: Layout<MqAttrField> = {
  size: 64,
  fields: {
    mq_flags: { offset: 0, type: "i64" },
    mq_maxmsg: { offset: 8, type: "i64" },
    mq_msgsize: { offset: 16, type: "i64" },
    mq_curmsgs: { offset: 24, type: "i64" },
  },
};
const timespec: Layout<TimespecField> = {
  size: 16,
  fields: { tv_sec: { offset: 0, type: "i64" }, tv_nsec: { offset: 8, type: "i64" } },
};
const sigevent: Layout<SigeventField> = {
  size: 64,
  fields: {
    "sigev_value.sival_int": { offset: 0, type: "i32" },
    sigev_signo: { offset: 8, type: "i32" },
    sigev_notify: { offset: 12, type: "i32" },
  },
};
const rlimit: Layout<RlimitField> = {
  size: 16,
  fields: { rlim_cur: { offset: 0, type: "u64" }, rlim_max: { offset: 8, type: "u64" } },
};
const pollfd: Layout<PollfdField> = {
  size: 8,
  fields: { fd: { offset: 0, type: "i32" }, events: { offset: 4, type: "i16" }, revents: { offset: 6, type: "i16" } },
};
const msqid_ds: Layout<MsqidField> = {
  size: 120,
  fields: {
    "msg_perm.uid": { offset: 4, type: "u32" },
    "msg_perm.mode": { offset: 20, type: "u32" },
    msg_stime: { offset: 48, type: "i64" },
    msg_rtime: { offset: 56, type: "i64" },
    __msg_cbytes: { offset: 72, type: "u64" },
    msg_qnum: { offset: 80, type: "u64" },
    msg_qbytes: { offset: 88, type: "u64" },
    msg_lspid: { offset: 96, type: "i32" },
    msg_lrpid: { offset: 100, type: "i32" },
  },
};

// Files and locks, Unix domain sockets: the same on x86-64 and arm64 (LP64 glibc).
type FlockField = "l_type" | "l_whence" | "l_start" | "l_len" | "l_pid";
type SockaddrUnField = "sun_family" | "sun_path";
type UcredField = "pid" | "uid" | "gid";
type MsghdrField = "msg_name" | "msg_namelen" | "msg_iov" | "msg_iovlen" | "msg_control" | "msg_controllen" | "msg_flags";
type IovecField = "iov_base" | "iov_len";
type CmsghdrField = "cmsg_len" | "cmsg_level" | "cmsg_type";

interface FileSocketLayouts {
  flock: Layout<FlockField>;
  sockaddr_un: Layout<SockaddrUnField>;
  ucred: Layout<UcredField>;
  msghdr: Layout<MsghdrField>;
  iovec: Layout<IovecField>;
  cmsghdr: Layout<CmsghdrField>;
}

const fileSocketLayouts: FileSocketLayouts = {
  flock: {
    size: 32,
    fields: {
      l_type: { offset: 0, type: "i16" },
      l_whence: { offset: 2, type: "i16" },
      l_start: { offset: 8, type: "i64" },
      l_len: { offset: 16, type: "i64" },
      l_pid: { offset: 24, type: "i32" },
    },
  },
  sockaddr_un: {
    size: 110,
    fields: { sun_family: { offset: 0, type: "u16" }, sun_path: { offset: 2, type: "bytes", length: 108 } },
  },
  ucred: {
    size: 12,
    fields: { pid: { offset: 0, type: "i32" }, uid: { offset: 4, type: "u32" }, gid: { offset: 8, type: "u32" } },
  },
  msghdr: {
    size: 56,
    fields: {
      msg_name: { offset: 0, type: "u64" },
      msg_namelen: { offset: 8, type: "u32" },
      msg_iov: { offset: 16, type: "u64" },
      msg_iovlen: { offset: 24, type: "u64" },
      msg_control: { offset: 32, type: "u64" },
      msg_controllen: { offset: 40, type: "u64" },
      msg_flags: { offset: 48, type: "i32" },
    },
  },
  iovec: {
    size: 16,
    fields: { iov_base: { offset: 0, type: "u64" }, iov_len: { offset: 8, type: "u64" } },
  },
  cmsghdr: {
    size: 16,
    fields: { cmsg_len: { offset: 0, type: "u64" }, cmsg_level: { offset: 8, type: "i32" }, cmsg_type: { offset: 12, type: "i32" } },
  },
};

// Synchronisation objects are opaque: the library needs their sizes, to
// allocate them, and their alignment, to place them in shared memory.
type Opaque = Layout<never> & { align: number };
type SyncLayoutName =
  | "sem_t"
  | "pthread_mutex_t"
  | "pthread_mutexattr_t"
  | "pthread_cond_t"
  | "pthread_condattr_t"
  | "pthread_rwlock_t"
  | "pthread_rwlockattr_t"
  | "pthread_barrier_t"
  | "pthread_barrierattr_t"
  | "pthread_spinlock_t";
type SyncLayouts = Record<SyncLayoutName, Opaque>;

const opaque = (size: number, align: number): Opaque => ({ size, align, fields: {} });

/** glibc's sizes: arm64 has larger mutexes and 8-byte attribute objects. */
const syncLayouts: Record<"x64" | "arm64", SyncLayouts> = {
  x64: {
    sem_t: opaque(32, 8),
    pthread_mutex_t: opaque(40, 8),
    pthread_mutexattr_t: opaque(4, 4),
    pthread_cond_t: opaque(48, 8),
    pthread_condattr_t: opaque(4, 4),
    pthread_rwlock_t: opaque(56, 8),
    pthread_rwlockattr_t: opaque(8, 8),
    pthread_barrier_t: opaque(32, 8),
    pthread_barrierattr_t: opaque(4, 4),
    pthread_spinlock_t: opaque(4, 4),
  },
  arm64: {
    sem_t: opaque(32, 8),
    pthread_mutex_t: opaque(48, 8),
    pthread_mutexattr_t: opaque(8, 8),
    pthread_cond_t: opaque(48, 8),
    pthread_condattr_t: opaque(8, 8),
    pthread_rwlock_t: opaque(56, 8),
    pthread_rwlockattr_t: opaque(8, 8),
    pthread_barrier_t: opaque(32, 8),
    pthread_barrierattr_t: opaque(8, 8),
    pthread_spinlock_t: opaque(4, 4),
  },
};

const LAYOUTS: Record<"x64" | "arm64", ArchLayouts> = {
  x64: {
    ...syncLayouts.x64,
    ...fileSocketLayouts,
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
    mq_attr,
    timespec,
    sigevent,
    rlimit,
    pollfd,
    msqid_ds,
    posix_spawn_file_actions_t,
    posix_spawnattr_t,
    sigset_t,
  },
  arm64: {
    ...syncLayouts.arm64,
    ...fileSocketLayouts,
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
    mq_attr,
    timespec,
    sigevent,
    rlimit,
    pollfd,
    msqid_ds,
    posix_spawn_file_actions_t,
    posix_spawnattr_t,
    sigset_t,
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
    case "i16":
      return view.getInt16(field.offset, true);
    case "u16":
      return view.getUint16(field.offset, true);
    case "i32":
      return view.getInt32(field.offset, true);
    case "u32":
      return view.getUint32(field.offset, true);
    case "i64":
      return Number(view.getBigInt64(field.offset, true));
    case "u64":
      return Number(view.getBigUint64(field.offset, true));
    case "bytes":
      throw new TypeError(`getField: a char array (offset ${field.offset}) is not a number; read its bytes`);
  }
}

/** Writes one field of a struct held in a buffer (the counterpart of getField). */
export function setField(view: DataView, field: Field, value: number | bigint): void {
  switch (field.type) {
    case "i16":
      return view.setInt16(field.offset, Number(value), true);
    case "u16":
      return view.setUint16(field.offset, Number(value), true);
    case "i32":
      return view.setInt32(field.offset, Number(value), true);
    case "u32":
      return view.setUint32(field.offset, Number(value), true);
    case "i64":
      return view.setBigInt64(field.offset, BigInt(value), true);
    case "u64":
      return view.setBigUint64(field.offset, BigInt(value), true);
    case "bytes":
      throw new TypeError(`setField: a char array (offset ${field.offset}) is not a number; copy bytes into it`);
  }
}
