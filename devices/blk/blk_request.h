/* SPDX-License-Identifier: MIT */
/*
 * One virtio-blk request from pop to push: its copy of the element, the
 * mapping of its buffers, the disk operation it becomes, and its status.
 */
#ifndef GUESTMEM_BLK_REQUEST_H
#define GUESTMEM_BLK_REQUEST_H

#include "blk_device.h"
#include "blk_engine.h"

typedef struct blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
} blk_req_header;

/* Inline capacities: most requests need no allocation of their own. */
#define BLK_REQ_INLINE_SEGS 8u
#define BLK_REQ_INLINE_IOV 16u

typedef struct blk_req {
    blk_device *b;
    gm_virtq *vq;
    gm_virtq_elem elem;           /* .seg points to seg_inline or a heap array */
    gm_virtq_seg seg_inline[BLK_REQ_INLINE_SEGS];
    gm_virtq_iov v;               /* the mapped buffers */
    struct iovec iov_inline[BLK_REQ_INLINE_IOV];
    struct iovec *data_iov;       /* the data part of v */
    unsigned int data_cnt;
    struct iovec data_inline[BLK_REQ_INLINE_IOV];
    blk_req_header hdr;
    blk_io io;
    bool has_io;                  /* blk_request_start() returned true */
    bool mapped;
    void *bounce;                 /* aligned copy of the data for O_DIRECT */
    struct iovec bounce_iov;
    uint8_t status;
    uint32_t written;             /* data bytes written into the guest's buffers */
    struct blk_req *next;         /* the queue's free list */
} blk_req;

/* Take a popped element: copy it into @r (the caller's element may be
 * reused at once). Returns 0 or -ENOMEM. */
int blk_request_init(blk_req *r, blk_device *b, gm_virtq *vq, const gm_virtq_elem *elem);
/*
 * Check and map the request. Returns true when a disk operation must run
 * (r->io is filled: submit it, then blk_request_finish()); false when it is
 * already decided (status set: a malformed request, GET_ID, UNSUPP): call
 * blk_request_finish() at once. Every field is the guest's: a malformed
 * request gets VIRTIO_BLK_S_IOERR (UNSUPP for unknown types), never a crash.
 */
bool blk_request_start(blk_req *r);
/* The disk operation ended (r->io.result) or none was needed: copy a bounce
 * buffer back, unmap, write the status byte, count. Returns the used length
 * to push (data written + status), 0 when not even the status byte could
 * be written. r->elem stays valid for the push. */
uint32_t blk_request_finish(blk_req *r);
/* Free what the request holds (after the push); blk_request_init() again
 * to reuse it. */
void blk_request_release(blk_req *r);

#endif
