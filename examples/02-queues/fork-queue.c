/*
 * fork-queue.c — for fork-queue.ts: fork, and let the child use the queue
 * descriptor it inherited. The child's whole life is in C and ends with
 * _exit, because a forked copy of Bun cannot run JavaScript. Bun runs many
 * threads, and after fork in a threaded process the child may only call
 * async-signal-safe functions: mq_send, getpid and _exit are; printf is
 * not, so the text is put together by hand.
 */
#include <mqueue.h>
#include <unistd.h>

/* Appends the decimal digits of n (n >= 0) to out; returns the new end. */
static char *digits(char *out, long n)
{
    char reversed[24];
    int len = 0;
    do {
        reversed[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (len > 0) *out++ = reversed[--len];
    return out;
}

/* ANCHOR: child */
/* Forks. The child sends `count` messages on `queue`, the descriptor it
 * inherited, and exits; the parent gets the child's pid (or -1). */
int fork_and_send(int queue, int count)
{
    pid_t pid = fork();
    if (pid != 0) return pid;              /* the parent, or -1 if fork failed */

    for (int i = 1; i <= count; i++) {     /* the child */
        char text[64] = "child ";
        char *end = digits(text + 6, getpid());
        const char *middle = " says hello, #";
        while (*middle) *end++ = *middle++;
        end = digits(end, i);
        if (mq_send((mqd_t)queue, text, (size_t)(end - text), 0) == -1) _exit(1);
    }
    _exit(0);                              /* never return into JavaScript */
    return 0;                              /* not reached */
}
/* ANCHOR_END: child */
