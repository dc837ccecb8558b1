/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device as seen by the vhost-user transport: the queue
 * thread's loop around blk_request_process().
 */
#include "blk_device.h"

void blk_device_handle(void *opaque, gm_vhost_queue *q)
{
    gm_virtq_seg segs[BLK_MAX_SEGS];
    gm_virtq_elem elem = { .seg = segs, .seg_max = BLK_MAX_SEGS };
    gm_virtq *vq = gm_vhost_queue_virtq(q);
    blk_device *b = opaque;
    unsigned int qi = gm_vhost_queue_index(q);
    int ret;

    do {
        while ((ret = gm_vhost_queue_pop(q, &elem)) == 1) {
            /* Behind a vIOMMU: one round trip for all the chain's pages. */
            gm_vhost_queue_prefetch(q, &elem);
            if (qi < BLK_MAX_QUEUES)
                __atomic_add_fetch(&b->queue_requests[qi], 1, __ATOMIC_RELAXED);
            gm_vhost_queue_push(q, &elem, blk_request_process(b, vq, &elem));
        }
        gm_vhost_queue_notify(q);
        /* With event index, re-check after publishing avail_event. A queue
         * being stopped pops nothing although the ring has work: leave. */
    } while (ret == 0 && !gm_vhost_queue_stopping(q) && gm_virtq_enable_notification(vq) > 0);
}

static const gm_vhost_device_ops blk_ops = {
    .get_config = blk_device_get_config,
    .handle = blk_device_handle,
};

const gm_vhost_device_ops *blk_device_ops(void)
{
    return &blk_ops;
}
