/* SPDX-License-Identifier: MIT */
/*
 * The mapping cache: hits and misses, the read-only/writable rule, batching,
 * eviction under a budget, pinning, invalidation, deferred unmaps, and a
 * concurrent run (readers, writers and invalidations) checked for data.
 *
 * The provider maps real pages of a memfd with mmap, so mappings behave like
 * grant mappings: distinct host addresses, read-only where asked, and a
 * mapping that is unmapped really goes away (ASan/SEGV would catch a use).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#include "check.h"

#define PAGE 4096u
#define PAGES 64u
#define BASE 0x40000000ull

typedef struct memfd_provider {
    int fd;
    bool wrap;                    /* page p is memfd page p % PAGES (batch 1 only) */
    int refuse_page;              /* -1: none */
    int live;                     /* atomic: pages mapped */
    int map_calls;
} memfd_provider;

static void *fd_map(void *opaque, uint64_t first, unsigned int npages, bool writable)
{
    memfd_provider *p = opaque;
    void *host;

    __atomic_add_fetch(&p->map_calls, 1, __ATOMIC_RELAXED);
    if (p->refuse_page >= 0 && (uint64_t)p->refuse_page >= first &&
        (uint64_t)p->refuse_page < first + npages)
        return NULL;
    if (p->wrap)
        first %= PAGES;
    host = mmap(NULL, (size_t)npages * PAGE, PROT_READ | (writable ? PROT_WRITE : 0),
                MAP_SHARED, p->fd, (off_t)(first * PAGE));
    if (host == MAP_FAILED)
        return NULL;
    __atomic_add_fetch(&p->live, (int)npages, __ATOMIC_RELAXED);
    return host;
}

static void fd_unmap(void *opaque, void *host, uint64_t first, unsigned int npages)
{
    memfd_provider *p = opaque;

    (void)first;
    CHECK(munmap(host, (size_t)npages * PAGE) == 0, "munmap");
    __atomic_sub_fetch(&p->live, (int)npages, __ATOMIC_RELAXED);
}

static const gm_mapcache_provider fd_provider = {
    .map_pages = fd_map, .unmap_pages = fd_unmap, .page_shift = 12,
};

typedef struct fixture {
    memfd_provider p;
    gm_mapcache *mc;
    gm_system *sys;
    gm_region *root, *mr;
    gm_as *as;
} fixture;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static void fixture_init(fixture *fx, uint64_t budget, unsigned int batch, bool deferred)
{
    gm_mapcache_config cfg = { budget, batch, deferred };
    uint8_t page[PAGE];

    memset(fx, 0, sizeof(*fx));
    fx->p.refuse_page = -1;
    fx->p.fd = memfd_create("guest", 0);
    CHECK(fx->p.fd >= 0 && ftruncate(fx->p.fd, PAGES * PAGE) == 0, "memfd");
    for (unsigned int i = 0; i < PAGES; i++) {
        memset(page, (int)i, PAGE);
        CHECK(pwrite(fx->p.fd, page, PAGE, (off_t)i * PAGE) == PAGE, "fill");
    }
    fx->mc = gm_mapcache_new(&cfg);
    fx->sys = gm_system_new(0);
    gm_system_set_log(fx->sys, quiet, NULL, false);
    fx->root = gm_region_new_container(fx->sys, "root", GM_SIZE_2_64);
    fx->mr = gm_mapcache_region_new(fx->mc, fx->sys, "grants", PAGES * PAGE, &fd_provider,
                                    &fx->p);
    CHECK(fx->mr, "region");
    CHECK(gm_region_add_subregion(fx->root, BASE, fx->mr) == 0, "map region");
    fx->as = gm_as_new(fx->sys, fx->root, "dma");
}

static void fixture_fini(fixture *fx)
{
    gm_as_free(fx->as);
    gm_region_unref(fx->mr);
    gm_region_unref(fx->root);
    gm_system_free(fx->sys);   /* frees the region: its binding drops entries */
    gm_mapcache_free(fx->mc);
    CHECK(fx->p.live == 0, "every page unmapped, %d live", fx->p.live);
    close(fx->p.fd);
}

static gm_mapcache_stats stats(fixture *fx)
{
    gm_mapcache_stats st;

    gm_mapcache_get_stats(fx->mc, &st);
    return st;
}

static uint8_t read_byte(fixture *fx, uint64_t off)
{
    uint8_t b = 0xee;

    CHECK(gm_as_ld8(fx->as, BASE + off, GM_ATTRS_UNSPECIFIED, &b) == GM_OK, "ld8 at %lx",
          (unsigned long)off);
    return b;
}

static void test_hits_and_access_kinds(void)
{
    fixture fx;

    fixture_init(&fx, 0, 1, false);
    CHECK(read_byte(&fx, 3 * PAGE + 5) == 3, "page 3 data");
    CHECK(read_byte(&fx, 3 * PAGE + 9) == 3, "again");
    CHECK(stats(&fx).misses == 1 && stats(&fx).hits == 1, "1 miss then 1 hit");
    CHECK(gm_as_st8(fx.as, BASE + 3 * PAGE, GM_ATTRS_UNSPECIFIED, 0xab) == GM_OK, "write");
    CHECK(stats(&fx).maps == 2, "a read-only entry does not serve a write");
    CHECK(read_byte(&fx, 3 * PAGE) == 0xab, "read sees the write");
    CHECK(stats(&fx).maps == 2, "no new mapping for the read");
    fixture_fini(&fx);
}

static void test_batching(void)
{
    fixture fx;

    fixture_init(&fx, 0, 16, false);
    for (unsigned int i = 16; i < 32; i++)
        CHECK(read_byte(&fx, (uint64_t)i * PAGE) == i, "page %u", i);
    CHECK(stats(&fx).maps == 1 && stats(&fx).hits == 15, "one batch for 16 pages");
    fx.p.refuse_page = 40;
    CHECK(read_byte(&fx, 33 * PAGE) == 33, "batch with a refused page falls back");
    CHECK(stats(&fx).maps == 2 && stats(&fx).map_failures == 1, "single page mapped");
    fixture_fini(&fx);
}

static void test_eviction_and_pinning(void)
{
    uint64_t len = PAGE;
    uint8_t *pinned;
    fixture fx;

    fixture_init(&fx, 4 * PAGE, 1, false);
    pinned = gm_as_map(fx.as, BASE, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(pinned && len == PAGE, "map page 0");
    for (unsigned int i = 1; i < 20; i++)
        CHECK(read_byte(&fx, (uint64_t)i * PAGE) == i, "page %u", i);
    CHECK(stats(&fx).bytes_mapped <= 4 * PAGE, "within budget: %lu",
          (unsigned long)stats(&fx).bytes_mapped);
    CHECK(stats(&fx).evictions >= 15, "evicted");
    CHECK(pinned[100] == 0, "pinned mapping still valid");
    gm_as_unmap(fx.as, pinned, len, false, 0);
    fixture_fini(&fx);
}

static void test_invalidation(void)
{
    uint64_t len = PAGE;
    uint8_t *pinned;
    fixture fx;

    fixture_init(&fx, 0, 1, false);
    CHECK(read_byte(&fx, 7 * PAGE) == 7, "cache page 7");
    pinned = gm_as_map(fx.as, BASE + 8 * PAGE, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(pinned, "pin page 8");
    CHECK(gm_mapcache_invalidate(fx.mc, fx.mr, 7 * PAGE, 2 * PAGE) == 2, "two entries");
    CHECK(fx.p.live == 1, "unpinned one unmapped at once, pinned one kept");
    CHECK(pinned[0] == 8, "pinned mapping still usable");
    gm_as_unmap(fx.as, pinned, len, false, 0);
    CHECK(fx.p.live == 0, "pinned one unmapped on release");
    fx.p.refuse_page = 7;
    CHECK(gm_as_ld8(fx.as, BASE + 7 * PAGE, GM_ATTRS_UNSPECIFIED, pinned = &(uint8_t){ 1 }) ==
              GM_ACCESS_ERROR, "revoked page refused after invalidation");
    CHECK(gm_mapcache_invalidate(fx.mc, fx.root, 0, PAGE) == -EINVAL, "foreign region");
    fixture_fini(&fx);
}

static void test_deferred_unmap(void)
{
    fixture fx;

    fixture_init(&fx, 2 * PAGE, 1, true);
    for (unsigned int i = 0; i < 12; i++)
        read_byte(&fx, (uint64_t)i * PAGE);
    CHECK(stats(&fx).evictions == 10 && stats(&fx).unmaps == 0, "10 evictions queued");
    for (unsigned int i = 12; i < 20; i++)
        read_byte(&fx, (uint64_t)i * PAGE);
    CHECK(stats(&fx).unmaps == 16, "unmapped in a batch of 16, got %lu",
          (unsigned long)stats(&fx).unmaps);
    gm_mapcache_flush(fx.mc);
    CHECK(fx.p.live == 0, "flush unmaps everything unpinned");
    fixture_fini(&fx);
}

/* A single-page entry and a batch over the same page: an invalidation of
 * that page finds both, although the page's slot holds only the first. */
static void test_batch_over_single_page_entry(void)
{
    fixture fx;

    fixture_init(&fx, 0, 16, false);
    fx.p.refuse_page = 40;
    CHECK(read_byte(&fx, 33 * PAGE) == 33, "page 33 alone (its batch is refused)");
    /* Granted again; the owner's invalidation also lets the batch be
     * tried again. */
    fx.p.refuse_page = -1;
    CHECK(gm_mapcache_invalidate(fx.mc, fx.mr, 40 * PAGE, PAGE) == 0, "nothing cached at 40");
    CHECK(read_byte(&fx, 34 * PAGE) == 34, "page 34: the batch 32..47 now maps");
    CHECK(stats(&fx).entries == 2 && fx.p.live == 17, "single + batch: %lu entries, %d pages",
          (unsigned long)stats(&fx).entries, fx.p.live);
    CHECK(read_byte(&fx, 33 * PAGE + 1) == 33 && stats(&fx).maps == 2,
          "page 33 still served without a new mapping");
    CHECK(gm_mapcache_invalidate(fx.mc, fx.mr, 33 * PAGE, 1) == 2, "both entries overlap 33");
    CHECK(fx.p.live == 0 && stats(&fx).entries == 0, "both unmapped");
    fixture_fini(&fx);
}

/* A writable mapping pinned across an invalidation stays usable; the next
 * lookup maps again rather than reuse it; read-only and writable entries
 * of one page are separate. */
static void test_invalidate_pinned_writable(void)
{
    uint64_t len = PAGE;
    uint8_t *w;
    fixture fx;

    fixture_init(&fx, 0, 1, false);
    CHECK(read_byte(&fx, 5 * PAGE) == 5, "read-only entry of page 5");
    w = gm_as_map(fx.as, BASE + 5 * PAGE, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(w && len == PAGE && stats(&fx).maps == 2, "writable entry of page 5 mapped apart");
    CHECK(gm_mapcache_invalidate(fx.mc, fx.mr, 5 * PAGE, PAGE) == 2, "both entries dropped");
    CHECK(fx.p.live == 1, "the pinned writable one stays mapped");
    w[7] = 0x77;
    CHECK(read_byte(&fx, 5 * PAGE + 7) == 0x77 && stats(&fx).maps == 3,
          "a read maps again and sees the store");
    gm_as_unmap(fx.as, w, len, true, 8);
    CHECK(fx.p.live == 1, "the doomed entry went with its last unpin, the new one stays");
    fixture_fini(&fx);
}

/* A 2^64-byte region: its index has interior levels, built as pages are
 * first mapped, at any page number up to the last. */
static void test_index_of_a_huge_region(void)
{
    static const uint64_t pages[] = { 0, 1, 511, 512, 1ull << 20, (1ull << 40) + 3,
                                      (1ull << 52) - 1 };
    const unsigned int n = sizeof(pages) / sizeof(pages[0]);
    gm_region *huge, *root;
    memfd_provider wp;
    gm_as *as;
    fixture fx;
    uint8_t b;

    fixture_init(&fx, 4 * PAGE, 1, false);
    wp = (memfd_provider){ .fd = fx.p.fd, .wrap = true, .refuse_page = -1 };
    huge = gm_mapcache_region_new(fx.mc, fx.sys, "huge", GM_SIZE_2_64, &fd_provider, &wp);
    root = gm_region_new_container(fx.sys, "huge-root", GM_SIZE_2_64);
    CHECK(huge && root && gm_region_add_subregion(root, 0, huge) == 0, "huge region");
    as = gm_as_new(fx.sys, root, "huge-as");
    for (unsigned int pass = 0; pass < 2; pass++) {
        for (unsigned int i = 0; i < n; i++) {
            CHECK(gm_as_ld8(as, pages[i] * PAGE + 9, GM_ATTRS_UNSPECIFIED, &b) == GM_OK &&
                      b == pages[i] % PAGES, "page 0x%llx", (unsigned long long)pages[i]);
            CHECK(gm_as_ld8(as, pages[i] * PAGE, GM_ATTRS_UNSPECIFIED, &b) == GM_OK,
                  "again: a hit");
        }
    }
    CHECK(stats(&fx).hits >= n && stats(&fx).evictions >= n - 4, "hits and evictions: %lu, %lu",
          (unsigned long)stats(&fx).hits, (unsigned long)stats(&fx).evictions);
    CHECK(stats(&fx).bytes_mapped <= 4 * PAGE, "within budget");
    CHECK(gm_mapcache_invalidate(fx.mc, huge, ((1ull << 52) - 1) * PAGE, PAGE) == 1,
          "the last page's entry");
    CHECK(gm_mapcache_invalidate(fx.mc, huge, 0, UINT64_MAX) == 3, "the other cached entries");
    CHECK(wp.live == 0, "nothing mapped");
    gm_as_free(as);
    gm_region_unref(root);
    gm_region_unref(huge);
    fixture_fini(&fx);
}

/* Pages smaller than 4 KiB: accesses go through map and unmap, a piece
 * per provider page, served by the index like any other. */
#define SMALL_PAGE 512u

static uint8_t small_mem[16 * SMALL_PAGE];
static int small_live;

static void *small_map(void *opaque, uint64_t first, unsigned int npages, bool writable)
{
    (void)opaque;
    (void)writable;
    small_live += (int)npages;
    return small_mem + first * SMALL_PAGE;
}

static void small_unmap(void *opaque, void *host, uint64_t first, unsigned int npages)
{
    (void)opaque;
    (void)host;
    (void)first;
    small_live -= (int)npages;
}

static const gm_mapcache_provider small_provider = {
    .map_pages = small_map, .unmap_pages = small_unmap, .page_shift = 9,
};

static void test_pages_under_4k(void)
{
    gm_region *mr, *root;
    uint16_t v = 0;
    gm_as *as;
    fixture fx;

    for (unsigned int i = 0; i < sizeof(small_mem); i++)
        small_mem[i] = (uint8_t)(i / SMALL_PAGE);
    fixture_init(&fx, 0, 1, false);
    mr = gm_mapcache_region_new(fx.mc, fx.sys, "small", sizeof(small_mem), &small_provider, NULL);
    root = gm_region_new_container(fx.sys, "small-root", GM_SIZE_2_64);
    CHECK(mr && root && gm_region_add_subregion(root, 0, mr) == 0, "512-byte-page region");
    as = gm_as_new(fx.sys, root, "small-as");
    CHECK(gm_as_ld16_le(as, 3 * SMALL_PAGE - 1, GM_ATTRS_UNSPECIFIED, &v) == GM_OK && v == 0x0302,
          "a load across two provider pages, got %x", v);
    CHECK(stats(&fx).misses == 2 && small_live == 2, "one entry per provider page");
    CHECK(gm_as_ld16_le(as, 3 * SMALL_PAGE - 1, GM_ATTRS_UNSPECIFIED, &v) == GM_OK &&
              stats(&fx).hits == 2, "then two hits");
    CHECK(gm_mapcache_invalidate(fx.mc, mr, 2 * SMALL_PAGE, 2 * SMALL_PAGE) == 2 &&
              small_live == 0, "invalidated and unmapped");
    gm_as_free(as);
    gm_region_unref(root);
    gm_region_unref(mr);
    fixture_fini(&fx);
}

typedef struct worker {
    fixture *fx;
    unsigned int seed;
    int errors;
} worker;

static void *reader(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < 20000; i++) {
        unsigned int page = (w->seed = w->seed * 1103515245u + 12345u) >> 16 & (PAGES - 1);
        uint8_t buf[64];

        if (gm_as_read(w->fx->as, BASE + (uint64_t)page * PAGE + 64, GM_ATTRS_UNSPECIFIED, buf,
                       sizeof(buf)) != GM_OK || buf[0] != page || buf[63] != page)
            w->errors++;
    }
    return NULL;
}

/* Writes each page's own fill back, so the readers' check still holds. */
static void *writer(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < 20000; i++) {
        unsigned int page = (w->seed = w->seed * 1103515245u + 12345u) >> 16 & (PAGES - 1);
        uint8_t buf[64];

        memset(buf, (int)page, sizeof(buf));
        if (gm_as_write(w->fx->as, BASE + (uint64_t)page * PAGE + 128, GM_ATTRS_UNSPECIFIED, buf,
                        sizeof(buf)) != GM_OK)
            w->errors++;
    }
    return NULL;
}

static void test_concurrent_readers_and_invalidations(void)
{
    worker w[3];
    pthread_t t[3];
    fixture fx;

    fixture_init(&fx, 8 * PAGE, 4, true);
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){ &fx, (unsigned int)i + 1, 0 };
        pthread_create(&t[i], NULL, i < 2 ? reader : writer, &w[i]);
    }
    for (int i = 0; i < 2000; i++)
        gm_mapcache_invalidate(fx.mc, fx.mr, (uint64_t)(i % PAGES) * PAGE, PAGE);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].errors == 0, "%s %d saw %d bad accesses", i < 2 ? "reader" : "writer", i,
              w[i].errors);
    }
    fixture_fini(&fx);
}

int main(void)
{
    RUN(test_hits_and_access_kinds);
    RUN(test_batching);
    RUN(test_eviction_and_pinning);
    RUN(test_invalidation);
    RUN(test_deferred_unmap);
    RUN(test_batch_over_single_page_entry);
    RUN(test_invalidate_pinned_writable);
    RUN(test_index_of_a_huge_region);
    RUN(test_pages_under_4k);
    RUN(test_concurrent_readers_and_invalidations);
    return 0;
}
