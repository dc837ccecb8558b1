/* SPDX-License-Identifier: MIT */
/*
 * In-flight tracking for packed rings, in the same shared area as split
 * rings (vhost_inflight.c) but a layout of this back-end's own: QEMU only
 * keeps the area for the next back-end and never reads it, and the
 * specification's packed layout is not what QEMU's libvhost-user
 * implements either.
 *
 * Why a packed ring needs more than a split one: the device writes used
 * descriptors over the ring in completion order, so the descriptors of a
 * chain still in flight may already be overwritten when the device dies,
 * and the ring has no index to say how far the driver's requests were
 * taken. So the area keeps, per buffer id in flight, a copy of its ring
 * descriptors (in a pool of one entry per ring slot, linked), and the
 * positions: where the next chain will be taken (avail) and where the next
 * used descriptor goes (used).
 *
 * Order of the writes, so that a restarted back-end can tell what a
 * killed one finished:
 *   pop:  chain copied into pool entries, the id's record, inflight = 1,
 *         then avail;
 *   push: old_used = used and last_batch_id (before the used descriptor is
 *         written), then used (after), then inflight = 0, then
 *         last_batch_id is cleared (the driver may reuse the id at once: a
 *         stale last_batch_id would name its next request).
 * On restart, an id still marked with a used position that moved was
 * completed; one whose position did not move was completed if the ring
 * holds its used descriptor at that position in that lap. The pool's free
 * list is rebuilt from the chains in flight, so a back-end killed while
 * changing it leaves nothing inconsistent. Every link and count read back
 * is bounded by the queue size: the front-end can write the area.
 *
 * Layout of one queue's region: vu_inflight_packed, then desc_num id
 * records, then desc_num pool entries.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "vhost/vhost_int.h"

#define POOL_END 0xffffu
#define WRAP_BIT 15u

typedef struct vu_inflight_pid {
    uint8_t inflight;
    uint8_t padding;
    uint16_t first;               /* its first pool entry */
    uint16_t ndesc;
    uint16_t padding2;
    uint64_t counter;
} vu_inflight_pid;

typedef struct vu_inflight_pdesc {
    gm_virtq_desc d;
    uint16_t next;                /* the chain's next pool entry, or the free list's */
    uint16_t padding[3];
} vu_inflight_pdesc;

typedef struct vu_inflight_packed {
    uint64_t features;
    uint16_t version;             /* VU_INFLIGHT_PACKED_VERSION: this layout */
    uint16_t desc_num;
    uint16_t avail;               /* position | wrap << 15 after the last chain taken */
    uint16_t used;                /* position | wrap << 15 of the next used descriptor */
    uint16_t old_used;            /* used before the last push began */
    uint16_t last_batch_id;
    uint16_t free_head;
    uint16_t padding[5];
} vu_inflight_packed;

_Static_assert(sizeof(vu_inflight_packed) == 32, "packed in-flight header");
_Static_assert(sizeof(vu_inflight_pid) == 16, "packed in-flight id record");
_Static_assert(sizeof(vu_inflight_pdesc) == 24, "packed in-flight pool entry");

uint64_t vu_inflight_packed_bytes(uint16_t queue_size)
{
    return sizeof(vu_inflight_packed) +
           (uint64_t)queue_size * (sizeof(vu_inflight_pid) + sizeof(vu_inflight_pdesc));
}

static vu_inflight_pid *ids_of(vu_inflight_packed *p)
{
    return (vu_inflight_pid *)(p + 1);
}

static vu_inflight_pdesc *pool_of(vu_inflight_packed *p)
{
    return (vu_inflight_pdesc *)(ids_of(p) + p->desc_num);
}

/* Advance a position | wrap by @n slots of a ring of @num. */
static uint16_t advance(uint16_t pw, uint16_t n, uint16_t num)
{
    uint32_t pos = (pw & 0x7fffu) + n;
    unsigned int wrap = (pw >> WRAP_BIT) & 1u;

    if (pos >= num) {
        pos -= num;
        wrap ^= 1u;
    }
    return (uint16_t)(pos | wrap << WRAP_BIT);
}

static void pool_free_chain(vu_inflight_packed *p, const vu_inflight_pid *rec)
{
    vu_inflight_pdesc *pool = pool_of(p);
    uint16_t e = rec->first;

    for (uint16_t i = 0; i < rec->ndesc && e < p->desc_num; i++) {
        uint16_t next = pool[e].next;

        pool[e].next = p->free_head;
        p->free_head = e;
        e = next;
    }
}

/* The chain of @rec walks exactly ndesc distinct entries (marked in @seen). */
static bool chain_valid(vu_inflight_packed *p, const vu_inflight_pid *rec, uint8_t *seen)
{
    vu_inflight_pdesc *pool = pool_of(p);
    uint16_t e = rec->first;

    if (!rec->ndesc || rec->ndesc > p->desc_num)
        return false;
    for (uint16_t i = 0; i < rec->ndesc; i++) {
        if (e >= p->desc_num || seen[e])
            return false;
        seen[e] = 1;
        e = pool[e].next;
    }
    return true;
}

/* A fresh region: nothing in flight, every pool entry free. */
static void init_region(vu_inflight_packed *p, uint32_t base)
{
    vu_inflight_pdesc *pool = pool_of(p);

    memset(ids_of(p), 0, p->desc_num * sizeof(vu_inflight_pid));
    for (uint16_t i = 0; i < p->desc_num; i++)
        pool[i].next = i + 1 < p->desc_num ? (uint16_t)(i + 1) : POOL_END;
    p->free_head = 0;
    p->avail = (uint16_t)base;
    p->used = p->old_used = (uint16_t)(base >> 16);
    p->last_batch_id = POOL_END;
    __atomic_store_n(&p->version, VU_INFLIGHT_PACKED_VERSION, __ATOMIC_RELEASE);
}

/* Settle the push a killed back-end may have been in the middle of. */
static void settle_last_push(gm_vhost_queue *q, vu_inflight_packed *p)
{
    vu_inflight_pid *rec;
    uint16_t id = p->last_batch_id, used_id;

    if (id >= p->desc_num || !(rec = &ids_of(p)[id])->inflight)
        return;
    if (p->used != p->old_used) {
        rec->inflight = 0;   /* the used position moved: it was written */
    } else if (gm_virtq_packed_used_id(q->vq, p->used, &used_id) == 1 && used_id == id &&
               rec->ndesc && rec->ndesc <= p->desc_num) {
        rec->inflight = 0;
        p->used = advance(p->used, rec->ndesc, p->desc_num);
    }
}

/* Collect the valid chains in flight into q->resubmit (oldest first) and
 * rebuild the free list from what they do not use. */
static unsigned int collect(gm_vhost_queue *q, vu_inflight_packed *p)
{
    uint8_t *seen = calloc(p->desc_num, 1);
    vu_inflight_pid *ids = ids_of(p);
    unsigned int n = 0;

    q->resubmit = malloc(p->desc_num * sizeof(*q->resubmit));
    if (!seen || !q->resubmit) {
        free(seen);
        return 0;
    }
    for (uint16_t id = 0; id < p->desc_num; id++) {
        if (__atomic_load_n(&ids[id].inflight, __ATOMIC_ACQUIRE) != 1)
            continue;
        if (chain_valid(p, &ids[id], seen))
            q->resubmit[n++] = id;
        else
            ids[id].inflight = 0;   /* not a chain this back-end wrote: dropped */
    }
    p->free_head = POOL_END;
    for (uint16_t e = p->desc_num; e-- > 0;) {
        if (!seen[e]) {
            pool_of(p)[e].next = p->free_head;
            p->free_head = e;
        }
    }
    free(seen);
    return n;
}

static int by_counter(const void *a, const void *b, void *ids)
{
    const vu_inflight_pid *r = ids;
    uint64_t x = r[*(const uint16_t *)a].counter, y = r[*(const uint16_t *)b].counter;

    return x < y ? -1 : x > y;
}

unsigned int vu_inflight_packed_start(gm_vhost_queue *q, void *region)
{
    vu_inflight_packed *p = region;
    unsigned int n;

    if (p->desc_num != q->num)
        return 0;
    q->inflight_packed = p;
    if (__atomic_load_n(&p->version, __ATOMIC_ACQUIRE) != VU_INFLIGHT_PACKED_VERSION) {
        init_region(p, gm_virtq_get_base(q->vq));
        return 0;
    }
    settle_last_push(q, p);
    n = collect(q, p);
    qsort_r(q->resubmit, n, sizeof(*q->resubmit), by_counter, ids_of(p));
    for (unsigned int i = 0; i < n; i++) {
        uint64_t c = ids_of(p)[q->resubmit[i]].counter;

        q->inflight_counter = c > q->inflight_counter ? c : q->inflight_counter;
    }
    /* Positions from the area: QEMU cannot know them for a packed ring. */
    if (gm_virtq_packed_resume(q->vq, p->avail, p->used))
        return 0;
    return n;
}

unsigned int vu_inflight_packed_chain(gm_vhost_queue *q, uint16_t id, gm_virtq_desc *out)
{
    vu_inflight_packed *p = q->inflight_packed;
    const vu_inflight_pid *rec;
    uint16_t e;

    if (!p || id >= p->desc_num)
        return 0;
    rec = &ids_of(p)[id];
    e = rec->first;
    for (uint16_t i = 0; i < rec->ndesc && i < p->desc_num; i++) {
        if (e >= p->desc_num)
            return 0;
        out[i] = pool_of(p)[e].d;
        e = pool_of(p)[e].next;
    }
    return rec->ndesc <= p->desc_num ? rec->ndesc : 0;
}

void vu_inflight_packed_mark(gm_vhost_queue *q, uint16_t id)
{
    vu_inflight_packed *p = q->inflight_packed;
    vu_inflight_pid *rec;
    unsigned int n;
    uint16_t e;

    if (!p || id >= p->desc_num)
        return;
    rec = &ids_of(p)[id];
    if (rec->inflight)
        return;   /* resubmitted: its chain is here already */
    n = gm_virtq_packed_last_chain(q->vq, q->chain_scratch, q->num);
    if (!n || n > q->num)
        return;
    e = p->free_head;
    rec->first = e;
    for (unsigned int i = 0; i < n; i++) {
        if (e >= p->desc_num)
            return;   /* no room (a corrupt list): the request goes untracked */
        pool_of(p)[e].d = q->chain_scratch[i];
        if (i + 1 < n)
            e = pool_of(p)[e].next;
    }
    p->free_head = pool_of(p)[e].next;
    rec->ndesc = (uint16_t)n;
    rec->counter = ++q->inflight_counter;
    __atomic_store_n(&rec->inflight, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&p->avail, (uint16_t)gm_virtq_get_base(q->vq), __ATOMIC_RELEASE);
}

void vu_inflight_packed_unmark(gm_vhost_queue *q, uint16_t id)
{
    vu_inflight_packed *p = q->inflight_packed;
    vu_inflight_pid *rec;

    if (!p || id >= p->desc_num)
        return;
    rec = &ids_of(p)[id];
    /* The record first: killed in between, a saved chain that is also
     * available again would be taken twice, an id in flight reused (the
     * queue breaks); this way at worst that one request is lost. */
    if (rec->inflight) {
        __atomic_store_n(&rec->inflight, 0, __ATOMIC_RELEASE);
        pool_free_chain(p, rec);
    }
    __atomic_store_n(&p->avail, (uint16_t)gm_virtq_get_base(q->vq), __ATOMIC_RELEASE);
}

void vu_inflight_packed_before_push(gm_vhost_queue *q, uint16_t id)
{
    vu_inflight_packed *p = q->inflight_packed;

    if (!p || id >= p->desc_num)
        return;
    p->old_used = p->used;
    __atomic_store_n(&p->last_batch_id, id, __ATOMIC_RELEASE);
}

void vu_inflight_packed_after_push(gm_vhost_queue *q, uint16_t id, uint16_t used)
{
    vu_inflight_packed *p = q->inflight_packed;
    vu_inflight_pid *rec;

    if (!p || id >= p->desc_num)
        return;
    rec = &ids_of(p)[id];
    __atomic_store_n(&p->used, used, __ATOMIC_RELEASE);
    if (rec->inflight) {
        __atomic_store_n(&rec->inflight, 0, __ATOMIC_RELEASE);
        pool_free_chain(p, rec);
    }
    __atomic_store_n(&p->last_batch_id, POOL_END, __ATOMIC_RELEASE);
}
