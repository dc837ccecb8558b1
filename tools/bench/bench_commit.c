/* SPDX-License-Identifier: MIT */
/*
 * commit_us_<N>: the cost of one topology change in an address space of N
 * regions, from the setter call to the new flat view being published.
 *
 * The address space holds N regions of 4 KiB back to back (windows onto one
 * RAM page, see bench_as_add_ram_array()) plus one free 4 KiB slot at the end. Each commit moves the middle region with
 * gm_region_set_address() between its own slot and the free one; the setter
 * runs its own implicit transaction, so every call re-renders the view of
 * all N regions, as a guest reprogramming one BAR would.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "bench.h"

#define COMMIT_PAGE 4096u

struct commit_ctx {
    struct bench_as b;
    gm_region *moving;
    gm_addr home;
    gm_addr spare;
    uint64_t commits;
};

static void commit_teardown(struct commit_ctx *c)
{
    bench_as_fini(&c->b);
}

static int commit_setup(struct commit_ctx *c, const struct bench_cfg *cfg, uint64_t n)
{
    gm_region **mrs = calloc(n, sizeof(*mrs));

    *c = (struct commit_ctx){ .commits = bench_pick(cfg, 1000, 50) };
    if (!mrs || bench_as_init(&c->b, (n + 1) * COMMIT_PAGE) < 0) {
        goto fail;
    }
    if (bench_as_add_ram_array(&c->b, n, COMMIT_PAGE, mrs) < 0) {
        goto fail;
    }
    c->moving = mrs[n / 2];
    c->home = (n / 2) * COMMIT_PAGE;
    c->spare = n * COMMIT_PAGE;
    free(mrs);
    return 0;

fail:
    free(mrs);
    commit_teardown(c);
    return -ENOMEM;
}

static double commit_sample(void *opaque)
{
    struct commit_ctx *c = opaque;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < c->commits; i++) {
        gm_region_set_address(c->moving, (i & 1) ? c->home : c->spare);
    }
    uint64_t t1 = bench_now_ns();
    /* An even number of moves leaves the region at home for the next sample. */
    if (c->commits & 1) {
        gm_region_set_address(c->moving, c->home);
    }
    return (double)(t1 - t0) / 1000.0 / (double)c->commits;
}

double bench_commit_us(const struct bench_cfg *cfg, uint64_t nr_regions)
{
    struct commit_ctx c;

    if (nr_regions == 0 || commit_setup(&c, cfg, nr_regions) < 0) {
        return NAN;
    }
    double v = bench_median_of(cfg, commit_sample, &c);
    commit_teardown(&c);
    return v;
}
