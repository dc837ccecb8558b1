/* SPDX-License-Identifier: MIT */
/*
 * Walking and validating one descriptor chain.
 *
 * A chain starts at a head index in the descriptor table and follows NEXT
 * flags; one descriptor (the last of its chain, since INDIRECT together with
 * NEXT is forbidden) may instead point at an indirect table, a second array
 * of descriptors in guest memory whose own chain starts at entry 0 (virtio
 * 1.x, 2.7.5.3). Everything in those tables is written by the guest, so:
 *
 * - every index (next) is checked against its table's size before use;
 * - loops are caught by a counter: a chain cannot have more descriptors
 *   than its table has entries, so a walk that gets that far has looped
 *   (-ELOOP). No visited bitmap is needed and the walk is O(table size);
 * - each descriptor is read once into a local copy (no double fetch: the
 *   guest may rewrite the table while we walk it);
 * - the total length is kept below max_chain_bytes (<= UINT32_MAX) with the
 *   overflow-safe form len > max - total, so the 32-bit element totals
 *   cannot overflow either;
 * - a buffer with addr + len beyond 2^64 is refused, so later users may
 *   compute addr + off for any off < len.
 *
 * Nesting is at most one level (INDIRECT inside an indirect table is an
 * error), so the recursion below is bounded.
 *
 * Glossary: w = the walk state, d = one decoded descriptor, n = entries in
 * the table being walked.
 * Locking: none; the queue's thread only.
 */
#include <errno.h>
#include <inttypes.h>

#include "virtio/virtq_int.h"

gm_result virtq_desc_read(virtq_area *table, uint32_t i, virtq_desc *d, bool packed)
{
    uint8_t raw[VIRTQ_DESC_SIZE];
    gm_result r = virtq_area_read(table, (uint64_t)i * VIRTQ_DESC_SIZE, raw, sizeof(raw));
    uint64_t addr;
    uint32_t len;
    uint16_t at12, at14;

    memcpy(&addr, raw, 8);
    memcpy(&len, raw + 8, 4);
    memcpy(&at12, raw + 12, 2);
    memcpy(&at14, raw + 14, 2);
    d->addr = virtq_le64(addr);
    d->len = virtq_le32(len);
    /* split: flags, next; packed: id, flags */
    d->flags = virtq_le16(packed ? at14 : at12);
    d->next = virtq_le16(packed ? at12 : at14);
    return r;
}

int virtq_chain_fail(chain_walk *w, int err, const char *what)
{
    gm_virtq *vq = w->vq;

    /* Memory the device cannot reach for now: leave the chain available. */
    if (err == -EFAULT && vq->transient && vq->transient(vq->transient_opaque))
        return -EAGAIN;
    return virtq_break(vq, err, "chain at head %u: %s", w->elem->head, what);
}

void virtq_chain_begin(chain_walk *w, gm_virtq *vq, gm_virtq_elem *elem, uint16_t head)
{
    *w = (chain_walk){ .vq = vq, .elem = elem, .total = 0 };
    elem->head = head;
    elem->out_num = 0;
    elem->in_num = 0;
    elem->out_len = 0;
    elem->in_len = 0;
}

/* Append one buffer to the element, after validating it. */
int virtq_chain_add(chain_walk *w, const virtq_desc *d)
{
    gm_virtq_elem *elem = w->elem;
    bool is_write = d->flags & VIRTQ_DESC_F_WRITE;
    gm_virtq_seg *seg;

    if (d->len && d->addr > UINT64_MAX - (d->len - 1))
        return virtq_chain_fail(w, -EOVERFLOW, "buffer wraps 2^64");
    if (!is_write && elem->in_num)
        return virtq_chain_fail(w, -EINVAL, "readable descriptor after a writable one");
    if (elem->out_num + elem->in_num >= elem->seg_max)
        return virtq_chain_fail(w, -ENOBUFS, "more buffers than the element holds");
    if (d->len > w->vq->max_chain_bytes - w->total)
        return virtq_chain_fail(w, -EOVERFLOW, "total length above the chain limit");
    w->total += d->len;
    seg = &elem->seg[elem->out_num + elem->in_num];
    seg->addr = d->addr;
    seg->len = d->len;
    if (is_write) {
        elem->in_num++;
        elem->in_len += d->len;
    } else {
        elem->out_num++;
        elem->out_len += d->len;
    }
    return 0;
}

static int chain_walk_table(chain_walk *w, virtq_area *table, uint32_t n, uint16_t first,
                            bool indirect);

int virtq_chain_indirect_ok(chain_walk *w, const virtq_desc *d)
{
    if (!virtq_has(w->vq, GM_VIRTIO_F_INDIRECT_DESC))
        return virtq_chain_fail(w, -EINVAL, "INDIRECT without VIRTIO_F_INDIRECT_DESC");
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return virtq_chain_fail(w, -EINVAL, "INDIRECT together with NEXT");
    if (!d->len || d->len % VIRTQ_DESC_SIZE ||
        d->len / VIRTQ_DESC_SIZE > GM_VIRTQ_MAX_INDIRECT)
        return virtq_chain_fail(w, -EINVAL, "indirect table length not 1..32768 descriptors");
    if (d->addr > UINT64_MAX - (d->len - 1))
        return virtq_chain_fail(w, -EOVERFLOW, "indirect table wraps 2^64");
    return 0;
}

/* Check an INDIRECT descriptor and walk the table it points to. */
static int chain_indirect(chain_walk *w, const virtq_desc *d)
{
    virtq_area table = { .cache = GM_CACHE_INIT };
    int ret = virtq_chain_indirect_ok(w, d);

    if (ret)
        return ret;
    /* A failed cache leaves the area uncached: reads then report the fault. */
    virtq_area_init(&table, w->vq->as, d->addr, d->len, false);
    ret = chain_walk_table(w, &table, d->len / VIRTQ_DESC_SIZE, 0, true);
    virtq_area_destroy(&table);
    return ret;
}

/*
 * Follow the chain starting at @first in @table of @n entries. At most @n
 * descriptors: one more means a loop.
 */
static int chain_walk_table(chain_walk *w, virtq_area *table, uint32_t n, uint16_t first,
                            bool indirect)
{
    uint32_t i = first;
    virtq_desc d;
    int ret;

    for (uint32_t count = 0;; count++) {
        if (count == n)
            return virtq_chain_fail(w, -ELOOP, indirect ? "indirect chain loops"
                                                  : "chain longer than the queue");
        if (virtq_desc_read(table, i, &d, false) != GM_OK)
            return virtq_chain_fail(w, -EFAULT, indirect ? "indirect descriptor unreadable"
                                                   : "descriptor unreadable");
        if ((d.flags & VIRTQ_DESC_F_INDIRECT) && indirect)
            return virtq_chain_fail(w, -EINVAL, "INDIRECT inside an indirect table");
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return chain_indirect(w, &d);
        ret = virtq_chain_add(w, &d);
        if (ret)
            return ret;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= n)
            return virtq_chain_fail(w, -EINVAL, "next index beyond the table");
        i = d.next;
    }
}

int virtq_chain_read(gm_virtq *vq, uint16_t head, gm_virtq_elem *elem)
{
    chain_walk w;

    virtq_chain_begin(&w, vq, elem, head);
    return chain_walk_table(&w, &vq->desc, vq->size, head, false);
}
