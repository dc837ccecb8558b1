/* SPDX-License-Identifier: MIT */
/*
 * lookup_ns_<N> and read8_ns_<N>: how the cost of finding the section behind
 * an address grows with the number of sections in the flat view.
 *
 * The address space holds N windows of 4 KiB laid out back to back, each its
 * own region (an alias) onto the same 4 KiB RAM page, so the view has N flat
 * ranges that cannot be merged while the data touched by gm_as_ld8() always
 * sits in L1: what grows with N is only the dispatch structure (the goal is
 * lookup_ns_65536 <= 3 * lookup_ns_16).
 *
 * lookup_ns_<N> times gm_as_lookup_rcu() in its own RCU read-side section
 * (the dispatch itself); lookup_ref_ns_<N> times gm_as_lookup() plus the
 * gm_region_unref() it obliges the caller to do (two atomic read-modify-
 * writes on the region's refcount); read8_ns_<N> times gm_as_ld8(), the
 * same dispatch plus a one-byte access.
 * Addresses are drawn beforehand so the generator is not timed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "bench.h"

#define LOOKUP_PAGE 4096u
#define LOOKUP_NR_ADDRS (1u << 16) /* power of two: indexed with a mask */

struct lookup_ctx {
    struct bench_as b;
    gm_addr *addrs;
    uint64_t iters;
};

static void lookup_teardown(struct lookup_ctx *c)
{
    bench_as_fini(&c->b);
    free(c->addrs);
}

static int lookup_setup(struct lookup_ctx *c, const struct bench_cfg *cfg, uint64_t n)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ n;

    *c = (struct lookup_ctx){ .iters = bench_pick(cfg, 2000000, 100000) };
    c->addrs = malloc(LOOKUP_NR_ADDRS * sizeof(*c->addrs));
    if (!c->addrs || bench_as_init(&c->b, n * LOOKUP_PAGE) < 0) {
        goto fail;
    }
    if (bench_as_add_ram_array(&c->b, n, LOOKUP_PAGE, NULL) < 0) {
        goto fail;
    }
    for (uint64_t i = 0; i < LOOKUP_NR_ADDRS; i++) {
        c->addrs[i] = bench_rng_next(&rng) % (n * LOOKUP_PAGE);
    }
    return 0;

fail:
    lookup_teardown(c);
    return -ENOMEM;
}

/* One RCU read-side section per lookup, as a caller without its own
 * section would do: the cost of finding the section, without references. */
static double lookup_sample(void *opaque)
{
    struct lookup_ctx *c = opaque;
    uint64_t holes = 0;
    gm_section s;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < c->iters; i++) {
        gm_rcu_read_lock();
        holes += !gm_as_lookup_rcu(c->b.as, c->addrs[i & (LOOKUP_NR_ADDRS - 1)], &s);
        gm_rcu_read_unlock();
    }
    uint64_t t1 = bench_now_ns();
    if (holes) {
        return bench_fail("lookup", "gm_as_lookup_rcu() found a hole in a full address space");
    }
    return (double)(t1 - t0) / (double)c->iters;
}

/* gm_as_lookup() plus the gm_region_unref() it obliges the caller to do. */
static double lookup_ref_sample(void *opaque)
{
    struct lookup_ctx *c = opaque;
    uint64_t holes = 0;
    gm_section s;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < c->iters; i++) {
        if (gm_as_lookup(c->b.as, c->addrs[i & (LOOKUP_NR_ADDRS - 1)], &s)) {
            gm_region_unref(s.mr);
        } else {
            holes++;
        }
    }
    uint64_t t1 = bench_now_ns();
    if (holes) {
        return bench_fail("lookup", "gm_as_lookup() found a hole in a full address space");
    }
    return (double)(t1 - t0) / (double)c->iters;
}

static double read8_sample(void *opaque)
{
    struct lookup_ctx *c = opaque;
    gm_result res = GM_OK;
    unsigned int acc = 0;
    uint8_t v;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < c->iters; i++) {
        res |= gm_as_ld8(c->b.as, c->addrs[i & (LOOKUP_NR_ADDRS - 1)], GM_ATTRS_UNSPECIFIED, &v);
        acc += v;
    }
    uint64_t t1 = bench_now_ns();
    bench_keep(acc);
    if (res != GM_OK) {
        return bench_fail("read8", "gm_as_ld8() failed on RAM");
    }
    return (double)(t1 - t0) / (double)c->iters;
}

static double lookup_run(const struct bench_cfg *cfg, uint64_t n, bench_sample_fn fn)
{
    struct lookup_ctx c;

    if (lookup_setup(&c, cfg, n) < 0) {
        return NAN;
    }
    double v = bench_median_of(cfg, fn, &c);
    lookup_teardown(&c);
    return v;
}

double bench_lookup_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, lookup_sample);
}

double bench_lookup_ref_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, lookup_ref_sample);
}

double bench_read8_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, read8_sample);
}
