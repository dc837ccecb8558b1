/* SPDX-License-Identifier: MIT */
/*
 * The threads engine: a few worker threads per queue run the blocking
 * calls, so that many operations are in flight without io_uring (QEMU's
 * aio=threads). Submissions go on a to-do list; workers take them, run
 * them, put them on the done list and signal the engine's eventfd; the
 * queue thread reaps the done list.
 *
 * Locking: lock guards both lists, inflight and stop; workers sleep on
 * work, a reaper that must wait sleeps on finished.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_engine.h"

#define THREADS_MAX 8u

struct blk_engine {
    const blk_disk *d;
    pthread_mutex_t lock;
    pthread_cond_t work;
    pthread_cond_t finished;
    blk_io_list todo, done;
    unsigned int inflight;        /* submitted, not reaped */
    bool stop;
    int efd;
    unsigned int nthreads;
    pthread_t threads[THREADS_MAX];
};

static void *worker(void *arg)
{
    blk_engine *e = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        blk_io *io;

        while (!e->stop && !e->todo.head)
            pthread_cond_wait(&e->work, &e->lock);
        io = blk_io_list_take(&e->todo);
        if (!io)
            break;   /* stopping, nothing left */
        pthread_mutex_unlock(&e->lock);
        blk_engine_run_blocking(e->d, io);
        pthread_mutex_lock(&e->lock);
        blk_io_list_put(&e->done, io);
        pthread_cond_signal(&e->finished);
        if (write(e->efd, &one, sizeof(one)) < 0) {
            /* the counter is saturated: the queue thread is woken anyway */
        }
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static void threads_close(blk_engine *e);

static int threads_open(blk_engine **out, const blk_disk *d, unsigned int depth)
{
    blk_engine *e = calloc(1, sizeof(*e));
    unsigned int want = depth < THREADS_MAX ? (depth ? depth : 1) : THREADS_MAX;

    if (!e)
        return -ENOMEM;
    e->d = d;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->work, NULL);
    pthread_cond_init(&e->finished, NULL);
    e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    while (e->efd >= 0 && e->nthreads < want &&
           pthread_create(&e->threads[e->nthreads], NULL, worker, e) == 0)
        e->nthreads++;
    if (e->efd < 0 || !e->nthreads) {
        threads_close(e);
        return -ENOMEM;
    }
    *out = e;
    return 0;
}

static int threads_fd(const blk_engine *e)
{
    return e->efd;
}

static int threads_submit(blk_engine *e, blk_io *io)
{
    pthread_mutex_lock(&e->lock);
    blk_io_list_put(&e->todo, io);
    e->inflight++;
    pthread_cond_signal(&e->work);
    pthread_mutex_unlock(&e->lock);
    return 0;
}

static void threads_kick(blk_engine *e)
{
    (void)e;
}

static unsigned int threads_reap(blk_engine *e, blk_io **done, unsigned int max, bool wait)
{
    unsigned int n = 0;
    uint64_t v;

    if (read(e->efd, &v, sizeof(v)) < 0) {
        /* nothing signalled since the last reap */
    }
    pthread_mutex_lock(&e->lock);
    while (wait && !e->done.head && e->inflight)
        pthread_cond_wait(&e->finished, &e->lock);
    while (n < max && e->done.head)
        done[n++] = blk_io_list_take(&e->done);
    e->inflight -= n;
    pthread_mutex_unlock(&e->lock);
    return n;
}

static void threads_close(blk_engine *e)
{
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_cond_broadcast(&e->work);
    pthread_mutex_unlock(&e->lock);
    for (unsigned int i = 0; i < e->nthreads; i++)
        pthread_join(e->threads[i], NULL);
    if (e->efd >= 0)
        close(e->efd);
    pthread_cond_destroy(&e->finished);
    pthread_cond_destroy(&e->work);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

const blk_engine_ops blk_engine_threads = {
    .name = "threads", .open = threads_open, .fd = threads_fd, .submit = threads_submit,
    .kick = threads_kick, .reap = threads_reap, .close = threads_close,
};
