/* SPDX-License-Identifier: MIT */
/*
 * In-flight request tracking (GET/SET_INFLIGHT_FD), so a restarted back-end
 * can finish what a crashed one had taken.
 *
 * The back-end allocates the shared area (a memfd), QEMU keeps it across
 * back-end restarts and hands it back with SET_INFLIGHT_FD. Layout per
 * queue, QEMU's split-ring format: a 16-byte header (features, version,
 * desc_num, last_batch_head, used_idx) and one 16-byte state per
 * descriptor (inflight flag, next, counter), padded to 64 bytes.
 *
 * Pop marks the head in flight (counter first, then the flag); push links
 * the head as the last batch before the used index moves, then clears the
 * flag and records the new used index. On restart, a used index that moved
 * without the record means the last batch completed: its flag is cleared.
 * The heads still marked are the requests taken and not completed, in any
 * order (an asynchronous device completes out of order): they are
 * resubmitted by head, oldest counter first, and the ring resumes after
 * all that was taken (used index + their number), as libvhost-user does.
 *
 * The area is a file shared with the front-end, so its size must not
 * change while mapped (a truncation would turn the next access into
 * SIGBUS): the memfd created here is sealed against growing, shrinking and
 * further sealing before it is handed out, and one the front-end passes
 * back must be sealed against shrinking (ours is; so is libvhost-user's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost/vhost_int.h"

#define INFLIGHT_ALIGN 64u

/* One queue's region: room for either layout (split here, packed in
 * vhost_inflight_packed.c), since the area is made before the rings know. */
static uint64_t queue_region_size(uint16_t queue_size)
{
    uint64_t split = sizeof(vu_inflight_queue) + (uint64_t)queue_size * sizeof(vu_inflight_desc);
    uint64_t packed = vu_inflight_packed_bytes(queue_size);
    uint64_t bytes = split > packed ? split : packed;

    return (bytes + INFLIGHT_ALIGN - 1) & ~(uint64_t)(INFLIGHT_ALIGN - 1);
}

static bool geometry_ok(const gm_vhost_dev *dev, uint16_t num_queues, uint16_t queue_size)
{
    /* Packed rings may have any size (the area then goes unused: only
     * split rings are tracked); split ring sizes are checked at
     * SET_VRING_NUM. */
    return num_queues && num_queues <= dev->cfg.num_queues && queue_size &&
           queue_size <= GM_VIRTQ_MAX_SIZE;
}

/* Queue threads write the area: it may only change while every queue is stopped. */
static bool queues_stopped(gm_vhost_dev *dev)
{
    for (unsigned int i = 0; i < dev->cfg.num_queues && i < VU_MAX_QUEUES; i++) {
        if (dev->queues[i].running) {
            gm_log(dev->sys, GM_LOG_GUEST_ERROR,
                   "inflight area change refused: queue %u is running", i);
            return false;
        }
    }
    return true;
}

static void install(gm_vhost_dev *dev, int fd, uint8_t *area, uint64_t size, uint16_t nq,
                    uint16_t qs)
{
    vu_inflight_release(dev);
    dev->inflight_fd = fd;
    dev->inflight = area;
    dev->inflight_size = size;
    dev->inflight_num_queues = nq;
    dev->inflight_queue_size = qs;
}

int vu_inflight_get(gm_vhost_dev *dev, const vu_inflight *req, vu_inflight *reply, int *fd_out)
{
    uint64_t qsize, size;
    uint8_t *area;
    int fd;

    if (!geometry_ok(dev, req->num_queues, req->queue_size))
        return -EINVAL;
    if (!queues_stopped(dev))
        return -EBUSY;
    qsize = queue_region_size(req->queue_size);
    size = qsize * req->num_queues;
    fd = memfd_create("guestmem-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, (off_t)size) < 0 || vu_file_seal_size(fd) < 0 ||
        (area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        int err = -errno;

        if (fd >= 0)
            close(fd);
        return err;
    }
    for (uint16_t i = 0; i < req->num_queues; i++) {
        vu_inflight_queue *iq = (vu_inflight_queue *)(area + i * qsize);

        iq->version = 1;
        iq->desc_num = req->queue_size;
    }
    install(dev, fd, area, size, req->num_queues, req->queue_size);
    *reply = (vu_inflight){ size, 0, req->num_queues, req->queue_size, 0 };
    *fd_out = fd;
    return 0;
}

int vu_inflight_set(gm_vhost_dev *dev, const vu_inflight *req, int fd)
{
    uint64_t size;
    uint8_t *area;

    if (fd < 0 || !geometry_ok(dev, req->num_queues, req->queue_size) || !queues_stopped(dev))
        goto fail;
    size = queue_region_size(req->queue_size) * req->num_queues;
    if (req->mmap_size != size || req->mmap_offset % 4096 ||
        vu_file_check(dev->sys, fd, req->mmap_offset, size, VU_FILE_REQUIRE_SEALED,
                      "in-flight area fd") < 0)
        goto fail;
    area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)req->mmap_offset);
    if (area == MAP_FAILED)
        goto fail;
    install(dev, fd, area, size, req->num_queues, req->queue_size);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    return -EINVAL;
}

void vu_inflight_release(gm_vhost_dev *dev)
{
    for (unsigned int i = 0; i < VU_MAX_QUEUES; i++) {
        dev->queues[i].inflight = NULL;
        dev->queues[i].inflight_packed = NULL;
    }
    if (dev->inflight)
        munmap(dev->inflight, dev->inflight_size);
    if (dev->inflight_fd >= 0)
        close(dev->inflight_fd);
    dev->inflight = NULL;
    dev->inflight_fd = -1;
}

/* One head in flight, with the counter it was taken with (a snapshot: the
 * front-end can rewrite the shared area at any time). */
typedef struct inflight_head {
    uint64_t counter;
    uint16_t head;
} inflight_head;

static int by_counter(const void *a, const void *b)
{
    const inflight_head *x = a, *y = b;

    return x->counter < y->counter ? -1 : x->counter > y->counter;
}

/* Settle an interrupted last batch, then collect the heads still in flight
 * into q->resubmit in the order they were taken. Bounds come from the
 * queue size, never from the shared area. Returns how many. */
static unsigned int recover(gm_vhost_queue *q, vu_inflight_queue *iq, uint16_t used_idx)
{
    uint16_t last = iq->last_batch_head, num = (uint16_t)q->num;
    inflight_head *heads = malloc(num * sizeof(*heads));
    unsigned int n = 0;

    if (iq->used_idx != used_idx) {
        if (last < num)
            iq->desc[last].inflight = 0;
        iq->used_idx = used_idx;
    }
    q->resubmit = heads ? malloc(num * sizeof(*q->resubmit)) : NULL;
    if (!q->resubmit) {
        free(heads);
        return 0;
    }
    for (uint16_t i = 0; i < num; i++) {
        if (__atomic_load_n(&iq->desc[i].inflight, __ATOMIC_ACQUIRE) == 1)
            heads[n++] = (inflight_head){ iq->desc[i].counter, i };
    }
    qsort(heads, n, sizeof(*heads), by_counter);
    for (unsigned int i = 0; i < n; i++) {
        q->resubmit[i] = heads[i].head;
        q->inflight_counter = heads[i].counter > q->inflight_counter ? heads[i].counter
                                                                     : q->inflight_counter;
    }
    free(heads);
    return n;
}

static void report_resubmit(gm_vhost_queue *q, unsigned int inuse)
{
    if (!inuse)
        return;
    gm_log(q->dev->sys, GM_LOG_WARNING, "queue %u: resubmitting %u in-flight requests", q->idx,
           inuse);
    __atomic_add_fetch(&q->dev->stats.resubmitted, inuse, __ATOMIC_RELAXED);
}

static int start_packed(gm_vhost_queue *q, uint8_t *region)
{
    q->chain_scratch = malloc(q->num * sizeof(*q->chain_scratch));
    if (!q->chain_scratch)
        return 0;   /* untracked */
    q->nresubmit = vu_inflight_packed_start(q, region);
    report_resubmit(q, q->nresubmit);
    return 0;
}

/*
 * The requests still marked in flight were taken by an earlier back-end and
 * not completed, in any order: they are resubmitted from their heads
 * (gm_vhost_queue_pop() returns them first), and the ring goes on after
 * everything that back-end took: used_idx + in flight, since every head it
 * took is either completed (counted by used_idx) or still in flight.
 */
int vu_inflight_queue_start(gm_vhost_queue *q)
{
    gm_vhost_dev *dev = q->dev;
    vu_inflight_queue *iq;
    uint16_t used_idx;
    unsigned int inuse;

    q->inflight = NULL;
    vu_inflight_queue_stop(q);
    if (!dev->inflight || q->idx >= dev->inflight_num_queues || dev->inflight_queue_size != q->num)
        return 0;
    if (vu_has_feature(dev, VIRTIO_F_RING_PACKED))
        return start_packed(q, dev->inflight + q->idx * queue_region_size(q->num));
    iq = (vu_inflight_queue *)(dev->inflight + q->idx * queue_region_size(q->num));
    if (iq->desc_num != q->num)
        return 0;
    if (iq->version != 1) {
        /* Fresh area from another back-end: start clean. */
        memset(iq->desc, 0, (size_t)q->num * sizeof(vu_inflight_desc));
        iq->version = 1;
    }
    used_idx = gm_virtq_get_used_idx(q->vq);
    inuse = recover(q, iq, used_idx);
    gm_virtq_set_last_avail_idx(q->vq, (uint16_t)(used_idx + inuse));
    report_resubmit(q, inuse);
    q->nresubmit = inuse;
    q->inflight = iq;
    return 0;
}

void vu_inflight_queue_stop(gm_vhost_queue *q)
{
    free(q->resubmit);
    free(q->chain_scratch);
    q->resubmit = NULL;
    q->chain_scratch = NULL;
    q->inflight_packed = NULL;
    q->nresubmit = q->resubmit_pos = 0;
}

bool vu_inflight_next_resubmit(gm_vhost_queue *q, uint16_t *head)
{
    if (q->resubmit_pos >= q->nresubmit)
        return false;
    *head = q->resubmit[q->resubmit_pos++];
    return true;
}

void vu_inflight_mark(gm_vhost_queue *q, uint16_t head)
{
    vu_inflight_queue *iq = q->inflight;

    if (q->inflight_packed) {
        vu_inflight_packed_mark(q, head);
        return;
    }
    if (!iq || head >= q->num)
        return;
    iq->desc[head].counter = ++q->inflight_counter;
    __atomic_store_n(&iq->desc[head].inflight, 1, __ATOMIC_RELEASE);
}

/* A head given back before it was started: no longer in flight. */
void vu_inflight_unmark(gm_vhost_queue *q, uint16_t head)
{
    vu_inflight_queue *iq = q->inflight;

    if (q->inflight_packed) {
        vu_inflight_packed_unmark(q, head);
        return;
    }
    if (!iq || head >= q->num)
        return;
    __atomic_store_n(&iq->desc[head].inflight, 0, __ATOMIC_RELEASE);
}

void vu_inflight_before_push(gm_vhost_queue *q, uint16_t head)
{
    vu_inflight_queue *iq = q->inflight;

    if (q->inflight_packed) {
        vu_inflight_packed_before_push(q, head);
        return;
    }
    if (!iq || head >= q->num)
        return;
    iq->desc[head].next = iq->last_batch_head;
    __atomic_store_n(&iq->last_batch_head, head, __ATOMIC_RELEASE);
}

void vu_inflight_after_push(gm_vhost_queue *q, uint16_t head, uint16_t used_idx)
{
    vu_inflight_queue *iq = q->inflight;

    if (q->inflight_packed) {
        vu_inflight_packed_after_push(q, head, used_idx);
        return;
    }
    if (!iq || head >= q->num)
        return;
    __atomic_store_n(&iq->desc[head].inflight, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&iq->used_idx, used_idx, __ATOMIC_RELEASE);
}
