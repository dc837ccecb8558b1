/* SPDX-License-Identifier: MIT */
/*
 * The most-recently-used range of dispatch (src/core/dispatch.c): a hit
 * must only ever name a range of the flat view being accessed.
 *
 * White-box: the steps look at the calling thread's MRU slot and the
 * views' dispatch ids (core/internal.h) to show that the situation each
 * step is about really arises (the slot holding a key of the previous or
 * of a freed view), then check what the public API returns.
 * Use of a freed view's keys is caught by the ASan build of this program;
 * the concurrent step runs under ThreadSanitizer in scripts/tsan.sh.
 *
 *   test_mru [ROTATIONS]    (the concurrent step's topology changes)
 */
#include "unit.h"

#include <pthread.h>

#include "core/internal.h"

#define PAGE 0x1000u

/* A RAM region of @size bytes, every byte @fill. Referenced by the caller. */
static gm_region *ram_filled(gm_system *sys, const char *name, uint64_t size, uint8_t fill)
{
    gm_region *mr = gm_region_new_ram(sys, name, size);

    CHECK(mr != NULL, "gm_region_new_ram(%s)", name);
    memset(gm_region_get_ram_ptr(mr), fill, size);
    return mr;
}

/* The calling thread's MRU slot, and the id of @as's current view. */
static const gm_mru_slot *mru_slot(gm_as *as, uint64_t *id)
{
    const gm_flatview *fv = as->current;

    *id = fv->dispatch.id;
    return &gm_dispatch_mru_;
}

static uint64_t ld64(gm_as *as, gm_addr addr)
{
    uint64_t v = 0;

    CHECK_EQ_U64(gm_as_ld64_le(as, addr, GM_ATTRS_UNSPECIFIED, &v), GM_OK, "gm_as_ld64_le");
    return v;
}

/* A thread streaming through one range hits its key; an address past the
 * range's end is not served from it. */
static void test_streaming_hits_and_bounds(void)
{
    fixture f;
    const gm_mru_slot *slot;
    uint64_t id;
    uint8_t buf[16];

    fixture_init(&f, 0x100000);
    add_owned(f.root, 0x10000, ram_filled(f.sys, "a", 0x4000, 0xaa), 0);
    add_owned(f.root, 0x14000, ram_filled(f.sys, "b", 0x1000, 0xbb), 0);
    CHECK_EQ_U64(ld64(f.as, 0x10000), 0xaaaaaaaaaaaaaaaaull, "first load of a");
    slot = mru_slot(f.as, &id);
    CHECK_EQ_U64(slot->id, id, "the slot names the current view");
    CHECK_EQ_U64(gm_key_start(slot->key), 0x10000, "and a's range");
    for (gm_addr a = 0x10000; a < 0x14000; a += 0x100)
        CHECK_EQ_U64(ld64(f.as, a), 0xaaaaaaaaaaaaaaaaull, "streaming through a");
    CHECK_EQ_U64(gm_key_start(slot->key), 0x10000, "still a's range");
    CHECK_EQ_U64(ld64(f.as, 0x14000), 0xbbbbbbbbbbbbbbbbull, "first byte past a is b");
    CHECK_EQ_U64(gm_key_start(slot->key), 0x14000, "b's range is now the most recent");
    CHECK_EQ_U64(gm_as_read(f.as, 0x13ff8, GM_ATTRS_UNSPECIFIED, buf, 16), GM_OK,
                 "a read across a and b");
    CHECK(memcmp(buf, "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xbb\xbb\xbb\xbb\xbb\xbb\xbb\xbb", 16) == 0,
          "takes each half from its own range");
    CHECK_EQ_U64(gm_as_read(f.as, 0x14ff8, GM_ATTRS_UNSPECIFIED, buf, 16), GM_DECODE_ERROR,
                 "a read running from b into the hole after it");
    CHECK(memcmp(buf, "\xbb\xbb\xbb\xbb\xbb\xbb\xbb\xbb\0\0\0\0\0\0\0\0", 16) == 0,
          "reads zeros from the hole");
    fixture_fini(&f);
}

/* The slot of @f's current view names the range at @addr; return the id. */
static uint64_t slot_names(fixture *f, gm_addr addr, gm_addr start)
{
    const gm_mru_slot *slot;
    uint64_t id;

    slot = mru_slot(f->as, &id);
    CHECK(slot->id == id, "the slot at 0x%" PRIx64 " names the current view", addr);
    CHECK_EQ_U64(gm_key_start(slot->key), start, "and the range last used");
    return id;
}

/* A topology change publishes a view with a new id: the slot that named
 * the old view's range no longer matches, whatever now covers the address. */
static void test_topology_change_invalidates(void)
{
    fixture f;
    gm_region *a, *b;
    uint64_t old_id, id, v = 1;

    fixture_init(&f, 0x100000);
    a = ram_filled(f.sys, "a", 0x4000, 0xaa);
    b = ram_filled(f.sys, "b", 0x4000, 0xbb);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x10000, a), 0, "add a");
    CHECK_EQ_U64(ld64(f.as, 0x10008), 0xaaaaaaaaaaaaaaaaull, "a mapped");
    old_id = slot_names(&f, 0x10008, 0x10000);

    /* The same address, another region. */
    gm_transaction_begin(f.sys);
    CHECK_EQ_U64(gm_region_del_subregion(f.root, a), 0, "del a");
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x10000, b), 0, "add b in its place");
    gm_transaction_commit(f.sys);
    mru_slot(f.as, &id);
    CHECK(id != old_id, "the new view has a new id");
    CHECK_EQ_U64(ld64(f.as, 0x10008), 0xbbbbbbbbbbbbbbbbull, "b, not the old view's a");

    /* A higher-priority region over part of the most recent range. */
    CHECK_EQ_U64(ld64(f.as, 0x11000), 0xbbbbbbbbbbbbbbbbull, "b before the overlay");
    old_id = slot_names(&f, 0x11000, 0x10000);
    add_owned(f.root, 0x11000, ram_filled(f.sys, "top", 0x1000, 0xcc), 1);
    CHECK_EQ_U64(ld64(f.as, 0x11000), 0xccccccccccccccccull, "the overlay wins at once");
    CHECK_EQ_U64(ld64(f.as, 0x10000), 0xbbbbbbbbbbbbbbbbull, "b below it");

    /* Removed: a hole, not the most recently used range. */
    CHECK_EQ_U64(ld64(f.as, 0x12000), 0xbbbbbbbbbbbbbbbbull, "b above it");
    old_id = slot_names(&f, 0x12000, 0x12000);
    CHECK_EQ_U64(gm_region_del_subregion(f.root, b), 0, "del b");
    CHECK_EQ_U64(gm_as_ld64_le(f.as, 0x12000, GM_ATTRS_UNSPECIFIED, &v), GM_DECODE_ERROR,
                 "a hole where b was");
    CHECK_EQ_U64(v, 0, "reads as zero");
    gm_region_unref(a);
    gm_region_unref(b);
    fixture_fini(&f);
}

/* The slot still names a key of a view that has been freed (and whose
 * memory may serve a new view): it must never be followed. */
static void test_freed_view_not_followed(void)
{
    fixture f;
    gm_region *a;
    const gm_mru_slot *slot;
    uint64_t old_id, id;

    fixture_init(&f, 0x100000);
    a = ram_filled(f.sys, "a", 0x4000, 0xaa);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x10000, a), 0, "add a");
    CHECK_EQ_U64(ld64(f.as, 0x10000), 0xaaaaaaaaaaaaaaaaull, "a");
    slot = mru_slot(f.as, &old_id);
    for (int i = 0; i < 8; i++) {
        /* Move a back and forth: every commit frees the previous view. */
        CHECK_EQ_U64(gm_region_del_subregion(f.root, a), 0, "del a");
        CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x10000 + (i % 2 ? 0 : 0x4000), a), 0,
                     "add a");
    }
    gm_system_drain(f.sys);
    CHECK_EQ_U64(slot->id, old_id, "the slot still holds the freed view's id");
    mru_slot(f.as, &id);
    CHECK(id != old_id, "which the current view does not have");
    CHECK_EQ_U64(ld64(f.as, 0x10000), 0xaaaaaaaaaaaaaaaaull, "a, found by a walk");
    CHECK_EQ_U64(slot->id, id, "the slot now names the current view");
    gm_region_unref(a);
    fixture_fini(&f);
}

/* Two views used in turn by one thread at the same address: each access
 * gets its own view's memory, the slot naming one view or the other. */
static void test_two_views_in_turn(void)
{
    fixture f1, f2;
    const gm_mru_slot *slot;
    uint64_t id1, id2;

    fixture_init(&f1, 0x100000);
    fixture_init(&f2, 0x100000);
    add_owned(f1.root, 0x10000, ram_filled(f1.sys, "p", 0x4000, 0x11), 0);
    add_owned(f2.root, 0x10000, ram_filled(f2.sys, "q", 0x4000, 0x22), 0);
    mru_slot(f1.as, &id1);
    slot = mru_slot(f2.as, &id2);
    CHECK(id1 != id2, "two views, two ids");
    for (gm_addr a = 0x10000; a < 0x14000; a += 0x400) {
        CHECK_EQ_U64(ld64(f1.as, a), 0x1111111111111111ull, "first view's memory");
        CHECK_EQ_U64(slot->id, id1, "the slot names the first view");
        CHECK_EQ_U64(ld64(f2.as, a), 0x2222222222222222ull, "second view's memory");
        CHECK_EQ_U64(slot->id, id2, "then the second");
    }
    fixture_fini(&f1);
    fixture_fini(&f2);
}

/*
 * Readers stream through a fixed region and through an address whose
 * region a writer rotates among three (R0 -> R1 -> R2 -> R0 ...), each
 * rotation one commit, after which the writer publishes its number in
 * @epoch. A reader that saw epoch e before and after an access must find
 * R[e % 3] or R[(e + 1) % 3] (the next rotation may be published but not yet
 * counted); the range of rotation e - 1, which is R[(e + 2) % 3], would
 * mean a most-recently-used range outlived its view.
 */
#define ROT_ADDR 0x0
#define FIXED_ADDR 0x40000
#define ROT_SIZE 0x10000
#define NR_READERS 2

struct rotation {
    gm_as *as;
    uint64_t epoch;            /* atomic: rotations published */
    int done;                  /* atomic */
    unsigned long checked;     /* atomic: accesses checked against the epoch */
};

static uint8_t rot_fill(uint64_t e)
{
    static const uint8_t fills[3] = { 0xa0, 0xb1, 0xc2 };

    return fills[e % 3];
}

/* All @n bytes of @buf are @fill. */
static bool all_bytes(const uint8_t *buf, size_t n, uint8_t fill)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != fill)
            return false;
    return true;
}

static void *rotation_reader(void *opaque)
{
    struct rotation *r = opaque;
    static __thread uint8_t buf[PAGE];
    unsigned long checked = 0;

    while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
        uint64_t e1 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
        uint64_t v = 0;

        /* The rotated address first: in a new view, the thread's slot may
         * still name the rotated range of an older view. */
        CHECK_EQ_U64(gm_as_ld64_le(r->as, ROT_ADDR + 8, GM_ATTRS_UNSPECIFIED, &v), GM_OK,
                     "rotated address is never a hole");
        /* Stream through the fixed region: the MRU names its range. */
        for (gm_addr a = FIXED_ADDR; a < FIXED_ADDR + 4 * PAGE; a += 64)
            CHECK_EQ_U64(ld64(r->as, a), 0xd3d3d3d3d3d3d3d3ull, "fixed region");
        CHECK_EQ_U64(gm_as_read(r->as, ROT_ADDR + PAGE, GM_ATTRS_UNSPECIFIED, buf, PAGE), GM_OK,
                     "4 KiB read of the rotated region");
        uint64_t e2 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
        uint8_t got = (uint8_t)v;

        CHECK(all_bytes((const uint8_t *)&v, 8, got), "a load from one region: %016llx",
              (unsigned long long)v);
        CHECK(all_bytes(buf, PAGE, buf[0]), "a 4 KiB read from one region");
        if (e2 == e1) {
            CHECK(got == rot_fill(e1) || got == rot_fill(e1 + 1),
                  "epoch %llu: load saw %02x, want %02x or %02x", (unsigned long long)e1, got,
                  rot_fill(e1), rot_fill(e1 + 1));
            CHECK(buf[0] == rot_fill(e1) || buf[0] == rot_fill(e1 + 1),
                  "epoch %llu: read saw %02x", (unsigned long long)e1, buf[0]);
            checked++;
        }
    }
    __atomic_add_fetch(&r->checked, checked, __ATOMIC_RELAXED);
    return NULL;
}

static unsigned long rotations = 3000;

static void test_concurrent_readers(void)
{
    struct rotation r = { 0 };
    pthread_t readers[NR_READERS];
    gm_region *rot[3];
    fixture f;

    fixture_init(&f, 0x100000);
    for (int i = 0; i < 3; i++)
        rot[i] = ram_filled(f.sys, "rot", ROT_SIZE, rot_fill((uint64_t)i));
    add_owned(f.root, FIXED_ADDR, ram_filled(f.sys, "fixed", 4 * PAGE, 0xd3), 0);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, ROT_ADDR, rot[0]), 0, "add R0");
    r.as = f.as;
    for (int i = 0; i < NR_READERS; i++)
        CHECK(pthread_create(&readers[i], NULL, rotation_reader, &r) == 0, "pthread_create");
    for (uint64_t e = 1; e <= rotations; e++) {
        gm_transaction_begin(f.sys);
        CHECK_EQ_U64(gm_region_del_subregion(f.root, rot[(e - 1) % 3]), 0, "del");
        CHECK_EQ_U64(gm_region_add_subregion(f.root, ROT_ADDR, rot[e % 3]), 0, "add");
        gm_transaction_commit(f.sys);
        __atomic_store_n(&r.epoch, e, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&r.done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < NR_READERS; i++)
        CHECK(pthread_join(readers[i], NULL) == 0, "pthread_join");
    CHECK(r.checked > 0, "some accesses fell inside one epoch");
    printf("# %lu rotations, %lu accesses checked against their epoch\n", rotations,
           r.checked);
    for (int i = 0; i < 3; i++)
        gm_region_unref(rot[i]);
    fixture_fini(&f);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rotations = strtoul(argv[1], NULL, 0);
    RUN(test_streaming_hits_and_bounds);
    RUN(test_topology_change_invalidates);
    RUN(test_freed_view_not_followed);
    RUN(test_two_views_in_turn);
    RUN(test_concurrent_readers);
    return 0;
}
