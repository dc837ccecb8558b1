/* SPDX-License-Identifier: MIT */
/*
 * Holding the queue threads (bp_hold.h): a mutex, a condition variable,
 * two counts (held, gone) and the number of releases, which a held thread
 * waits to see move. Every change is broadcast, since the main thread and
 * the held threads wait on the same condition.
 */
#define _GNU_SOURCE

#include "bp_hold.h"

void bp_hold_init(bp_hold *h)
{
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    h->want = 0;
    h->held = h->gone = h->released = 0;
}

void bp_hold_destroy(bp_hold *h)
{
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
}

void bp_hold_ask(bp_hold *h)
{
    pthread_mutex_lock(&h->lock);
    __atomic_store_n(&h->want, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&h->lock);
}

void bp_hold_wait(bp_hold *h, unsigned int threads)
{
    pthread_mutex_lock(&h->lock);
    while (h->held + h->gone < threads)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

void bp_hold_release(bp_hold *h)
{
    pthread_mutex_lock(&h->lock);
    __atomic_store_n(&h->want, 0, __ATOMIC_RELEASE);
    h->released++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

bool bp_hold_point(bp_hold *h, bool self)
{
    bool held = false;
    unsigned int release;

    if (!self && !bp_hold_wanted(h))
        return false;
    pthread_mutex_lock(&h->lock);
    if (h->want || self) {
        release = h->released;
        h->held++;
        pthread_cond_broadcast(&h->cond);
        while (h->released == release)
            pthread_cond_wait(&h->cond, &h->lock);
        h->held--;
        held = true;
    }
    pthread_mutex_unlock(&h->lock);
    return held;
}

void bp_hold_leave(bp_hold *h)
{
    pthread_mutex_lock(&h->lock);
    h->gone++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}
