/*
 * clone.c — clone(2) with two sets of flags, for lib/native/forks.ts.
 *
 * fork and pthread_create are both clone underneath; the flags decide
 * what the new task shares with its creator:
 *
 *   thread-like: CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
 *                one address space, one descriptor table, one set of signal
 *                handlers, one process id: a new thread of this process;
 *   fork-like:   SIGCHLD only
 *                copies of everything, a new process id, and SIGCHLD to the
 *                parent when it ends: what fork does.
 *
 * The child changes a global variable and dup()s a descriptor, then
 * reports its ids through a pipe; the parent then checks whether it can
 * see the change and the new descriptor. Compiled at run time by bun:ffi's
 * `cc`. The child runs on a stack of its own and calls only raw system
 * calls: it has no thread-local storage of its own, so it must not touch
 * errno-setting failures, malloc or stdio.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE (64 * 1024)

static int shared_value;   /* 0 before; the child sets it to 1 */

// ANCHOR: child
/* What the new task runs. `arg` points at the pipe's write end. */
static int child_main(void *arg)
{
    int report = *(int *)arg;
    shared_value = 1;               /* in our memory, or in a copy of it? */
    int copy = dup(report);         /* in our descriptor table, or in a copy? */
    int64_t seen[4] = { getpid(), syscall(SYS_gettid), getppid(), copy };
    write(report, seen, sizeof seen);
    return 0;                       /* the task ends: exit(2) for this task */
}
// ANCHOR_END: child

/*
 * out: [thread_like, parent pid, parent tid, clone's return value,
 *       child's getpid, child's gettid, child's getppid,
 *       shared_value as the parent sees it afterwards,
 *       1 if the child's dup() is in the parent's descriptor table,
 *       the wait status (fork-like only; 0 for the thread)]
 * Returns 0 or -errno.
 */
int clone_demo(int thread_like, int64_t *out)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) == -1) return -errno;
    char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        return -e;
    }
    shared_value = 0;

    // ANCHOR: flags
    int flags = thread_like
        ? CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
              /* so that we can wait for the thread, as pthread_join does: */
              | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
        : SIGCHLD;   /* nothing shared; SIGCHLD to us when it ends */
    // ANCHOR_END: flags
    volatile pid_t child_tid = 0;   /* the kernel stores the tid here, and 0 when the thread ends */

    /* The child starts with our signal mask: block everything, so that no
       signal handler of Bun's ever runs on the bare child. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int arg = report[1];
    // ANCHOR: clone
    pid_t pid = clone(child_main, stack + STACK_SIZE, flags, &arg,
                      &child_tid, NULL, &child_tid);
    // ANCHOR_END: clone
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid == -1) {
        munmap(stack, STACK_SIZE);
        close(report[0]);
        close(report[1]);
        return -clone_errno;
    }

    int64_t seen[4] = { 0, 0, 0, -1 };
    ssize_t got = read(report[0], seen, sizeof seen);

    // ANCHOR: wait
    int status = 0;
    if (thread_like) {
        /* A thread cannot be waitpid()ed: sleep until the kernel clears child_tid. */
        pid_t tid;
        while ((tid = child_tid) != 0)
            syscall(SYS_futex, &child_tid, FUTEX_WAIT, tid, NULL, NULL, 0);
    } else {
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
            ;
    }
    // ANCHOR_END: wait

    /* Is the child's copy of the descriptor in our table? Same pipe, same inode. */
    int fd_shared = 0;
    struct stat pipe_stat, copy_stat;
    if (got == (ssize_t)sizeof seen && seen[3] >= 0 && fstat(report[1], &pipe_stat) == 0 &&
        fstat((int)seen[3], &copy_stat) == 0 && copy_stat.st_ino == pipe_stat.st_ino &&
        copy_stat.st_dev == pipe_stat.st_dev) {
        fd_shared = 1;
        close((int)seen[3]);
    }

    out[0] = thread_like;
    out[1] = getpid();
    out[2] = syscall(SYS_gettid);
    out[3] = pid;
    out[4] = seen[0];
    out[5] = seen[1];
    out[6] = seen[2];
    out[7] = shared_value;
    out[8] = fd_shared;
    out[9] = status;

    munmap(stack, STACK_SIZE);
    close(report[0]);
    close(report[1]);
    return got == (ssize_t)sizeof seen ? 0 : -EIO;
}
