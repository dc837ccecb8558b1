/* SPDX-License-Identifier: MIT */
/*
 * cached_ld4_vs_raw: what a 4-byte gm_cache_ld32_le() costs compared with a
 * plain 4-byte load through a host pointer (guestmem time / raw time; the
 * goal is at most 1.5).
 *
 * This is the virtqueue fast path: a cache pinned over a 4 KiB ring, loads at
 * offsets that wander over the ring. Both loops read the same pre-drawn
 * offsets from the same array, load from the same host page and add into an
 * accumulator that bench_keep() forces through a register every iteration,
 * so neither loop can be vectorized or deleted and the only difference is the
 * cache's bounds check and result. A sample is the median ratio over pairs
 * of chunks of 2^16 loads each, run in alternating order (bench.h).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "bench.h"

#define CACHE_NR_OFFS 1024u /* power of two: indexed with a mask */
#define CACHE_CHUNK (1u << 16) /* loads per timed chunk */

struct cache_ctx {
    struct bench_as b;
    gm_cache cache;
    const uint8_t *ring;
    uint64_t iters;
    gm_result res;  /* of the sample's guestmem chunks */
    uint32_t offs[CACHE_NR_OFFS];
};

static int cache_setup(struct cache_ctx *c, const struct bench_cfg *cfg, uint64_t ring_len)
{
    uint64_t rng = 0x2545f4914f6cdd1dull;
    gm_region *mr;

    c->b = (struct bench_as){ 0 };
    c->cache = GM_CACHE_INIT;
    c->iters = bench_pick(cfg, 20000000, 1000000);
    if (ring_len < 4 || bench_as_init(&c->b, ring_len) < 0) {
        return -ENOMEM;
    }
    mr = bench_as_add(&c->b, 0, gm_region_new_ram(c->b.sys, "ring", ring_len));
    c->ring = mr ? gm_region_get_ram_ptr(mr) : NULL;
    if (!c->ring || gm_cache_init(&c->cache, c->b.as, 0, ring_len, false) != (int64_t)ring_len) {
        bench_fail("cache", "cannot set up the ring or its cache");
        gm_cache_destroy(&c->cache);
        bench_as_fini(&c->b);
        return -ENOMEM;
    }
    for (unsigned int i = 0; i < CACHE_NR_OFFS; i++) {
        c->offs[i] = (uint32_t)(bench_rng_next(&rng) % (ring_len / 4)) * 4;
    }
    return 0;
}

static void cache_teardown(struct cache_ctx *c)
{
    gm_cache_destroy(&c->cache);
    bench_as_fini(&c->b);
}

static uint64_t cache_loop_raw(void *opaque)
{
    const struct cache_ctx *c = opaque;
    uint32_t acc = 0;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < CACHE_CHUNK; i++) {
        uint32_t v;

        memcpy(&v, c->ring + c->offs[i & (CACHE_NR_OFFS - 1)], 4);
        acc += v;
        bench_keep(acc);
    }
    return bench_now_ns() - t0;
}

static uint64_t cache_loop_guestmem(void *opaque)
{
    struct cache_ctx *c = opaque;
    gm_result r = GM_OK;
    uint32_t acc = 0;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < CACHE_CHUNK; i++) {
        uint32_t v;

        r |= gm_cache_ld32_le(&c->cache, c->offs[i & (CACHE_NR_OFFS - 1)], &v);
        acc += v;
        bench_keep(acc);
    }
    uint64_t t1 = bench_now_ns();
    c->res |= r;
    return t1 - t0;
}

/* A sample: the median over chunk pairs of guestmem time / raw time. */
static double cache_sample(void *opaque)
{
    struct cache_ctx *c = opaque;
    double ratio;

    c->res = GM_OK;
    ratio = bench_pair_ratios((unsigned int)(c->iters / CACHE_CHUNK), cache_loop_guestmem,
                              cache_loop_raw, c);
    if (c->res != GM_OK) {
        return bench_fail("cache", "gm_cache_ld32_le() failed on RAM");
    }
    return ratio;
}

double bench_cached_ld4_vs_raw(const struct bench_cfg *cfg, uint64_t ring_len)
{
    struct cache_ctx c;

    if (cache_setup(&c, cfg, ring_len) < 0) {
        return NAN;
    }
    double v = bench_median_of(cfg, cache_sample, &c);
    cache_teardown(&c);
    return v;
}
