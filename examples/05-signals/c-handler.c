/*
 * c-handler.c — signal handlers in C, for c-handler.ts, which compiles and
 * runs it. A handler runs in the middle of whatever the program was doing,
 * so it may call only async-signal-safe functions (signal-safety(7)); the
 * safe pattern is to note that the signal came, and act on it later, in
 * the main program. It also shows that standard signals pending at the
 * same time merge, while real-time signals queue with their values.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// ANCHOR: handlers
static volatile sig_atomic_t stop_requested = 0; /* written by the handler, read by main */
static volatile sig_atomic_t usr1_runs = 0;

static void on_term(int signo)
{
    (void)signo;
    stop_requested = 1; /* note it; main finishes its step and shuts down */
}

static void on_usr1(int signo)
{
    (void)signo;
    usr1_runs++;
    /* write(2) is async-signal-safe; printf is not: it takes the stdout lock,
       which main may be holding in the middle of its own printf. */
    static const char text[] = "  handler: SIGUSR1\n";
    write(STDOUT_FILENO, text, sizeof text - 1);
}

static void on_rt(int signo, siginfo_t *info, void *context)
{
    (void)context;
    char line[64];
    /* snprintf is not on the async-signal-safe list either; format by hand. */
    int value = info->si_value.sival_int, n = 0;
    const char *head = "  handler: SIGRTMIN, value ";
    while (head[n]) { line[n] = head[n]; n++; }
    line[n++] = (char)('0' + value % 10);
    line[n++] = '\n';
    write(STDOUT_FILENO, line, (size_t)n);
    (void)signo;
}
// ANCHOR_END: handlers

static void install(int signo, void (*handler)(int))
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(signo, &action, NULL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    install(SIGTERM, on_term);
    install(SIGUSR1, on_usr1);
    struct sigaction rt;
    memset(&rt, 0, sizeof rt);
    rt.sa_sigaction = on_rt;
    rt.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&rt.sa_mask);
    sigaction(SIGRTMIN, &rt, NULL);

    // ANCHOR: merge
    sigset_t both, old;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &both, &old); /* hold them back: they stay pending */
    for (int i = 1; i <= 3; i++) {
        union sigval value = { .sival_int = i };
        kill(getpid(), SIGUSR1);              /* three SIGUSR1 ... */
        sigqueue(getpid(), SIGRTMIN, value);  /* ... and three SIGRTMIN with 1, 2, 3 */
    }
    printf("sent 3 SIGUSR1 and 3 SIGRTMIN while both were blocked; unblocking\n");
    sigprocmask(SIG_SETMASK, &old, NULL);    /* the pending ones are delivered now */
    printf("SIGUSR1 handler ran %d time(s)\n", (int)usr1_runs);
    // ANCHOR_END: merge

    // ANCHOR: loop
    printf("ready: pid %d works until SIGTERM\n", (int)getpid());
    unsigned long steps = 0;
    while (!stop_requested) {
        steps++;        /* one step of work: the handler never interrupts a step halfway in our data */
        usleep(1000);
    }
    printf("SIGTERM noted between two steps (%s); finishing cleanly\n", steps > 0 ? "after some work" : "before the first");
    return 0;
    // ANCHOR_END: loop
}
