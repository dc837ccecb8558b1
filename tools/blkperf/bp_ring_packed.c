/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueue, driver side (virtio 1.1, 2.7).
 *
 * A descriptor is available when its AVAIL bit equals the driver's wrap
 * counter and its USED bit differs; used when both equal the device's wrap
 * counter. A chain's later descriptors are written first and its head's
 * flags last, with a release store, so the device never sees a partial
 * chain. Each descriptor of a chain carries the slot as buffer id; the
 * device writes one used descriptor per buffer, and the driver then skips
 * as many positions as that buffer had descriptors (its private record,
 * not anything the device wrote).
 *
 * Event suppression: the driver area is the driver's (DESC with the next
 * used position when VIRTIO_F_EVENT_IDX, else ENABLE); the device area is
 * the device's and is read, after a full fence, to decide on kicks.
 *
 * Glossary: avail_idx/avail_wrap = next position to fill and its wrap
 * counter; last_used/used_wrap = next position to look at for a used
 * descriptor; added = descriptors made available since the last kick check.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "bp_proto.h"
#include "bp_ring.h"

static vring_packed_desc *ring(bp_ring *r) { return r->desc; }
static vring_event *driver_event(bp_ring *r) { return r->drv; }
static vring_event *device_event(bp_ring *r) { return r->dev; }

static uint16_t off_wrap(uint16_t pos, bool wrap)
{
    return (uint16_t)(pos | (wrap ? 0x8000u : 0));
}

void bp_ring_packed_init(bp_ring *r)
{
    r->ops = &bp_ring_packed_ops;
    r->avail_wrap = true;
    r->used_wrap = true;
    driver_event(r)->off_wrap = off_wrap(0, true);
    driver_event(r)->flags = r->event_idx ? VRING_EVENT_F_DESC : VRING_EVENT_F_ENABLE;
}

static uint16_t avail_flags(const bp_buf *b, bool wrap, bool more)
{
    uint16_t f = wrap ? VRING_PACKED_F_AVAIL : VRING_PACKED_F_USED;

    if (b->write)
        f |= VRING_DESC_F_WRITE;
    return (uint16_t)(f | (more ? VRING_DESC_F_NEXT : 0));
}

/* Advance a position, flipping the wrap counter at the end of the ring. */
static void step(const bp_ring *r, uint16_t *pos, bool *wrap)
{
    if (++*pos == r->num) {
        *pos = 0;
        *wrap = !*wrap;
    }
}

/* Write the @n descriptors of a chain; return the head's flags (not yet stored). */
static uint16_t write_chain(bp_ring *r, uint16_t slot, const bp_buf *bufs, unsigned int n)
{
    uint16_t pos = r->avail_idx, head_flags = 0;
    bool wrap = r->avail_wrap;

    for (unsigned int i = 0; i < n; i++) {
        vring_packed_desc *d = &ring(r)[pos];
        uint16_t flags = avail_flags(&bufs[i], wrap, i + 1 < n);

        d->addr = bufs[i].addr;
        d->len = bufs[i].len;
        d->id = slot;
        if (i)
            __atomic_store_n(&d->flags, flags, __ATOMIC_RELAXED);
        else
            head_flags = flags;
        step(r, &pos, &wrap);
    }
    r->avail_idx = pos;
    r->avail_wrap = wrap;
    return head_flags;
}

/* Indirect: the table holds the buffers; only WRITE is valid in it. */
static void write_table(const bp_buf *bufs, unsigned int n, const bp_table *t)
{
    vring_packed_desc *table = t->hva;

    for (unsigned int i = 0; i < n; i++) {
        table[i].addr = bufs[i].addr;
        table[i].len = bufs[i].len;
        table[i].id = 0;
        table[i].flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;
    }
}

static void packed_add(bp_ring *r, uint16_t slot, const bp_buf *bufs, unsigned int n,
                       const bp_table *table)
{
    uint16_t head = r->avail_idx, count = table ? 1 : (uint16_t)n, flags;

    if (table) {
        bp_buf ind = { table->addr, n * (uint32_t)sizeof(vring_packed_desc), false };

        write_table(bufs, n, table);
        flags = (uint16_t)(write_chain(r, slot, &ind, 1) | VRING_DESC_F_INDIRECT);
    } else {
        flags = write_chain(r, slot, bufs, n);
    }
    r->chain_len[slot] = count;
    r->busy[slot] = 1;
    r->num_free = (uint16_t)(r->num_free - count);
    r->inflight++;
    r->added = (uint16_t)(r->added + count);
    __atomic_store_n(&ring(r)[head].flags, flags, __ATOMIC_RELEASE);
}

static bool packed_kick_needed(bp_ring *r)
{
    uint16_t new_pos = r->avail_idx, old_pos = (uint16_t)(new_pos - r->added);
    uint16_t flags, ow, event;

    r->added = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    flags = __atomic_load_n(&device_event(r)->flags, __ATOMIC_RELAXED);
    if (flags == VRING_EVENT_F_DISABLE)
        return false;
    if (flags != VRING_EVENT_F_DESC || !r->event_idx)
        return true;
    ow = __atomic_load_n(&device_event(r)->off_wrap, __ATOMIC_RELAXED);
    event = ow & 0x7fffu;
    /* an event position in the previous lap lies "num" below this one */
    if (!!(ow & 0x8000u) != r->avail_wrap)
        event = (uint16_t)(event - r->num);
    return bp_need_event(event, new_pos, old_pos);
}

static bool desc_is_used(const bp_ring *r, uint16_t pos, bool wrap)
{
    const vring_packed_desc *d = r->desc;
    uint16_t f = __atomic_load_n(&d[pos].flags, __ATOMIC_ACQUIRE);
    bool avail = f & VRING_PACKED_F_AVAIL, used = f & VRING_PACKED_F_USED;

    return avail == used && used == wrap;
}

static int packed_get_used(bp_ring *r, bp_used *u)
{
    vring_packed_desc *d = &ring(r)[r->last_used];
    uint16_t id;

    if (!r->inflight || !desc_is_used(r, r->last_used, r->used_wrap))
        return 0;
    id = d->id;
    u->raw_id = id;
    if (id >= r->ids || !r->busy[id])
        return -EPROTO;
    u->slot = id;
    u->pos = r->last_used;
    u->len = d->len;
    for (uint16_t i = 0; i < r->chain_len[id]; i++)
        step(r, &r->last_used, &r->used_wrap);
    r->busy[id] = 0;
    r->num_free = (uint16_t)(r->num_free + r->chain_len[id]);
    r->inflight--;
    return 1;
}

static bool packed_enable_cb(bp_ring *r)
{
    if (r->event_idx) {
        __atomic_store_n(&driver_event(r)->off_wrap, off_wrap(r->last_used, r->used_wrap),
                         __ATOMIC_RELAXED);
        __atomic_store_n(&driver_event(r)->flags, VRING_EVENT_F_DESC, __ATOMIC_RELEASE);
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return r->inflight && desc_is_used(r, r->last_used, r->used_wrap);
}

/*
 * QEMU's encoding: avail position and wrap in bits 0-15, used in 16-31. A
 * (re)start resumes at the used position for both, as QEMU restores a
 * packed ring (on a fresh ring both are position 0, wrap counter 1).
 */
static uint32_t packed_base(const bp_ring *r, bool restart)
{
    uint16_t used = off_wrap(r->last_used, r->used_wrap);

    return (restart ? used : off_wrap(r->avail_idx, r->avail_wrap)) | (uint32_t)used << 16;
}

/*
 * Walk the used descriptors not yet taken, as packed_get_used() would take
 * them, without taking them: the first one that is not used, or names a
 * buffer not in flight, ends the walk.
 */
static uint32_t packed_used_end(const bp_ring *r, uint16_t *count)
{
    const vring_packed_desc *d = r->desc;
    uint16_t pos = r->last_used, n = 0;
    bool wrap = r->used_wrap;

    while (n < r->inflight && desc_is_used(r, pos, wrap)) {
        uint16_t id = d[pos].id;

        if (id >= r->ids || !r->busy[id])
            break;
        for (uint16_t i = 0; i < r->chain_len[id]; i++)
            step(r, &pos, &wrap);
        n++;
    }
    *count = n;
    return off_wrap(pos, wrap);
}

/* Descriptors from the next one to take back to position @ow (pos | wrap << 15). */
static uint32_t distance_to(const bp_ring *r, uint16_t ow)
{
    uint16_t pos = ow & 0x7fffu;
    bool wrap = ow & 0x8000u;

    if (wrap == r->used_wrap)
        return pos >= r->last_used ? (uint32_t)(pos - r->last_used) : UINT32_MAX;
    return (uint32_t)r->num - r->last_used + pos;
}

/* QEMU's encoding: both halves are the same position when all taken was used. */
static int packed_check_stopped(const bp_ring *r, uint32_t base)
{
    uint16_t avail = base & 0xffffu, used = (uint16_t)(base >> 16), n;

    if ((avail & 0x7fffu) >= r->num || distance_to(r, avail) > (uint32_t)(r->num - r->num_free))
        return -ERANGE;
    if (avail != used || packed_used_end(r, &n) != used)
        return -EINPROGRESS;
    return 0;
}

static unsigned int packed_written(const bp_ring *r, const bp_used *u, bp_ring_area *area)
{
    (void)r;
    area[0] = (bp_ring_area){ 16u * u->pos, sizeof(vring_packed_desc), BP_WROTE_USED_DESC,
                              u->pos };
    return 1;
}

static unsigned int packed_events(const bp_ring *r, bp_ring_area *area)
{
    const vring_event *ev = r->dev;
    uint32_t v = __atomic_load_n(&ev->off_wrap, __ATOMIC_RELAXED) |
                 (uint32_t)__atomic_load_n(&ev->flags, __ATOMIC_RELAXED) << 16;

    area[0] = (bp_ring_area){ (uint32_t)((const uint8_t *)r->dev - (const uint8_t *)r->desc),
                              sizeof(vring_event), BP_WROTE_DEVICE_EVENT, v };
    return 1;
}

const bp_ring_ops bp_ring_packed_ops = {
    .add = packed_add,
    .kick_needed = packed_kick_needed,
    .get_used = packed_get_used,
    .enable_cb = packed_enable_cb,
    .base = packed_base,
    .used_end = packed_used_end,
    .check_stopped = packed_check_stopped,
    .written = packed_written,
    .events = packed_events,
};
