/* SPDX-License-Identifier: MIT */
/*
 * End-to-end smoke test of the public API: build QEMU's memory.rst overlap
 * example, check its flat view, and run one access of each kind through it.
 * The detailed per-concept tests live in tests/unit.
 */
#include <string.h>

#include <guestmem/guestmem.h>

#include "check.h"

static uint64_t io_read(void *opaque, gm_addr addr, unsigned int size)
{
    (void)opaque;
    (void)size;
    return 0x1000 + addr;
}

static void io_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)data;
    (void)size;
}

static const gm_region_ops io_ops = { .read = io_read, .write = io_write };

typedef struct expect_section {
    const char *name;
    gm_addr start;
    uint64_t size;
    gm_addr offset;
} expect_section;

static const expect_section overlap_view[] = {
    { "C", 0x0000, 0x2000, 0x0000 }, { "D", 0x2000, 0x1000, 0x0000 },
    { "C", 0x3000, 0x1000, 0x3000 }, { "E", 0x4000, 0x1000, 0x0000 },
    { "C", 0x5000, 0x1000, 0x5000 },
};

static int check_section(void *opaque, const gm_section *s)
{
    size_t *i = opaque;
    const expect_section *e = &overlap_view[*i];

    CHECK(*i < 5, "more sections than expected");
    CHECK(strcmp(gm_region_name(s->mr), e->name) == 0, "section %zu is %s", *i,
          gm_region_name(s->mr));
    CHECK_EQ_U64(s->offset_within_address_space, e->start, "start");
    CHECK_EQ_U64(s->size, e->size, "size");
    CHECK_EQ_U64(s->offset_within_region, e->offset, "offset in region");
    (*i)++;
    return 0;
}

int main(void)
{
    gm_system *sys = gm_system_new(0);
    gm_region *a = gm_region_new_container(sys, "A", 0x8000);
    gm_region *b = gm_region_new_container(sys, "B", 0x4000);
    gm_region *c = gm_region_new_io(sys, "C", 0x6000, &io_ops, NULL);
    gm_region *d = gm_region_new_ram(sys, "D", 0x1000);
    gm_region *e = gm_region_new_ram(sys, "E", 0x1000);
    gm_attrs attrs = GM_ATTRS_UNSPECIFIED;
    size_t n = 0;
    uint32_t v = 0;
    uint8_t buf[16];
    gm_as *as;

    CHECK(gm_region_add_subregion_overlap(a, 0x2000, b, 2) == 0, "add B");
    CHECK(gm_region_add_subregion_overlap(a, 0, c, 1) == 0, "add C");
    CHECK(gm_region_add_subregion(b, 0, d) == 0, "add D");
    CHECK(gm_region_add_subregion(b, 0x2000, e) == 0, "add E");
    as = gm_as_new(sys, a, "memory");
    CHECK(as != NULL, "address space");

    gm_as_for_each_section(as, check_section, &n);
    CHECK(n == 5, "5 sections, got %zu", n);

    CHECK(gm_as_st32_le(as, 0x2004, attrs, 0xdeadbeef) == GM_OK, "store to D");
    CHECK(gm_as_ld32_le(as, 0x2004, attrs, &v) == GM_OK && v == 0xdeadbeef, "load from D");
    CHECK(gm_as_ld32_le(as, 0x3000, attrs, &v) == GM_OK && v == 0x4000, "C at 0x3000, got %x",
          v);
    memset(buf, 0xff, sizeof(buf));
    CHECK(gm_as_read(as, 0x7ff8, attrs, buf, 16) == GM_DECODE_ERROR, "hole");
    CHECK(buf[0] == 0 && buf[15] == 0, "hole reads as zeros");

    gm_as_free(as);
    gm_region_unref(a);
    gm_region_unref(b);
    gm_region_unref(c);
    gm_region_unref(d);
    gm_region_unref(e);
    gm_system_free(sys);
    printf("ok - smoke\n");
    return 0;
}
