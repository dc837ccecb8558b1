/* SPDX-License-Identifier: MIT */
/*
 * guestmem-blkperf as the vhost-user front-end of a vhost-user-blk device,
 * in QEMU 7.2's order (hw/virtio/vhost-user.c, vhost.c,
 * hw/block/vhost-user-blk.c):
 *
 *   connect:  GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 *             GET_QUEUE_NUM (MQ), SET_BACKEND_REQ_FD (vIOMMU), SET_OWNER,
 *             GET_CONFIG
 *   start:    SET_FEATURES, GET_INFLIGHT_FD (first time), SET_INFLIGHT_FD,
 *             SET_FEATURES, SET_MEM_TABLE, per ring SET_VRING_NUM, _BASE,
 *             _ADDR, _KICK, _CALL; SET_VRING_ENABLE 1 on every ring; with a
 *             vIOMMU an IOTLB update for each used ring
 *   stop:     SET_VRING_ENABLE 0 on every ring, GET_VRING_BASE per ring
 *
 * SET_BACKEND_REQ_FD and SET_MEM_TABLE ask for an acknowledgement when
 * REPLY_ACK is negotiated, as QEMU does. A reconnect repeats connect and
 * start on a new socket with the same in-flight region and ring bases
 * taken from the rings' used indices.
 *
 * Everything the back-end says is checked: features it must offer for
 * what was asked, config values, reply sizes. A failure is reported with
 * bp_fail(), naming the message.
 */
#ifndef GUESTMEM_BLKPERF_DEV_H
#define GUESTMEM_BLKPERF_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bp_conn.h"
#include "bp_iommu.h"
#include "bp_mem.h"
#include "bp_ring.h"

/** struct bp_want - what the run asks of the device. */
typedef struct bp_want {
    unsigned int queues;
    uint16_t queue_size;
    bool packed;
    bool event_idx;
    bool indirect;
    bool iommu;
    bool log;                /* dirty logging (--log): LOG_ALL and LOG_SHMFD offered */
} bp_want;

/** struct bp_blk_info - the device's virtio-blk config, checked. */
typedef struct bp_blk_info {
    uint64_t capacity;       /* bytes */
    uint32_t size_max;       /* per segment; UINT32_MAX when not offered */
    uint32_t seg_max;        /* data segments; 0 when not offered */
    uint32_t blk_size;       /* logical block size */
    bool read_only;
} bp_blk_info;

/** struct bp_vq - one virtqueue as the front-end sets it up. */
typedef struct bp_vq {
    bp_ring ring;
    int kick_fd;
    int call_fd;
    uint64_t desc_addr;      /* addresses for SET_VRING_ADDR: user addresses or IOVAs */
    uint64_t drv_addr;
    uint64_t dev_addr;
    uint64_t ring_gpa;       /* guest-physical address of the ring's memory */
    bool resume;             /* the next start resumes at @resume_base (GET_VRING_BASE's) */
    uint32_t resume_base;
} bp_vq;

/**
 * struct bp_dev - the connection and what was negotiated.
 * @conn: front-end socket
 * @features: what the back-end offers; @acked: what SET_FEATURES sends
 * @pfeatures: protocol features offered; @pf_acked: negotiated
 * @max_queues: GET_QUEUE_NUM (1 without MQ)
 * @blk: config
 * @inflight: the in-flight region (kept across reconnects, as QEMU does)
 * @peer_pid: the back-end process (SO_PEERCRED), or 0
 */
typedef struct bp_dev {
    bp_conn conn;
    uint64_t features;
    uint64_t acked;
    uint64_t pfeatures;
    uint64_t pf_acked;
    uint64_t max_queues;
    bp_blk_info blk;
    vu_inflight inflight;
    int inflight_fd;
    void *inflight_map;
    pid_t peer_pid;
} bp_dev;

/** bp_dev_init() - an unconnected device with @timeout_ms per reply. */
void bp_dev_init(bp_dev *d, int timeout_ms);

/** bp_dev_destroy() - close the socket and release the in-flight region. */
void bp_dev_destroy(bp_dev *d);

/**
 * bp_dev_connect() - connect to @path, retrying while the socket is not
 * there yet or refuses (a back-end still starting) until @wait_ms passed.
 * @alive: if not NULL, called between attempts; returning false stops
 *
 * Return: 0, or the last connect() error (reported).
 */
int bp_dev_connect(bp_dev *d, const char *path, int wait_ms, bool (*alive)(void *), void *opaque);

/**
 * bp_dev_handshake() - the connect phase: features, protocol features,
 * queue count, back-end channel, owner, config.
 * @d: connected device
 * @w: what is wanted
 * @chan: receives our end of the back-end channel (vIOMMU), else -1
 *
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_handshake(bp_dev *d, const bp_want *w, int *chan);

/**
 * bp_dev_start() - the start phase, through SET_VRING_ENABLE and, with
 * @io, the used rings' IOTLB updates.
 * @restart: a reconnect (rings resume at their used index)
 *
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_start(bp_dev *d, const bp_want *w, const bp_mem *m, bp_vq *const *vqs, bp_iommu *io,
                 bool restart);

/**
 * bp_dev_stop() - disable the rings and check each GET_VRING_BASE against
 * what the driver made available (everything must have been used).
 *
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_stop(bp_dev *d, const bp_want *w, bp_vq *const *vqs);

/** bp_dev_disable_rings() - SET_VRING_ENABLE 0 on every ring. Return: 0 or -errno (reported). */
int bp_dev_disable_rings(bp_dev *d, const bp_want *w);

/**
 * bp_dev_sync() - make sure the back-end has handled @req, which was sent
 * asking for an acknowledgement: without REPLY_ACK, GET_FEATURES, whose
 * reply comes after it (QEMU's enforce_reply()).
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_sync(bp_dev *d, uint32_t req);

/**
 * bp_dev_step_failed() - report "MESSAGE: why" for @err of request @req.
 * Return: @err.
 */
int bp_dev_step_failed(const bp_dev *d, uint32_t req, int err);

/* dirty logging and the timed stop of a migration (bp_dev_log.c) */

/**
 * bp_dev_log_start() - what QEMU 7.2 sends when migration starts
 * (vhost_dev_log_resize(), vhost_dev_set_log()): SET_LOG_BASE with the
 * log's fd, SET_FEATURES with VHOST_F_LOG_ALL, then SET_VRING_ADDR with
 * VU_VRING_F_LOG on every ring; the last two acknowledged (QEMU waits for
 * both "to make sure backend is actually logging changes").
 * @log_addr: per ring, the used ring's address for the log (QEMU's
 *            used_phys: guest-physical, or the IOVA behind a vIOMMU)
 *
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_log_start(bp_dev *d, const bp_want *w, bp_vq *const *vqs, const uint64_t *log_addr,
                     int log_fd, uint64_t log_size);

/**
 * bp_dev_log_stop() - what QEMU sends when migration is cancelled:
 * SET_FEATURES without VHOST_F_LOG_ALL and SET_VRING_ADDR without the log
 * flag, neither acknowledged.
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_log_stop(bp_dev *d, const bp_want *w, bp_vq *const *vqs);

/**
 * bp_dev_get_base_timed() - GET_VRING_BASE of ring @i.
 * @base: the reply
 * @ns: from sending the request to reading the reply
 * Return: 0 or a negative errno (reported).
 */
int bp_dev_get_base_timed(bp_dev *d, uint32_t i, uint32_t *base, uint64_t *ns);

#endif
