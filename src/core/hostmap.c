/* SPDX-License-Identifier: MIT */
/*
 * The host map: which RAM region a host pointer belongs to
 * (QEMU's memory_region_from_host over its RAM block list).
 *
 * A sorted array of [host start, length) -> region, copied on every change
 * (RAM regions are created rarely) and published with RCU, so lookups from
 * gm_as_unmap() and gm_region_from_host() are lock-free binary searches.
 * Writers serialize on sys->host_lock. An entry does not hold a reference:
 * the region removes itself when freed, and a lookup only returns a region
 * whose reference count it could raise from a non-zero value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static gm_hostmap *hostmap_alloc(unsigned int nr)
{
    gm_hostmap *hm = malloc(sizeof(*hm) + (size_t)nr * sizeof(gm_host_entry));

    if (hm)
        hm->nr = nr;
    return hm;
}

static void hostmap_free_rcu(struct rcu_head *head)
{
    gm_hostmap *hm = caa_container_of(head, gm_hostmap, rcu);
    gm_system *sys = hm->sys;

    free(hm);
    gm_system_deferred_done(sys);
}

/* Publish @next (may be NULL for empty) and retire the old array. */
static void hostmap_publish_locked(gm_system *sys, gm_hostmap *next)
{
    gm_hostmap *old = sys->hostmap;

    rcu_assign_pointer(sys->hostmap, next);
    if (old)
        gm_system_defer_free(sys, &old->rcu, hostmap_free_rcu);
}

static bool entries_overlap(const gm_host_entry *a, uintptr_t start, uint64_t len)
{
    return a->start < start + len && start < a->start + a->len;
}

int gm_hostmap_add(gm_system *sys, gm_region *mr)
{
    uintptr_t start = (uintptr_t)mr->ram;
    gm_hostmap *old, *next;
    unsigned int n, pos = 0;

    pthread_mutex_lock(&sys->host_lock);
    old = sys->hostmap;
    n = old ? old->nr : 0;
    while (pos < n && old->entries[pos].start < start)
        pos++;
    /* Host memory belongs to one region: unmap finds regions by pointer. */
    if ((pos > 0 && entries_overlap(&old->entries[pos - 1], start, mr->ram_len)) ||
        (pos < n && entries_overlap(&old->entries[pos], start, mr->ram_len))) {
        pthread_mutex_unlock(&sys->host_lock);
        return -EEXIST;
    }
    next = hostmap_alloc(n + 1);
    if (!next) {
        pthread_mutex_unlock(&sys->host_lock);
        return -ENOMEM;
    }
    next->sys = sys;
    if (n)
        memcpy(next->entries, old->entries, pos * sizeof(gm_host_entry));
    next->entries[pos] = (gm_host_entry){ (uintptr_t)mr->ram, mr->ram_len, mr };
    if (n > pos)
        memcpy(&next->entries[pos + 1], &old->entries[pos], (n - pos) * sizeof(gm_host_entry));
    hostmap_publish_locked(sys, next);
    pthread_mutex_unlock(&sys->host_lock);
    return 0;
}

void gm_hostmap_del(gm_system *sys, gm_region *mr)
{
    gm_hostmap *old, *next;
    unsigned int out = 0;

    pthread_mutex_lock(&sys->host_lock);
    old = sys->hostmap;
    if (!old || !(next = hostmap_alloc(old->nr))) {
        /* Out of memory: leave the entry; it can no longer be referenced. */
        pthread_mutex_unlock(&sys->host_lock);
        return;
    }
    next->sys = sys;
    for (unsigned int i = 0; i < old->nr; i++) {
        if (old->entries[i].mr != mr)
            next->entries[out++] = old->entries[i];
    }
    next->nr = out;
    hostmap_publish_locked(sys, next);
    pthread_mutex_unlock(&sys->host_lock);
}

void gm_hostmap_free(gm_system *sys)
{
    pthread_mutex_lock(&sys->host_lock);
    hostmap_publish_locked(sys, NULL);
    pthread_mutex_unlock(&sys->host_lock);
}

void gm_hostmap_for_each(gm_system *sys, void (*fn)(gm_region *mr, void *opaque), void *opaque)
{
    gm_hostmap *hm;

    pthread_mutex_lock(&sys->host_lock);
    hm = sys->hostmap;
    for (unsigned int i = 0; hm && i < hm->nr; i++)
        fn(hm->entries[i].mr, opaque);
    pthread_mutex_unlock(&sys->host_lock);
}

gm_region *gm_region_from_host(gm_system *sys, const void *host, gm_addr *offset)
{
    uintptr_t p = (uintptr_t)host;
    gm_region *found = NULL;
    unsigned int lo = 0, hi;
    gm_hostmap *hm;

    rcu_read_lock();
    hm = rcu_dereference(sys->hostmap);
    hi = hm ? hm->nr : 0;
    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (hm->entries[mid].start <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const gm_host_entry *e = &hm->entries[lo - 1];

        if (p - e->start < e->len && gm_region_ref_unless_zero(e->mr)) {
            found = e->mr;
            *offset = p - e->start;
        }
    }
    rcu_read_unlock();
    return found;
}
