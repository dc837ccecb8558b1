/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, driver side (virtio 1.1, 2.6).
 *
 * Memory order: descriptors and the available entry are written before
 * the available index is published with a release store; the used index
 * is read with an acquire load before its entries. Between publishing and
 * reading the device's event index (or NO_NOTIFY flag) there is a full
 * fence, and likewise between writing used_event and re-reading the used
 * index: the classic store-load pairs that, if reordered, lose a kick or a
 * notification.
 *
 * The free list and each chain's links live in private memory (@next):
 * the descriptor table is writable by the back-end's mapping, and a
 * driver that followed links read back from it could be led anywhere.
 *
 * Glossary: avail_idx = next free-running available index; last_used =
 * next free-running used index to look at.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "bp_proto.h"
#include "bp_ring.h"

/* avail ring: flags, idx, ring[num], used_event */
static uint16_t *avail_flags(bp_ring *r) { return (uint16_t *)r->drv; }
static uint16_t *avail_idx_p(bp_ring *r) { return (uint16_t *)r->drv + 1; }
static uint16_t *avail_ring(bp_ring *r) { return (uint16_t *)r->drv + 2; }
static uint16_t *used_event(bp_ring *r) { return (uint16_t *)r->drv + 2 + r->num; }
/* used ring: flags, idx, elem[num], avail_event */
static uint16_t *used_flags(bp_ring *r) { return (uint16_t *)r->dev; }
static uint16_t *used_idx_p(bp_ring *r) { return (uint16_t *)r->dev + 1; }
static vring_used_elem *used_ring(bp_ring *r)
{
    return (vring_used_elem *)((uint16_t *)r->dev + 2);
}
static uint16_t *avail_event(bp_ring *r) { return (uint16_t *)(used_ring(r) + r->num); }

void bp_ring_split_init(bp_ring *r)
{
    r->ops = &bp_ring_split_ops;
    for (uint16_t i = 0; i < r->num; i++) {
        r->next[i] = (uint16_t)(i + 1);
        r->head_slot[i] = -1;
    }
    r->free_head = 0;
    *avail_flags(r) = 0;      /* notifications wanted */
    *used_event(r) = 0;
}

static void write_desc(vring_desc *d, const bp_buf *b, uint16_t flags, uint16_t next)
{
    d->addr = b->addr;
    d->len = b->len;
    d->flags = (uint16_t)(flags | (b->write ? VRING_DESC_F_WRITE : 0));
    d->next = next;
}

/* An indirect table in @t, and one ring descriptor pointing at it. */
static uint16_t add_indirect(bp_ring *r, const bp_buf *bufs, unsigned int n, const bp_table *t)
{
    vring_desc *table = t->hva;
    uint16_t head = r->free_head;
    bp_buf ind = { t->addr, n * (uint32_t)sizeof(vring_desc), false };

    for (unsigned int i = 0; i < n; i++)
        write_desc(&table[i], &bufs[i], i + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    write_desc((vring_desc *)r->desc + head, &ind, VRING_DESC_F_INDIRECT, 0);
    r->free_head = r->next[head];
    r->chain_len[head] = 1;
    return head;
}

static uint16_t add_chain(bp_ring *r, const bp_buf *bufs, unsigned int n)
{
    vring_desc *desc = r->desc;
    uint16_t head = r->free_head, d = head;

    for (unsigned int i = 0; i < n; i++) {
        uint16_t nx = r->next[d];

        write_desc(&desc[d], &bufs[i], i + 1 < n ? VRING_DESC_F_NEXT : 0, nx);
        if (i + 1 < n)
            d = nx;
    }
    r->free_head = r->next[d];
    r->chain_len[head] = (uint16_t)n;
    return head;
}

static void split_add(bp_ring *r, uint16_t slot, const bp_buf *bufs, unsigned int n,
                      const bp_table *table)
{
    uint16_t head = table ? add_indirect(r, bufs, n, table) : add_chain(r, bufs, n);

    r->num_free = (uint16_t)(r->num_free - r->chain_len[head]);
    r->head_slot[head] = slot;
    avail_ring(r)[r->avail_idx & (r->num - 1)] = head;
    r->avail_idx++;
    __atomic_store_n(avail_idx_p(r), r->avail_idx, __ATOMIC_RELEASE);
    r->inflight++;
    r->added++;
}

static bool split_kick_needed(bp_ring *r)
{
    uint16_t new_idx = r->avail_idx, old_idx = (uint16_t)(new_idx - r->added);

    r->added = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (r->event_idx)
        return bp_need_event(__atomic_load_n(avail_event(r), __ATOMIC_RELAXED), new_idx, old_idx);
    return !(__atomic_load_n(used_flags(r), __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
}

/* Return the chain of @head to the free list (links from private memory). */
static void free_chain(bp_ring *r, uint16_t head)
{
    uint16_t last = head;

    for (uint16_t i = 1; i < r->chain_len[head]; i++)
        last = r->next[last];
    r->next[last] = r->free_head;
    r->free_head = head;
    r->num_free = (uint16_t)(r->num_free + r->chain_len[head]);
    r->head_slot[head] = -1;
}

static int split_get_used(bp_ring *r, bp_used *u)
{
    uint16_t idx = __atomic_load_n(used_idx_p(r), __ATOMIC_ACQUIRE);
    vring_used_elem e;

    if (idx == r->last_used)
        return 0;
    if ((uint16_t)(idx - r->last_used) > r->inflight) {
        u->raw_id = (uint16_t)(idx - r->last_used);
        return -ERANGE;
    }
    u->pos = r->last_used & (r->num - 1);
    e = used_ring(r)[u->pos];
    u->raw_id = e.id;
    if (e.id >= r->num || r->head_slot[e.id] < 0)
        return -EPROTO;
    u->slot = (uint16_t)r->head_slot[e.id];
    u->len = e.len;
    free_chain(r, (uint16_t)e.id);
    r->last_used++;
    r->inflight--;
    return 1;
}

static bool split_enable_cb(bp_ring *r)
{
    if (r->event_idx)
        __atomic_store_n(used_event(r), r->last_used, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(used_idx_p(r), __ATOMIC_ACQUIRE) != r->last_used;
}

/* A restart resumes at the ring's used index, as QEMU does after a crash. */
static uint32_t split_base(const bp_ring *r, bool restart)
{
    return restart ? __atomic_load_n(used_idx_p((bp_ring *)r), __ATOMIC_ACQUIRE) : r->avail_idx;
}

static uint32_t split_used_end(const bp_ring *r, uint16_t *count)
{
    uint16_t idx = __atomic_load_n(used_idx_p((bp_ring *)r), __ATOMIC_ACQUIRE);
    uint16_t n = (uint16_t)(idx - r->last_used);

    *count = n <= r->inflight ? n : r->inflight;
    return idx;
}

/* @base is the device's next available index: what it took, all used. */
static int split_check_stopped(const bp_ring *r, uint32_t base)
{
    uint16_t n;

    if (base > 0xffff || (uint16_t)(base - r->last_used) > r->inflight)
        return -ERANGE;
    return split_used_end(r, &n) == base ? 0 : -EINPROGRESS;
}

static uint32_t dev_off(const bp_ring *r)
{
    return (uint32_t)((const uint8_t *)r->dev - (const uint8_t *)r->desc);
}

static unsigned int split_written(const bp_ring *r, const bp_used *u, bp_ring_area *area)
{
    area[0] = (bp_ring_area){ dev_off(r) + 4 + 8 * (uint32_t)u->pos, sizeof(vring_used_elem),
                              BP_WROTE_USED_ELEM, u->pos };
    area[1] = (bp_ring_area){ dev_off(r) + 2, 2, BP_WROTE_USED_IDX, 0 };
    return 2;
}

static unsigned int split_events(const bp_ring *r, bp_ring_area *area)
{
    bp_ring *w = (bp_ring *)r;

    area[0] = (bp_ring_area){ dev_off(r), 2, BP_WROTE_USED_FLAGS,
                              __atomic_load_n(used_flags(w), __ATOMIC_RELAXED) };
    if (!r->event_idx)
        return 1;
    area[1] = (bp_ring_area){ (uint32_t)((uint8_t *)avail_event(w) - (uint8_t *)r->desc), 2,
                              BP_WROTE_AVAIL_EVENT,
                              __atomic_load_n(avail_event(w), __ATOMIC_RELAXED) };
    return 2;
}

const bp_ring_ops bp_ring_split_ops = {
    .add = split_add,
    .kick_needed = split_kick_needed,
    .get_used = split_get_used,
    .enable_cb = split_enable_cb,
    .base = split_base,
    .used_end = split_used_end,
    .check_stopped = split_check_stopped,
    .written = split_written,
    .events = split_events,
};
