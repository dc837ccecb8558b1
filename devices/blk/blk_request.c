/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request processing: guest buffers straight into preadv/pwritev.
 *
 * A request is a 16-byte header (type, reserved, sector) in the readable
 * buffers, data, and a one-byte status at the very end of the writable
 * buffers. Every field comes from the guest: the header must be complete,
 * the status byte present, data a whole number of sectors and inside the
 * disk, discard/write-zeroes segments well-formed; anything else completes
 * the request with VIRTIO_BLK_S_IOERR (or UNSUPP for unknown types) and the
 * device goes on with the next one. Data buffers are mapped with
 * gm_virtq_iov_map() (zero copy; copied only where mapping is refused) and
 * the disk reads into / writes from them directly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blk_device.h"

typedef struct blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
} blk_req_header;

typedef struct blk_discard_seg {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
} blk_discard_seg;

#define BLK_WZ_UNMAP 1u
#define BLK_MAX_DISCARD_SEGS 1u

typedef struct blk_req {
    blk_device *b;
    gm_virtq *vq;
    gm_virtq_elem *elem;
    gm_virtq_iov *v;
    blk_req_header hdr;
} blk_req;

/* Copy the iovecs of [skip, skip + len) of @in (cnt entries) into @out. */
static unsigned int iov_slice(const struct iovec *in, unsigned int cnt, uint64_t skip,
                              uint64_t len, struct iovec *out)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < cnt && len; i++) {
        uint64_t l = in[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        out[n].iov_base = (char *)in[i].iov_base + skip;
        out[n].iov_len = (size_t)(l - skip < len ? l - skip : len);
        len -= out[n].iov_len;
        skip = 0;
        n++;
    }
    return n;
}

static bool range_ok(const blk_device *b, uint64_t sector, uint64_t bytes)
{
    uint64_t sectors = b->disk.size / BLK_SECTOR;

    return bytes % BLK_SECTOR == 0 && sector <= sectors && bytes / BLK_SECTOR <= sectors - sector;
}

static uint8_t do_read(blk_req *r, uint32_t *written)
{
    uint64_t len = r->elem->in_len - 1;
    struct iovec iov[GM_VIRTQ_IOV_MAX];
    unsigned int n;

    if (!range_ok(r->b, r->hdr.sector, len))
        return VIRTIO_BLK_S_IOERR;
    n = iov_slice(r->v->iov + r->v->out_cnt, r->v->in_cnt, 0, len, iov);
    if (blk_disk_readv(&r->b->disk, iov, n, r->hdr.sector * BLK_SECTOR))
        return VIRTIO_BLK_S_IOERR;
    *written = (uint32_t)len;
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_write(blk_req *r)
{
    uint64_t len = r->elem->out_len - sizeof(blk_req_header);
    struct iovec iov[GM_VIRTQ_IOV_MAX];
    unsigned int n;

    if (r->b->disk.readonly || !range_ok(r->b, r->hdr.sector, len))
        return VIRTIO_BLK_S_IOERR;
    n = iov_slice(r->v->iov, r->v->out_cnt, sizeof(blk_req_header), len, iov);
    return blk_disk_writev(&r->b->disk, iov, n, r->hdr.sector * BLK_SECTOR) ? VIRTIO_BLK_S_IOERR
                                                                           : VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(blk_req *r, uint32_t *written)
{
    uint64_t len = r->elem->in_len - 1;
    char id[20];

    memset(id, 0, sizeof(id));
    memcpy(id, r->b->serial, sizeof(id));
    len = len < sizeof(id) ? len : sizeof(id);
    if (gm_virtq_elem_write(r->vq, r->elem, 0, id, len) != (int64_t)len)
        return VIRTIO_BLK_S_IOERR;
    *written = (uint32_t)len;
    return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES carry one segment after the header. Flags the
 * command does not define are UNSUPP (virtio 1.2, 5.2.6.2); more sectors
 * than the config space allows, IOERR. */
static uint8_t do_ranges(blk_req *r, bool zeroes)
{
    blk_discard_seg seg;

    if (r->elem->out_len != sizeof(blk_req_header) + sizeof(seg) ||
        gm_virtq_elem_read(r->vq, r->elem, sizeof(blk_req_header), &seg, sizeof(seg)) !=
            (int64_t)sizeof(seg))
        return VIRTIO_BLK_S_IOERR;
    if ((seg.flags & ~BLK_WZ_UNMAP) || (!zeroes && seg.flags))
        return VIRTIO_BLK_S_UNSUPP;
    if (seg.num_sectors > BLK_MAX_RANGE_SECTORS ||
        !range_ok(r->b, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR) ||
        r->b->disk.readonly)
        return VIRTIO_BLK_S_IOERR;
    if (zeroes)
        return blk_disk_write_zeroes(&r->b->disk, seg.sector * BLK_SECTOR,
                                     (uint64_t)seg.num_sectors * BLK_SECTOR,
                                     seg.flags & BLK_WZ_UNMAP)
                   ? VIRTIO_BLK_S_IOERR
                   : VIRTIO_BLK_S_OK;
    return blk_disk_discard(&r->b->disk, seg.sector * BLK_SECTOR,
                            (uint64_t)seg.num_sectors * BLK_SECTOR)
               ? VIRTIO_BLK_S_IOERR
               : VIRTIO_BLK_S_OK;
}

static uint8_t execute(blk_req *r, uint32_t *written)
{
    switch (r->hdr.type) {
    case VIRTIO_BLK_T_IN:
        return do_read(r, written);
    case VIRTIO_BLK_T_OUT:
        return do_write(r);
    case VIRTIO_BLK_T_FLUSH:
        return blk_disk_flush(&r->b->disk) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID:
        return do_get_id(r, written);
    case VIRTIO_BLK_T_DISCARD:
        return do_ranges(r, false);
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return do_ranges(r, true);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

/* Map, run, unmap; returns the status byte and the data bytes written. */
static uint8_t run_request(blk_req *r, uint32_t *written)
{
    struct iovec iov[GM_VIRTQ_IOV_MAX];
    gm_virtq_iov v = { .iov = iov, .max = GM_VIRTQ_IOV_MAX };
    uint8_t status;

    if (r->elem->out_len < sizeof(blk_req_header) || r->elem->in_len < 1 ||
        gm_virtq_elem_read(r->vq, r->elem, 0, &r->hdr, sizeof(r->hdr)) !=
            (int64_t)sizeof(r->hdr))
        return VIRTIO_BLK_S_IOERR;
    if (gm_virtq_iov_map(r->vq, r->elem, &v))
        return VIRTIO_BLK_S_IOERR;
    r->v = &v;
    status = execute(r, written);
    /* A bounce that cannot be written back (a read-only or revoked grant,
     * an unmapped IOVA) means the guest did not get the data. */
    if (gm_virtq_iov_unmap(r->vq, r->elem, &v, *written) && status == VIRTIO_BLK_S_OK) {
        status = VIRTIO_BLK_S_IOERR;
        *written = 0;
    }
    return status;
}

uint32_t blk_request_process(blk_device *b, gm_virtq *vq, gm_virtq_elem *elem)
{
    blk_req r = { .b = b, .vq = vq, .elem = elem };
    uint32_t written = 0;
    uint8_t status = run_request(&r, &written);
    int64_t put = elem->in_len ? gm_virtq_elem_write(vq, elem, elem->in_len - 1, &status, 1) : 0;

    __atomic_add_fetch(&b->requests, 1, __ATOMIC_RELAXED);
    if (status != VIRTIO_BLK_S_OK)
        __atomic_add_fetch(&b->errors, 1, __ATOMIC_RELAXED);
    return put == 1 ? written + 1 : 0;
}
