/* SPDX-License-Identifier: MIT */
/*
 * vhost-user queues: starting, running and stopping one thread per ring.
 *
 * A ring starts when the front-end sets its kick fd (after size, addresses
 * and base) and stops on GET_VRING_BASE or reset. Its thread sleeps in
 * poll() on the kick eventfd, a private wake eventfd and the device's
 * completion fd; on a kick (or when the ring is enabled) it lets the
 * device handle the ring if it is enabled. Stop sets `stopping`, wakes the
 * thread and joins it, so the device never runs after GET_VRING_BASE
 * replied.
 *
 * The ring is guest memory the device may touch only when the driver asks
 * (a kick, enabling the ring) or to complete what it took: a change of the
 * memory table or an IOTLB invalidation only marks the ring caches stale,
 * and they are rebuilt on the next pop or push, not at once. Rebuilding
 * them at once read the ring through the IOMMU after the guest had
 * stopped mapping it (the firmware's ring, when Linux turns the IOMMU on),
 * a DMA fault in the guest's log.
 *
 * Ring addresses are user addresses of the front-end (translated to guest
 * physical through the memory table) or, with VIRTIO_F_IOMMU_PLATFORM, IOVAs
 * used as they are in the IOTLB-backed address space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vhost/vhost_int.h"

void vu_queue_init(gm_vhost_queue *q, gm_vhost_dev *dev, unsigned int idx)
{
    memset(q, 0, sizeof(*q));
    q->dev = dev;
    q->idx = idx;
    q->kick_fd = q->call_fd = q->err_fd = -1;
    q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&q->fd_lock, NULL);
}

static void wake(gm_vhost_queue *q)
{
    uint64_t one = 1;

    if (write(q->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        gm_log(q->dev->sys, GM_LOG_WARNING, "queue %u: wake failed", q->idx);
}

/*
 * Consume what poll() reported on @pfd, reading at most once: one eventfd
 * read clears its whole counter, and a further read on a blocking fd the
 * peer passed would wait forever. A fd at end of file or in error is
 * dropped from the poll set (it would report itself ready forever).
 */
static bool consume_event(gm_vhost_queue *q, struct pollfd *pfd, const char *what)
{
    uint64_t v;
    ssize_t n = 0;

    if (pfd->fd < 0 || !pfd->revents)
        return false;
    if (pfd->revents & POLLIN) {
        n = read(pfd->fd, &v, sizeof(v));
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return n > 0;
    }
    gm_log(q->dev->sys, GM_LOG_GUEST_ERROR, "queue %u: %s fd %s; no longer polled", q->idx,
           what, n == 0 && (pfd->revents & POLLIN) ? "at end of file" : "in error");
    pfd->fd = -1;
    return false;
}

static gm_as *queue_as(gm_vhost_dev *dev)
{
    return vu_has_feature(dev, VIRTIO_F_IOMMU_PLATFORM) ? dev->dma_as : dev->mem.gpa_as;
}

static int ring_addr(gm_vhost_dev *dev, uint64_t a, gm_addr *out)
{
    if (vu_has_feature(dev, VIRTIO_F_IOMMU_PLATFORM)) {
        *out = a;
        return 0;
    }
    return vu_mem_uaddr_to_gpa(&dev->mem, a, out, NULL);
}

static void virtq_log_to_system(void *opaque, enum gm_log_level level, const char *msg)
{
    gm_vhost_queue *q = opaque;

    gm_log(q->dev->sys, level, "queue %u: %s", q->idx, msg);
}

/*
 * A chain that cannot be read while the queue is being stopped is not the
 * driver's fault: the front-end waits for GET_VRING_BASE and answers no
 * IOTLB miss (QEMU does not either), so the IOTLB gave up. The chain stays
 * available for whoever resumes the ring.
 */
static bool queue_stopping(void *opaque)
{
    return gm_vhost_queue_stopping(opaque);
}

static int create_virtq(gm_vhost_queue *q)
{
    gm_vhost_dev *dev = q->dev;
    gm_virtq_config cfg = { .size = q->num,
                           .features = __atomic_load_n(&dev->features, __ATOMIC_ACQUIRE) };
    int err;

    if (ring_addr(dev, q->addr.desc, &cfg.desc_addr) ||
        ring_addr(dev, q->addr.avail, &cfg.avail_addr) ||
        ring_addr(dev, q->addr.used, &cfg.used_addr))
        return -EFAULT;
    q->as = queue_as(dev);
    err = gm_virtq_new(q->as, &cfg, &q->vq);
    if (err)
        return err;
    gm_virtq_set_log(q->vq, virtq_log_to_system, q);
    gm_virtq_set_transient(q->vq, queue_stopping, q);
    gm_virtq_set_base(q->vq, q->base);
    return 0;
}

/* Signal the eventfd in *@fd under fd_lock (SET_VRING_CALL/ERR may replace
 * it meanwhile: a closed fd's number could already name another file).
 * Returns whether the signal went out. */
static bool signal_fd(gm_vhost_queue *q, const int *fd)
{
    uint64_t one = 1;
    bool sent;

    pthread_mutex_lock(&q->fd_lock);
    sent = *fd >= 0 && write(*fd, &one, sizeof(one)) == sizeof(one);
    pthread_mutex_unlock(&q->fd_lock);
    return sent;
}

/* Tell the front-end once that the ring broke (SET_VRING_ERR's eventfd). */
static void signal_error(gm_vhost_queue *q)
{
    if (q->err_signalled)
        return;
    q->err_signalled = true;
    if (!signal_fd(q, &q->err_fd))
        gm_log(q->dev->sys, GM_LOG_GUEST_ERROR, "queue %u: error notification not sent",
               q->idx);
}

/* Rebuild the ring caches if they went stale: right before the ring is
 * touched, never sooner. */
static void refresh_if_stale(gm_vhost_queue *q)
{
    if (__atomic_exchange_n(&q->refresh, 0, __ATOMIC_ACQ_REL))
        gm_virtq_refresh(q->vq);
}

static void handle_if_enabled(gm_vhost_queue *q)
{
    if (__atomic_load_n(&q->enabled, __ATOMIC_ACQUIRE) && !gm_virtq_is_broken(q->vq))
        q->dev->ops->handle(q->dev->opaque, q);
    if (gm_virtq_is_broken(q->vq))
        signal_error(q);
}

/* Set the ring up on the queue's own thread: reading the used ring may
 * need an IOTLB miss answered on the connection the message thread serves,
 * so the message thread must never wait for guest memory. */
static bool queue_setup(gm_vhost_queue *q)
{
    int err = create_virtq(q);

    if (!err)
        err = vu_inflight_queue_start(q);
    if (err) {
        gm_log(q->dev->sys, GM_LOG_GUEST_ERROR, "queue %u: cannot start: %s", q->idx,
               strerror(-err));
        gm_virtq_free(q->vq);
        q->vq = NULL;
    }
    return !err;
}

/* The device's own fd for this queue (completions), or -1. */
static int device_start(gm_vhost_queue *q)
{
    const gm_vhost_device_ops *ops = q->dev->ops;

    return ops->queue_start ? ops->queue_start(q->dev->opaque, q) : -1;
}

/* The device's fd is readable: let it complete what finished. */
static void device_event(gm_vhost_queue *q, struct pollfd *pfd)
{
    if (pfd->fd < 0 || !pfd->revents)
        return;
    if (pfd->revents & (POLLERR | POLLNVAL)) {
        gm_log(q->dev->sys, GM_LOG_ERROR, "queue %u: device fd in error; no longer polled",
               q->idx);
        pfd->fd = -1;
    }
    /* Completions write status bytes and the used ring: a fresh bound for
     * their IOTLB waits, whatever the last pop was. */
    vu_iotlb_request_start(&q->dev->iotlb);
    q->dev->ops->queue_event(q->dev->opaque, q);
}

/*
 * One event loop per ring: the kick eventfd, the private wake eventfd and
 * the device's completion fd. When the ring stops, the device finishes
 * (or accounts for) every request it took before the thread ends, so no
 * completion reaches a ring the front-end has taken back.
 */
static void *queue_thread(void *arg)
{
    gm_vhost_queue *q = arg;
    struct pollfd pfd[3] = { { q->kick_fd, POLLIN, 0 }, { q->wake_fd, POLLIN, 0 },
                             { -1, POLLIN, 0 } };
    bool ready;

    vu_iotlb_bind_thread(&q->stopping);
    ready = queue_setup(q);
    if (ready) {
        pfd[2].fd = device_start(q);
        handle_if_enabled(q);   /* requests made before the kick fd was set */
    }
    while (!__atomic_load_n(&q->stopping, __ATOMIC_ACQUIRE)) {
        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            break;
        bool kicked = consume_event(q, &pfd[0], "kick");

        consume_event(q, &pfd[1], "wake");
        device_event(q, &pfd[2]);
        /* The driver asked (a kick), or the ring was just enabled. */
        if ((kicked | __atomic_exchange_n(&q->recheck, 0, __ATOMIC_ACQ_REL)) && ready &&
            !__atomic_load_n(&q->stopping, __ATOMIC_ACQUIRE))
            handle_if_enabled(q);
    }
    if (ready && q->dev->ops->queue_stop) {
        vu_iotlb_request_start(&q->dev->iotlb);
        q->dev->ops->queue_stop(q->dev->opaque, q);
    }
    vu_inflight_queue_stop(q);
    /* Notification flags and event indices written since the last push. */
    vu_log_rings(q);
    return NULL;
}

int vu_queue_start(gm_vhost_queue *q)
{
    int err;

    if (q->running)
        return 0;
    if (!q->num || q->kick_fd < 0 || q->wake_fd < 0)
        return -EINVAL;
    q->stopping = 0;
    q->err_signalled = false;
    err = -pthread_create(&q->thread, NULL, queue_thread, q);
    if (err)
        return err;
    q->running = true;
    return 0;
}

void vu_queue_stop(gm_vhost_queue *q)
{
    if (!q->running)
        return;
    __atomic_store_n(&q->stopping, 1, __ATOMIC_RELEASE);
    wake(q);
    vu_iotlb_wake_all(&q->dev->iotlb);   /* its IOTLB waits end; others' go on */
    pthread_join(q->thread, NULL);
    q->running = false;
    if (q->vq)
        q->base = gm_virtq_get_base(q->vq);
    gm_virtq_free(q->vq);
    q->vq = NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void vu_queue_reset(gm_vhost_queue *q)
{
    vu_queue_stop(q);
    close_fd(&q->kick_fd);
    vu_queue_set_err(q, -1);
    vu_queue_set_call(q, -1);
    q->num = 0;
    q->base = 0;
    q->inflight = NULL;
    q->inflight_counter = 0;
    memset(&q->addr, 0, sizeof(q->addr));
    __atomic_store_n(&q->enabled, 0, __ATOMIC_RELEASE);
}

/* Replace *@slot with @fd under fd_lock; the old fd is closed after, so no
 * queue thread can write to its number once it names another file. */
static void replace_fd(gm_vhost_queue *q, int *slot, int fd)
{
    int old;

    pthread_mutex_lock(&q->fd_lock);
    old = *slot;
    *slot = fd;
    pthread_mutex_unlock(&q->fd_lock);
    if (old >= 0)
        close(old);
}

void vu_queue_set_call(gm_vhost_queue *q, int fd)
{
    replace_fd(q, &q->call_fd, fd);
}

void vu_queue_set_err(gm_vhost_queue *q, int fd)
{
    replace_fd(q, &q->err_fd, fd);
}

void vu_queue_set_enabled(gm_vhost_queue *q, bool enabled)
{
    __atomic_store_n(&q->enabled, enabled ? 1 : 0, __ATOMIC_RELEASE);
    if (q->running && enabled) {
        /* Requests made available while it was disabled. */
        __atomic_store_n(&q->recheck, 1, __ATOMIC_RELEASE);
        wake(q);
    }
}

void vu_queue_refresh_all(gm_vhost_dev *dev)
{
    for (unsigned int i = 0; i < dev->cfg.num_queues; i++) {
        gm_vhost_queue *q = &dev->queues[i];

        /* Before the ring is set up, the thread reads fresh state anyway. */
        if (q->running)
            __atomic_store_n(&q->refresh, 1, __ATOMIC_RELEASE);
    }
}

static bool overlaps(uint64_t a, uint64_t len, uint64_t first, uint64_t last)
{
    return a <= last && first <= a + len - 1;
}

void vu_queue_refresh_range(gm_vhost_dev *dev, uint64_t first, uint64_t last)
{
    for (unsigned int i = 0; i < dev->cfg.num_queues; i++) {
        gm_vhost_queue *q = &dev->queues[i];
        uint64_t n = q->num;

        if (!q->running)
            continue;
        if (overlaps(q->addr.desc, 16 * n, first, last) ||
            overlaps(q->addr.avail, 6 + 2 * n, first, last) ||
            overlaps(q->addr.used, 6 + 8 * n, first, last))
            __atomic_store_n(&q->refresh, 1, __ATOMIC_RELEASE);
    }
}

/* ---- the device's side ------------------------------------------------ */

/* A request an earlier back-end left in flight: split rings read its chain
 * at its head again, packed ones take it from the saved copy. */
static int resubmit(gm_vhost_queue *q, uint16_t head, gm_virtq_elem *elem)
{
    unsigned int n;

    if (!q->inflight_packed)
        return gm_virtq_read_chain(q->vq, head, elem);
    n = vu_inflight_packed_chain(q, head, q->chain_scratch);
    return n ? gm_virtq_packed_resubmit(q->vq, q->chain_scratch, n, elem) : -EINVAL;
}

int gm_vhost_queue_pop(gm_vhost_queue *q, gm_virtq_elem *elem)
{
    uint16_t head;
    int ret;

    /* Being stopped: take nothing more (GET_VRING_BASE is waiting). */
    if (__atomic_load_n(&q->stopping, __ATOMIC_ACQUIRE))
        return 0;
    vu_iotlb_request_start(&q->dev->iotlb);
    refresh_if_stale(q);
    /* What an earlier back-end left in flight comes first (a saved chain
     * that does not hold up is skipped, logged). */
    ret = -EINVAL;
    q->last_resubmitted = false;
    while (ret == -EINVAL && vu_inflight_next_resubmit(q, &head)) {
        q->last_resubmitted = true;
        ret = resubmit(q, head, elem);
        if (ret == -EINVAL)
            gm_log(q->dev->sys, GM_LOG_GUEST_ERROR,
                   "queue %u: in-flight request %u cannot be resubmitted", q->idx, head);
    }
    if (ret == -EINVAL) {
        q->last_resubmitted = false;
        ret = gm_virtq_pop(q->vq, elem);
    }
    if (ret == -EAGAIN) {
        /* Stopped while reading it (queue_stopping()): not taken. */
        q->resubmit_pos -= q->last_resubmitted;
        return 0;
    }
    if (ret == 1) {
        VU_STAT(q->dev, requests);
        vu_inflight_mark(q, elem->head);
        /* Behind a vIOMMU: one round trip for all the chain's pages. */
        gm_vhost_queue_prefetch(q, elem);
    }
    return ret;
}

void gm_vhost_queue_unpop(gm_vhost_queue *q, const gm_virtq_elem *elem)
{
    __atomic_sub_fetch(&q->dev->stats.requests, 1, __ATOMIC_RELAXED);
    if (q->last_resubmitted) {
        q->resubmit_pos--;   /* still marked in the in-flight area */
        if (q->inflight_packed)
            gm_virtq_unpop(q->vq, elem);   /* the id only: the ring did not move */
        return;
    }
    gm_virtq_unpop(q->vq, elem);
    vu_inflight_unmark(q, elem->head);
}

int gm_vhost_queue_push(gm_vhost_queue *q, const gm_virtq_elem *elem, uint32_t written)
{
    int ret;

    vu_iotlb_request_start(&q->dev->iotlb);   /* a fresh bound for the used ring */
    refresh_if_stale(q);
    vu_log_buffers(q, elem);
    /* Unpinned mappings (the request's buffers) go before the guest learns
     * the request is done; the rings stay pinned by their caches. */
    if (q->dev->mem.unmap_after_use)
        gm_mapcache_flush(q->dev->mem.mc);
    vu_inflight_before_push(q, elem->head);
    ret = gm_virtq_push_elem(q->vq, elem, written);
    vu_log_rings(q);
    if (!ret)
        vu_inflight_after_push(q, elem->head, gm_virtq_get_used_idx(q->vq));
    return ret;
}

void gm_vhost_queue_notify(gm_vhost_queue *q)
{
    if (gm_virtq_should_notify(q->vq) && signal_fd(q, &q->call_fd))
        VU_STAT(q->dev, notifications);
}

gm_as *gm_vhost_queue_as(gm_vhost_queue *q)
{
    return q->as;
}

unsigned int gm_vhost_queue_index(const gm_vhost_queue *q)
{
    return q->idx;
}

gm_virtq *gm_vhost_queue_virtq(gm_vhost_queue *q)
{
    return q->vq;
}
