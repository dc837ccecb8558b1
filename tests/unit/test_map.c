/* SPDX-License-Identifier: MIT */
/*
 * gm_as_map()/gm_as_unmap(): direct pointers into RAM (and how far they
 * extend), bounce buffers for everything else, the bounce budget and map
 * clients, dirty marking at unmap, holes, and gm_region_from_host().
 */
#include "unit.h"

#include <errno.h>

#define MMIO_BASE 0x20000ull

static uint8_t pattern(gm_addr a)
{
    return (uint8_t)(a * 7 + 3);
}

/* ---- a little-endian device that logs its callbacks ------------------------ */

typedef struct dev_call {
    bool write;
    gm_addr addr;
    unsigned int size;
    uint64_t value;
} dev_call;

typedef struct rec_dev {
    dev_call calls[2048];
    int n;
} rec_dev;

static uint64_t rec_read(void *opaque, gm_addr addr, unsigned int size)
{
    rec_dev *d = opaque;
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)pattern(addr + i) << (8 * i);
    CHECK(d->n < 2048, "too many calls");
    d->calls[d->n++] = (dev_call){ false, addr, size, v };
    return v;
}

static void rec_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    rec_dev *d = opaque;

    CHECK(d->n < 2048, "too many calls");
    d->calls[d->n++] = (dev_call){ true, addr, size, data };
}

static const gm_region_ops rec_ops = {
    .read = rec_read,
    .write = rec_write,
    .endianness = GM_ENDIAN_LITTLE,
};

static gm_region *add_mmio(fixture *f, rec_dev *dev, gm_addr addr, uint64_t size)
{
    return add_owned(f->root, addr, gm_region_new_io(f->sys, "mmio", size, &rec_ops, dev), 0);
}

/* ---- map clients ------------------------------------------------------------ */

static void client_fn(void *opaque)
{
    (*(int *)opaque)++;
}

/* ---- steps ------------------------------------------------------------------- */

/* RAM maps to its host memory, clipped to the region. */
static void test_ram_direct(void)
{
    fixture f;
    gm_region *ram;
    uint8_t *host, *p;
    uint64_t len = 0x100;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x4000), 0);
    host = gm_region_get_ram_ptr(ram);

    p = gm_as_map(f.as, 0x10100, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host + 0x100, "direct pointer");
    CHECK_EQ_U64(len, 0x100, "full length");
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 0, "no bounce buffer");
    gm_as_unmap(f.as, p, len, false, 0);

    len = 0x10000;
    p = gm_as_map(f.as, 0x11000, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host + 0x1000, "direct write pointer");
    CHECK_EQ_U64(len, 0x3000, "clipped at the end of RAM");
    memset(p, 0x42, len);
    gm_as_unmap(f.as, p, len, true, len);
    CHECK_EQ_U64(host[0x3fff], 0x42, "written through the mapping");
    CHECK(f.log.count[GM_LOG_ERROR] == 0 && f.log.count[GM_LOG_GUEST_ERROR] == 0, "quiet");
    fixture_fini(&f);
}

/* A mapping extends over following ranges that continue the same region at
 * contiguous offsets, and stops at anything else. */
static void test_extension(void)
{
    fixture f;
    rec_dev dev = { 0 };
    gm_region *ram, *mid, *x;
    uint8_t *host, *p;
    uint64_t len;
    sec_list l;

    fixture_init(&f, 0x100000);
    ram = gm_region_new_ram(f.sys, "ram", 0x4000);
    host = gm_region_get_ram_ptr(ram);
    add_owned(f.root, 0x0, gm_region_new_alias(f.sys, "whole", ram, 0x0, 0x3000), 0);
    /* An overlapping alias of the same RAM at the same offsets, non-volatile
     * so that it stays a separate range. */
    mid = add_owned(f.root, 0x1000, gm_region_new_alias(f.sys, "mid", ram, 0x1000, 0x1000), 1);
    gm_region_set_nonvolatile(mid, true);
    sec_list_get(f.as, &l);
    CHECK(l.n == 3, "three ranges of the same region: %d", l.n);

    len = 0x3000;
    p = gm_as_map(f.as, 0x0, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host, "direct");
    CHECK_EQ_U64(len, 0x3000, "extends across the three ranges");
    gm_as_unmap(f.as, p, len, false, 0);

    /* A read-only middle range stops a write mapping, not a read mapping. */
    gm_region_set_readonly(mid, true);
    len = 0x3000;
    p = gm_as_map(f.as, 0x0, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host && len == 0x1000, "write mapping stops before read-only: 0x%llx",
          (unsigned long long)len);
    gm_as_unmap(f.as, p, len, true, 0);
    len = 0x3000;
    p = gm_as_map(f.as, 0x0, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host && len == 0x3000, "read mapping goes on");
    gm_as_unmap(f.as, p, len, false, 0);
    gm_region_set_readonly(mid, false);

    /* Non-contiguous offsets stop it. */
    CHECK_EQ_U64(gm_region_set_alias_offset(mid, 0x3000), 0, "move mid's window");
    len = 0x3000;
    p = gm_as_map(f.as, 0x0, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host && len == 0x1000, "stops at a non-contiguous offset");
    gm_as_unmap(f.as, p, len, false, 0);
    CHECK_EQ_U64(gm_region_set_alias_offset(mid, 0x1000), 0, "restore mid's window");

    /* A different region in between stops it; the alias resumes after it. */
    CHECK_EQ_U64(gm_region_del_subregion(f.root, mid), 0, "drop mid");
    x = add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "x", 0x1000, &rec_ops, &dev), 2);
    sec_list_get(f.as, &l);
    CHECK(l.n == 3 && l.s[1].mr == x, "ram x ram");
    len = 0x3000;
    p = gm_as_map(f.as, 0x0, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host && len == 0x1000, "stops at another region");
    gm_as_unmap(f.as, p, len, false, 0);
    len = 0x1000;
    p = gm_as_map(f.as, 0x2000, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p == host + 0x2000 && len == 0x1000, "resumes at the contiguous offset");
    gm_as_unmap(f.as, p, len, false, 0);

    gm_region_unref(ram);
    fixture_fini(&f);
}

/* MMIO read mapping: a bounce buffer filled from the device. */
static void test_bounce_read(void)
{
    fixture f;
    rec_dev dev = { 0 };
    uint8_t *p;
    uint64_t len = 16, off = 0;
    gm_region *mr;

    fixture_init(&f, 0x100000);
    add_mmio(&f, &dev, MMIO_BASE, 0x1000);
    p = gm_as_map(f.as, MMIO_BASE + 0x10, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL, "bounce buffer");
    CHECK_EQ_U64(len, 16, "full length");
    mr = gm_region_from_host(f.sys, p, &off);
    CHECK(mr == NULL, "a bounce buffer is not guest RAM");
    for (int i = 0; i < 16; i++)
        CHECK_EQ_U64(p[i], pattern(0x10 + i), "pre-filled from the device");
    CHECK(dev.n == 4, "four 4-byte reads: %d", dev.n);
    for (int i = 0; i < 4; i++)
        CHECK(!dev.calls[i].write && dev.calls[i].addr == 0x10 + 4 * (gm_addr)i &&
                  dev.calls[i].size == 4, "read %d", i);
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 16, "budget used");
    gm_as_unmap(f.as, p, len, false, 0);
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 0, "budget returned");
    CHECK(dev.n == 4, "unmap of a read mapping writes nothing");
    fixture_fini(&f);
}

/* MMIO write mapping: nothing read at map, access_len bytes written at unmap. */
static void test_bounce_write(void)
{
    fixture f;
    rec_dev dev = { 0 };
    uint8_t *p;
    uint64_t len = 16;

    fixture_init(&f, 0x100000);
    add_mmio(&f, &dev, MMIO_BASE, 0x1000);
    p = gm_as_map(f.as, MMIO_BASE + 0x10, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 16, "bounce buffer for writing");
    CHECK(dev.n == 0, "write mapping is not pre-filled");
    for (int i = 0; i < 16; i++)
        p[i] = (uint8_t)(0xb0 + i);
    gm_as_unmap(f.as, p, len, true, 6);
    CHECK(dev.n == 2, "6 bytes: one 4-byte and one 2-byte write, got %d calls", dev.n);
    CHECK(dev.calls[0].write && dev.calls[0].addr == 0x10 && dev.calls[0].size == 4 &&
              dev.calls[0].value == 0xb3b2b1b0, "first write");
    CHECK(dev.calls[1].write && dev.calls[1].addr == 0x14 && dev.calls[1].size == 2 &&
              dev.calls[1].value == 0xb5b4, "second write");
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 0, "budget returned");
    fixture_fini(&f);
}

/* The default budget is 4096 bytes; map clients fire once when it frees. */
static void test_budget_and_clients(void)
{
    fixture f;
    rec_dev dev = { 0 };
    uint8_t *p, *q;
    uint64_t len = 4096, len2 = 16;
    int fired = 0, other = 0;

    fixture_init(&f, 0x100000);
    add_mmio(&f, &dev, MMIO_BASE, 0x2000);
    p = gm_as_map(f.as, MMIO_BASE, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 4096, "whole default budget");
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 4096, "in use");

    q = gm_as_map(f.as, MMIO_BASE + 0x1000, &len2, true, GM_ATTRS_UNSPECIFIED);
    CHECK(q == NULL, "budget exhausted");
    CHECK_EQ_U64(len2, 0, "length 0 when exhausted");

    CHECK_EQ_U64(gm_as_register_map_client(f.as, client_fn, &fired), 0, "register");
    CHECK_EQ_U64(gm_as_register_map_client(f.as, client_fn, &other), 0, "register other");
    gm_as_unregister_map_client(f.as, client_fn, &other);
    CHECK(fired == 0, "not fired while exhausted");

    gm_as_unmap(f.as, p, len, true, 0);
    CHECK(dev.n == 0, "access_len 0 writes nothing back");
    CHECK(fired == 1, "fired once when budget freed: %d", fired);
    CHECK(other == 0, "unregistered client not fired");

    len2 = 16;
    q = gm_as_map(f.as, MMIO_BASE + 0x1000, &len2, true, GM_ATTRS_UNSPECIFIED);
    CHECK(q != NULL && len2 == 16, "retry succeeds");
    gm_as_unmap(f.as, q, len2, true, 0);
    CHECK(fired == 1, "one-shot: not fired again: %d", fired);

    /* With budget available a registration fires at once. */
    CHECK_EQ_U64(gm_as_register_map_client(f.as, client_fn, &other), 0, "register now");
    CHECK(other == 1, "fired immediately");
    fixture_fini(&f);
}

/* A budget smaller than the request gives a partial mapping. */
static void test_partial_budget(void)
{
    fixture f;
    rec_dev dev = { 0 };
    uint8_t *p, *q;
    uint64_t len = 0x200, len2 = 8;

    fixture_init(&f, 0x100000);
    add_mmio(&f, &dev, MMIO_BASE, 0x1000);
    CHECK_EQ_U64(gm_as_set_bounce_budget(f.as, 0), -EINVAL, "budget 0");
    CHECK_EQ_U64(gm_as_set_bounce_budget(f.as, 100), 0, "budget 100");
    p = gm_as_map(f.as, MMIO_BASE, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL, "partial mapping");
    CHECK_EQ_U64(len, 100, "clipped to the budget");
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 100, "in use");
    for (int i = 0; i < 100; i++)
        CHECK_EQ_U64(p[i], pattern((gm_addr)i), "pre-filled");
    q = gm_as_map(f.as, MMIO_BASE + 0x200, &len2, false, GM_ATTRS_UNSPECIFIED);
    CHECK(q == NULL && len2 == 0, "nothing left");
    gm_as_unmap(f.as, p, len, false, 0);

    /* The bounce buffer is also clipped to the end of the device. */
    len = 0x200;
    p = gm_as_map(f.as, MMIO_BASE + 0xff0, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 0x10, "clipped to the region: 0x%llx", (unsigned long long)len);
    gm_as_unmap(f.as, p, len, false, 0);
    fixture_fini(&f);
}

/* Unmapping a RAM write mapping marks the written bytes dirty. */
static void test_unmap_marks_dirty(void)
{
    fixture f;
    gm_region *ram;
    uint8_t *p;
    uint64_t len = 0x100;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x8000), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, true), 0, "set_log");

    p = gm_as_map(f.as, 0x12000, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 0x100, "map");
    CHECK(!gm_region_get_dirty(ram, 0x2000, 0x1000, GM_DIRTY_USER), "clean before unmap");
    gm_as_unmap(f.as, p, len, true, 0x10);
    CHECK(gm_region_get_dirty(ram, 0x2000, 1, GM_DIRTY_USER), "page 2 dirty");
    CHECK(!gm_region_get_dirty(ram, 0x1000, 0x1000, GM_DIRTY_USER), "page 1 clean");
    CHECK(!gm_region_get_dirty(ram, 0x3000, 0x5000, GM_DIRTY_USER), "pages 3.. clean");

    len = 0x100;
    p = gm_as_map(f.as, 0x14000, &len, false, GM_ATTRS_UNSPECIFIED);
    gm_as_unmap(f.as, p, len, false, 0x100);
    CHECK(!gm_region_get_dirty(ram, 0x4000, 0x1000, GM_DIRTY_USER), "read unmap: clean");
    len = 0x100;
    p = gm_as_map(f.as, 0x15000, &len, true, GM_ATTRS_UNSPECIFIED);
    gm_as_unmap(f.as, p, len, true, 0);
    CHECK(!gm_region_get_dirty(ram, 0x5000, 0x1000, GM_DIRTY_USER), "nothing written: clean");
    fixture_fini(&f);
}

/* A hole maps to nothing. */
static void test_map_hole(void)
{
    fixture f;
    uint64_t len = 0x10;

    fixture_init(&f, 0x100000);
    add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    CHECK(gm_as_map(f.as, 0x90000, &len, false, GM_ATTRS_UNSPECIFIED) == NULL, "hole");
    CHECK_EQ_U64(len, 0, "length 0");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 1, "guest error logged");
    len = 0x10;
    CHECK(gm_as_map(f.as, 0x90000, &len, true, GM_ATTRS_UNSPECIFIED) == NULL, "hole, write");
    CHECK_EQ_U64(len, 0, "length 0");
    fixture_fini(&f);
}

/* gm_region_from_host finds the RAM region of a host pointer. */
static void test_region_from_host(void)
{
    fixture f;
    gm_region *ram, *found;
    uint8_t *host;
    int on_stack = 0;
    gm_addr off = 0;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x2000), 0);
    host = gm_region_get_ram_ptr(ram);

    found = gm_region_from_host(f.sys, host + 0x1234, &off);
    CHECK(found == ram, "inside RAM");
    CHECK_EQ_U64(off, 0x1234, "offset");
    gm_region_unref(found);
    found = gm_region_from_host(f.sys, host, &off);
    CHECK(found == ram && off == 0, "first byte");
    gm_region_unref(found);
    found = gm_region_from_host(f.sys, host + 0x1fff, &off);
    CHECK(found == ram && off == 0x1fff, "last byte");
    gm_region_unref(found);
    CHECK(gm_region_from_host(f.sys, host + 0x2000, &off) == NULL, "one past the end");
    CHECK(gm_region_from_host(f.sys, &on_stack, &off) == NULL, "not guest RAM");
    fixture_fini(&f);
}

/* A bounce mapping whose first device access would be refused fails. */
static void test_map_refused_first_piece(void)
{
    fixture f;
    rec_dev dev = { 0 };
    gm_region_ops ops = rec_ops;
    uint64_t len = 16;
    int on_stack = 0;
    void *p;

    ops.valid.min_access_size = 4;
    ops.valid.max_access_size = 4;
    fixture_init(&f, 0x100000);
    add_owned(f.root, MMIO_BASE, gm_region_new_io(f.sys, "strict", 0x100, &ops, &dev), 0);
    CHECK(gm_as_map(f.as, MMIO_BASE + 1, &len, false, GM_ATTRS_UNSPECIFIED) == NULL,
          "unaligned first piece refused");
    CHECK_EQ_U64(len, 0, "length 0");
    CHECK_EQ_U64(gm_as_bounce_in_use(f.as), 0, "no budget taken");
    CHECK(dev.n == 0, "device not called");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 1, "guest error logged");
    len = 16;
    p = gm_as_map(f.as, MMIO_BASE + 4, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 16, "aligned map works");
    CHECK(dev.n == 4, "four 4-byte reads");
    gm_as_unmap(f.as, p, len, false, 0);

    /* Unmapping something that was never mapped is reported and ignored. */
    gm_as_unmap(f.as, &on_stack, 4, true, 4);
    CHECK(f.log.count[GM_LOG_ERROR] == 1, "unknown pointer reported");
    fixture_fini(&f);
}

/* A mapping keeps its RAM alive after the region leaves the tree and its
 * creator drops it (ASan checks the accesses below). */
static void test_mapping_keeps_region(void)
{
    fixture f;
    gm_region *ram;
    uint8_t *p;
    uint64_t len = 0x100;
    uint32_t w = 0;

    fixture_init(&f, 0x100000);
    ram = gm_region_new_ram(f.sys, "ram", 0x1000);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x10000, ram), 0, "add");
    p = gm_as_map(f.as, 0x10000, &len, true, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL && len == 0x100, "map");
    CHECK_EQ_U64(gm_region_del_subregion(f.root, ram), 0, "del");
    gm_region_unref(ram);
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, &w), GM_DECODE_ERROR,
                 "gone from the address space");
    memset(p, 0x5a, len);
    CHECK_EQ_U64(p[0xff], 0x5a, "mapping still usable");
    gm_as_unmap(f.as, p, len, true, len);
    CHECK(f.log.count[GM_LOG_ERROR] == 0, "unmap found the region");
    fixture_fini(&f);
}

/* A device as large as the whole 64-bit space maps at its first byte. */
static void test_bounce_2_64_region(void)
{
    fixture f;
    rec_dev dev = { 0 };
    uint8_t *p;
    uint64_t len = 16;

    fixture_init(&f, GM_SIZE_2_64);
    add_mmio(&f, &dev, 0x0, GM_SIZE_2_64);
    p = gm_as_map(f.as, 0x0, &len, false, GM_ATTRS_UNSPECIFIED);
    CHECK(p != NULL, "bounce buffer at address 0 of a 2^64-byte device");
    CHECK_EQ_U64(len, 16, "full length");
    for (int i = 0; i < 16; i++)
        CHECK_EQ_U64(p[i], pattern((gm_addr)i), "pre-filled");
    gm_as_unmap(f.as, p, len, false, 0);
    fixture_fini(&f);
}

int main(void)
{
    RUN(test_ram_direct);
    RUN(test_extension);
    RUN(test_bounce_read);
    RUN(test_bounce_write);
    RUN(test_budget_and_clients);
    RUN(test_partial_budget);
    RUN(test_unmap_marks_dirty);
    RUN(test_map_hole);
    RUN(test_region_from_host);
    RUN(test_mapping_keeps_region);
    RUN(test_map_refused_first_piece);
    RUN(test_bounce_2_64_region);
    return 0;
}
