/* SPDX-License-Identifier: MIT */
/*
 * bounce_map_unmap_ns and mmio_ld4_ns: the slow paths, for scale.
 *
 * Both run against an I/O region whose callbacks do next to nothing (a read
 * returns the offset, a write is dropped), so what is timed is the library:
 * dispatch, the valid/impl size checks, the re-entrancy guard and the
 * callback call for mmio_ld4_ns; for bounce_map_unmap_ns also the bounce
 * buffer's budget accounting and the fill by 8-byte callback reads (a read
 * mapping of 256 bytes is filled by 32 of them).
 */
#include <math.h>

#include "bench.h"

#define IO_REGION_SIZE (1u << 16)

static uint64_t io_read(void *opaque, gm_addr addr, unsigned int size)
{
    (void)opaque;
    (void)size;
    return addr;
}

static void io_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)data;
    (void)size;
}

static const gm_region_ops io_ops = {
    .read = io_read,
    .write = io_write,
    .endianness = GM_ENDIAN_LITTLE,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

struct io_ctx {
    struct bench_as b;
    uint64_t len;
    uint64_t iters;
};

static int io_setup(struct io_ctx *c, uint64_t len, uint64_t iters)
{
    *c = (struct io_ctx){ .len = len, .iters = iters };
    if (len == 0 || len > IO_REGION_SIZE || bench_as_init(&c->b, IO_REGION_SIZE) < 0) {
        return -1;
    }
    if (!bench_as_add(&c->b, 0, gm_region_new_io(c->b.sys, "io", IO_REGION_SIZE, &io_ops, NULL))) {
        bench_as_fini(&c->b);
        return -1;
    }
    return 0;
}

static double bounce_sample(void *opaque)
{
    struct io_ctx *c = opaque;

    return bench_map_loop(c->b.as, IO_REGION_SIZE, c->len, c->iters, "bounce",
                          "gm_as_map() of I/O failed or came back short");
}

static double mmio_sample(void *opaque)
{
    struct io_ctx *c = opaque;
    gm_result res = GM_OK;
    uint32_t acc = 0;
    uint32_t v;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < c->iters; i++) {
        res |= gm_as_ld32_le(c->b.as, (i & (IO_REGION_SIZE / 4 - 1)) * 4,
                             GM_ATTRS_UNSPECIFIED, &v);
        acc += v;
    }
    uint64_t t1 = bench_now_ns();
    bench_keep(acc);
    if (res != GM_OK) {
        return bench_fail("mmio", "gm_as_ld32_le() failed on I/O");
    }
    return (double)(t1 - t0) / (double)c->iters;
}

static double io_run(const struct bench_cfg *cfg, uint64_t len, uint64_t iters,
                     bench_sample_fn fn)
{
    struct io_ctx c;

    if (io_setup(&c, len, iters) < 0) {
        return NAN;
    }
    double v = bench_median_of(cfg, fn, &c);
    bench_as_fini(&c.b);
    return v;
}

double bench_bounce_map_unmap_ns(const struct bench_cfg *cfg, uint64_t len)
{
    return io_run(cfg, len, bench_pick(cfg, 500000, 20000), bounce_sample);
}

double bench_mmio_ld4_ns(const struct bench_cfg *cfg, uint64_t unused)
{
    (void)unused;
    return io_run(cfg, 4, bench_pick(cfg, 2000000, 100000), mmio_sample);
}
