/* SPDX-License-Identifier: MIT */
/*
 * Set-up and tear-down of a run (bp_run.h): from the command line and the
 * device's answers to guest RAM, rings, slots, the vIOMMU and a started
 * device; and the reconnect sequence.
 *
 * Sizing: requests are aligned to the device's logical block size (or to
 * --bs when it is fixed, as fio aligns random offsets); the region is
 * --size bytes at --offset, cut to a whole number of blocks. The prefill
 * and read-back passes use requests of max(--bs, 128 KiB) where the device
 * accepts that. A ring holds at least 128 entries and enough descriptors
 * for --iodepth of the longest request (one each with indirect tables).
 *
 * Glossary: r = the run; o = its options.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bp_run.h"
#include "bp_util.h"

#define CHUNK_DEFAULT (128u << 10)
#define QUEUE_SIZE_DEFAULT 128u
#define QUEUE_SIZE_MAX 32768u

static bool spawn_alive(void *opaque)
{
    bp_run *r = opaque;

    return !bp_interrupted() && (!r->spawn.pid || bp_spawn_alive(&r->spawn));
}

static int connect_backend(bp_run *r)
{
    return bp_dev_connect(&r->dev, r->o->socket, (int)r->o->connect_wait_ms, spawn_alive, r);
}

static int start_backend(bp_run *r)
{
    char why[64];
    int err;

    if (!r->o->spawn)
        return 0;
    err = bp_spawn_start(&r->spawn, r->o->spawn_argv);
    if (err) {
        bp_fail("cannot start %s: %s", r->o->spawn_argv[0], strerror(-err));
        return err;
    }
    err = connect_backend(r);
    if (err && r->spawn.exited)
        bp_warn("the back-end %s", bp_spawn_describe(&r->spawn, why, sizeof(why)));
    return err;
}

static void want_from_options(bp_run *r)
{
    const bp_options *o = r->o;

    r->want = (bp_want){ .queues = o->queues, .packed = o->packed, .event_idx = o->event_idx,
                         .indirect = o->indirect, .iommu = o->iommu != BP_IOMMU_OFF,
                         .log = o->log };
}

static int check_region(bp_run *r, uint32_t align)
{
    const bp_options *o = r->o;
    uint64_t cap = r->dev.blk.capacity;
    uint64_t size = o->size ? o->size : (o->offset < cap ? cap - o->offset : 0);

    size -= size % align;
    if (o->offset % align || o->bs_min % align || o->bs_max % align) {
        bp_fail("--offset and --bs must be multiples of %u (the device's block size, or --bs)",
                align);
        return -EINVAL;
    }
    if (o->offset >= cap || size > cap - o->offset || size < o->bs_max) {
        bp_fail("the region (%llu bytes at %llu) does not fit the disk (%llu bytes) or is smaller "
                "than a request", (unsigned long long)size, (unsigned long long)o->offset,
                (unsigned long long)cap);
        return -EINVAL;
    }
    r->region = (bp_job){ .rw = o->rw, .rwmixread = o->rwmixread, .bs_min = o->bs_min,
                          .bs_max = o->bs_max, .align = align, .offset = o->offset, .size = size };
    return 0;
}

/* Request shape, prefill/read-back size, and what the device's limits allow. */
static int shape_requests(bp_run *r)
{
    const bp_options *o = r->o;
    const bp_blk_info *b = &r->dev.blk;
    bp_req_cfg *req = &r->env.req;
    uint32_t chunk = CHUNK_DEFAULT > o->bs_max ? CHUNK_DEFAULT : o->bs_max;

    *req = (bp_req_cfg){ .segments = o->segments, .unaligned = o->unaligned,
                         .indirect = r->dev.acked & BIT64(VIRTIO_F_INDIRECT_DESC),
                         .size_max = b->size_max, .seg_max = b->seg_max, .bs_max = o->bs_max };
    if (!bp_req_segments_for(req, o->bs_max) || !bp_req_segments_for(req, o->bs_min)) {
        bp_fail("a %u-byte request cannot be built within the device's limits (size_max %u, "
                "seg_max %u)", o->bs_max, b->size_max, b->seg_max);
        return -EINVAL;
    }
    chunk -= chunk % r->region.align;
    if (chunk > r->region.size || !bp_req_segments_for(req, chunk))
        chunk = o->bs_max;
    r->chunk = chunk;
    req->bs_max = o->verify ? chunk : o->bs_max;
    return 0;
}

static int size_rings(bp_run *r)
{
    const bp_options *o = r->o;
    uint64_t need = (uint64_t)o->iodepth * bp_req_descs(&r->env.req);
    uint64_t qs = need > QUEUE_SIZE_DEFAULT ? need : QUEUE_SIZE_DEFAULT;

    if (o->queue_size)
        qs = o->queue_size;

    if (!o->packed || !o->queue_size)    /* packed rings may be any size, if asked */
        qs = bp_pow2_ceil(qs);
    if (qs < need || qs > QUEUE_SIZE_MAX || qs < o->iodepth) {
        bp_fail("a ring of %llu entries cannot hold --iodepth %u of %u descriptors each%s",
                (unsigned long long)qs, o->iodepth, bp_req_descs(&r->env.req),
                o->packed ? "" : " (split rings are a power of two, at most 32768)");
        return -EINVAL;
    }
    r->want.queue_size = (uint16_t)qs;
    return 0;
}

static int check_device(bp_run *r)
{
    const bp_options *o = r->o;
    uint32_t align = o->bs_min == o->bs_max ? o->bs_min : r->dev.blk.blk_size;
    int err;

    if (r->dev.blk.read_only && (bp_rw_writes(o->rw) || (o->verify && !o->verify_only))) {
        bp_fail("the device is read-only (VIRTIO_BLK_F_RO): no writes, and --verify needs them");
        return -EROFS;
    }
    if (align % r->dev.blk.blk_size)
        align = r->dev.blk.blk_size;
    err = check_region(r, align);
    err = err ? err : shape_requests(r);
    return err ? err : size_rings(r);
}

static int init_queues(bp_run *r)
{
    const bp_options *o = r->o;

    r->env.timeout_ns = (uint64_t)o->timeout_ms * 1000000ull;
    r->env.continue_on_error = o->continue_on_error;
    r->env.seed = o->seed;
    r->q = calloc(o->queues, sizeof(*r->q));
    if (!r->q)
        return -ENOMEM;
    while (r->nq < o->queues) {
        int err = bp_queue_init(&r->q[r->nq], r->nq, (uint16_t)o->iodepth, &r->env);

        r->vqs[r->nq] = &r->q[r->nq].vq;
        r->nq++;    /* counted even when it failed: teardown frees what it got */
        if (err)
            return err;
    }
    return 0;
}

static int alloc_all(bp_run *r)
{
    bool packed = r->dev.acked & BIT64(VIRTIO_F_RING_PACKED);
    bool event_idx = r->dev.acked & BIT64(VIRTIO_F_EVENT_IDX);
    int err = 0;

    for (unsigned int i = 0; i < r->nq && !err; i++)
        err = bp_queue_alloc(&r->q[i], &r->mem, r->want.queue_size, packed, event_idx);
    return err;
}

static int init_iommu(bp_run *r)
{
    const bp_options *o = r->o;
    uint64_t requests = (uint64_t)o->queues * o->iodepth * 2 + o->lazy_batch;
    uint64_t rings = (uint64_t)o->queues * bp_ring_layout_of(o->packed, r->want.queue_size).bytes;
    unsigned int maps = bp_req_segments_for(&r->env.req, r->env.req.bs_max) + 3;
    uint64_t window = bp_iommu_window(requests, maps, r->env.req.bs_max, rings);
    int err;

    if (!r->want.iommu)
        return 0;
    err = bp_iommu_init(&r->io, &r->dev.conn, o->iommu, o->lazy_batch, o->reconnect, window);
    if (err) {
        bp_fail("--iommu: cannot set up %llu bytes of IOVA space: %s",
                (unsigned long long)window, strerror(-err));
        return err;
    }
    r->io_on = true;
    r->env.io = &r->io;
    return 0;
}

/* Both passes of guest RAM (bp_mem.h), the vIOMMU in between (rings are mapped). */
static int setup_memory(bp_run *r)
{
    int err = init_queues(r);

    err = err ? err : alloc_all(r);
    if (!err && (err = bp_mem_create(&r->mem)))
        bp_fail("cannot create guest RAM (%llu bytes): %s", (unsigned long long)r->mem.size,
                strerror(-err));
    err = err ? err : init_iommu(r);
    if (!err && (err = alloc_all(r)))
        bp_fail("cannot set up the rings: %s", strerror(-err));
    return err;
}

static int setup_verify(bp_run *r)
{
    const bp_options *o = r->o;
    int err;

    if (!o->verify)
        return 0;
    err = bp_verify_init(&r->verify, o->seed, r->region.offset, r->region.size, o->verify_zeroed);
    if (err) {
        bp_fail("--verify: %s", strerror(-err));
        return err;
    }
    r->verify_on = true;
    if (o->verify_only)     /* an earlier run wrote the whole region */
        bp_verify_mark(&r->verify, r->region.offset, r->region.size, true);
    return 0;
}

static int start_rings(bp_run *r, bool restart)
{
    return bp_dev_start(&r->dev, &r->want, &r->mem, r->vqs, r->io_on ? &r->io : NULL, restart);
}

static int start_device(bp_run *r)
{
    int err = start_rings(r, false);

    if (!err && r->io_on) {
        err = bp_iommu_start(&r->io, r->chan);
        if (err)
            bp_fail("cannot start the IOMMU thread: %s", strerror(-err));
        else
            r->chan = -1;
    }
    return err;
}

int bp_setup(bp_run *r)
{
    int err;

    r->chan = -1;
    r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bp_dev_init(&r->dev, (int)r->o->timeout_ms);
    want_from_options(r);
    if (r->done_fd < 0) {
        bp_fail("eventfd: %s", strerror(errno));
        return -errno;
    }
    err = r->o->spawn ? start_backend(r) : connect_backend(r);
    err = err ? err : bp_dev_handshake(&r->dev, &r->want, &r->chan);
    err = err ? err : check_device(r);
    err = err ? err : setup_memory(r);
    err = err ? err : bp_logrun_setup(r);
    err = err ? err : setup_verify(r);
    return err ? err : start_device(r);
}

int bp_setup_reconnect(bp_run *r)
{
    uint64_t acked = r->dev.acked;
    int chan = -1, err;

    bp_conn_close(&r->dev.conn);
    err = connect_backend(r);
    err = err ? err : bp_dev_handshake(&r->dev, &r->want, &chan);
    if (!err && r->dev.acked != acked) {
        bp_fail("the back-end came back with other features (0x%llx, was 0x%llx)",
                (unsigned long long)r->dev.acked, (unsigned long long)acked);
        err = -EPROTO;
    }
    err = err ? err : start_rings(r, true);
    if (err) {
        if (chan >= 0)
            close(chan);
        return err;
    }
    if (r->io_on)
        bp_iommu_set_channel(&r->io, chan);
    for (unsigned int i = 0; i < r->nq; i++)
        bp_queue_kick(&r->q[i]);
    return 0;
}

/* A healthy device is stopped as QEMU stops it, checking each ring's base. */
static void stop_device(bp_run *r)
{
    int err = 0;

    if (bp_failed() || r->dev.conn.fd < 0)
        return;
    if (r->io_on)
        err = bp_iommu_flush(&r->io);
    if (err)
        bp_fail("IOTLB invalidation failed: %s", strerror(-err));
    else
        bp_dev_stop(&r->dev, &r->want, r->vqs);
}

void bp_teardown(bp_run *r)
{
    stop_device(r);
    if (r->io_on) {
        bp_iommu_stop(&r->io);
        bp_iommu_get_stats(&r->io, &r->res.iommu);
        bp_iommu_destroy(&r->io);
    }
    bp_dev_destroy(&r->dev);
    if (r->spawn.pid)
        bp_spawn_stop(&r->spawn);
    for (unsigned int i = 0; i < r->nq; i++)
        bp_queue_destroy(&r->q[i]);
    free(r->q);
    bp_mem_destroy(&r->mem);
    if (r->verify_on)
        bp_verify_destroy(&r->verify);
    bp_logrun_teardown(r);
    if (r->chan >= 0)
        close(r->chan);
    if (r->done_fd >= 0)
        close(r->done_fd);
}
