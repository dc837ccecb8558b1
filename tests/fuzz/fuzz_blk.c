/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a hostile driver against guestmem-vhost-blk's request
 * processing (devices/blk/blk_request.c) over a split virtqueue.
 *
 * Per input: 64 KiB of guest RAM holding the fuzzer's bytes (rings,
 * descriptor tables, request headers, data, discard segments), a queue over
 * it, and a 64 KiB RAM disk filled with a known pattern (read-only when the
 * input says so). Every element popped is processed as the device's queue
 * thread would, and pushed.
 *
 * Input: byte 0 queue size (2^(b % 6)), byte 1 features (bit 0 indirect,
 * bit 1 event index), bytes 2-7 the three ring offsets (little-endian), byte
 * 8 bit 0 read-only disk, bytes 9-10 the starting available index, then the
 * RAM image.
 *
 * Checked for every request, beyond "no crash, leak or sanitizer report":
 * the used length is at most the writable bytes; a request that failed left
 * the disk as it was; a successful write changed exactly its range, to the
 * data the driver supplied; write-zeroes zeroed its range; discard changed
 * nothing outside its range; reads, flushes and GET_ID changed nothing; a
 * successful read delivered the disk's bytes (checked when the chain's
 * buffers do not overlap); nothing is written to a read-only disk.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#include "blk_device.h"

#define RAM_SIZE 0x10000u
#define DISK_SIZE 0x10000u
#define HDR 11u
#define MAX_CHECKED (1u << 20)   /* driver data snapshotted up to this size */

#define FUZZ_ASSERT(c) ((c) ? (void)0 : abort())

typedef struct world {
    gm_system *sys;
    gm_region *root;
    gm_as *as;
    uint8_t *ram;
    blk_device dev;
    uint8_t before[DISK_SIZE];
    uint8_t after[DISK_SIZE];
} world;

typedef struct request {
    uint32_t type;
    uint64_t sector;
    uint8_t *out;          /* driver data after the header, or NULL if too long */
    uint64_t out_len;
    uint64_t seg_sector;   /* discard / write-zeroes segment */
    uint32_t seg_count;
} request;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static uint16_t le16_at(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void disk_snapshot(const world *w, uint8_t *buf)
{
    FUZZ_ASSERT(pread(w->dev.disk.fd, buf, DISK_SIZE, 0) == DISK_SIZE);
}

static bool range_in_disk(uint64_t sector, uint64_t bytes)
{
    return sector <= DISK_SIZE / BLK_SECTOR && bytes <= DISK_SIZE - sector * BLK_SECTOR;
}

/* Only [lo, lo + len) may differ between the snapshots. */
static void assert_unchanged_outside(const world *w, uint64_t lo, uint64_t len)
{
    FUZZ_ASSERT(!memcmp(w->before, w->after, lo));
    FUZZ_ASSERT(!memcmp(w->before + lo + len, w->after + lo + len, DISK_SIZE - lo - len));
}

/* What the driver asked, read before the device runs (its buffers may overlap). */
static void read_request(gm_virtq *vq, const gm_virtq_elem *e, request *rq)
{
    uint8_t hdr[16] = { 0 }, seg[16] = { 0 };

    memset(rq, 0, sizeof(*rq));
    gm_virtq_elem_read(vq, e, 0, hdr, sizeof(hdr));
    memcpy(&rq->type, hdr, 4);
    memcpy(&rq->sector, hdr + 8, 8);
    gm_virtq_elem_read(vq, e, 16, seg, sizeof(seg));
    memcpy(&rq->seg_sector, seg, 8);
    memcpy(&rq->seg_count, seg + 8, 4);
    rq->out_len = e->out_len > 16 ? e->out_len - 16 : 0;
    if (rq->out_len <= MAX_CHECKED) {
        rq->out = malloc(rq->out_len + 1);
        FUZZ_ASSERT(rq->out);
        if (gm_virtq_elem_read(vq, e, 16, rq->out, rq->out_len) != (int64_t)rq->out_len) {
            free(rq->out);
            rq->out = NULL;
        }
    }
}

static bool segs_disjoint(const gm_virtq_elem *e)
{
    unsigned int n = e->out_num + e->in_num;

    for (unsigned int i = 0; i < n; i++) {
        for (unsigned int j = i + 1; j < n; j++) {
            const gm_virtq_seg *a = &e->seg[i], *b = &e->seg[j];

            if (a->len && b->len && a->addr < b->addr + b->len && b->addr < a->addr + a->len)
                return false;
        }
    }
    return true;
}

/* The first @len writable bytes of @e, as the guest sees them now. */
static bool read_writable(world *w, const gm_virtq_elem *e, uint8_t *buf, uint64_t len)
{
    for (unsigned int i = e->out_num; i < e->out_num + e->in_num && len; i++) {
        uint64_t l = e->seg[i].len < len ? e->seg[i].len : len;

        if (gm_as_read(w->as, e->seg[i].addr, GM_ATTRS_UNSPECIFIED, buf, l) != GM_OK)
            return false;
        buf += l;
        len -= l;
    }
    return true;
}

static void check_success(world *w, const gm_virtq_elem *e, const request *rq, uint32_t used)
{
    uint64_t off = rq->sector * BLK_SECTOR;

    switch (rq->type) {
    case VIRTIO_BLK_T_OUT:
        FUZZ_ASSERT(!w->dev.disk.readonly && range_in_disk(rq->sector, rq->out_len));
        assert_unchanged_outside(w, off, rq->out_len);
        FUZZ_ASSERT(!rq->out || !memcmp(w->after + off, rq->out, rq->out_len));
        break;
    case VIRTIO_BLK_T_IN: {
        uint64_t len = used - 1;
        uint8_t *got;

        FUZZ_ASSERT(used >= 1 && range_in_disk(rq->sector, len));
        FUZZ_ASSERT(!memcmp(w->before, w->after, DISK_SIZE));
        if (!segs_disjoint(e) || !(got = malloc(len + 1)))
            break;
        if (read_writable(w, e, got, len))
            FUZZ_ASSERT(!memcmp(got, w->after + off, len));
        free(got);
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
        uint64_t lo = rq->seg_sector * BLK_SECTOR, len = (uint64_t)rq->seg_count * BLK_SECTOR;

        FUZZ_ASSERT(!w->dev.disk.readonly && range_in_disk(rq->seg_sector, len));
        assert_unchanged_outside(w, lo, len);
        for (uint64_t i = 0; rq->type == VIRTIO_BLK_T_WRITE_ZEROES && i < len; i++)
            FUZZ_ASSERT(w->after[lo + i] == 0);
        break;
    }
    default:
        FUZZ_ASSERT(!memcmp(w->before, w->after, DISK_SIZE));
        break;
    }
}

/* Run one request as the queue thread does; returns the used length to push. */
static uint32_t process(world *w, gm_virtq *vq, gm_virtq_elem *e)
{
    uint64_t errors = w->dev.errors;
    request rq;
    uint32_t used;

    read_request(vq, e, &rq);
    disk_snapshot(w, w->before);
    used = blk_request_process(&w->dev, vq, e);
    disk_snapshot(w, w->after);
    FUZZ_ASSERT(used <= e->in_len);
    if (getenv("GM_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_blk: type %u sector %" PRIu64 " out %u in %u: used %u, %s\n",
                rq.type, rq.sector, e->out_len, e->in_len, used,
                w->dev.errors == errors ? "ok" : "error");
    if (w->dev.errors == errors && used)
        check_success(w, e, &rq, used);
    else if (w->dev.errors != errors)
        FUZZ_ASSERT(!memcmp(w->before, w->after, DISK_SIZE));
    free(rq.out);
    return used;
}

static void world_init(world *w, bool readonly)
{
    w->sys = gm_system_new(0);
    FUZZ_ASSERT(w->sys);
    gm_system_set_log(w->sys, quiet, NULL, false);
    w->root = gm_region_new_container(w->sys, "root", GM_SIZE_2_64);
    w->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    FUZZ_ASSERT(w->root && w->ram != MAP_FAILED);
    {
        gm_region *ram = gm_region_new_ram_ptr(w->sys, "ram", RAM_SIZE, w->ram);

        FUZZ_ASSERT(ram && gm_region_add_subregion(w->root, 0, ram) == 0);
        gm_region_unref(ram);
    }
    w->as = gm_as_new(w->sys, w->root, "fuzz");
    FUZZ_ASSERT(w->as);
    FUZZ_ASSERT(blk_disk_open_ram(&w->dev.disk, DISK_SIZE) == 0);
    for (unsigned int i = 0; i < DISK_SIZE; i++)
        w->before[i] = (uint8_t)(i * 7 + 1);
    FUZZ_ASSERT(pwrite(w->dev.disk.fd, w->before, DISK_SIZE, 0) == DISK_SIZE);
    w->dev.disk.readonly = readonly;
    w->dev.num_queues = 1;
    memcpy(w->dev.serial, "fuzz-serial", 11);
}

static void world_fini(world *w)
{
    blk_disk_close(&w->dev.disk);
    gm_as_free(w->as);
    gm_region_unref(w->root);
    gm_system_free(w->sys);
    munmap(w->ram, RAM_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gm_virtq_seg segs[BLK_MAX_SEGS];
    gm_virtq_elem e = { .seg = segs, .seg_max = BLK_MAX_SEGS };
    gm_virtq_config cfg;
    gm_virtq *vq;
    world *w;

    if (size < HDR)
        return 0;
    w = calloc(1, sizeof(*w));
    FUZZ_ASSERT(w);
    world_init(w, data[8] & 1);
    memcpy(w->ram, data + HDR, size - HDR < RAM_SIZE ? size - HDR : RAM_SIZE);
    cfg = (gm_virtq_config){
        .size = 1u << (data[0] % 6),
        .desc_addr = le16_at(data + 2) & ~15u,
        .avail_addr = le16_at(data + 4) & ~1u,
        .used_addr = le16_at(data + 6) & ~3u,
        .features = GM_VIRTIO_F_VERSION_1 | ((data[1] & 1) ? GM_VIRTIO_F_INDIRECT_DESC : 0) |
                    ((data[1] & 2) ? GM_VIRTIO_F_EVENT_IDX : 0),
    };
    if (gm_virtq_new(w->as, &cfg, &vq) == 0) {
        gm_virtq_set_log(vq, quiet, NULL);
        gm_virtq_set_last_avail_idx(vq, le16_at(data + 9));
        for (unsigned int i = 0; i < 4 * cfg.size + 4 && gm_virtq_pop(vq, &e) == 1; i++)
            gm_virtq_push(vq, e.head, process(w, vq, &e));
        gm_virtq_free(vq);
    }
    world_fini(w);
    free(w);
    return 0;
}
