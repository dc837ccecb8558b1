/* SPDX-License-Identifier: MIT */
/*
 * The vIOMMU's state: IOVA allocator, page table, and the invalidations
 * that retire mappings (strict and lazy). The back-end channel that asks
 * for translations is served by bp_iommu_chan.c. bp_iommu.h has the model
 * and the locking rules.
 *
 * The page table covers only the IOVA window, one 64-bit entry per page:
 * the page's user address with the permission in the low two bits, 0 when
 * unmapped. The allocator keeps one LIFO stack of free ranges per size
 * class and otherwise bumps down from the top of the window, aligning each
 * range to its size.
 *
 * Glossary: io = the IOMMU; m = a mapping; pte = page-table entry;
 * cls = size class (log2 of the pages of a range).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bp_iommu.h"
#include "bp_util.h"

#define PAGE 4096ull
#define IRQ_WINDOW_LO 0xfee00000ull
#define IRQ_WINDOW_HI 0xfef00000ull
#define HIGH_WINDOW_BASE (1ull << 40)

static unsigned int class_of(uint32_t pages)
{
    unsigned int cls = 0;

    while ((1u << cls) < pages)
        cls++;
    return cls;
}

uint64_t bp_iommu_window(uint64_t requests, unsigned int maps, uint64_t data_bytes, uint64_t fixed)
{
    /* each mapping rounds up to a power of two: at most twice its pages, plus one */
    uint64_t per_req = 2 * (data_bytes / PAGE + 2ull * maps) + maps;

    /* twice again for ranges stranded in another size class's stack */
    return 2 * (requests * per_req * PAGE + fixed) + (16ull << 20);
}

int bp_iommu_init(bp_iommu *io, bp_conn *conn, enum bp_iommu_mode mode, unsigned int lazy_batch,
                  bool reconnect, uint64_t window)
{
    memset(io, 0, sizeof(*io));
    pthread_mutex_init(&io->lock, NULL);
    io->conn = conn;
    io->mode = mode;
    io->lazy_batch = lazy_batch ? lazy_batch : 1;
    io->reconnect = reconnect;
    io->chan = io->pending_chan = io->wake_fd = -1;
    window = (window + PAGE - 1) & ~(PAGE - 1);
    if (window > (1ull << 39))
        return -E2BIG;
    /* below the interrupt window, as Linux hands out 32-bit IOVAs first; else high */
    if (window < IRQ_WINDOW_LO - (64ull << 20))
        io->win_base = IRQ_WINDOW_LO - window;
    else
        io->win_base = HIGH_WINDOW_BASE;
    io->win_top = io->win_base + window;
    io->bump = io->win_top;
    io->pte = calloc(window / PAGE, sizeof(*io->pte));
    return io->pte ? 0 : -ENOMEM;
}

void bp_iommu_destroy(bp_iommu *io)
{
    for (unsigned int i = 0; i < BP_IOVA_CLASSES; i++)
        free(io->free_ranges[i].v);
    free(io->pte);
    free(io->fq);
    io->pte = NULL;
    io->fq = NULL;
}

/* Make room for one more element in the array *@v of @len (capacity *@cap). */
static int grow(void **v, uint32_t len, uint32_t *cap, size_t elem)
{
    uint32_t ncap;
    void *nv;

    if (len < *cap)
        return 0;
    ncap = *cap ? 2 * *cap : 64;
    nv = realloc(*v, ncap * elem);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

static int stack_push(bp_iova_stack *s, uint64_t v)
{
    if (grow((void **)&s->v, s->len, &s->cap, sizeof(*s->v)))
        return -ENOMEM;
    s->v[s->len++] = v;
    return 0;
}

/* Caller holds io->lock. */
static int iova_alloc_locked(bp_iommu *io, uint32_t pages, uint64_t *base)
{
    bp_iova_stack *s = &io->free_ranges[class_of(pages)];
    uint64_t bytes = (uint64_t)pages * PAGE, b;

    if (s->len) {
        *base = s->v[--s->len];
        return 0;
    }
    if (io->bump - io->win_base < bytes)
        return -ENOSPC;
    b = (io->bump - bytes) & ~(bytes - 1);
    if (b < io->win_base)
        return -ENOSPC;
    io->bump = b;
    *base = b;
    return 0;
}

/* Caller holds io->lock. A range that cannot be stacked is leaked, not lost track of. */
static void iova_free_locked(bp_iommu *io, const bp_iomap *m)
{
    if (stack_push(&io->free_ranges[class_of(m->pages)], m->base))
        bp_warn("iommu: out of memory, IOVA range 0x%llx leaked", (unsigned long long)m->base);
}

static uint64_t *pte_of(bp_iommu *io, uint64_t iova)
{
    return &io->pte[(iova - io->win_base) / PAGE];
}

int bp_iommu_map(bp_iommu *io, const void *hva, uint32_t len, uint8_t perm, bp_iomap *m)
{
    uint64_t first = (uintptr_t)hva & ~(PAGE - 1);
    uint64_t last = ((uintptr_t)hva + (len ? len : 1) - 1) & ~(PAGE - 1);
    uint32_t npages = (uint32_t)((last - first) / PAGE + 1);
    int err;

    m->mapped = npages;
    m->pages = (uint32_t)bp_pow2_ceil(npages);
    pthread_mutex_lock(&io->lock);
    err = iova_alloc_locked(io, m->pages, &m->base);
    if (!err) {
        uint64_t *pte = pte_of(io, m->base);

        for (uint32_t i = 0; i < npages; i++)
            pte[i] = (first + i * PAGE) | (perm & VU_ACCESS_RW);
    }
    pthread_mutex_unlock(&io->lock);
    m->iova = m->base + ((uintptr_t)hva & (PAGE - 1));
    return err;
}

static void clear_ptes_locked(bp_iommu *io, const bp_iomap *m)
{
    memset(pte_of(io, m->base), 0, m->mapped * sizeof(uint64_t));
}

/* One invalidation, acknowledged. A connection that is down only matters without reconnect. */
static int invalidate(bp_iommu *io, uint64_t iova, uint64_t size)
{
    vu_iotlb msg = { .iova = iova, .size = size, .type = VU_IOTLB_INVALIDATE };
    int err;

    bp_conn_lock(io->conn);
    err = bp_conn_iotlb_locked(io->conn, &msg);
    bp_conn_unlock(io->conn);
    pthread_mutex_lock(&io->lock);
    io->stats.invalidations += !err;
    pthread_mutex_unlock(&io->lock);
    if (err && io->reconnect && err != -EREMOTEIO)
        return 0;
    return err;
}

static int unmap_strict(bp_iommu *io, const bp_iomap *m)
{
    int err;

    pthread_mutex_lock(&io->lock);
    clear_ptes_locked(io, m);
    pthread_mutex_unlock(&io->lock);
    err = invalidate(io, m->base, (uint64_t)m->mapped * PAGE);
    pthread_mutex_lock(&io->lock);
    iova_free_locked(io, m);
    pthread_mutex_unlock(&io->lock);
    return err;
}

/* Queue @m for the next flush; caller holds io->lock. */
static int queue_lazy_locked(bp_iommu *io, const bp_iomap *m)
{
    clear_ptes_locked(io, m);
    if (grow((void **)&io->fq, io->fq_len, &io->fq_cap, sizeof(*io->fq)))
        return -ENOMEM;
    io->fq[io->fq_len++] = *m;
    return 0;
}

static int unmap_lazy(bp_iommu *io, const bp_iomap *maps, unsigned int n)
{
    bool flush;
    int err = 0;

    pthread_mutex_lock(&io->lock);
    for (unsigned int i = 0; i < n && !err; i++)
        err = queue_lazy_locked(io, &maps[i]);
    flush = ++io->completions >= io->lazy_batch;
    pthread_mutex_unlock(&io->lock);
    if (err)
        return err;
    return flush ? bp_iommu_flush(io) : 0;
}

int bp_iommu_unmap(bp_iommu *io, bp_iomap *maps, unsigned int n)
{
    int err = 0;

    if (io->mode == BP_IOMMU_LAZY)
        return unmap_lazy(io, maps, n);
    for (unsigned int i = 0; i < n; i++) {
        int e = unmap_strict(io, &maps[i]);

        err = err ? err : e;
    }
    return err;
}

int bp_iommu_flush(bp_iommu *io)
{
    bp_iomap *snap;
    uint32_t n;
    int err;

    pthread_mutex_lock(&io->lock);
    snap = io->fq;
    n = io->fq_len;
    io->fq = NULL;
    io->fq_len = io->fq_cap = 0;
    io->completions = 0;
    io->stats.flushes += n != 0;
    pthread_mutex_unlock(&io->lock);
    if (!n) {
        free(snap);
        return 0;
    }
    /* what QEMU 7.2 sends for a guest's domain-wide flush: around the interrupt window */
    err = invalidate(io, 0, IRQ_WINDOW_LO);
    if (!err)
        err = invalidate(io, IRQ_WINDOW_HI, 0 - IRQ_WINDOW_HI);
    pthread_mutex_lock(&io->lock);
    for (uint32_t i = 0; i < n; i++)
        iova_free_locked(io, &snap[i]);
    pthread_mutex_unlock(&io->lock);
    free(snap);
    return err;
}

void bp_iommu_get_stats(bp_iommu *io, bp_iommu_stats *st)
{
    pthread_mutex_lock(&io->lock);
    *st = io->stats;
    pthread_mutex_unlock(&io->lock);
}
