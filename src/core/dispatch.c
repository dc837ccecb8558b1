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
 * loads (shifts 55, 46, 37, 28, 19, 10) plus a search in a short run; chains
 * of nodes with a single non-empty slot are skipped (path compression), so
 * a compact layout resolves in one or two loads. Below 4 KiB the run
 * may be long (many tiny ranges in one page) and is binary searched.
 *
 * Limits: memory is one 4 KiB node per subdivided slot: at most about
 * 6 * nr nodes in the worst case, typically far fewer. The trie is built once
 * per flat view (at commit) and never modified, so lookups are lock-free.
 *
 * The keys (start, last) of every range are copied into a compact array so
 * the final check touches one 16-byte entry; "last" is inclusive so a range
 * ending at 2^64 needs no 128-bit arithmetic here.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/internal.h"

#define DISPATCH_BITS 9u
#define DISPATCH_SLOTS (1u << DISPATCH_BITS)
#define DISPATCH_ROOT_SHIFT 55u
#define DISPATCH_MIN_SHIFT 12u
#define DISPATCH_LEAF_MAX 2u
#define DISPATCH_MAX_RANGES 0x7fffffffu

/* A slot: a node pointer (bit 0 clear) or a leaf: first << 32 | count << 1 | 1. */
typedef uint64_t dispatch_entry;

/* A node covers [prefix, prefix + 2^(shift + 9)); slot i covers 2^shift
 * bytes from prefix + i * 2^shift. Addresses outside the node (possible
 * only below a compressed chain) have no range. */
typedef struct dispatch_node {
    gm_addr prefix;
    gm_addr prefix_mask;
    unsigned int shift;
    dispatch_entry slot[DISPATCH_SLOTS];
} dispatch_node;

typedef struct dispatch_key {
    gm_addr start;
    gm_addr last;
} dispatch_key;

struct gm_dispatch {
    unsigned int nr;
    dispatch_key *keys;
    dispatch_node *root;
    dispatch_node **nodes;       /* every node, for freeing */
    size_t nnodes;
    size_t capnodes;
};

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

        if (d->keys[mid].start <= addr)
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
        n->slot[i] = build_slot(d, lo + ((gm_addr)i << shift), shift);
        if (!n->slot[i])
            return NULL;
    }
    child = sole_child(n);
    return child ? child : n;
}

gm_dispatch *gm_dispatch_build(const gm_flat_range *ranges, unsigned int nr)
{
    gm_dispatch *d;

    if (nr > DISPATCH_MAX_RANGES)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->nr = nr;
    d->keys = malloc((nr ? nr : 1) * sizeof(*d->keys));
    if (!d->keys) {
        gm_dispatch_free(d);
        return NULL;
    }
    for (unsigned int i = 0; i < nr; i++) {
        d->keys[i].start = (gm_addr)ranges[i].start;
        d->keys[i].last = gm_flat_range_last(&ranges[i]);
    }
    d->root = build_node(d, 0, DISPATCH_ROOT_SHIFT);
    if (!d->root) {
        gm_dispatch_free(d);
        return NULL;
    }
    return d;
}

void gm_dispatch_free(gm_dispatch *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nnodes; i++)
        free(d->nodes[i]);
    free(d->nodes);
    free(d->keys);
    free(d);
}

/* The last index in [first, first + count) whose range starts at or below @addr. */
static unsigned int search_run(const dispatch_key *keys, unsigned int first, unsigned int count,
                               gm_addr addr)
{
    while (count > 1) {
        unsigned int half = count / 2;

        if (keys[first + half].start <= addr) {
            first += half;
            count -= half;
        } else {
            count = half;
        }
    }
    return first;
}

const gm_flat_range *gm_dispatch_lookup(const gm_flatview *fv, gm_addr addr)
{
    const gm_dispatch *d = fv->dispatch;
    const dispatch_node *n = d->root;
    const gm_flat_range *fr;
    unsigned int first, count, i;
    dispatch_entry e;

    for (;;) {
        if ((addr & n->prefix_mask) != n->prefix)
            return NULL;
        e = n->slot[(addr >> n->shift) & (DISPATCH_SLOTS - 1)];
        if (e & 1)
            break;
        n = (const dispatch_node *)(uintptr_t)e;
    }
    first = (unsigned int)(e >> 32);
    count = (unsigned int)(e >> 1) & DISPATCH_MAX_RANGES;
    if (!count)
        return NULL;
    /* One candidate: check it on the range itself, whose cache line the
     * caller reads next anyway, instead of touching the key array too. */
    i = count == 1 ? first : search_run(d->keys, first, count, addr);
    fr = &fv->ranges[i];
    if ((gm_addr)fr->start <= addr && addr <= gm_flat_range_last(fr))
        return fr;
    return NULL;
}

unsigned int gm_dispatch_next_index(const gm_flatview *fv, gm_addr addr)
{
    return first_starting_after(fv->dispatch, addr);
}
