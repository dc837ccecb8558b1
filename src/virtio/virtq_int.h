/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue object and what its files share (internal).
 *
 * Files: virtq.c (lifecycle, indices, pop, push), virtq_chain.c (walking and
 * validating a descriptor chain), virtq_notify.c (notification suppression
 * and event indices), virtq_copy.c (copying to and from an element),
 * virtq_iov.c (mapping an element into iovecs), virtq_log.c (breaking the
 * queue and reporting), virtq_area.c (ring memory and ordering).
 *
 * Invariants: size is a power of two in [1, GM_VIRTQ_MAX_SIZE]; the rings'
 * guest ranges do not wrap 2^64; max_chain_bytes <= UINT32_MAX; error is 0
 * exactly while the queue is not broken.
 */
#ifndef GUESTMEM_VIRTIO_VIRTQ_INT_H
#define GUESTMEM_VIRTIO_VIRTQ_INT_H

#include <guestmem/virtq.h>

#include "virtio/virtq_area.h"

/* Ring layout (virtio 1.x, 2.7.5 / 2.7.6 / 2.7.8). */
#define VIRTQ_DESC_SIZE 16u
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u
#define VIRTQ_AVAIL_OFF_FLAGS 0u
#define VIRTQ_AVAIL_OFF_IDX 2u
#define VIRTQ_AVAIL_OFF_RING 4u
#define VIRTQ_USED_OFF_FLAGS 0u
#define VIRTQ_USED_OFF_IDX 2u
#define VIRTQ_USED_OFF_RING 4u
#define VIRTQ_USED_ELEM_SIZE 8u

/* A ring descriptor as the driver wrote it (packed: kept for in-flight
 * tracking, gm_virtq_packed_last_chain()). */
typedef gm_virtq_desc virtq_desc_copy;

/*
 * struct gm_virtq - one split virtqueue, device side.
 * @as: where rings and buffers live
 * @size: queue size
 * @features: negotiated GM_VIRTIO_F_* bits
 * @max_chain_bytes: bound on a chain's total length
 * @desc, @avail, @used: the three rings
 * @last_avail_idx: next available-ring slot to pop
 * @shadow_avail_idx: avail->idx as last read (validated: at most @size ahead)
 * @used_idx: next used-ring slot; what used->idx holds once published
 * @signalled_used: @used_idx at the previous should_notify (event index)
 * @signalled_used_valid: @signalled_used may be compared against
 * @used_flags: what we last wrote to used->flags
 * With GM_VIRTIO_F_RING_PACKED, @desc is the descriptor ring, @avail the
 * driver event suppression area and @used the device's; @last_avail_idx
 * and @used_idx are ring positions below @size with their wrap counters.
 * @error: negative errno that broke the queue, or 0
 * @log_fn, @log_opaque: the log hook (NULL: stderr)
 * @transient, @transient_opaque: gm_virtq_set_transient()'s hook, or NULL
 * @log_window_ns, @log_in_window, @log_suppressed: rate limit of non-breaking reports
 */
struct gm_virtq {
    gm_as *as;
    unsigned int size;
    uint64_t features;
    uint32_t max_chain_bytes;
    gm_addr desc_addr, avail_addr, used_addr;
    virtq_area desc, avail, used;
    uint16_t last_avail_idx;
    uint16_t shadow_avail_idx;
    uint16_t used_idx;
    uint16_t signalled_used;
    bool signalled_used_valid;
    uint16_t used_flags;
    bool packed;                  /* GM_VIRTIO_F_RING_PACKED */
    bool avail_wrap, used_wrap;   /* packed: ring wrap counters */
    uint16_t *id_descs;           /* packed: descriptors per buffer id in flight, 0 = free */
    virtq_desc_copy *last_chain;  /* packed: the ring descriptors the last pop took */
    unsigned int last_chain_len;
    bool last_resubmitted;        /* packed: the last chain taken came from saved copies */
    int error;
    gm_log_fn log_fn;
    void *log_opaque;
    bool (*transient)(void *opaque);
    void *transient_opaque;
    uint64_t log_window_ns;
    unsigned int log_in_window;
    unsigned long log_suppressed;
};

static inline bool virtq_has(const gm_virtq *vq, uint64_t feature)
{
    return (vq->features & feature) != 0;
}

/* Offsets of the event-index fields, past the rings proper. */
static inline uint64_t virtq_used_event_off(const gm_virtq *vq)
{
    return VIRTQ_AVAIL_OFF_RING + 2ull * vq->size;
}

static inline uint64_t virtq_avail_event_off(const gm_virtq *vq)
{
    return VIRTQ_USED_OFF_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * vq->size;
}

/* virtq_log.c */
int virtq_break(gm_virtq *vq, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void virtq_report(gm_virtq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* virtq.c */
int virtq_fetch_avail_idx(gm_virtq *vq);

/* virtq_chain.c: one descriptor, decoded (split and packed share it). */
typedef struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;   /* split: next index; packed: buffer id */
} virtq_desc;

/* A chain being collected into an element. */
typedef struct chain_walk {
    gm_virtq *vq;
    gm_virtq_elem *elem;
    uint64_t total;
} chain_walk;

/* Descriptor @i of @table, one 16-byte read, decoded for either layout. */
gm_result virtq_desc_read(virtq_area *table, uint32_t i, virtq_desc *d, bool packed);
int virtq_chain_read(gm_virtq *vq, uint16_t head, gm_virtq_elem *elem);
void virtq_chain_begin(chain_walk *w, gm_virtq *vq, gm_virtq_elem *elem, uint16_t head);
/* Validate @d and append it to the element (breaks the queue on error). */
int virtq_chain_add(chain_walk *w, const virtq_desc *d);
/* Break the queue, naming the chain. Returns @err. */
int virtq_chain_fail(chain_walk *w, int err, const char *what);
/* Feature, NEXT, length (1..32768 whole descriptors) and wrap checks of an
 * INDIRECT descriptor. */
int virtq_chain_indirect_ok(chain_walk *w, const virtq_desc *d);

/* virtq_packed.c: the packed layout (virtio 1.1+, 2.8) behind the same API. */
int virtq_packed_init(gm_virtq *vq);
int virtq_packed_has_work(gm_virtq *vq);
int virtq_packed_pop(gm_virtq *vq, gm_virtq_elem *elem);
void virtq_packed_unpop(gm_virtq *vq, uint16_t id);
int virtq_packed_push(gm_virtq *vq, uint16_t id, uint32_t len);
bool virtq_packed_should_notify(gm_virtq *vq);
int virtq_packed_set_notification(gm_virtq *vq, bool enable);
void virtq_packed_free(gm_virtq *vq);
uint32_t virtq_packed_get_base(const gm_virtq *vq);
void virtq_packed_set_base(gm_virtq *vq, uint32_t base);

#endif
