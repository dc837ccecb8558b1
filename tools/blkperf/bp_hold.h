/* SPDX-License-Identifier: MIT */
/*
 * Holding guestmem-blkperf's queue threads, as a stopped VM holds its
 * vCPUs: a held thread makes nothing available, takes nothing back and
 * kicks nothing, while the requests it had in flight stay in flight. The
 * main thread holds the queues to stop the rings the way QEMU stops a
 * device for migration (--log), and while they are held it owns their
 * rings (it may take back used buffers on their behalf).
 *
 * A queue thread calls bp_hold_point() where it owns nothing half-done
 * (after making requests available and kicking) and bp_hold_leave() when
 * it ends; the main
 * thread's bp_hold_wait() returns once every thread of the phase is held
 * or gone. The mutex orders everything a thread did before it was held
 * before what the main thread does, and back at release.
 */
#ifndef GUESTMEM_BLKPERF_HOLD_H
#define GUESTMEM_BLKPERF_HOLD_H

#include <pthread.h>
#include <stdbool.h>

typedef struct bp_hold {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int want;                /* atomic: the main thread asks to hold */
    unsigned int held;
    unsigned int gone;
    unsigned int released;   /* releases so far: a held thread waits for the next */
} bp_hold;

void bp_hold_init(bp_hold *h);
void bp_hold_destroy(bp_hold *h);

/**
 * bp_hold_ask() - ask every queue thread to hold; the caller then wakes
 * the threads that may sleep and waits with bp_hold_wait().
 * Context: the main thread.
 */
void bp_hold_ask(bp_hold *h);

/**
 * bp_hold_wait() - wait until the @threads threads of the phase are held
 * or gone. Context: the main thread, after bp_hold_ask().
 */
void bp_hold_wait(bp_hold *h, unsigned int threads);

/** bp_hold_release() - let held threads go on. Context: the main thread. */
void bp_hold_release(bp_hold *h);

/** bp_hold_wanted() - whether the main thread asks to hold (a cheap check). */
static inline bool bp_hold_wanted(const bp_hold *h)
{
    return __atomic_load_n(&h->want, __ATOMIC_ACQUIRE);
}

/**
 * bp_hold_point() - hold here if asked to, or if @self (the thread holds
 * of its own accord, for the main thread to find it held), until the next
 * release.
 * Return: whether the thread was held (its rings may have changed meanwhile).
 * Context: a queue thread.
 */
bool bp_hold_point(bp_hold *h, bool self);

/** bp_hold_leave() - this queue thread ends. Context: a queue thread. */
void bp_hold_leave(bp_hold *h);

#endif
