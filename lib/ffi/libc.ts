/**
 * The one place that opens the C library. Every family module (shm, mq,
 * sync, …) calls libc through `sys` below; nothing else calls `dlopen`.
 *
 * Declarations are grouped by family. Variadic functions (`open`,
 * `mq_open`, `sem_open`, `fcntl`) are declared with
 * their fixed argument list, which the x86-64 and arm64 Linux calling
 * conventions allow; `test/lib/ffi.test.ts` pins each such use.
 */
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { SC } from "./constants.ts";

const { i32, u32, i64, u64, ptr, cstring } = FFIType;

const declarations = {
  // errno and messages
  __errno_location: { args: [], returns: ptr },
  strerror: { args: [i32], returns: cstring },

  // descriptors and files
  open: { args: [cstring, i32, u32], returns: i32 },
  close: { args: [i32], returns: i32 },
  fstat: { args: [i32, ptr], returns: i32 },
  ftruncate: { args: [i32, i64], returns: i32 },
  unlink: { args: [cstring], returns: i32 },
  sysconf: { args: [i32], returns: i64 },
  getpid: { args: [], returns: i32 },

  // POSIX shared memory and memory mapping
  shm_open: { args: [cstring, i32, u32], returns: i32 },
  shm_unlink: { args: [cstring], returns: i32 },
  mmap: { args: [ptr, u64, i32, i32, i32, i64], returns: ptr },
  munmap: { args: [ptr, u64], returns: i32 },
  msync: { args: [ptr, u64, i32], returns: i32 },

  // System V shared memory
  ftok: { args: [cstring, i32], returns: i32 },
  shmget: { args: [i32, u64, i32], returns: i32 },
  shmat: { args: [i32, ptr, i32], returns: ptr },
  shmdt: { args: [ptr], returns: i32 },
  shmctl: { args: [i32, i32, ptr], returns: i32 },

  // Processes. The posix_spawn* functions return an error number instead
  // of setting errno. There is deliberately no fork: a forked copy of Bun
  // cannot run JavaScript (see lib/process.ts); lib/native/*.c forks in C.
  posix_spawn: { args: [ptr, cstring, ptr, ptr, ptr, ptr], returns: i32 },
  posix_spawnp: { args: [ptr, cstring, ptr, ptr, ptr, ptr], returns: i32 },
  posix_spawn_file_actions_init: { args: [ptr], returns: i32 },
  posix_spawn_file_actions_destroy: { args: [ptr], returns: i32 },
  posix_spawn_file_actions_adddup2: { args: [ptr, i32, i32], returns: i32 },
  posix_spawn_file_actions_addclose: { args: [ptr, i32], returns: i32 },
  posix_spawn_file_actions_addopen: { args: [ptr, i32, cstring, i32, u32], returns: i32 },
  posix_spawn_file_actions_addchdir_np: { args: [ptr, cstring], returns: i32 },
  posix_spawnattr_init: { args: [ptr], returns: i32 },
  posix_spawnattr_destroy: { args: [ptr], returns: i32 },
  posix_spawnattr_setflags: { args: [ptr, FFIType.i16], returns: i32 },
  posix_spawnattr_setpgroup: { args: [ptr, i32], returns: i32 },
  posix_spawnattr_setsigdefault: { args: [ptr, ptr], returns: i32 },
  posix_spawnattr_setsigmask: { args: [ptr, ptr], returns: i32 },
  sigemptyset: { args: [ptr], returns: i32 },
  sigaddset: { args: [ptr, i32], returns: i32 },
  waitpid: { args: [i32, ptr, i32], returns: i32 },
  kill: { args: [i32, i32], returns: i32 },
  getppid: { args: [], returns: i32 },
  getpgid: { args: [i32], returns: i32 },
  prctl: { args: [i32, u64, u64, u64, u64], returns: i32 }, // variadic; pinned by test/lib/process.test.ts (subreaper)
  memfd_create: { args: [cstring, u32], returns: i32 },
  system: { args: [cstring], returns: i32 },
  popen: { args: [cstring, cstring], returns: ptr },
  pclose: { args: [ptr], returns: i32 },
  fileno: { args: [ptr], returns: i32 },

  // POSIX message queues. mq_open is variadic: it is declared with all
  // four arguments (name, oflag, mode, attr), which is what it reads when
  // O_CREAT is set; test/lib/mq-ffi.test.ts pins it. On Linux an mqd_t is
  // a file descriptor, so poll(2) waits on queues; eventfd wakes the
  // worker of receiveAsync() when its queue is closed; dup gives that
  // worker a descriptor of its own.
  mq_open: { args: [cstring, i32, u32, ptr], returns: i32 },
  mq_close: { args: [i32], returns: i32 },
  mq_unlink: { args: [cstring], returns: i32 },
  mq_timedsend: { args: [i32, ptr, u64, u32, ptr], returns: i32 },
  mq_timedreceive: { args: [i32, ptr, u64, ptr, ptr], returns: i64 },
  mq_getattr: { args: [i32, ptr], returns: i32 },
  mq_setattr: { args: [i32, ptr, ptr], returns: i32 },
  mq_notify: { args: [i32, ptr], returns: i32 },
  poll: { args: [ptr, u64, i32], returns: i32 },
  dup: { args: [i32], returns: i32 },
  eventfd: { args: [u32, i32], returns: i32 },
  eventfd_write: { args: [i32, u64], returns: i32 },
  getrlimit: { args: [i32, ptr], returns: i32 },
  setrlimit: { args: [i32, ptr], returns: i32 },

  // System V message queues
  msgget: { args: [i32, i32], returns: i32 },
  msgsnd: { args: [i32, ptr, u64, i32], returns: i32 },
  msgrcv: { args: [i32, ptr, u64, i64, i32], returns: i64 },
  msgctl: { args: [i32, i32, ptr], returns: i32 },

  // Files and locks. fcntl is variadic: declared with a 64-bit third
  // argument, which carries an int or a pointer (a struct flock for the
  // lock commands); test/lib/locks-ffi.test.ts pins it.
  flock: { args: [i32, i32], returns: i32 },
  fcntl: { args: [i32, i32, i64], returns: i32 }, // variadic

  // Unix domain sockets. Addresses are struct sockaddr_un; sendmsg and
  // recvmsg carry descriptors (SCM_RIGHTS) in their control messages.
  socket: { args: [i32, i32, i32], returns: i32 },
  socketpair: { args: [i32, i32, i32, ptr], returns: i32 },
  bind: { args: [i32, ptr, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  connect: { args: [i32, ptr, u32], returns: i32 },
  sendmsg: { args: [i32, ptr, i32], returns: i64 },
  recvmsg: { args: [i32, ptr, i32], returns: i64 },
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  getsockname: { args: [i32, ptr, ptr], returns: i32 },
  shutdown: { args: [i32, i32], returns: i32 },

  // Synchronisation. The pthread_* functions return an error number
  // instead of setting errno. sem_open is variadic (declared with its four
  // fixed arguments), and so is syscall, declared for futex(2) only:
  // syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3).
  sem_open: { args: [cstring, i32, u32, u32], returns: ptr }, // variadic
  sem_close: { args: [ptr], returns: i32 },
  sem_unlink: { args: [cstring], returns: i32 },
  sem_init: { args: [ptr, i32, u32], returns: i32 },
  sem_destroy: { args: [ptr], returns: i32 },
  sem_wait: { args: [ptr], returns: i32 },
  sem_trywait: { args: [ptr], returns: i32 },
  sem_timedwait: { args: [ptr, ptr], returns: i32 },
  sem_post: { args: [ptr], returns: i32 },
  sem_getvalue: { args: [ptr, ptr], returns: i32 },
  pthread_mutexattr_init: { args: [ptr], returns: i32 },
  pthread_mutexattr_destroy: { args: [ptr], returns: i32 },
  pthread_mutexattr_setpshared: { args: [ptr, i32], returns: i32 },
  pthread_mutexattr_settype: { args: [ptr, i32], returns: i32 },
  pthread_mutexattr_setrobust: { args: [ptr, i32], returns: i32 },
  pthread_mutex_init: { args: [ptr, ptr], returns: i32 },
  pthread_mutex_destroy: { args: [ptr], returns: i32 },
  pthread_mutex_lock: { args: [ptr], returns: i32 },
  pthread_mutex_trylock: { args: [ptr], returns: i32 },
  pthread_mutex_timedlock: { args: [ptr, ptr], returns: i32 },
  pthread_mutex_unlock: { args: [ptr], returns: i32 },
  pthread_mutex_consistent: { args: [ptr], returns: i32 },
  pthread_condattr_init: { args: [ptr], returns: i32 },
  pthread_condattr_destroy: { args: [ptr], returns: i32 },
  pthread_condattr_setpshared: { args: [ptr, i32], returns: i32 },
  pthread_cond_init: { args: [ptr, ptr], returns: i32 },
  pthread_cond_destroy: { args: [ptr], returns: i32 },
  pthread_cond_wait: { args: [ptr, ptr], returns: i32 },
  pthread_cond_timedwait: { args: [ptr, ptr, ptr], returns: i32 },
  pthread_cond_signal: { args: [ptr], returns: i32 },
  pthread_cond_broadcast: { args: [ptr], returns: i32 },
  pthread_rwlockattr_init: { args: [ptr], returns: i32 },
  pthread_rwlockattr_destroy: { args: [ptr], returns: i32 },
  pthread_rwlockattr_setpshared: { args: [ptr, i32], returns: i32 },
  pthread_rwlockattr_setkind_np: { args: [ptr, i32], returns: i32 },
  pthread_rwlock_init: { args: [ptr, ptr], returns: i32 },
  pthread_rwlock_destroy: { args: [ptr], returns: i32 },
  pthread_rwlock_rdlock: { args: [ptr], returns: i32 },
  pthread_rwlock_wrlock: { args: [ptr], returns: i32 },
  pthread_rwlock_tryrdlock: { args: [ptr], returns: i32 },
  pthread_rwlock_trywrlock: { args: [ptr], returns: i32 },
  pthread_rwlock_timedrdlock: { args: [ptr, ptr], returns: i32 },
  pthread_rwlock_timedwrlock: { args: [ptr, ptr], returns: i32 },
  pthread_rwlock_unlock: { args: [ptr], returns: i32 },
  pthread_barrierattr_init: { args: [ptr], returns: i32 },
  pthread_barrierattr_destroy: { args: [ptr], returns: i32 },
  pthread_barrierattr_setpshared: { args: [ptr, i32], returns: i32 },
  pthread_barrier_init: { args: [ptr, ptr, u32], returns: i32 },
  pthread_barrier_destroy: { args: [ptr], returns: i32 },
  pthread_barrier_wait: { args: [ptr], returns: i32 },
  pthread_spin_init: { args: [ptr, i32], returns: i32 },
  pthread_spin_destroy: { args: [ptr], returns: i32 },
  pthread_spin_lock: { args: [ptr], returns: i32 },
  pthread_spin_trylock: { args: [ptr], returns: i32 },
  pthread_spin_unlock: { args: [ptr], returns: i32 },
  syscall: { args: [i64, ptr, i32, i32, ptr, ptr, i32], returns: i64 }, // variadic

  // Ring buffer: plain read(2) and write(2) on descriptors, pipe2 and
  // mkfifo, for the ring's benchmark (tools/bench), which moves messages
  // through pipes, FIFOs and sockets without node:fs's cost per call.
  read: { args: [i32, ptr, u64], returns: i64 },
  write: { args: [i32, ptr, u64], returns: i64 },
  pipe2: { args: [ptr, i32], returns: i32 },
  mkfifo: { args: [cstring, u32], returns: i32 },

  // Signals. kill is declared with the processes above. sigqueue's third
  // argument is a union sigval (an int or a pointer, 8 bytes), which the
  // x86-64 and arm64 calling conventions pass in one integer register like
  // a 64-bit integer; test/lib/signals-ffi.test.ts pins that the payload
  // arrives. SIGRTMIN and SIGRTMAX are functions in glibc, not constants:
  // it keeps the first real-time signals for its own threads.
  sigqueue: { args: [i32, i32, i64], returns: i32 },
  __libc_current_sigrtmin: { args: [], returns: i32 },
  __libc_current_sigrtmax: { args: [], returns: i32 },
  getpgrp: { args: [], returns: i32 },

  // Pipes and FIFOs: pipe2, mkfifo, read and write are declared above;
  // capacity and flags go through fcntl (declared with files and locks,
  // F_GETPIPE_SZ/F_SETPIPE_SZ pinned by test/lib/pipes-ffi.test.ts), and
  // waiting with a timeout through poll (declared with message queues).
} as const;


/** The bound C functions. */
export const sys = dlopen("libc.so.6", declarations).symbols;

/** errno of the calling thread; read it right after the failing call. */
export function errno(): number {
  return read.i32(sys.__errno_location() as Pointer, 0);
}

/** The C library's message for an errno number ("File exists"). */
export function strerror(errnum: number): string {
  return sys.strerror(errnum)?.toString() ?? `errno ${errnum}`;
}

/** A NUL-terminated copy of a string, for a `cstring` argument. */
export function cstr(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf8");
}

/**
 * A pointer returned by mmap/shmat, or null for MAP_FAILED ((void*)-1):
 * bun:ffi hands back addresses past 2^53 as a bigint, and a real mapping
 * never lives there.
 */
export function mappedPointer(p: Pointer | bigint | null): Pointer | null {
  return typeof p === "number" && p !== 0 ? p : null;
}

/** The page size, for mmap offsets. */
export const PAGE_SIZE = Number(sys.sysconf(SC.PAGESIZE));
