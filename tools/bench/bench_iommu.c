/* SPDX-License-Identifier: MIT */
/*
 * iommu_iotlb_hit_ns: guest RAM read through an IOMMU region, the way a
 * device behind a vIOMMU reads it.
 *
 * The device's address space holds one IOMMU region over the 64 MiB of guest
 * RAM (the memfd of bench_grant.c, mapped as a RAM region in a second
 * address space). Its translate callback maps IOVA page p to guest page p,
 * read-write, in 4 KiB pages (addr_mask 0xfff): a trivial page table, so
 * what is measured is the library's translation path (IOTLB lookup, or a
 * callback and a fill on a miss), then the access in the target space.
 * The reads are those of ram_direct_ns: 4 KiB at random pages, one
 * gm_as_read() each. Every page is read once before timing, so every
 * translation has been seen. The region's IOTLB is sized to the working set
 * (gm_iommu_config, one slot per page: 16384), as a device model sizes it
 * to the memory its device uses; the default would be 4096 slots (16 MiB).
 * Whether a translation is still in the IOTLB then depends only on
 * collisions in the direct-mapped table; the table output prints the hit
 * rate of the timed reads.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "bench.h"

struct iommu_ctx {
    struct bench_guest g;
    struct bench_as ram;      /* the guest's physical address space */
    gm_region *dma_root;
    gm_region *iommu;
    gm_as *dma;               /* the device's address space */
    uint32_t *all;            /* every page once, in order */
};

static gm_iotlb_entry identity_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                         int iommu_idx)
{
    struct iommu_ctx *c = opaque;

    (void)flag;
    (void)iommu_idx;
    if (addr >= c->g.pages * BENCH_GUEST_PAGE) {
        return (gm_iotlb_entry){ .perm = GM_IOMMU_NONE };
    }
    return (gm_iotlb_entry){
        .target_as = c->ram.as,
        .iova = addr & ~(gm_addr)(BENCH_GUEST_PAGE - 1),
        .translated_addr = addr & ~(gm_addr)(BENCH_GUEST_PAGE - 1),
        .addr_mask = BENCH_GUEST_PAGE - 1,
        .perm = GM_IOMMU_RW,
    };
}

static const gm_iommu_ops identity_ops = { .translate = identity_translate };
static const gm_iommu_config iotlb_cfg = { .iotlb_slots = BENCH_GUEST_SIZE / BENCH_GUEST_PAGE };

static void iommu_teardown(struct iommu_ctx *c)
{
    gm_as_free(c->dma);
    gm_region_unref(c->dma_root);
    bench_as_fini(&c->ram);
    free(c->all);
    bench_guest_fini(&c->g);
}

static int iommu_setup(struct iommu_ctx *c, uint64_t iters)
{
    gm_region *mr;

    *c = (struct iommu_ctx){ 0 };
    if (bench_guest_init(&c->g, iters) < 0) {
        return -ENOMEM;
    }
    c->all = malloc(c->g.pages * sizeof(*c->all));
    if (!c->all || bench_as_init(&c->ram, BENCH_GUEST_SIZE) < 0) {
        iommu_teardown(c);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < c->g.pages; i++) {
        c->all[i] = (uint32_t)i;
    }
    mr = gm_region_new_ram_from_fd(c->ram.sys, "guest-ram", BENCH_GUEST_SIZE, c->g.fd, 0, true);
    if (!bench_as_add(&c->ram, 0, mr)) {
        iommu_teardown(c);
        return -ENOMEM;
    }
    c->dma_root = gm_region_new_container(c->ram.sys, "dma-root", BENCH_GUEST_SIZE);
    c->iommu = gm_region_new_iommu_config(c->ram.sys, "iommu", BENCH_GUEST_SIZE, &identity_ops,
                                          c, &iotlb_cfg);
    if (!c->dma_root || !c->iommu || gm_region_add_subregion(c->dma_root, 0, c->iommu) < 0 ||
        !(c->dma = gm_as_new(c->ram.sys, c->dma_root, "dma"))) {
        bench_fail("iommu", "cannot build the device address space");
        gm_region_unref(c->iommu);
        iommu_teardown(c);
        return -ENOMEM;
    }
    gm_region_unref(c->iommu); /* the DMA root holds it */
    return 0;
}

static double iommu_sample(void *opaque)
{
    struct iommu_ctx *c = opaque;

    return bench_guest_sample(&c->g, c->dma, 0);
}

double bench_iommu_iotlb_hit_ns(const struct bench_cfg *cfg, uint64_t unused)
{
    gm_iommu_stats warm, done;
    struct iommu_ctx c;
    double v;

    (void)unused;
    if (iommu_setup(&c, bench_pick(cfg, 1u << 18, 1u << 15)) < 0) {
        return NAN;
    }
    /* Warm-up: translate every page once. */
    v = bench_guest_read_pages(&c.g, c.dma, 0, c.all, c.g.pages - 1, 0, c.g.pages);
    if (!isnan(v)) {
        gm_iommu_get_stats(c.iommu, &warm);
        v = bench_median_of(cfg, iommu_sample, &c);
        gm_iommu_get_stats(c.iommu, &done);
        uint64_t hits = done.hits - warm.hits, misses = done.misses - warm.misses;
        bench_note("IOTLB of %llu slots, timed reads: %llu translations, hit rate %.2f%%, "
                   "%llu misses, %llu faults",
                   (unsigned long long)done.iotlb_slots, (unsigned long long)(hits + misses),
                   hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
                   (unsigned long long)misses, (unsigned long long)(done.faults - warm.faults));
    }
    iommu_teardown(&c);
    return v;
}
