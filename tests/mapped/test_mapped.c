/* SPDX-License-Identifier: MIT */
/*
 * Map-on-demand regions: every access path on a region whose memory is only
 * reachable through map/unmap (the contract in include/guestmem/mapped.h).
 *
 * The fake provider maps at most one 4 KiB page per call (like a grant),
 * refuses page 5 entirely, refuses write mappings of page 3 (a read-only
 * grant), and counts live mappings so every test can check that each map
 * was unmapped exactly once.
 */
#include <string.h>

#include <guestmem/guestmem.h>

#include "check.h"

#define PAGE 0x1000u
#define PAGES 16u

typedef struct fake_provider {
    uint8_t mem[PAGES * PAGE];
    int live;
    int maps;
    uint64_t last_access_len;
} fake_provider;

static void *fake_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write,
                      gm_attrs attrs, void **handle)
{
    fake_provider *f = opaque;
    unsigned int page = (unsigned int)(offset / PAGE);

    (void)attrs;
    if (page >= PAGES || page == 5 || (is_write && page == 3))
        return NULL;
    *len = (*len < PAGE - offset % PAGE ? *len : PAGE - offset % PAGE);
    *handle = (void *)(uintptr_t)(page + 1);
    f->live++;
    f->maps++;
    return f->mem + offset;
}

static void fake_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                       uint64_t access_len)
{
    fake_provider *f = opaque;

    CHECK(handle != NULL && host != NULL && len > 0, "unmap gets what map returned");
    CHECK(access_len <= len, "access_len within the mapping");
    (void)is_write;
    f->last_access_len = access_len;
    f->live--;
}

static const gm_mod_ops fake_ops = { .map = fake_map, .unmap = fake_unmap };

typedef struct fixture {
    gm_system *sys;
    gm_region *root, *mod;
    gm_as *as;
    fake_provider f;
    int logged;
} fixture;

static void count_log(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)level;
    (void)msg;
    (*(int *)opaque)++;
}

static void fixture_init(fixture *fx, const gm_mod_ops *ops)
{
    memset(fx, 0, sizeof(*fx));
    for (unsigned int i = 0; i < sizeof(fx->f.mem); i++)
        fx->f.mem[i] = (uint8_t)(i / PAGE);
    fx->sys = gm_system_new(0);
    gm_system_set_log(fx->sys, count_log, &fx->logged, false);
    fx->root = gm_region_new_container(fx->sys, "root", GM_SIZE_2_64);
    fx->mod = gm_region_new_mapped(fx->sys, "grants", PAGES * PAGE, ops, &fx->f);
    CHECK(fx->mod, "mapped region");
    CHECK(gm_region_add_subregion(fx->root, 0x100000, fx->mod) == 0, "map it");
    fx->as = gm_as_new(fx->sys, fx->root, "dma");
}

static void fixture_fini(fixture *fx)
{
    CHECK(fx->f.live == 0, "every mapping released, %d live", fx->f.live);
    gm_as_free(fx->as);
    gm_region_unref(fx->mod);
    gm_region_unref(fx->root);
    gm_system_free(fx->sys);
}

static void test_rw_across_pages(void)
{
    uint8_t buf[3 * PAGE];
    fixture fx;

    fixture_init(&fx, &fake_ops);
    CHECK(gm_as_read(fx.as, 0x100000 + PAGE / 2, GM_ATTRS_UNSPECIFIED, buf, 2 * PAGE) == GM_OK,
          "read over 3 pages");
    CHECK(buf[0] == 0 && buf[PAGE] == 1 && buf[2 * PAGE - 1] == 2, "data of pages 0-2");
    CHECK(fx.f.maps == 3, "one map per page, got %d", fx.f.maps);
    memset(buf, 0x5a, sizeof(buf));
    CHECK(gm_as_write(fx.as, 0x100000 + 7 * PAGE - 2, GM_ATTRS_UNSPECIFIED, buf, 4) == GM_OK,
          "write across a page boundary");
    CHECK(fx.f.mem[7 * PAGE - 2] == 0x5a && fx.f.mem[7 * PAGE + 1] == 0x5a, "both pages");
    fixture_fini(&fx);
}

static void test_ldst(void)
{
    uint32_t v = 0;
    fixture fx;

    fixture_init(&fx, &fake_ops);
    CHECK(gm_as_st32_le(fx.as, 0x100000 + 7 * PAGE, GM_ATTRS_UNSPECIFIED, 0x11223344) == GM_OK,
          "st32");
    CHECK(gm_as_ld32_le(fx.as, 0x100000 + 7 * PAGE, GM_ATTRS_UNSPECIFIED, &v) == GM_OK &&
              v == 0x11223344, "ld32 %x", v);
    CHECK(gm_as_ld32_le(fx.as, 0x100000 + 8 * PAGE - 2, GM_ATTRS_UNSPECIFIED, &v) == GM_OK &&
              v == 0x08080707, "ld32 straddling pages %x", v);
    fixture_fini(&fx);
}

static void test_refusals(void)
{
    uint8_t buf[2 * PAGE];
    fixture fx;

    fixture_init(&fx, &fake_ops);
    memset(buf, 0xff, sizeof(buf));
    CHECK(gm_as_read(fx.as, 0x100000 + 4 * PAGE, GM_ATTRS_UNSPECIFIED, buf, 2 * PAGE) ==
              GM_ACCESS_ERROR, "page 5 refused");
    CHECK(buf[0] == 4 && buf[PAGE] == 0 && buf[2 * PAGE - 1] == 0,
          "page 4 read, refused page 5 reads as zeros");
    CHECK(gm_as_write(fx.as, 0x100000 + 3 * PAGE, GM_ATTRS_UNSPECIFIED, "x", 1) ==
              GM_ACCESS_ERROR, "read-only page refuses writes");
    CHECK(fx.f.mem[3 * PAGE] == 3, "unchanged");
    CHECK(fx.logged > 0, "guest errors logged");
    fixture_fini(&fx);
}

static void test_map_unmap_by_pointer(void)
{
    uint64_t len = 3 * PAGE, len2 = 64;
    fixture fx;
    uint8_t *p, *q;

    fixture_init(&fx, &fake_ops);
    CHECK(gm_region_set_log(fx.mod, GM_DIRTY_USER, true) == 0, "log the region");
    p = gm_as_map(fx.as, 0x100000 + 9 * PAGE + 8, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p == fx.f.mem + 9 * PAGE + 8 && len == PAGE - 8, "provider mapping, partial length");
    q = gm_as_map(fx.as, 0x100000 + 9 * PAGE + 8, &len2, false, GM_ATTRS_UNSPECIFIED);
    CHECK(q == p && len2 == 64, "same pointer handed out twice");
    p[0] = 0x77;
    gm_as_unmap(fx.as, q, len2, false, 0);
    CHECK(fx.f.live == 1, "one mapping left");
    gm_as_unmap(fx.as, p, len, true, 1);
    CHECK(fx.f.last_access_len == 1 && fx.f.live == 0, "access_len passed to unmap");
    CHECK(gm_region_get_dirty(fx.mod, 9 * PAGE, PAGE, GM_DIRTY_USER), "core marked dirty");
    CHECK(!gm_region_get_dirty(fx.mod, 10 * PAGE, PAGE, GM_DIRTY_USER), "only that page");
    len = PAGE;
    CHECK(!gm_as_map(fx.as, 0x100000 + 5 * PAGE, &len, false, GM_ATTRS_UNSPECIFIED) && !len,
          "refused map is NULL with length 0");
    fixture_fini(&fx);
}

static void test_cache_pins_mapping(void)
{
    gm_cache cache = GM_CACHE_INIT;
    uint16_t v;
    fixture fx;

    fixture_init(&fx, &fake_ops);
    CHECK(gm_cache_init(&cache, fx.as, 0x100000 + 2 * PAGE, 2 * PAGE, true) == PAGE,
          "cache clipped to the mapping");
    CHECK(fx.f.live == 1, "pinned while the cache lives");
    CHECK(gm_cache_st16_le(&cache, 2, 0xbeef) == GM_OK, "store");
    CHECK(gm_cache_ld16_le(&cache, 2, &v) == GM_OK && v == 0xbeef, "load");
    CHECK(gm_cache_ld16_le(&cache, PAGE, &v) == GM_DECODE_ERROR, "beyond refused");
    gm_cache_destroy(&cache);
    CHECK(fx.f.live == 0, "unpinned by destroy");
    CHECK(gm_cache_init(&cache, fx.as, 0x100000 + 5 * PAGE, 8, false) < 0, "refused page");
    gm_cache_destroy(&cache);
    fixture_fini(&fx);
}

static void test_readonly_alias(void)
{
    gm_region *alias;
    fixture fx;

    fixture_init(&fx, &fake_ops);
    alias = gm_region_new_alias(fx.sys, "ro-view", fx.mod, 0, PAGES * PAGE);
    gm_region_set_readonly(alias, true);
    CHECK(gm_region_add_subregion(fx.root, 0x200000, alias) == 0, "map alias");
    CHECK(gm_as_write(fx.as, 0x200000 + 7 * PAGE, GM_ATTRS_UNSPECIFIED, "x", 1) ==
              GM_DECODE_ERROR, "write through read-only alias refused");
    CHECK(fx.f.maps == 0, "provider not even asked");
    gm_region_del_subregion(fx.root, alias);
    gm_region_unref(alias);
    fixture_fini(&fx);
}

static gm_result fake_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                           gm_attrs attrs)
{
    fake_provider *f = opaque;

    (void)attrs;
    if (offset + len > sizeof(f->mem))
        return GM_ACCESS_ERROR;
    memcpy(is_write ? f->mem + offset : buf, is_write ? buf : f->mem + offset, len);
    return GM_OK;
}

static const gm_mod_ops copy_ops = { .map = fake_map, .unmap = fake_unmap, .copy = fake_copy };

static void test_copy_op_preferred(void)
{
    uint8_t buf[2 * PAGE];
    fixture fx;

    fixture_init(&fx, &copy_ops);
    CHECK(gm_as_read(fx.as, 0x100000 + PAGE, GM_ATTRS_UNSPECIFIED, buf, 2 * PAGE) == GM_OK,
          "read");
    CHECK(fx.f.maps == 0 && buf[PAGE] == 2, "copied without mapping");
    fixture_fini(&fx);
}

int main(void)
{
    RUN(test_rw_across_pages);
    RUN(test_ldst);
    RUN(test_refusals);
    RUN(test_map_unmap_by_pointer);
    RUN(test_cache_pins_mapping);
    RUN(test_readonly_alias);
    RUN(test_copy_op_preferred);
    return 0;
}
