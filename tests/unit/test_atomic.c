/* SPDX-License-Identifier: MIT */
/*
 * Single-copy atomicity of loads and stores on RAM: a naturally aligned
 * 1/2/4/8-byte ld/st is one host access of that size on every path that
 * ends in host memory, so a concurrent store is seen whole or not at all.
 *
 * One program, one meson test per path (the path is the argument):
 *
 *   as         gm_as_ld/st on RAM, the word at the end of the first of two
 *              adjacent RAM regions (rust-vmm's test_non_atomic_access)
 *   cache      gm_cache_ld/st on RAM (the inline fast path)
 *   cache-log  the same while the region logs dirty pages (stores take the
 *              out-of-line path, which marks pages dirty)
 *   mapped     a map-on-demand region without a copy op (map, copy, unmap)
 *   mapcache   a region of the mapping cache (its lock-free copy op)
 *   iommu      an IOMMU region translating into RAM
 *
 * For each width (2, 4, 8 bytes) two phases run on two threads:
 *
 *   load   a helper thread stores A and B alternately with __atomic_store_n
 *          into the host memory behind the word; the main thread loads it
 *          through the path under test;
 *   store  the main thread stores A and B alternately through the path; the
 *          helper thread loads the host word with __atomic_load_n.
 *
 * A and B differ in every byte (all zeros, all ones), so a load that reads
 * the word in two pieces while it changes returns a mix: a value that was
 * never stored, counted as torn. Any torn value fails the test.
 *
 * Tearing needs the two threads to run at the same time, which a busy
 * machine does not always allow. So the loader starts only once the storer
 * runs, and a phase lasts until the loader has seen the value change
 * PHASE_CHANGES times (each change is a moment where the two overlapped),
 * or at most PHASE_MS milliseconds. Every phase prints its loads, changes
 * and torn values.
 *
 * The program is built at -O0 (see meson.build): cache.h's accessors are
 * inline and compiled here, and at -O0 a copy the compiler could otherwise
 * turn into one move stays a call to memcpy, as in a user's debug build.
 *
 * With a correct library every access of the word on both sides is atomic,
 * so the program is race-free for ThreadSanitizer, which reports a plain
 * access (scripts/tsan.sh runs it).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <guestmem/guestmem.h>

#include "unit.h"

#define PAGE 0x1000u
#define PHASE_CHANGES 400000u
#define PHASE_MS 300u

static const unsigned int widths[] = { 2, 4, 8 };

/* ---- the memory under test ------------------------------------------- */

/* A map-on-demand provider over plain host memory: map returns the backing
 * up to the end of its page, unmap does nothing, no copy op. */
static void *backing_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write,
                         gm_attrs attrs, void **handle)
{
    uint64_t to_page_end = PAGE - (offset & (PAGE - 1));

    (void)is_write;
    (void)attrs;
    *handle = NULL;
    if (*len > to_page_end)
        *len = to_page_end;
    return (uint8_t *)opaque + offset;
}

static void backing_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                          uint64_t access_len)
{
    (void)opaque;
    (void)handle;
    (void)host;
    (void)len;
    (void)is_write;
    (void)access_len;
}

static const gm_mod_ops backing_ops = { .map = backing_map, .unmap = backing_unmap };

/* The mapping cache's provider over the same kind of backing. */
static void *backing_map_pages(void *opaque, uint64_t first, unsigned int npages, bool writable)
{
    (void)npages;
    (void)writable;
    return (uint8_t *)opaque + first * PAGE;
}

static void backing_unmap_pages(void *opaque, void *host, uint64_t first, unsigned int npages)
{
    (void)opaque;
    (void)host;
    (void)first;
    (void)npages;
}

static const gm_mapcache_provider backing_pages = {
    .map_pages = backing_map_pages, .unmap_pages = backing_unmap_pages, .page_shift = 12,
};

/* Identity translation into the "memory" address space. */
static gm_iotlb_entry identity_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                         int iommu_idx)
{
    (void)flag;
    (void)iommu_idx;
    return (gm_iotlb_entry){ .target_as = opaque, .iova = addr & ~(gm_addr)(PAGE - 1),
                             .translated_addr = addr & ~(gm_addr)(PAGE - 1),
                             .addr_mask = PAGE - 1, .perm = GM_IOMMU_RW };
}

static const gm_iommu_ops identity_ops = { .translate = identity_translate };

/*
 * The environment of one path: the address space accessed (@as, or @cache
 * when @use_cache), the guest address of the first byte after the word
 * (the word of width w is at @end - w), and @host, the host memory of the
 * page the word is in (its offset in the page is the same).
 */
typedef struct env {
    gm_system *sys;
    gm_region *root, *dma_root;
    gm_as *as, *mem;
    gm_mapcache *mc;
    gm_cache cache;
    bool use_cache;
    gm_addr end;
    uint8_t *host;
    uint8_t *backing;
    log_capture log;
} env;

static void env_base(env *e)
{
    memset(e, 0, sizeof(*e));
    e->sys = gm_system_new(0);
    CHECK(e->sys, "gm_system_new");
    gm_system_set_log(e->sys, log_capture_fn, &e->log, false);
    e->root = gm_region_new_container(e->sys, "root", 0x10000);
    CHECK(e->root, "root");
    e->end = PAGE;
}

/* RAM at [0, 0x1000) and [0x1000, 0x2000); the word ends at 0x1000. */
static gm_region *env_two_rams(env *e)
{
    gm_region *first = add_owned(e->root, 0, gm_region_new_ram(e->sys, "ram0", PAGE), 0);

    add_owned(e->root, PAGE, gm_region_new_ram(e->sys, "ram1", PAGE), 0);
    e->host = gm_region_get_ram_ptr(first);
    e->as = gm_as_new(e->sys, e->root, "memory");
    return first;
}

static void env_cache(env *e, bool log)
{
    gm_region *ram = env_two_rams(e);

    if (log)
        CHECK(gm_region_set_log(ram, GM_DIRTY_USER, true) == 0, "set_log");
    CHECK(gm_cache_init(&e->cache, e->as, 0, PAGE, true) == PAGE, "cache over the first page");
    e->use_cache = true;
}

/* Two pages of plain host memory behind a map-on-demand region at 0. */
static void env_backed(env *e, gm_region *mr)
{
    add_owned(e->root, 0, mr, 0);
    e->as = gm_as_new(e->sys, e->root, "memory");
}

static void env_iommu(env *e)
{
    env_two_rams(e);
    e->mem = e->as;
    e->dma_root = gm_region_new_container(e->sys, "dma-root", 0x10000);
    add_owned(e->dma_root, 0,
              gm_region_new_iommu(e->sys, "iommu", 0x10000, &identity_ops, e->mem), 0);
    e->as = gm_as_new(e->sys, e->dma_root, "dma");
}

static void env_init(env *e, const char *path)
{
    env_base(e);
    e->backing = e->host = aligned_alloc(PAGE, 2 * PAGE);
    CHECK(e->backing, "aligned_alloc");
    if (!strcmp(path, "as")) {
        env_two_rams(e);
    } else if (!strcmp(path, "cache") || !strcmp(path, "cache-log")) {
        env_cache(e, !strcmp(path, "cache-log"));
    } else if (!strcmp(path, "mapped")) {
        env_backed(e, gm_region_new_mapped(e->sys, "mapped", 2 * PAGE, &backing_ops,
                                           e->backing));
    } else if (!strcmp(path, "mapcache")) {
        e->mc = gm_mapcache_new(NULL);
        CHECK(e->mc, "gm_mapcache_new");
        env_backed(e, gm_mapcache_region_new(e->mc, e->sys, "mapcache", 2 * PAGE,
                                             &backing_pages, e->backing));
    } else if (!strcmp(path, "iommu")) {
        env_iommu(e);
    } else {
        CHECK(false, "unknown path '%s'", path);
    }
    CHECK(e->as, "gm_as_new");
}

static void env_fini(env *e)
{
    gm_cache_destroy(&e->cache);
    gm_as_free(e->as);
    gm_as_free(e->mem);
    gm_region_unref(e->dma_root);
    gm_region_unref(e->root);
    gm_system_free(e->sys);
    gm_mapcache_free(e->mc);
    free(e->backing);
}

/* ---- accesses through the path ---------------------------------------- */

static gm_result path_load(env *e, unsigned int w, uint64_t *v)
{
    gm_addr a = e->end - w;
    uint16_t v16 = 0;
    uint32_t v32 = 0;
    gm_result r;

    if (w == 2) {
        r = e->use_cache ? gm_cache_ld16_le(&e->cache, a, &v16)
                         : gm_as_ld16_le(e->as, a, GM_ATTRS_UNSPECIFIED, &v16);
        *v = v16;
    } else if (w == 4) {
        r = e->use_cache ? gm_cache_ld32_le(&e->cache, a, &v32)
                         : gm_as_ld32_le(e->as, a, GM_ATTRS_UNSPECIFIED, &v32);
        *v = v32;
    } else {
        r = e->use_cache ? gm_cache_ld64_le(&e->cache, a, v)
                         : gm_as_ld64_le(e->as, a, GM_ATTRS_UNSPECIFIED, v);
    }
    return r;
}

static gm_result path_store(env *e, unsigned int w, uint64_t v)
{
    gm_addr a = e->end - w;

    if (w == 2)
        return e->use_cache ? gm_cache_st16_le(&e->cache, a, (uint16_t)v)
                            : gm_as_st16_le(e->as, a, GM_ATTRS_UNSPECIFIED, (uint16_t)v);
    if (w == 4)
        return e->use_cache ? gm_cache_st32_le(&e->cache, a, (uint32_t)v)
                            : gm_as_st32_le(e->as, a, GM_ATTRS_UNSPECIFIED, (uint32_t)v);
    return e->use_cache ? gm_cache_st64_le(&e->cache, a, v)
                        : gm_as_st64_le(e->as, a, GM_ATTRS_UNSPECIFIED, v);
}

/* The same word accessed directly in host memory, atomically. */
static uint64_t host_load(env *e, unsigned int w)
{
    void *p = e->host + (e->end - w) % PAGE;

    if (w == 2)
        return __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED);
    if (w == 4)
        return __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
    return __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
}

static void host_store(env *e, unsigned int w, uint64_t v)
{
    void *p = e->host + (e->end - w) % PAGE;

    if (w == 2)
        __atomic_store_n((uint16_t *)p, (uint16_t)v, __ATOMIC_RELAXED);
    else if (w == 4)
        __atomic_store_n((uint32_t *)p, (uint32_t)v, __ATOMIC_RELAXED);
    else
        __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}

/* ---- one phase --------------------------------------------------------- */

typedef struct phase {
    env *e;
    unsigned int w;
    uint64_t a, b;                /* the two values stored */
    bool helper_loads;            /* store phase: the helper is the loader */
    int running;                  /* atomic: the storer has started */
    int stop;                     /* atomic: the loader is done */
    uint64_t loads, torn, changes, first_torn;
} phase;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void phase_store_loop(phase *ph)
{
    __atomic_store_n(&ph->running, 1, __ATOMIC_RELAXED);
    for (uint64_t i = 0; !__atomic_load_n(&ph->stop, __ATOMIC_RELAXED); i++) {
        uint64_t v = i & 1 ? ph->b : ph->a;

        if (ph->helper_loads)
            CHECK(path_store(ph->e, ph->w, v) == GM_OK, "store through the path");
        else
            host_store(ph->e, ph->w, v);
    }
}

static void phase_load_loop(phase *ph)
{
    uint64_t deadline, prev = ph->a;

    while (!__atomic_load_n(&ph->running, __ATOMIC_RELAXED))
        ;
    deadline = now_ms() + PHASE_MS;
    for (ph->loads = 0; ph->changes < PHASE_CHANGES; ph->loads++) {
        uint64_t v = 0;

        if (ph->helper_loads)
            v = host_load(ph->e, ph->w);
        else
            CHECK(path_load(ph->e, ph->w, &v) == GM_OK, "load through the path");
        if (v != ph->a && v != ph->b && !ph->torn++)
            ph->first_torn = v;
        ph->changes += v != prev;
        prev = v;
        if (!(ph->loads & 0xfff) && now_ms() > deadline)
            break;
    }
    __atomic_store_n(&ph->stop, 1, __ATOMIC_RELAXED);
}

static void *helper(void *opaque)
{
    phase *ph = opaque;

    if (ph->helper_loads)
        phase_load_loop(ph);
    else
        phase_store_loop(ph);
    return NULL;
}

/* Returns the number of torn values seen. */
static uint64_t run_phase(env *e, unsigned int w, bool store_phase)
{
    uint64_t ones = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
    phase ph = { .e = e, .w = w, .a = 0, .b = ones, .helper_loads = store_phase };
    pthread_t t;

    host_store(e, w, ph.a);
    CHECK(pthread_create(&t, NULL, helper, &ph) == 0, "pthread_create");
    if (store_phase)
        phase_store_loop(&ph);
    else
        phase_load_loop(&ph);
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    printf("  %u-byte %s: %" PRIu64 " loads, %" PRIu64 " changes seen, %" PRIu64 " torn\n", w,
           store_phase ? "stores" : "loads", ph.loads, ph.changes, ph.torn);
    if (ph.torn)
        fprintf(stderr, "%u-byte %s tore %" PRIu64 " times in %" PRIu64 " loads (first 0x%"
                PRIx64 ")\n", w, store_phase ? "stores" : "loads", ph.torn, ph.loads,
                ph.first_torn);
    return ph.torn;
}

int main(int argc, char **argv)
{
    uint64_t torn = 0;
    env e;

    CHECK(argc == 2, "usage: test_atomic as|cache|cache-log|mapped|mapcache|iommu");
    env_init(&e, argv[1]);
    for (unsigned int i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        uint64_t t = run_phase(&e, widths[i], false) + run_phase(&e, widths[i], true);

        if (!t)
            printf("ok - %s: %u-byte loads and stores\n", argv[1], widths[i]);
        torn += t;
    }
    env_fini(&e);
    /* Every width runs even after a failure, so the log shows them all. */
    CHECK(torn == 0, "%" PRIu64 " torn values on path %s", torn, argv[1]);
    return 0;
}
