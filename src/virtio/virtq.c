/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue: lifecycle, ring indices, pop and push.
 *
 * The device side of virtio 1.x section 2.7. The driver owns the descriptor
 * table and the available ring; the device owns the used ring. Four 16-bit
 * indices (free-running, compared modulo 2^16) describe the state:
 *
 *   used_idx <= last_avail_idx <= shadow_avail_idx <= avail->idx (in guest memory)
 *
 * (each "<=" modulo 2^16, at most size apart). last_avail_idx - used_idx
 * chains are in flight in the device. shadow_avail_idx is avail->idx as last
 * read and validated: a jump of more than size is the driver's error and
 * breaks the queue (-EPROTO), so pop never reads a slot the driver has not
 * published.
 *
 * Everything read from guest memory is validated before use; a failure
 * breaks the queue through virtq_break() (virtq_log.c), after which the
 * entry points return -EIO. The descriptor chain itself is walked in
 * virtq_chain.c, notification state lives in virtq_notify.c.
 *
 * Glossary: vq = the queue, elem = one popped chain, head = the chain's
 * first descriptor index, slot = a ring position (index & (size - 1)).
 * Locking: none; a queue is used by one thread at a time (virtq.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "virtio/virtq_int.h"

static uint64_t ring_event_bytes(const gm_virtq_config *cfg)
{
    return (cfg->features & GM_VIRTIO_F_EVENT_IDX) ? 2 : 0;
}

static uint64_t desc_bytes(unsigned int size)
{
    return (uint64_t)VIRTQ_DESC_SIZE * size;
}

/* Packed queues: the driver and device areas are 4-byte event structures. */
#define PACKED_EVENT_BYTES 4u

static bool is_packed(const gm_virtq_config *cfg)
{
    return cfg->features & GM_VIRTIO_F_RING_PACKED;
}

static uint64_t avail_bytes(const gm_virtq_config *cfg)
{
    if (is_packed(cfg))
        return PACKED_EVENT_BYTES;
    return VIRTQ_AVAIL_OFF_RING + 2ull * cfg->size + ring_event_bytes(cfg);
}

static uint64_t used_bytes(const gm_virtq_config *cfg)
{
    if (is_packed(cfg))
        return PACKED_EVENT_BYTES;
    return VIRTQ_USED_OFF_RING + (uint64_t)VIRTQ_USED_ELEM_SIZE * cfg->size +
           ring_event_bytes(cfg);
}

/* [addr, addr + bytes) is aligned to @align and does not wrap 2^64. */
static bool ring_range_ok(gm_addr addr, uint64_t bytes, uint64_t align)
{
    return !(addr & (align - 1)) && addr <= UINT64_MAX - (bytes - 1);
}

static bool config_ok(const gm_virtq_config *cfg)
{
    unsigned int n = cfg->size;

    /* Packed rings may have any size; split rings a power of two. */
    if (!n || n > GM_VIRTQ_MAX_SIZE || (!is_packed(cfg) && (n & (n - 1))))
        return false;
    return ring_range_ok(cfg->desc_addr, desc_bytes(n), 16) &&
           ring_range_ok(cfg->avail_addr, avail_bytes(cfg), is_packed(cfg) ? 4 : 2) &&
           ring_range_ok(cfg->used_addr, used_bytes(cfg), 4);
}

int gm_virtq_refresh(gm_virtq *vq)
{
    gm_virtq_config cfg = { .size = vq->size, .features = vq->features };
    int failed = 0;

    failed += virtq_area_init(&vq->desc, vq->as, vq->desc_addr, desc_bytes(vq->size),
                              vq->packed) < 0;
    failed += virtq_area_init(&vq->avail, vq->as, vq->avail_addr, avail_bytes(&cfg), false) < 0;
    failed += virtq_area_init(&vq->used, vq->as, vq->used_addr, used_bytes(&cfg), true) < 0;
    return failed ? -EFAULT : 0;
}

/* Pick up the device-owned state a previous backend may have left. */
static int virtq_load_used(gm_virtq *vq)
{
    gm_result r = virtq_area_read16(&vq->used, VIRTQ_USED_OFF_IDX, &vq->used_idx);

    r |= virtq_area_read16(&vq->used, VIRTQ_USED_OFF_FLAGS, &vq->used_flags);
    return r == GM_OK ? 0 : -EFAULT;
}

int gm_virtq_new(gm_as *as, const gm_virtq_config *cfg, gm_virtq **pvq)
{
    gm_virtq *vq;
    int ret;

    if (!as || !cfg || !pvq || !config_ok(cfg))
        return -EINVAL;
    vq = calloc(1, sizeof(*vq));
    if (!vq)
        return -ENOMEM;
    vq->as = as;
    vq->size = cfg->size;
    vq->features = cfg->features;
    vq->max_chain_bytes = cfg->max_chain_bytes ? cfg->max_chain_bytes
                                               : GM_VIRTQ_DEFAULT_MAX_CHAIN_BYTES;
    vq->desc_addr = cfg->desc_addr;
    vq->avail_addr = cfg->avail_addr;
    vq->used_addr = cfg->used_addr;
    vq->packed = is_packed(cfg);
    gm_virtq_refresh(vq);
    ret = vq->packed ? virtq_packed_init(vq) : virtq_load_used(vq);
    if (ret) {
        gm_virtq_free(vq);
        return ret;
    }
    *pvq = vq;
    return 0;
}

void gm_virtq_free(gm_virtq *vq)
{
    if (!vq)
        return;
    virtq_area_destroy(&vq->desc);
    virtq_area_destroy(&vq->avail);
    virtq_area_destroy(&vq->used);
    virtq_packed_free(vq);
    free(vq);
}

void gm_virtq_set_log(gm_virtq *vq, gm_log_fn fn, void *opaque)
{
    vq->log_fn = fn;
    vq->log_opaque = opaque;
}

void gm_virtq_set_transient(gm_virtq *vq, bool (*fn)(void *opaque), void *opaque)
{
    vq->transient = fn;
    vq->transient_opaque = opaque;
}

void gm_virtq_unpop(gm_virtq *vq, const gm_virtq_elem *elem)
{
    if (vq->packed)
        virtq_packed_unpop(vq, (uint16_t)elem->head);
    else
        vq->last_avail_idx--;
}

unsigned int gm_virtq_size(const gm_virtq *vq)
{
    return vq->size;
}

uint16_t gm_virtq_get_last_avail_idx(const gm_virtq *vq)
{
    if (vq->packed)
        return (uint16_t)virtq_packed_get_base(vq);
    return vq->last_avail_idx;
}

uint32_t gm_virtq_get_base(const gm_virtq *vq)
{
    return vq->packed ? virtq_packed_get_base(vq) : vq->last_avail_idx;
}

void gm_virtq_set_base(gm_virtq *vq, uint32_t base)
{
    if (vq->packed)
        virtq_packed_set_base(vq, base);
    else
        gm_virtq_set_last_avail_idx(vq, (uint16_t)base);
}

void gm_virtq_set_last_avail_idx(gm_virtq *vq, uint16_t idx)
{
    if (vq->packed) {
        virtq_packed_set_base(vq, idx);
        return;
    }
    vq->last_avail_idx = idx;
    vq->shadow_avail_idx = idx;
    vq->signalled_used_valid = false;
}

uint16_t gm_virtq_get_used_idx(const gm_virtq *vq)
{
    if (vq->packed)
        return (uint16_t)(virtq_packed_get_base(vq) >> 16);
    return vq->used_idx;
}

unsigned int gm_virtq_device_areas(const gm_virtq *vq, gm_virtq_range area[GM_VIRTQ_DEVICE_AREAS])
{
    gm_virtq_config cfg = { .size = vq->size, .features = vq->features };

    area[0] = (gm_virtq_range){ vq->used_addr, used_bytes(&cfg) };
    if (!vq->packed)
        return 1;
    /* Packed: used descriptors are written back into the descriptor ring. */
    area[1] = (gm_virtq_range){ vq->desc_addr, desc_bytes(vq->size) };
    return 2;
}

bool gm_virtq_is_broken(const gm_virtq *vq)
{
    return vq->error != 0;
}

int gm_virtq_error(const gm_virtq *vq)
{
    return vq->error;
}

/*
 * Read avail->idx (acquire: the ring entries and descriptors it publishes
 * are read after it) and validate it. Return the number of chains
 * available, or a negative errno after breaking the queue.
 */
int virtq_fetch_avail_idx(gm_virtq *vq)
{
    uint16_t idx, n;

    if (virtq_area_load16_acquire(&vq->avail, VIRTQ_AVAIL_OFF_IDX, &idx) != GM_OK)
        return virtq_break(vq, -EFAULT, "available ring at 0x%" PRIx64 " unreadable",
                           vq->avail_addr);
    n = (uint16_t)(idx - vq->last_avail_idx);
    if (n > vq->size)
        return virtq_break(vq, -EPROTO, "avail->idx %u is %u ahead of %u", idx, n,
                           vq->last_avail_idx);
    vq->shadow_avail_idx = idx;
    return n;
}

int gm_virtq_has_work(gm_virtq *vq)
{
    int n;

    if (vq->error)
        return -EIO;
    if (vq->packed)
        return virtq_packed_has_work(vq);
    if (vq->shadow_avail_idx != vq->last_avail_idx)
        return 1;
    n = virtq_fetch_avail_idx(vq);
    return n < 0 ? n : n > 0;
}

/* The head index the driver put in the next available slot. */
static int virtq_read_head(gm_virtq *vq, uint16_t *head)
{
    uint64_t off = VIRTQ_AVAIL_OFF_RING + 2ull * (vq->last_avail_idx & (vq->size - 1));

    if (virtq_area_read16(&vq->avail, off, head) != GM_OK)
        return virtq_break(vq, -EFAULT, "available ring entry unreadable");
    if (*head >= vq->size)
        return virtq_break(vq, -EINVAL, "head index %u >= queue size", *head);
    return 0;
}

int gm_virtq_pop(gm_virtq *vq, gm_virtq_elem *elem)
{
    uint16_t head;
    int ret;

    if (vq->error)
        return -EIO;
    if (!elem || !elem->seg || !elem->seg_max)
        return -EINVAL;
    if (vq->packed)
        return virtq_packed_pop(vq, elem);
    ret = gm_virtq_has_work(vq);
    if (ret <= 0)
        return ret;
    ret = virtq_read_head(vq, &head);
    if (!ret)
        ret = virtq_chain_read(vq, head, elem);
    if (ret)
        return ret;
    vq->last_avail_idx++;
    return 1;
}

int gm_virtq_read_chain(gm_virtq *vq, uint16_t head, gm_virtq_elem *elem)
{
    int ret;

    if (vq->error)
        return -EIO;
    if (!elem || !elem->seg || !elem->seg_max || vq->packed || head >= vq->size)
        return -EINVAL;
    ret = virtq_chain_read(vq, head, elem);
    return ret ? ret : 1;
}

/* Write used->ring[used_idx] = { head, len }. */
static int virtq_write_used_elem(gm_virtq *vq, uint16_t head, uint32_t len)
{
    uint64_t off = VIRTQ_USED_OFF_RING +
                   (uint64_t)VIRTQ_USED_ELEM_SIZE * (vq->used_idx & (vq->size - 1));
    uint32_t e[2] = { virtq_le32(head), virtq_le32(len) };

    if (virtq_area_write(&vq->used, off, e, sizeof(e)) != GM_OK)
        return virtq_break(vq, -EFAULT, "used ring at 0x%" PRIx64 " not writable",
                           vq->used_addr);
    return 0;
}

int gm_virtq_push(gm_virtq *vq, uint16_t head, uint32_t len)
{
    uint16_t old = vq->used_idx;
    int ret;

    if (vq->error)
        return -EIO;
    if (vq->packed)
        return virtq_packed_push(vq, head, len);
    if (head >= vq->size || vq->used_idx == vq->last_avail_idx)
        return -EINVAL;
    ret = virtq_write_used_elem(vq, head, len);
    if (ret)
        return ret;
    /* Release: the used element and the buffer data before the index. */
    if (virtq_area_store16_release(&vq->used, VIRTQ_USED_OFF_IDX, (uint16_t)(old + 1)) != GM_OK)
        return virtq_break(vq, -EFAULT, "used->idx not writable");
    vq->used_idx = (uint16_t)(old + 1);
    /* 2^15 pushes without a should_notify: the event-index window is lost. */
    if ((int16_t)(vq->used_idx - vq->signalled_used) < (uint16_t)(vq->used_idx - old))
        vq->signalled_used_valid = false;
    return 0;
}

int gm_virtq_push_elem(gm_virtq *vq, const gm_virtq_elem *elem, uint32_t len)
{
    if (vq->error)
        return -EIO;
    if (!elem || len > elem->in_len)
        return -EINVAL;
    return gm_virtq_push(vq, elem->head, len);
}
