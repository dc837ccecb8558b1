/* SPDX-License-Identifier: MIT */
/*
 * DMA re-entrancy: a device whose callback accesses its own registers gets
 * GM_ACCESS_ERROR for the inner access (and the callback is not re-entered);
 * another device, or a region that opted out, may be accessed; and a chain
 * of devices DMAing into each other stops at 16 levels.
 */
#include "unit.h"

/* A device whose write callback writes 4 bytes to @target_addr (once). */
typedef struct dma_dev {
    gm_as *as;
    gm_addr target_addr;
    bool dma_on_write;
    bool dma_on_read;
    int depth;          /* callbacks of this device currently running */
    int max_depth;
    int writes;
    int reads;
    gm_result inner;    /* result of the callback's own access */
    uint8_t inner_buf[4];
} dma_dev;

static void dma_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    dma_dev *d = opaque;
    uint8_t buf[4] = { 1, 2, 3, 4 };

    (void)addr;
    (void)data;
    (void)size;
    d->writes++;
    if (++d->depth > d->max_depth)
        d->max_depth = d->depth;
    if (d->dma_on_write) {
        d->dma_on_write = false;
        d->inner = gm_as_write(d->as, d->target_addr, GM_ATTRS_UNSPECIFIED, buf, 4);
    }
    d->depth--;
}

static uint64_t dma_read(void *opaque, gm_addr addr, unsigned int size)
{
    dma_dev *d = opaque;

    (void)addr;
    (void)size;
    d->reads++;
    if (++d->depth > d->max_depth)
        d->max_depth = d->depth;
    if (d->dma_on_read) {
        d->dma_on_read = false;
        memset(d->inner_buf, 0xaa, sizeof(d->inner_buf));
        d->inner = gm_as_read(d->as, d->target_addr, GM_ATTRS_UNSPECIFIED, d->inner_buf, 4);
    }
    d->depth--;
    return 0x11223344;
}

static const gm_region_ops dma_ops = {
    .read = dma_read,
    .write = dma_write,
    .endianness = GM_ENDIAN_LITTLE,
};

static gm_region *add_dev(fixture *f, const char *name, gm_addr addr, dma_dev *d,
                          gm_reentrancy_guard *guard)
{
    gm_region *mr = gm_region_new_io(f->sys, name, 0x100, &dma_ops, d);

    CHECK(mr != NULL, "new_io");
    gm_region_set_guard(mr, guard);
    d->as = f->as;
    return add_owned(f->root, addr, mr, 0);
}

/* A device writing (and reading) its own registers from its callback. */
static void test_same_guard_blocked(void)
{
    fixture f;
    gm_reentrancy_guard guard = { 0 };
    dma_dev d = { .target_addr = 0x10008, .dma_on_write = true };
    uint32_t v = 0;

    fixture_init(&f, 0x100000);
    add_dev(&f, "dev", 0x10000, &d, &guard);

    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, 0), GM_OK, "outer write");
    CHECK_EQ_U64(d.inner, GM_ACCESS_ERROR, "inner write refused");
    CHECK(d.writes == 1 && d.max_depth == 1, "callback not re-entered (%d writes)", d.writes);
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 1, "guest error logged");
    CHECK(strstr(f.log.last, "dev") != NULL, "log names the region: %s", f.log.last);

    d.dma_on_read = true;
    d.inner = GM_OK;
    CHECK_EQ_U64(gm_as_ld32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, &v), GM_OK, "outer read");
    CHECK_EQ_U64(v, 0x11223344, "outer read value");
    CHECK_EQ_U64(d.inner, GM_ACCESS_ERROR, "inner read refused");
    CHECK(d.reads == 1, "read callback not re-entered");
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(d.inner_buf[i], 0, "refused read gives zeros");

    /* Once the outer access is over the device is accessible again. */
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x10008, GM_ATTRS_UNSPECIFIED, 0), GM_OK, "later write");
    CHECK(d.writes == 2, "later write reached the device");
    fixture_fini(&f);
}

/* Two regions of one device share its guard: they block each other. */
static void test_sibling_region_blocked(void)
{
    fixture f;
    gm_reentrancy_guard guard = { 0 };
    dma_dev bar0 = { .target_addr = 0x20000, .dma_on_write = true }, bar1 = { 0 };

    fixture_init(&f, 0x100000);
    add_dev(&f, "bar0", 0x10000, &bar0, &guard);
    add_dev(&f, "bar1", 0x20000, &bar1, &guard);
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, 0), GM_OK, "outer write");
    CHECK_EQ_U64(bar0.inner, GM_ACCESS_ERROR, "write into the sibling BAR refused");
    CHECK(bar1.writes == 0, "sibling not called");
    fixture_fini(&f);
}

/* Different devices (different guards) may access each other. */
static void test_different_guards_allowed(void)
{
    fixture f;
    gm_reentrancy_guard ga = { 0 }, gb = { 0 };
    dma_dev a = { .target_addr = 0x20000, .dma_on_write = true }, b = { 0 };

    fixture_init(&f, 0x100000);
    add_dev(&f, "a", 0x10000, &a, &ga);
    add_dev(&f, "b", 0x20000, &b, &gb);
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, 0), GM_OK, "outer write");
    CHECK_EQ_U64(a.inner, GM_OK, "write into another device allowed");
    CHECK(b.writes == 1, "other device called");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 0, "no guest error");
    fixture_fini(&f);
}

/* A region that opted out of its guard may be re-entered. */
static void test_guard_disabled_allowed(void)
{
    fixture f;
    gm_reentrancy_guard guard = { 0 };
    dma_dev d = { .target_addr = 0x10008, .dma_on_write = true };
    dma_dev bar0 = { .target_addr = 0x30000, .dma_on_write = true }, bar1 = { 0 };
    gm_region *mr, *open_bar;

    fixture_init(&f, 0x100000);
    mr = add_dev(&f, "dev", 0x10000, &d, &guard);
    gm_region_set_guard_disabled(mr, true);
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, 0), GM_OK, "outer write");
    CHECK_EQ_U64(d.inner, GM_OK, "re-entry allowed");
    CHECK(d.writes == 2 && d.max_depth == 2, "callback re-entered once");

    /* Only the opted-out region is open: its guarded sibling is not. */
    add_dev(&f, "bar0", 0x20000, &bar0, &guard);
    open_bar = add_dev(&f, "bar1", 0x30000, &bar1, &guard);
    gm_region_set_guard_disabled(open_bar, true);
    CHECK_EQ_U64(gm_as_st32_le(f.as, 0x20000, GM_ATTRS_UNSPECIFIED, 0), GM_OK, "outer write");
    CHECK_EQ_U64(bar0.inner, GM_OK, "write into the opted-out sibling allowed");
    CHECK(bar1.writes == 1, "opted-out sibling called");
    fixture_fini(&f);
}

/* ---- a chain of devices, each DMAing into the next ------------------------------- */

#define CHAIN 20

typedef struct chain_dev {
    gm_as *as;
    int index;
    int calls;
    gm_result inner;
} chain_dev;

static chain_dev chain[CHAIN];

static gm_result chain_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size,
                             gm_attrs attrs)
{
    chain_dev *d = opaque;
    uint8_t b = 0;

    (void)addr;
    (void)data;
    (void)size;
    d->calls++;
    if (d->index + 1 >= CHAIN)
        return GM_OK;
    d->inner = gm_as_write(d->as, 0x10000 + (gm_addr)(d->index + 1) * 0x1000, attrs, &b, 1);
    return d->inner;
}

static const gm_region_ops chain_ops = {
    .write_with_attrs = chain_write,
    .endianness = GM_ENDIAN_LITTLE,
};

/* Nesting deeper than 16 I/O callbacks is refused, without a crash. */
static void test_nesting_limit(void)
{
    fixture f;
    gm_reentrancy_guard guards[CHAIN];
    uint8_t b = 0;

    fixture_init(&f, 0x100000);
    memset(guards, 0, sizeof(guards));
    for (int i = 0; i < CHAIN; i++) {
        gm_region *mr = gm_region_new_io(f.sys, "link", 0x100, &chain_ops, &chain[i]);

        chain[i] = (chain_dev){ .as = f.as, .index = i };
        CHECK(mr != NULL, "new_io");
        gm_region_set_guard(mr, &guards[i]);
        add_owned(f.root, 0x10000 + (gm_addr)i * 0x1000, mr, 0);
    }

    for (int round = 0; round < 2; round++) {
        log_capture_reset(&f.log);
        for (int i = 0; i < CHAIN; i++)
            chain[i].calls = 0;
        CHECK_EQ_U64(gm_as_write(f.as, 0x10000, GM_ATTRS_UNSPECIFIED, &b, 1), GM_ACCESS_ERROR,
                     "the refusal propagates back");
        for (int i = 0; i < CHAIN; i++)
            CHECK(chain[i].calls == (i < 16 ? 1 : 0), "round %d: device %d called %d times",
                  round, i, chain[i].calls);
        CHECK_EQ_U64(chain[15].inner, GM_ACCESS_ERROR, "the 17th level is refused");
        CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 1, "guest error logged");
    }

    /* The nesting state unwound: a plain access works. */
    CHECK_EQ_U64(gm_as_write(f.as, 0x10000 + 19 * 0x1000, GM_ATTRS_UNSPECIFIED, &b, 1), GM_OK,
                 "plain access after the chain");
    fixture_fini(&f);
}

int main(void)
{
    RUN(test_same_guard_blocked);
    RUN(test_sibling_region_blocked);
    RUN(test_different_guards_allowed);
    RUN(test_guard_disabled_allowed);
    RUN(test_nesting_limit);
    return 0;
}
