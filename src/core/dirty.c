/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking: per-region, per-client bitmaps of GM_DIRTY_PAGE_SIZE pages.
 *
 * A region's effective mask (dirty_log_mask, read lock-free by the write
 * paths) is what its clients asked for (log_mask) plus GM_DIRTY_MIGRATION
 * while global tracking is on. A bitmap is allocated before its bit appears
 * in the effective mask and lives as long as the region, so a writer that
 * saw the bit always finds the bitmap. Bits are set with atomic OR and taken
 * with atomic AND-NOT, so snapshot-and-clear never loses a concurrent write:
 * a write that lands after the snapshot read its word sets the bit again.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/internal.h"

#define BITS_PER_WORD (8 * sizeof(unsigned long))

struct gm_dirty_snapshot {
    uint64_t first_page;
    uint64_t npages;
    unsigned long bits[];
};

static uint64_t region_pages(const gm_region *mr)
{
    return (mr->log_len + GM_DIRTY_PAGE_SIZE - 1) / GM_DIRTY_PAGE_SIZE;
}

/* RAM, ROM devices and small enough map-on-demand regions can log. */
static bool can_log(const gm_region *mr)
{
    return mr->log_len && (mr->kind == GM_KIND_RAM || mr->kind == GM_KIND_ROM_DEVICE ||
                           mr->kind == GM_KIND_MAPPED);
}

static int ensure_bitmap_locked(gm_region *mr, enum gm_dirty_client client)
{
    uint64_t words = (region_pages(mr) + BITS_PER_WORD - 1) / BITS_PER_WORD;
    unsigned long *bits;

    if (mr->dirty[client])
        return 0;
    bits = calloc(words ? words : 1, sizeof(unsigned long));
    if (!bits)
        return -ENOMEM;
    __atomic_store_n(&mr->dirty[client], bits, __ATOMIC_RELEASE);
    return 0;
}

static void update_effective_locked(gm_region *mr)
{
    uint8_t mask = mr->log_mask;

    if (mr->sys->global_dirty && mr->dirty[GM_DIRTY_MIGRATION])
        mask |= 1u << GM_DIRTY_MIGRATION;
    __atomic_store_n(&mr->dirty_log_mask, mask, __ATOMIC_RELEASE);
}

int gm_dirty_adopt_global(gm_region *mr)
{
    int err;

    if (!mr->sys->global_dirty || !can_log(mr))
        return 0;
    err = ensure_bitmap_locked(mr, GM_DIRTY_MIGRATION);
    update_effective_locked(mr);
    return err;
}

int gm_region_set_log(gm_region *mr, enum gm_dirty_client client, bool log)
{
    int err = 0;

    if (!can_log(mr) || (unsigned int)client >= GM_DIRTY_NUM)
        return -EINVAL;
    gm_transaction_begin(mr->sys);
    if (log)
        err = ensure_bitmap_locked(mr, client);
    if (!err) {
        if (log)
            mr->log_mask |= (uint8_t)(1u << client);
        else
            mr->log_mask &= (uint8_t)~(1u << client);
        update_effective_locked(mr);
        gm_system_update_locked(mr->sys);
    }
    gm_transaction_commit(mr->sys);
    return err;
}

/* Clip [addr, addr + size) to the region; false if nothing is left. */
static bool page_span(const gm_region *mr, gm_addr addr, uint64_t size, uint64_t *first,
                      uint64_t *last)
{
    if (!size || addr >= mr->log_len)
        return false;
    size = GM_MIN(size, mr->log_len - addr);
    *first = addr / GM_DIRTY_PAGE_SIZE;
    *last = (addr + size - 1) / GM_DIRTY_PAGE_SIZE;
    return true;
}

/* Mask of the bits of word @w that fall in pages [first, last]. */
static unsigned long word_mask(uint64_t w, uint64_t first, uint64_t last)
{
    uint64_t lo = GM_MAX(first, w * BITS_PER_WORD) - w * BITS_PER_WORD;
    uint64_t hi = GM_MIN(last, w * BITS_PER_WORD + BITS_PER_WORD - 1) - w * BITS_PER_WORD;
    unsigned long upto = hi == BITS_PER_WORD - 1 ? ~0ul : (1ul << (hi + 1)) - 1;

    return upto & ~((1ul << lo) - 1);
}

static void bitmap_set_pages(unsigned long *bits, uint64_t first, uint64_t last)
{
    for (uint64_t w = first / BITS_PER_WORD; w <= last / BITS_PER_WORD; w++)
        __atomic_fetch_or(&bits[w], word_mask(w, first, last), __ATOMIC_RELAXED);
}

void gm_mark_dirty(gm_region *mr, gm_addr xlat, uint64_t len)
{
    uint8_t mask = __atomic_load_n(&mr->dirty_log_mask, __ATOMIC_ACQUIRE);
    uint64_t first, last;

    if (!mask || !page_span(mr, xlat, len, &first, &last))
        return;
    for (int c = 0; c < GM_DIRTY_NUM; c++) {
        unsigned long *bits = __atomic_load_n(&mr->dirty[c], __ATOMIC_ACQUIRE);

        if ((mask & (1u << c)) && bits)
            bitmap_set_pages(bits, first, last);
    }
}

void gm_region_set_dirty(gm_region *mr, gm_addr addr, uint64_t size)
{
    gm_mark_dirty(mr, addr, size);
}

bool gm_region_get_dirty(gm_region *mr, gm_addr addr, uint64_t size,
                         enum gm_dirty_client client)
{
    unsigned long *bits;
    uint64_t first, last;

    if ((unsigned int)client >= GM_DIRTY_NUM || !page_span(mr, addr, size, &first, &last))
        return false;
    bits = __atomic_load_n(&mr->dirty[client], __ATOMIC_ACQUIRE);
    if (!bits)
        return false;
    for (uint64_t w = first / BITS_PER_WORD; w <= last / BITS_PER_WORD; w++) {
        if (__atomic_load_n(&bits[w], __ATOMIC_RELAXED) & word_mask(w, first, last))
            return true;
    }
    return false;
}

void gm_region_reset_dirty(gm_region *mr, gm_addr addr, uint64_t size,
                           enum gm_dirty_client client)
{
    gm_dirty_snapshot_free(gm_region_snapshot_and_clear_dirty(mr, addr, size, client));
}

gm_dirty_snapshot *gm_region_snapshot_and_clear_dirty(gm_region *mr, gm_addr addr, uint64_t size,
                                                      enum gm_dirty_client client)
{
    uint64_t first, last, n;
    gm_dirty_snapshot *snap;
    unsigned long *bits;

    if ((unsigned int)client >= GM_DIRTY_NUM || !can_log(mr) ||
        !page_span(mr, addr, size, &first, &last)) {
        errno = EINVAL;
        return NULL;
    }
    n = last - first + 1;
    snap = calloc(1, sizeof(*snap) + ((n + BITS_PER_WORD - 1) / BITS_PER_WORD) *
                                         sizeof(unsigned long));
    if (!snap)
        return NULL;
    snap->first_page = first;
    snap->npages = n;
    bits = __atomic_load_n(&mr->dirty[client], __ATOMIC_ACQUIRE);
    for (uint64_t w = first / BITS_PER_WORD; bits && w <= last / BITS_PER_WORD; w++) {
        unsigned long m = word_mask(w, first, last);
        unsigned long old = __atomic_fetch_and(&bits[w], ~m, __ATOMIC_ACQ_REL) & m;

        for (uint64_t b = 0; old && b < BITS_PER_WORD; b++) {
            if (old & (1ul << b)) {
                uint64_t rel = w * BITS_PER_WORD + b - first;

                snap->bits[rel / BITS_PER_WORD] |= 1ul << (rel % BITS_PER_WORD);
            }
        }
    }
    return snap;
}

bool gm_dirty_snapshot_get_dirty(const gm_dirty_snapshot *snap, gm_addr addr, uint64_t size)
{
    uint64_t first, last;

    if (!snap || !size)
        return false;
    first = addr / GM_DIRTY_PAGE_SIZE;
    last = (addr + size - 1) / GM_DIRTY_PAGE_SIZE;
    if (last < first)
        last = UINT64_MAX / GM_DIRTY_PAGE_SIZE;
    for (uint64_t p = GM_MAX(first, snap->first_page);
         p <= last && p < snap->first_page + snap->npages; p++) {
        uint64_t rel = p - snap->first_page;

        if (snap->bits[rel / BITS_PER_WORD] & (1ul << (rel % BITS_PER_WORD)))
            return true;
    }
    return false;
}

uint64_t gm_dirty_snapshot_next(const gm_dirty_snapshot *snap, gm_addr from)
{
    uint64_t rel = from / GM_DIRTY_PAGE_SIZE;

    rel = rel > snap->first_page ? rel - snap->first_page : 0;
    while (rel < snap->npages) {
        unsigned long word = snap->bits[rel / BITS_PER_WORD] >> (rel % BITS_PER_WORD);

        if (word) {
            rel += (uint64_t)__builtin_ctzl(word);
            return rel < snap->npages ? (snap->first_page + rel) * GM_DIRTY_PAGE_SIZE : UINT64_MAX;
        }
        rel = (rel / BITS_PER_WORD + 1) * BITS_PER_WORD;
    }
    return UINT64_MAX;
}

void gm_dirty_snapshot_free(gm_dirty_snapshot *snap)
{
    free(snap);
}

typedef struct global_ctx {
    int err;
} global_ctx;

static void adopt_one(gm_region *mr, void *opaque)
{
    global_ctx *ctx = opaque;
    int err = gm_dirty_adopt_global(mr);

    if (err)
        ctx->err = err;
}

static void drop_one(gm_region *mr, void *opaque)
{
    (void)opaque;
    update_effective_locked(mr);
}

int gm_system_log_global_start(gm_system *sys)
{
    global_ctx ctx = { 0 };

    gm_transaction_begin(sys);
    if (!sys->global_dirty) {
        sys->global_dirty = true;
        gm_hostmap_for_each(sys, adopt_one, &ctx);
        gm_listeners_global_log_locked(sys, true);
        gm_system_update_locked(sys);
    }
    gm_transaction_commit(sys);
    return ctx.err;
}

void gm_system_log_global_stop(gm_system *sys)
{
    gm_transaction_begin(sys);
    if (sys->global_dirty) {
        sys->global_dirty = false;
        gm_hostmap_for_each(sys, drop_one, NULL);
        gm_listeners_global_log_locked(sys, false);
        gm_system_update_locked(sys);
    }
    gm_transaction_commit(sys);
}
