/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking: which write paths set bits, get/reset, snapshot-and-clear,
 * global tracking for migration, and independence of the clients.
 */
#include "unit.h"

#include <errno.h>

#define PAGE GM_DIRTY_PAGE_SIZE
#define RAM_BASE 0x100000ull

static bool page_dirty(gm_region *mr, unsigned int page, enum gm_dirty_client client)
{
    return gm_region_get_dirty(mr, (gm_addr)page * PAGE, PAGE, client);
}

/* Every write path sets the bits of the pages it wrote; reads set none. */
static void test_write_paths(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram;
    uint8_t buf[16] = { 1 }, *p;
    uint64_t len = 16;
    uint32_t w;

    fixture_init(&f, 0x1000000);
    ram = add_owned(f.root, RAM_BASE, gm_region_new_ram(f.sys, "ram", 16 * PAGE), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "set_log");

    CHECK_EQ_U64(gm_as_write(f.as, RAM_BASE + 1 * PAGE + 8, GM_ATTRS_UNSPECIFIED, buf, 16),
                 GM_OK, "gm_as_write");
    CHECK_EQ_U64(gm_as_st32_le(f.as, RAM_BASE + 3 * PAGE, GM_ATTRS_UNSPECIFIED, 7), GM_OK, "st");
    p = gm_as_map(f.as, RAM_BASE + 5 * PAGE, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 16, "map");
    memset(p, 3, 16);
    gm_as_unmap(f.as, p, len, true, 16);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, RAM_BASE + 7 * PAGE, PAGE, true), PAGE, "cache");
    CHECK_EQ_U64(gm_cache_st16_le(&c, 0x10, 9), GM_OK, "cache store");
    gm_cache_destroy(&c);
    CHECK_EQ_U64(gm_as_fill(f.as, RAM_BASE + 9 * PAGE + 100, GM_ATTRS_UNSPECIFIED, 0xff, 10),
                 GM_OK, "fill");
    gm_region_set_dirty(ram, 11 * PAGE + 5, 1);

    /* Reads never dirty. */
    CHECK_EQ_U64(gm_as_read(f.as, RAM_BASE + 13 * PAGE, GM_ATTRS_UNSPECIFIED, buf, 16), GM_OK,
                 "read");
    CHECK_EQ_U64(gm_as_ld32_le(f.as, RAM_BASE + 13 * PAGE, GM_ATTRS_UNSPECIFIED, &w), GM_OK,
                 "ld");

    for (unsigned int page = 0; page < 16; page++) {
        bool want = page == 1 || page == 3 || page == 5 || page == 7 || page == 9 || page == 11;

        CHECK(page_dirty(ram, page, GM_DIRTY_VGA) == want, "page %u dirty should be %d", page,
              want);
        CHECK(!page_dirty(ram, page, GM_DIRTY_USER), "USER never logged: page %u", page);
        CHECK(!page_dirty(ram, page, GM_DIRTY_MIGRATION), "MIGRATION not logged: page %u", page);
    }
    fixture_fini(&f);
}

/* A write across a page boundary dirties both pages; get/reset by range. */
static void test_get_reset(void)
{
    fixture f;
    gm_region *ram;
    uint8_t buf[8] = { 0 };

    fixture_init(&f, 0x1000000);
    ram = add_owned(f.root, RAM_BASE, gm_region_new_ram(f.sys, "ram", 8 * PAGE), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, true), 0, "set_log");

    CHECK_EQ_U64(gm_as_write(f.as, RAM_BASE + 2 * PAGE - 4, GM_ATTRS_UNSPECIFIED, buf, 8), GM_OK,
                 "write across pages 1-2");
    CHECK(page_dirty(ram, 1, GM_DIRTY_USER) && page_dirty(ram, 2, GM_DIRTY_USER), "1 and 2");
    CHECK(!page_dirty(ram, 0, GM_DIRTY_USER) && !page_dirty(ram, 3, GM_DIRTY_USER), "0 and 3");
    CHECK(gm_region_get_dirty(ram, 0, 8 * PAGE, GM_DIRTY_USER), "whole region");
    CHECK(gm_region_get_dirty(ram, 2 * PAGE + 0x800, 1, GM_DIRTY_USER), "any byte of page 2");
    CHECK(!gm_region_get_dirty(ram, 0, 0, GM_DIRTY_USER), "empty range");
    CHECK(!gm_region_get_dirty(ram, 8 * PAGE, PAGE, GM_DIRTY_USER), "beyond the region");

    gm_region_reset_dirty(ram, PAGE, 1, GM_DIRTY_USER);
    CHECK(!page_dirty(ram, 1, GM_DIRTY_USER), "page 1 reset");
    CHECK(page_dirty(ram, 2, GM_DIRTY_USER), "page 2 untouched by the reset");
    gm_region_reset_dirty(ram, 0, 8 * PAGE, GM_DIRTY_USER);
    CHECK(!gm_region_get_dirty(ram, 0, 8 * PAGE, GM_DIRTY_USER), "all reset");
    fixture_fini(&f);
}

/* Snapshot-and-clear takes the bits of the pages the range touches. */
static void test_snapshot_and_clear(void)
{
    fixture f;
    gm_region *ram, *dev;
    gm_dirty_snapshot *snap;

    fixture_init(&f, 0x1000000);
    ram = add_owned(f.root, RAM_BASE, gm_region_new_ram(f.sys, "ram", 8 * PAGE), 0);
    dev = add_owned(f.root, 0x10000, gm_region_new_io(f.sys, "dev", 0x100, &null_ops, NULL), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "set_log");
    gm_region_set_dirty(ram, 1 * PAGE, 1);
    gm_region_set_dirty(ram, 2 * PAGE + 0xfff, 1);
    gm_region_set_dirty(ram, 5 * PAGE, PAGE);

    /* [0x1800, 0x2800) touches pages 1 and 2. */
    snap = gm_region_snapshot_and_clear_dirty(ram, PAGE + 0x800, PAGE, GM_DIRTY_VGA);
    CHECK(snap != NULL, "snapshot");
    CHECK(gm_dirty_snapshot_get_dirty(snap, PAGE, 1), "page 1 in the snapshot");
    CHECK(gm_dirty_snapshot_get_dirty(snap, 2 * PAGE + 0xfff, 1), "page 2 in the snapshot");
    CHECK(gm_dirty_snapshot_get_dirty(snap, 0, 8 * PAGE), "whole range");
    CHECK(!gm_dirty_snapshot_get_dirty(snap, 5 * PAGE, PAGE), "page 5 outside: clean");
    CHECK(!gm_dirty_snapshot_get_dirty(snap, 3 * PAGE, PAGE), "page 3 clean");
    CHECK(!page_dirty(ram, 1, GM_DIRTY_VGA) && !page_dirty(ram, 2, GM_DIRTY_VGA),
          "pages 1-2 cleared");
    CHECK(page_dirty(ram, 5, GM_DIRTY_VGA), "page 5 kept");
    gm_dirty_snapshot_free(snap);

    /* One byte in the middle of a page takes the whole page. */
    snap = gm_region_snapshot_and_clear_dirty(ram, 5 * PAGE + 0x123, 1, GM_DIRTY_VGA);
    CHECK(snap != NULL, "snapshot of one byte");
    CHECK(gm_dirty_snapshot_get_dirty(snap, 5 * PAGE, 1), "page 5 in the snapshot");
    CHECK(!page_dirty(ram, 5, GM_DIRTY_VGA), "page 5 cleared");
    gm_dirty_snapshot_free(snap);

    /* A client that never logged: an empty snapshot. */
    snap = gm_region_snapshot_and_clear_dirty(ram, 0, 8 * PAGE, GM_DIRTY_USER);
    CHECK(snap != NULL && !gm_dirty_snapshot_get_dirty(snap, 0, 8 * PAGE), "empty snapshot");
    gm_dirty_snapshot_free(snap);
    gm_dirty_snapshot_free(NULL);

    errno = 0;
    CHECK(gm_region_snapshot_and_clear_dirty(ram, 0, PAGE, GM_DIRTY_NUM) == NULL &&
              errno == EINVAL, "bad client: EINVAL");
    errno = 0;
    CHECK(gm_region_snapshot_and_clear_dirty(dev, 0, PAGE, GM_DIRTY_VGA) == NULL &&
              errno == EINVAL, "not RAM: EINVAL");
    CHECK_EQ_U64(gm_region_set_log(dev, GM_DIRTY_VGA, true), -EINVAL, "set_log on I/O");
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_NUM, true), -EINVAL, "set_log bad client");
    fixture_fini(&f);
}

static uint8_t section_mask(gm_as *as, gm_region *mr)
{
    sec_list l;

    sec_list_get(as, &l);
    for (int i = 0; i < l.n; i++) {
        if (l.s[i].mr == mr)
            return l.s[i].dirty_log_mask;
    }
    CHECK(false, "no section of '%s'", gm_region_name(mr));
    return 0;
}

/* Global tracking: every RAM region logs for migration, also RAM created
 * while it is on; stopping it ends that. */
static void test_global(void)
{
    fixture f;
    gm_region *ram, *late;
    uint8_t b = 1;

    fixture_init(&f, 0x1000000);
    ram = add_owned(f.root, RAM_BASE, gm_region_new_ram(f.sys, "ram", 4 * PAGE), 0);
    CHECK_EQ_U64(section_mask(f.as, ram), 0, "no logging yet");

    CHECK_EQ_U64(gm_system_log_global_start(f.sys), 0, "global start");
    CHECK_EQ_U64(section_mask(f.as, ram), 1u << GM_DIRTY_MIGRATION, "ram logs for migration");
    CHECK_EQ_U64(gm_as_write(f.as, RAM_BASE + 2 * PAGE, GM_ATTRS_UNSPECIFIED, &b, 1), GM_OK,
                 "write");
    CHECK(page_dirty(ram, 2, GM_DIRTY_MIGRATION), "migration bit set");
    CHECK(!page_dirty(ram, 1, GM_DIRTY_MIGRATION), "other page clean");

    late = add_owned(f.root, RAM_BASE + 0x10000, gm_region_new_ram(f.sys, "late", PAGE), 0);
    CHECK_EQ_U64(section_mask(f.as, late), 1u << GM_DIRTY_MIGRATION, "new RAM logs too");
    CHECK_EQ_U64(gm_as_st8(f.as, RAM_BASE + 0x10000, GM_ATTRS_UNSPECIFIED, 2), GM_OK, "st8");
    CHECK(page_dirty(late, 0, GM_DIRTY_MIGRATION), "new RAM dirty");

    gm_system_log_global_stop(f.sys);
    CHECK_EQ_U64(section_mask(f.as, ram), 0, "ram stopped logging");
    CHECK_EQ_U64(section_mask(f.as, late), 0, "late stopped logging");
    gm_region_reset_dirty(ram, 0, 4 * PAGE, GM_DIRTY_MIGRATION);
    CHECK_EQ_U64(gm_as_write(f.as, RAM_BASE + 3 * PAGE, GM_ATTRS_UNSPECIFIED, &b, 1), GM_OK,
                 "write after stop");
    CHECK(!page_dirty(ram, 3, GM_DIRTY_MIGRATION), "no migration bit after stop");

    /* A client's own migration logging survives the global stop. */
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_MIGRATION, true), 0, "explicit log");
    CHECK_EQ_U64(gm_system_log_global_start(f.sys), 0, "start again");
    gm_system_log_global_stop(f.sys);
    CHECK_EQ_U64(section_mask(f.as, ram), 1u << GM_DIRTY_MIGRATION, "explicit log kept");
    CHECK_EQ_U64(section_mask(f.as, late), 0, "late not logging");
    fixture_fini(&f);
}

/* Clients have their own bits. */
static void test_clients_independent(void)
{
    fixture f;
    gm_region *ram;
    uint8_t b = 1;

    fixture_init(&f, 0x1000000);
    ram = add_owned(f.root, RAM_BASE, gm_region_new_ram(f.sys, "ram", 4 * PAGE), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "log VGA");
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, true), 0, "log USER");
    CHECK_EQ_U64(section_mask(f.as, ram), (1u << GM_DIRTY_VGA) | (1u << GM_DIRTY_USER), "mask");

    CHECK_EQ_U64(gm_as_write(f.as, RAM_BASE, GM_ATTRS_UNSPECIFIED, &b, 1), GM_OK, "write");
    CHECK(page_dirty(ram, 0, GM_DIRTY_VGA) && page_dirty(ram, 0, GM_DIRTY_USER), "both");
    CHECK(!page_dirty(ram, 0, GM_DIRTY_MIGRATION), "not migration");
    gm_region_reset_dirty(ram, 0, PAGE, GM_DIRTY_VGA);
    CHECK(!page_dirty(ram, 0, GM_DIRTY_VGA), "VGA reset");
    CHECK(page_dirty(ram, 0, GM_DIRTY_USER), "USER kept");

    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, false), 0, "stop USER");
    CHECK_EQ_U64(gm_as_write(f.as, RAM_BASE + 2 * PAGE, GM_ATTRS_UNSPECIFIED, &b, 1), GM_OK,
                 "write");
    CHECK(page_dirty(ram, 2, GM_DIRTY_VGA), "VGA logs");
    CHECK(!page_dirty(ram, 2, GM_DIRTY_USER), "USER no longer logs");
    fixture_fini(&f);
}

int main(void)
{
    RUN(test_write_paths);
    RUN(test_get_reset);
    RUN(test_snapshot_and_clear);
    RUN(test_global);
    RUN(test_clients_independent);
    return 0;
}
