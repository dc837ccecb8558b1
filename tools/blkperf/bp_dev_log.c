/* SPDX-License-Identifier: MIT */
/*
 * The front-end messages of a migration, as QEMU 7.2 sends them
 * (hw/virtio/vhost.c, vhost-user.c): dirty logging switched on and off
 * while the rings run, and a ring's GET_VRING_BASE timed when the VM
 * stops (bp_dev.h has the contracts).
 *
 * Logging on: SET_LOG_BASE (the log's memfd; with LOG_SHMFD the back-end
 * replies), SET_FEATURES | VHOST_F_LOG_ALL and SET_VRING_ADDR with the log
 * flag, both with NEED_REPLY (or followed by GET_FEATURES without
 * REPLY_ACK), so that when this returns the back-end is logging. Logging
 * off: the same two without the bit and without waiting, as QEMU.
 *
 * Glossary: d = device; w = what is wanted; vq = one virtqueue's setup.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "bp_dev.h"
#include "bp_util.h"

static int set_log_base(bp_dev *d, int fd, uint64_t size)
{
    vu_log log = { .mmap_size = size, .mmap_offset = 0 };
    int err = bp_conn_call(&d->conn, VU_SET_LOG_BASE, &log, sizeof(log), &fd, 1);

    return err ? bp_dev_step_failed(d, VU_SET_LOG_BASE, err) : 0;
}

/* A request QEMU waits for when logging goes on, and does not when it goes off. */
static int set_waiting(bp_dev *d, uint32_t req, bool wait, const void *payload, uint32_t size)
{
    int err = bp_conn_set(&d->conn, req, wait, payload, size, NULL, 0);

    if (err)
        return bp_dev_step_failed(d, req, err);
    return wait ? bp_dev_sync(d, req) : 0;
}

static int set_features(bp_dev *d, bool log)
{
    uint64_t f = d->acked | (log ? BIT64(VHOST_F_LOG_ALL) : 0);

    return set_waiting(d, VU_SET_FEATURES, log, &f, sizeof(f));
}

static int set_ring_log(bp_dev *d, uint32_t i, const bp_vq *vq, bool log, uint64_t log_addr)
{
    vu_addr a = { .index = i, .flags = log ? 1u << VU_VRING_F_LOG : 0, .desc = vq->desc_addr,
                  .used = vq->dev_addr, .avail = vq->drv_addr, .log = log_addr };

    return set_waiting(d, VU_SET_VRING_ADDR, log, &a, sizeof(a));
}

int bp_dev_log_start(bp_dev *d, const bp_want *w, bp_vq *const *vqs, const uint64_t *log_addr,
                     int log_fd, uint64_t log_size)
{
    int err = set_log_base(d, log_fd, log_size);

    err = err ? err : set_features(d, true);
    for (unsigned int i = 0; i < w->queues && !err; i++)
        err = set_ring_log(d, i, vqs[i], true, log_addr[i]);
    return err;
}

int bp_dev_log_stop(bp_dev *d, const bp_want *w, bp_vq *const *vqs)
{
    int err = set_features(d, false);

    for (unsigned int i = 0; i < w->queues && !err; i++)
        err = set_ring_log(d, i, vqs[i], false, 0);
    return err;
}

int bp_dev_get_base_timed(bp_dev *d, uint32_t i, uint32_t *base, uint64_t *ns)
{
    vu_state s = { i, 0 }, reply;
    uint64_t t0 = bp_now_ns();
    int err = bp_conn_get(&d->conn, VU_GET_VRING_BASE, &s, sizeof(s), &reply, sizeof(reply), NULL);

    *ns = bp_now_ns() - t0;
    if (err)
        return bp_dev_step_failed(d, VU_GET_VRING_BASE, err);
    if (reply.index != i) {
        bp_fail("GET_VRING_BASE: asked for ring %u, the reply is for ring %u", i, reply.index);
        return -EBADMSG;
    }
    *base = reply.num;
    return 0;
}
