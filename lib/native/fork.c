/*
 * fork.c — the fork family, in C, for lib/native/forks.ts.
 *
 * Bun compiles this file at run time with TinyCC (bun:ffi's `cc`) and
 * calls the functions below from TypeScript. Each one forks, lets the
 * child do one small thing, waits for the child, and hands back what it
 * observed in an array of 64-bit numbers, so that TypeScript can print it.
 *
 * Why in C: fork copies only the thread that called it. Bun runs a dozen
 * threads (the JavaScript engine's garbage collector and compiler, the
 * I/O pool); in the child they are gone, along with any lock one of them
 * held, and the first JavaScript the child runs crashes it. So the child
 * below never returns into JavaScript: it calls only async-signal-safe
 * functions (write, execv, _exit, getpid, …) and ends with _exit or exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Waits for `pid`, retrying when a signal interrupts the wait. */
static int wait_for(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) == -1) {
        if (errno != EINTR) return -errno;
    }
    return 0;
}

// ANCHOR: fork_exec
/*
 * fork, then exec: the child replaces itself with the program `path`.
 * out[0] = the child's pid, out[1] = its wait status.
 * Returns 0, or -errno if fork or waitpid failed.
 */
int fork_exec(const char *path, char *const argv[], int64_t *out)
{
    pid_t pid = fork();
    if (pid == -1) return -errno;
    if (pid == 0) {
        /* The child: a copy of this process, until execv replaces it. */
        execv(path, argv);
        _exit(127);               /* execv returns only if it failed */
    }
    /* The parent: fork returned the child's pid. */
    int status;
    int failed = wait_for(pid, &status);
    if (failed) return failed;
    out[0] = pid;
    out[1] = status;
    return 0;
}
// ANCHOR_END: fork_exec

// ANCHOR: fork_write
/*
 * A forked child writes `text` to the descriptor `fd`, which it inherited:
 * the same open file as the parent's, with the same file offset.
 * out[0] = the child's pid, out[1] = its wait status.
 */
int fork_write(int fd, const char *text, int64_t *out)
{
    size_t length = strlen(text);   /* measured before fork: the child only writes */
    pid_t pid = fork();
    if (pid == -1) return -errno;
    if (pid == 0) {
        ssize_t written = write(fd, text, length);
        _exit(written == (ssize_t)length ? 0 : 1);
    }
    int status;
    int failed = wait_for(pid, &status);
    if (failed) return failed;
    out[0] = pid;
    out[1] = status;
    return 0;
}
// ANCHOR_END: fork_write

// ANCHOR: copy_on_write
static int value;   /* a global variable: in this process's data segment */

/*
 * Copy-on-write made visible. The parent sets `value` to 42 and forks;
 * the child sets its `value` to 99 and reports the value and its address
 * through a pipe; then the parent looks at its own.
 * out: [child pid, wait status, parent's value, parent's &value,
 *       child's value, child's &value]
 */
int copy_on_write(int64_t *out)
{
    int report[2];
    if (pipe(report) == -1) return -errno;
    value = 42;

    pid_t pid = fork();
    if (pid == -1) return -errno;
    if (pid == 0) {
        value = 99;   /* the kernel copies the page now, for the child only */
        int64_t seen[2] = { value, (int64_t)(intptr_t)&value };
        ssize_t written = write(report[1], seen, sizeof seen);
        _exit(written == (ssize_t)sizeof seen ? 0 : 1);
    }

    close(report[1]);
    int64_t seen[2] = { 0, 0 };
    ssize_t got = read(report[0], seen, sizeof seen);
    close(report[0]);
    int status;
    int failed = wait_for(pid, &status);
    if (failed) return failed;
    if (got != (ssize_t)sizeof seen) return -EIO;

    out[0] = pid;
    out[1] = status;
    out[2] = value;                      /* still 42 */
    out[3] = (int64_t)(intptr_t)&value;  /* the same address as the child's */
    out[4] = seen[0];                    /* 99 */
    out[5] = seen[1];
    return 0;
}
// ANCHOR_END: copy_on_write
