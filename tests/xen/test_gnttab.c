/* SPDX-License-Identifier: MIT */
/*
 * Grant tables: the emulated table's Xen semantics (flags while mapped,
 * revocation refused while mapped, read-only grants), grant regions in an
 * address space at 1 << 63 reached through the mapping cache, a granter in
 * a second process, a hostile granter rewriting entries under the backend,
 * and the libxengnttab provider failing cleanly where there is no Xen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#include "check.h"

#define PAGE 4096u
#define GUEST_PAGES 64u
#define NREFS 128u
#define BACKEND 7
#define GUEST 3

typedef struct fixture {
    int guest_fd;
    uint8_t *guest;               /* the granter's view of its RAM */
    gm_gnttab_emu *gt;
    gm_grant_provider prov;
    gm_mapcache *mc;
    gm_system *sys;
    gm_region *root, *grants;
    gm_as *as;
} fixture;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static void fixture_init(fixture *fx, uint64_t budget, unsigned int batch)
{
    gm_mapcache_config cfg = { budget, batch, false };

    memset(fx, 0, sizeof(*fx));
    fx->guest_fd = memfd_create("guest-ram", 0);
    CHECK(fx->guest_fd >= 0 && ftruncate(fx->guest_fd, GUEST_PAGES * PAGE) == 0, "guest ram");
    fx->guest = mmap(NULL, GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fx->guest_fd,
                     0);
    CHECK(fx->guest != MAP_FAILED, "map guest ram");
    fx->gt = gm_gnttab_emu_create(NREFS, fx->guest_fd, GUEST_PAGES * PAGE, BACKEND);
    CHECK(fx->gt, "grant table");
    fx->prov = gm_gnttab_emu_provider(fx->gt);
    fx->mc = gm_mapcache_new(&cfg);
    fx->sys = gm_system_new(0);
    gm_system_set_log(fx->sys, quiet, NULL, false);
    fx->root = gm_region_new_container(fx->sys, "dma", GM_SIZE_2_64);
    fx->grants = gm_grant_region_new(fx->mc, fx->sys, "grants", &fx->prov, GUEST, NREFS);
    CHECK(fx->grants, "grant region");
    CHECK(gm_region_add_subregion(fx->root, GM_GRANT_DMA_BASE, fx->grants) == 0, "at 1<<63");
    fx->as = gm_as_new(fx->sys, fx->root, "dma");
}

static void fixture_fini(fixture *fx)
{
    gm_as_free(fx->as);
    gm_region_unref(fx->grants);
    gm_region_unref(fx->root);
    gm_system_free(fx->sys);
    gm_mapcache_free(fx->mc);
    for (gm_grant_ref r = 0; r < NREFS; r++) {
        gm_grant_entry_v1 e;

        gm_gnttab_emu_entry(fx->gt, r, &e);
        CHECK(!(e.flags & (GM_GTF_READING | GM_GTF_WRITING)), "ref %u left mapped", r);
    }
    gm_gnttab_emu_free(fx->gt);
    munmap(fx->guest, GUEST_PAGES * PAGE);
    close(fx->guest_fd);
}

static gm_addr dma(gm_grant_ref ref, uint32_t off)
{
    return GM_GRANT_DMA_BASE + ((gm_addr)ref << 12) + off;
}

static void test_entry_layout(void)
{
    CHECK(sizeof(gm_grant_entry_v1) == 8, "grant_entry_v1 is 8 bytes");
}

static void test_flags_and_revocation(void)
{
    gm_grant_entry_v1 e;
    uint64_t len = PAGE;
    fixture fx;
    void *p;

    fixture_init(&fx, 0, 1);
    CHECK(gm_gnttab_emu_grant(fx.gt, 10, BACKEND, 5, false) == 0, "grant ref 10 -> frame 5");
    p = gm_as_map(fx.as, dma(10, 0), &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p && len == PAGE, "map the grant");
    gm_gnttab_emu_entry(fx.gt, 10, &e);
    CHECK((e.flags & (GM_GTF_READING | GM_GTF_WRITING)) == (GM_GTF_READING | GM_GTF_WRITING),
          "reading and writing set while mapped, flags %x", e.flags);
    CHECK(gm_gnttab_emu_end_access(fx.gt, 10) == -EBUSY, "cannot revoke while mapped");
    memcpy(p, "grant!", 6);
    gm_as_unmap(fx.as, p, len, true, 6);
    CHECK(memcmp(fx.guest + 5 * PAGE, "grant!", 6) == 0, "data reached frame 5");
    CHECK(gm_gnttab_emu_end_access(fx.gt, 10) == -EBUSY, "still cached by the mapcache");
    CHECK(gm_mapcache_invalidate(fx.mc, fx.grants, 10 * PAGE, PAGE) == 1, "backend drops it");
    CHECK(gm_gnttab_emu_end_access(fx.gt, 10) == 0, "revocation works once unmapped");
    CHECK(gm_as_write(fx.as, dma(10, 0), GM_ATTRS_UNSPECIFIED, "x", 1) == GM_ACCESS_ERROR,
          "revoked grant refused");
    CHECK(gm_gnttab_emu_grant(fx.gt, NREFS, BACKEND, 1, false) == -EINVAL, "ref range");
    CHECK(gm_gnttab_emu_grant(fx.gt, 1, BACKEND, GUEST_PAGES, false) == -EINVAL, "frame range");
    fixture_fini(&fx);
}

static void test_readonly_grants(void)
{
    uint8_t b = 0;
    fixture fx;

    fixture_init(&fx, 0, 1);
    fx.guest[9 * PAGE] = 0x99;
    CHECK(gm_gnttab_emu_grant(fx.gt, 20, BACKEND, 9, true) == 0, "read-only grant");
    CHECK(gm_as_ld8(fx.as, dma(20, 0), GM_ATTRS_UNSPECIFIED, &b) == GM_OK && b == 0x99, "read");
    CHECK(gm_as_st8(fx.as, dma(20, 0), GM_ATTRS_UNSPECIFIED, 1) == GM_ACCESS_ERROR,
          "write refused");
    CHECK(fx.guest[9 * PAGE] == 0x99, "frame unchanged");
    CHECK(gm_gnttab_emu_grant(fx.gt, 21, BACKEND + 1, 9, false) == 0, "grant to another domain");
    CHECK(gm_as_ld8(fx.as, dma(21, 0), GM_ATTRS_UNSPECIFIED, &b) == GM_ACCESS_ERROR,
          "not ours to map");
    fixture_fini(&fx);
}

static void test_cross_pages_non_consecutive_frames(void)
{
    uint8_t buf[3 * PAGE];
    gm_mapcache_stats st;
    fixture fx;

    fixture_init(&fx, 0, 4);
    for (unsigned int i = 0; i < 3; i++) {
        memset(fx.guest + (40 - 7 * i) * PAGE, 'a' + (int)i, PAGE);
        CHECK(gm_gnttab_emu_grant(fx.gt, 32 + i, BACKEND, 40 - 7 * i, false) == 0, "grant");
    }
    CHECK(gm_as_read(fx.as, dma(32, 100), GM_ATTRS_UNSPECIFIED, buf, 2 * PAGE) == GM_OK,
          "read across 3 grants");
    CHECK(buf[0] == 'a' && buf[PAGE - 100] == 'b' && buf[2 * PAGE - 1] == 'c', "frame order");
    gm_mapcache_get_stats(fx.mc, &st);
    CHECK(st.map_failures == 1 && st.maps == 3,
          "batch of refs 32-35 refused (35 not granted), then single pages: %lu/%lu",
          (unsigned long)st.maps, (unsigned long)st.map_failures);
    fixture_fini(&fx);
}

static void test_eviction_small_budget(void)
{
    gm_mapcache_stats st;
    fixture fx;
    uint8_t b;

    fixture_init(&fx, 4 * PAGE, 1);
    for (unsigned int i = 0; i < 32; i++) {
        fx.guest[i * PAGE] = (uint8_t)i;
        CHECK(gm_gnttab_emu_grant(fx.gt, i, BACKEND, i, false) == 0, "grant");
    }
    for (unsigned int round = 0; round < 2; round++) {
        for (unsigned int i = 0; i < 32; i++)
            CHECK(gm_as_ld8(fx.as, dma(i, 0), GM_ATTRS_UNSPECIFIED, &b) == GM_OK && b == i,
                  "ref %u", i);
    }
    gm_mapcache_get_stats(fx.mc, &st);
    CHECK(st.bytes_mapped <= 4 * PAGE && st.evictions >= 56, "evicting: %lu bytes, %lu evictions",
          (unsigned long)st.bytes_mapped, (unsigned long)st.evictions);
    fixture_fini(&fx);
}

/* The granter lives in a child process that shares only the two memfds. */
static void test_granter_in_second_process(void)
{
    int to_child[2], to_parent[2];
    char msg = 0;
    uint8_t buf[16];
    fixture fx;
    pid_t pid;
    int status;

    fixture_init(&fx, 0, 1);
    CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0, "pipes");
    pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        gm_gnttab_emu *gt = gm_gnttab_emu_attach(gm_gnttab_emu_fd(fx.gt), fx.guest_fd);
        int ok = gt && gm_gnttab_emu_grant(gt, 50, BACKEND, 12, false) == 0;

        memcpy(fx.guest + 12 * PAGE, "from the child", 15);
        msg = ok ? 'g' : 'x';
        ok = write(to_parent[1], &msg, 1) == 1 && read(to_child[0], &msg, 1) == 1;
        msg = gm_gnttab_emu_end_access(gt, 50) == -EBUSY ? 'b' : 'x';
        ok = ok && write(to_parent[1], &msg, 1) == 1;
        gm_gnttab_emu_free(gt);
        _exit(ok ? 0 : 1);
    }
    CHECK(read(to_parent[0], &msg, 1) == 1 && msg == 'g', "child granted");
    CHECK(gm_as_read(fx.as, dma(50, 0), GM_ATTRS_UNSPECIFIED, buf, 15) == GM_OK, "read grant");
    CHECK(memcmp(buf, "from the child", 15) == 0, "child's data");
    msg = 'r';
    CHECK(write(to_child[1], &msg, 1) == 1, "tell child to revoke");
    CHECK(read(to_parent[0], &msg, 1) == 1 && msg == 'b', "child's revoke refused (cached)");
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status), "child");
    fixture_fini(&fx);
}

typedef struct hostile {
    gm_gnttab_emu *gt;
    int stop;                     /* atomic */
} hostile;

/* A granter that ignores the protocol: rewrites entries at random. */
static void *hostile_granter(void *arg)
{
    hostile *h = arg;
    unsigned int seed = 7;

    while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
        gm_grant_ref ref = (seed = seed * 1103515245u + 12345u) >> 16 & 7;
        gm_grant_entry_v1 e;

        gm_gnttab_emu_entry(h->gt, ref, &e);
        if (seed & 0x100)
            gm_gnttab_emu_end_access(h->gt, ref);
        else
            gm_gnttab_emu_grant(h->gt, ref, (seed & 0x200) ? BACKEND : 99, seed % GUEST_PAGES,
                                seed & 0x400);
    }
    return NULL;
}

static void test_hostile_granter(void)
{
    hostile h;
    pthread_t t;
    fixture fx;
    unsigned int ok = 0, refused = 0;

    fixture_init(&fx, 2 * PAGE, 1);
    h.gt = fx.gt;
    h.stop = 0;
    pthread_create(&t, NULL, hostile_granter, &h);
    for (int i = 0; i < 20000; i++) {
        uint8_t buf[32];
        gm_result r = gm_as_rw(fx.as, dma((gm_grant_ref)(i & 7), (uint32_t)(i * 13) % PAGE),
                               GM_ATTRS_UNSPECIFIED, buf, sizeof(buf), i & 1);

        CHECK(r == GM_OK || r == GM_ACCESS_ERROR, "only OK or ACCESS_ERROR, got %u", r);
        if (r == GM_OK)
            ok++;
        else
            refused++;
        if (i % 1000 == 0)
            gm_mapcache_invalidate(fx.mc, fx.grants, 0, 8 * PAGE);
    }
    __atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    gm_mapcache_flush(fx.mc);
    for (gm_grant_ref r = 0; r < 8; r++)
        gm_gnttab_emu_end_access(fx.gt, r);
    printf("# hostile granter: %u ok, %u refused\n", ok, refused);
    fixture_fini(&fx);
}

static void test_xen_provider_without_xen(void)
{
    gm_grant_provider p;
    int err = gm_gnttab_xen_open(&p);

    if (!err) {
        printf("# running under Xen: provider opened\n");
        p.ops->close(p.ctx);
        return;
    }
    CHECK(err < 0, "a negative errno without Xen, got %d", err);
}

int main(void)
{
    RUN(test_entry_layout);
    RUN(test_flags_and_revocation);
    RUN(test_readonly_grants);
    RUN(test_cross_pages_non_consecutive_frames);
    RUN(test_eviction_small_budget);
    RUN(test_granter_in_second_process);
    RUN(test_hostile_granter);
    RUN(test_xen_provider_without_xen);
    return 0;
}
