/* SPDX-License-Identifier: MIT */
/*
 * What liburcu-bp guarantees, told to ThreadSanitizer (TSan builds only:
 * scripts/tsan.sh links this into the concurrency tests).
 *
 * Why: in sanitizer builds the library calls liburcu out of line (no
 * _LGPL_SOURCE, see src/meson.build), and liburcu-bp.so is not
 * instrumented, so TSan sees none of RCU's ordering and reports:
 *   1. publication: a reader's loads from a flat view (or host map) that
 *      the writer initialised and published with rcu_assign_pointer();
 *   2. reclamation: a deferred free (call_rcu callback) of memory readers
 *      used before the grace period ended.
 * Both are ordered by RCU; TSan cannot know. Instead of suppressing every
 * report that mentions the rendering or freeing code (which would also
 * hide real races there), this file overrides the few liburcu entry points
 * the library uses and states the ordering with TSan's annotations:
 *
 *   rcu_set_pointer_sym(p, v)  __tsan_release(v), then the store: the
 *                              writer's initialisation of *v happens before
 *   rcu_dereference_sym(v)     __tsan_acquire(v): ... a reader's use of it;
 *   urcu_bp_read_unlock()      __tsan_release(&grace): everything a reader
 *                              did inside its critical section happens before
 *   call_rcu callbacks         __tsan_acquire(&grace), taken after a real
 *                              synchronize_rcu(): ... a deferred free.
 *
 * A reader that touches a view outside a critical section, a writer that
 * changes a view after publishing it, or a free that is not deferred still
 * race in TSan's eyes and are reported. call_rcu() and rcu_barrier() are
 * re-implemented on a queue and a worker thread of our own (same contract
 * as liburcu's: callbacks run in order on another thread after a grace
 * period; rcu_barrier() waits for every callback queued before it) so that
 * the acquire can be placed after the grace period.
 *
 * This file is compiled without -fsanitize=thread, so the pointer store
 * below is invisible to TSan (only the annotations speak); it is linked
 * with the TSan runtime, whose pthread interceptors still see the queue's
 * mutex.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <sanitizer/tsan_interface.h>
#include <urcu-bp.h>

static char grace;                                 /* sync object of grace periods */
static pthread_mutex_t rcu_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rcu_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t rcu_done = PTHREAD_COND_INITIALIZER;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;
static struct rcu_head *rcu_first;
static struct rcu_head **rcu_tail = &rcu_first;
static uint64_t rcu_queued, rcu_completed;
static void (*real_read_unlock)(void);

void *rcu_set_pointer_sym(void **p, void *v)
{
    if (v)
        __tsan_release(v);
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
    return v;
}

void *rcu_dereference_sym(void *v)
{
    if (v)
        __tsan_acquire(v);
    return v;
}

static void find_read_unlock(void)
{
    real_read_unlock = (void (*)(void))dlsym(RTLD_NEXT, "urcu_bp_read_unlock");
    if (!real_read_unlock)
        abort();
}

void urcu_bp_read_unlock(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, find_read_unlock);
    __tsan_release(&grace);
    real_read_unlock();
}

static struct rcu_head **next_of(struct rcu_head *head)
{
    return (struct rcu_head **)(void *)&head->next.next;
}

static void *rcu_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&rcu_lock);
    for (;;) {
        struct rcu_head *batch;
        uint64_t upto;

        while (!rcu_first)
            pthread_cond_wait(&rcu_work, &rcu_lock);
        batch = rcu_first;
        upto = rcu_queued;
        rcu_first = NULL;
        rcu_tail = &rcu_first;
        pthread_mutex_unlock(&rcu_lock);
        synchronize_rcu();
        __tsan_acquire(&grace);
        while (batch) {
            struct rcu_head *next = *next_of(batch);

            batch->func(batch);
            batch = next;
        }
        pthread_mutex_lock(&rcu_lock);
        rcu_completed = upto;
        pthread_cond_broadcast(&rcu_done);
    }
    return NULL;
}

static void rcu_start(void)
{
    pthread_t t;

    if (pthread_create(&t, NULL, rcu_worker, NULL) != 0)
        abort();
    pthread_detach(t);
}

void urcu_bp_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
    pthread_once(&rcu_once, rcu_start);
    head->func = func;
    *next_of(head) = NULL;
    pthread_mutex_lock(&rcu_lock);
    *rcu_tail = head;
    rcu_tail = next_of(head);
    rcu_queued++;
    pthread_cond_signal(&rcu_work);
    pthread_mutex_unlock(&rcu_lock);
}

void urcu_bp_barrier(void)
{
    uint64_t target;

    pthread_mutex_lock(&rcu_lock);
    target = rcu_queued;
    while (rcu_completed < target)
        pthread_cond_wait(&rcu_done, &rcu_lock);
    pthread_mutex_unlock(&rcu_lock);
}
