/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueues over RAM, against a driver played by the test: chains
 * of one to three descriptors and indirect tables across many ring wraps
 * with out-of-order completion, event suppression in both directions (with
 * and without event indices), the vhost-user base encoding and resuming
 * from it, and malformed rings that must break the queue without touching
 * memory (ids out of range or reused while in flight, chains longer than
 * the queue, INDIRECT inside a chain, unreadable descriptors).
 */
#include <errno.h>
#include <string.h>

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#include "check.h"

#define RAM_SIZE 0x100000u
#define RING 0x1000u
#define DRIVER_AREA 0x3000u
#define DEVICE_AREA 0x3010u
#define TABLE 0x4000u
#define BUF 0x10000u
#define F_NEXT 1u
#define F_WRITE 2u
#define F_INDIRECT 4u
#define F_AVAIL (1u << 7)
#define F_USED (1u << 15)
#define EV_ENABLE 0u
#define EV_DISABLE 1u
#define EV_DESC 2u

/* The driver's side of the ring. */
typedef struct pdriver {
    uint8_t *mem;
    unsigned int size;
    uint16_t next;         /* where the next chain goes */
    bool wrap;
    uint16_t used;         /* where the next used descriptor appears */
    bool used_wrap;
    uint16_t ndescs[64];   /* per id: descriptors of its chain */
} pdriver;

typedef struct fixture {
    gm_system *sys;
    gm_region *root;
    gm_as *as;
    uint8_t *mem;
    pdriver d;
    gm_virtq *vq;
    gm_virtq_seg seg[64];
    gm_virtq_elem elem;
} fixture;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static void put_desc(uint8_t *mem, uint64_t at, uint64_t addr, uint32_t len, uint16_t id,
                     uint16_t flags)
{
    memcpy(mem + at, &addr, 8);
    memcpy(mem + at + 8, &len, 4);
    memcpy(mem + at + 12, &id, 2);
    memcpy(mem + at + 14, &flags, 2);
}

static uint16_t avail_flags(const pdriver *d)
{
    return d->wrap ? F_AVAIL : F_USED;
}

/*
 * Make a chain of @n buffers available (the last @writable ones writable),
 * buffer i at BUF + 0x1000 * (id * 4 + i), @len bytes each; the head's
 * flags are stored last, as a driver must.
 */
static void drv_add(pdriver *d, uint16_t id, unsigned int n, unsigned int writable, uint32_t len)
{
    uint16_t head = d->next, head_flags = 0;

    for (unsigned int i = 0; i < n; i++) {
        uint16_t flags = avail_flags(d) | (i + 1 < n ? F_NEXT : 0) |
                         (i >= n - writable ? F_WRITE : 0);
        uint64_t at = RING + 16ull * d->next;

        if (i == 0) {
            head_flags = flags;
            flags = d->wrap ? F_USED : F_AVAIL; /* not yet available */
        }
        put_desc(d->mem, at, BUF + 0x1000ull * (id * 4u + i), len, id, flags);
        if (++d->next == d->size) {
            d->next = 0;
            d->wrap = !d->wrap;
        }
    }
    __atomic_store_n((uint16_t *)(d->mem + RING + 16ull * head + 14), head_flags,
                     __ATOMIC_RELEASE);
    d->ndescs[id] = (uint16_t)n;
}

/* One INDIRECT descriptor over a table of @n buffers at TABLE + 0x100 * id. */
static void drv_add_indirect(pdriver *d, uint16_t id, unsigned int n)
{
    uint64_t table = TABLE + 0x100ull * id;

    for (unsigned int i = 0; i < n; i++)
        put_desc(d->mem, table + 16 * i, BUF + 0x1000ull * (id * 4u + i), 64, 0,
                 i == n - 1 ? F_WRITE : 0);
    put_desc(d->mem, RING + 16ull * d->next, table, 16 * n, id, avail_flags(d) | F_INDIRECT);
    if (++d->next == d->size) {
        d->next = 0;
        d->wrap = !d->wrap;
    }
    d->ndescs[id] = 1;
}

/* The next used buffer, if the device wrote one: its id and length. */
static bool drv_get_used(pdriver *d, uint16_t *id, uint32_t *len)
{
    uint64_t at = RING + 16ull * d->used;
    uint16_t flags = __atomic_load_n((uint16_t *)(d->mem + at + 14), __ATOMIC_ACQUIRE);

    if (!!(flags & F_AVAIL) != d->used_wrap || !!(flags & F_USED) != d->used_wrap)
        return false;
    memcpy(id, d->mem + at + 12, 2);
    memcpy(len, d->mem + at + 8, 4);
    d->used = (uint16_t)(d->used + d->ndescs[*id]);
    if (d->used >= d->size) {
        d->used = (uint16_t)(d->used - d->size);
        d->used_wrap = !d->used_wrap;
    }
    return true;
}

static void set_driver_event(fixture *f, uint16_t off_wrap, uint16_t flags)
{
    memcpy(f->mem + DRIVER_AREA, &off_wrap, 2);
    memcpy(f->mem + DRIVER_AREA + 2, &flags, 2);
}

static void fixture_init(fixture *f, unsigned int size, uint64_t features)
{
    gm_virtq_config cfg = {
        .size = size,
        .desc_addr = RING,
        .avail_addr = DRIVER_AREA,
        .used_addr = DEVICE_AREA,
        .features = GM_VIRTIO_F_VERSION_1 | GM_VIRTIO_F_RING_PACKED | features,
    };
    gm_region *ram;

    memset(f, 0, sizeof(*f));
    f->sys = gm_system_new(0);
    f->root = gm_region_new_container(f->sys, "root", GM_SIZE_2_64);
    ram = gm_region_new_ram(f->sys, "ram", RAM_SIZE);
    CHECK(f->sys && f->root && ram, "setup");
    CHECK_EQ_U64(gm_region_add_subregion(f->root, 0, ram), 0, "add ram");
    f->mem = gm_region_get_ram_ptr(ram);
    gm_region_unref(ram);
    f->as = gm_as_new(f->sys, f->root, "memory");
    f->d = (pdriver){ .mem = f->mem, .size = size, .wrap = true, .used_wrap = true };
    CHECK(gm_virtq_new(f->as, &cfg, &f->vq) == 0, "packed queue of size %u", size);
    gm_virtq_set_log(f->vq, quiet, NULL);
    f->elem = (gm_virtq_elem){ .seg = f->seg, .seg_max = 64 };
}

static void fixture_fini(fixture *f)
{
    gm_virtq_free(f->vq);
    gm_as_free(f->as);
    gm_region_unref(f->root);
    gm_system_free(f->sys);
}

/* Pop one chain and check its shape: @out readable, @in writable buffers. */
static void pop_expect(fixture *f, uint16_t id, unsigned int out, unsigned int in, uint32_t len)
{
    CHECK(gm_virtq_pop(f->vq, &f->elem) == 1, "pop id %u", id);
    CHECK_EQ_U64(f->elem.head, id, "buffer id");
    CHECK(f->elem.out_num == out && f->elem.in_num == in, "id %u: %u+%u buffers, want %u+%u",
          id, f->elem.out_num, f->elem.in_num, out, in);
    CHECK_EQ_U64(f->elem.out_len, (uint64_t)out * len, "readable bytes");
    CHECK_EQ_U64(f->elem.seg[0].addr, BUF + 0x1000ull * (id * 4u), "first buffer address");
}

static void test_basic_and_indirect(void)
{
    fixture f;
    uint16_t id;
    uint32_t len;

    fixture_init(&f, 8, GM_VIRTIO_F_INDIRECT_DESC);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), 0, "empty ring");
    drv_add(&f.d, 5, 2, 1, 100);
    pop_expect(&f, 5, 1, 1, 100);
    CHECK(!drv_get_used(&f.d, &id, &len), "nothing used before the push");
    CHECK_EQ_U64(gm_virtq_push(f.vq, 5, 77), 0, "push");
    CHECK(drv_get_used(&f.d, &id, &len) && id == 5 && len == 77, "driver sees id 5, 77 bytes");
    CHECK_EQ_U64(gm_virtq_push(f.vq, 5, 1), -EINVAL, "id no longer in flight");
    CHECK(!gm_virtq_is_broken(f.vq), "a bad push does not break the queue");

    drv_add_indirect(&f.d, 3, 3);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), 1, "pop indirect");
    CHECK(f.elem.head == 3 && f.elem.out_num == 2 && f.elem.in_num == 1, "table of 2+1");
    CHECK_EQ_U64(f.elem.seg[1].addr, BUF + 0x1000ull * 13, "second table entry");
    CHECK_EQ_U64(gm_virtq_push_elem(f.vq, &f.elem, 64), 0, "push indirect");
    CHECK(drv_get_used(&f.d, &id, &len) && id == 3 && len == 64, "indirect used");
    fixture_fini(&f);
}

/* Many wraps of a 5-entry ring (not a power of two) with chains of 1-3 and
 * completions out of order. */
static void test_wraps_out_of_order(void)
{
    fixture f;
    uint32_t rng = 12345;
    unsigned int pushed = 0, seen = 0;
    uint16_t pending[4];
    unsigned int npending = 0, free_slots = 5;
    uint16_t next_id = 0;

    fixture_init(&f, 5, 0);
    for (unsigned int round = 0; round < 400; round++) {
        unsigned int n;
        uint16_t id, got;
        uint32_t len;

        rng = rng * 1103515245u + 12345u;
        n = 1 + (rng >> 16) % 3;
        if (n <= free_slots && npending < 4) {
            id = next_id;
            next_id = (uint16_t)((next_id + 1) % 5);
            /* ids in flight are never reused by this driver */
            for (unsigned int i = 0; i < npending; i++)
                if (pending[i] == id)
                    id = 0xffff;
            if (id != 0xffff) {
                drv_add(&f.d, id, n, 1, 16);
                pop_expect(&f, id, n - 1, 1, 16);
                pending[npending++] = id;
                free_slots -= n;
            }
        }
        if (npending && (rng >> 8) % 2) {
            unsigned int k = (rng >> 4) % npending;

            id = pending[k];
            pending[k] = pending[--npending];
            CHECK(gm_virtq_push(f.vq, id, round) == 0, "push id %u", id);
            pushed++;
            CHECK(drv_get_used(&f.d, &got, &len) && got == id && len == round,
                  "round %u: driver sees id %u (got %u)", round, id, got);
            free_slots += f.d.ndescs[id];
            seen++;
        }
    }
    CHECK(pushed > 100 && pushed == seen, "%u pushed, %u seen", pushed, seen);
    CHECK(!gm_virtq_is_broken(f.vq), "queue healthy after many wraps");
    fixture_fini(&f);
}

static void test_notifications(void)
{
    fixture f;
    uint16_t v;

    fixture_init(&f, 8, GM_VIRTIO_F_EVENT_IDX);
    /* Device -> driver. */
    set_driver_event(&f, 0, EV_DISABLE);
    drv_add(&f.d, 0, 1, 1, 8);
    pop_expect(&f, 0, 0, 1, 8);
    gm_virtq_push(f.vq, 0, 8);
    CHECK(!gm_virtq_should_notify(f.vq), "driver disabled interrupts");
    set_driver_event(&f, 0, EV_ENABLE);
    CHECK(gm_virtq_should_notify(f.vq), "driver enabled interrupts");
    /* DESC: interrupt once the used position passes 3 (wrap counter 1). */
    set_driver_event(&f, 3 | 1u << 15, EV_DESC);
    for (uint16_t id = 1; id <= 3; id++) {
        drv_add(&f.d, id, 1, 1, 8);
        pop_expect(&f, id, 0, 1, 8);
        gm_virtq_push(f.vq, id, 8);
        CHECK(gm_virtq_should_notify(f.vq) == (id == 3), "used at %u: notify only past 3",
              id + 1);
    }
    /* Driver -> device. */
    CHECK_EQ_U64(gm_virtq_disable_notification(f.vq), 0, "disable");
    memcpy(&v, f.mem + DEVICE_AREA + 2, 2);
    CHECK_EQ_U64(v, EV_DISABLE, "device area flags DISABLE");
    CHECK_EQ_U64(gm_virtq_enable_notification(f.vq), 0, "enable, nothing pending");
    memcpy(&v, f.mem + DEVICE_AREA + 2, 2);
    CHECK_EQ_U64(v, EV_DESC, "event index: DESC");
    memcpy(&v, f.mem + DEVICE_AREA, 2);
    CHECK_EQ_U64(v, 4u | 1u << 15, "at the next available position, wrap 1");
    drv_add(&f.d, 4, 1, 1, 8);
    CHECK_EQ_U64(gm_virtq_enable_notification(f.vq), 1, "enable sees the new chain");
    fixture_fini(&f);
}

static void test_base(void)
{
    fixture f;
    uint32_t base;
    uint16_t id;
    uint32_t len;

    fixture_init(&f, 4, 0);
    for (uint16_t i = 0; i < 3; i++) {
        drv_add(&f.d, i, 2, 1, 8);
        pop_expect(&f, i, 1, 1, 8);
        gm_virtq_push(f.vq, i, 8);
        CHECK(drv_get_used(&f.d, &id, &len), "used %u", i);
    }
    /* 6 descriptors on a ring of 4: position 2, wrap counter 0, both sides. */
    base = gm_virtq_get_base(f.vq);
    CHECK_EQ_U64(base, 2u | 2u << 16, "base encodes position and wrap");
    gm_virtq_free(f.vq);
    {
        gm_virtq_config cfg = { .size = 4, .desc_addr = RING, .avail_addr = DRIVER_AREA,
                                .used_addr = DEVICE_AREA,
                                .features = GM_VIRTIO_F_VERSION_1 | GM_VIRTIO_F_RING_PACKED };

        CHECK_EQ_U64(gm_virtq_new(f.as, &cfg, &f.vq), 0, "new queue");
    }
    gm_virtq_set_base(f.vq, base);
    drv_add(&f.d, 3, 1, 1, 8);
    pop_expect(&f, 3, 0, 1, 8);
    CHECK_EQ_U64(gm_virtq_push(f.vq, 3, 8), 0, "push after resume");
    CHECK(drv_get_used(&f.d, &id, &len) && id == 3, "driver sees the resumed queue's push");
    gm_virtq_set_base(f.vq, 0x7fff);
    CHECK_EQ_U64(gm_virtq_get_base(f.vq) & 0x7fff, 0, "out-of-range position restarts at 0");
    fixture_fini(&f);
}

/*
 * In-flight tracking: chains A (2 descriptors) and B (indirect) are taken,
 * B completes and its used descriptor overwrites A's first one. A new
 * queue resumed at the saved positions takes A again from the copy of its
 * descriptors; its push lands after B's and advances by A's 2 descriptors.
 * A copy that does not hold up is refused without breaking the queue.
 */
static void test_resubmit(void)
{
    gm_virtq_config cfg = { .size = 8, .desc_addr = RING, .avail_addr = DRIVER_AREA,
                            .used_addr = DEVICE_AREA,
                            .features = GM_VIRTIO_F_VERSION_1 | GM_VIRTIO_F_RING_PACKED |
                                        GM_VIRTIO_F_INDIRECT_DESC };
    gm_virtq_desc a[4], bad[2];
    unsigned int na;
    uint32_t avail, len;
    uint16_t id;
    fixture f;

    fixture_init(&f, 8, GM_VIRTIO_F_INDIRECT_DESC);
    drv_add(&f.d, 6, 2, 1, 32);
    pop_expect(&f, 6, 1, 1, 32);
    na = gm_virtq_packed_last_chain(f.vq, a, 4);
    CHECK(na == 2 && a[1].id == 6 && a[0].addr == BUF + 0x1000ull * 24, "A's 2 descriptors kept");
    drv_add_indirect(&f.d, 1, 2);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), 1, "pop B");
    CHECK_EQ_U64(gm_virtq_packed_last_chain(f.vq, bad, 2), 1, "B is one INDIRECT descriptor");
    avail = gm_virtq_get_base(f.vq) & 0xffff;
    CHECK_EQ_U64(gm_virtq_push(f.vq, 1, 64), 0, "B completes first");
    CHECK(drv_get_used(&f.d, &id, &len) && id == 1, "B used, over A's first descriptor");
    /* The device dies; a new one resumes at avail 3, used 1 (wrap 1). */
    gm_virtq_free(f.vq);
    CHECK_EQ_U64(gm_virtq_new(f.as, &cfg, &f.vq), 0, "new queue");
    CHECK_EQ_U64(gm_virtq_packed_resume(f.vq, avail, 1u | 1u << 15), 0, "resume");
    CHECK_EQ_U64(gm_virtq_packed_used_id(f.vq, 0u | 1u << 15, &id), 1, "position 0 holds a used");
    CHECK_EQ_U64(id, 1, "B's id there");
    CHECK_EQ_U64(gm_virtq_packed_used_id(f.vq, 1u | 1u << 15, &id), 0, "position 1 does not");
    bad[0] = a[0];
    bad[1] = a[1];
    bad[1].flags |= F_NEXT;
    CHECK_EQ_U64(gm_virtq_packed_resubmit(f.vq, bad, 2, &f.elem), -EINVAL,
                 "a copy whose chain does not end is refused");
    bad[1] = a[1];
    bad[1].id = 8;
    CHECK_EQ_U64(gm_virtq_packed_resubmit(f.vq, bad, 2, &f.elem), -EINVAL, "id out of range");
    CHECK(!gm_virtq_is_broken(f.vq), "refused copies do not break the queue");
    CHECK_EQ_U64(gm_virtq_packed_resubmit(f.vq, a, na, &f.elem), 1, "A taken again");
    CHECK(f.elem.head == 6 && f.elem.out_num == 1 && f.elem.in_num == 1, "A's shape");
    CHECK_EQ_U64(gm_virtq_packed_resubmit(f.vq, a, na, &f.elem), -EINVAL, "A is in flight now");
    gm_virtq_unpop(f.vq, &f.elem);
    CHECK_EQ_U64(gm_virtq_get_base(f.vq) & 0xffff, avail, "giving A back leaves the ring as it was");
    CHECK_EQ_U64(gm_virtq_packed_resubmit(f.vq, a, na, &f.elem), 1, "A given back is taken again");
    CHECK_EQ_U64(gm_virtq_push(f.vq, 6, 32), 0, "A completes");
    CHECK(drv_get_used(&f.d, &id, &len) && id == 6 && len == 32, "driver sees A after B");
    CHECK_EQ_U64(gm_virtq_get_base(f.vq) >> 16, 3u | 1u << 15, "used advanced by A's 2");
    fixture_fini(&f);
}

/* Giving back the last chain across the wrap: the same chain pops again. */
static void test_unpop(void)
{
    fixture f;
    uint16_t id;
    uint32_t len;

    fixture_init(&f, 4, 0);
    drv_add(&f.d, 0, 2, 1, 8);
    pop_expect(&f, 0, 1, 1, 8);
    gm_virtq_push(f.vq, 0, 8);
    CHECK(drv_get_used(&f.d, &id, &len), "used 0");
    drv_add(&f.d, 1, 3, 1, 8);    /* positions 2, 3 and 0 of the next lap */
    pop_expect(&f, 1, 2, 1, 8);
    CHECK_EQ_U64(gm_virtq_get_base(f.vq) & 0xffff, 1, "popped past the wrap: position 1, wrap 0");
    gm_virtq_unpop(f.vq, &f.elem);
    CHECK_EQ_U64(gm_virtq_get_base(f.vq) & 0xffff, 2u | 1u << 15, "back at position 2, wrap 1");
    pop_expect(&f, 1, 2, 1, 8);
    CHECK_EQ_U64(gm_virtq_push(f.vq, 1, 8), 0, "push the chain popped again");
    CHECK(drv_get_used(&f.d, &id, &len) && id == 1, "the driver sees it used");
    fixture_fini(&f);
}

/* Each malformed ring breaks the queue with the documented errno. */
static void test_hostile(void)
{
    fixture f;

    fixture_init(&f, 4, 0);
    drv_add(&f.d, 9, 1, 0, 8);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -EINVAL, "id beyond the queue size");
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -EIO, "broken");
    fixture_fini(&f);

    fixture_init(&f, 4, 0);
    drv_add(&f.d, 1, 1, 0, 8);
    drv_add(&f.d, 1, 1, 0, 8);
    pop_expect(&f, 1, 1, 0, 8);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -EINVAL, "id reused while in flight");
    fixture_fini(&f);

    fixture_init(&f, 4, 0);
    for (unsigned int i = 0; i < 4; i++) /* every descriptor NEXT, all available */
        put_desc(f.mem, RING + 16 * i, BUF, 8, 0, F_AVAIL | F_NEXT);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -ELOOP, "chain longer than the queue");
    fixture_fini(&f);

    fixture_init(&f, 4, GM_VIRTIO_F_INDIRECT_DESC);
    put_desc(f.mem, RING, BUF, 8, 0, F_AVAIL | F_NEXT);
    put_desc(f.mem, RING + 16, TABLE, 32, 0, F_AVAIL | F_INDIRECT);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -EINVAL, "INDIRECT inside a chain");
    fixture_fini(&f);

    fixture_init(&f, 4, 0);
    put_desc(f.mem, RING, TABLE, 32, 0, F_AVAIL | F_INDIRECT);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -EINVAL, "INDIRECT without the feature");
    fixture_fini(&f);

    fixture_init(&f, 4, 0);
    put_desc(f.mem, RING, ~0ull - 3, 8, 0, F_AVAIL);
    CHECK_EQ_U64(gm_virtq_pop(f.vq, &f.elem), -EOVERFLOW, "buffer wraps 2^64");
    fixture_fini(&f);

    {
        gm_virtq_config cfg = { .size = 4, .desc_addr = RAM_SIZE - 32, .avail_addr = DRIVER_AREA,
                                .used_addr = DEVICE_AREA,
                                .features = GM_VIRTIO_F_VERSION_1 | GM_VIRTIO_F_RING_PACKED };
        gm_virtq *vq;
        gm_virtq_seg seg[4];
        gm_virtq_elem e = { .seg = seg, .seg_max = 4 };

        fixture_init(&f, 4, 0);
        CHECK_EQ_U64(gm_virtq_new(f.as, &cfg, &vq), 0, "ring running off the end of RAM");
        gm_virtq_set_log(vq, quiet, NULL);
        gm_virtq_set_base(vq, 3 | 1u << 15);
        CHECK_EQ_U64(gm_virtq_pop(vq, &e), -EFAULT, "descriptor in a hole");
        gm_virtq_free(vq);
        fixture_fini(&f);
    }
}

int main(void)
{
    RUN(test_basic_and_indirect);
    RUN(test_wraps_out_of_order);
    RUN(test_notifications);
    RUN(test_base);
    RUN(test_resubmit);
    RUN(test_unpop);
    RUN(test_hostile);
    return 0;
}
