/*
 * ipcbench.c — the C half of `bun run bench`: one protocol per IPC
 * mechanism, the same protocol that tools/bench/ts/ does from TypeScript,
 * so that the two can be compared in one run.
 *
 *   ipcbench MECHANISM latency    SIZE COUNT WARMUP
 *   ipcbench MECHANISM throughput SIZE COUNT WARMUP
 *
 * latency: the parent sends SIZE bytes, the child sends them back; COUNT
 * round trips are timed one by one after WARMUP untimed ones.
 * throughput: the parent sends COUNT messages of SIZE bytes; the child
 * receives every one (copying it out) and then answers once; the time
 * runs from the first send to that answer. WARMUP messages go first, and
 * are answered, untimed.
 *
 * Prints one line of JSON. Everything it creates is removed before it
 * exits: queue and FIFO names are unlinked as soon as both ends are open,
 * the System V queue (key 0x49000000 + pid) at exit, and the child dies
 * with the parent (PR_SET_PDEATHSIG).
 *
 * MECHANISM: pipe fifo unix-stream unix-dgram posix-mq sysv-mq shm-sem
 *            shm-futex shm-spin ring
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "ipcbench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long futex_wait(atomic_int *word, int expected) {
  return syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static long futex_wake(atomic_int *word, int waiters) {
  return syscall(SYS_futex, word, FUTEX_WAKE, waiters, NULL, NULL, 0);
}

static void cpu_relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

/* ------------------------------------------------------------------ */
/* Shared-memory channels: K slots of SIZE bytes, one writer, one reader. */

#define LINE 64

struct shchan {
  _Alignas(LINE) atomic_int head;      /* messages written */
  atomic_int reader_waiting;
  _Alignas(LINE) atomic_int tail;      /* messages read */
  atomic_int writer_waiting;
  _Alignas(LINE) sem_t items;          /* shm-sem: filled slots */
  sem_t spaces;                        /* shm-sem: free slots */
  _Alignas(LINE) unsigned char slots[];
};

/* The capstone ring's protocol (lib/ring.ts), broadcast with one consumer. */
struct ring {
  _Alignas(LINE) atomic_int head;       /* published; consumers sleep on it */
  atomic_int waiters;                   /* consumers asleep (or about to be) on signal */
  atomic_int signal;                    /* an eventcount: consumers sleep on it */
  atomic_int wake_pending;              /* a wake is on its way; cleared by each new wait */
  _Alignas(LINE) atomic_int space;      /* bumped when room is made; the producer sleeps on it */
  atomic_int producer_waiting;
  _Alignas(LINE) atomic_int cursor;     /* the consumer's next sequence */
  _Alignas(LINE) unsigned char slots[]; /* each: stamp (i32), length (i32), record */
};

#define RING_SPIN 200

enum kind { PIPE, FIFO, USTREAM, UDGRAM, PMQ, SYSVMQ, SHMSEM, SHMFUTEX, SHMSPIN, RING };

struct chan {
  enum kind kind;
  int rfd, wfd;            /* pipes, FIFOs, sockets */
  mqd_t mq;                /* POSIX queue */
  int msqid;               /* System V queue */
  long mtype;              /* its message type for this direction */
  struct shchan *sh;       /* shm channels */
  struct ring *ring;
  size_t size, k;
  int local;               /* this side's own head or tail */
  int known;               /* ring: the last head seen */
  int limit;               /* ring: first sequence without room */
  unsigned char *msgbuf;   /* System V: mtype + text */
};

static size_t slots_for(size_t size) {
  size_t k = (1u << 20) / size;
  if (k < 16) k = 16;
  if (k > 1024) k = 1024;
  return k;
}

static void write_all(int fd, const void *buf, size_t n) {
  const unsigned char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void read_all(int fd, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) {
      fprintf(stderr, "ipcbench: unexpected end of file\n");
      exit(1);
    }
    p += r;
    n -= (size_t)r;
  }
}

static void chan_send(struct chan *c, const unsigned char *buf) {
  size_t n = c->size;
  switch (c->kind) {
  case PIPE:
  case FIFO:
  case USTREAM:
    write_all(c->wfd, buf, n);
    return;
  case UDGRAM:
    while (send(c->wfd, buf, n, 0) < 0)
      if (errno != EINTR) die("send");
    return;
  case PMQ:
    while (mq_send(c->mq, (const char *)buf, n, 0) < 0)
      if (errno != EINTR) die("mq_send");
    return;
  case SYSVMQ:
    memcpy(c->msgbuf, &c->mtype, sizeof(long));
    memcpy(c->msgbuf + sizeof(long), buf, n);
    while (msgsnd(c->msqid, c->msgbuf, n, 0) < 0)
      if (errno != EINTR) die("msgsnd");
    return;
  case SHMSEM: {
    struct shchan *s = c->sh;
    while (sem_wait(&s->spaces) < 0)
      if (errno != EINTR) die("sem_wait");
    memcpy(s->slots + (size_t)(c->local % (int)c->k) * n, buf, n);
    c->local++;
    sem_post(&s->items);
    return;
  }
  case SHMFUTEX:
  case SHMSPIN: {
    struct shchan *s = c->sh;
    int h = c->local;
    for (;;) {
      int t = atomic_load(&s->tail);
      if (h - t < (int)c->k) break;
      if (c->kind == SHMSPIN) {
        cpu_relax();
        continue;
      }
      atomic_store(&s->writer_waiting, 1);
      if (h - atomic_load(&s->tail) < (int)c->k) {
        atomic_store(&s->writer_waiting, 0);
        break;
      }
      futex_wait(&s->tail, t);
      atomic_store(&s->writer_waiting, 0);
    }
    memcpy(s->slots + (size_t)((unsigned)h % c->k) * n, buf, n);
    c->local = h + 1;
    atomic_store(&s->head, h + 1);
    if (c->kind == SHMFUTEX && atomic_load(&s->reader_waiting)) futex_wake(&s->head, 1);
    return;
  }
  case RING: {
    struct ring *r = c->ring;
    int h = c->local;
    size_t stride = n + 8;
    if (c->limit - h <= 0) {
      c->limit = atomic_load(&r->cursor) + (int)c->k;
      int spins = 0;
      while (c->limit - h <= 0) {
        if (spins < RING_SPIN) {
          spins++;
        } else {
          atomic_store(&r->producer_waiting, 1);
          int space = atomic_load(&r->space);
          c->limit = atomic_load(&r->cursor) + (int)c->k;
          if (c->limit - h > 0) break;
          futex_wait(&r->space, space);
        }
        c->limit = atomic_load(&r->cursor) + (int)c->k;
      }
      atomic_store(&r->producer_waiting, 0);
    }
    unsigned char *slot = r->slots + (size_t)((unsigned)h & (c->k - 1)) * stride;
    memcpy(slot + 8, buf, n);
    ((int32_t *)slot)[1] = (int32_t)n;
    ((int32_t *)slot)[0] = h + 1; /* the stamp; the store of head publishes it */
    c->local = h + 1;
    atomic_store(&r->head, h + 1);
    int zero = 0;
    if (atomic_load(&r->waiters) != 0 && atomic_compare_exchange_strong(&r->wake_pending, &zero, 1)) {
      atomic_fetch_add(&r->signal, 1);
      futex_wake(&r->signal, INT_MAX);
    }
    return;
  }
  }
}

static void chan_recv(struct chan *c, unsigned char *buf) {
  size_t n = c->size;
  switch (c->kind) {
  case PIPE:
  case FIFO:
  case USTREAM:
    read_all(c->rfd, buf, n);
    return;
  case UDGRAM:
    while (recv(c->rfd, buf, n, 0) < 0)
      if (errno != EINTR) die("recv");
    return;
  case PMQ:
    while (mq_receive(c->mq, (char *)buf, n < 64 ? 64 : n, NULL) < 0)
      if (errno != EINTR) die("mq_receive");
    return;
  case SYSVMQ:
    while (msgrcv(c->msqid, c->msgbuf, n, c->mtype, 0) < 0)
      if (errno != EINTR) die("msgrcv");
    memcpy(buf, c->msgbuf + sizeof(long), n);
    return;
  case SHMSEM: {
    struct shchan *s = c->sh;
    while (sem_wait(&s->items) < 0)
      if (errno != EINTR) die("sem_wait");
    memcpy(buf, s->slots + (size_t)(c->local % (int)c->k) * n, n);
    c->local++;
    sem_post(&s->spaces);
    return;
  }
  case SHMFUTEX:
  case SHMSPIN: {
    struct shchan *s = c->sh;
    int t = c->local;
    for (;;) {
      int h = atomic_load(&s->head);
      if (h != t) break;
      if (c->kind == SHMSPIN) {
        cpu_relax();
        continue;
      }
      atomic_store(&s->reader_waiting, 1);
      if (atomic_load(&s->head) != t) {
        atomic_store(&s->reader_waiting, 0);
        break;
      }
      futex_wait(&s->head, h);
      atomic_store(&s->reader_waiting, 0);
    }
    memcpy(buf, s->slots + (size_t)((unsigned)t % c->k) * n, n);
    c->local = t + 1;
    atomic_store(&s->tail, t + 1);
    if (c->kind == SHMFUTEX && atomic_load(&s->writer_waiting)) futex_wake(&s->tail, 1);
    return;
  }
  case RING: {
    struct ring *r = c->ring;
    int cur = c->local;
    size_t stride = n + 8;
    if (cur == c->known) {
      c->known = atomic_load(&r->head);
      if (cur == c->known && atomic_load(&r->cursor) != cur) {
        /* About to wait: the producer must know how far this consumer got. */
        atomic_store(&r->cursor, cur);
        int one = 1;
        if (atomic_load(&r->producer_waiting) == 1 && atomic_compare_exchange_strong(&r->producer_waiting, &one, 0)) {
          atomic_fetch_add(&r->space, 1);
          futex_wake(&r->space, 1);
        }
      }
      int spins = 0;
      while (cur == c->known) {
        if (spins < RING_SPIN) {
          spins++;
        } else {
          /* The value to sleep on first, then "I wait", then the last look. */
          int signal = atomic_load(&r->signal);
          atomic_fetch_add(&r->waiters, 1);
          atomic_store(&r->wake_pending, 0);
          if (atomic_load(&r->head) == cur) futex_wait(&r->signal, signal);
          atomic_fetch_sub(&r->waiters, 1);
        }
        c->known = atomic_load(&r->head);
      }
    }
    unsigned char *slot = r->slots + (size_t)((unsigned)cur & (c->k - 1)) * stride;
    if (((int32_t *)slot)[0] != cur + 1) {
      fprintf(stderr, "ipcbench: ring slot overwritten\n");
      exit(1);
    }
    int32_t len = ((int32_t *)slot)[1];
    memcpy(buf, slot + 8, (size_t)len);
    c->local = cur + 1;
    /* Publish the cursor every 64 records while the ring has room to spare; at once when the
       ring was nearly full or the producer waits; and before waiting, above (lib/ring.ts: CURSOR_BATCH). */
    int eager = (int)c->k > 64 ? (int)c->k - 64 : 0;
    if (((cur + 1) & 63) != 0 && c->known - (cur + 1) < eager && atomic_load(&r->producer_waiting) == 0) return;
    atomic_store(&r->cursor, cur + 1);
    int one = 1;
    if (atomic_load(&r->producer_waiting) == 1 && atomic_compare_exchange_strong(&r->producer_waiting, &one, 0)) {
      atomic_fetch_add(&r->space, 1);
      futex_wake(&r->space, 1);
    }
    return;
  }
  }
}

/* ------------------------------------------------------------------ */
/* Setting up the two directions: a (parent to child) and b (back).   */

static int msqid = -1;
static void remove_msq(void) {
  if (msqid != -1) msgctl(msqid, IPC_RMID, NULL);
}

static enum kind kind_of(const char *name) {
  static const char *names[] = {"pipe", "fifo", "unix-stream", "unix-dgram", "posix-mq", "sysv-mq", "shm-sem", "shm-futex", "shm-spin", "ring"};
  for (int i = 0; i < 10; i++)
    if (strcmp(name, names[i]) == 0) return (enum kind)i;
  fprintf(stderr, "ipcbench: unknown mechanism %s\n", name);
  exit(2);
}

static void *shared(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

/* Before fork: everything both directions need. */
static void setup(enum kind kind, size_t size, struct chan *a, struct chan *b, int fds[4], char paths[2][64]) {
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  a->kind = b->kind = kind;
  a->size = b->size = size;
  a->k = b->k = slots_for(size);
  switch (kind) {
  case PIPE:
    if (pipe(fds) < 0 || pipe(fds + 2) < 0) die("pipe");
    return;
  case FIFO:
    for (int i = 0; i < 2; i++) {
      snprintf(paths[i], 64, "/tmp/ipcbook-bench-%d-%c", getpid(), 'a' + i);
      if (mkfifo(paths[i], 0600) < 0) die("mkfifo");
    }
    return;
  case USTREAM:
  case UDGRAM: {
    if (socketpair(AF_UNIX, kind == USTREAM ? SOCK_STREAM : SOCK_DGRAM, 0, fds) < 0) die("socketpair");
    if (kind == UDGRAM) {
      int buf = (int)(size * 16 + 4096);
      setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
      setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    }
    return;
  }
  case PMQ: {
    struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = (long)(size < 64 ? 64 : size)};
    char name[64];
    snprintf(name, sizeof name, "/ipcbook-bench-%d-a", getpid());
    a->mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (a->mq == (mqd_t)-1) die("mq_open");
    mq_unlink(name);
    snprintf(name, sizeof name, "/ipcbook-bench-%d-b", getpid());
    b->mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (b->mq == (mqd_t)-1) die("mq_open");
    mq_unlink(name);
    return;
  }
  case SYSVMQ:
    /* A key made from the pid, so that the benchmark can find the queue of a run it had to kill. */
    msqid = msgget(0x49000000 + getpid(), IPC_CREAT | IPC_EXCL | 0600);
    if (msqid < 0) die("msgget");
    atexit(remove_msq);
    a->msqid = b->msqid = msqid;
    a->mtype = 1;
    b->mtype = 2;
    a->msgbuf = malloc(sizeof(long) + size);
    b->msgbuf = malloc(sizeof(long) + size);
    return;
  case SHMSEM:
  case SHMFUTEX:
  case SHMSPIN:
    for (int i = 0; i < 2; i++) {
      struct chan *c = i == 0 ? a : b;
      c->sh = shared(sizeof(struct shchan) + c->k * size);
      if (kind == SHMSEM && (sem_init(&c->sh->items, 1, 0) < 0 || sem_init(&c->sh->spaces, 1, (unsigned)c->k) < 0)) die("sem_init");
    }
    return;
  case RING:
    for (int i = 0; i < 2; i++) {
      struct chan *c = i == 0 ? a : b;
      c->ring = shared(sizeof(struct ring) + c->k * (size + 8));
      c->limit = 0;
    }
    return;
  }
}

/* After fork: each side keeps its own ends. `sender` writes to a, reads b. */
static void take_ends(struct chan *a, struct chan *b, int fds[4], char paths[2][64], int parent) {
  switch (a->kind) {
  case PIPE:
    if (parent) {
      a->wfd = fds[1], b->rfd = fds[2];
      close(fds[0]), close(fds[3]);
    } else {
      a->rfd = fds[0], b->wfd = fds[3];
      close(fds[1]), close(fds[2]);
    }
    return;
  case FIFO:
    /* open(2) on a FIFO waits for the other end: open a first on both sides. */
    if (parent) {
      if ((a->wfd = open(paths[0], O_WRONLY)) < 0) die("open fifo");
      if ((b->rfd = open(paths[1], O_RDONLY)) < 0) die("open fifo");
      unlink(paths[0]);
      unlink(paths[1]);
    } else {
      if ((a->rfd = open(paths[0], O_RDONLY)) < 0) die("open fifo");
      if ((b->wfd = open(paths[1], O_WRONLY)) < 0) die("open fifo");
    }
    return;
  case USTREAM:
  case UDGRAM:
    if (parent) {
      a->wfd = b->rfd = fds[0];
      close(fds[1]);
    } else {
      a->rfd = b->wfd = fds[1];
      close(fds[0]);
    }
    return;
  default:
    return;
  }
}

static int compare(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: ipcbench MECHANISM latency|throughput SIZE COUNT WARMUP\n");
    return 2;
  }
  enum kind kind = kind_of(argv[1]);
  int latency = strcmp(argv[2], "latency") == 0;
  size_t size = (size_t)atol(argv[3]);
  long count = atol(argv[4]), warmup = atol(argv[5]);
  if (size < 1 || count < 1 || warmup < 0) return 2;

  struct chan a, b;
  int fds[4];
  char paths[2][64];
  setup(kind, size, &a, &b, fds, paths);
  unsigned char *buf = calloc(1, size < 64 ? 64 : size);
  unsigned char *out = calloc(1, size < 64 ? 64 : size);

  pid_t parent_pid = getpid();
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) _exit(1);
    msqid = -1; /* the parent removes it */
    take_ends(&a, &b, fds, paths, 0);
    if (latency) {
      for (long i = 0; i < warmup + count; i++) {
        chan_recv(&a, out);
        chan_send(&b, out);
      }
    } else {
      for (long i = 0; i < warmup; i++) chan_recv(&a, out);
      chan_send(&b, out);
      for (long i = 0; i < count; i++) chan_recv(&a, out);
      chan_send(&b, out);
    }
    _exit(0);
  }
  take_ends(&a, &b, fds, paths, 1);
  memset(buf, 0x5a, size);

  if (latency) {
    double *rtt = malloc(sizeof(double) * (size_t)count);
    for (long i = 0; i < warmup; i++) {
      chan_send(&a, buf);
      chan_recv(&b, out);
    }
    /* ANCHOR: latency */
    double started = now();
    for (long i = 0; i < count; i++) {
      double t0 = now();
      chan_send(&a, buf); /* to the child, which sends it straight back */
      chan_recv(&b, out);
      rtt[i] = now() - t0;
    }
    /* ANCHOR_END: latency */
    double total = now() - started;
    qsort(rtt, (size_t)count, sizeof(double), compare);
    double sum = 0;
    for (long i = 0; i < count; i++) sum += rtt[i];
    long p99 = (long)((double)count * 0.99);
    if (p99 >= count) p99 = count - 1;
    printf("{\"median_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,\"seconds\":%.6f,\"count\":%ld}\n", rtt[count / 2] * 1e6, rtt[p99] * 1e6,
           sum / (double)count * 1e6, total, count);
  } else {
    /* The warm-up messages go first, untimed, and are answered; then the counted ones. */
    for (long i = 0; i < warmup; i++) chan_send(&a, buf);
    chan_recv(&b, out);
    double started = now();
    for (long i = 0; i < count; i++) chan_send(&a, buf);
    chan_recv(&b, out);
    double seconds = now() - started;
    printf("{\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"seconds\":%.6f,\"count\":%ld}\n", (double)count / seconds,
           (double)count * (double)size / seconds / 1e6, seconds, count);
  }
  fflush(stdout);
  int status;
  if (waitpid(child, &status, 0) < 0) die("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "ipcbench: the child failed (status %d)\n", status);
    return 1;
  }
  return 0;
}
