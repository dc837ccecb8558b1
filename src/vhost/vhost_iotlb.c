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
 * an update that covers it. vu_iotlb_prefetch() does the same for every
 * uncached page of a descriptor chain at once, so a request waits for one
 * round trip instead of one per page (QEMU answers a miss with one IOMMU
 * page). Misses are sent without the lock and without blocking: a
 * front-end that stops reading its channel makes misses time out, never
 * the message thread wait. A waiter is woken only by an update covering
 * its page (or by an invalidation, stop or close), so N answers to a
 * batch cost one wake-up. The message thread applies updates and
 * invalidations; an invalidation also flushes the core's IOTLB cache via
 * gm_iommu_notify(GM_IOMMU_UNMAP), so no access after it can use the old
 * translation. Mappings and caches taken before it are the user's to drop
 * (vhost_dev refreshes its ring caches).
 *
 * The table is a sorted array of disjoint entries (QEMU sends one IOMMU page
 * per update), searched, trimmed and extended by binary search; when full,
 * the lower half is dropped (and the core's cache flushed), as a miss
 * refills.
 *
 * Glossary: t = the table; _locked = caller holds t->lock; a page is
 * 4 KiB (VU_IOTLB_MIN_SHIFT); perm = VHOST_ACCESS_* bits (1 read, 2 write).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "vhost/vhost_iotlb.h"
#include "vhost/vhost_msg.h"

#define VU_IOTLB_MIN_SHIFT 12

/* Number of entries starting at or below @iova. Caller holds t->lock. */
static unsigned int count_upto_locked(const vu_iotlb_table *t, uint64_t iova)
{
    unsigned int lo = 0, hi = t->nr;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (t->entries[mid].iova <= iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the entry containing @iova, or -1. Caller holds t->lock. */
static int find_locked(const vu_iotlb_table *t, uint64_t iova)
{
    unsigned int lo = count_upto_locked(t, iova);

    if (lo && iova - t->entries[lo - 1].iova < t->entries[lo - 1].size)
        return (int)lo - 1;
    return -1;
}

/* Remove entries overlapping [first, last]: being sorted and disjoint,
 * they are consecutive, found by two binary searches (a lazy guest keeps
 * up to VU_IOTLB_MAX_ENTRIES entries, and every update comes here).
 * Caller holds t->lock. */
static unsigned int remove_range_locked(vu_iotlb_table *t, uint64_t first, uint64_t last)
{
    unsigned int start = count_upto_locked(t, first), end = count_upto_locked(t, last);

    if (start && first - t->entries[start - 1].iova < t->entries[start - 1].size)
        start--;
    if (end <= start)
        return 0;
    memmove(&t->entries[start], &t->entries[end], (t->nr - end) * sizeof(t->entries[0]));
    t->nr -= end - start;
    return end - start;
}

static void insert_locked(vu_iotlb_table *t, const vu_iotlb_entry *e)
{
    unsigned int pos;

    remove_range_locked(t, e->iova, e->iova + e->size - 1);
    if (t->nr == VU_IOTLB_MAX_ENTRIES) {
        memmove(t->entries, t->entries + t->nr / 2, (t->nr - t->nr / 2) * sizeof(*e));
        t->nr -= t->nr / 2;
        gm_iommu_invalidate_all(t->iommu);   /* see vu_iotlb_message() */
    }
    pos = count_upto_locked(t, e->iova);   /* no entry starts at e->iova any more */
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

static bool covered_locked(const vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    int i = find_locked(t, iova);

    return i >= 0 && (t->entries[i].perm & perm) == perm;
}

/* Send @n misses. Caller holds t->lock; it is dropped while sending, so
 * that a front-end that stops reading its channel can hold up nobody: the
 * send never blocks, and a miss that cannot be sent is one that times out.
 * t->senders keeps the fd open meanwhile (vu_iotlb_set_backend_fd waits). */
static void send_misses_dropping_lock(vu_iotlb_table *t, const vu_iotlb *miss, unsigned int n,
                                      bool prefetch)
{
    unsigned int sent = 0;
    int fd = t->backend_fd, err = 0;

    if (fd < 0 || t->channel_broken || !n) {
        t->stats.misses_unsent += n;
        return;
    }
    t->senders++;
    pthread_mutex_unlock(&t->lock);
    while (sent < n && !err) {
        unsigned int chunk = n - sent < VU_MSG_NOWAIT_MAX ? n - sent : VU_MSG_NOWAIT_MAX;

        err = vu_msg_send_nowait(fd, VU_BACKEND_IOTLB_MSG, miss + sent, sizeof(*miss), chunk);
        if (!err)
            sent += chunk;
    }
    pthread_mutex_lock(&t->lock);
    if (err == -EIO)
        t->channel_broken = true;
    t->stats.misses_sent += sent;
    if (prefetch)
        t->stats.misses_prefetched += sent;
    t->stats.misses_unsent += n - sent;
    if (--t->senders == 0)
        pthread_cond_broadcast(&t->senders_done);
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

/* Per queue thread: its queue's "being stopped" flag (an atomic int), or
 * NULL on other threads. Stopping one queue ends only its own waits. */
static __thread const int *thread_stopping;

void vu_iotlb_bind_thread(const int *stopping)
{
    thread_stopping = stopping;
}

static bool must_give_up_locked(const vu_iotlb_table *t)
{
    return t->closing || t->backend_fd < 0 ||
           (thread_stopping && __atomic_load_n(thread_stopping, __ATOMIC_ACQUIRE));
}

/* ---- misses in flight ---------------------------------------------------- */

/*
 * Misses sent and not yet answered, one per (page, permission): a page is
 * asked for once, however many accesses and threads need it, and asked
 * again only if an invalidation of the page came after it was asked (the
 * answer may have come and gone). A miss sent again without need could
 * reach the front-end after its request completed and the guest unmapped
 * the IOVA: a DMA fault in the guest's log.
 */

static uint64_t page_of(uint64_t iova)
{
    return iova & ~((1ull << VU_IOTLB_MIN_SHIFT) - 1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pending_drop_locked(vu_iotlb_table *t, unsigned int i)
{
    t->pending[i] = t->pending[--t->npending];
}

/* Index of the pending miss covering (@iova, @perm), or -1. A miss older
 * than the miss timeout is forgotten: it was not answered (the IOVA was
 * not mapped then), and a later access asks again. Caller holds t->lock. */
static int pending_find_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    uint64_t now = now_ms();

    for (unsigned int i = 0; i < t->npending; i++) {
        const vu_iotlb_pending *p = &t->pending[i];

        if (p->page != page_of(iova) || (p->perm & perm) != perm)
            continue;
        if (now - p->sent_ms < t->miss_timeout_ms)
            return (int)i;
        pending_drop_locked(t, i);
        return -1;
    }
    return -1;
}

/* Record a miss for (@iova, @perm) as sent (the oldest is forgotten when
 * full: it is then asked again if still needed). Caller holds t->lock. */
static void pending_add_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    if (t->npending == VU_IOTLB_PENDING_MAX)
        pending_drop_locked(t, 0);
    t->pending[t->npending++] = (vu_iotlb_pending){ page_of(iova), now_ms(), (uint8_t)perm };
}

/* Forget the pending misses in [first, last] that @e answers (@e NULL:
 * all of them, an invalidation). Caller holds t->lock. */
static void pending_settle_locked(vu_iotlb_table *t, uint64_t first, uint64_t last,
                                  const vu_iotlb_entry *e)
{
    for (unsigned int i = 0; i < t->npending;) {
        const vu_iotlb_pending *p = &t->pending[i];

        if (p->page + ((1ull << VU_IOTLB_MIN_SHIFT) - 1) >= first && p->page <= last &&
            (!e || (e->perm & p->perm) == p->perm))
            pending_drop_locked(t, i);
        else
            i++;
    }
}

/* Ask for (@iova, @perm) unless a miss for it is in flight already. The
 * lock is dropped while sending. Caller holds t->lock. */
static void ask_once_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    vu_iotlb miss = { .iova = iova, .perm = (uint8_t)perm, .type = VU_IOTLB_MISS };

    if (pending_find_locked(t, iova, perm) >= 0)
        return;
    pending_add_locked(t, iova, perm);
    send_misses_dropping_lock(t, &miss, 1, false);
}

/* ---- waiting for answers --------------------------------------------------- */

/*
 * Sleep until an update covers (@iova, @perm), an invalidation covers
 * @iova (its pending miss is gone: ask again), a stop or close wakes
 * everyone, or @deadline. Only what concerns the page wakes this thread,
 * so a batch of N answers costs one wake-up, not N, and another request's
 * invalidation costs none. Returns false on timeout. Caller holds t->lock.
 */
static bool wait_page_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm,
                             const struct timespec *deadline)
{
    vu_iotlb_waiter w = { .next = t->waiters, .iova = iova, .perm = perm };
    pthread_condattr_t attr;
    int err;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cond, &attr);
    pthread_condattr_destroy(&attr);
    t->waiters = &w;
    err = pthread_cond_timedwait(&w.cond, &t->lock, deadline);
    for (vu_iotlb_waiter **p = &t->waiters; *p; p = &(*p)->next) {
        if (*p == &w) {
            *p = w.next;
            break;
        }
    }
    pthread_cond_destroy(&w.cond);
    return err != ETIMEDOUT;
}

/* Wake the waiters whose page lies in [first, last] and, with @e, that @e
 * translates with their permission. Caller holds t->lock. */
static void wake_waiters_locked(vu_iotlb_table *t, uint64_t first, uint64_t last,
                                const vu_iotlb_entry *e)
{
    for (vu_iotlb_waiter *w = t->waiters; w; w = w->next) {
        if (first <= w->iova && w->iova <= last && (!e || (e->perm & w->perm) == w->perm))
            pthread_cond_signal(&w->cond);
    }
}

/* Wait for an entry with @perm covering @iova; -1 on timeout or close. */
static int wait_entry_locked(vu_iotlb_table *t, uint64_t iova, unsigned int perm)
{
    struct timespec deadline = { 0, 0 };
    bool missed = false;
    int i;

    t->stats.lookups++;
    while ((i = find_locked(t, iova)) < 0 || (t->entries[i].perm & perm) != perm) {
        if (must_give_up_locked(t))
            return -1;
        if (!missed) {
            deadline_after(&deadline, t->miss_timeout_ms);
            earliest(&deadline, &request_deadline);
            missed = true;
        }
        if (pending_find_locked(t, iova, perm) < 0) {
            ask_once_locked(t, iova, perm);
            continue;   /* the answer may have come while unlocked */
        }
        if (!wait_page_locked(t, iova, perm, &deadline)) {
            t->stats.timeouts++;
            return -1;
        }
    }
    if (!missed)
        t->stats.lookup_hits++;
    return i;
}

/* Record a miss for every page of @r not covered with its permission nor
 * asked for already. */
static unsigned int collect_misses_locked(vu_iotlb_table *t, const vu_iotlb_range *r,
                                          vu_iotlb *miss, unsigned int n, unsigned int max)
{
    const uint64_t page = 1ull << VU_IOTLB_MIN_SHIFT;
    uint64_t iova = r->iova;

    while (r->len && iova - r->iova < r->len && n < max) {
        int i = find_locked(t, iova);
        uint64_t next;

        if (i >= 0 && (t->entries[i].perm & r->perm) == r->perm) {
            next = t->entries[i].iova + t->entries[i].size;
        } else {
            if (pending_find_locked(t, iova, r->perm) < 0) {
                miss[n++] = (vu_iotlb){ .iova = iova, .perm = (uint8_t)r->perm,
                                        .type = VU_IOTLB_MISS };
                pending_add_locked(t, iova, r->perm);
            }
            next = (iova & ~(page - 1)) + page;
        }
        if (next <= iova)
            break;   /* the end of the IOVA space */
        iova = next;
    }
    return n;
}

unsigned int vu_iotlb_prefetch(vu_iotlb_table *t, const vu_iotlb_range *ranges, unsigned int n)
{
    static __thread vu_iotlb miss[VU_IOTLB_PREFETCH_MAX];
    unsigned int nmiss = 0;
    struct timespec deadline;

    pthread_mutex_lock(&t->lock);
    /* One decision: a miss recorded as pending is also sent. Recorded and
     * not sent (a queue being stopped), it kept the next access to the
     * page, after the ring restarted, from asking for the miss timeout. */
    for (unsigned int k = 0; k < n && !must_give_up_locked(t); k++)
        nmiss = collect_misses_locked(t, &ranges[k], miss, nmiss, VU_IOTLB_PREFETCH_MAX);
    if (nmiss) {
        deadline_after(&deadline, t->miss_timeout_ms);
        earliest(&deadline, &request_deadline);
        send_misses_dropping_lock(t, miss, nmiss, true);
        /* Wait for the answers in the order asked: each wake-up is for the
         * first page still missing. A page whose miss is no longer pending
         * but not covered either was invalidated: the access asks again. */
        for (unsigned int k = 0; k < nmiss; k++) {
            while (!covered_locked(t, miss[k].iova, miss[k].perm)) {
                if (must_give_up_locked(t) ||
                    pending_find_locked(t, miss[k].iova, miss[k].perm) < 0 ||
                    !wait_page_locked(t, miss[k].iova, miss[k].perm, &deadline))
                    goto out;
            }
        }
    }
out:
    pthread_mutex_unlock(&t->lock);
    return nmiss;
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

int vu_iotlb_translate(vu_iotlb_table *t, uint64_t iova, unsigned int perm, uint64_t *uaddr,
                       uint64_t *len)
{
    int i;

    pthread_mutex_lock(&t->lock);
    i = wait_entry_locked(t, iova, perm);
    if (i >= 0) {
        *uaddr = t->entries[i].uaddr + (iova - t->entries[i].iova);
        *len = t->entries[i].size - (iova - t->entries[i].iova);
    }
    pthread_mutex_unlock(&t->lock);
    return i >= 0 ? 0 : -EFAULT;
}

static const gm_iommu_ops vu_iommu_ops = { .translate = vu_translate };

int vu_iotlb_init(vu_iotlb_table *t, gm_system *sys, gm_as *target)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->senders_done, NULL);
    t->backend_fd = -1;
    t->miss_timeout_ms = 2000;
    t->target = target;
    t->iommu = gm_region_new_iommu(sys, "vhost-iotlb", GM_SIZE_2_64, &vu_iommu_ops, t);
    return t->iommu ? 0 : -ENOMEM;
}

void vu_iotlb_destroy(vu_iotlb_table *t)
{
    gm_region_unref(t->iommu);
    pthread_cond_destroy(&t->senders_done);
    pthread_mutex_destroy(&t->lock);
}

/* Ranges of more pages than this are flushed from the core at once (one
 * pass over its IOTLB) rather than block by block (a pass per block). */
#define VU_IOTLB_TARGETED_FLUSH_PAGES 64u

/* Tell the core to forget [first, last] in power-of-two blocks. */
static void flush_core(vu_iotlb_table *t, uint64_t first, uint64_t last)
{
    unsigned int blocks = 0;

    if (last - first >= (uint64_t)VU_IOTLB_TARGETED_FLUSH_PAGES << VU_IOTLB_MIN_SHIFT) {
        gm_iommu_invalidate_all(t->iommu);
        return;
    }

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
        pending_settle_locked(t, e.iova, e.iova + e.size - 1, &e);
        wake_waiters_locked(t, e.iova, e.iova + e.size - 1, &e);
        pthread_mutex_unlock(&t->lock);
        return 0;
    }
    if (msg->type != VU_IOTLB_INVALIDATE)
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    removed = remove_range_locked(t, msg->iova, msg->iova + msg->size - 1);
    t->stats.invalidations += removed;
    t->stats.invalidation_msgs++;
    pending_settle_locked(t, msg->iova, msg->iova + msg->size - 1, NULL);
    wake_waiters_locked(t, msg->iova, msg->iova + msg->size - 1, NULL);
    pthread_mutex_unlock(&t->lock);
    /* The core caches only what this table translated, and forgets it when
     * the table drops an entry (here or in insert_locked()): with nothing
     * removed there is nothing to flush. */
    if (removed)
        flush_core(t, msg->iova, msg->iova + msg->size - 1);
    return 0;
}

void vu_iotlb_set_backend_fd(vu_iotlb_table *t, int fd)
{
    pthread_mutex_lock(&t->lock);
    while (t->senders)
        pthread_cond_wait(&t->senders_done, &t->lock);   /* their sends do not block */
    t->backend_fd = fd;
    t->channel_broken = false;
    t->closing = false;
    t->npending = 0;   /* asked on another channel */
    pthread_mutex_unlock(&t->lock);
}

void vu_iotlb_wake_all(vu_iotlb_table *t)
{
    pthread_mutex_lock(&t->lock);
    wake_waiters_locked(t, 0, UINT64_MAX, NULL);
    pthread_mutex_unlock(&t->lock);
}

/* Empty the table (and the core's cache of it); with @closing, misses
 * fail from now on until a new back-end channel is set. */
static void drop_all(vu_iotlb_table *t, bool closing)
{
    pthread_mutex_lock(&t->lock);
    t->closing |= closing;
    t->nr = 0;
    t->npending = 0;
    wake_waiters_locked(t, 0, UINT64_MAX, NULL);
    pthread_mutex_unlock(&t->lock);
    gm_iommu_invalidate_all(t->iommu);
}

void vu_iotlb_close(vu_iotlb_table *t)
{
    drop_all(t, true);
}

void vu_iotlb_clear(vu_iotlb_table *t)
{
    drop_all(t, false);
}
