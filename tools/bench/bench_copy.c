/* SPDX-License-Identifier: MIT */
/*
 * read_<len>_vs_memcpy and write_<len>_vs_memcpy: what gm_as_read() and
 * gm_as_write() cost on RAM compared with the memcpy() they end in.
 *
 * Both loops walk a 64 MiB RAM region in sequential blocks of @len bytes and
 * copy each block to (or from) the same offset of a 64 MiB host buffer; both
 * buffers are faulted in first. The memcpy() loop uses the region's host
 * pointer, so the two loops move the same bytes between the same addresses
 * and differ only by the library's lookup and checks. Each sample times
 * memcpy passes and guestmem passes in alternation and reports the median of
 * the pairs' ratios (memcpy time / guestmem time: 1.0 is as fast as memcpy),
 * so a frequency change between samples cancels out and a pass that lost the
 * core to a neighbour is left out.
 *
 * Over 64 MiB both loops wait on DRAM, which hides a fixed cost per call.
 * The _hot_ variants repeat the same walk over 256 KiB, so both buffers
 * together take half of L2 (1 MiB per core on the reference machine; filling
 * all of it made results depend on physical page placement), and the
 * library's per-call work shows at its full share.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "bench.h"

#define COPY_COLD_SIZE (64u << 20)
#define COPY_HOT_SIZE (256u << 10)

struct copy_ctx {
    struct bench_as b;
    uint8_t *ram;   /* the region's host memory */
    uint8_t *buf;   /* the host side of every copy */
    uint64_t size;
    uint64_t len;
    unsigned int passes;
    bool is_write;
    gm_result res;  /* of the sample's guestmem passes */
};

static void copy_teardown(struct copy_ctx *c)
{
    bench_as_fini(&c->b);
    bench_free(c->buf, c->size);
}

static int copy_setup(struct copy_ctx *c, const struct bench_cfg *cfg, uint64_t len,
                      bool is_write, bool hot)
{
    gm_region *mr;

    /* Both variants move 256 MiB per sample (32 MiB under --quick). */
    *c = (struct copy_ctx){
        .size = hot ? COPY_HOT_SIZE : bench_pick(cfg, COPY_COLD_SIZE, COPY_COLD_SIZE / 8),
        .len = len,
        .passes = (unsigned int)(hot ? bench_pick(cfg, 1024, 128) : bench_pick(cfg, 4, 4)),
        .is_write = is_write,
    };
    c->buf = bench_alloc(c->size);
    if (!c->buf || bench_as_init(&c->b, c->size) < 0) {
        goto fail;
    }
    mr = bench_as_add(&c->b, 0, gm_region_new_ram(c->b.sys, "ram", c->size));
    c->ram = mr ? gm_region_get_ram_ptr(mr) : NULL;
    if (!c->ram) {
        goto fail;
    }
    memset(c->ram, 0xa5, c->size);
    return 0;

fail:
    copy_teardown(c);
    return -ENOMEM;
}

static uint64_t copy_pass_memcpy(void *opaque)
{
    const struct copy_ctx *c = opaque;
    uint8_t *dst = c->is_write ? c->ram : c->buf;
    const uint8_t *src = c->is_write ? c->buf : c->ram;
    uint64_t len = c->len;

    bench_keep(len);
    uint64_t t0 = bench_now_ns();
    for (uint64_t off = 0; off + len <= c->size; off += len) {
        memcpy(dst + off, src + off, len);
    }
    bench_clobber();
    return bench_now_ns() - t0;
}

static uint64_t copy_pass_guestmem(void *opaque)
{
    struct copy_ctx *c = opaque;
    uint64_t len = c->len;
    gm_result res = GM_OK;

    uint64_t t0 = bench_now_ns();
    for (uint64_t off = 0; off + len <= c->size; off += len) {
        if (c->is_write) {
            res |= gm_as_write(c->b.as, off, GM_ATTRS_UNSPECIFIED, c->buf + off, len);
        } else {
            res |= gm_as_read(c->b.as, off, GM_ATTRS_UNSPECIFIED, c->buf + off, len);
        }
    }
    bench_clobber();
    uint64_t t1 = bench_now_ns();
    c->res |= res;
    return t1 - t0;
}

/* A sample: the median over its pairs of passes of memcpy time / guestmem
 * time (bench.h: a pass slowed by a neighbour spoils one pair, not the
 * sample). */
static double copy_sample(void *opaque)
{
    struct copy_ctx *c = opaque;
    double ratio;

    c->res = GM_OK;
    ratio = bench_pair_ratios(c->passes, copy_pass_memcpy, copy_pass_guestmem, c);
    if (c->res != GM_OK) {
        return bench_fail("copy", "gm_as_read()/gm_as_write() failed on RAM");
    }
    return ratio;
}

static double copy_run(const struct bench_cfg *cfg, uint64_t len, bool is_write, bool hot)
{
    struct copy_ctx c;

    if (copy_setup(&c, cfg, len, is_write, hot) < 0) {
        return NAN;
    }
    double v = bench_median_of(cfg, copy_sample, &c);
    copy_teardown(&c);
    return v;
}

double bench_read_vs_memcpy(const struct bench_cfg *cfg, uint64_t len)
{
    return copy_run(cfg, len, false, false);
}

double bench_write_vs_memcpy(const struct bench_cfg *cfg, uint64_t len)
{
    return copy_run(cfg, len, true, false);
}

double bench_read_hot_vs_memcpy(const struct bench_cfg *cfg, uint64_t len)
{
    return copy_run(cfg, len, false, true);
}

double bench_write_hot_vs_memcpy(const struct bench_cfg *cfg, uint64_t len)
{
    return copy_run(cfg, len, true, true);
}
