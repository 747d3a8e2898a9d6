/*
 * parallel.c - running independent work on several POSIX threads: a batch's
 * records, the blocks of one large ChaCha20 call.  The calling thread is one
 * of the workers; the others take `grain` items at a time from a shared
 * counter, so a core slowed by other work simply takes fewer items.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L /* pthreads and sysconf under -std=c99 */
#endif
#include "pli_internal.h"

/* POSIX threads with the gcc/clang atomic builtins; otherwise one thread. */
#if !defined(PLI_NO_THREADS) && (defined(__unix__) || defined(__APPLE__)) && (defined(__GNUC__) || defined(__clang__))
#define PLI_HAVE_THREADS 1
#else
#define PLI_HAVE_THREADS 0
#endif

#define MAX_THREADS 16

#if PLI_HAVE_THREADS
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static int configured; /* atomic; 0: one per online CPU */

int pli_set_max_threads(int n)
{
    if (n < 0) {
        return PLI_ERR_ARGUMENT;
    }
    __atomic_store_n(&configured, n, __ATOMIC_RELAXED);
    return PLI_OK;
}

size_t pli_max_threads(void)
{
    long n = __atomic_load_n(&configured, __ATOMIC_RELAXED);
    if (n == 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
    }
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (size_t)n;
}

typedef struct {
    size_t n, grain;
    size_t next; /* atomic: the first item nobody has taken */
    void (*run)(void *ctx, size_t start, size_t end);
    void *ctx;
} shared_work;

static void *worker(void *arg)
{
    shared_work *w = arg;
    for (;;) {
        size_t start = __atomic_fetch_add(&w->next, w->grain, __ATOMIC_RELAXED);
        if (start >= w->n) {
            return NULL;
        }
        w->run(w->ctx, start, w->n - start < w->grain ? w->n : start + w->grain);
    }
}

void pli_parallel(size_t n, size_t grain, size_t threads, void (*run)(void *ctx, size_t start, size_t end),
                  void *ctx)
{
    pthread_t helpers[MAX_THREADS];
    sigset_t all, old_mask;
    shared_work w;
    size_t started = 0, i;
    if (threads > MAX_THREADS) {
        threads = MAX_THREADS;
    }
    if (threads > (n + grain - 1) / grain) {
        threads = (n + grain - 1) / grain;
    }
    if (threads <= 1) {
        run(ctx, 0, n);
        return;
    }
    w.n = n;
    w.grain = grain;
    w.next = 0;
    w.run = run;
    w.ctx = ctx;
    /* Helpers start with every signal blocked (they inherit the mask), so
     * signals such as Ctrl-C keep going to the threads the host program
     * expects.  A helper that cannot be started only means fewer helpers. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    while (started + 1 < threads && pthread_create(&helpers[started], NULL, worker, &w) == 0) {
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    worker(&w);
    for (i = 0; i < started; i++) {
        pthread_join(helpers[i], NULL);
    }
}

#else

int pli_set_max_threads(int n)
{
    return n < 0 ? PLI_ERR_ARGUMENT : PLI_OK; /* no threads in this build: always one */
}

size_t pli_max_threads(void)
{
    return 1;
}

void pli_parallel(size_t n, size_t grain, size_t threads, void (*run)(void *ctx, size_t start, size_t end),
                  void *ctx)
{
    (void)grain;
    (void)threads;
    run(ctx, 0, n);
}

#endif
