/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user back-end: device lifetime, the connection loop and the
 * front-end message handlers.
 *
 * Every message is read and size-checked by vhost_msg.c, then dispatched
 * through a table of handlers. A handler returns 0 or a negative errno and
 * may fill a reply. Requests that carry a reply get it (an error reply where
 * the spec defines one); others get the REPLY_ACK u64 when asked. Any error
 * ends the connection: the front-end sent something a correct front-end
 * never sends, and everything derived from it is dropped (queues stopped,
 * memory table cleared), while the process and other connections go on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost/vhost_int.h"
#include "vhost/vhost_msg.h"

#define RING_FEATURES                                                                       \
    ((1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX) |            \
     (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_PACKED) |                       \
     (1ull << VU_F_PROTOCOL_FEATURES) | (1ull << VU_F_LOG_ALL))

typedef struct vu_reply {
    vu_payload payload;
    size_t size;
    int fd;
    bool has_reply;
} vu_reply;

typedef int (*vu_handler)(gm_vhost_dev *dev, vu_msg *m, vu_reply *r);

static uint64_t offered_features(const gm_vhost_dev *dev)
{
    return dev->ops->features | RING_FEATURES |
           (dev->cfg.offer_iommu ? 1ull << VIRTIO_F_IOMMU_PLATFORM : 0);
}

static uint64_t offered_protocol(const gm_vhost_dev *dev)
{
    uint64_t f = 1ull << VU_PROTOCOL_F_MQ | 1ull << VU_PROTOCOL_F_LOG_SHMFD |
                 1ull << VU_PROTOCOL_F_REPLY_ACK | 1ull << VU_PROTOCOL_F_BACKEND_REQ |
                 1ull << VU_PROTOCOL_F_CONFIG | 1ull << VU_PROTOCOL_F_INFLIGHT_SHMFD |
                 1ull << VU_PROTOCOL_F_RESET_DEVICE | 1ull << VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS;

    if (dev->cfg.grants != GM_VHOST_GRANTS_NONE)
        f |= 1ull << VU_PROTOCOL_F_XEN_MMAP;
    return f;
}

static void reply_u64(vu_reply *r, uint64_t v)
{
    r->payload.u64 = v;
    r->size = sizeof(uint64_t);
    r->has_reply = true;
}

/* The queue named by a state/u64 payload, or NULL if out of range. */
static gm_vhost_queue *queue_of(gm_vhost_dev *dev, uint32_t index)
{
    return index < dev->cfg.num_queues ? &dev->queues[index] : NULL;
}

/* ---- features ---------------------------------------------------------- */

static int h_get_features(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)m;
    reply_u64(r, offered_features(dev));
    return 0;
}

static bool any_queue_running(const gm_vhost_dev *dev)
{
    for (unsigned int i = 0; i < dev->cfg.num_queues; i++) {
        if (dev->queues[i].running)
            return true;
    }
    return false;
}

static int h_set_features(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    uint64_t f = m->payload.u64;

    (void)r;
    if (f & ~offered_features(dev))
        return -EINVAL;
    /* Queue threads work with the features their rings started with: under
     * a running ring only logging may be switched (migration). */
    if (any_queue_running(dev) && ((f ^ dev->features) & ~(1ull << VU_F_LOG_ALL)))
        return -EBUSY;
    __atomic_store_n(&dev->features, f, __ATOMIC_RELEASE);
    if (!vu_has_feature(dev, VU_F_PROTOCOL_FEATURES)) {
        for (unsigned int i = 0; i < dev->cfg.num_queues; i++)
            vu_queue_set_enabled(&dev->queues[i], true);
    }
    return 0;
}

static int h_get_protocol_features(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)m;
    reply_u64(r, offered_protocol(dev));
    return 0;
}

static int h_set_protocol_features(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)r;
    if (m->payload.u64 & ~offered_protocol(dev))
        return -EINVAL;
    dev->protocol_features = m->payload.u64;
    return 0;
}

static int h_nop(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)dev;
    (void)m;
    (void)r;
    return 0;
}

static int h_get_queue_num(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)m;
    reply_u64(r, dev->cfg.num_queues);
    return 0;
}

/* ---- memory ------------------------------------------------------------ */

static bool xen_mmap(const gm_vhost_dev *dev)
{
    return vu_has_protocol(dev, VU_PROTOCOL_F_XEN_MMAP);
}

static bool region_is_grant(const gm_vhost_dev *dev, const vu_msg *m, uint32_t i)
{
    return xen_mmap(dev) && (m->payload.mem_xen.regions[i].xen.flags & VU_XEN_MMAP_GRANT);
}

/* Grant regions last: they attach to the table's foreign regions. */
static int add_regions(gm_vhost_dev *dev, vu_msg *m, uint32_t n)
{
    int err = 0;

    for (unsigned int grants = 0; grants < 2; grants++) {
        for (uint32_t i = 0; i < n && !err; i++) {
            if (region_is_grant(dev, m, i) != (bool)grants)
                continue;
            if (xen_mmap(dev))
                err = vu_mem_add(&dev->mem, &m->payload.mem_xen.regions[i].region,
                                 &m->payload.mem_xen.regions[i].xen, vu_msg_take_fd(m, i));
            else
                err = vu_mem_add(&dev->mem, &m->payload.mem.regions[i], NULL,
                                 vu_msg_take_fd(m, i));
        }
    }
    return err;
}

static int h_set_mem_table(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    uint32_t n = m->payload.mem.nregions;
    size_t region = xen_mmap(dev) ? sizeof(vu_mem_region_xen) : sizeof(vu_mem_region);
    int err;

    (void)r;
    if (m->hdr.size < 8 || n > VU_MAX_MEM_REGIONS || m->hdr.size != 8 + n * region ||
        m->nfds != n)
        return -EINVAL;
    gm_transaction_begin(dev->sys);
    vu_mem_clear(&dev->mem);
    err = add_regions(dev, m, n);
    gm_transaction_commit(dev->sys);
    vu_queue_refresh_all(dev);
    return err;
}

static int h_add_mem_reg(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int fd = vu_msg_take_fd(m, 0);
    int err;

    (void)r;
    if (m->nfds != 1) {
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    if (xen_mmap(dev))
        err = vu_mem_add(&dev->mem, &m->payload.single_xen.region.region,
                         &m->payload.single_xen.region.xen, fd);
    else
        err = vu_mem_add(&dev->mem, &m->payload.single.region, NULL, fd);
    vu_queue_refresh_all(dev);
    return err;
}

static int h_rem_mem_reg(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    const vu_mem_region *reg =
        xen_mmap(dev) ? &m->payload.single_xen.region.region : &m->payload.single.region;
    int err = vu_mem_remove(&dev->mem, reg);

    (void)r;
    vu_queue_refresh_all(dev);
    return err;
}

static int h_get_max_mem_slots(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)dev;
    (void)m;
    reply_u64(r, VU_MAX_SLOTS);
    return 0;
}

static int h_set_log_base(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int err = vu_log_set_base(dev, &m->payload.log, vu_msg_take_fd(m, 0));

    /* With LOG_SHMFD the front-end waits for an empty reply. */
    r->has_reply = vu_has_protocol(dev, VU_PROTOCOL_F_LOG_SHMFD);
    r->size = 0;
    return err;
}

/* ---- rings --------------------------------------------------------------- */

static int h_set_vring_num(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    gm_vhost_queue *q = queue_of(dev, m->payload.state.index);
    uint32_t num = m->payload.state.num;

    (void)r;
    /* Packed rings may have any size, split rings a power of two. */
    if (!q || q->running || !num || num > GM_VIRTQ_MAX_SIZE ||
        (!vu_has_feature(dev, VIRTIO_F_RING_PACKED) && (num & (num - 1))))
        return -EINVAL;
    q->num = num;
    return 0;
}

static int h_set_vring_addr(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    gm_vhost_queue *q = queue_of(dev, m->payload.addr.index);
    const vu_vring_addr *a = &m->payload.addr;

    (void)r;
    if (!q)
        return -EINVAL;
    if (q->running && (a->desc != q->addr.desc || a->avail != q->addr.avail ||
                       a->used != q->addr.used))
        return -EBUSY;   /* only the log flag may change while running */
    q->addr = *a;
    return 0;
}

static int h_set_vring_base(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    gm_vhost_queue *q = queue_of(dev, m->payload.state.index);

    (void)r;
    /* Split: a 16-bit index. Packed: QEMU's position | wrap << 15, and the
     * used position likewise in the upper half (gm_virtq_set_base()). */
    if (!q || q->running ||
        (!vu_has_feature(dev, VIRTIO_F_RING_PACKED) && m->payload.state.num > 0xffff))
        return -EINVAL;
    q->base = m->payload.state.num;
    return 0;
}

static int h_get_vring_base(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    gm_vhost_queue *q = queue_of(dev, m->payload.state.index);

    if (!q)
        return -EINVAL;
    vu_queue_stop(q);
    if (q->kick_fd >= 0)
        close(q->kick_fd);
    q->kick_fd = -1;
    r->payload.state = (vu_vring_state){ q->idx, q->base };
    r->size = sizeof(vu_vring_state);
    r->has_reply = true;
    return 0;
}

/* Parse a u64 "index | NOFD flag" payload and take its fd. */
/*
 * Kick, call and err fds must be eventfds (the protocol's word, and what
 * QEMU sends): a write to a pipe or socket whose reader is gone raises
 * SIGPIPE, which would kill a process that did not ignore it.
 */
static bool is_eventfd(int fd)
{
    char path[32], target[32];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return false;
    target[n] = '\0';
    return !strcmp(target, "anon_inode:[eventfd]");
}

static gm_vhost_queue *vring_fd_target(gm_vhost_dev *dev, vu_msg *m, int *fd)
{
    uint64_t v = m->payload.u64;
    gm_vhost_queue *q = queue_of(dev, (uint32_t)(v & VU_VRING_IDX_MASK));

    *fd = (v & VU_VRING_NOFD) ? -1 : vu_msg_take_fd(m, 0);
    if (*fd >= 0 && !is_eventfd(*fd)) {
        gm_log(dev->sys, GM_LOG_GUEST_ERROR, "vring fd refused: not an eventfd");
        close(*fd);
        return NULL;
    }
    if (!q || (v & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD)) ||
        (!(v & VU_VRING_NOFD) && *fd < 0)) {
        if (*fd >= 0)
            close(*fd);
        return NULL;
    }
    /* Never block on what the peer passes (QEMU's eventfds are non-blocking
     * already; nothing in the protocol says they must be). */
    if (*fd >= 0 && fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK) < 0)
        gm_log(dev->sys, GM_LOG_GUEST_ERROR, "vring fd: cannot make it non-blocking: %s",
               strerror(errno));
    return q;
}

static int h_set_vring_kick(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int fd;
    gm_vhost_queue *q = vring_fd_target(dev, m, &fd);

    (void)r;
    if (!q)
        return -EINVAL;
    if (fd < 0)
        return -ENOTSUP;   /* polling mode is not offered */
    vu_queue_stop(q);
    if (q->kick_fd >= 0)
        close(q->kick_fd);
    q->kick_fd = fd;
    return vu_queue_start(q);
}

static int h_set_vring_call(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int fd;
    gm_vhost_queue *q = vring_fd_target(dev, m, &fd);

    (void)r;
    if (!q)
        return -EINVAL;
    vu_queue_set_call(q, fd);
    return 0;
}

static int h_set_vring_err(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int fd;
    gm_vhost_queue *q = vring_fd_target(dev, m, &fd);

    (void)r;
    if (!q)
        return -EINVAL;
    vu_queue_set_err(q, fd);
    return 0;
}

static int h_set_vring_enable(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    gm_vhost_queue *q = queue_of(dev, m->payload.state.index);

    (void)r;
    if (!q || m->payload.state.num > 1)
        return -EINVAL;
    vu_queue_set_enabled(q, m->payload.state.num);
    return 0;
}

static int h_set_vring_endian(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)dev;
    (void)r;
    return m->payload.state.num == 0 ? 0 : -ENOTSUP;   /* little endian only */
}

/* ---- back-end channel, IOTLB, config, inflight, reset -------------------- */

static int h_set_backend_req_fd(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int fd = vu_msg_take_fd(m, 0);

    (void)r;
    if (fd < 0)
        return -EINVAL;
    vu_iotlb_set_backend_fd(&dev->iotlb, fd);
    if (dev->backend_fd >= 0)
        close(dev->backend_fd);
    dev->backend_fd = fd;
    return 0;
}

static int h_iotlb_msg(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int err;

    (void)r;
    if (!vu_has_feature(dev, VIRTIO_F_IOMMU_PLATFORM))
        return -EINVAL;
    err = vu_iotlb_message(&dev->iotlb, &m->payload.iotlb);
    if (!err && m->payload.iotlb.type == VU_IOTLB_INVALIDATE)
        vu_queue_refresh_range(dev, m->payload.iotlb.iova,
                               m->payload.iotlb.iova + m->payload.iotlb.size - 1);
    return err;
}

static int h_get_config(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    vu_config *c = &m->payload.config;
    int err = -EINVAL;

    r->has_reply = true;
    r->size = 0;   /* the spec's error reply */
    if (m->hdr.size < VU_CONFIG_HEADER || c->size > VU_MAX_CONFIG ||
        m->hdr.size != VU_CONFIG_HEADER + c->size || c->offset > dev->cfg.config_size ||
        c->size > dev->cfg.config_size - c->offset)
        return err;
    r->payload.config = *c;
    err = dev->ops->get_config(dev->opaque, r->payload.config.region, c->offset, c->size);
    if (!err)
        r->size = m->hdr.size;
    return err;
}

static int h_set_config(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)dev;
    (void)r;
    /* Config space is read-only for this back-end's devices. */
    return m->hdr.size >= VU_CONFIG_HEADER ? 0 : -EINVAL;
}

static int h_get_inflight_fd(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    int err = vu_inflight_get(dev, &m->payload.inflight, &r->payload.inflight, &r->fd);

    r->has_reply = true;
    r->size = sizeof(vu_inflight);
    if (err)
        memset(&r->payload.inflight, 0, sizeof(vu_inflight));
    else
        r->fd = dup(r->fd);   /* we keep ours mapped */
    return err;
}

static int h_set_inflight_fd(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)r;
    return vu_inflight_set(dev, &m->payload.inflight, vu_msg_take_fd(m, 0));
}

/*
 * Drop the device state of the session: queues (threads, fds), the memory
 * table (mappings, fds, grant tables), IOTLB entries, the log, the
 * in-flight area, features. Then wait for the deferred frees, so that every
 * mapping and fd is gone when this returns (a region is freed after an
 * RCU grace period). What belongs to the connection itself (protocol
 * features, the back-end channel) is the caller's.
 */
static void session_reset(gm_vhost_dev *dev)
{
    for (unsigned int i = 0; i < dev->cfg.num_queues; i++)
        vu_queue_reset(&dev->queues[i]);
    vu_iotlb_clear(&dev->iotlb);
    vu_mem_clear(&dev->mem);
    vu_log_release(dev);
    vu_inflight_release(dev);
    __atomic_store_n(&dev->features, 0, __ATOMIC_RELEASE);
    gm_system_drain(dev->sys);
    gm_mapcache_flush(dev->mem.mc);
    if (dev->ops->reset)
        dev->ops->reset(dev->opaque);
}

/* RESET_DEVICE (and RESET_OWNER): back to the state after SET_OWNER;
 * the front-end sets features, memory table and rings up again (QEMU does
 * at every device start). */
static int h_reset(gm_vhost_dev *dev, vu_msg *m, vu_reply *r)
{
    (void)m;
    (void)r;
    session_reset(dev);
    return 0;
}

static const vu_handler handlers[] = {
    [VU_GET_FEATURES] = h_get_features,
    [VU_SET_FEATURES] = h_set_features,
    [VU_SET_OWNER] = h_nop,
    [VU_RESET_OWNER] = h_reset,
    [VU_SET_MEM_TABLE] = h_set_mem_table,
    [VU_SET_LOG_BASE] = h_set_log_base,
    [VU_SET_LOG_FD] = h_nop,
    [VU_SET_VRING_NUM] = h_set_vring_num,
    [VU_SET_VRING_ADDR] = h_set_vring_addr,
    [VU_SET_VRING_BASE] = h_set_vring_base,
    [VU_GET_VRING_BASE] = h_get_vring_base,
    [VU_SET_VRING_KICK] = h_set_vring_kick,
    [VU_SET_VRING_CALL] = h_set_vring_call,
    [VU_SET_VRING_ERR] = h_set_vring_err,
    [VU_GET_PROTOCOL_FEATURES] = h_get_protocol_features,
    [VU_SET_PROTOCOL_FEATURES] = h_set_protocol_features,
    [VU_GET_QUEUE_NUM] = h_get_queue_num,
    [VU_SET_VRING_ENABLE] = h_set_vring_enable,
    [VU_SET_BACKEND_REQ_FD] = h_set_backend_req_fd,
    [VU_IOTLB_MSG] = h_iotlb_msg,
    [VU_SET_VRING_ENDIAN] = h_set_vring_endian,
    [VU_GET_CONFIG] = h_get_config,
    [VU_SET_CONFIG] = h_set_config,
    [VU_GET_INFLIGHT_FD] = h_get_inflight_fd,
    [VU_SET_INFLIGHT_FD] = h_set_inflight_fd,
    [VU_RESET_DEVICE] = h_reset,
    [VU_GET_MAX_MEM_SLOTS] = h_get_max_mem_slots,
    [VU_ADD_MEM_REG] = h_add_mem_reg,
    [VU_REM_MEM_REG] = h_rem_mem_reg,
};

/* ---- the connection ------------------------------------------------------ */

static int size_check(const gm_vhost_dev *dev, const vu_msg *m)
{
    long want = vu_msg_expected_size(m->hdr.request, xen_mmap(dev));

    if (want > 0 && m->hdr.size != (uint32_t)want)
        return -EPROTO;
    return 0;
}

static int send_reply(gm_vhost_dev *dev, const vu_msg *m, vu_reply *r, int err)
{
    int ret;

    if (r->has_reply) {
        ret = vu_msg_send(dev->sock, m->hdr.request, VU_FLAG_REPLY, &r->payload, r->size,
                          r->fd >= 0 ? &r->fd : NULL, r->fd >= 0 ? 1 : 0);
    } else if ((m->hdr.flags & VU_FLAG_NEED_REPLY) &&
               vu_has_protocol(dev, VU_PROTOCOL_F_REPLY_ACK)) {
        uint64_t ack = err ? 1 : 0;

        ret = vu_msg_reply(dev->sock, m, &ack, sizeof(ack));
    } else {
        ret = 0;
    }
    if (r->fd >= 0)
        close(r->fd);
    return ret;
}

static int dispatch(gm_vhost_dev *dev, vu_msg *m)
{
    vu_reply r = { .fd = -1 };
    vu_handler h = m->hdr.request < sizeof(handlers) / sizeof(handlers[0])
                       ? handlers[m->hdr.request]
                       : NULL;
    int err = h ? size_check(dev, m) : -ENOSYS;
    int sent;

    if (!err)
        err = h(dev, m, &r);
    sent = send_reply(dev, m, &r, err);
    vu_msg_close_fds(m);
    if (err)
        gm_log(dev->sys, GM_LOG_GUEST_ERROR, "vhost-user request %u refused: %s; closing",
               m->hdr.request, strerror(-err));
    return err ? err : sent;
}

/* The end of a connection: nothing of it survives (vhost_int.h). */
static void disconnect(gm_vhost_dev *dev)
{
    vu_iotlb_close(&dev->iotlb);   /* waits for misses end at once */
    session_reset(dev);
    vu_iotlb_set_backend_fd(&dev->iotlb, -1);
    if (dev->backend_fd >= 0)
        close(dev->backend_fd);
    dev->backend_fd = -1;
    dev->protocol_features = 0;
}

int gm_vhost_dev_run(gm_vhost_dev *dev, int conn)
{
    vu_msg m;
    int err;

    dev->sock = conn;
    for (;;) {
        err = vu_msg_read(conn, &m);
        if (err)
            break;
        VU_STAT(dev, messages);
        err = dispatch(dev, &m);
        if (err)
            break;
    }
    if (err != -ECONNRESET)
        gm_log(dev->sys, GM_LOG_GUEST_ERROR, "vhost-user connection closed: %s",
               strerror(-err));
    disconnect(dev);
    close(conn);
    dev->sock = -1;
    return err == -ECONNRESET ? 0 : err;
}

/* ---- creation ------------------------------------------------------------ */

static int dev_init(gm_vhost_dev *dev)
{
    int err = vu_mem_init(&dev->mem, dev->sys, dev->cfg.grants,
                          dev->cfg.require_sealed ? VU_FILE_REQUIRE_SEALED
                                                  : VU_FILE_WARN_UNSEALED);

    if (!err)
        err = vu_iotlb_init(&dev->iotlb, dev->sys, dev->mem.uaddr_as);
    if (err)
        return err;
    dev->iotlb.miss_timeout_ms = dev->cfg.iotlb_miss_timeout_ms;
    dev->dma_root = gm_region_new_container(dev->sys, "vhost-iova", GM_SIZE_2_64);
    if (!dev->dma_root || gm_region_add_subregion(dev->dma_root, 0, dev->iotlb.iommu))
        return -ENOMEM;
    dev->dma_as = gm_as_new(dev->sys, dev->dma_root, "iova");
    return dev->dma_as ? 0 : -ENOMEM;
}

gm_vhost_dev *gm_vhost_dev_new(const gm_vhost_config *cfg, const gm_vhost_device_ops *ops,
                               void *opaque)
{
    gm_vhost_dev *dev;

    if (!cfg || !ops || !ops->handle || !ops->get_config || !cfg->num_queues ||
        cfg->num_queues > VU_MAX_QUEUES || cfg->config_size > VU_MAX_CONFIG) {
        errno = EINVAL;
        return NULL;
    }
    dev = calloc(1, sizeof(*dev));
    if (!dev)
        return NULL;
    dev->cfg = *cfg;
    if (!dev->cfg.iotlb_miss_timeout_ms)
        dev->cfg.iotlb_miss_timeout_ms = 2000;
    dev->ops = ops;
    dev->opaque = opaque;
    dev->sock = dev->backend_fd = dev->log_fd = dev->inflight_fd = -1;
    pthread_mutex_init(&dev->log_lock, NULL);
    for (unsigned int i = 0; i < VU_MAX_QUEUES; i++)
        vu_queue_init(&dev->queues[i], dev, i);
    dev->sys = gm_system_new(0);
    if (!dev->sys || dev_init(dev)) {
        gm_vhost_dev_free(dev);
        errno = ENOMEM;
        return NULL;
    }
    return dev;
}

void gm_vhost_dev_free(gm_vhost_dev *dev)
{
    if (!dev)
        return;
    if (dev->sys) {
        disconnect(dev);
        gm_as_free(dev->dma_as);
        gm_region_unref(dev->dma_root);
        vu_iotlb_destroy(&dev->iotlb);
        vu_mem_destroy(&dev->mem);
        gm_system_free(dev->sys);
        gm_mapcache_free(dev->mem.mc);
    }
    for (unsigned int i = 0; i < VU_MAX_QUEUES; i++) {
        if (dev->queues[i].wake_fd >= 0)
            close(dev->queues[i].wake_fd);
        pthread_mutex_destroy(&dev->queues[i].fd_lock);
    }
    pthread_mutex_destroy(&dev->log_lock);
    free(dev);
}

void gm_vhost_dev_get_stats(gm_vhost_dev *dev, gm_vhost_stats *stats)
{
    const vu_iotlb_stats *it = &dev->iotlb.stats;
    gm_iommu_stats core;
    gm_mapcache_stats mc = { 0 };

    *stats = dev->stats;
    pthread_mutex_lock(&dev->iotlb.lock);
    stats->iotlb_misses = it->misses_sent;
    stats->iotlb_updates = it->updates;
    stats->iotlb_invalidations = it->invalidations;
    stats->iotlb_timeouts = it->timeouts;
    stats->iotlb_prefetched = it->misses_prefetched;
    stats->iotlb_unsent = it->misses_unsent;
    stats->iotlb_invalidation_msgs = it->invalidation_msgs;
    stats->iotlb_lookups = it->lookups;
    stats->iotlb_lookup_hits = it->lookup_hits;
    pthread_mutex_unlock(&dev->iotlb.lock);
    gm_iommu_get_stats(dev->iotlb.iommu, &core);
    stats->iotlb_cache_hits = core.hits;
    stats->iotlb_cache_flushes = core.invalidations;
    if (dev->mem.mc)
        gm_mapcache_get_stats(dev->mem.mc, &mc);
    stats->map_hits = mc.hits;
    stats->map_misses = mc.misses;
    stats->map_unmaps = mc.unmaps;
    stats->map_bytes = mc.bytes_mapped;
}

unsigned int gm_vhost_queue_prefetch(gm_vhost_queue *q, const gm_virtq_elem *elem)
{
    static __thread vu_iotlb_range ranges[VU_SEG_MAX];
    unsigned int n = elem->out_num + elem->in_num;

    if (!vu_has_feature(q->dev, VIRTIO_F_IOMMU_PLATFORM))
        return 0;
    if (n > VU_SEG_MAX)
        n = VU_SEG_MAX;
    for (unsigned int i = 0; i < n; i++)
        ranges[i] = (vu_iotlb_range){ elem->seg[i].addr, elem->seg[i].len,
                                      i < elem->out_num ? GM_IOMMU_RO : GM_IOMMU_WO };
    return vu_iotlb_prefetch(&q->dev->iotlb, ranges, n);
}

bool gm_vhost_queue_stopping(const gm_vhost_queue *q)
{
    return __atomic_load_n(&q->stopping, __ATOMIC_ACQUIRE);
}

gm_system *gm_vhost_dev_system(gm_vhost_dev *dev)
{
    return dev->sys;
}
