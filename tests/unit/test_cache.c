/* SPDX-License-Identifier: MIT */
/*
 * gm_cache: pinned translations of a guest range. Length clipping, inline
 * loads and stores, bounds, MMIO caches, the documented staleness after a
 * topology change, read-only caches, ROM, dirty marking, and init errors.
 */
#include "unit.h"

#include <errno.h>

static uint8_t pattern(gm_addr a)
{
    return (uint8_t)(a * 7 + 3);
}

/* ---- a device that logs its callbacks ----------------------------------------- */

typedef struct dev_call {
    bool write;
    gm_addr addr;
    unsigned int size;
    uint64_t value;
} dev_call;

typedef struct rec_dev {
    bool big;
    dev_call calls[64];
    int n;
} rec_dev;

static uint64_t rec_read(void *opaque, gm_addr addr, unsigned int size)
{
    rec_dev *d = opaque;
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)pattern(addr + i) << (8 * (d->big ? size - 1 - i : i));
    CHECK(d->n < 64, "too many calls");
    d->calls[d->n++] = (dev_call){ false, addr, size, v };
    return v;
}

static void rec_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    rec_dev *d = opaque;

    CHECK(d->n < 64, "too many calls");
    d->calls[d->n++] = (dev_call){ true, addr, size, data };
}

static bool same_calls(const rec_dev *a, const rec_dev *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        if (a->calls[i].write != b->calls[i].write || a->calls[i].addr != b->calls[i].addr ||
            a->calls[i].size != b->calls[i].size || a->calls[i].value != b->calls[i].value)
            return false;
    }
    return true;
}

/* ---- steps ---------------------------------------------------------------------- */

/* The covered length is clipped to the range found at init. */
static void test_init_clips(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;

    fixture_init(&f, 0x100000);
    add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    add_owned(f.root, 0x11000, gm_region_new_ram(f.sys, "next", 0x1000), 0);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10f00, 0x1000, false), 0x100, "clipped");
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x10, false), 0x10, "smaller than region");
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x1000, true), 0x1000, "exactly the region");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* Inline loads and stores of every size and byte order. */
static void test_ld_st(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram;
    uint8_t *host, b = 0, buf[8];
    uint16_t h = 0;
    uint32_t w = 0;
    uint64_t q = 0;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    host = gm_region_get_ram_ptr(ram);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10100, 0x40, true), 0x40, "init");

    CHECK_EQ_U64(gm_cache_st8(&c, 0x0, 0x11), GM_OK, "st8");
    CHECK_EQ_U64(gm_cache_st16_le(&c, 0x2, 0x2233), GM_OK, "st16_le");
    CHECK_EQ_U64(gm_cache_st16_be(&c, 0x4, 0x4455), GM_OK, "st16_be");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 0x8, 0x66778899), GM_OK, "st32_le");
    CHECK_EQ_U64(gm_cache_st32_be(&c, 0xc, 0xaabbccdd), GM_OK, "st32_be");
    CHECK_EQ_U64(gm_cache_st64_le(&c, 0x10, 0x0102030405060708ull), GM_OK, "st64_le");
    CHECK_EQ_U64(gm_cache_st64_be(&c, 0x18, 0x0102030405060708ull), GM_OK, "st64_be");
    CHECK(memcmp(host + 0x100,
                 "\x11\x00\x33\x22\x44\x55\x00\x00\x99\x88\x77\x66\xaa\xbb\xcc\xdd"
                 "\x08\x07\x06\x05\x04\x03\x02\x01\x01\x02\x03\x04\x05\x06\x07\x08",
                 32) == 0, "bytes in RAM");

    CHECK_EQ_U64(gm_cache_ld8(&c, 0x0, &b), GM_OK, "ld8");
    CHECK_EQ_U64(b, 0x11, "ld8 value");
    CHECK_EQ_U64(gm_cache_ld16_le(&c, 0x2, &h), GM_OK, "ld16_le");
    CHECK_EQ_U64(h, 0x2233, "ld16_le value");
    CHECK_EQ_U64(gm_cache_ld16_be(&c, 0x4, &h), GM_OK, "ld16_be");
    CHECK_EQ_U64(h, 0x4455, "ld16_be value");
    CHECK_EQ_U64(gm_cache_ld32_le(&c, 0x8, &w), GM_OK, "ld32_le");
    CHECK_EQ_U64(w, 0x66778899, "ld32_le value");
    CHECK_EQ_U64(gm_cache_ld32_be(&c, 0xc, &w), GM_OK, "ld32_be");
    CHECK_EQ_U64(w, 0xaabbccdd, "ld32_be value");
    CHECK_EQ_U64(gm_cache_ld64_le(&c, 0x10, &q), GM_OK, "ld64_le");
    CHECK_EQ_U64(q, 0x0102030405060708ull, "ld64_le value");
    CHECK_EQ_U64(gm_cache_ld64_be(&c, 0x18, &q), GM_OK, "ld64_be");
    CHECK_EQ_U64(q, 0x0102030405060708ull, "ld64_be value");
    CHECK_EQ_U64(gm_cache_ld32_le(&c, 0x3, &w), GM_OK, "unaligned ld32");
    CHECK_EQ_U64(w, 0x00554422, "unaligned ld32 value");

    /* The cache and the address space see the same memory. */
    CHECK_EQ_U64(gm_as_read(f.as, 0x10108, GM_ATTRS_UNSPECIFIED, buf, 8), GM_OK, "as read");
    CHECK(memcmp(buf, "\x99\x88\x77\x66\xaa\xbb\xcc\xdd", 8) == 0, "same bytes");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* Offsets beyond the cached length fail and never touch memory. */
static void test_out_of_range(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram;
    uint8_t *host, buf[32] = { 1, 2, 3, 4 };
    uint32_t w = 0xffffffff;
    uint16_t h = 0xffff;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    host = gm_region_get_ram_ptr(ram);
    memset(host, 0xcc, 0x1000);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 16, true), 16, "init");

    CHECK_EQ_U64(gm_cache_ld32_le(&c, 14, &w), GM_DECODE_ERROR, "ld32 across the end");
    CHECK_EQ_U64(w, 0, "zero on error");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 14, 0x01020304), GM_DECODE_ERROR, "st32 across the end");
    for (int i = 14; i < 20; i++)
        CHECK_EQ_U64(host[i], 0xcc, "memory untouched");
    CHECK_EQ_U64(gm_cache_ld16_le(&c, UINT64_MAX, &h), GM_DECODE_ERROR, "offset 2^64-1");
    CHECK_EQ_U64(h, 0, "zero on error");
    CHECK_EQ_U64(gm_cache_write(&c, UINT64_MAX - 1, buf, 4), GM_DECODE_ERROR, "wrapping write");
    CHECK_EQ_U64(gm_cache_read(&c, 16, buf, 1), GM_DECODE_ERROR, "one past the end");
    CHECK_EQ_U64(buf[0], 0, "zero on error");
    memset(buf, 0xaa, sizeof(buf));
    CHECK_EQ_U64(gm_cache_read(&c, 0, buf, 17), GM_DECODE_ERROR, "longer than the cache");
    for (int i = 0; i < 17; i++)
        CHECK_EQ_U64(buf[i], 0, "a failed read gives zeros");
    CHECK_EQ_U64(gm_cache_st8(&c, 15, 0x5a), GM_OK, "last byte is fine");
    CHECK_EQ_U64(host[15], 0x5a, "last byte written");
    CHECK_EQ_U64(host[16], 0xcc, "byte after untouched");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] >= 1, "guest error logged");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* gm_cache_ld*() of a constant size against every cache length up to 9 and
 * every offset around the end (cache.h's one-compare bounds). */
static gm_result ld_sized(gm_cache *c, gm_addr off, unsigned int size, uint64_t *v)
{
    uint8_t b8;
    uint16_t b16;
    uint32_t b32;
    gm_result r;

    switch (size) {
    case 1:
        r = gm_cache_ld8(c, off, &b8);
        *v = b8;
        return r;
    case 2:
        r = gm_cache_ld16_le(c, off, &b16);
        *v = b16;
        return r;
    case 4:
        r = gm_cache_ld32_le(c, off, &b32);
        *v = b32;
        return r;
    default:
        return gm_cache_ld64_le(c, off, v);
    }
}

static void test_fast_bounds_every_size(void)
{
    static const gm_addr far[] = { UINT64_MAX, UINT64_MAX - 3, UINT64_MAX - 7, 1ull << 63 };
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram;
    uint8_t *host;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    host = gm_region_get_ram_ptr(ram);
    for (int i = 0; i < 0x1000; i++)
        host[i] = pattern((gm_addr)i);
    for (uint64_t len = 1; len <= 9; len++) {
        CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, len, false), len, "init");
        for (unsigned int size = 1; size <= 8; size *= 2) {
            for (gm_addr off = 0; off <= len + 1; off++) {
                bool inside = off + size <= len;
                uint64_t v = 1, want = 0;

                for (unsigned int i = 0; inside && i < size; i++)
                    want |= (uint64_t)pattern(off + i) << (8 * i);
                CHECK_EQ_U64(ld_sized(&c, off, size, &v), inside ? GM_OK : GM_DECODE_ERROR,
                             "result of an ld");
                CHECK(v == want, "len %" PRIu64 ", %u bytes at %" PRIu64 ": 0x%" PRIx64, len,
                      size, off, v);
            }
            for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
                uint64_t v = 1;

                CHECK_EQ_U64(ld_sized(&c, far[i], size, &v), GM_DECODE_ERROR, "far offset");
                CHECK_EQ_U64(v, 0, "reads as zero");
            }
        }
    }
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* A cache over MMIO goes to the callbacks. */
static void test_mmio_cache(void)
{
    fixture f;
    rec_dev dev = { .big = true };
    gm_region_ops ops = { .read = rec_read, .write = rec_write, .endianness = GM_ENDIAN_BIG };
    gm_cache c = GM_CACHE_INIT;
    uint32_t w = 0;

    fixture_init(&f, 0x100000);
    add_owned(f.root, 0x20000, gm_region_new_io(f.sys, "dev", 0x100, &ops, &dev), 0);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x20010, 0x1000, true), 0xf0, "clipped to the device");
    CHECK(c.ptr == NULL, "no host pointer for MMIO");

    CHECK_EQ_U64(gm_cache_ld32_be(&c, 0x4, &w), GM_OK, "ld32_be");
    CHECK(dev.n == 1 && !dev.calls[0].write && dev.calls[0].addr == 0x14 &&
              dev.calls[0].size == 4, "one 4-byte read at 0x14");
    CHECK_EQ_U64(w, dev.calls[0].value, "big-endian register read unchanged");
    CHECK_EQ_U64(gm_cache_st16_be(&c, 0x8, 0x1234), GM_OK, "st16_be");
    CHECK(dev.n == 2 && dev.calls[1].write && dev.calls[1].addr == 0x18 &&
              dev.calls[1].size == 2 && dev.calls[1].value == 0x1234, "one 2-byte write");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* Documented staleness: topology changes do not refresh a cache; it keeps
 * its region alive and keeps using it. */
static void test_stale_after_topology_change(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram, *repl;
    uint64_t gen;
    uint32_t w = 0;

    fixture_init(&f, 0x100000);
    ram = gm_region_new_ram(f.sys, "ram", 0x1000);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x10000, ram), 0, "add");
    memcpy(gm_region_get_ram_ptr(ram), "\x01\x02\x03\x04", 4);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x1000, true), 0x1000, "init");
    gen = gm_system_generation(f.sys);

    CHECK_EQ_U64(gm_region_del_subregion(f.root, ram), 0, "unmap the RAM");
    gm_region_unref(ram);   /* only the cache holds it now */
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, &w), GM_DECODE_ERROR,
                 "the address space has a hole there");
    repl = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "replacement", 0x1000), 0);
    memcpy(gm_region_get_ram_ptr(repl), "\xaa\xbb\xcc\xdd", 4);
    CHECK(gm_system_generation(f.sys) > gen, "generation moved");

    CHECK_EQ_U64(gm_cache_ld32_le(&c, 0, &w), GM_OK, "stale cache still reads");
    CHECK_EQ_U64(w, 0x04030201, "from the old region");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 4, 0x55667788), GM_OK, "and writes");
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x10004, GM_ATTRS_UNSPECIFIED, &w), GM_OK, "replacement");
    CHECK_EQ_U64(w, 0, "the replacement is not written");

    /* Re-creating the cache picks up the new topology. */
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x1000, false), 0x1000, "re-init");
    CHECK_EQ_U64(gm_cache_ld32_le(&c, 0, &w), GM_OK, "fresh cache");
    CHECK_EQ_U64(w, 0xddccbbaa, "reads the replacement");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* Writes through a cache initialized for reading are refused. */
static void test_read_only_cache(void)
{
    fixture f;
    rec_dev dev = { 0 };
    gm_region_ops ops = { .read = rec_read, .write = rec_write, .endianness = GM_ENDIAN_LITTLE };
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram;
    uint8_t *host;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    add_owned(f.root, 0x20000, gm_region_new_io(f.sys, "dev", 0x100, &ops, &dev), 0);
    host = gm_region_get_ram_ptr(ram);

    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x100, false), 0x100, "read cache on RAM");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 0, 0x12345678), GM_ACCESS_ERROR, "write refused");
    CHECK_EQ_U64(host[0], 0, "RAM unchanged");
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x20000, 0x100, false), 0x100, "read cache on MMIO");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 0, 0x12345678), GM_ACCESS_ERROR, "MMIO write refused");
    CHECK(dev.n == 0, "device not called");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* A cache over ROM reads but refuses writes like the address space does. */
static void test_rom_cache(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *rom;
    uint8_t *host;
    uint32_t w = 0;

    fixture_init(&f, 0x100000);
    rom = add_owned(f.root, 0x10000, gm_region_new_rom(f.sys, "rom", 0x1000), 0);
    host = gm_region_get_ram_ptr(rom);
    memcpy(host, "\x10\x20\x30\x40", 4);

    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x100, true), 0x100, "init for writing");
    CHECK_EQ_U64(gm_cache_ld32_le(&c, 0, &w), GM_OK, "read");
    CHECK_EQ_U64(w, 0x40302010, "ROM contents");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 0, 0xffffffff), GM_DECODE_ERROR, "ROM write refused");
    CHECK(memcmp(host, "\x10\x20\x30\x40", 4) == 0, "ROM unchanged");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] >= 1, "guest error logged");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* Cache stores mark dirty while logging, including logging started after
 * the cache was set up. */
static void test_cache_dirty(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;
    gm_region *ram;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x4000), 0);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x4000, true), 0x4000, "init");

    CHECK_EQ_U64(gm_cache_st32_le(&c, 0x1000, 1), GM_OK, "store before logging");
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "start logging");
    CHECK(!gm_region_get_dirty(ram, 0, 0x4000, GM_DIRTY_VGA), "clean at start");
    CHECK_EQ_U64(gm_cache_st32_le(&c, 0x2004, 2), GM_OK, "store while logging");
    CHECK(gm_region_get_dirty(ram, 0x2000, 0x1000, GM_DIRTY_VGA), "page 2 dirty");
    CHECK(!gm_region_get_dirty(ram, 0x0, 0x2000, GM_DIRTY_VGA), "pages 0-1 clean");
    CHECK(!gm_region_get_dirty(ram, 0x3000, 0x1000, GM_DIRTY_VGA), "page 3 clean");
    CHECK_EQ_U64(gm_cache_st64_le(&c, 0x2ffc, 3), GM_OK, "store across pages 2-3");
    CHECK(gm_region_get_dirty(ram, 0x3000, 0x1000, GM_DIRTY_VGA), "page 3 dirty");

    /* Writes made through the host pointer are marked by invalidate. */
    CHECK(c.ptr != NULL, "RAM cache has a host pointer");
    c.ptr[0x10] = 0x99;
    gm_cache_invalidate(&c, 0x10, 1);
    CHECK(gm_region_get_dirty(ram, 0x0, 0x1000, GM_DIRTY_VGA), "page 0 dirty");
    CHECK(!gm_region_get_dirty(ram, 0x1000, 0x1000, GM_DIRTY_VGA), "page 1 still clean");
    gm_cache_destroy(&c);
    fixture_fini(&f);
}

/* Init errors: a hole gives -EFAULT, length 0 gives -EINVAL. */
static void test_init_errors(void)
{
    fixture f;
    gm_cache c = GM_CACHE_INIT;

    fixture_init(&f, 0x100000);
    add_owned(f.root, 0x10000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x30000, 0x10, false), -EFAULT, "hole");
    CHECK(c.ptr == NULL && c.len == 0 && c.section.mr == NULL, "left empty");
    gm_cache_destroy(&c);
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0x10, false), 0x10, "valid init");
    CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x10000, 0, false), -EINVAL, "length 0");
    CHECK(c.ptr == NULL && c.len == 0 && c.section.mr == NULL,
          "previous translation dropped, left empty");
    gm_cache_destroy(&c);
    gm_cache_destroy(&c);   /* destroying an empty cache is harmless */
    fixture_fini(&f);
}

/* cache.h: gm_cache_ld<N>/st<N> behave "like the gm_as_ld/st family" - for
 * an I/O region that is ONE access of the full size, validated as a whole.
 * Compared on a device that only takes 1..4-byte accesses (an 8-byte load is
 * a decode error) and on one whose callbacks implement 8-byte accesses. */
static void test_mmio_cache_matches_as_ld_st(void)
{
    static const struct {
        unsigned int vmin, vmax, imin, imax;
    } cfg[] = { { 1, 4, 1, 4 }, { 0, 0, 8, 8 } };

    for (size_t k = 0; k < sizeof(cfg) / sizeof(cfg[0]); k++) {
        fixture f;
        rec_dev via_as = { 0 }, via_cache = { 0 };
        gm_region_ops ops = { .read = rec_read, .write = rec_write,
                              .endianness = GM_ENDIAN_LITTLE };
        gm_cache c = GM_CACHE_INIT;
        uint64_t q1 = 0, q2 = 0;
        gm_result r1, r2;

        ops.valid.min_access_size = cfg[k].vmin;
        ops.valid.max_access_size = cfg[k].vmax;
        ops.impl.min_access_size = cfg[k].imin;
        ops.impl.max_access_size = cfg[k].imax;
        fixture_init(&f, 0x100000);
        add_owned(f.root, 0x20000, gm_region_new_io(f.sys, "a", 0x100, &ops, &via_as), 0);
        add_owned(f.root, 0x30000, gm_region_new_io(f.sys, "b", 0x100, &ops, &via_cache), 0);
        CHECK_EQ_U64(gm_cache_init(&c, f.as, 0x30000, 0x100, true), 0x100, "init");

        r1 = gm_as_ld64_le(f.as, 0x20010, GM_ATTRS_UNSPECIFIED, &q1);
        r2 = gm_cache_ld64_le(&c, 0x10, &q2);
        CHECK(r1 == r2, "config %zu: ld64 result: gm_as 0x%x, cache 0x%x", k, r1, r2);
        CHECK_EQ_U64(q2, q1, "ld64 value");
        CHECK(same_calls(&via_as, &via_cache), "config %zu: ld64 callbacks differ (%d vs %d)",
              k, via_as.n, via_cache.n);

        via_as.n = via_cache.n = 0;
        r1 = gm_as_st64_le(f.as, 0x20010, GM_ATTRS_UNSPECIFIED, 0x1122334455667788ull);
        r2 = gm_cache_st64_le(&c, 0x10, 0x1122334455667788ull);
        CHECK(r1 == r2, "config %zu: st64 result: gm_as 0x%x, cache 0x%x", k, r1, r2);
        CHECK(same_calls(&via_as, &via_cache), "config %zu: st64 callbacks differ (%d vs %d)",
              k, via_as.n, via_cache.n);
        gm_cache_destroy(&c);
        fixture_fini(&f);
    }
}

int main(void)
{
    RUN(test_init_clips);
    RUN(test_ld_st);
    RUN(test_out_of_range);
    RUN(test_fast_bounds_every_size);
    RUN(test_mmio_cache);
    RUN(test_stale_after_topology_change);
    RUN(test_read_only_cache);
    RUN(test_rom_cache);
    RUN(test_cache_dirty);
    RUN(test_init_errors);
    RUN(test_mmio_cache_matches_as_ld_st);
    return 0;
}
