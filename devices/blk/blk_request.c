/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request processing: from a popped element to a disk
 * operation, and from its result to a status byte.
 *
 * A request is a 16-byte header (type, reserved, sector) in the readable
 * buffers, data, and a one-byte status at the very end of the writable
 * buffers. Every field comes from the guest: the header must be complete,
 * the status byte present, data a whole number of sectors and inside the
 * disk, discard/write-zeroes segments well-formed; anything else completes
 * the request with VIRTIO_BLK_S_IOERR (or UNSUPP for unknown types) and the
 * device goes on with the next one.
 *
 * Data buffers are mapped with gm_virtq_iov_map() (zero copy; copied only
 * where mapping is refused) and stay mapped while the disk operation runs
 * (an I/O engine may complete it much later, out of order). With O_DIRECT,
 * data whose buffers are not aligned to the file system's block goes
 * through an aligned bounce buffer; data whose disk offset or length is not
 * goes through the buffered fd.
 *
 * Lifetime: blk_request_init() copies the element, blk_request_start()
 * maps, blk_request_finish() unmaps and frees; between start and finish
 * the request is the engine's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk_request.h"

typedef struct blk_discard_seg {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
} blk_discard_seg;

#define BLK_WZ_UNMAP 1u
/* The largest bounce buffer a request allocates (O_DIRECT, misaligned
 * guest memory): a queue holds at most its depth of them. */
#define BLK_BOUNCE_MAX (1u << 20)

int blk_request_init(blk_req *r, blk_device *b, gm_virtq *vq, const gm_virtq_elem *elem)
{
    unsigned int nseg = elem->out_num + elem->in_num;

    memset(r, 0, offsetof(blk_req, next));
    r->b = b;
    r->vq = vq;
    r->elem = *elem;
    r->elem.seg = nseg <= BLK_REQ_INLINE_SEGS ? r->seg_inline
                                              : malloc(nseg * sizeof(*elem->seg));
    if (!r->elem.seg)
        return -ENOMEM;
    r->elem.seg_max = nseg;
    memcpy(r->elem.seg, elem->seg, nseg * sizeof(*elem->seg));
    r->status = VIRTIO_BLK_S_IOERR;
    return 0;
}

/* Map the buffers: inline iovecs first, the most a chain may need if not. */
static int map_buffers(blk_req *r)
{
    int err;

    r->v = (gm_virtq_iov){ .iov = r->iov_inline, .max = BLK_REQ_INLINE_IOV };
    err = gm_virtq_iov_map(r->vq, &r->elem, &r->v);
    if (err == -E2BIG) {
        r->v = (gm_virtq_iov){ .iov = malloc(GM_VIRTQ_IOV_MAX * sizeof(struct iovec)),
                               .max = GM_VIRTQ_IOV_MAX };
        err = r->v.iov ? gm_virtq_iov_map(r->vq, &r->elem, &r->v) : -ENOMEM;
    }
    r->mapped = !err;
    return err;
}

/* Point r->data_iov at [skip, skip + len) of @cnt iovecs from @in. */
static unsigned int slice(blk_req *r, const struct iovec *in, unsigned int cnt, uint64_t skip,
                          uint64_t len)
{
    unsigned int n = 0;

    r->data_iov = cnt <= BLK_REQ_INLINE_IOV ? r->data_inline : malloc(cnt * sizeof(*in));
    if (!r->data_iov)
        return 0;
    for (unsigned int i = 0; i < cnt && len; i++) {
        uint64_t l = in[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        r->data_iov[n].iov_base = (char *)in[i].iov_base + skip;
        r->data_iov[n].iov_len = (size_t)(l - skip < len ? l - skip : len);
        len -= r->data_iov[n].iov_len;
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

static void copy_iov(void *dst, const struct iovec *iov, unsigned int cnt, bool to_iov)
{
    uint8_t *p = dst;

    for (unsigned int i = 0; i < cnt; i++, p += iov[i - 1].iov_len) {
        if (to_iov)
            memcpy(iov[i].iov_base, p, iov[i].iov_len);
        else
            memcpy(p, iov[i].iov_base, iov[i].iov_len);
    }
}

/* Choose the fd, and bounce misaligned memory, for an O_DIRECT disk. */
static bool place_transfer(blk_req *r, unsigned int n, uint64_t len)
{
    const blk_disk *d = &r->b->disk;
    blk_io *io = &r->io;

    r->data_cnt = n;
    io->iov = r->data_iov;
    io->iovcnt = n;
    io->fd = d->fd;
    if (blk_disk_aligned(d, io->iov, n, io->offset, len))
        return true;
    /* An offset or length the file system cannot take directly, or a
     * bounce too large to allocate per request: the buffered fd. */
    if (!blk_disk_aligned(d, NULL, 0, io->offset, len) || len > BLK_BOUNCE_MAX) {
        io->fd = d->buffered_fd;
        return true;
    }
    if (posix_memalign(&r->bounce, d->dio_align, len))
        return false;
    if (io->op == BLK_OP_WRITE)
        copy_iov(r->bounce, r->data_iov, n, false);
    r->bounce_iov = (struct iovec){ r->bounce, len };
    io->iov = &r->bounce_iov;
    io->iovcnt = 1;
    return true;
}

/* READ or WRITE: the data between header and status, or after the header. */
static bool start_transfer(blk_req *r, bool write)
{
    uint64_t len = write ? r->elem.out_len - sizeof(blk_req_header) : r->elem.in_len - 1;
    unsigned int n;

    if ((write && r->b->disk.readonly) || !range_ok(r->b, r->hdr.sector, len))
        return false;
    if (!len) {
        r->status = VIRTIO_BLK_S_OK;   /* nothing to transfer: valid */
        return false;
    }
    if (map_buffers(r))
        return false;
    n = write ? slice(r, r->v.iov, r->v.out_cnt, sizeof(blk_req_header), len)
              : slice(r, r->v.iov + r->v.out_cnt, r->v.in_cnt, 0, len);
    if (!r->data_iov)
        return false;
    r->io.op = write ? BLK_OP_WRITE : BLK_OP_READ;
    r->io.offset = r->hdr.sector * BLK_SECTOR;
    r->io.len = len;
    return place_transfer(r, n, len);
}

static bool start_get_id(blk_req *r)
{
    uint64_t len = r->elem.in_len - 1;
    char id[20];

    memset(id, 0, sizeof(id));
    memcpy(id, r->b->serial, sizeof(id));
    len = len < sizeof(id) ? len : sizeof(id);
    if (gm_virtq_elem_write(r->vq, &r->elem, 0, id, len) == (int64_t)len) {
        r->written = (uint32_t)len;
        r->status = VIRTIO_BLK_S_OK;
    }
    return false;
}

/* DISCARD and WRITE_ZEROES carry one segment after the header. Flags the
 * command does not define are UNSUPP (virtio 1.2, 5.2.6.2); more sectors
 * than the config space allows, IOERR. */
static bool start_range(blk_req *r, bool zeroes)
{
    blk_discard_seg seg;

    if (r->elem.out_len != sizeof(blk_req_header) + sizeof(seg) ||
        gm_virtq_elem_read(r->vq, &r->elem, sizeof(blk_req_header), &seg, sizeof(seg)) !=
            (int64_t)sizeof(seg))
        return false;
    if ((seg.flags & ~BLK_WZ_UNMAP) || (!zeroes && seg.flags)) {
        r->status = VIRTIO_BLK_S_UNSUPP;
        return false;
    }
    if (seg.num_sectors > BLK_MAX_RANGE_SECTORS ||
        !range_ok(r->b, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR) ||
        r->b->disk.readonly)
        return false;
    r->io.op = zeroes ? BLK_OP_WRITE_ZEROES : BLK_OP_DISCARD;
    r->io.fd = r->b->disk.buffered_fd;
    r->io.offset = seg.sector * BLK_SECTOR;
    r->io.len = (uint64_t)seg.num_sectors * BLK_SECTOR;
    r->io.unmap = seg.flags & BLK_WZ_UNMAP;
    return true;
}

static bool dispatch(blk_req *r)
{
    if (r->elem.out_len < sizeof(blk_req_header) || r->elem.in_len < 1 ||
        gm_virtq_elem_read(r->vq, &r->elem, 0, &r->hdr, sizeof(r->hdr)) !=
            (int64_t)sizeof(r->hdr))
        return false;
    switch (r->hdr.type) {
    case VIRTIO_BLK_T_IN:
        return start_transfer(r, false);
    case VIRTIO_BLK_T_OUT:
        return start_transfer(r, true);
    case VIRTIO_BLK_T_FLUSH:
        r->io.op = BLK_OP_FLUSH;
        r->io.fd = r->b->disk.fd;
        return true;
    case VIRTIO_BLK_T_GET_ID:
        return start_get_id(r);
    case VIRTIO_BLK_T_DISCARD:
        return start_range(r, false);
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return start_range(r, true);
    default:
        r->status = VIRTIO_BLK_S_UNSUPP;
        return false;
    }
}

bool blk_request_start(blk_req *r)
{
    r->io.opaque = r;
    r->has_io = dispatch(r);
    return r->has_io;
}

/* The operation's result: data copied back from a bounce buffer, status. */
static void settle(blk_req *r)
{
    if (!r->has_io)
        return;
    r->status = r->io.result ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
    if (r->io.result || r->io.op != BLK_OP_READ)
        return;
    if (r->bounce)
        copy_iov(r->bounce, r->data_iov, r->data_cnt, true);
    r->written = (uint32_t)r->io.len;
}

void blk_request_release(blk_req *r)
{
    if (r->elem.seg != r->seg_inline)
        free(r->elem.seg);
    if (r->v.iov && r->v.iov != r->iov_inline)
        free(r->v.iov);
    if (r->data_iov && r->data_iov != r->data_inline)
        free(r->data_iov);
    free(r->bounce);
    r->elem.seg = NULL;
    r->v.iov = NULL;
    r->data_iov = NULL;
    r->bounce = NULL;
}

uint32_t blk_request_finish(blk_req *r)
{
    blk_device *b = r->b;
    int64_t put;

    settle(r);
    /* A bounce that cannot be written back (a read-only or revoked grant,
     * an unmapped IOVA) means the guest did not get the data. */
    if (r->mapped && gm_virtq_iov_unmap(r->vq, &r->elem, &r->v, r->written) &&
        r->status == VIRTIO_BLK_S_OK) {
        r->status = VIRTIO_BLK_S_IOERR;
        r->written = 0;
    }
    put = r->elem.in_len ? gm_virtq_elem_write(r->vq, &r->elem, r->elem.in_len - 1, &r->status, 1)
                         : 0;
    __atomic_add_fetch(&b->requests, 1, __ATOMIC_RELAXED);
    if (r->status != VIRTIO_BLK_S_OK)
        __atomic_add_fetch(&b->errors, 1, __ATOMIC_RELAXED);
    return put == 1 ? r->written + 1 : 0;
}

uint32_t blk_request_process(blk_device *b, gm_virtq *vq, gm_virtq_elem *elem)
{
    blk_req r;
    uint32_t used;

    if (blk_request_init(&r, b, vq, elem))
        return 0;
    if (blk_request_start(&r))
        blk_engine_run_blocking(&b->disk, &r.io);
    used = blk_request_finish(&r);
    blk_request_release(&r);
    return used;
}
