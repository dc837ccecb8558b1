/* SPDX-License-Identifier: MIT */
/*
 * map_unmap_ram_ns: the cost of a gm_as_map() + gm_as_unmap() pair of 4 KiB
 * on RAM, the way a virtio backend maps one descriptor's buffer.
 *
 * On RAM the pair should be a lookup, a region reference taken and dropped,
 * and finding the mapping again from the host pointer; nothing is copied.
 * The mappings walk sequential 4 KiB blocks of a 1 MiB region, for reading
 * (a write mapping would add dirty marking, which is off here anyway).
 */
#include <errno.h>
#include <math.h>

#include "bench.h"

#define MAP_REGION_SIZE (1u << 20)

struct map_ctx {
    struct bench_as b;
    uint64_t len;
    uint64_t iters;
};

static double map_sample(void *opaque)
{
    struct map_ctx *c = opaque;

    return bench_map_loop(c->b.as, MAP_REGION_SIZE, c->len, c->iters, "map",
                          "gm_as_map() of RAM failed or came back short");
}

double bench_map_unmap_ram_ns(const struct bench_cfg *cfg, uint64_t len)
{
    struct map_ctx c = { .len = len, .iters = bench_pick(cfg, 2000000, 100000) };

    if (len == 0 || len > MAP_REGION_SIZE || bench_as_init(&c.b, MAP_REGION_SIZE) < 0) {
        return NAN;
    }
    if (!bench_as_add(&c.b, 0, gm_region_new_ram(c.b.sys, "ram", MAP_REGION_SIZE))) {
        bench_as_fini(&c.b);
        return NAN;
    }
    double v = bench_median_of(cfg, map_sample, &c);
    bench_as_fini(&c.b);
    return v;
}
