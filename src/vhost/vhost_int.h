/* SPDX-License-Identifier: MIT */
/*
 * Internal state of a vhost-user device, shared by the files of src/vhost.
 *
 * Threads: one message thread (gm_vhost_dev_run) owns the device state and
 * starts/stops one thread per running queue. A queue's configuration (size,
 * addresses, base, kick fd) changes only while it is stopped; what may
 * change while it runs is guarded: the call fd by call_lock, "enabled" and
 * "refresh" are atomics, the memory table is guestmem's (RCU readers).
 */
#ifndef GUESTMEM_VHOST_INT_H
#define GUESTMEM_VHOST_INT_H

#include <pthread.h>

#include <guestmem/vhost.h>

#include "vhost/vhost_iotlb.h"
#include "vhost/vhost_mem.h"
#include "vhost/vhost_proto.h"

#define VU_MAX_QUEUES 64u
#define VU_SEG_MAX 1026u

typedef struct vu_inflight_desc {
    uint8_t inflight;
    uint8_t padding[5];
    uint16_t next;
    uint64_t counter;
} vu_inflight_desc;

typedef struct vu_inflight_queue {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;
    uint16_t last_batch_head;
    uint16_t used_idx;
    vu_inflight_desc desc[];
} vu_inflight_queue;

struct gm_vhost_queue {
    gm_vhost_dev *dev;
    unsigned int idx;

    /* Configuration: message thread, while stopped. */
    uint32_t num;
    vu_vring_addr addr;
    uint32_t base;                /* gm_virtq_get_base() encoding */
    int kick_fd;
    int err_fd;

    pthread_mutex_t call_lock;
    int call_fd;

    int enabled;                  /* atomic */
    int refresh;                  /* atomic: ring caches are stale */
    bool running;
    pthread_t thread;
    int wake_fd;                  /* eventfd: stop or re-check */
    int stopping;                 /* atomic */
    bool err_signalled;           /* the err eventfd was written for this run */

    gm_virtq *vq;
    gm_as *as;
    vu_inflight_queue *inflight;  /* in the shared inflight area, or NULL */
    uint64_t inflight_counter;
    uint16_t *resubmit;           /* heads to resubmit, in counter order */
    unsigned int nresubmit;
    unsigned int resubmit_pos;
};

struct gm_vhost_dev {
    gm_vhost_config cfg;
    const gm_vhost_device_ops *ops;
    void *opaque;
    gm_system *sys;
    vu_mem mem;
    vu_iotlb_table iotlb;
    gm_region *dma_root;          /* holds the IOTLB's IOMMU region */
    gm_as *dma_as;                /* IOVAs (VIRTIO_F_IOMMU_PLATFORM) */

    int sock;
    int backend_fd;
    uint64_t features;            /* acked */
    uint64_t protocol_features;   /* acked */
    uint8_t status;
    gm_vhost_queue queues[VU_MAX_QUEUES];

    int log_fd;
    uint8_t *log;                 /* SET_LOG_BASE area (at log_offset in its mapping) */
    uint64_t log_offset;
    uint64_t log_size;
    pthread_mutex_t log_lock;

    int inflight_fd;
    uint8_t *inflight;
    uint64_t inflight_size;
    uint16_t inflight_queue_size;
    uint16_t inflight_num_queues;

    gm_vhost_stats stats;         /* relaxed atomics */
};

#define VU_STAT(dev, field) __atomic_add_fetch(&(dev)->stats.field, 1, __ATOMIC_RELAXED)

static inline bool vu_has_feature(const gm_vhost_dev *dev, unsigned int bit)
{
    return dev->features & (1ull << bit);
}

static inline bool vu_has_protocol(const gm_vhost_dev *dev, unsigned int bit)
{
    return dev->protocol_features & (1ull << bit);
}

/* vhost_queue.c */
void vu_queue_init(gm_vhost_queue *q, gm_vhost_dev *dev, unsigned int idx);
int vu_queue_start(gm_vhost_queue *q);
void vu_queue_stop(gm_vhost_queue *q);
void vu_queue_reset(gm_vhost_queue *q);
void vu_queue_set_call(gm_vhost_queue *q, int fd);
void vu_queue_set_enabled(gm_vhost_queue *q, bool enabled);
void vu_queue_refresh_all(gm_vhost_dev *dev);
/* Refresh the queues whose rings overlap the IOVAs [first, last]. */
void vu_queue_refresh_range(gm_vhost_dev *dev, uint64_t first, uint64_t last);

/* vhost_inflight.c */
int vu_inflight_get(gm_vhost_dev *dev, const vu_inflight *req, vu_inflight *reply, int *fd);
int vu_inflight_set(gm_vhost_dev *dev, const vu_inflight *req, int fd);
void vu_inflight_release(gm_vhost_dev *dev);
int vu_inflight_queue_start(gm_vhost_queue *q);
void vu_inflight_mark(gm_vhost_queue *q, uint16_t head);
void vu_inflight_before_push(gm_vhost_queue *q, uint16_t head);
void vu_inflight_after_push(gm_vhost_queue *q, uint16_t head, uint16_t used_idx);

/* vhost_log.c */
int vu_log_set_base(gm_vhost_dev *dev, const vu_log *log, int fd);
void vu_log_set_logging(gm_vhost_dev *dev, bool on);
void vu_log_sync(gm_vhost_dev *dev);
void vu_log_release(gm_vhost_dev *dev);

#endif
