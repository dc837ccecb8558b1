/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user device IOTLB, as an IOMMU region.
 *
 * With VIRTIO_F_IOMMU_PLATFORM, guest addresses are IOVAs. The front-end
 * fills this table with IOTLB_MSG updates (iova, size, user address,
 * permissions) and drops entries with invalidations. An IOMMU region
 * covering all of the IOVA space translates through it into uaddr_as (the
 * front-end's user addresses, where the memory table's regions also live),
 * so every guestmem access path works on IOVAs.
 *
 * A miss (no entry, or not the needed permission) sends a BACKEND_IOTLB_MSG
 * miss on the back-end channel and waits, bounded by miss_timeout_ms, for
 * an update that covers it. The message thread applies updates and
 * invalidations; an invalidation also flushes the core's IOTLB cache via
 * gm_iommu_notify(GM_IOMMU_UNMAP), so no access after it can use the old
 * translation. Mappings and caches taken before it are the user's to drop
 * (vhost_dev refreshes its ring caches).
 *
 * The table is a sorted array of disjoint entries (QEMU sends one IOMMU page
 * per update); when full, the oldest half is dropped, as a miss refills.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "vhost/vhost_iotlb.h"
#include "vhost/vhost_msg.h"

#define VU_IOTLB_MIN_SHIFT 12

/* Index of the entry containing @iova, or -1. Caller holds t->lock. */
static int find_locked(const vu_iotlb_table *t, uint64_t iova)
{
    unsigned int lo = 0, hi = t->nr;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (t->entries[mid].iova <= iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && iova - t->entries[lo - 1].iova < t->entries[lo - 1].size)
        return (int)lo - 1;
    return -1;
}

/* Remove entries overlapping [first, last]. Caller holds t->lock. */
static unsigned int remove_range_locked(vu_iotlb_table *t, uint64_t first, uint64_t last)
{
    unsigned int out = 0, removed = 0;

    for (unsigned int i = 0; i < t->nr; i++) {
        const vu_iotlb_entry *e = &t->entries[i];

        if (e->iova <= last && first <= e->iova + e->size - 1)
            removed++;
        else
            t->entries[out++] = *e;
    }
    t->nr = out;
    return removed;
}

static void insert_locked(vu_iotlb_table *t, const vu_iotlb_entry *e)
{
    unsigned int pos = 0;

    remove_range_locked(t, e->iova, e->iova + e->size - 1);
    if (t->nr == VU_IOTLB_MAX_ENTRIES) {
        memmove(t->entries, t->entries + t->nr / 2, (t->nr - t->nr / 2) * sizeof(*e));
        t->nr -= t->nr / 2;
    }
    while (pos < t->nr && t->entries[pos].iova < e->iova)
        pos++;
    memmove(&t->entries[pos + 1], &t->entries[pos], (t->nr - pos) * sizeof(*e));
    t->entries[pos] = *e;
    t->nr++;
}

/* The largest power-of-two page around @iova that the entry maps linearly. */
static gm_addr page_mask_for(const vu_iotlb_entry *e, uint64_t iova)
{
    gm_addr mask = 0;

    for (unsigned int shift = VU_IOTLB_MIN_SHIFT; shift < 48; shift++) {
        gm_addr m = (1ull << shift) - 1, start = iova & ~m;

        if (start < e->iova || start + m > e->iova + e->size - 1 ||
            ((e->uaddr - e->iova) & m))
            break;
        mask = m;
    }
    return mask;
}

static gm_iotlb_entry to_gm_entry(const vu_iotlb_table *t, const vu_iotlb_entry *e, uint64_t iova)
{
    gm_addr mask = page_mask_for(e, iova);

    return (gm_iotlb_entry){
        .target_as = t->target,
        .iova = iova & ~mask,
        .translated_addr = (e->uaddr + ((iova & ~mask) - e->iova)),
        .addr_mask = mask,
        .perm = (enum gm_iommu_perm)(e->perm & 3),
    };
}

static void send_miss_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    vu_iotlb miss = { .iova = iova, .perm = (uint8_t)perm, .type = VU_IOTLB_MISS };

    if (t->backend_fd >= 0 &&
        vu_msg_send(t->backend_fd, VU_BACKEND_IOTLB_MSG, 0, &miss, sizeof(miss), NULL, 0) == 0)
        t->stats.misses_sent++;
}

static void deadline_after(struct timespec *ts, unsigned int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Wait for an entry with @perm covering @iova; -1 on timeout or close. An
 * invalidation may remove the answer before this thread sees it (lazy
 * guests flush whole domains): then ask again, with a fresh deadline. */
/* Per queue thread: when the current request's waiting must end (0: no
 * bound). A request touching many untranslatable pages waits for misses
 * once in total, not once per page. */
static __thread struct timespec request_deadline;

void vu_iotlb_request_start(const vu_iotlb_table *t)
{
    deadline_after(&request_deadline, t->miss_timeout_ms);
}

static void earliest(struct timespec *a, const struct timespec *b)
{
    if (b->tv_sec && (b->tv_sec < a->tv_sec ||
                      (b->tv_sec == a->tv_sec && b->tv_nsec < a->tv_nsec)))
        *a = *b;
}

static int wait_entry_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    unsigned int gen = t->cancel_gen, asked_at = t->inval_gen;
    struct timespec deadline;
    bool asked = false;
    int i;

    while ((i = find_locked(t, iova)) < 0 || (t->entries[i].perm & perm) != perm) {
        if (t->closing || t->backend_fd < 0 || t->cancel_gen != gen || t->stopping)
            return -1;
        if (!asked || asked_at != t->inval_gen) {
            send_miss_locked(t, iova, perm);
            deadline_after(&deadline, t->miss_timeout_ms);
            earliest(&deadline, &request_deadline);
            asked = true;
            asked_at = t->inval_gen;
        }
        if (pthread_cond_timedwait(&t->updated, &t->lock, &deadline) == ETIMEDOUT) {
            t->stats.timeouts++;
            return -1;
        }
    }
    return i;
}

static gm_iotlb_entry vu_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                   int iommu_idx)
{
    vu_iotlb_table *t = opaque;
    gm_iotlb_entry out = { 0 };
    int i;

    (void)iommu_idx;
    pthread_mutex_lock(&t->lock);
    i = wait_entry_locked(t, addr, (unsigned int)flag & 3);
    if (i >= 0)
        out = to_gm_entry(t, &t->entries[i], addr);
    pthread_mutex_unlock(&t->lock);
    return out;
}

static const gm_iommu_ops vu_iommu_ops = { .translate = vu_translate };

int vu_iotlb_init(vu_iotlb_table *t, gm_system *sys, gm_as *target)
{
    pthread_condattr_t attr;

    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&t->updated, &attr);
    pthread_condattr_destroy(&attr);
    t->backend_fd = -1;
    t->miss_timeout_ms = 2000;
    t->target = target;
    t->iommu = gm_region_new_iommu(sys, "vhost-iotlb", GM_SIZE_2_64, &vu_iommu_ops, t);
    return t->iommu ? 0 : -ENOMEM;
}

void vu_iotlb_destroy(vu_iotlb_table *t)
{
    gm_region_unref(t->iommu);
    pthread_cond_destroy(&t->updated);
    pthread_mutex_destroy(&t->lock);
}

/* Tell the core to forget [first, last] in power-of-two blocks. */
static void flush_core(vu_iotlb_table *t, uint64_t first, uint64_t last)
{
    unsigned int blocks = 0;

    while (first <= last && blocks++ < 64) {
        unsigned int shift = first ? (unsigned int)__builtin_ctzll(first) : 63;
        gm_iotlb_entry e;

        while (shift && (first + ((1ull << shift) - 1) > last || first + ((1ull << shift) - 1) < first))
            shift--;
        e = (gm_iotlb_entry){ .iova = first, .addr_mask = (1ull << shift) - 1 };
        gm_iommu_notify(t->iommu, 0, GM_IOMMU_UNMAP, &e);
        if (first + e.addr_mask == last)
            return;
        first += e.addr_mask + 1;
    }
    gm_iommu_invalidate_all(t->iommu);
}

int vu_iotlb_message(vu_iotlb_table *t, const vu_iotlb *msg)
{
    vu_iotlb_entry e = { msg->iova, msg->size, msg->uaddr, msg->perm };
    unsigned int removed;

    if (!msg->size || msg->iova + msg->size - 1 < msg->iova)
        return -EINVAL;
    if (msg->type == VU_IOTLB_UPDATE) {
        if (msg->perm > 3 || msg->uaddr + msg->size - 1 < msg->uaddr)
            return -EINVAL;
        pthread_mutex_lock(&t->lock);
        insert_locked(t, &e);
        t->stats.updates++;
        pthread_cond_broadcast(&t->updated);
        pthread_mutex_unlock(&t->lock);
        return 0;
    }
    if (msg->type != VU_IOTLB_INVALIDATE)
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    removed = remove_range_locked(t, msg->iova, msg->iova + msg->size - 1);
    t->stats.invalidations += removed;
    if (removed) {
        t->inval_gen++;
        pthread_cond_broadcast(&t->updated);
    }
    pthread_mutex_unlock(&t->lock);
    flush_core(t, msg->iova, msg->iova + msg->size - 1);
    return 0;
}

void vu_iotlb_set_backend_fd(vu_iotlb_table *t, int fd)
{
    pthread_mutex_lock(&t->lock);
    t->backend_fd = fd;
    t->closing = false;
    pthread_mutex_unlock(&t->lock);
}

void vu_iotlb_stop_begin(vu_iotlb_table *t)
{
    pthread_mutex_lock(&t->lock);
    t->stopping++;
    t->cancel_gen++;
    pthread_cond_broadcast(&t->updated);
    pthread_mutex_unlock(&t->lock);
}

void vu_iotlb_stop_end(vu_iotlb_table *t)
{
    pthread_mutex_lock(&t->lock);
    t->stopping--;
    pthread_mutex_unlock(&t->lock);
}

void vu_iotlb_close(vu_iotlb_table *t)
{
    pthread_mutex_lock(&t->lock);
    t->closing = true;
    t->nr = 0;
    pthread_cond_broadcast(&t->updated);
    pthread_mutex_unlock(&t->lock);
    gm_iommu_invalidate_all(t->iommu);
}
