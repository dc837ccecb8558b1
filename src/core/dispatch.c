/* SPDX-License-Identifier: MIT */
/*
 * Dispatch: from an address to the flat range that contains it.
 *
 * A flat view is a sorted array of non-overlapping ranges. Dispatch adds a
 * radix trie over the 64-bit address: each node has 512 slots; a slot either
 * points to a child node (covering 1/512 of the slot) or is a leaf naming the
 * run of ranges [first, first + count) that intersect the slot. The trie
 * subdivides only while a slot meets more than DISPATCH_LEAF_MAX ranges and
 * is wider than 2^DISPATCH_MIN_SHIFT bytes, so a lookup is at most six node
 * loads (shifts 57, 48, 39, 30, 21, 12) plus a search in a short run; chains
 * of nodes with a single non-empty slot are skipped (path compression), so
 * a compact layout resolves in one or two loads. The levels are aligned so
 * that the lowest one's slots are 4 KiB pages, the granule of nearly every
 * flat view: a view of N page-sized ranges needs N / 512 lowest nodes, not
 * four times as many (measured: docs/performance.md). Below 4 KiB the run
 * may be long (many tiny ranges in one page) and is binary searched.
 *
 * Limits: memory is one 4 KiB node per subdivided slot: at most about
 * 6 * nr nodes in the worst case, typically far fewer. The trie is built once
 * per flat view (at commit) and never modified, so lookups are lock-free.
 *
 * Every range has a key (gm_dispatch_key in internal.h): its bounds, its
 * section and what the RAM fast paths need, one 64-byte line, so a lookup
 * ends by reading one line; "last" is inclusive so a range ending at 2^64
 * needs no 128-bit arithmetic here. The walk itself is inline in
 * internal.h (gm_dispatch_find()); this file builds and frees.
 *
 * Before the trie, gm_dispatch_find() tries the thread's most recently used
 * range: a device streaming through one region pays a compare, not a walk.
 * Why per thread and keyed by an id:
 * - the entry must never name a range of another flat view. A flat view
 *   is replaced under RCU and freed later, and its memory may be reused for
 *   the next one; so entries are keyed by @id, drawn from a process-wide
 *   64-bit counter (never reused), not by address. A reader holds the view
 *   it looks up in (RCU), so an entry whose id matches names a live key.
 * - the entry must cost nothing to share. QEMU keeps one per address space
 *   and rewrites it on every miss; with queue threads streaming through
 *   different regions of one view, that line would bounce between cores on
 *   every access. A thread's own entry is written by it alone.
 * One entry per thread: a thread alternating between two views (an IOMMU's
 * address space and the one it translates into) misses it, at the cost of
 * a walk and one store.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "core/internal.h"

#define DISPATCH_BITS GM_DISPATCH_BITS
#define DISPATCH_SLOTS GM_DISPATCH_SLOTS
#define DISPATCH_ROOT_SHIFT 57u /* the root covers 2^66: slots from 128 on are empty */
#define DISPATCH_MIN_SHIFT 12u
#define DISPATCH_LEAF_MAX 2u
#define DISPATCH_MAX_RANGES GM_DISPATCH_MAX_RANGES
#define DISPATCH_HUGE (2u << 20) /* a transparent huge page */

typedef gm_dispatch_entry dispatch_entry;
typedef gm_dispatch_node dispatch_node;
typedef gm_dispatch_key dispatch_key;

_Static_assert(sizeof(gm_dispatch_key) == 64, "a key is one cache line");

__thread gm_mru_slot gm_dispatch_mru_ __attribute__((tls_model("initial-exec")));

/* Dispatch ids; 0 is never handed out, so an empty MRU slot matches none. */
static uint64_t dispatch_next_id = 1;

static dispatch_entry leaf_entry(unsigned int first, unsigned int count)
{
    return (uint64_t)first << 32 | (uint64_t)count << 1 | 1u;
}

static dispatch_node *node_alloc(gm_dispatch *d)
{
    dispatch_node *n;

    if (d->nnodes == d->capnodes) {
        size_t cap = d->capnodes ? d->capnodes * 2 : 8;
        dispatch_node **nodes = realloc(d->nodes, cap * sizeof(*nodes));

        if (!nodes)
            return NULL;
        d->nodes = nodes;
        d->capnodes = cap;
    }
    n = malloc(sizeof(*n));
    if (n)
        d->nodes[d->nnodes++] = n;
    return n;
}

/* First index whose range ends at or after @addr. */
static unsigned int first_ending_at_or_after(const gm_dispatch *d, gm_addr addr)
{
    unsigned int lo = 0, hi = d->nr;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (d->keys[mid].last < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index whose range starts after @addr. */
static unsigned int first_starting_after(const gm_dispatch *d, gm_addr addr)
{
    unsigned int lo = 0, hi = d->nr;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (gm_key_start(&d->keys[mid]) <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static dispatch_node *build_node(gm_dispatch *d, gm_addr lo, unsigned int shift);

static dispatch_entry build_slot(gm_dispatch *d, gm_addr slot_lo, unsigned int shift)
{
    gm_addr slot_last = slot_lo + ((1ull << shift) - 1);
    unsigned int first = first_ending_at_or_after(d, slot_lo);
    unsigned int end = first_starting_after(d, slot_last);
    unsigned int count = end > first ? end - first : 0;
    dispatch_node *child;

    if (count <= DISPATCH_LEAF_MAX || shift <= DISPATCH_MIN_SHIFT)
        return leaf_entry(first, count);
    child = build_node(d, slot_lo, shift - DISPATCH_BITS);
    return child ? (dispatch_entry)(uintptr_t)child : 0;
}

static bool is_empty_leaf(dispatch_entry e)
{
    return (e & 1) && !((e >> 1) & DISPATCH_MAX_RANGES);
}

/* Path compression (QEMU's phys_page_compact does the like): a node whose
 * only non-empty slot is a child node is replaced by that child, whose
 * prefix check then rejects the addresses the skipped node had no range
 * for. Returns the child to use instead, or NULL to keep @n. */
static dispatch_node *sole_child(const dispatch_node *n)
{
    dispatch_node *child = NULL;

    for (unsigned int i = 0; i < DISPATCH_SLOTS; i++) {
        if (is_empty_leaf(n->slot[i]))
            continue;
        if ((n->slot[i] & 1) || child)
            return NULL;
        child = (dispatch_node *)(uintptr_t)n->slot[i];
    }
    return child;
}

/* A node whose slot i covers [lo + i * 2^shift, lo + (i + 1) * 2^shift). */
static dispatch_node *build_node(gm_dispatch *d, gm_addr lo, unsigned int shift)
{
    dispatch_node *n = node_alloc(d), *child;
    unsigned int span = shift + DISPATCH_BITS;

    if (!n)
        return NULL;
    n->shift = shift;
    n->prefix = lo;
    n->prefix_mask = span >= 64 ? 0 : ~((1ull << span) - 1);
    for (unsigned int i = 0; i < DISPATCH_SLOTS; i++) {
        if (span > 64 && i >= 1u << (64 - shift)) {
            n->slot[i] = leaf_entry(0, 0); /* beyond 2^64 */
            continue;
        }
        n->slot[i] = build_slot(d, lo + ((gm_addr)i << shift), shift);
        if (!n->slot[i])
            return NULL;
    }
    child = sole_child(n);
    return child ? child : n;
}

/* The key of @fr: bounds, section, and how the fast paths may reach its
 * memory. */
static void key_init(dispatch_key *k, const gm_flat_range *fr)
{
    *k = (dispatch_key){ .last = gm_flat_range_last(fr) };
    gm_section_from_range(&k->section, fr);
    if (gm_range_is_direct(fr, false))
        k->direct |= GM_KEY_DIRECT_READ;
    if (gm_range_is_direct(fr, true))
        k->direct |= GM_KEY_DIRECT_WRITE;
    if (k->direct) {
        /* Modulo 2^N: host_bias + addr is the host address of addr. */
        k->host_bias = (uintptr_t)fr->mr->ram + (uintptr_t)fr->offset_in_region -
                       (uintptr_t)gm_key_start(k);
    }
}

/*
 * Keys are line-aligned. An array of 2 MiB or more (32768 ranges) is
 * aligned to 2 MiB and advised for transparent huge pages: random lookups
 * over it otherwise miss the TLB on most keys (measured: lookup_ns_65536
 * 15.5 -> 14 ns, docs/performance.md). Smaller views keep small pages, so
 * a view never costs a huge page it does not fill.
 */
static dispatch_key *keys_alloc(unsigned int nr)
{
    size_t bytes = (size_t)nr * sizeof(dispatch_key);
    dispatch_key *keys;

    if (bytes < DISPATCH_HUGE)
        return aligned_alloc(_Alignof(dispatch_key), bytes);
    bytes = (bytes + DISPATCH_HUGE - 1) & ~(size_t)(DISPATCH_HUGE - 1);
    keys = aligned_alloc(DISPATCH_HUGE, bytes);
    if (keys)
        madvise(keys, bytes, MADV_HUGEPAGE); /* advice only: failure is harmless */
    return keys;
}

int gm_dispatch_build(gm_dispatch *d, const gm_flat_range *ranges, unsigned int nr)
{
    *d = (gm_dispatch){ 0 };
    if (nr > DISPATCH_MAX_RANGES)
        return -ENOMEM;
    d->id = __atomic_fetch_add(&dispatch_next_id, 1, __ATOMIC_RELAXED);
    d->nr = nr;
    d->keys = keys_alloc(nr ? nr : 1);
    if (!d->keys)
        goto fail;
    for (unsigned int i = 0; i < nr; i++)
        key_init(&d->keys[i], &ranges[i]);
    d->root = build_node(d, 0, DISPATCH_ROOT_SHIFT);
    if (!d->root)
        goto fail;
    return 0;

fail:
    gm_dispatch_destroy(d);
    return -ENOMEM;
}

void gm_dispatch_destroy(gm_dispatch *d)
{
    for (size_t i = 0; i < d->nnodes; i++)
        free(d->nodes[i]);
    free(d->nodes);
    free(d->keys);
    *d = (gm_dispatch){ 0 };
}

const gm_dispatch_key *gm_dispatch_search_run(const gm_dispatch *d, unsigned int first,
                                              unsigned int count, gm_addr addr)
{
    /* The last range of the run that starts at or below @addr. */
    while (count > 1) {
        unsigned int half = count / 2;

        if (gm_key_start(&d->keys[first + half]) <= addr) {
            first += half;
            count -= half;
        } else {
            count = half;
        }
    }
    return &d->keys[first];
}

unsigned int gm_dispatch_next_index(const gm_flatview *fv, gm_addr addr)
{
    return first_starting_after(&fv->dispatch, addr);
}
