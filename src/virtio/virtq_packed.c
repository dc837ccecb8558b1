/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueue (virtio 1.1+, section 2.8), device side.
 *
 * One ring of 16-byte descriptors {addr, len, id, flags} that both sides
 * write: the driver makes a descriptor available by setting its AVAIL flag
 * to its wrap counter and USED to the opposite; the device marks a buffer
 * used by writing {id, len} into the next used position with AVAIL and USED
 * both equal to its own wrap counter. Each side keeps a position below the
 * queue size and a wrap counter that flips when the position wraps.
 *
 * A chain is consecutive ring descriptors linked by NEXT (wrapping at the
 * end of the ring); its buffer id is the id of its last descriptor. A
 * single descriptor may instead be INDIRECT: a table of packed descriptors,
 * all used, in order (NEXT ignored). Pushing a buffer advances the used
 * position by as many descriptors as its chain had, so the device keeps,
 * per buffer id in flight, that count (@id_descs): a push of an id not in
 * flight is refused, a pop that reuses an id still in flight breaks the
 * queue, which bounds the in-flight state by the queue size.
 *
 * Event suppression: the driver area (@avail) holds the driver's wishes
 * {off_wrap, flags} for interrupts, the device area (@used) ours for kicks:
 * flags ENABLE, DISABLE, or DESC (with VIRTIO_F_EVENT_IDX) meaning "at the
 * position off_wrap".
 *
 * Everything the driver wrote is read once into a local copy and validated
 * as for split queues (virtq_chain.c); a failure breaks the queue.
 * Locking: none; the queue's thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtq_int.h"

#define PACKED_F_AVAIL (1u << 7)
#define PACKED_F_USED (1u << 15)
#define PACKED_OFF_LEN 8u
#define PACKED_OFF_ID 12u
#define PACKED_OFF_FLAGS 14u
#define EVENT_OFF_WRAP 0u
#define EVENT_OFF_FLAGS 2u
#define EVENT_ENABLE 0u
#define EVENT_DISABLE 1u
#define EVENT_DESC 2u
#define WRAP_BIT 15u

int virtq_packed_init(gm_virtq *vq)
{
    vq->id_descs = calloc(vq->size, sizeof(*vq->id_descs));
    vq->last_chain = calloc(vq->size, sizeof(*vq->last_chain));
    vq->avail_wrap = true;
    vq->used_wrap = true;
    return vq->id_descs && vq->last_chain ? 0 : -ENOMEM;
}

void virtq_packed_free(gm_virtq *vq)
{
    free(vq->id_descs);
    free(vq->last_chain);
}

static bool desc_available(uint16_t flags, bool wrap)
{
    return !!(flags & PACKED_F_AVAIL) == wrap && !!(flags & PACKED_F_USED) != wrap;
}

int virtq_packed_has_work(gm_virtq *vq)
{
    uint16_t flags;

    if (virtq_area_load16_acquire(&vq->desc, (uint64_t)vq->last_avail_idx * VIRTQ_DESC_SIZE +
                                                 PACKED_OFF_FLAGS, &flags) != GM_OK)
        return virtq_break(vq, -EFAULT, "descriptor ring at 0x%" PRIx64 " unreadable",
                           vq->desc_addr);
    return desc_available(flags, vq->avail_wrap);
}

/* Every descriptor of the indirect table @d points to, in order. */
static int packed_indirect(chain_walk *w, const virtq_desc *d)
{
    virtq_area table = { .cache = GM_CACHE_INIT };
    uint32_t n = d->len / VIRTQ_DESC_SIZE;
    int ret = virtq_chain_indirect_ok(w, d);

    if (ret)
        return ret;
    virtq_area_init(&table, w->vq->as, d->addr, d->len, false);
    for (uint32_t i = 0; i < n && !ret; i++) {
        virtq_desc e;

        if (virtq_desc_read(&table, i, &e, true) != GM_OK)
            ret = virtq_chain_fail(w, -EFAULT, "indirect descriptor unreadable");
        else if (e.flags & VIRTQ_DESC_F_INDIRECT)
            ret = virtq_chain_fail(w, -EINVAL, "INDIRECT inside an indirect table");
        else
            ret = virtq_chain_add(w, &e);
    }
    virtq_area_destroy(&table);
    return ret;
}

/*
 * Collect the chain at the available position into @elem; on success
 * *@pos and *@wrap are the position after it, *@count its descriptors and
 * *@id its buffer id.
 */
static int packed_chain_read(gm_virtq *vq, gm_virtq_elem *elem, uint16_t *pos, bool *wrap,
                             uint16_t *count, uint16_t *id)
{
    chain_walk w;
    virtq_desc d;
    int ret;

    virtq_chain_begin(&w, vq, elem, *pos);
    for (*count = 0;; (*count)++) {
        if (*count == vq->size)
            return virtq_chain_fail(&w, -ELOOP, "chain longer than the queue");
        if (virtq_desc_read(&vq->desc, *pos, &d, true) != GM_OK)
            return virtq_chain_fail(&w, -EFAULT, "descriptor unreadable");
        if (!*count && !desc_available(d.flags, *wrap))
            return virtq_chain_fail(&w, -EINVAL, "head descriptor changed while read");
        vq->last_chain[*count] = (virtq_desc_copy){ d.addr, d.len, d.next, d.flags };
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (*count)
                return virtq_chain_fail(&w, -EINVAL, "INDIRECT inside a chain");
            ret = packed_indirect(&w, &d);
        } else {
            ret = virtq_chain_add(&w, &d);
        }
        if (ret)
            return ret;
        *id = d.next;
        if (++*pos == vq->size) {
            *pos = 0;
            *wrap = !*wrap;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT) || (d.flags & VIRTQ_DESC_F_INDIRECT)) {
            (*count)++;
            return 0;
        }
    }
}

int virtq_packed_pop(gm_virtq *vq, gm_virtq_elem *elem)
{
    uint16_t pos = vq->last_avail_idx, count = 0, id = 0;
    bool wrap = vq->avail_wrap;
    int ret = virtq_packed_has_work(vq);

    if (ret <= 0)
        return ret;
    ret = packed_chain_read(vq, elem, &pos, &wrap, &count, &id);
    if (ret)
        return ret;
    if (id >= vq->size)
        return virtq_break(vq, -EINVAL, "buffer id %u >= queue size", id);
    if (vq->id_descs[id])
        return virtq_break(vq, -EINVAL, "buffer id %u reused while in flight", id);
    vq->id_descs[id] = count;
    vq->last_chain_len = count;
    vq->last_resubmitted = false;
    elem->head = id;
    vq->last_avail_idx = pos;
    vq->avail_wrap = wrap;
    return 1;
}

unsigned int gm_virtq_packed_last_chain(const gm_virtq *vq, gm_virtq_desc *out, unsigned int max)
{
    unsigned int n = vq->packed ? vq->last_chain_len : 0;

    memcpy(out, vq->last_chain, (n < max ? n : max) * sizeof(*out));
    return n;
}

/* Whether @n copies form one chain as a pop takes it: NEXT on all but the
 * last, or a lone INDIRECT descriptor. */
static bool copies_form_a_chain(const gm_virtq_desc *chain, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        bool indirect = chain[i].flags & VIRTQ_DESC_F_INDIRECT;

        if ((indirect && n != 1) ||
            (!indirect && !(chain[i].flags & VIRTQ_DESC_F_NEXT) != (i == n - 1)))
            return false;
    }
    return true;
}

/* Walk @n saved descriptors as pop walks the ring (what they point to is
 * the guest's, checked as pop checks it, breaking the queue). */
static int resubmit_walk(gm_virtq *vq, const gm_virtq_desc *chain, unsigned int n,
                         gm_virtq_elem *elem)
{
    chain_walk w;
    int ret = 0;

    virtq_chain_begin(&w, vq, elem, chain[n - 1].id);
    for (unsigned int i = 0; i < n && !ret; i++) {
        virtq_desc d = { chain[i].addr, chain[i].len, chain[i].flags, chain[i].id };

        ret = (d.flags & VIRTQ_DESC_F_INDIRECT) ? packed_indirect(&w, &d)
                                                : virtq_chain_add(&w, &d);
    }
    return ret;
}

int gm_virtq_packed_resubmit(gm_virtq *vq, const gm_virtq_desc *chain, unsigned int n,
                             gm_virtq_elem *elem)
{
    uint16_t id;
    int ret;

    if (vq->error)
        return -EIO;
    if (!vq->packed || !chain || !n || n > vq->size || !elem || !elem->seg || !elem->seg_max)
        return -EINVAL;
    id = chain[n - 1].id;
    if (id >= vq->size || vq->id_descs[id] || !copies_form_a_chain(chain, n))
        return -EINVAL;
    ret = resubmit_walk(vq, chain, n, elem);
    if (ret)
        return ret;
    vq->id_descs[id] = (uint16_t)n;
    vq->last_resubmitted = true;
    elem->head = id;
    return 1;
}

int gm_virtq_packed_resume(gm_virtq *vq, uint32_t avail, uint32_t used)
{
    uint16_t a = avail & 0x7fff, u = used & 0x7fff;

    if (!vq->packed || a >= vq->size || u >= vq->size)
        return -EINVAL;
    vq->last_avail_idx = a;
    vq->avail_wrap = (avail >> WRAP_BIT) & 1;
    vq->used_idx = u;
    vq->used_wrap = (used >> WRAP_BIT) & 1;
    memset(vq->id_descs, 0, vq->size * sizeof(*vq->id_descs));
    vq->signalled_used_valid = false;
    return 0;
}

int gm_virtq_packed_used_id(gm_virtq *vq, uint32_t pos, uint16_t *id)
{
    uint16_t p = pos & 0x7fff, flags;
    bool wrap = (pos >> WRAP_BIT) & 1;
    uint64_t off = (uint64_t)p * VIRTQ_DESC_SIZE;

    if (!vq->packed || p >= vq->size)
        return -EINVAL;
    if (virtq_area_load16_acquire(&vq->desc, off + PACKED_OFF_FLAGS, &flags) != GM_OK ||
        virtq_area_read16(&vq->desc, off + PACKED_OFF_ID, id) != GM_OK)
        return -EFAULT;
    /* Used in this lap: AVAIL and USED both equal to the wrap counter. */
    return !!(flags & PACKED_F_AVAIL) == wrap && !!(flags & PACKED_F_USED) == wrap ? 1 : 0;
}

/* Back over the descriptors of buffer @id, the last one taken (one taken
 * from saved copies only stops being in flight: the ring did not move). */
void virtq_packed_unpop(gm_virtq *vq, uint16_t id)
{
    uint16_t count = id < vq->size ? vq->id_descs[id] : 0;

    if (!count)
        return;   /* not in flight: nothing was taken */
    vq->id_descs[id] = 0;
    if (vq->last_resubmitted)
        return;
    if (vq->last_avail_idx < count) {
        vq->last_avail_idx = (uint16_t)(vq->last_avail_idx + vq->size - count);
        vq->avail_wrap = !vq->avail_wrap;
    } else {
        vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - count);
    }
}

int virtq_packed_push(gm_virtq *vq, uint16_t id, uint32_t len)
{
    uint64_t off = (uint64_t)vq->used_idx * VIRTQ_DESC_SIZE;
    uint16_t flags = vq->used_wrap ? (PACKED_F_AVAIL | PACKED_F_USED) : 0;
    uint32_t le_len = virtq_le32(len);
    uint16_t le_id = virtq_le16(id), count;

    if (id >= vq->size || !vq->id_descs[id])
        return -EINVAL;
    if (virtq_area_write(&vq->desc, off + PACKED_OFF_LEN, &le_len, sizeof(le_len)) != GM_OK ||
        virtq_area_write(&vq->desc, off + PACKED_OFF_ID, &le_id, sizeof(le_id)) != GM_OK ||
        /* Release: id, length and the buffer data before the flags. */
        virtq_area_store16_release(&vq->desc, off + PACKED_OFF_FLAGS, flags) != GM_OK)
        return virtq_break(vq, -EFAULT, "descriptor ring at 0x%" PRIx64 " not writable",
                           vq->desc_addr);
    count = vq->id_descs[id];
    vq->id_descs[id] = 0;
    vq->used_idx = (uint16_t)(vq->used_idx + count);
    if (vq->used_idx >= vq->size) {
        vq->used_idx = (uint16_t)(vq->used_idx - vq->size);
        vq->used_wrap = !vq->used_wrap;
        /* Positions restarted: the event window below is meaningless. */
        vq->signalled_used_valid = false;
    }
    return 0;
}

bool virtq_packed_should_notify(gm_virtq *vq)
{
    uint16_t old = vq->signalled_used, off_wrap, flags;
    bool valid = vq->signalled_used_valid;
    int off;

    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    if (virtq_area_read16(&vq->avail, EVENT_OFF_FLAGS, &flags) != GM_OK ||
        virtq_area_read16(&vq->avail, EVENT_OFF_WRAP, &off_wrap) != GM_OK)
        return true;
    if (flags == EVENT_DISABLE)
        return false;
    if (flags != EVENT_DESC || !virtq_has(vq, GM_VIRTIO_F_EVENT_IDX) || !valid)
        return true;
    /* The driver's position is in its wrap's numbering; ours in ours. */
    off = off_wrap & ~(1u << WRAP_BIT);
    if (!!(off_wrap >> WRAP_BIT) != vq->used_wrap)
        off -= (int)vq->size;
    return (uint16_t)(vq->used_idx - off - 1) < (uint16_t)(vq->used_idx - old);
}

int virtq_packed_set_notification(gm_virtq *vq, bool enable)
{
    uint16_t flags = enable ? EVENT_ENABLE : EVENT_DISABLE;
    gm_result r = GM_OK;

    if (enable && virtq_has(vq, GM_VIRTIO_F_EVENT_IDX)) {
        flags = EVENT_DESC;
        r = virtq_area_write16(&vq->used, EVENT_OFF_WRAP,
                               (uint16_t)(vq->last_avail_idx | vq->avail_wrap << WRAP_BIT));
    }
    if (r != GM_OK || virtq_area_write16(&vq->used, EVENT_OFF_FLAGS, flags) != GM_OK)
        return virtq_break(vq, -EFAULT, "device event area at 0x%" PRIx64 " not writable",
                           vq->used_addr);
    vq->used_flags = flags;
    return 0;
}

uint32_t virtq_packed_get_base(const gm_virtq *vq)
{
    uint32_t avail = vq->last_avail_idx | (uint32_t)vq->avail_wrap << WRAP_BIT;
    uint32_t used = vq->used_idx | (uint32_t)vq->used_wrap << WRAP_BIT;

    return avail | used << 16;
}

void virtq_packed_set_base(gm_virtq *vq, uint32_t base)
{
    uint16_t avail = base & 0x7fff;

    /* The device resumes with nothing in flight: used follows avail. An
     * out-of-range position (a peer's value) restarts at 0. */
    vq->last_avail_idx = avail < vq->size ? avail : 0;
    vq->avail_wrap = (base >> WRAP_BIT) & 1;
    vq->used_idx = vq->last_avail_idx;
    vq->used_wrap = vq->avail_wrap;
    memset(vq->id_descs, 0, vq->size * sizeof(*vq->id_descs));
    vq->signalled_used_valid = false;
}
