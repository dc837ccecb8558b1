/* SPDX-License-Identifier: MIT */
/*
 * liburcu-bp's call_rcu() and rcu_barrier() for the fuzz targets: the same
 * contract without liburcu's batching delay.
 *
 * Why: liburcu's call_rcu worker sleeps 10 ms after every wake-up to batch
 * callbacks, and rcu_barrier() waits for that sleep. gm_system_free()
 * drains deferred frees with rcu_barrier(), several rounds because frees
 * queue frees, so an input that builds and frees a system spends some 30 ms
 * asleep: fuzzing then runs at a few dozen inputs per second with the CPU
 * idle. Defining urcu_bp_call_rcu and urcu_bp_barrier in the executable
 * overrides liburcu-bp's (libguestmem is linked statically into each target
 * and the executable's definitions win over the shared library's).
 *
 * What is kept: callbacks run on a thread of their own, only after a grace
 * period of the real liburcu-bp (synchronize_rcu()), in the order they were
 * queued; rcu_barrier() returns once every callback queued before it has
 * run (callbacks queued by callbacks may still be pending, as with
 * liburcu). What changes: a batch starts as soon as the worker wakes up.
 * Every other RCU primitive (read-side, synchronize_rcu) is liburcu's.
 *
 * State: one queue for the process, as liburcu has; no input-dependent
 * state survives an input once gm_system_free() returned.
 *
 * scripts/tsan.sh links this file too, with tests/tsan/rcu_model.c, which
 * defines rcu_after_grace_period() to tell ThreadSanitizer that a grace
 * period orders every reader before the callbacks that follow it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <urcu-bp.h>

static pthread_mutex_t rcu_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rcu_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t rcu_done = PTHREAD_COND_INITIALIZER;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;
static struct rcu_head *rcu_first;                 /* queued, oldest first */
static struct rcu_head **rcu_tail = &rcu_first;
static uint64_t rcu_queued, rcu_completed;         /* callbacks queued / run, ever */

/* Called on the worker after each grace period, before its callbacks run. */
void rcu_after_grace_period(void) __attribute__((weak));

/* The list link lives in the head's own wait-free-queue node. */
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
        if (rcu_after_grace_period)
            rcu_after_grace_period();
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
