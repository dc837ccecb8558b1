/* SPDX-License-Identifier: MIT */
/*
 * Mapping an element's buffers into host iovecs, for zero-copy I/O.
 *
 * A backend hands the iovecs to preadv/pwritev (or io_uring), so each one
 * must be host memory valid until unmap. gm_as_map() gives that, but may
 * map less than asked: a RAM region ends, an IOMMU mapping covers one IOMMU
 * page, a grant mapping one grant page. So a buffer becomes as many iovecs
 * as it takes, bounded by the caller's array (-E2BIG past it: preadv takes
 * at most IOV_MAX anyway).
 *
 * When gm_as_map() refuses a piece that is nevertheless accessible (the
 * address space's bounce budget is spent, a provider that only copies), we
 * copy instead: a private buffer of at most GM_VIRTQ_COPY_CHUNK bytes, filled
 * with gm_as_read() for a readable buffer, written back with gm_as_write()
 * at unmap for a writable one. The copy_ bitmap remembers which iovecs are
 * copies; the guest address of a writable copy is recomputed at unmap by
 * walking the element's writable buffers alongside the iovecs, so the
 * caller's iovec array needs no shadow array.
 *
 * Unmap reports the bytes actually written: the device wrote a prefix of
 * the writable iovecs (what preadv returned), so iovec k gets
 * min(len_k, what is left of @written) as access_len. That is what gets
 * marked dirty and written back, and nothing beyond it.
 *
 * Glossary: v = the caller's iovec set, k = an iovec index, seg = a buffer.
 * Locking: none; the queue's thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <guestmem/map.h>

#include "virtio/virtq_int.h"

static bool iov_is_copy(const gm_virtq_iov *v, unsigned int k)
{
    return v->copied_[k / 64] & (1ull << (k % 64));
}

static unsigned int iov_count(const gm_virtq_iov *v)
{
    return v->out_cnt + v->in_cnt;
}

static void iov_append(gm_virtq_iov *v, void *base, uint64_t len, bool is_write, bool copy)
{
    unsigned int k = iov_count(v);

    v->iov[k].iov_base = base;
    v->iov[k].iov_len = len;
    if (copy)
        v->copied_[k / 64] |= 1ull << (k % 64);
    if (is_write)
        v->in_cnt++;
    else
        v->out_cnt++;
}

/* Copy fallback for the piece at @addr: at most GM_VIRTQ_COPY_CHUNK bytes. */
static int iov_copy_piece(gm_virtq *vq, gm_virtq_iov *v, gm_addr addr, uint64_t *plen,
                          bool is_write)
{
    uint64_t len = *plen < GM_VIRTQ_COPY_CHUNK ? *plen : GM_VIRTQ_COPY_CHUNK;
    void *buf;

    if (is_write && !gm_as_access_valid(vq->as, addr, len, true, GM_ATTRS_UNSPECIFIED))
        goto fault;
    buf = is_write ? calloc(1, len) : malloc(len);
    if (!buf)
        return -ENOMEM;
    if (!is_write && gm_as_read(vq->as, addr, GM_ATTRS_UNSPECIFIED, buf, len) != GM_OK) {
        free(buf);
        goto fault;
    }
    iov_append(v, buf, len, is_write, true);
    *plen = len;
    return 0;

fault:
    virtq_report(vq, "buffer at 0x%" PRIx64 " neither mappable nor %s", addr,
                 is_write ? "writable" : "readable");
    return -EFAULT;
}

/* Map one buffer, possibly into several iovecs. */
static int iov_map_seg(gm_virtq *vq, gm_virtq_iov *v, const gm_virtq_seg *seg, bool is_write)
{
    gm_addr addr = seg->addr;
    uint64_t left = seg->len;

    while (left) {
        uint64_t plen = left;
        void *p;
        int ret;

        if (iov_count(v) == v->max)
            return -E2BIG;
        p = gm_as_map(vq->as, addr, &plen, is_write, GM_ATTRS_UNSPECIFIED);
        if (p) {
            iov_append(v, p, plen, is_write, false);
        } else {
            plen = left;
            ret = iov_copy_piece(vq, v, addr, &plen, is_write);
            if (ret)
                return ret;
        }
        addr += plen;
        left -= plen;
    }
    return 0;
}

/*
 * Walks the element's writable buffers in step with the writable iovecs to
 * recover each one's guest address (zero-length buffers took no iovec).
 */
typedef struct seg_cursor {
    const gm_virtq_seg *seg;
    unsigned int n;
    unsigned int i;
    uint64_t off;
} seg_cursor;

static bool cursor_next(seg_cursor *c, uint64_t len, gm_addr *addr)
{
    while (c->i < c->n && c->off == c->seg[c->i].len) {
        c->i++;
        c->off = 0;
    }
    if (c->i == c->n || len > c->seg[c->i].len - c->off)
        return false;
    *addr = c->seg[c->i].addr + c->off;
    c->off += len;
    return true;
}

/* Release writable iovec @k, of which the first @acc bytes were written. */
static int iov_release_write(gm_virtq *vq, gm_virtq_iov *v, unsigned int k, uint64_t acc,
                             seg_cursor *c)
{
    struct iovec *iov = &v->iov[k];
    bool known;
    gm_addr addr = 0;
    int ret = 0;

    known = cursor_next(c, iov->iov_len, &addr);
    if (!iov_is_copy(v, k)) {
        gm_as_unmap(vq->as, iov->iov_base, iov->iov_len, true, acc);
        return 0;
    }
    if (acc && (!known || gm_as_write(vq->as, addr, GM_ATTRS_UNSPECIFIED, iov->iov_base,
                                      acc) != GM_OK)) {
        virtq_report(vq, "write-back of %" PRIu64 " bytes at 0x%" PRIx64 " failed", acc, addr);
        ret = -EFAULT;
    }
    free(iov->iov_base);
    return ret;
}

static void iov_release_read(gm_virtq *vq, gm_virtq_iov *v, unsigned int k)
{
    if (iov_is_copy(v, k))
        free(v->iov[k].iov_base);
    else
        gm_as_unmap(vq->as, v->iov[k].iov_base, v->iov[k].iov_len, false, 0);
}

static void iov_reset(gm_virtq_iov *v)
{
    v->out_cnt = 0;
    v->in_cnt = 0;
    memset(v->copied_, 0, sizeof(v->copied_));
}

int gm_virtq_iov_unmap(gm_virtq *vq, const gm_virtq_elem *elem, gm_virtq_iov *v,
                       uint64_t written)
{
    seg_cursor c = { .seg = elem->seg + elem->out_num, .n = elem->in_num };
    int ret = 0;

    for (unsigned int k = 0; k < v->out_cnt; k++)
        iov_release_read(vq, v, k);
    for (unsigned int k = v->out_cnt; k < iov_count(v); k++) {
        uint64_t acc = written < v->iov[k].iov_len ? written : v->iov[k].iov_len;

        written -= acc;
        if (iov_release_write(vq, v, k, acc, &c))
            ret = -EFAULT;
    }
    iov_reset(v);
    return ret;
}

int gm_virtq_iov_map(gm_virtq *vq, const gm_virtq_elem *elem, gm_virtq_iov *v)
{
    unsigned int n = elem->out_num + elem->in_num;
    int ret = 0;

    if (!v->iov || !v->max || v->max > GM_VIRTQ_IOV_MAX)
        return -EINVAL;
    iov_reset(v);
    for (unsigned int i = 0; i < n && !ret; i++)
        ret = iov_map_seg(vq, v, &elem->seg[i], i >= elem->out_num);
    if (ret)
        gm_virtq_iov_unmap(vq, elem, v, 0);
    return ret;
}
