/* SPDX-License-Identifier: MIT */
/*
 * IOMMU regions: translation callbacks, the IOTLB and notifiers.
 *
 * The IOTLB is a direct-mapped table of slots per IOMMU region (a power of
 * two, chosen at creation: see gm_iommu_config), indexed by the 4 KiB page
 * of the IOVA and the IOMMU index. Each
 * slot is a seqlock: readers copy it lock-free and retry-as-miss if a writer
 * was inside; writers (fills from any reader thread, invalidations) take the
 * slot by making its sequence odd with a compare-and-swap.
 *
 * Invalidation race: a reader that translated before an invalidation must
 * not cache its (now stale) result afterwards. Every invalidation bumps the
 * region's generation before it clears slots; a fill is dropped if the
 * generation moved since the reader started translating. So a stale fill is
 * either refused or cleared by the invalidation that follows it.
 *
 * Notifiers are called with the notifier list read-locked, so
 * gm_iommu_unregister_notifier() (which write-locks it) returns only once no
 * notification is running: the caller may free the notifier then. A
 * notifier may translate, access memory or notify again, but not register
 * or unregister notifiers of the same region.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define IOTLB_PAGE_SHIFT 12
#define IOTLB_DEFAULT_MIN 64u

typedef struct iotlb_slot {
    unsigned int seq;             /* odd while a writer owns the slot */
    unsigned int valid;
    int idx;
    unsigned int perm;
    gm_addr iova;
    gm_addr mask;
    gm_addr translated;
    gm_as *target;
} iotlb_slot;

struct gm_iommu_state {
    const gm_iommu_ops *ops;
    uint64_t generation;
    gm_addr max_mask;             /* atomic: OR of the masks ever cached */
    pthread_rwlock_t notifier_lock;   /* read: notifying; write: (un)registering */
    gm_iommu_notifier *notifiers;
    gm_iommu_stats stats;         /* relaxed atomics */
    unsigned int nslots;          /* a power of two */
    iotlb_slot slots[];
};

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define COUNT(st, field) __atomic_add_fetch(&(st)->stats.field, 1, __ATOMIC_RELAXED)

/* Default: one slot per 4 KiB page of the region, at least
 * IOTLB_DEFAULT_MIN and at most GM_IOTLB_DEFAULT_MAX_SLOTS. */
static unsigned int iotlb_default_slots(uint64_t size)
{
    uint64_t pages = size == GM_SIZE_2_64 ? UINT64_MAX : size >> IOTLB_PAGE_SHIFT;
    unsigned int n = IOTLB_DEFAULT_MIN;

    while (n < GM_IOTLB_DEFAULT_MAX_SLOTS && n < pages)
        n <<= 1;
    return n;
}

static int iotlb_slots_of(uint64_t size, const gm_iommu_config *cfg, unsigned int *nslots)
{
    unsigned int n = cfg ? cfg->iotlb_slots : 0;

    if (!n) {
        *nslots = iotlb_default_slots(size);
        return 0;
    }
    if (n > GM_IOTLB_MAX_SLOTS || (n & (n - 1)))
        return -EINVAL;
    *nslots = n;
    return 0;
}

gm_region *gm_region_new_iommu(gm_system *sys, const char *name, uint64_t size,
                               const gm_iommu_ops *ops, void *opaque)
{
    return gm_region_new_iommu_config(sys, name, size, ops, opaque, NULL);
}

gm_region *gm_region_new_iommu_config(gm_system *sys, const char *name, uint64_t size,
                                      const gm_iommu_ops *ops, void *opaque,
                                      const gm_iommu_config *cfg)
{
    gm_iommu_state *st;
    unsigned int nslots;
    gm_region *mr;

    if (!ops || !ops->translate || iotlb_slots_of(size, cfg, &nslots) < 0) {
        errno = EINVAL;
        return NULL;
    }
    st = calloc(1, sizeof(*st) + nslots * sizeof(st->slots[0]));
    mr = st ? gm_region_new_reservation(sys, name, size) : NULL;
    if (!mr) {
        free(st);
        errno = ENOMEM;
        return NULL;
    }
    st->ops = ops;
    st->nslots = nslots;
    pthread_rwlock_init(&st->notifier_lock, NULL);
    mr->kind = GM_KIND_IOMMU;
    mr->opaque = opaque;
    mr->iommu = st;
    return mr;
}

void gm_iommu_state_free(gm_iommu_state *st)
{
    if (!st)
        return;
    pthread_rwlock_destroy(&st->notifier_lock);
    free(st);
}

static iotlb_slot *slot_for(gm_iommu_state *st, gm_addr addr, int idx)
{
    uint64_t h = (addr >> IOTLB_PAGE_SHIFT) ^ ((uint64_t)(unsigned int)idx * 0x9e3779b97f4a7c15ull);

    return &st->slots[h & (st->nslots - 1)];
}

/* Lock-free copy of a slot that matches; false on a miss or a racing writer. */
static bool slot_lookup(iotlb_slot *s, gm_addr addr, int idx, unsigned int flag,
                        gm_iotlb_entry *e)
{
    unsigned int seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    gm_addr mask;
    bool hit;

    if (seq & 1)
        return false;
    mask = LOAD(&s->mask);
    hit = LOAD(&s->valid) && LOAD(&s->idx) == idx && (addr & ~mask) == LOAD(&s->iova) &&
          (LOAD(&s->perm) & flag) == flag;
    e->iova = LOAD(&s->iova);
    e->addr_mask = mask;
    e->translated_addr = LOAD(&s->translated);
    e->perm = (enum gm_iommu_perm)LOAD(&s->perm);
    e->target_as = LOAD(&s->target);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return hit && __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq;
}

static bool slot_trylock(iotlb_slot *s)
{
    unsigned int seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

    return !(seq & 1) && __atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void slot_unlock(iotlb_slot *s)
{
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELEASE);
}

/* Cache @e unless an invalidation started after @generation was read. */
static void slot_fill(gm_iommu_state *st, iotlb_slot *s, const gm_iotlb_entry *e, int idx,
                      uint64_t generation)
{
    if (!slot_trylock(s))
        return;   /* another writer is busy: skip caching, stay correct */
    if (__atomic_load_n(&st->generation, __ATOMIC_ACQUIRE) == generation) {
        __atomic_or_fetch(&st->max_mask, e->addr_mask, __ATOMIC_RELEASE);
        STORE(&s->valid, 1u);
        STORE(&s->idx, idx);
        STORE(&s->perm, (unsigned int)e->perm);
        STORE(&s->iova, e->iova);
        STORE(&s->mask, e->addr_mask);
        STORE(&s->translated, e->translated_addr);
        STORE(&s->target, e->target_as);
    }
    slot_unlock(s);
}

static bool entry_ok(const gm_iotlb_entry *e, unsigned int flag)
{
    return e->target_as && (e->addr_mask & (e->addr_mask + 1)) == 0 &&
           ((unsigned int)e->perm & flag) == flag;
}

int gm_iommu_index(gm_region *mr, gm_attrs attrs)
{
    const gm_iommu_ops *ops = mr->iommu->ops;
    int n = ops->num_indexes > 0 ? ops->num_indexes : 1;
    int idx = ops->attrs_to_index ? ops->attrs_to_index(mr->opaque, attrs) : 0;

    return idx >= 0 && idx < n ? idx : 0;
}

int gm_iommu_translate(gm_region *mr, gm_addr addr, enum gm_iommu_perm flag, int iommu_idx,
                       gm_iotlb_entry *entry)
{
    gm_iommu_state *st = mr->kind == GM_KIND_IOMMU ? mr->iommu : NULL;
    unsigned int need = (unsigned int)flag & GM_IOMMU_RW;
    iotlb_slot *s;
    uint64_t generation;

    if (!st)
        return -EINVAL;
    s = slot_for(st, addr, iommu_idx);
    if (slot_lookup(s, addr, iommu_idx, need, entry)) {
        COUNT(st, hits);
        return 0;
    }
    COUNT(st, misses);
    generation = __atomic_load_n(&st->generation, __ATOMIC_ACQUIRE);
    *entry = st->ops->translate(mr->opaque, addr, flag, iommu_idx);
    if (!entry_ok(entry, need)) {
        COUNT(st, faults);
        entry->perm = GM_IOMMU_NONE;
        return -EACCES;
    }
    entry->iova = addr & ~entry->addr_mask;
    entry->translated_addr &= ~entry->addr_mask;
    slot_fill(st, s, entry, iommu_idx, generation);
    return 0;
}

static bool ranges_overlap(gm_addr a, gm_addr a_last, gm_addr b, gm_addr b_last)
{
    return a <= b_last && b <= a_last;
}

/* Drop slots of @idx (or every index if @idx < 0) overlapping [first, last]. */
static void slot_drop(gm_iommu_state *st, iotlb_slot *s, int idx, gm_addr first, gm_addr last)
{
    while (!slot_trylock(s))
        ;   /* held only for a few stores */
    if (s->valid && (idx < 0 || s->idx == idx) &&
        ranges_overlap(s->iova, s->iova + s->mask, first, last)) {
        STORE(&s->valid, 0u);
        COUNT(st, invalidations);
    }
    slot_unlock(s);
}

/* A slot holds an entry cached for one page it covers, so an entry that
 * overlaps [first, last] sits in the slot of a page within max_mask of the
 * range: for small ranges, visit only those slots. */
#define IOTLB_TARGETED_PAGES 64u

static void iotlb_invalidate(gm_iommu_state *st, int idx, gm_addr first, gm_addr last)
{
    gm_addr mm, lo, hi;

    __atomic_add_fetch(&st->generation, 1, __ATOMIC_ACQ_REL);
    mm = __atomic_load_n(&st->max_mask, __ATOMIC_ACQUIRE) | ((1ull << IOTLB_PAGE_SHIFT) - 1);
    lo = first & ~mm;
    hi = last | mm;
    if (idx >= 0 && hi - lo < (gm_addr)IOTLB_TARGETED_PAGES << IOTLB_PAGE_SHIFT) {
        for (gm_addr page = lo;; page += 1ull << IOTLB_PAGE_SHIFT) {
            slot_drop(st, slot_for(st, page, idx), idx, first, last);
            if (hi - page < (1ull << IOTLB_PAGE_SHIFT))
                break;
        }
        return;
    }
    for (unsigned int i = 0; i < st->nslots; i++)
        slot_drop(st, &st->slots[i], idx, first, last);
}

void gm_iommu_invalidate_all(gm_region *mr)
{
    if (mr->kind == GM_KIND_IOMMU)
        iotlb_invalidate(mr->iommu, -1, 0, UINT64_MAX);
}

static bool notifier_wants(const gm_iommu_notifier *n, int idx, enum gm_iommu_event event,
                           gm_addr first, gm_addr last)
{
    return (n->events & (unsigned int)event) && n->iommu_idx == idx &&
           ranges_overlap(n->start, n->last, first, last);
}

int gm_iommu_notify(gm_region *mr, int iommu_idx, enum gm_iommu_event event,
                    const gm_iotlb_entry *entry)
{
    gm_addr first, last;

    if (mr->kind != GM_KIND_IOMMU || (event != GM_IOMMU_MAP && event != GM_IOMMU_UNMAP) ||
        (entry->addr_mask & (entry->addr_mask + 1)) != 0)
        return -EINVAL;
    first = entry->iova & ~entry->addr_mask;
    last = first + entry->addr_mask;
    if (event == GM_IOMMU_UNMAP)
        iotlb_invalidate(mr->iommu, iommu_idx, first, last);
    pthread_rwlock_rdlock(&mr->iommu->notifier_lock);
    for (gm_iommu_notifier *n = mr->iommu->notifiers; n; n = n->next_) {
        if (notifier_wants(n, iommu_idx, event, first, last))
            n->notify(n, event, entry);
    }
    pthread_rwlock_unlock(&mr->iommu->notifier_lock);
    return 0;
}

int gm_iommu_register_notifier(gm_region *mr, gm_iommu_notifier *n)
{
    gm_iommu_state *st = mr->kind == GM_KIND_IOMMU ? mr->iommu : NULL;

    if (!st || !n->notify || n->start > n->last)
        return -EINVAL;
    if (n->mr_)
        return -EBUSY;
    pthread_rwlock_wrlock(&st->notifier_lock);
    n->mr_ = mr;
    n->next_ = st->notifiers;
    st->notifiers = n;
    pthread_rwlock_unlock(&st->notifier_lock);
    return 0;
}

void gm_iommu_unregister_notifier(gm_iommu_notifier *n)
{
    gm_iommu_state *st;

    if (!n->mr_)
        return;
    st = n->mr_->iommu;
    pthread_rwlock_wrlock(&st->notifier_lock);
    for (gm_iommu_notifier **pp = &st->notifiers; *pp; pp = &(*pp)->next_) {
        if (*pp == n) {
            *pp = n->next_;
            break;
        }
    }
    pthread_rwlock_unlock(&st->notifier_lock);
    n->mr_ = NULL;
    n->next_ = NULL;
}

#define IOMMU_REPLAY_MAX_PAGES (1ull << 24)

int gm_iommu_replay(gm_region *mr, gm_iommu_notifier *n, uint64_t granularity)
{
    gm_addr first, last;

    if (mr->kind != GM_KIND_IOMMU || !n->notify || granularity < 4096 ||
        (granularity & (granularity - 1)) || n->start > n->last)
        return -EINVAL;
    first = n->start & ~(granularity - 1);
    last = n->last & ~(granularity - 1);
    if ((last - first) / granularity >= IOMMU_REPLAY_MAX_PAGES)
        return -E2BIG;
    for (gm_addr a = first;; a += granularity) {
        gm_iotlb_entry e = mr->iommu->ops->translate(mr->opaque, a, GM_IOMMU_NONE, n->iommu_idx);

        if (e.perm != GM_IOMMU_NONE && e.target_as)
            n->notify(n, GM_IOMMU_MAP, &e);
        if (a == last)
            break;
    }
    return 0;
}

void gm_iommu_get_stats(gm_region *mr, gm_iommu_stats *stats)
{
    memset(stats, 0, sizeof(*stats));
    if (mr->kind != GM_KIND_IOMMU)
        return;
    stats->hits = LOAD(&mr->iommu->stats.hits);
    stats->misses = LOAD(&mr->iommu->stats.misses);
    stats->faults = LOAD(&mr->iommu->stats.faults);
    stats->invalidations = LOAD(&mr->iommu->stats.invalidations);
    stats->iotlb_slots = mr->iommu->nslots;
}

uint64_t gm_iommu_step(gm_region *mr, gm_addr xlat, bool is_write, gm_attrs attrs, int depth,
                       gm_as **target_as, gm_addr *target_addr)
{
    enum gm_iommu_perm flag = is_write ? GM_IOMMU_WO : GM_IOMMU_RO;
    gm_iotlb_entry e;
    uint64_t left;

    if (depth >= GM_IOMMU_MAX_NESTING) {
        gm_log_guest(mr->sys, "IOMMU '%s': translation nested deeper than %d", mr->name,
                     GM_IOMMU_MAX_NESTING);
        return 0;
    }
    if (gm_iommu_translate(mr, xlat, flag, gm_iommu_index(mr, attrs), &e) < 0) {
        gm_log_guest(mr->sys, "IOMMU '%s': no %s translation for 0x%" PRIx64, mr->name,
                     is_write ? "write" : "read", xlat);
        return 0;
    }
    *target_as = e.target_as;
    *target_addr = e.translated_addr | (xlat & e.addr_mask);
    left = e.addr_mask - (xlat & e.addr_mask) + 1;
    return left ? left : UINT64_MAX;
}

uint64_t gm_iommu_fault_len(gm_addr xlat)
{
    return (1ull << IOTLB_PAGE_SHIFT) - (xlat & ((1ull << IOTLB_PAGE_SHIFT) - 1));
}
