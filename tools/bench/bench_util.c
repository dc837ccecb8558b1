/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the metrics of guestmem-bench: the warm-up-then-median
 * sampling loop, host buffers that are already faulted in, and the memory
 * system fixtures.
 *
 * Why the median of a few samples: the machines this runs on are small shared
 * VMs, where a single sample is often hit by a neighbour or a frequency
 * change. Samples of one run agree to a few percent; separate runs on a busy
 * host can differ far more (the metrics bound by memory latency most), so
 * compare several runs before trusting a change. Why memory is touched before
 * timing: otherwise the first pass over a buffer measures page faults, not
 * copies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"

#define BENCH_MAX_REPS 64

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(v[0]), bench_cmp_double);
    if (n % 2) {
        return v[n / 2];
    }
    return (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_pair_ratios(unsigned int n, bench_pass_fn num, bench_pass_fn den, void *ctx)
{
    double ratios[BENCH_MAX_PAIRS];

    n = n < 1 ? 1 : n > BENCH_MAX_PAIRS ? BENCH_MAX_PAIRS : n;
    for (unsigned int i = 0; i < n; i++) {
        uint64_t t_num, t_den;

        if (i & 1) {
            t_den = den(ctx);
            t_num = num(ctx);
        } else {
            t_num = num(ctx);
            t_den = den(ctx);
        }
        ratios[i] = (double)t_num / (double)t_den;
    }
    return bench_median(ratios, n);
}

double bench_median_of(const struct bench_cfg *cfg, bench_sample_fn fn, void *ctx)
{
    double samples[BENCH_MAX_REPS];
    unsigned int reps = cfg->reps;

    if (reps == 0 || reps > BENCH_MAX_REPS) {
        reps = reps ? BENCH_MAX_REPS : 1;
    }
    if (isnan(fn(ctx))) {
        return NAN;
    }
    for (unsigned int i = 0; i < reps; i++) {
        samples[i] = fn(ctx);
        if (isnan(samples[i])) {
            return NAN;
        }
    }
    double median = bench_median(samples, reps);
    bench_spread(samples[0], samples[reps - 1]);
    return median;
}

double bench_fail(const char *what, const char *why)
{
    fprintf(stderr, "guestmem-bench: %s: %s\n", what, why);
    return NAN;
}

void *bench_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        bench_fail("mmap", strerror(errno));
        return NULL;
    }
    /* Non-zero so every page gets its own frame instead of the zero page. */
    memset(p, 0x5a, len);
    return p;
}

void bench_free(void *p, size_t len)
{
    if (p) {
        munmap(p, len);
    }
}

int bench_as_init(struct bench_as *b, uint64_t size)
{
    *b = (struct bench_as){ 0 };
    b->sys = gm_system_new(0);
    if (!b->sys) {
        goto fail;
    }
    b->root = gm_region_new_container(b->sys, "bench-root", size);
    if (!b->root) {
        goto fail;
    }
    b->as = gm_as_new(b->sys, b->root, "bench");
    if (!b->as) {
        goto fail;
    }
    return 0;

fail:
    bench_fail("fixture", "cannot create system, root or address space");
    bench_as_fini(b);
    return -ENOMEM;
}

void bench_as_fini(struct bench_as *b)
{
    gm_as_free(b->as);
    gm_region_unref(b->root);
    gm_system_free(b->sys);
    *b = (struct bench_as){ 0 };
}

gm_region *bench_as_add(struct bench_as *b, gm_addr addr, gm_region *mr)
{
    if (!mr) {
        bench_fail("fixture", "cannot create region");
        return NULL;
    }
    if (gm_region_add_subregion(b->root, addr, mr) < 0) {
        bench_fail("fixture", "cannot add subregion");
        gm_region_unref(mr);
        return NULL;
    }
    gm_region_unref(mr);
    return mr;
}

int bench_as_add_ram_array(struct bench_as *b, uint64_t n, uint64_t page, gm_region **mrs)
{
    gm_region *ram = gm_region_new_ram(b->sys, "ram", page);
    char name[32];
    int ret = ram ? 0 : -ENOMEM;

    /*
     * Added from the top down: equal-priority siblings are listed newest
     * first, so the list ends up in address order and rendering appends each
     * range instead of inserting it at the front (65536 front inserts take
     * seconds of memmove).
     */
    gm_transaction_begin(b->sys);
    for (uint64_t i = n; i-- > 0 && ret == 0;) {
        snprintf(name, sizeof(name), "ram-%llu", (unsigned long long)i);
        gm_region *mr = bench_as_add(b, i * page, gm_region_new_alias(b->sys, name, ram, 0, page));

        if (!mr) {
            ret = -ENOMEM;
        } else if (mrs) {
            mrs[i] = mr;
        }
    }
    gm_transaction_commit(b->sys);
    gm_region_unref(ram);
    return ret;
}

double bench_map_loop(gm_as *as, uint64_t span, uint64_t len, uint64_t iters, const char *what,
                      const char *why)
{
    uint64_t nr_blocks = span / len;
    uint64_t short_maps = 0;
    uint64_t t0 = bench_now_ns();

    for (uint64_t i = 0; i < iters; i++) {
        uint64_t got = len;
        void *p = gm_as_map(as, (i % nr_blocks) * len, &got, false, GM_ATTRS_UNSPECIFIED);

        if (!p || got != len) {
            short_maps++;
        }
        if (p) {
            gm_as_unmap(as, p, got, false, 0);
        }
    }
    uint64_t t1 = bench_now_ns();
    if (short_maps) {
        return bench_fail(what, why);
    }
    return (double)(t1 - t0) / (double)iters;
}
