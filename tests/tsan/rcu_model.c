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
 * the acquire can be placed after the grace period: that queue is
 * tests/fuzz/fuzz_rcu.c (also used by the fuzz targets), whose worker calls
 * rcu_after_grace_period() below.
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

/* Hook of tests/fuzz/fuzz_rcu.c's worker, after a real synchronize_rcu(). */
void rcu_after_grace_period(void);
void rcu_after_grace_period(void)
{
    __tsan_acquire(&grace);
}
