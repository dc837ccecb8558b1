/* SPDX-License-Identifier: MIT */
/*
 * Copying to and from an element's buffers.
 *
 * The simple way to reach a chain's data: a virtio-blk header, a status
 * byte, a small network packet. The readable (or writable) buffers are seen
 * as one byte stream; a copy starts at a byte offset into it and goes
 * through gm_as_read/write, so every kind of memory works (RAM, I/O,
 * through an IOMMU, map-on-demand). Buffers were validated by pop (no
 * buffer wraps 2^64), so addr + off below never wraps.
 *
 * A buffer that cannot be accessed is the guest's error but does not break
 * the queue: the device completes the request with an error status.
 *
 * Locking: none; the queue's thread only (the rate-limited report).
 */
#include <errno.h>
#include <inttypes.h>

#include "virtio/virtq_int.h"

static int64_t copy_segs(gm_virtq *vq, const gm_virtq_seg *seg, unsigned int n,
                         uint64_t offset, uint8_t *buf, uint64_t len, bool is_write)
{
    uint64_t done = 0;

    for (unsigned int i = 0; i < n && done < len; i++) {
        uint64_t chunk;

        if (offset >= seg[i].len) {
            offset -= seg[i].len;
            continue;
        }
        chunk = seg[i].len - offset < len - done ? seg[i].len - offset : len - done;
        if (gm_as_rw(vq->as, seg[i].addr + offset, GM_ATTRS_UNSPECIFIED, buf + done, chunk,
                     is_write) != GM_OK) {
            virtq_report(vq, "buffer at 0x%" PRIx64 " not %s", seg[i].addr + offset,
                         is_write ? "writable" : "readable");
            return -EFAULT;
        }
        done += chunk;
        offset = 0;
    }
    return (int64_t)done;
}

int64_t gm_virtq_elem_read(gm_virtq *vq, const gm_virtq_elem *elem, uint64_t offset,
                           void *buf, uint64_t len)
{
    return copy_segs(vq, elem->seg, elem->out_num, offset, buf, len, false);
}

int64_t gm_virtq_elem_write(gm_virtq *vq, const gm_virtq_elem *elem, uint64_t offset,
                            const void *buf, uint64_t len)
{
    /* The write direction of copy_segs() never stores into @buf. */
    return copy_segs(vq, elem->seg + elem->out_num, elem->in_num, offset, (uint8_t *)buf,
                     len, true);
}
