/* SPDX-License-Identifier: MIT */
/*
 * lookup_ns_<N> and read8_ns_<N>: how the cost of finding the section behind
 * an address grows with the number of sections in the flat view.
 *
 * The address space holds N windows of 4 KiB laid out back to back, each its
 * own region (an alias) onto the same 4 KiB RAM page, so the view has N flat
 * ranges that cannot be merged while the data touched by gm_as_ld8() always
 * sits in L1: what grows with N is only the dispatch structure (the goal is
 * lookup_ns_65536 <= 2 * lookup_ns_16).
 *
 * lookup_ns_<N> times gm_as_lookup_rcu() in its own RCU read-side section
 * (the dispatch itself); lookup_ref_ns_<N> times gm_as_lookup() plus the
 * gm_region_unref() it obliges the caller to do (two atomic read-modify-
 * writes on the region's refcount); read8_ns_<N> times gm_as_ld8(), the
 * same dispatch plus a one-byte access. lookup_stream_ns_<N> times the
 * lookups of lookup_ns_<N> at consecutive addresses 64 bytes apart, 64 per
 * window: a device streaming through a region, which finds the range in
 * the thread's most recently used one (a compare) 63 times in 64.
 * Addresses are drawn beforehand so the generator is not timed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "bench.h"

#define LOOKUP_PAGE 4096u
#define LOOKUP_NR_ADDRS (1u << 16) /* one chunk: a pass over all of them */
#define LOOKUP_MAX_CHUNKS 64u
#define LOOKUP_STREAM_STEP 64u /* a cache line */

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

/* Random addresses, or with @stream consecutive ones 64 bytes apart from a
 * random start, wrapping at the end of the windows. */
static int lookup_setup(struct lookup_ctx *c, const struct bench_cfg *cfg, uint64_t n,
                        bool stream)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull ^ n;
    uint64_t start = bench_rng_next(&rng) % (n * LOOKUP_PAGE);

    *c = (struct lookup_ctx){ .iters = bench_pick(cfg, 2000000, 100000) };
    c->addrs = malloc(LOOKUP_NR_ADDRS * sizeof(*c->addrs));
    if (!c->addrs || bench_as_init(&c->b, n * LOOKUP_PAGE) < 0) {
        goto fail;
    }
    if (bench_as_add_ram_array(&c->b, n, LOOKUP_PAGE, NULL) < 0) {
        goto fail;
    }
    for (uint64_t i = 0; i < LOOKUP_NR_ADDRS; i++) {
        uint64_t a = stream ? start + i * LOOKUP_STREAM_STEP : bench_rng_next(&rng);

        c->addrs[i] = a % (n * LOOKUP_PAGE);
    }
    return 0;

fail:
    lookup_teardown(c);
    return -ENOMEM;
}

/*
 * A sample is iters / LOOKUP_NR_ADDRS chunks, each one pass over the drawn
 * addresses, timed alone; the sample is the median chunk (bench.h). Each
 * chunk function returns the pass's nanoseconds and counts failures in @bad.
 */
typedef uint64_t (*lookup_chunk_fn)(const struct lookup_ctx *c, uint64_t *bad);

/* One RCU read-side section per lookup, as a caller without its own
 * section would do: the cost of finding the section, without references. */
static uint64_t lookup_chunk(const struct lookup_ctx *c, uint64_t *bad)
{
    uint64_t holes = 0;
    gm_section s;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < LOOKUP_NR_ADDRS; i++) {
        gm_rcu_read_lock();
        holes += !gm_as_lookup_rcu(c->b.as, c->addrs[i], &s);
        gm_rcu_read_unlock();
    }
    uint64_t t1 = bench_now_ns();
    *bad += holes;
    return t1 - t0;
}

/* gm_as_lookup() plus the gm_region_unref() it obliges the caller to do. */
static uint64_t lookup_ref_chunk(const struct lookup_ctx *c, uint64_t *bad)
{
    uint64_t holes = 0;
    gm_section s;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < LOOKUP_NR_ADDRS; i++) {
        if (gm_as_lookup(c->b.as, c->addrs[i], &s)) {
            gm_region_unref(s.mr);
        } else {
            holes++;
        }
    }
    uint64_t t1 = bench_now_ns();
    *bad += holes;
    return t1 - t0;
}

static uint64_t read8_chunk(const struct lookup_ctx *c, uint64_t *bad)
{
    gm_result res = GM_OK;
    unsigned int acc = 0;
    uint8_t v;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < LOOKUP_NR_ADDRS; i++) {
        res |= gm_as_ld8(c->b.as, c->addrs[i], GM_ATTRS_UNSPECIFIED, &v);
        acc += v;
    }
    uint64_t t1 = bench_now_ns();
    bench_keep(acc);
    *bad += res != GM_OK;
    return t1 - t0;
}

static double chunk_sample(struct lookup_ctx *c, lookup_chunk_fn fn, const char *why)
{
    double per_op[LOOKUP_MAX_CHUNKS];
    uint64_t n = c->iters / LOOKUP_NR_ADDRS;
    uint64_t bad = 0;

    n = n < 1 ? 1 : n > LOOKUP_MAX_CHUNKS ? LOOKUP_MAX_CHUNKS : n;
    for (uint64_t i = 0; i < n; i++) {
        per_op[i] = (double)fn(c, &bad) / LOOKUP_NR_ADDRS;
    }
    if (bad) {
        return bench_fail("lookup", why);
    }
    return bench_median(per_op, n);
}

static double lookup_sample(void *opaque)
{
    return chunk_sample(opaque, lookup_chunk,
                        "gm_as_lookup_rcu() found a hole in a full address space");
}

static double lookup_ref_sample(void *opaque)
{
    return chunk_sample(opaque, lookup_ref_chunk,
                        "gm_as_lookup() found a hole in a full address space");
}

static double read8_sample(void *opaque)
{
    return chunk_sample(opaque, read8_chunk, "gm_as_ld8() failed on RAM");
}

static double lookup_run(const struct bench_cfg *cfg, uint64_t n, bench_sample_fn fn,
                         bool stream)
{
    struct lookup_ctx c;

    if (lookup_setup(&c, cfg, n, stream) < 0) {
        return NAN;
    }
    double v = bench_median_of(cfg, fn, &c);
    lookup_teardown(&c);
    return v;
}

double bench_lookup_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, lookup_sample, false);
}

double bench_lookup_stream_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, lookup_sample, true);
}

double bench_lookup_ref_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, lookup_ref_sample, false);
}

double bench_read8_ns(const struct bench_cfg *cfg, uint64_t nr_sections)
{
    return lookup_run(cfg, nr_sections, read8_sample, false);
}
