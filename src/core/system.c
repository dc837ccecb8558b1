/* SPDX-License-Identifier: MIT */
/*
 * The memory system: writer lock, transactions and publication of flat views.
 *
 * Topology changes happen under sys->lock, a recursive mutex, so a listener
 * callback or a nested transaction on the same thread may call back in.
 * Every change marks the system "update pending"; the outermost commit
 * re-renders every address space (address spaces with the same flat-view root
 * share one rendering, as in QEMU), runs the listeners, and publishes each new
 * view with rcu_assign_pointer(). Readers see either the old or the new view,
 * never a mix; the old view is freed after a grace period (call_rcu).
 *
 * Deferred frees (views, regions, host maps) are counted in pending_frees so
 * gm_system_free() can wait for all of them, including frees queued by other
 * frees, before the system itself goes away.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/internal.h"

gm_system *gm_system_new(unsigned int flags)
{
    pthread_mutexattr_t attr;
    gm_system *sys;

    if (flags & ~GM_SYSTEM_BIG_ENDIAN) {
        errno = EINVAL;
        return NULL;
    }
    sys = calloc(1, sizeof(*sys));
    if (!sys)
        return NULL;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&sys->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_mutex_init(&sys->host_lock, NULL);
    pthread_mutex_init(&sys->bounce_lock, NULL);
    pthread_mutex_init(&sys->regions_lock, NULL);
    TAILQ_INIT(&sys->all_regions);
    pthread_mutex_init(&sys->mod_lock, NULL);
    TAILQ_INIT(&sys->address_spaces);
    gm_log_init(&sys->log);
    sys->big_endian = flags & GM_SYSTEM_BIG_ENDIAN;
    return sys;
}

void gm_system_free(gm_system *sys)
{
    gm_as *as;

    if (!sys)
        return;
    while ((as = TAILQ_FIRST(&sys->address_spaces)) != NULL)
        gm_as_free(as);
    gm_mod_release_all(sys);
    gm_system_drain_frees(sys);
    gm_region_release_all(sys);
    gm_hostmap_free(sys);
    gm_system_drain_frees(sys);
    gm_log_destroy(&sys->log);
    pthread_mutex_destroy(&sys->host_lock);
    pthread_mutex_destroy(&sys->bounce_lock);
    pthread_mutex_destroy(&sys->regions_lock);
    pthread_mutex_destroy(&sys->mod_lock);
    pthread_mutex_destroy(&sys->lock);
    free(sys);
}

void gm_system_drain(gm_system *sys)
{
    gm_system_drain_frees(sys);
}

void gm_system_drain_frees(gm_system *sys)
{
    while (__atomic_load_n(&sys->pending_frees, __ATOMIC_ACQUIRE) != 0)
        rcu_barrier();
}

void gm_system_defer_free(gm_system *sys, struct rcu_head *head,
                          void (*fn)(struct rcu_head *head))
{
    __atomic_add_fetch(&sys->pending_frees, 1, __ATOMIC_RELAXED);
    call_rcu(head, fn);
}

void gm_system_deferred_done(gm_system *sys)
{
    __atomic_sub_fetch(&sys->pending_frees, 1, __ATOMIC_RELEASE);
}

void gm_system_lock(gm_system *sys)
{
    pthread_mutex_lock(&sys->lock);
}

void gm_system_unlock(gm_system *sys)
{
    pthread_mutex_unlock(&sys->lock);
}

void gm_system_update_locked(gm_system *sys)
{
    sys->update_pending = true;
}

uint64_t gm_system_generation(gm_system *sys)
{
    return __atomic_load_n(&sys->generation, __ATOMIC_ACQUIRE);
}

void gm_transaction_begin(gm_system *sys)
{
    gm_system_lock(sys);
    sys->transaction_depth++;
}

/* Views rendered during one commit, shared between address spaces whose
 * flat-view root is the same region. */
typedef struct render_memo {
    gm_region *root;
    gm_flatview *fv;
} render_memo;

static gm_flatview *render_shared_locked(gm_system *sys, gm_region *root, render_memo *memo, size_t *nmemo)
{
    gm_flatview *fv;

    for (size_t i = 0; i < *nmemo; i++) {
        if (memo[i].root == root) {
            gm_flatview_ref(memo[i].fv);
            return memo[i].fv;
        }
    }
    fv = gm_flatview_render_locked(sys, root);
    if (fv && memo) {
        memo[*nmemo].root = root;
        memo[*nmemo].fv = fv;
        (*nmemo)++;
        gm_flatview_ref(fv);
    }
    return fv;
}

/* Install @fv (one reference, transferred) as the current view of @as. */
static void as_set_view_locked(gm_as *as, gm_flatview *fv)
{
    gm_flatview *old = as->current;

    gm_listeners_update_locked(as, old, fv);
    rcu_assign_pointer(as->current, fv);
    if (old)
        gm_flatview_unref(old);
}

void gm_as_render_locked(gm_as *as)
{
    gm_flatview *fv = gm_flatview_render_locked(as->sys, gm_flatview_root_of_locked(as->root));

    if (fv)
        as_set_view_locked(as, fv);
}

static size_t count_address_spaces_locked(gm_system *sys)
{
    size_t n = 0;
    gm_as *as;

    TAILQ_FOREACH(as, &sys->address_spaces, link)
        n++;
    return n;
}

static void commit_locked(gm_system *sys)
{
    size_t n = count_address_spaces_locked(sys), nmemo = 0;
    render_memo *memo = calloc(n ? n : 1, sizeof(*memo));
    gm_as *as;

    sys->update_pending = false;
    gm_listeners_begin_locked(sys);
    TAILQ_FOREACH(as, &sys->address_spaces, link) {
        gm_region *root = gm_flatview_root_of_locked(as->root);
        gm_flatview *fv = render_shared_locked(sys, root, memo, &nmemo);

        /* Out of memory: keep the old view rather than publish nothing. */
        if (fv)
            as_set_view_locked(as, fv);
    }
    for (size_t i = 0; i < nmemo; i++)
        gm_flatview_unref(memo[i].fv);
    free(memo);
    __atomic_add_fetch(&sys->generation, 1, __ATOMIC_RELEASE);
    gm_listeners_commit_locked(sys);
}

/* Listeners may change topology from their callbacks: those changes only
 * set update_pending (the depth stays at 1 while committing) and are
 * published by another round, bounded so a listener that always changes
 * something cannot loop forever. */
#define GM_MAX_COMMIT_ROUNDS 16

void gm_transaction_commit(gm_system *sys)
{
    int rounds = 0;

    if (GM_NEVER(sys->transaction_depth <= 0)) {
        gm_log(sys, GM_LOG_ERROR, "gm_transaction_commit without begin");
        return;
    }
    if (sys->transaction_depth == 1) {
        while (sys->update_pending && rounds++ < GM_MAX_COMMIT_ROUNDS)
            commit_locked(sys);
        if (sys->update_pending)
            gm_log(sys, GM_LOG_ERROR, "listeners kept changing topology; %d commits done",
                   GM_MAX_COMMIT_ROUNDS);
    }
    sys->transaction_depth--;
    gm_system_unlock(sys);
}
