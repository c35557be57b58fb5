/*
 * signals.c: the part of signal handling that JavaScript cannot do.
 *
 * Bun hands a JavaScript handler (process.on) the signal's name and
 * nothing else: not who sent it, not the integer that sigqueue(3) put in
 * si_value, not how many times it came. And it has no name, and so no
 * handler, for the real-time signals at all. This file installs a real C
 * handler with sigaction(2) and SA_SIGINFO, which sees the whole siginfo_t,
 * and passes each delivery on through a pipe: the self-pipe trick.
 *
 * The handler runs at any moment, on whichever of Bun's threads the kernel
 * picked, possibly in the middle of malloc or of the JavaScript engine. So
 * it calls only async-signal-safe functions (write, sigaction, kill,
 * getpid, syscall), touches only its own stack and tables that are set before it
 * is installed, and puts errno back as it found it. Everything else
 * (decoding, queueing, waking JavaScript) happens later, outside it.
 *
 * Order. The kernel queues real-time signals and hands them out in order,
 * but a process-directed signal goes to any thread that does not block it,
 * and Bun runs many threads: two deliveries could run this handler on two
 * threads at once and reach the pipe in the wrong order. So one thread, the
 * taker (the one that set up the channel: JavaScript's), takes them all,
 * one at a time, and only when it chooses to:
 *
 *  - It blocks each signal it receives (ipcsig_install), so every thread it
 *    starts from then on blocks it too: a new thread inherits its creator's
 *    mask. It takes deliveries only while it waits: in Bun's event loop
 *    (epoll_pwait2 with an empty mask: Bun unblocks every signal while
 *    idle), in ipcsig_wait (ppoll with the signals unblocked), and in
 *    ipcsig_flush (unblock, which delivers whatever is pending, then block).
 *  - The threads already running are told once: each adds the signal to the
 *    mask it will go back to (uc_sigmask) the first time it runs the
 *    handler, and ipcsig_prime() makes a thread do that at once, with a
 *    thread-directed signal (tgkill) that the handler recognises and only
 *    acknowledges.
 *  - A delivery that still lands on another thread (one that waits with
 *    every signal unblocked, as a Worker's event loop does) is forwarded to
 *    the taker with rt_tgsigqueueinfo, siginfo and all. The taker takes
 *    signals sent to it before those sent to the process, so forwarded ones
 *    keep their place, unless the taker is waiting at that very moment
 *    too: with an idle Worker in the process, order is very likely, not
 *    certain.
 *
 * The price of blocking: a child started by the taker while a signal is
 * blocked inherits the mask. posix_spawn with POSIX_SPAWN_SETSIGMASK (what
 * lib/process.ts does) clears it; Bun.spawn does not. Releasing the signal
 * unblocks it again. And a signal sent while JavaScript is busy waits in
 * the kernel's queue (RLIMIT_SIGPENDING bounds it; sigqueue then fails with
 * EAGAIN) instead of in the pipe.
 *
 * Once installed for a signal, the handler stays for the life of the
 * process: a priming signal may still be on its way to a slow thread, and
 * must meet this handler, not the program's. When no receiver wants the
 * signal any more, the handler passes each delivery on to the action it
 * replaced: the previous handler (Bun's, for a process.on listener), or
 * ignoring it, or the default action.
 *
 * Compiled at run time by bun:ffi's cc (TinyCC) from lib/signals.ts.
 */
#define _GNU_SOURCE /* strsignal */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* One delivery, as written into the pipe: 24 bytes, far below PIPE_BUF, so
 * each write is atomic even when handlers on several threads write at once. */
struct delivery {
  int signo;
  int code;  /* si_code: SI_QUEUE (-1) for sigqueue, SI_USER (0) for kill, ... */
  int pid;   /* who sent it (si_pid) */
  int uid;   /* their real user id (si_uid) */
  int value; /* si_value.sival_int: sigqueue's payload */
  int dropped_before; /* deliveries lost since the last one written; -1 marks a priming acknowledgement */
};

#define SLOTS 65 /* signals 1..64 */

static int data_fd = -1;  /* the pipe the deliveries go into (non-blocking) */
static int wake_fd = -1;  /* one byte per delivery, to wake an async reader (non-blocking) */
static struct sigaction previous[SLOTS]; /* what our handler replaced */
static struct sigaction before_ignore[SLOTS]; /* what ipcsig_ignore replaced */
static volatile int receiving[SLOTS]; /* a receiver wants the deliveries */
static volatile int dropped[SLOTS];
static volatile pid_t taker_tid; /* the one thread that takes the deliveries */

/* The default action of a signal that nobody handles is to ignore it. */
static int ignored_by_default(int signo) {
  return signo == SIGCHLD || signo == SIGURG || signo == SIGWINCH || signo == SIGCONT;
}

/* Passes a delivery on to the action our handler replaced. */
static void pass_on(int signo, siginfo_t *info, void *context) {
  struct sigaction *old = &previous[signo];
  if (old->sa_flags & SA_SIGINFO) {
    if (old->sa_sigaction) old->sa_sigaction(signo, info, context);
    return;
  }
  if (old->sa_handler == SIG_IGN) return;
  if (old->sa_handler == SIG_DFL) {
    if (ignored_by_default(signo)) return;
    /* Take the default action: put it back and send the signal again; it
       is blocked while we are in here, and ends the process once we return. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(signo, &dfl, 0);
    kill(getpid(), signo); /* to the process: this thread may have blocked the signal for good */
    return;
  }
  old->sa_handler(signo);
}

static void on_signal(int signo, siginfo_t *info, void *context) {
  int saved = errno;
  struct delivery d;
  pid_t self = getpid();
  pid_t tid = (pid_t)syscall(SYS_gettid);
  if (tid != taker_tid) {
    /* Not the taker: block this signal here from now on (the mask is
       restored from the context when the handler returns). */
    sigaddset(&((ucontext_t *)context)->uc_sigmask, signo);
    if (info->si_code == SI_TKILL && info->si_pid == self) {
      /* ipcsig_prime's signal: acknowledge it, with this thread's id. */
      d.signo = signo;
      d.code = SI_TKILL;
      d.pid = tid;
      d.uid = 0;
      d.value = 0;
      d.dropped_before = -1;
      (void)!write(data_fd, &d, sizeof d);
      errno = saved;
      return;
    }
    /* A delivery: hand it to the taker (if that fails, write it from here). */
    if (receiving[signo] && syscall(SYS_rt_tgsigqueueinfo, self, taker_tid, signo, info) == 0) {
      errno = saved;
      return;
    }
  }
  if (!receiving[signo]) {
    pass_on(signo, info, context);
    errno = saved;
    return;
  }
  d.signo = signo;
  d.code = info->si_code;
  d.pid = info->si_pid;
  d.uid = (int)info->si_uid;
  d.value = info->si_value.sival_int;
  d.dropped_before = dropped[signo];
  if (write(data_fd, &d, sizeof d) == (ssize_t)sizeof d) {
    dropped[signo] = 0;
    char byte = 1;
    (void)!write(wake_fd, &byte, 1); /* a full wake pipe is fine: someone is awake already */
  } else {
    dropped[signo]++; /* the pipe is full: nobody is reading */
  }
  errno = saved;
}

/* The size of one delivery record, so that TypeScript can check its layout. */
int ipcsig_record_size(void) { return (int)sizeof(struct delivery); }

/* SIGRTMIN and SIGRTMAX as this C library defines them (glibc keeps 32 and 33). */
int ipcsig_rtmin(void) { return SIGRTMIN; }
int ipcsig_rtmax(void) { return SIGRTMAX; }

/* Where the handler writes. Set once, before any handler is installed, by
   the thread that will take the deliveries; returns that thread's id. */
int ipcsig_channel(int data, int wake) {
  data_fd = data;
  wake_fd = wake;
  taker_tid = (pid_t)syscall(SYS_gettid);
  return taker_tid;
}

/* The signals some receiver wants. */
static void wanted(sigset_t *set) {
  sigemptyset(set);
  for (int signo = 1; signo < SLOTS; signo++)
    if (receiving[signo]) sigaddset(set, signo);
}

/* Blocks (how = SIG_BLOCK) or unblocks one signal in the calling thread. */
static int mask(int how, int signo) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signo);
  return -pthread_sigmask(how, &set, 0);
}

/* Lets every pending delivery of a wanted signal run the handler now, in
   order: unblocking them delivers each before pthread_sigmask returns. */
void ipcsig_flush(void) {
  sigset_t set;
  wanted(&set);
  pthread_sigmask(SIG_UNBLOCK, &set, 0);
  pthread_sigmask(SIG_BLOCK, &set, 0);
}

/* Waits up to ms milliseconds (-1: for ever) for fd to be readable, with the
   wanted signals unblocked meanwhile. 1 readable, 0 timed out, -errno
   (-EINTR: a signal was taken). */
int ipcsig_wait(int fd, int ms) {
  struct pollfd readable = {fd, POLLIN, 0};
  struct timespec limit = {ms / 1000, (long)(ms % 1000) * 1000000L};
  sigset_t during;
  int result;
  pthread_sigmask(SIG_SETMASK, 0, &during);
  for (int signo = 1; signo < SLOTS; signo++)
    if (receiving[signo]) sigdelset(&during, signo);
  result = ppoll(&readable, 1, ms < 0 ? 0 : &limit, &during);
  return result < 0 ? -errno : result;
}

/* Starts receiving signo: installs the handler if it is not in place
   (keeping the action it replaces). Someone else (Bun, for a new
   process.on listener) may have installed another since we last did; then
   ours goes in again, in front of that one. The calling thread (the
   taker) blocks signo until ipcsig_release. 0 or -errno. */
int ipcsig_install(int signo) {
  struct sigaction action, current;
  if (signo < 1 || signo >= SLOTS) return -EINVAL;
  if (data_fd < 0) return -EBADF;
  dropped[signo] = 0;
  if (sigaction(signo, 0, &current) == -1) return -errno;
  receiving[signo] = 1;
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_signal) return mask(SIG_BLOCK, signo);
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(signo, &action, &previous[signo]) == -1) {
    receiving[signo] = 0;
    return -errno;
  }
  return mask(SIG_BLOCK, signo);
}

/* Stops receiving signo: from now on the handler passes deliveries on to
   the action it replaced, and the taker no longer blocks it. Deliveries
   still pending reach the pipe first (and are dropped there), instead of
   the replaced action. */
void ipcsig_release(int signo) {
  if (signo < 1 || signo >= SLOTS) return;
  mask(SIG_UNBLOCK, signo);
  receiving[signo] = 0;
}

/* Sends signo to one thread of this process (tgkill), to make it block the
   signal (see on_signal). 0 or -errno. */
int ipcsig_prime(int signo, int tid) {
  if (syscall(SYS_tgkill, getpid(), tid, signo) == -1) return -errno;
  return 0;
}

/* Sets signo to be ignored (SIG_IGN), keeping the action it replaces. 0 or -errno. */
int ipcsig_ignore(int signo) {
  struct sigaction action;
  if (signo < 1 || signo >= SLOTS) return -EINVAL;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  if (sigaction(signo, &action, &before_ignore[signo]) == -1) return -errno;
  return 0;
}

/* Puts back the action that ipcsig_ignore replaced. 0 or -errno. */
int ipcsig_unignore(int signo) {
  if (signo < 1 || signo >= SLOTS) return -EINVAL;
  if (sigaction(signo, &before_ignore[signo], 0) == -1) return -errno;
  return 0;
}

/* The current disposition: 0 default, 1 ignored, 2 a handler, 3 our handler
   passing deliveries on to the action it replaced (then 10 + that one's
   code); -errno on error. */
int ipcsig_disposition(int signo) {
  struct sigaction current;
  if (sigaction(signo, 0, &current) == -1) return -errno;
  if (current.sa_flags & SA_SIGINFO) {
    if (current.sa_sigaction == on_signal && signo < SLOTS && !receiving[signo]) {
      struct sigaction *old = &previous[signo];
      if (old->sa_flags & SA_SIGINFO) return 12;
      if (old->sa_handler == SIG_DFL) return 10;
      if (old->sa_handler == SIG_IGN) return 11;
      return 12;
    }
    return 2;
  }
  if (current.sa_handler == SIG_DFL) return 0;
  if (current.sa_handler == SIG_IGN) return 1;
  return 2;
}

/* The C library's description of a signal ("Terminated"), as strsignal(3) gives it. */
const char *ipcsig_describe(int signo) { return strsignal(signo); }

/* Deliveries of signo that found the pipe full and were lost. */
int ipcsig_dropped(int signo) {
  if (signo < 1 || signo >= SLOTS) return 0;
  return dropped[signo];
}
