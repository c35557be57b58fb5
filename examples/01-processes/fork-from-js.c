/*
 * fork-from-js.c — fork(2) and nothing else, for fork-from-js.ts. The
 * point of that listing is what goes wrong when fork returns into
 * JavaScript; never do this in a program of your own.
 */
#include <unistd.h>

int raw_fork(void)
{
    return fork();   /* returns twice: in the parent and in the child */
}
