/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues over RAM: pop/push with direct and indirect chains,
 * notification suppression with and without event indices (across the
 * 16-bit wrap), reconnect through set_last_avail_idx, refresh after a
 * topology change, dirty logging of the used ring, the copying helpers, the
 * iovec mapping (split mappings, bounds, the copy fallback), giving a chain
 * back (unpop, a passing fault), and every malformed ring the validation
 * must refuse without touching memory.
 *
 * Guest memory (one address space):
 *   [0, 1 MiB)            RAM "ram"  - rings, indirect tables, buffers
 *   [1 MiB, 1 MiB + 64K)  RAM "ram2" - a second region, so buffers that
 *                                      cross 1 MiB map in two pieces
 *   [2 MiB, 2 MiB + 64K)  ROM        - a used ring the device cannot write
 *   [3 MiB, 3 MiB + 128K) I/O        - buffers gm_as_map() has to bounce
 */
#include <errno.h>
#include <string.h>

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#include "check.h"
#include "vdriver.h"

#define MiB 0x100000ull
#define RAM_SIZE MiB
#define RAM2_BASE MiB
#define ROM_BASE (2 * MiB)
#define IO_BASE (3 * MiB)
#define IO_SIZE 0x20000u
#define QSIZE 256u
#define DESC 0x1000u
#define AVAIL 0x3000u
#define USED 0x4ffcu /* used->idx on page 4, used->ring[] on page 5 */
#define TABLE 0x8000u
#define BUF 0x10000u
#define ALL_FEATURES (GM_VIRTIO_F_INDIRECT_DESC)

typedef struct fixture {
    gm_system *sys;
    gm_region *root, *ram, *ram2, *rom, *io;
    gm_as *as;
    uint8_t *mem;
    uint8_t io_mem[IO_SIZE];
    vdrv d;
    gm_virtq *vq;
    int logged;     /* the queue's reports */
    int sys_logged; /* the core's (e.g. a map of an unassigned address) */
    gm_virtq_seg seg[2 * QSIZE];
    gm_virtq_elem elem;
} fixture;

static void count_log(void *opaque, enum gm_log_level level, const char *msg)
{
    CHECK(level == GM_LOG_GUEST_ERROR, "queue messages are guest errors: %s", msg);
    (*(int *)opaque)++;
}

static void count_sys_log(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)level;
    (void)msg;
    (*(int *)opaque)++;
}

static uint64_t io_read(void *opaque, gm_addr addr, unsigned int size)
{
    uint64_t v = 0;

    memcpy(&v, (uint8_t *)opaque + addr, size);
    return v;
}

static void io_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    memcpy((uint8_t *)opaque + addr, &data, size);
}

static const gm_region_ops io_ops = {
    .read = io_read,
    .write = io_write,
    .endianness = GM_ENDIAN_LITTLE,
    .impl = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
};

static gm_region *add(fixture *fx, gm_addr base, gm_region *mr)
{
    CHECK(mr && gm_region_add_subregion(fx->root, base, mr) == 0, "map region at 0x%lx",
          (unsigned long)base);
    return mr;
}

static void fixture_memory(fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->sys = gm_system_new(0);
    gm_system_set_log(fx->sys, count_sys_log, &fx->sys_logged, false);
    fx->root = gm_region_new_container(fx->sys, "root", GM_SIZE_2_64);
    fx->ram = add(fx, 0, gm_region_new_ram(fx->sys, "ram", RAM_SIZE));
    fx->ram2 = add(fx, RAM2_BASE, gm_region_new_ram(fx->sys, "ram2", 0x10000));
    fx->rom = add(fx, ROM_BASE, gm_region_new_rom(fx->sys, "rom", 0x10000));
    fx->io = add(fx, IO_BASE, gm_region_new_io(fx->sys, "io", IO_SIZE, &io_ops, fx->io_mem));
    fx->as = gm_as_new(fx->sys, fx->root, "memory");
    fx->mem = gm_region_get_ram_ptr(fx->ram);
    fx->elem = (gm_virtq_elem){ .seg = fx->seg, .seg_max = 2 * QSIZE };
}

static void fixture_queue(fixture *fx, const gm_virtq_config *cfg)
{
    CHECK(gm_virtq_new(fx->as, cfg, &fx->vq) == 0, "queue created");
    gm_virtq_set_log(fx->vq, count_log, &fx->logged);
}

static void fixture_init(fixture *fx, bool event_idx, uint64_t features)
{
    gm_virtq_config cfg;

    fixture_memory(fx);
    vdrv_init(&fx->d, fx->as, QSIZE, DESC, AVAIL, USED, event_idx, 0);
    cfg = vdrv_config(&fx->d, features);
    fixture_queue(fx, &cfg);
}

static void fixture_fini(fixture *fx)
{
    gm_virtq_free(fx->vq);
    CHECK(gm_as_bounce_in_use(fx->as) == 0, "no bounce buffer left mapped");
    gm_as_free(fx->as);
    gm_region_unref(fx->io);
    gm_region_unref(fx->rom);
    gm_region_unref(fx->ram2);
    gm_region_unref(fx->ram);
    gm_region_unref(fx->root);
    gm_system_free(fx->sys);
}

static void fill(fixture *fx, gm_addr addr, uint8_t c, uint64_t len)
{
    CHECK(gm_as_fill(fx->as, addr, GM_ATTRS_UNSPECIFIED, c, len) == GM_OK, "fill");
}

static void expect_used(fixture *fx, uint32_t id, uint32_t len)
{
    uint32_t got_id, got_len;

    CHECK(vdrv_get_used(&fx->d, &got_id, &got_len), "a used entry for chain %u", id);
    CHECK(got_id == id && got_len == len, "used {%u, %u}, want {%u, %u}", got_id, got_len, id,
          len);
}

/* ---- pop and push ---------------------------------------------------------- */

static void test_pop_push_direct(void)
{
    fixture fx;
    vbuf out[2] = { { BUF, 16 }, { BUF + 0x100, 32 } }, in[1] = { { BUF + 0x200, 64 } };
    uint8_t hdr[48], status = 0x5a;
    int head;

    fixture_init(&fx, false, ALL_FEATURES);
    for (int i = 0; i < 48; i++)
        fx.mem[BUF + (i < 16 ? i : 0x100 + i - 16)] = (uint8_t)i;
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 0, "empty ring pops nothing");
    head = vdrv_add(&fx.d, out, 2, in, 1);
    CHECK(gm_virtq_has_work(fx.vq) == 1, "work after the driver added a chain");
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop returns the chain");
    CHECK(fx.elem.head == head, "head %u", fx.elem.head);
    CHECK(fx.elem.out_num == 2 && fx.elem.in_num == 1, "2 out, 1 in");
    CHECK(fx.elem.out_len == 48 && fx.elem.in_len == 64, "lengths 48/64");
    CHECK(fx.seg[1].addr == BUF + 0x100 && fx.seg[2].addr == BUF + 0x200, "segment addresses");
    CHECK(gm_virtq_elem_read(fx.vq, &fx.elem, 0, hdr, 48) == 48, "read both out buffers");
    for (int i = 0; i < 48; i++)
        CHECK(hdr[i] == i, "byte %d of the readable stream", i);
    CHECK(gm_virtq_elem_write(fx.vq, &fx.elem, 63, &status, 1) == 1, "write the status byte");
    CHECK(fx.mem[BUF + 0x200 + 63] == 0x5a, "status landed at the end of the in buffer");
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 0, "nothing more");
    CHECK(gm_virtq_get_last_avail_idx(fx.vq) == 1, "last_avail_idx 1");
    CHECK(gm_virtq_push_elem(fx.vq, &fx.elem, 65) == -EINVAL, "len beyond in_len refused");
    CHECK(gm_virtq_push_elem(fx.vq, &fx.elem, 64) == 0, "push");
    expect_used(&fx, (uint32_t)head, 64);
    CHECK(gm_virtq_get_used_idx(fx.vq) == 1, "used_idx 1");
    CHECK(!gm_virtq_is_broken(fx.vq) && fx.logged == 0, "no error, nothing logged");
    fixture_fini(&fx);
}

static void test_pop_push_indirect(void)
{
    fixture fx;
    vbuf out[1] = { { BUF, 100 } }, in[2] = { { BUF + 0x1000, 200 }, { BUF + 0x2000, 1 } };
    int head;

    fixture_init(&fx, true, ALL_FEATURES);
    head = vdrv_add_indirect(&fx.d, TABLE, out, 1, in, 2);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop the indirect chain");
    CHECK(fx.elem.head == head && fx.elem.out_num == 1 && fx.elem.in_num == 2, "1 out 2 in");
    CHECK(fx.elem.out_len == 100 && fx.elem.in_len == 201, "lengths");
    CHECK(fx.seg[2].addr == BUF + 0x2000 && fx.seg[2].len == 1, "last segment");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 201) == 0, "push");
    expect_used(&fx, (uint32_t)head, 201);
    fixture_fini(&fx);
}

/* A direct descriptor followed by an INDIRECT one (allowed: INDIRECT is last). */
static void test_direct_then_indirect(void)
{
    fixture fx;

    fixture_init(&fx, false, ALL_FEATURES);
    vdrv_write_table_desc(fx.as, TABLE, 0, BUF + 0x100, 8, VDESC_F_WRITE, 0);
    vdrv_write_desc(&fx.d, 5, BUF, 4, VDESC_F_NEXT, 9);
    vdrv_write_desc(&fx.d, 9, TABLE, 16, VDESC_F_INDIRECT | VDESC_F_WRITE, 0);
    vdrv_publish(&fx.d, 5);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(fx.elem.out_num == 1 && fx.elem.in_num == 1 && fx.elem.in_len == 8,
          "one direct out, one indirect in (INDIRECT's WRITE flag ignored)");
    fixture_fini(&fx);
}

/* The longest legal chain (queue size) and the highest legal buffer. */
static void test_limits_accepted(void)
{
    gm_virtq_seg segs[QSIZE];
    gm_virtq_elem elem = { .seg = segs, .seg_max = QSIZE };
    fixture fx;

    fixture_init(&fx, false, ALL_FEATURES);
    for (unsigned int i = 0; i < QSIZE; i++)
        vdrv_write_desc(&fx.d, i, UINT64_MAX - 99, 100,
                        i + 1 < QSIZE ? VDESC_F_NEXT : 0, (uint16_t)(i + 1));
    vdrv_publish(&fx.d, 0);
    CHECK(gm_virtq_pop(fx.vq, &elem) == 1, "chain of exactly the queue size");
    CHECK(elem.out_num == QSIZE && elem.out_len == 100 * QSIZE, "all %u buffers", QSIZE);
    CHECK(gm_virtq_elem_read(fx.vq, &elem, 0, segs, 8) == -EFAULT,
          "an unbacked buffer is a copy error, not a broken queue");
    CHECK(!gm_virtq_is_broken(fx.vq), "queue still works");
    fixture_fini(&fx);
}

static void test_avail_jump_of_exactly_size(void)
{
    fixture fx;

    fixture_init(&fx, false, ALL_FEATURES);
    for (unsigned int i = 0; i < QSIZE; i++) {
        vdrv_write_desc(&fx.d, i, BUF, 1, 0, 0);
        vdrv_publish(&fx.d, (uint16_t)i);
    }
    for (unsigned int i = 0; i < QSIZE; i++)
        CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1 && fx.elem.head == i, "pop %u", i);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 0, "then empty");
    fixture_fini(&fx);
}

static void test_push_errors(void)
{
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_init(&fx, false, ALL_FEATURES);
    CHECK(gm_virtq_push(fx.vq, 0, 0) == -EINVAL, "nothing in flight");
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(gm_virtq_push(fx.vq, QSIZE, 0) == -EINVAL, "head beyond the queue");
    CHECK(!gm_virtq_is_broken(fx.vq), "caller errors do not break the queue");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == 0, "push");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == -EINVAL, "pushed twice");
    fixture_fini(&fx);
}

/* A used ring in ROM: push cannot publish, which breaks the queue. */
static void test_push_to_readonly_used_ring(void)
{
    gm_virtq_config cfg;
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_memory(&fx);
    vdrv_init(&fx.d, fx.as, QSIZE, DESC, AVAIL, USED, false, 0);
    cfg = vdrv_config(&fx.d, 0);
    cfg.used_addr = ROM_BASE;
    fixture_queue(&fx, &cfg);
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == -EFAULT, "push into ROM fails");
    CHECK(gm_virtq_error(fx.vq) == -EFAULT && fx.logged == 1, "broken, reported once");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == -EIO, "then -EIO");
    fixture_fini(&fx);
}

static void test_config_validation(void)
{
    gm_virtq_config good, cfg;
    gm_virtq *vq = NULL;
    fixture fx;

    fixture_memory(&fx);
    vdrv_init(&fx.d, fx.as, QSIZE, DESC, AVAIL, USED, true, 0);
    good = vdrv_config(&fx.d, 0);
    cfg = good;
    cfg.size = 0;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "size 0");
    cfg = good;
    cfg.size = 48;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "size not a power of two");
    cfg = good;
    cfg.size = 65536;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "size above 32768");
    cfg = good;
    cfg.desc_addr = DESC + 8;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "descriptor table not 16-aligned");
    cfg = good;
    cfg.avail_addr = AVAIL + 1;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "avail ring not 2-aligned");
    cfg = good;
    cfg.used_addr = USED + 2;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "used ring not 4-aligned");
    cfg = good;
    cfg.desc_addr = UINT64_MAX - 0x7ff;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EINVAL, "descriptor table wraps 2^64");
    cfg = good;
    cfg.used_addr = 0x7000000;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == -EFAULT, "used ring not backed");
    CHECK(gm_virtq_new(NULL, &good, &vq) == -EINVAL && vq == NULL, "NULL address space");
    cfg = good;
    cfg.size = GM_VIRTQ_MAX_SIZE, cfg.desc_addr = 0x80000;
    CHECK(gm_virtq_new(fx.as, &cfg, &vq) == 0 && vq, "size 32768 accepted");
    CHECK(gm_virtq_size(vq) == GM_VIRTQ_MAX_SIZE, "size reported");
    gm_virtq_free(vq);
    fixture_fini(&fx);
}

/* ---- notifications ----------------------------------------------------------- */

static void pop_push_one(fixture *fx)
{
    CHECK(gm_virtq_pop(fx->vq, &fx->elem) == 1, "pop");
    CHECK(gm_virtq_push(fx->vq, fx->elem.head, 0) == 0, "push");
    expect_used(fx, fx->elem.head, 0);
}

static void test_notify_flags(void)
{
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_init(&fx, false, ALL_FEATURES);
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    pop_push_one(&fx);
    CHECK(gm_virtq_should_notify(fx.vq), "interrupt wanted by default");
    vdrv_set_no_interrupt(&fx.d, true);
    CHECK(!gm_virtq_should_notify(fx.vq), "VIRTQ_AVAIL_F_NO_INTERRUPT suppresses it");
    vdrv_set_no_interrupt(&fx.d, false);
    CHECK(gm_virtq_disable_notification(fx.vq) == 0, "disable");
    CHECK(vdrv_used_flags(&fx.d) == 1 && !vdrv_kick_needed(&fx.d, 1, 2),
          "VIRTQ_USED_F_NO_NOTIFY set: the driver does not kick");
    CHECK(gm_virtq_enable_notification(fx.vq) == 0, "enable: no work pending");
    CHECK(vdrv_used_flags(&fx.d) == 0 && vdrv_kick_needed(&fx.d, 1, 2), "driver kicks again");
    CHECK(gm_virtq_disable_notification(fx.vq) == 0, "disable");
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    CHECK(gm_virtq_enable_notification(fx.vq) == 1,
          "enable reports a chain added while disabled (no lost wakeup)");
    fixture_fini(&fx);
}

/*
 * Event indices across the 16-bit wrap: the queue resumes at 65530, each
 * round adds/pops/pushes 1-3 chains and the driver sets used_event either
 * to "the next one" or a few entries ahead. should_notify must agree with
 * the spec's formula applied to the window since the previous call.
 */
static void test_event_idx_wrap(void)
{
    const uint16_t start = 65530;
    gm_virtq_config cfg;
    bool valid = false, saw_no = false, saw_yes = false;
    uint16_t old = 0;
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_memory(&fx);
    vdrv_init(&fx.d, fx.as, QSIZE, DESC, AVAIL, USED, true, start);
    cfg = vdrv_config(&fx.d, 0);
    fixture_queue(&fx, &cfg);
    gm_virtq_set_last_avail_idx(fx.vq, start);
    CHECK(gm_virtq_get_used_idx(fx.vq) == start, "used idx read from the ring");
    for (int r = 0; r < 24; r++) {
        uint16_t before = gm_virtq_get_used_idx(fx.vq), now, event;
        int k = 1 + r % 3;
        bool want;

        event = (uint16_t)(before + (r % 2 ? 0 : 4));
        vdrv_set_used_event(&fx.d, event);
        for (int i = 0; i < k; i++)
            vdrv_add(&fx.d, &b, 1, NULL, 0);
        for (int i = 0; i < k; i++)
            pop_push_one(&fx);
        now = gm_virtq_get_used_idx(fx.vq);
        want = !valid || vdrv_need_event(event, now, old);
        CHECK(gm_virtq_should_notify(fx.vq) == want, "round %d: used %u->%u event %u", r,
              before, now, event);
        saw_no |= !want;
        saw_yes |= want && valid;
        valid = true;
        old = now;
    }
    CHECK(gm_virtq_get_used_idx(fx.vq) < start, "the used index wrapped");
    CHECK(saw_no && saw_yes, "both outcomes exercised");
    fixture_fini(&fx);
}

/* Kick suppression through avail_event, across the wrap as well. */
static void test_avail_event(void)
{
    fixture fx;
    gm_virtq_config cfg;
    vbuf b = { BUF, 8 };
    uint16_t a;

    fixture_memory(&fx);
    vdrv_init(&fx.d, fx.as, QSIZE, DESC, AVAIL, USED, true, 65534);
    cfg = vdrv_config(&fx.d, 0);
    fixture_queue(&fx, &cfg);
    gm_virtq_set_last_avail_idx(fx.vq, 65534);
    for (int r = 0; r < 4; r++) {
        CHECK(gm_virtq_enable_notification(fx.vq) == 0, "enable with an empty ring");
        a = fx.d.avail_idx;
        CHECK(vdrv_avail_event(&fx.d) == a, "avail_event = avail->idx (%u)", a);
        vdrv_add(&fx.d, &b, 1, NULL, 0);
        CHECK(vdrv_kick_needed(&fx.d, a, (uint16_t)(a + 1)), "first chain after enable kicks");
        CHECK(gm_virtq_disable_notification(fx.vq) == 0, "disable writes nothing");
        CHECK(vdrv_used_flags(&fx.d) == 0, "used->flags stays 0 with event idx");
        pop_push_one(&fx);
        vdrv_add(&fx.d, &b, 1, NULL, 0);
        CHECK(!vdrv_kick_needed(&fx.d, (uint16_t)(a + 1), (uint16_t)(a + 2)),
              "no kick while disabled");
        pop_push_one(&fx);
    }
    CHECK(fx.d.avail_idx < 100, "avail index wrapped");
    fixture_fini(&fx);
}

/* 2^15 pushes without should_notify: the window is lost, so notify. */
static void test_event_window_invalidated(void)
{
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_init(&fx, true, 0);
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    pop_push_one(&fx);
    CHECK(gm_virtq_should_notify(fx.vq), "first check notifies");
    for (int i = 0; i < 32768; i++) {
        vdrv_add(&fx.d, &b, 1, NULL, 0);
        CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
        CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == 0, "push");
        expect_used(&fx, fx.elem.head, 0);
    }
    vdrv_set_used_event(&fx.d, (uint16_t)(gm_virtq_get_used_idx(fx.vq) + 100));
    CHECK(gm_virtq_should_notify(fx.vq), "stale window: notify");
    CHECK(!gm_virtq_should_notify(fx.vq), "fresh window, event ahead: quiet");
    fixture_fini(&fx);
}

/* ---- reconnect, refresh, dirty logging ---------------------------------------- */

static void test_reconnect(void)
{
    gm_virtq_config cfg;
    uint16_t base, heads[3];
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_init(&fx, true, 0);
    for (int i = 0; i < 5; i++)
        vdrv_add(&fx.d, &b, 1, NULL, 0);
    for (int i = 0; i < 3; i++) {
        CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop %d", i);
        heads[i] = fx.elem.head;
    }
    CHECK(gm_virtq_push(fx.vq, heads[0], 0) == 0, "complete the first");
    base = gm_virtq_get_last_avail_idx(fx.vq);
    CHECK(base == 3, "GET_VRING_BASE gives 3");
    gm_virtq_free(fx.vq);

    /* A new backend: SET_VRING_BASE, then the ring addresses. */
    cfg = vdrv_config(&fx.d, 0);
    fixture_queue(&fx, &cfg);
    gm_virtq_set_last_avail_idx(fx.vq, base);
    CHECK(gm_virtq_get_used_idx(fx.vq) == 1, "used idx survives in guest memory");
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1 && fx.elem.head == 3, "resumes at chain 3");
    CHECK(gm_virtq_should_notify(fx.vq), "first notify check after reconnect says yes");

    /* Resubmit the in-flight ones by rewinding to the used index. */
    gm_virtq_set_last_avail_idx(fx.vq, gm_virtq_get_used_idx(fx.vq));
    for (int i = 1; i < 5; i++)
        CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1 && fx.elem.head == i, "re-pop %d", i);
    for (int i = 1; i < 5; i++)
        CHECK(gm_virtq_push(fx.vq, (uint16_t)i, 0) == 0, "push %d", i);
    for (int i = 0; i < 5; i++) {
        uint32_t id, len;

        CHECK(vdrv_get_used(&fx.d, &id, &len) && id == (uint32_t)i, "used %d", i);
    }
    fixture_fini(&fx);
}

/* The ring caches keep the old memory until refresh. */
static void test_refresh_after_topology_change(void)
{
    gm_region *ram_b;
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_init(&fx, false, 0);
    ram_b = gm_region_new_ram(fx.sys, "ram-b", RAM_SIZE);
    memcpy(gm_region_get_ram_ptr(ram_b), fx.mem, RAM_SIZE);
    gm_transaction_begin(fx.sys);
    CHECK(gm_region_del_subregion(fx.root, fx.ram) == 0, "unplug ram");
    CHECK(gm_region_add_subregion(fx.root, 0, ram_b) == 0, "plug ram-b");
    gm_transaction_commit(fx.sys);
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    CHECK(gm_virtq_has_work(fx.vq) == 0, "stale cache still reads the old RAM");
    CHECK(gm_virtq_refresh(fx.vq) == 0, "refresh");
    CHECK(gm_virtq_has_work(fx.vq) == 1, "now the new RAM");
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == 0, "push");
    CHECK(((uint16_t *)gm_region_get_ram_ptr(ram_b))[(USED + 2) / 2] == 1, "used idx in ram-b");
    gm_virtq_free(fx.vq);
    fx.vq = NULL;
    gm_region_unref(ram_b);
    fixture_fini(&fx);
}

static void test_used_ring_dirty_logging(void)
{
    fixture fx;
    vbuf b = { BUF, 8 };

    fixture_init(&fx, false, 0);
    CHECK(gm_region_set_log(fx.ram, GM_DIRTY_MIGRATION, true) == 0, "log ram");
    vdrv_add(&fx.d, &b, 1, NULL, 0);
    gm_region_reset_dirty(fx.ram, 0, RAM_SIZE, GM_DIRTY_MIGRATION);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(!gm_region_get_dirty(fx.ram, 0, RAM_SIZE, GM_DIRTY_MIGRATION), "pop writes nothing");
    CHECK(gm_virtq_push(fx.vq, fx.elem.head, 0) == 0, "push");
    CHECK(gm_region_get_dirty(fx.ram, USED + 2, 2, GM_DIRTY_MIGRATION), "used->idx page dirty");
    CHECK(gm_region_get_dirty(fx.ram, USED + 4, 8, GM_DIRTY_MIGRATION), "used->ring page dirty");
    CHECK(!gm_region_get_dirty(fx.ram, BUF, 8, GM_DIRTY_MIGRATION), "buffer page clean");
    fixture_fini(&fx);
}

/* ---- iovecs ------------------------------------------------------------------ */

static void test_iov_split_and_access_len(void)
{
    struct iovec iov[8];
    gm_virtq_iov v = { .iov = iov, .max = 8 };
    fixture fx;
    vbuf out[1] = { { RAM2_BASE - 100, 300 } };
    vbuf in[2] = { { 0x20000, 0x3000 }, { RAM2_BASE - 0x10, 0x20 } };
    uint8_t *ram2;

    fixture_init(&fx, false, 0);
    ram2 = gm_region_get_ram_ptr(fx.ram2);
    fill(&fx, RAM2_BASE - 100, 0x11, 300);
    fill(&fx, 0x20000, 0xee, 0x3000);
    fill(&fx, RAM2_BASE - 0x10, 0xee, 0x20);
    CHECK(gm_region_set_log(fx.ram, GM_DIRTY_MIGRATION, true) == 0, "log ram");
    vdrv_add(&fx.d, out, 1, in, 2);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    gm_region_reset_dirty(fx.ram, 0, RAM_SIZE, GM_DIRTY_MIGRATION);
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == 0, "map");
    CHECK(v.out_cnt == 2 && v.in_cnt == 3, "out: 2 pieces (ram|ram2), in: 1 + 2, got %u/%u",
          v.out_cnt, v.in_cnt);
    CHECK(iov[0].iov_len == 100 && iov[1].iov_len == 200, "split at the region boundary");
    CHECK(iov[0].iov_base == fx.mem + RAM2_BASE - 100 && iov[1].iov_base == ram2,
          "zero copy: host pointers into RAM");
    CHECK(iov[2].iov_len == 0x3000 && iov[3].iov_len == 0x10 && iov[4].iov_len == 0x10,
          "in pieces");
    /* The "device" writes 0x1008 bytes, as a short preadv would. */
    memset(iov[2].iov_base, 0x77, 0x1008);
    CHECK(gm_virtq_iov_unmap(fx.vq, &fx.elem, &v, 0x1008) == 0, "unmap");
    CHECK(v.out_cnt == 0 && v.in_cnt == 0, "iov set emptied");
    CHECK(gm_region_get_dirty(fx.ram, 0x20000, 0x1008, GM_DIRTY_MIGRATION),
          "written pages dirty");
    CHECK(!gm_region_get_dirty(fx.ram, 0x22000, 0x1000, GM_DIRTY_MIGRATION),
          "page beyond access_len clean");
    CHECK(!gm_region_get_dirty(fx.ram, RAM2_BASE - 0x10, 0x10, GM_DIRTY_MIGRATION),
          "unwritten second buffer clean");
    fixture_fini(&fx);
}

static void test_iov_bounds(void)
{
    struct iovec iov[3];
    gm_virtq_iov v = { .iov = iov, .max = 2 };
    fixture fx;
    vbuf out[3] = { { BUF, 8 }, { BUF + 0x100, 0 }, { RAM2_BASE - 4, 8 } };

    fixture_init(&fx, false, 0);
    vdrv_add(&fx.d, out, 3, NULL, 0);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == -E2BIG, "3 pieces do not fit in 2");
    CHECK(v.out_cnt == 0 && v.in_cnt == 0, "nothing left mapped");
    v.max = 0;
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == -EINVAL, "max 0");
    v.max = GM_VIRTQ_IOV_MAX + 1;
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == -EINVAL, "max above GM_VIRTQ_IOV_MAX");
    v.max = 3;
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == 0, "3 fit in 3");
    CHECK(v.out_cnt == 3 && iov[1].iov_len == 4 && iov[2].iov_len == 4,
          "zero-length buffer skipped, the last split at 1 MiB");
    CHECK(gm_virtq_iov_unmap(fx.vq, &fx.elem, &v, 0) == 0, "unmap");
    fixture_fini(&fx);
}

static void test_iov_copy_fallback(void)
{
    struct iovec iov[16];
    gm_virtq_iov v = { .iov = iov, .max = 16 };
    fixture fx;
    vbuf out[1] = { { IO_BASE, 6000 } }, in[1] = { { IO_BASE + 0x4000, 0x10100 } };
    unsigned int copies = 0;

    fixture_init(&fx, false, 0);
    for (unsigned int i = 0; i < IO_SIZE; i++)
        fx.io_mem[i] = (uint8_t)(i * 13);
    vdrv_add(&fx.d, out, 1, in, 1);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == 0, "map I/O memory");
    CHECK(v.out_cnt == 2, "bounce (budget 4096) + copy for the rest: %u", v.out_cnt);
    CHECK(iov[0].iov_len == 4096 && iov[1].iov_len == 6000 - 4096, "piece lengths");
    CHECK(v.in_cnt == 2 && iov[2].iov_len == GM_VIRTQ_COPY_CHUNK &&
              iov[3].iov_len == 0x100, "in: copy chunks of at most 64 KiB");
    for (unsigned int k = 0; k < 4; k++)
        copies += (v.copied_[0] >> k) & 1; /* white box: the private bitmap */
    CHECK(copies == 3, "three pieces are copies");
    for (unsigned int i = 0; i < 6000; i++) {
        uint8_t want = (uint8_t)(i * 13);
        uint8_t got = i < 4096 ? ((uint8_t *)iov[0].iov_base)[i]
                               : ((uint8_t *)iov[1].iov_base)[i - 4096];

        CHECK(got == want, "readable byte %u", i);
    }
    memset(iov[2].iov_base, 0xab, iov[2].iov_len);
    memset(iov[3].iov_base, 0xcd, iov[3].iov_len);
    CHECK(gm_virtq_iov_unmap(fx.vq, &fx.elem, &v, 0x10010) == 0, "unmap");
    CHECK(fx.io_mem[0x4000] == 0xab && fx.io_mem[0x4000 + 0xffff] == 0xab, "first chunk back");
    CHECK(fx.io_mem[0x14000] == 0xcd && fx.io_mem[0x1400f] == 0xcd, "written part of the last");
    CHECK(fx.io_mem[0x14010] == (uint8_t)(0x14010 * 13), "beyond access_len untouched");
    fixture_fini(&fx);
}

static void test_iov_fault_releases_everything(void)
{
    struct iovec iov[8];
    gm_virtq_iov v = { .iov = iov, .max = 8 };
    fixture fx;
    vbuf out[2] = { { IO_BASE, 100 }, { BUF, 100 } }, in[2] = { { BUF, 8 }, { 0x7000000, 8 } };

    fixture_init(&fx, false, 0);
    vdrv_add(&fx.d, out, 2, in, 2);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1, "pop");
    CHECK(gm_virtq_iov_map(fx.vq, &fx.elem, &v) == -EFAULT, "unbacked writable buffer");
    CHECK(gm_as_bounce_in_use(fx.as) == 0, "bounce released");
    CHECK(!gm_virtq_is_broken(fx.vq) && fx.logged == 1, "reported, queue still works");
    CHECK(gm_virtq_elem_write(fx.vq, &fx.elem, 8, "x", 1) == -EFAULT, "copy fails too");
    CHECK(gm_virtq_elem_read(fx.vq, &fx.elem, 200, fx.seg, 1) == 0, "read past the end: 0");
    fixture_fini(&fx);
}

/* ---- malformed rings ---------------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    void (*setup)(fixture *fx);
    int err;
    bool no_indirect;
    uint32_t max_chain_bytes;
    unsigned int seg_max;
} bad_case;

static void bad_head(fixture *fx)
{
    vdrv_publish(&fx->d, QSIZE);
}

static void bad_next(fixture *fx)
{
    vdrv_write_desc(&fx->d, 0, BUF, 8, VDESC_F_NEXT, QSIZE);
    vdrv_publish(&fx->d, 0);
}

static void bad_loop(fixture *fx)
{
    vdrv_write_desc(&fx->d, 0, BUF, 8, VDESC_F_NEXT, 1);
    vdrv_write_desc(&fx->d, 1, BUF, 8, VDESC_F_NEXT, 0);
    vdrv_publish(&fx->d, 0);
}

static void bad_self_loop(fixture *fx)
{
    vdrv_write_desc(&fx->d, 7, BUF, 0, VDESC_F_NEXT, 7);
    vdrv_publish(&fx->d, 7);
}

static void indirect_desc(fixture *fx, gm_addr table, uint32_t len, uint16_t flags)
{
    vdrv_write_desc(&fx->d, 0, table, len, VDESC_F_INDIRECT | flags, 1);
    vdrv_publish(&fx->d, 0);
}

static void bad_ind_len_odd(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, 0, 0);
    indirect_desc(fx, TABLE, 24, 0);
}

static void bad_ind_len_zero(fixture *fx)
{
    indirect_desc(fx, TABLE, 0, 0);
}

static void bad_ind_too_big(fixture *fx)
{
    indirect_desc(fx, TABLE, 16u * (GM_VIRTQ_MAX_INDIRECT + 1), 0);
}

static void bad_ind_nested(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, TABLE + 0x100, 16, VDESC_F_INDIRECT, 0);
    indirect_desc(fx, TABLE, 16, 0);
}

static void bad_ind_with_next(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, 0, 0);
    vdrv_write_desc(&fx->d, 1, BUF, 8, 0, 0);
    indirect_desc(fx, TABLE, 16, VDESC_F_NEXT);
}

static void bad_ind_loop(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, VDESC_F_NEXT, 1);
    vdrv_write_table_desc(fx->as, TABLE, 1, BUF, 8, VDESC_F_NEXT, 0);
    indirect_desc(fx, TABLE, 32, 0);
}

static void bad_ind_next(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, VDESC_F_NEXT, 2);
    vdrv_write_table_desc(fx->as, TABLE, 1, BUF, 8, 0, 0);
    indirect_desc(fx, TABLE, 32, 0);
}

static void bad_ind_unbacked(fixture *fx)
{
    indirect_desc(fx, 0x7000000, 32, 0);
}

static void bad_ind_wrap(fixture *fx)
{
    indirect_desc(fx, UINT64_MAX - 15, 32, 0);
}

static void bad_write_then_read(fixture *fx)
{
    vdrv_write_desc(&fx->d, 0, BUF, 8, VDESC_F_WRITE | VDESC_F_NEXT, 1);
    vdrv_write_desc(&fx->d, 1, BUF, 8, 0, 0);
    vdrv_publish(&fx->d, 0);
}

static void bad_ind_write_then_read(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, VDESC_F_WRITE | VDESC_F_NEXT, 1);
    vdrv_write_table_desc(fx->as, TABLE, 1, BUF, 8, 0, 0);
    indirect_desc(fx, TABLE, 32, 0);
}

static void bad_write_then_indirect_read(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, 0, 0);
    vdrv_write_desc(&fx->d, 3, BUF, 8, VDESC_F_WRITE | VDESC_F_NEXT, 4);
    vdrv_write_desc(&fx->d, 4, TABLE, 16, VDESC_F_INDIRECT, 0);
    vdrv_publish(&fx->d, 3);
}

static void two_descs(fixture *fx, uint32_t len0, uint32_t len1)
{
    vdrv_write_desc(&fx->d, 0, BUF, len0, VDESC_F_NEXT, 1);
    vdrv_write_desc(&fx->d, 1, BUF, len1, 0, 0);
    vdrv_publish(&fx->d, 0);
}

static void bad_total_over_max(fixture *fx)
{
    two_descs(fx, 0x80000, 0x80001);
}

static void bad_total_over_default(fixture *fx)
{
    two_descs(fx, GM_VIRTQ_DEFAULT_MAX_CHAIN_BYTES, 1);
}

static void bad_total_over_u32(fixture *fx)
{
    two_descs(fx, UINT32_MAX, 1);
}

static void bad_addr_wrap(fixture *fx)
{
    vdrv_write_desc(&fx->d, 0, UINT64_MAX - 10, 100, 0, 0);
    vdrv_publish(&fx->d, 0);
}

static void bad_avail_jump(fixture *fx)
{
    vdrv_set_avail_idx(&fx->d, QSIZE + 1);
}

static void bad_avail_backwards(fixture *fx)
{
    vdrv_set_avail_idx(&fx->d, 0xffff);
}

static void bad_too_many_segs(fixture *fx)
{
    for (int i = 0; i < 5; i++)
        vdrv_write_desc(&fx->d, (unsigned int)i, BUF, 8, i < 4 ? VDESC_F_NEXT : 0,
                        (uint16_t)(i + 1));
    vdrv_publish(&fx->d, 0);
}

static void bad_indirect_unnegotiated(fixture *fx)
{
    vdrv_write_table_desc(fx->as, TABLE, 0, BUF, 8, 0, 0);
    indirect_desc(fx, TABLE, 16, 0);
}

static const bad_case bad_cases[] = {
    { "head >= queue size", bad_head, -EINVAL },
    { "next >= queue size", bad_next, -EINVAL },
    { "two-descriptor loop", bad_loop, -ELOOP },
    { "self loop", bad_self_loop, -ELOOP },
    { "indirect len not a multiple of 16", bad_ind_len_odd, -EINVAL },
    { "indirect len 0", bad_ind_len_zero, -EINVAL },
    { "indirect table > 32768 entries", bad_ind_too_big, -EINVAL },
    { "INDIRECT inside an indirect table", bad_ind_nested, -EINVAL },
    { "INDIRECT with NEXT", bad_ind_with_next, -EINVAL },
    { "indirect loop", bad_ind_loop, -ELOOP },
    { "indirect next beyond table", bad_ind_next, -EINVAL },
    { "indirect table unbacked", bad_ind_unbacked, -EFAULT },
    { "indirect table wraps 2^64", bad_ind_wrap, -EOVERFLOW },
    { "INDIRECT not negotiated", bad_indirect_unnegotiated, -EINVAL, .no_indirect = true },
    { "writable then readable", bad_write_then_read, -EINVAL },
    { "writable then readable (indirect)", bad_ind_write_then_read, -EINVAL },
    { "writable then indirect readable", bad_write_then_indirect_read, -EINVAL },
    { "total above configured max", bad_total_over_max, -EOVERFLOW, .max_chain_bytes = MiB },
    { "total above 1 GiB default", bad_total_over_default, -EOVERFLOW },
    { "total above 2^32", bad_total_over_u32, -EOVERFLOW, .max_chain_bytes = UINT32_MAX },
    { "buffer wraps 2^64", bad_addr_wrap, -EOVERFLOW },
    { "avail->idx jumps size + 1", bad_avail_jump, -EPROTO },
    { "avail->idx goes backwards", bad_avail_backwards, -EPROTO },
    { "more segments than the element holds", bad_too_many_segs, -ENOBUFS, .seg_max = 4 },
};

/* Guest RAM before the pop: a failing pop must not write anything. */
static uint8_t snapshot[RAM_SIZE];

static void run_bad_case(const bad_case *bc)
{
    gm_virtq_config cfg;
    fixture fx;

    fixture_memory(&fx);
    vdrv_init(&fx.d, fx.as, QSIZE, DESC, AVAIL, USED, true, 0);
    cfg = vdrv_config(&fx.d, bc->no_indirect ? 0 : GM_VIRTIO_F_INDIRECT_DESC);
    cfg.max_chain_bytes = bc->max_chain_bytes;
    fixture_queue(&fx, &cfg);
    if (bc->seg_max)
        fx.elem.seg_max = bc->seg_max;
    bc->setup(&fx);
    memcpy(snapshot, fx.mem, RAM_SIZE);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == bc->err, "%s: pop returns %d", bc->name, bc->err);
    CHECK(gm_virtq_is_broken(fx.vq) && gm_virtq_error(fx.vq) == bc->err, "%s: broken",
          bc->name);
    CHECK(fx.logged == 1, "%s: reported once (%d)", bc->name, fx.logged);
    CHECK(memcmp(snapshot, fx.mem, RAM_SIZE) == 0, "%s: guest memory untouched", bc->name);
    CHECK(gm_virtq_get_last_avail_idx(fx.vq) == 0, "%s: nothing consumed", bc->name);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == -EIO, "%s: pop then says -EIO", bc->name);
    CHECK(gm_virtq_has_work(fx.vq) == -EIO, "%s: has_work -EIO", bc->name);
    CHECK(gm_virtq_push(fx.vq, 0, 0) == -EIO, "%s: push -EIO", bc->name);
    CHECK(gm_virtq_enable_notification(fx.vq) == -EIO, "%s: enable -EIO", bc->name);
    CHECK(!gm_virtq_should_notify(fx.vq), "%s: no interrupts from a broken queue", bc->name);
    CHECK(fx.logged == 1, "%s: still one report", bc->name);
    fixture_fini(&fx);
}

static bool always(void *opaque)
{
    (void)opaque;
    return true;
}

/*
 * gm_virtq_unpop() makes the last chain available again; a fault the
 * transient hook calls passing leaves the chain available and the queue
 * unbroken (-EAGAIN); without the hook the same fault breaks it.
 */
static void test_unpop_and_transient(void)
{
    fixture fx;
    vbuf out[1] = { { BUF, 16 } }, in[1] = { { BUF + 0x100, 1 } };
    int first, second;

    fixture_init(&fx, false, ALL_FEATURES);
    first = vdrv_add(&fx.d, out, 1, in, 1);
    second = vdrv_add(&fx.d, out, 1, in, 1);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1 && fx.elem.head == first, "pop the first");
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1 && fx.elem.head == second, "pop the second");
    gm_virtq_unpop(fx.vq, &fx.elem);
    CHECK(gm_virtq_get_base(fx.vq) == 1, "given back: one taken");
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == 1 && fx.elem.head == second, "popped again");
    vdrv_write_table_desc(fx.as, TABLE, 0, BUF, 16, 0, 0);
    vdrv_write_desc(&fx.d, 10, 0x7000000, 16, VDESC_F_INDIRECT, 0);
    vdrv_publish(&fx.d, 10);
    gm_virtq_set_transient(fx.vq, always, NULL);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == -EAGAIN, "an unreadable table, called passing");
    CHECK(!gm_virtq_is_broken(fx.vq) && gm_virtq_get_base(fx.vq) == 2, "not taken, not broken");
    gm_virtq_set_transient(fx.vq, NULL, NULL);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == -EFAULT, "the same fault breaks the queue without");
    CHECK(gm_virtq_is_broken(fx.vq) && fx.logged == 1, "broken and reported once");
    fixture_fini(&fx);
}

static void test_malformed_rings(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        run_bad_case(&bad_cases[i]);
}

static void test_unbacked_rings(void)
{
    gm_virtq_config cfg;
    fixture fx;

    fixture_memory(&fx);
    vdrv_init(&fx.d, fx.as, QSIZE, DESC, AVAIL, USED, false, 0);
    cfg = vdrv_config(&fx.d, 0);
    cfg.desc_addr = 0x7000000;
    fixture_queue(&fx, &cfg);
    CHECK(gm_virtq_refresh(fx.vq) == -EFAULT, "refresh reports the unreachable table");
    vdrv_publish(&fx.d, 0);
    CHECK(gm_virtq_pop(fx.vq, &fx.elem) == -EFAULT, "descriptor table unbacked");
    gm_virtq_free(fx.vq);
    cfg = vdrv_config(&fx.d, 0);
    cfg.avail_addr = 0x7000000;
    fixture_queue(&fx, &cfg);
    CHECK(gm_virtq_has_work(fx.vq) == -EFAULT, "available ring unbacked");
    CHECK(fx.logged == 2, "both reported");
    fixture_fini(&fx);
}

int main(void)
{
    RUN(test_pop_push_direct);
    RUN(test_pop_push_indirect);
    RUN(test_direct_then_indirect);
    RUN(test_limits_accepted);
    RUN(test_avail_jump_of_exactly_size);
    RUN(test_push_errors);
    RUN(test_push_to_readonly_used_ring);
    RUN(test_config_validation);
    RUN(test_notify_flags);
    RUN(test_event_idx_wrap);
    RUN(test_avail_event);
    RUN(test_event_window_invalidated);
    RUN(test_reconnect);
    RUN(test_refresh_after_topology_change);
    RUN(test_used_ring_dirty_logging);
    RUN(test_iov_split_and_access_len);
    RUN(test_iov_bounds);
    RUN(test_iov_copy_fallback);
    RUN(test_iov_fault_releases_everything);
    RUN(test_unpop_and_transient);
    RUN(test_malformed_rings);
    RUN(test_unbacked_rings);
    return 0;
}
