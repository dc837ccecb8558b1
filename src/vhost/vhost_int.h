/* SPDX-License-Identifier: MIT */
/*
 * Internal state of a vhost-user device, shared by the files of src/vhost.
 *
 * Threads: one message thread (gm_vhost_dev_run) owns the device state and
 * starts/stops one thread per running queue. Who may touch what:
 *
 *   field                          written by                 read by queue threads
 *   -----------------------------  -------------------------  ---------------------------
 *   q->num, addr, base, kick_fd,   message thread, queue      no (the thread copies what it
 *   q->vq (created by the thread)  stopped                    needs at start; vq is its own)
 *   q->call_fd, q->err_fd          message thread, fd_lock    under fd_lock (notify, error)
 *   q->enabled, q->refresh,        message thread, atomic     atomic loads
 *   q->recheck, q->stopping
 *   q->inflight                    message thread, stopped    the queue's own thread
 *   dev->features                  message thread, atomic;    atomic loads (vu_has_feature);
 *                                  while a queue runs only    only LOG_ALL may change under
 *                                  LOG_ALL may change         a running queue
 *   dev->protocol_features         message thread             no
 *   dev->mem slots                 message thread, slots_lock under slots_lock; the regions
 *                                  and transactions           through guestmem (RCU)
 *   dev->iotlb entries             message thread, its lock   under its lock
 *   dev->log, log_size             message thread, log_lock   under log_lock
 *   dev->inflight area             message thread, all        the queue's slice only
 *                                  queues stopped
 *   dev->stats                     any thread, relaxed atomics
 *
 * A queue's configuration changes only while it is stopped; the message
 * thread stops a queue (GET_VRING_BASE, reset, disconnect) by setting
 * `stopping`, waking and joining its thread.
 *
 * Connections: everything of a connection (fds, mappings, grant tables,
 * IOTLB entries, the log, the in-flight area, features) is dropped when it
 * ends (vu_session_end); RESET_DEVICE drops the same but for what belongs
 * to the connection itself (protocol features, the back-end channel).
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

    pthread_mutex_t fd_lock;      /* call_fd and err_fd */
    int call_fd;
    int err_fd;

    int enabled;                  /* atomic */
    int refresh;                  /* atomic: ring caches are stale */
    int recheck;                  /* atomic: look at the ring (it was enabled) */
    bool running;
    pthread_t thread;
    int wake_fd;                  /* eventfd: stop or re-check */
    int stopping;                 /* atomic */
    bool err_signalled;           /* the err eventfd was written for this run */

    gm_virtq *vq;
    gm_as *as;
    vu_inflight_queue *inflight;  /* in the shared inflight area, or NULL */
    void *inflight_packed;        /* the same, packed layout (vhost_inflight_packed.c) */
    gm_virtq_desc *chain_scratch; /* packed: a chain's descriptors, queue size entries */
    uint64_t inflight_counter;
    /* Queue thread: heads an earlier back-end left in flight, oldest first. */
    uint16_t *resubmit;
    unsigned int nresubmit;
    unsigned int resubmit_pos;
    bool last_resubmitted;        /* the last pop came from @resubmit */
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
    pthread_mutex_t log_lock;     /* dev->log stays mapped while held */

    int inflight_fd;
    uint8_t *inflight;
    uint64_t inflight_size;
    uint16_t inflight_queue_size;
    uint16_t inflight_num_queues;

    gm_vhost_stats stats;         /* relaxed atomics */
};

#define VU_STAT(dev, field) __atomic_add_fetch(&(dev)->stats.field, 1, __ATOMIC_RELAXED)

/* Any thread (the ownership table above). */
static inline bool vu_has_feature(const gm_vhost_dev *dev, unsigned int bit)
{
    return __atomic_load_n(&dev->features, __ATOMIC_ACQUIRE) & (1ull << bit);
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
void vu_queue_set_err(gm_vhost_queue *q, int fd);
void vu_queue_set_enabled(gm_vhost_queue *q, bool enabled);
void vu_queue_refresh_all(gm_vhost_dev *dev);
/* Refresh the queues whose rings overlap the IOVAs [first, last]. */
void vu_queue_refresh_range(gm_vhost_dev *dev, uint64_t first, uint64_t last);

/* vhost_inflight.c */
int vu_inflight_get(gm_vhost_dev *dev, const vu_inflight *req, vu_inflight *reply, int *fd);
int vu_inflight_set(gm_vhost_dev *dev, const vu_inflight *req, int fd);
void vu_inflight_release(gm_vhost_dev *dev);
/* vhost_inflight_packed.c: the same for packed rings (queue thread). */
#define VU_INFLIGHT_PACKED_VERSION 2u
uint64_t vu_inflight_packed_bytes(uint16_t queue_size);
/* Recover (or initialise) the queue's region; returns how many requests
 * are to be resubmitted (in q->resubmit, oldest first). */
unsigned int vu_inflight_packed_start(gm_vhost_queue *q, void *region);
/* The saved chain of @id into @out (queue size entries); its length or 0. */
unsigned int vu_inflight_packed_chain(gm_vhost_queue *q, uint16_t id, gm_virtq_desc *out);
void vu_inflight_packed_mark(gm_vhost_queue *q, uint16_t id);
void vu_inflight_packed_unmark(gm_vhost_queue *q, uint16_t id);
void vu_inflight_packed_before_push(gm_vhost_queue *q, uint16_t id);
void vu_inflight_packed_after_push(gm_vhost_queue *q, uint16_t id, uint16_t used);

/* Queue thread, at ring start: recover the queue's in-flight state. */
int vu_inflight_queue_start(gm_vhost_queue *q);
/* Queue thread, at ring stop: free the resubmission list. */
void vu_inflight_queue_stop(gm_vhost_queue *q);
/* The next head to resubmit; false when none is left. */
bool vu_inflight_next_resubmit(gm_vhost_queue *q, uint16_t *head);
void vu_inflight_mark(gm_vhost_queue *q, uint16_t head);
void vu_inflight_unmark(gm_vhost_queue *q, uint16_t head);
void vu_inflight_before_push(gm_vhost_queue *q, uint16_t head);
void vu_inflight_after_push(gm_vhost_queue *q, uint16_t head, uint16_t used_idx);

/* vhost_log.c */
/* SET_LOG_BASE: map the log (takes @fd; it must be sealed against shrinking). */
int vu_log_set_base(gm_vhost_dev *dev, const vu_log *log, int fd);
/* With VHOST_F_LOG_ALL and a log: mark the pages of @elem's device-writable
 * buffers (before the push) / the ring's device area (after a push, and as
 * the queue stops). Queue thread. */
void vu_log_buffers(gm_vhost_queue *q, const gm_virtq_elem *elem);
void vu_log_rings(gm_vhost_queue *q);
void vu_log_release(gm_vhost_dev *dev);

#endif
