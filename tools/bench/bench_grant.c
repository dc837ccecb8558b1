/* SPDX-License-Identifier: MIT */
/*
 * Guest memory reached through Xen grants, against plain RAM.
 *
 * Every metric here reads 4 KiB at random pages of the same 64 MiB of guest
 * RAM (a memfd), one gm_as_read() per page into one 4 KiB buffer, with the
 * page numbers drawn once before timing:
 *
 * ram_direct_ns: the guest RAM as a plain RAM region (the memfd mapped
 *     once). The baseline: a lookup and a memcpy from memory that is mostly
 *     not in cache (64 MiB is twice the L3 of the reference machine).
 *
 * grant_naive_ns: the same pages as grants, reached the way a backend does
 *     without a cache (rust-vmm vm-memory's Xen mode works this way):
 *     every access maps its grant (emulated table: pin the entry, mmap the
 *     frame), copies, and unmaps it (munmap, unpin). The region is a plain
 *     map-on-demand region (gm_region_new_mapped) over the emulated table's
 *     provider; no gm_mapcache is involved.
 *
 * grant_cached_ns: the grants as a grant region (gm_grant_region_new)
 *     whose mappings a gm_mapcache keeps, with a 64 MiB budget that holds the
 *     whole working set, one page per mapping. Every page is read once before
 *     timing, so the timed reads are cache hits. The table output adds the
 *     same measurement with 16 pages per mapping.
 *
 * grant_batch_ns: the mapping cache maps 16 consecutive grant references
 *     (the registry's parameter) per provider call. Measured cold: each
 *     sample starts from an empty cache (gm_mapcache_flush(), untimed) and
 *     reads every page of the working set exactly once, in a random order. So every timed read is the first touch of its page (one
 *     minor fault on the fresh mapping), and one read in 16 also maps the
 *     batch of 16 grants it falls in. The mean per read includes all of it;
 *     the unmaps happen in the untimed flush.
 *
 * Grant references 0..16383 grant the 16384 frames of the guest RAM in a
 * random permutation, read-only (the device only reads), so consecutive
 * references are not consecutive frames; the emulated table maps each frame
 * with an mmap of its own anyway (a batch is one contiguous range of 16
 * separate 4 KiB mappings).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define GRANT_BACKEND_DOMID 1 /* the domain the backend maps as */
#define GRANT_GUEST_DOMID 5   /* the granting guest */

/* ---- guest RAM and the access pattern (shared with bench_iommu.c) ------ */

/* The byte every byte of guest frame @frame holds. */
static uint8_t guest_fill(uint64_t frame)
{
    return (uint8_t)(frame % 251 + 1);
}

int bench_guest_init(struct bench_guest *g, uint64_t iters)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    uint8_t *p;

    *g = (struct bench_guest){ .fd = -1, .pages = BENCH_GUEST_SIZE / BENCH_GUEST_PAGE,
                               .iters = iters };
    g->fd = memfd_create("bench-guest-ram", MFD_CLOEXEC);
    if (g->fd < 0 || ftruncate(g->fd, BENCH_GUEST_SIZE) < 0) {
        bench_fail("guest ram", strerror(errno));
        bench_guest_fini(g);
        return -errno;
    }
    p = mmap(NULL, BENCH_GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
    if (p == MAP_FAILED) {
        bench_fail("guest ram", strerror(errno));
        bench_guest_fini(g);
        return -ENOMEM;
    }
    for (uint64_t i = 0; i < g->pages; i++) {
        memset(p + i * BENCH_GUEST_PAGE, guest_fill(i), BENCH_GUEST_PAGE);
    }
    munmap(p, BENCH_GUEST_SIZE);
    g->addrs = malloc(BENCH_GUEST_NR_ADDRS * sizeof(*g->addrs));
    g->buf = bench_alloc(BENCH_GUEST_PAGE);
    if (!g->addrs || !g->buf) {
        bench_fail("guest ram", "out of memory");
        bench_guest_fini(g);
        return -ENOMEM;
    }
    for (unsigned int i = 0; i < BENCH_GUEST_NR_ADDRS; i++) {
        g->addrs[i] = (uint32_t)(bench_rng_next(&rng) % g->pages);
    }
    return 0;
}

void bench_guest_fini(struct bench_guest *g)
{
    if (g->fd >= 0) {
        close(g->fd);
    }
    free(g->addrs);
    bench_free(g->buf, BENCH_GUEST_PAGE);
    *g = (struct bench_guest){ .fd = -1 };
}

double bench_guest_read_pages(struct bench_guest *g, gm_as *as, gm_addr base,
                              const uint32_t *pages, uint64_t mask, uint64_t start, uint64_t n)
{
    gm_result r = GM_OK;
    uint64_t acc = 0;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t page = pages[(start + i) & mask];

        r |= gm_as_read(as, base + page * BENCH_GUEST_PAGE, GM_ATTRS_UNSPECIFIED, g->buf,
                        BENCH_GUEST_PAGE);
        acc += g->buf[page & (BENCH_GUEST_PAGE - 1)];
        bench_keep(acc);
    }
    uint64_t t1 = bench_now_ns();
    if (r != GM_OK) {
        return bench_fail("guest read", "gm_as_read() failed");
    }
    return (double)(t1 - t0) / (double)n;
}

double bench_guest_sample(struct bench_guest *g, gm_as *as, gm_addr base)
{
    double v = bench_guest_read_pages(g, as, base, g->addrs, BENCH_GUEST_NR_ADDRS - 1, g->cursor,
                                      g->iters);

    g->cursor = (g->cursor + g->iters) & (BENCH_GUEST_NR_ADDRS - 1);
    return v;
}

/* A random permutation of 0..n-1. */
static uint32_t *random_permutation(uint64_t n, uint64_t seed)
{
    uint32_t *v = malloc(n * sizeof(*v));

    if (!v) {
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++) {
        v[i] = (uint32_t)i;
    }
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = bench_rng_next(&seed) % (i + 1);
        uint32_t t = v[i];

        v[i] = v[j];
        v[j] = t;
    }
    return v;
}

/* ---- ram_direct_ns ------------------------------------------------------ */

struct ram_ctx {
    struct bench_guest g;
    struct bench_as b;
};

static double ram_sample(void *opaque)
{
    struct ram_ctx *c = opaque;

    return bench_guest_sample(&c->g, c->b.as, 0);
}

double bench_ram_direct_ns(const struct bench_cfg *cfg, uint64_t unused)
{
    struct ram_ctx c;
    double v = NAN;
    gm_region *mr;

    (void)unused;
    if (bench_guest_init(&c.g, bench_pick(cfg, 1u << 18, 1u << 15)) < 0) {
        return NAN;
    }
    if (bench_as_init(&c.b, BENCH_GUEST_SIZE) == 0) {
        mr = gm_region_new_ram_from_fd(c.b.sys, "guest-ram", BENCH_GUEST_SIZE, c.g.fd, 0, true);
        if (bench_as_add(&c.b, 0, mr)) {
            v = bench_median_of(cfg, ram_sample, &c);
        }
        bench_as_fini(&c.b);
    }
    bench_guest_fini(&c.g);
    return v;
}

/* ---- the grant fixture -------------------------------------------------- */

struct grant_ctx {
    struct bench_guest g;
    gm_gnttab_emu *gt;
    gm_grant_provider prov;   /* the emulated table's, for the naive region */
    uint32_t *frame_of;       /* grant ref -> guest frame */
    uint32_t *cold;           /* every ref once, in random order */
    struct bench_as b;
    gm_mapcache *mc;          /* NULL for the naive region */
    gm_region *mr;
};

static void grant_teardown(struct grant_ctx *c)
{
    bench_as_fini(&c->b);      /* frees the region: its mappings go first */
    gm_mapcache_free(c->mc);
    gm_gnttab_emu_free(c->gt);
    free(c->frame_of);
    free(c->cold);
    bench_guest_fini(&c->g);
}

/* Guest RAM, a table granting every frame (permuted) and an empty system
 * whose address space spans 2^64, for a region at GM_GRANT_DMA_BASE. */
static int grant_setup(struct grant_ctx *c, uint64_t iters)
{
    *c = (struct grant_ctx){ 0 };
    if (bench_guest_init(&c->g, iters) < 0) {
        return -ENOMEM;
    }
    c->frame_of = random_permutation(c->g.pages, 0x5851f42d4c957f2dull);
    c->cold = random_permutation(c->g.pages, 0x14057b7ef767814full);
    c->gt = gm_gnttab_emu_create((unsigned int)c->g.pages, c->g.fd, BENCH_GUEST_SIZE,
                                 GRANT_BACKEND_DOMID);
    if (!c->frame_of || !c->cold || !c->gt) {
        bench_fail("grant", "cannot create the grant table");
        grant_teardown(c);
        return -ENOMEM;
    }
    for (uint64_t ref = 0; ref < c->g.pages; ref++) {
        if (gm_gnttab_emu_grant(c->gt, (gm_grant_ref)ref, GRANT_BACKEND_DOMID, c->frame_of[ref],
                                true) < 0) {
            bench_fail("grant", "gm_gnttab_emu_grant() failed");
            grant_teardown(c);
            return -EINVAL;
        }
    }
    c->prov = gm_gnttab_emu_provider(c->gt);
    if (bench_as_init(&c->b, GM_SIZE_2_64) < 0) {
        grant_teardown(c);
        return -ENOMEM;
    }
    return 0;
}

/* Map the grant region @mr at 1 << 63 and check that a few references read
 * their own frames. */
static int grant_place(struct grant_ctx *c, gm_region *mr)
{
    c->mr = bench_as_add(&c->b, GM_GRANT_DMA_BASE, mr);
    if (!c->mr) {
        return -ENOMEM;
    }
    for (uint64_t ref = 0; ref < c->g.pages; ref += c->g.pages / 7) {
        if (gm_as_read(c->b.as, GM_GRANT_DMA_BASE + ref * BENCH_GUEST_PAGE, GM_ATTRS_UNSPECIFIED,
                       c->g.buf, BENCH_GUEST_PAGE) != GM_OK ||
            c->g.buf[BENCH_GUEST_PAGE - 1] != guest_fill(c->frame_of[ref])) {
            bench_fail("grant", "a grant does not read its frame");
            return -EIO;
        }
    }
    return 0;
}

static double grant_sample(void *opaque)
{
    struct grant_ctx *c = opaque;

    return bench_guest_sample(&c->g, c->b.as, GM_GRANT_DMA_BASE);
}

/* ---- grant_naive_ns: map, copy, unmap on every access ------------------- */

static void *naive_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write, gm_attrs attrs,
                       void **handle)
{
    struct grant_ctx *c = opaque;
    gm_grant_ref ref = (gm_grant_ref)(offset / BENCH_GUEST_PAGE);
    uint64_t in_page = offset % BENCH_GUEST_PAGE;
    uint8_t *page;

    (void)attrs;
    if (ref >= c->g.pages) {
        return NULL;
    }
    page = c->prov.ops->map_refs(c->prov.ctx, GRANT_GUEST_DOMID, &ref, 1, is_write);
    if (!page) {
        return NULL;
    }
    if (*len > BENCH_GUEST_PAGE - in_page) {
        *len = BENCH_GUEST_PAGE - in_page;
    }
    *handle = page;
    return page + in_page;
}

static void naive_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                        uint64_t access_len)
{
    struct grant_ctx *c = opaque;

    (void)host;
    (void)len;
    (void)is_write;
    (void)access_len;
    c->prov.ops->unmap(c->prov.ctx, handle, 1);
}

static const gm_mod_ops naive_ops = { .map = naive_map, .unmap = naive_unmap };

double bench_grant_naive_ns(const struct bench_cfg *cfg, uint64_t unused)
{
    struct grant_ctx c;
    double v = NAN;

    (void)unused;
    if (grant_setup(&c, bench_pick(cfg, 1u << 14, 1u << 11)) < 0) {
        return NAN;
    }
    if (grant_place(&c, gm_region_new_mapped(c.b.sys, "grants-naive",
                                             c.g.pages * BENCH_GUEST_PAGE, &naive_ops, &c)) == 0) {
        v = bench_median_of(cfg, grant_sample, &c);
        bench_note("provider calls per read: 1 map_refs (mmap) + 1 unmap (munmap)");
    }
    grant_teardown(&c);
    return v;
}

/* ---- grant_cached_ns and grant_batch_ns: through gm_mapcache ----------- */

static int grant_cached_setup(struct grant_ctx *c, uint64_t iters, unsigned int batch)
{
    gm_mapcache_config mcfg = { .budget_bytes = BENCH_GUEST_SIZE, .batch_pages = batch };

    if (grant_setup(c, iters) < 0) {
        return -ENOMEM;
    }
    c->mc = gm_mapcache_new(&mcfg);
    if (!c->mc) {
        bench_fail("grant", "cannot create the mapping cache");
        grant_teardown(c);
        return -ENOMEM;
    }
    if (grant_place(c, gm_grant_region_new(c->mc, c->b.sys, "grants", &c->prov,
                                           GRANT_GUEST_DOMID, (uint32_t)c->g.pages)) < 0) {
        grant_teardown(c);
        return -ENOMEM;
    }
    return 0;
}

static void note_mapcache(const char *what, const gm_mapcache_stats *a,
                          const gm_mapcache_stats *b)
{
    uint64_t hits = b->hits - a->hits, misses = b->misses - a->misses;
    uint64_t lookups = hits + misses;

    bench_note("mapcache %s: %llu lookups, hit rate %.2f%%, %llu maps (%llu refused), "
               "%llu unmaps, %llu evictions",
               what, (unsigned long long)lookups,
               lookups ? 100.0 * (double)hits / (double)lookups : 0.0,
               (unsigned long long)(b->maps - a->maps),
               (unsigned long long)(b->map_failures - a->map_failures),
               (unsigned long long)(b->unmaps - a->unmaps),
               (unsigned long long)(b->evictions - a->evictions));
}

/* Unmap everything and say what it cost (the provider's unmap path). */
static void flush_and_note(struct grant_ctx *c)
{
    gm_mapcache_stats a, b;

    gm_mapcache_get_stats(c->mc, &a);
    uint64_t t0 = bench_now_ns();
    gm_mapcache_flush(c->mc);
    uint64_t t1 = bench_now_ns();
    gm_mapcache_get_stats(c->mc, &b);
    if (b.unmaps > a.unmaps) {
        bench_note("flush of %llu mappings: %.1f ms, %.2f us per provider unmap",
                   (unsigned long long)(b.unmaps - a.unmaps), (double)(t1 - t0) / 1e6,
                   (double)(t1 - t0) / 1e3 / (double)(b.unmaps - a.unmaps));
    }
}

/* Warm reads through a cache mapping @batch pages per entry; NAN on failure. */
static double grant_warm_ns(const struct bench_cfg *cfg, unsigned int batch, bool detail)
{
    gm_mapcache_stats warm, done;
    struct grant_ctx c;
    double v;

    if (grant_cached_setup(&c, bench_pick(cfg, 1u << 18, 1u << 15), batch) < 0) {
        return NAN;
    }
    /* Warm-up: map (and fault in) every page once. */
    v = bench_guest_read_pages(&c.g, c.b.as, GM_GRANT_DMA_BASE, c.cold, c.g.pages - 1, 0,
                               c.g.pages);
    if (!isnan(v)) {
        if (detail) {
            bench_note("warm-up pass (every page mapped once, batch %u): %.0f ns per read", batch,
                       v);
        }
        gm_mapcache_get_stats(c.mc, &warm);
        v = bench_median_of(cfg, grant_sample, &c);
        gm_mapcache_get_stats(c.mc, &done);
        if (detail) {
            note_mapcache("timed reads", &warm, &done);
            bench_note("mapcache: %llu entries, %llu MiB mapped",
                       (unsigned long long)done.entries,
                       (unsigned long long)(done.bytes_mapped >> 20));
            flush_and_note(&c);
        }
    }
    grant_teardown(&c);
    return v;
}

double bench_grant_cached_ns(const struct bench_cfg *cfg, uint64_t unused)
{
    double v = grant_warm_ns(cfg, 1, cfg->notes);

    (void)unused;
    if (!isnan(v) && cfg->notes) {
        /* For comparison: the same warm reads with 16 pages per entry, so
         * the cache holds 1024 entries instead of 16384. */
        double v16 = grant_warm_ns(cfg, 16, false);

        bench_note("same warm reads, 16 pages per mapping (1024 entries): %.1f ns", v16);
    }
    return v;
}

static double batch_sample(void *opaque)
{
    struct grant_ctx *c = opaque;

    gm_mapcache_flush(c->mc);
    return bench_guest_read_pages(&c->g, c->b.as, GM_GRANT_DMA_BASE, c->cold, c->g.pages - 1, 0,
                                  c->g.pages);
}

double bench_grant_batch_ns(const struct bench_cfg *cfg, uint64_t batch_pages)
{
    gm_mapcache_stats a, b;
    struct grant_ctx c;
    double v;

    if (grant_cached_setup(&c, 0, (unsigned int)batch_pages) < 0) {
        return NAN;
    }
    gm_mapcache_get_stats(c.mc, &a);
    v = bench_median_of(cfg, batch_sample, &c);
    gm_mapcache_get_stats(c.mc, &b);
    note_mapcache("cold passes", &a, &b);
    bench_note("per pass: %llu reads, %llu batch maps of %llu pages",
               (unsigned long long)c.g.pages, (unsigned long long)(c.g.pages / batch_pages),
               (unsigned long long)batch_pages);
    grant_teardown(&c);
    return v;
}
