/* SPDX-License-Identifier: MIT */
/*
 * The front-end's connect, start and stop sequences (bp_dev.h lists them
 * with QEMU 7.2's order). Each step that fails is reported as
 * "MESSAGE: why" through bp_fail(); the functions return the negative
 * errno so callers can unwind.
 *
 * Feature rules: VIRTIO_F_VERSION_1 and VHOST_USER_F_PROTOCOL_FEATURES are
 * required (a modern device; rings start disabled until SET_VRING_ENABLE),
 * the CONFIG protocol feature too (the capacity comes from GET_CONFIG, as
 * QEMU's vhost-user-blk requires). What the run asks for (packed rings,
 * vIOMMU, several queues) must be offered, or the run stops before any
 * ring is set up. Optional features (indirect descriptors, event index,
 * MQ, in-flight region) are taken when offered and wanted.
 *
 * Glossary: d = device; w = what is wanted; vq = one virtqueue's setup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bp_dev.h"
#include "bp_util.h"

#define CONNECT_RETRY_MS 20

void bp_dev_init(bp_dev *d, int timeout_ms)
{
    memset(d, 0, sizeof(*d));
    bp_conn_init(&d->conn, timeout_ms);
    d->inflight_fd = -1;
}

void bp_dev_destroy(bp_dev *d)
{
    bp_conn_close(&d->conn);
    if (d->inflight_map)
        munmap(d->inflight_map, d->inflight.mmap_size);
    if (d->inflight_fd >= 0)
        close(d->inflight_fd);
    d->inflight_map = NULL;
    d->inflight_fd = -1;
}

int bp_dev_step_failed(const bp_dev *d, uint32_t req, int err)
{
    char why[128];

    bp_fail("%s: %s", bp_vu_request_name(req),
            bp_conn_strerror(err, why, sizeof(why), d->conn.timeout_ms));
    return err;
}

static pid_t peer_pid(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 0;
}

int bp_dev_connect(bp_dev *d, const char *path, int wait_ms, bool (*alive)(void *), void *opaque)
{
    uint64_t deadline = bp_now_ns() + (uint64_t)wait_ms * 1000000ull;
    int fd = -1, err;

    for (;;) {
        err = bp_unix_connect(path, &fd);
        if (!err || (err != -ENOENT && err != -ECONNREFUSED))
            break;
        if (bp_now_ns() >= deadline || (alive && !alive(opaque)))
            break;
        poll(NULL, 0, CONNECT_RETRY_MS);
    }
    if (err) {
        bp_fail("cannot connect to %s: %s", path, strerror(-err));
        return err;
    }
    d->peer_pid = peer_pid(fd);
    bp_conn_install(&d->conn, fd);
    return 0;
}

static int get_u64(bp_dev *d, uint32_t req, uint64_t *v)
{
    int err = bp_conn_get(&d->conn, req, NULL, 0, v, sizeof(*v), NULL);

    return err ? bp_dev_step_failed(d, req, err) : 0;
}

static int set_u64(bp_dev *d, uint32_t req, uint64_t v)
{
    int err = bp_conn_set(&d->conn, req, false, &v, sizeof(v), NULL, 0);

    return err ? bp_dev_step_failed(d, req, err) : 0;
}

/* A (protocol) feature bit the run cannot do without. */
static int need_bit(uint64_t offered, int bit, const char *name, const char *why)
{
    if (offered & BIT64(bit))
        return 0;
    bp_fail("the back-end does not offer %s (%s)", name, why);
    return -ENOTSUP;
}

static int need_feature(const bp_dev *d, int bit, const char *name, const char *why)
{
    return need_bit(d->features, bit, name, why);
}

/* What SET_FEATURES will send; errors when something asked for is missing. */
static int choose_features(bp_dev *d, const bp_want *w)
{
    uint64_t optional = BIT64(VIRTIO_BLK_F_SIZE_MAX) | BIT64(VIRTIO_BLK_F_SEG_MAX) |
                        BIT64(VIRTIO_BLK_F_BLK_SIZE) | BIT64(VIRTIO_BLK_F_RO) |
                        BIT64(VIRTIO_BLK_F_MQ);
    int err = need_feature(d, VIRTIO_F_VERSION_1, "VIRTIO_F_VERSION_1", "a modern device");

    err = err ? err : need_feature(d, VHOST_USER_F_PROTOCOL_FEATURES, "protocol features",
                                   "needed for GET_CONFIG");
    if (!err && w->packed)
        err = need_feature(d, VIRTIO_F_RING_PACKED, "VIRTIO_F_RING_PACKED", "--packed");
    if (!err && w->iommu)
        err = need_feature(d, VIRTIO_F_IOMMU_PLATFORM, "VIRTIO_F_IOMMU_PLATFORM", "--iommu");
    if (!err && w->queues > 1)
        err = need_feature(d, VIRTIO_BLK_F_MQ, "VIRTIO_BLK_F_MQ", "--queues > 1");
    if (!err && w->log)
        err = need_feature(d, VHOST_F_LOG_ALL, "VHOST_F_LOG_ALL", "--log");
    if (w->indirect)
        optional |= BIT64(VIRTIO_F_INDIRECT_DESC);
    if (w->event_idx)
        optional |= BIT64(VIRTIO_F_EVENT_IDX);
    if (w->packed)
        optional |= BIT64(VIRTIO_F_RING_PACKED);
    if (w->iommu)
        optional |= BIT64(VIRTIO_F_IOMMU_PLATFORM);
    d->acked = BIT64(VIRTIO_F_VERSION_1) | BIT64(VHOST_USER_F_PROTOCOL_FEATURES) |
               (d->features & optional);
    return err;
}

static int need_pfeature(const bp_dev *d, int bit, const char *name, const char *why)
{
    return need_bit(d->pfeatures, bit, name, why);
}

static int choose_protocol_features(bp_dev *d, const bp_want *w)
{
    uint64_t wanted = BIT64(VU_PF_MQ) | BIT64(VU_PF_REPLY_ACK) | BIT64(VU_PF_CONFIG) |
                      BIT64(VU_PF_INFLIGHT_SHMFD);
    int err = need_pfeature(d, VU_PF_CONFIG, "the CONFIG protocol feature",
                            "the capacity comes from GET_CONFIG");

    if (w->iommu) {
        err = err ? err : need_pfeature(d, VU_PF_REPLY_ACK, "the REPLY_ACK protocol feature",
                                        "QEMU requires it with a vIOMMU");
        err = err ? err : need_pfeature(d, VU_PF_BACKEND_REQ, "the BACKEND_REQ protocol feature",
                                        "IOTLB misses need the back-end channel");
        wanted |= BIT64(VU_PF_BACKEND_REQ);
    }
    if (w->log) {
        err = err ? err : need_pfeature(d, VU_PF_LOG_SHMFD, "the LOG_SHMFD protocol feature",
                                        "--log hands the log over as a file");
        wanted |= BIT64(VU_PF_LOG_SHMFD);
    }
    d->pf_acked = d->pfeatures & wanted;
    d->conn.reply_ack = d->pf_acked & BIT64(VU_PF_REPLY_ACK);
    return err;
}

static int negotiate_queues(bp_dev *d, const bp_want *w)
{
    int err;

    d->max_queues = 1;
    if (d->pf_acked & BIT64(VU_PF_MQ)) {
        err = get_u64(d, VU_GET_QUEUE_NUM, &d->max_queues);
        if (err)
            return err;
    }
    if (w->queues > d->max_queues) {
        bp_fail("--queues %u: the back-end has %llu queue%s (GET_QUEUE_NUM)", w->queues,
                (unsigned long long)d->max_queues, d->max_queues == 1 ? "" : "s");
        return -ENOTSUP;
    }
    return 0;
}

/* SET_BACKEND_REQ_FD with a new socket pair; we keep *chan. */
static int set_backend_channel(bp_dev *d, int *chan)
{
    int sv[2], err;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return bp_dev_step_failed(d, VU_SET_BACKEND_REQ_FD, -errno);
    err = bp_conn_set(&d->conn, VU_SET_BACKEND_REQ_FD, true, NULL, 0, &sv[1], 1);
    close(sv[1]);
    if (err) {
        close(sv[0]);
        return bp_dev_step_failed(d, VU_SET_BACKEND_REQ_FD, err);
    }
    *chan = sv[0];
    return 0;
}

/* A 32-bit config field that exists only with feature @bit; @dflt without it. */
static uint32_t cfg_field(const bp_dev *d, const uint8_t *cfg, int bit, unsigned int off,
                          uint32_t dflt)
{
    uint32_t v;

    if (!(d->acked & BIT64(bit)))
        return dflt;
    memcpy(&v, cfg + off, sizeof(v));
    return v;
}

/*
 * The config fields the run relies on. Limits a Linux guest would not take
 * as they are are read the way it reads them (drivers/block/virtio_blk.c):
 * a size_max below 4096 means 4096 (qemu-storage-daemon offers
 * VIRTIO_BLK_F_SIZE_MAX with size_max 0), a seg_max of 0 means 1. An empty
 * disk or an invalid block size is refused.
 */
static int parse_config(bp_dev *d, const uint8_t *cfg)
{
    bp_blk_info *b = &d->blk;
    uint64_t sectors;

    memcpy(&sectors, cfg + BLK_CFG_CAPACITY, sizeof(sectors));
    b->capacity = sectors <= UINT64_MAX / BLK_SECTOR ? sectors * BLK_SECTOR : 0;
    b->size_max = cfg_field(d, cfg, VIRTIO_BLK_F_SIZE_MAX, BLK_CFG_SIZE_MAX, UINT32_MAX);
    b->seg_max = cfg_field(d, cfg, VIRTIO_BLK_F_SEG_MAX, BLK_CFG_SEG_MAX, 0);
    b->blk_size = cfg_field(d, cfg, VIRTIO_BLK_F_BLK_SIZE, BLK_CFG_BLK_SIZE, BLK_SECTOR);
    b->read_only = d->acked & BIT64(VIRTIO_BLK_F_RO);
    if (b->size_max < 4096)
        b->size_max = 4096;
    if (d->acked & BIT64(VIRTIO_BLK_F_SEG_MAX) && !b->seg_max)
        b->seg_max = 1;
    if (!b->capacity || b->blk_size < BLK_SECTOR || b->blk_size > 65536 ||
        (b->blk_size & (b->blk_size - 1))) {
        bp_fail("GET_CONFIG: unusable config (capacity %llu sectors, blk_size %u)",
                (unsigned long long)sectors, b->blk_size);
        return -EINVAL;
    }
    return 0;
}

static int get_config(bp_dev *d)
{
    struct {
        vu_config_hdr hdr;
        uint8_t cfg[BLK_CONFIG_LEN];
    } __attribute__((packed)) req = { { 0, BLK_CONFIG_LEN, 0 }, { 0 } }, reply;
    int err = bp_conn_get(&d->conn, VU_GET_CONFIG, &req, sizeof(req), &reply, sizeof(reply), NULL);

    if (err)
        return bp_dev_step_failed(d, VU_GET_CONFIG, err);
    if (reply.hdr.offset != 0 || reply.hdr.size != BLK_CONFIG_LEN) {
        bp_fail("GET_CONFIG: reply for offset %u size %u, asked for 0 and %u", reply.hdr.offset,
                reply.hdr.size, BLK_CONFIG_LEN);
        return -EBADMSG;
    }
    return parse_config(d, reply.cfg);
}

int bp_dev_handshake(bp_dev *d, const bp_want *w, int *chan)
{
    int err = get_u64(d, VU_GET_FEATURES, &d->features);

    *chan = -1;
    err = err ? err : choose_features(d, w);
    err = err ? err : get_u64(d, VU_GET_PROTOCOL_FEATURES, &d->pfeatures);
    err = err ? err : choose_protocol_features(d, w);
    err = err ? err : set_u64(d, VU_SET_PROTOCOL_FEATURES, d->pf_acked);
    err = err ? err : negotiate_queues(d, w);
    if (!err && w->iommu)
        err = set_backend_channel(d, chan);
    if (!err) {
        err = bp_conn_set(&d->conn, VU_SET_OWNER, false, NULL, 0, NULL, 0);
        err = err ? bp_dev_step_failed(d, VU_SET_OWNER, err) : 0;
    }
    err = err ? err : get_config(d);
    if (err && *chan >= 0) {
        close(*chan);
        *chan = -1;
    }
    return err;
}

/* GET_INFLIGHT_FD once per device lifetime, as QEMU does; 0 when not offered. */
static int get_inflight(bp_dev *d, const bp_want *w)
{
    vu_inflight req = { .num_queues = (uint16_t)w->queues, .queue_size = w->queue_size };
    vu_inflight reply;
    int fd, err = bp_conn_get(&d->conn, VU_GET_INFLIGHT_FD, &req, sizeof(req), &reply,
                              sizeof(reply), &fd);

    if (err)
        return bp_dev_step_failed(d, VU_GET_INFLIGHT_FD, err);
    if (!reply.mmap_size || fd < 0) {
        if (fd >= 0)
            close(fd);
        return 0;       /* the back-end keeps no region: nothing to hand back */
    }
    d->inflight_map = mmap(NULL, reply.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                           (off_t)reply.mmap_offset);
    if (d->inflight_map == MAP_FAILED) {
        d->inflight_map = NULL;
        close(fd);
        bp_fail("GET_INFLIGHT_FD: cannot map %llu bytes at offset %llu of the region",
                (unsigned long long)reply.mmap_size, (unsigned long long)reply.mmap_offset);
        return -EINVAL;
    }
    d->inflight = reply;
    d->inflight.num_queues = req.num_queues;
    d->inflight.queue_size = req.queue_size;
    d->inflight_fd = fd;
    return 0;
}

static int setup_inflight(bp_dev *d, const bp_want *w)
{
    int err;

    if (!(d->pf_acked & BIT64(VU_PF_INFLIGHT_SHMFD)))
        return 0;
    if (d->inflight_fd < 0) {
        err = get_inflight(d, w);
        if (err || d->inflight_fd < 0)
            return err;
    }
    err = bp_conn_set(&d->conn, VU_SET_INFLIGHT_FD, false, &d->inflight, sizeof(d->inflight),
                      &d->inflight_fd, 1);
    return err ? bp_dev_step_failed(d, VU_SET_INFLIGHT_FD, err) : 0;
}

static int set_mem_table(bp_dev *d, const bp_mem *m)
{
    vu_mem_table t;
    int fds[VU_MAX_REGIONS];
    unsigned int n = bp_mem_table(m, &t, fds);
    uint32_t size = (uint32_t)(8 + n * sizeof(vu_region));
    int err = bp_conn_set(&d->conn, VU_SET_MEM_TABLE, true, &t, size, fds, n);

    return err ? bp_dev_step_failed(d, VU_SET_MEM_TABLE, err) : 0;
}

static int set_state(bp_dev *d, uint32_t req, uint32_t index, uint32_t num)
{
    vu_state s = { index, num };
    int err = bp_conn_set(&d->conn, req, false, &s, sizeof(s), NULL, 0);

    return err ? bp_dev_step_failed(d, req, err) : 0;
}

static int set_vring_fd(bp_dev *d, uint32_t req, uint32_t index, int fd)
{
    uint64_t v = index;
    int err = bp_conn_set(&d->conn, req, false, &v, sizeof(v), &fd, 1);

    return err ? bp_dev_step_failed(d, req, err) : 0;
}

/* Where a ring (re)starts: after a stop, what GET_VRING_BASE said (as QEMU). */
static uint32_t start_base(bp_vq *vq, bool restart)
{
    if (!vq->resume)
        return bp_ring_base(&vq->ring, restart);
    vq->resume = false;
    return vq->resume_base;
}

static int start_ring(bp_dev *d, uint32_t i, bp_vq *vq, bool restart)
{
    vu_addr a = { .index = i, .desc = vq->desc_addr, .used = vq->dev_addr, .avail = vq->drv_addr };
    int err = set_state(d, VU_SET_VRING_NUM, i, vq->ring.num);

    err = err ? err : set_state(d, VU_SET_VRING_BASE, i, start_base(vq, restart));
    if (!err) {
        err = bp_conn_set(&d->conn, VU_SET_VRING_ADDR, false, &a, sizeof(a), NULL, 0);
        err = err ? bp_dev_step_failed(d, VU_SET_VRING_ADDR, err) : 0;
    }
    err = err ? err : set_vring_fd(d, VU_SET_VRING_KICK, i, vq->kick_fd);
    return err ? err : set_vring_fd(d, VU_SET_VRING_CALL, i, vq->call_fd);
}

/* QEMU sends each used ring's translation when a device with a vIOMMU starts. */
static int prefill_used_rings(bp_dev *d, const bp_want *w, bp_vq *const *vqs, bp_iommu *io)
{
    for (unsigned int i = 0; i < w->queues; i++) {
        int err = bp_iommu_prefill(io, vqs[i]->dev_addr);

        if (err)
            return bp_dev_step_failed(d, VU_IOTLB_MSG, err);
    }
    return 0;
}

int bp_dev_start(bp_dev *d, const bp_want *w, const bp_mem *m, bp_vq *const *vqs, bp_iommu *io,
                 bool restart)
{
    int err = set_u64(d, VU_SET_FEATURES, d->acked);

    err = err ? err : setup_inflight(d, w);
    err = err ? err : set_u64(d, VU_SET_FEATURES, d->acked);
    err = err ? err : set_mem_table(d, m);
    for (unsigned int i = 0; i < w->queues && !err; i++)
        err = start_ring(d, i, vqs[i], restart);
    for (unsigned int i = 0; i < w->queues && !err; i++)
        err = set_state(d, VU_SET_VRING_ENABLE, i, 1);
    if (!err)
        bp_conn_set_ready(&d->conn, true);
    if (!err && io)
        err = prefill_used_rings(d, w, vqs, io);
    return err;
}

static int check_base(bp_dev *d, uint32_t i, bp_vq *vq)
{
    vu_state s = { i, 0 }, reply;
    uint32_t want = bp_ring_base(&vq->ring, false);
    int err = bp_conn_get(&d->conn, VU_GET_VRING_BASE, &s, sizeof(s), &reply, sizeof(reply), NULL);

    if (err)
        return bp_dev_step_failed(d, VU_GET_VRING_BASE, err);
    if (reply.index != i || reply.num != want) {
        bp_fail("GET_VRING_BASE: queue %u: the back-end says ring %u base 0x%x; the driver made "
                "0x%x available and all of it was used", i, reply.index, reply.num, want);
        return -EBADMSG;
    }
    return 0;
}

int bp_dev_disable_rings(bp_dev *d, const bp_want *w)
{
    int err = 0;

    for (unsigned int i = 0; i < w->queues && !err; i++)
        err = set_state(d, VU_SET_VRING_ENABLE, i, 0);
    return err;
}

int bp_dev_stop(bp_dev *d, const bp_want *w, bp_vq *const *vqs)
{
    int err = bp_dev_disable_rings(d, w);

    for (unsigned int i = 0; i < w->queues && !err; i++)
        err = check_base(d, i, vqs[i]);
    return err;
}

int bp_dev_sync(bp_dev *d, uint32_t req)
{
    uint64_t features;
    int err;

    if (d->conn.reply_ack)
        return 0;
    err = bp_conn_get(&d->conn, VU_GET_FEATURES, NULL, 0, &features, sizeof(features), NULL);
    return err ? bp_dev_step_failed(d, req, err) : 0;
}
