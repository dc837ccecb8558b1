/* SPDX-License-Identifier: MIT */
/*
 * The driver side of one virtqueue, split (virtio 1.1, 2.6) or packed
 * (2.7), as a guest's virtio driver runs it: make buffers available, decide
 * whether the device needs a kick, take used buffers back, and re-arm used
 * notifications (with VIRTIO_F_EVENT_IDX or the flags).
 *
 * Everything the device writes (used ring, packed used descriptors, event
 * suppression areas) is untrusted: a used entry must name a buffer that is
 * in flight, the used index may not move past what was made available,
 * and the driver keeps its own copy of everything it needs to free a chain
 * (descriptor links, chain lengths), never reading them back from shared
 * memory.
 *
 * A ring is owned by one thread (its queue's); nothing here locks.
 *
 * Glossary: num = ring size; slot = the request's number (0..ids-1), which
 * is the packed buffer id and, for split rings, mapped from the head
 * descriptor; buf = one device-visible buffer (address, length, direction).
 */
#ifndef GUESTMEM_BLKPERF_RING_H
#define GUESTMEM_BLKPERF_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bp_wrote.h"

/** struct bp_buf - one buffer: device address (GPA or IOVA), length, device-writable. */
typedef struct bp_buf {
    uint64_t addr;
    uint32_t len;
    bool write;
} bp_buf;

/** struct bp_table - room for an indirect descriptor table. */
typedef struct bp_table {
    void *hva;
    uint64_t addr;
} bp_table;

/** struct bp_used - a used buffer taken back. */
typedef struct bp_used {
    uint16_t slot;
    uint16_t pos;       /* where the device wrote it: used ring entry or descriptor */
    uint32_t len;
    uint32_t raw_id;    /* the id as the device wrote it (for messages) */
} bp_used;

/**
 * struct bp_ring_area - bytes of the ring's memory the device writes.
 * @off, @len: the range, from the start of the ring's memory
 * @kind: what they are (enum bp_wrote_kind)
 * @value: for event fields, their value when read
 */
typedef struct bp_ring_area {
    uint32_t off;
    uint32_t len;
    uint8_t kind;
    uint32_t value;
} bp_ring_area;

#define BP_RING_AREAS 2u

typedef struct bp_ring bp_ring;

typedef struct bp_ring_ops {
    void (*add)(bp_ring *r, uint16_t slot, const bp_buf *bufs, unsigned int n,
                const bp_table *table);
    bool (*kick_needed)(bp_ring *r);
    int (*get_used)(bp_ring *r, bp_used *u);
    bool (*enable_cb)(bp_ring *r);
    uint32_t (*base)(const bp_ring *r, bool restart);
    uint32_t (*used_end)(const bp_ring *r, uint16_t *count);
    int (*check_stopped)(const bp_ring *r, uint32_t base);
    unsigned int (*written)(const bp_ring *r, const bp_used *u, bp_ring_area *area);
    unsigned int (*events)(const bp_ring *r, bp_ring_area *area);
} bp_ring_ops;

/**
 * struct bp_ring - driver state of one ring.
 * @ops: split or packed
 * @num: ring size
 * @ids: number of slots (requests that may be in flight)
 * @event_idx: VIRTIO_F_EVENT_IDX negotiated
 * @mem: the ring's memory (descriptors, then driver area, then device area)
 * @desc, @drv, @dev: host pointers to the three areas
 * @num_free: descriptors free
 * @inflight: buffers made available and not yet used
 * @added: descriptors (packed) or entries (split) added since the last kick check
 * @avail_idx, @last_used: split: free-running indices; packed: positions
 * @avail_wrap, @used_wrap: packed wrap counters
 * @free_head, @next: split free list (private)
 * @head_slot: split: slot of each in-flight head, or -1
 * @chain_len: descriptors used by each slot (split: by each head)
 * @busy: packed: slot in flight
 */
struct bp_ring {
    const bp_ring_ops *ops;
    uint16_t num;
    uint16_t ids;
    bool event_idx;
    void *desc;
    void *drv;
    void *dev;
    uint16_t num_free;
    uint16_t inflight;
    uint16_t added;
    uint16_t avail_idx;
    uint16_t last_used;
    bool avail_wrap;
    bool used_wrap;
    uint16_t free_head;
    uint16_t *next;
    int32_t *head_slot;
    uint16_t *chain_len;
    uint8_t *busy;
};

/** struct bp_ring_layout - byte offsets of the areas in a ring's memory. */
typedef struct bp_ring_layout {
    size_t drv_off;
    size_t dev_off;
    size_t bytes;
} bp_ring_layout;

/** bp_ring_layout_of() - where the areas of a ring of @num lie. */
bp_ring_layout bp_ring_layout_of(bool packed, uint16_t num);

/**
 * bp_ring_init() - set up a ring over zeroed memory @mem.
 * @r: the ring
 * @packed: layout
 * @num: ring size (a power of two for split rings)
 * @ids: slots
 * @event_idx: VIRTIO_F_EVENT_IDX negotiated
 * @mem: bp_ring_layout_of() bytes, zeroed
 *
 * Return: 0 or -ENOMEM.
 */
int bp_ring_init(bp_ring *r, bool packed, uint16_t num, uint16_t ids, bool event_idx, void *mem);

/** bp_ring_destroy() - free the private arrays. */
void bp_ring_destroy(bp_ring *r);

/** bp_ring_has_room() - whether @ndesc descriptors are free. */
static inline bool bp_ring_has_room(const bp_ring *r, unsigned int ndesc)
{
    return r->num_free >= ndesc;
}

/**
 * bp_ring_add() - make one request available.
 * @slot: its slot (not in flight)
 * @bufs: its @n buffers, in order (device-readable ones first)
 * @table: room for @n indirect descriptors, or NULL for a direct chain
 *
 * The caller checked bp_ring_has_room() (1 descriptor with a table, @n
 * without). The buffer is visible to the device when this returns.
 */
static inline void bp_ring_add(bp_ring *r, uint16_t slot, const bp_buf *bufs, unsigned int n,
                               const bp_table *table)
{
    r->ops->add(r, slot, bufs, n, table);
}

/** bp_ring_kick_needed() - whether the device asked to be kicked for what was added. */
static inline bool bp_ring_kick_needed(bp_ring *r)
{
    return r->ops->kick_needed(r);
}

/**
 * bp_ring_get_used() - take back the next used buffer.
 * @u: the slot and length
 *
 * Return: 1 with @u filled, 0 when none is used, -EPROTO when the device
 * used an id that is not in flight (@u->raw_id says which), -ERANGE when
 * the split used index moved past what is in flight.
 */
static inline int bp_ring_get_used(bp_ring *r, bp_used *u)
{
    return r->ops->get_used(r, u);
}

/**
 * bp_ring_enable_cb() - ask for a notification at the next used buffer.
 * Return: true if a used buffer is already there (reap instead of sleeping).
 */
static inline bool bp_ring_enable_cb(bp_ring *r)
{
    return r->ops->enable_cb(r);
}

/**
 * bp_ring_base() - the vring base in vhost-user's encoding.
 * @restart: false: what GET_VRING_BASE must return once everything made
 *           available was used (the next available index); true: what to
 *           give SET_VRING_BASE when (re)starting the ring (the used index
 *           in the ring, as QEMU restores it after a back-end crash)
 */
static inline uint32_t bp_ring_base(const bp_ring *r, bool restart)
{
    return r->ops->base(r, restart);
}

/**
 * bp_ring_used_end() - how far the device's used side is, without taking
 * anything: the position after the last used buffer not yet taken back,
 * in vhost-user's base encoding (split: the used index; packed: position
 * | wrap counter << 15), and in @count how many buffers that is (at most
 * the buffers in flight; a device that wrote nonsense is stopped at, and
 * found out by bp_ring_get_used()).
 */
static inline uint32_t bp_ring_used_end(const bp_ring *r, uint16_t *count)
{
    return r->ops->used_end(r, count);
}

/**
 * bp_ring_check_stopped() - whether the state GET_VRING_BASE returned
 * (@base) is that of a device that used every buffer it took: split, the
 * used index equals @base; packed, both halves of @base are the same
 * position and the used descriptors reach it.
 *
 * Return: 0; -ERANGE when @base lies beyond what the driver made
 * available; -EINPROGRESS when the device took buffers it did not use.
 */
static inline int bp_ring_check_stopped(const bp_ring *r, uint32_t base)
{
    return r->ops->check_stopped(r, base);
}

/**
 * bp_ring_written() - the bytes of ring memory the device wrote to use @u
 * (split: its used ring entry and the used index; packed: its used
 * descriptor).
 * @area: at least BP_RING_AREAS entries
 * Return: how many.
 */
static inline unsigned int bp_ring_written(const bp_ring *r, const bp_used *u,
                                           bp_ring_area *area)
{
    return r->ops->written(r, u, area);
}

/**
 * bp_ring_events() - the device's notification fields and their current
 * values (split: the used ring's flags and, with event index,
 * avail_event; packed: the device event suppression area).
 * @area: at least BP_RING_AREAS entries
 * Return: how many.
 */
static inline unsigned int bp_ring_events(const bp_ring *r, bp_ring_area *area)
{
    return r->ops->events(r, area);
}

/* the two layouts (bp_ring_split.c, bp_ring_packed.c) */
extern const bp_ring_ops bp_ring_split_ops;
extern const bp_ring_ops bp_ring_packed_ops;
void bp_ring_split_init(bp_ring *r);
void bp_ring_packed_init(bp_ring *r);

/* "new passed event": the device asked for a notification at @event (virtio 1.1, 2.6.7.2) */
static inline bool bp_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
