/* SPDX-License-Identifier: MIT */
/*
 * vhost_req_us / vhost_log_req_us: what the vhost-user dirty log costs a
 * request, for a small and a huge guest.
 *
 * A gm_vhost_dev in this process serves one split queue; this file plays
 * the front-end and the driver over a socketpair (no protocol features, so
 * no message waits for a reply, and the queue is enabled by SET_FEATURES).
 * Guest RAM is one memfd region of 1 GiB or 1 TiB (sparse: only the ring
 * and the buffers are ever touched). With @arg's log bit, VHOST_F_LOG_ALL
 * is negotiated and a sealed log memfd covering the whole guest is set
 * with SET_LOG_BASE. A sample publishes BATCH requests (a 4 KiB
 * device-writable buffer each), kicks once and spins until the used index
 * has moved BATCH times; the device writes each buffer through guestmem,
 * pushes and notifies. The result is microseconds per request.
 *
 * The log's cost must not grow with the guest: a push logs the pages the
 * request wrote and the ring, not the guest's bitmaps (src/vhost/vhost_log.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <guestmem/vhost.h>

#include "bench.h"

#define VLOG_QSIZE 256u
#define VLOG_BATCH 64u
#define VLOG_BUF 4096u
#define VLOG_DESC 0x0u
#define VLOG_AVAIL 0x1000u
#define VLOG_USED 0x2000u
#define VLOG_DATA 0x100000u      /* buffers: 1 MiB on */
#define VLOG_SPREAD (64u << 20)  /* buffers spread over 64 MiB of the guest */
#define VLOG_F_LOG_ALL 26
#define VLOG_F_VERSION_1 32

enum { VU_SET_FEATURES = 2, VU_SET_MEM_TABLE = 5, VU_SET_LOG_BASE = 6, VU_SET_VRING_NUM = 8,
       VU_SET_VRING_ADDR = 9, VU_SET_VRING_BASE = 10, VU_GET_VRING_BASE = 11,
       VU_SET_VRING_KICK = 12, VU_SET_VRING_CALL = 13 };

struct vlog_ctx {
    gm_vhost_dev *dev;
    pthread_t thread;
    int serve_fd;             /* the device's end (gm_vhost_dev_run closes it) */
    int sock;                 /* the front-end's end */
    int ram_fd, log_fd, kick_fd, call_fd;
    uint8_t *ram;
    uint64_t guest_size;
    uint16_t avail_idx;
    uint64_t rng;
};

static int vlog_config(void *opaque, uint8_t *config, uint32_t offset, uint32_t len)
{
    (void)opaque;
    (void)offset;
    memset(config, 0, len);
    return 0;
}

/* The device: write every device-writable buffer, push, notify. */
static void vlog_handle(void *opaque, gm_vhost_queue *q)
{
    static const uint8_t data[VLOG_BUF] = { 0x42 };
    gm_virtq_seg seg[4];
    gm_virtq_elem e = { .seg = seg, .seg_max = 4 };

    (void)opaque;
    while (gm_vhost_queue_pop(q, &e) == 1) {
        int64_t n = gm_virtq_elem_write(gm_vhost_queue_virtq(q), &e, 0, data, e.in_len);

        gm_vhost_queue_push(q, &e, n > 0 ? (uint32_t)n : 0);
        gm_vhost_queue_notify(q);
    }
}

static void vlog_quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static const gm_vhost_device_ops vlog_ops = { .get_config = vlog_config, .handle = vlog_handle };

static void *vlog_serve(void *arg)
{
    struct vlog_ctx *c = arg;

    gm_vhost_dev_run(c->dev, c->serve_fd);
    return NULL;
}

static int vlog_send(struct vlog_ctx *c, uint32_t req, const void *payload, uint32_t size, int fd)
{
    uint32_t hdr[3] = { req, 1, size };
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, size } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };

    if (fd >= 0) {
        struct cmsghdr *cm;

        memset(control, 0, sizeof(control));
        mh.msg_control = control;
        mh.msg_controllen = sizeof(control);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    return sendmsg(c->sock, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(hdr) + size) ? 0 : -EIO;
}

static int sealed_memfd(const char *name, uint64_t size)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

    if (fd >= 0 && (ftruncate(fd, (off_t)size) < 0 ||
                    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int vlog_negotiate(struct vlog_ctx *c, bool log)
{
    uint64_t features = 1ull << VLOG_F_VERSION_1 | (log ? 1ull << VLOG_F_LOG_ALL : 0);
    struct {
        uint32_t nregions, padding;
        uint64_t gpa, size, uaddr, offset;
    } __attribute__((packed)) mt = { 1, 0, 0, c->guest_size, (uint64_t)(uintptr_t)c->ram, 0 };
    uint64_t log_msg[2] = { c->guest_size / 4096 / 8, 0 };
    int err = vlog_send(c, VU_SET_FEATURES, &features, sizeof(features), -1);

    if (!err)
        err = vlog_send(c, VU_SET_MEM_TABLE, &mt, sizeof(mt), c->ram_fd);
    if (!err && log)
        err = vlog_send(c, VU_SET_LOG_BASE, log_msg, sizeof(log_msg), c->log_fd);
    return err;
}

static int vlog_ring(struct vlog_ctx *c)
{
    uint32_t num[2] = { 0, VLOG_QSIZE }, base[2] = { 0, 0 };
    struct {
        uint32_t index, flags;
        uint64_t desc, used, avail, log;
    } __attribute__((packed)) addr = { 0, 0, (uint64_t)(uintptr_t)(c->ram + VLOG_DESC),
                                       (uint64_t)(uintptr_t)(c->ram + VLOG_USED),
                                       (uint64_t)(uintptr_t)(c->ram + VLOG_AVAIL), 0 };
    uint64_t index = 0;
    int err = vlog_send(c, VU_SET_VRING_NUM, num, sizeof(num), -1);

    if (!err)
        err = vlog_send(c, VU_SET_VRING_ADDR, &addr, sizeof(addr), -1);
    if (!err)
        err = vlog_send(c, VU_SET_VRING_BASE, base, sizeof(base), -1);
    if (!err)
        err = vlog_send(c, VU_SET_VRING_CALL, &index, sizeof(index), c->call_fd);
    if (!err)
        err = vlog_send(c, VU_SET_VRING_KICK, &index, sizeof(index), c->kick_fd);
    return err;
}

static void vlog_teardown(struct vlog_ctx *c)
{
    if (c->thread) {
        uint32_t st[2] = { 0, 0 };

        vlog_send(c, VU_GET_VRING_BASE, st, sizeof(st), -1);
        shutdown(c->sock, SHUT_RDWR);
        pthread_join(c->thread, NULL);
    }
    gm_vhost_dev_free(c->dev);
    if (c->ram && c->ram != MAP_FAILED)
        munmap(c->ram, c->guest_size);
    if (c->sock >= 0)
        close(c->sock);
    if (c->ram_fd >= 0)
        close(c->ram_fd);
    if (c->log_fd >= 0)
        close(c->log_fd);
    if (c->kick_fd >= 0)
        close(c->kick_fd);
    if (c->call_fd >= 0)
        close(c->call_fd);
}

static int vlog_setup(struct vlog_ctx *c, uint64_t guest_size, bool log)
{
    static const gm_vhost_config cfg = { .num_queues = 1, .config_size = 8 };
    int sv[2];

    *c = (struct vlog_ctx){ .serve_fd = -1, .sock = -1, .ram_fd = -1, .log_fd = -1, .kick_fd = -1,
                            .call_fd = -1, .guest_size = guest_size, .rng = 0x9e3779b9 };
    c->ram_fd = sealed_memfd("bench-vhost-ram", guest_size);
    c->log_fd = sealed_memfd("bench-vhost-log", guest_size / 4096 / 8);
    c->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->dev = gm_vhost_dev_new(&cfg, &vlog_ops, NULL);
    if (c->ram_fd < 0 || c->log_fd < 0 || c->kick_fd < 0 || c->call_fd < 0 || !c->dev ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -ENOMEM;
    /* The teardown closes the connection without reading the last reply. */
    gm_system_set_log(gm_vhost_dev_system(c->dev), vlog_quiet, NULL, false);
    c->ram = mmap(NULL, guest_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                  c->ram_fd, 0);
    if (c->ram == MAP_FAILED)
        return -ENOMEM;
    c->sock = sv[0];
    c->serve_fd = sv[1];
    if (pthread_create(&c->thread, NULL, vlog_serve, c)) {
        close(sv[1]);
        return -EAGAIN;
    }
    return vlog_negotiate(c, log) || vlog_ring(c) ? -EIO : 0;
}

static uint16_t vlog_used_idx(struct vlog_ctx *c)
{
    return __atomic_load_n((uint16_t *)(void *)(c->ram + VLOG_USED + 2), __ATOMIC_ACQUIRE);
}

/* Publish BATCH one-buffer chains at random places, kick, wait. */
static double vlog_sample(void *arg)
{
    struct vlog_ctx *c = arg;
    uint16_t *ring = (uint16_t *)(void *)(c->ram + VLOG_AVAIL + 4);
    uint16_t target = (uint16_t)(c->avail_idx + VLOG_BATCH);
    uint64_t one = 1, t0 = bench_now_ns(), spins = 0;

    for (unsigned int i = 0; i < VLOG_BATCH; i++) {
        uint16_t slot = (uint16_t)((c->avail_idx + i) % VLOG_QSIZE);
        uint64_t addr = VLOG_DATA + bench_rng_next(&c->rng) % (VLOG_SPREAD / VLOG_BUF) * VLOG_BUF;
        uint8_t *d = c->ram + VLOG_DESC + 16u * slot;
        uint32_t len = VLOG_BUF;
        uint16_t flags = 2;   /* VIRTQ_DESC_F_WRITE */

        memcpy(d, &addr, 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 12, &flags, 2);
        memset(d + 14, 0, 2);
        ring[slot] = slot;
    }
    __atomic_store_n((uint16_t *)(void *)(c->ram + VLOG_AVAIL + 2), target, __ATOMIC_RELEASE);
    c->avail_idx = target;
    if (write(c->kick_fd, &one, sizeof(one)) != sizeof(one))
        return bench_fail("vhost_log", "kick failed");
    while (vlog_used_idx(c) != target) {
        if (++spins % 1024 == 0)
            sched_yield();
        if (bench_now_ns() - t0 > 10000000000ull)
            return bench_fail("vhost_log", "the device did not complete the requests");
    }
    return (double)(bench_now_ns() - t0) / 1000.0 / VLOG_BATCH;
}

/**
 * bench_vhost_log_req_us() - microseconds per request through a vhost-user
 * queue; @arg: the guest size, with BENCH_VHOST_LOG set to log dirty pages.
 */
double bench_vhost_log_req_us(const struct bench_cfg *cfg, uint64_t arg)
{
    struct vlog_ctx c;
    double us = NAN;

    if (vlog_setup(&c, arg & ~BENCH_VHOST_LOG, arg & BENCH_VHOST_LOG) == 0)
        us = bench_median_of(cfg, vlog_sample, &c);
    else
        bench_fail("vhost_log", "cannot set the device up");
    vlog_teardown(&c);
    return us;
}
