/* SPDX-License-Identifier: MIT */
/*
 * Unit test of what guestmem-blkperf's --log relies on, compiled from its
 * sources: the dirty log's layout (QEMU's size, bit p % 8 of byte p / 8,
 * the same bits as QEMU's 64-bit words, sealed), the records of what the
 * back-end wrote and the check against the log (missing, extra and
 * outside bits), each ring layout's view of a stopped device
 * (GET_VRING_BASE against the used side), and which completions the log
 * window requires (before the switch, the first after it, after it,
 * after logging stopped). The device side of the rings is played here by
 * writing used entries by hand.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "bp_log.h"
#include "bp_logwin.h"
#include "bp_mem.h"
#include "bp_proto.h"
#include "bp_ring.h"
#include "bp_wrote.h"
#include "check.h"

#define NUM 16u
#define IDS 4u

/* Guest RAM of @pages pages in bank 0 and one page in bank 1 (at 4 GiB). */
static void make_mem(bp_mem *m, unsigned int pages)
{
    uint64_t gpa;

    bp_mem_init(m);
    bp_mem_alloc(m, 0, (uint64_t)pages * BP_PAGE, BP_PAGE, &gpa);
    bp_mem_alloc(m, 1, BP_PAGE, BP_PAGE, &gpa);
    CHECK(!bp_mem_create(m), "guest RAM");
}

static void set_bit(bp_log *l, uint64_t gpa)
{
    uint64_t page = gpa / VU_LOG_PAGE;

    l->bits[page / 8] |= (uint8_t)(1u << (page % 8));
}

/* QEMU's size and layout; sealed as QEMU seals it. */
static void test_log_area(void)
{
    uint64_t page, last_gpa, *words;
    bp_mem m;
    bp_log l;

    make_mem(&m, 4);
    last_gpa = m.bank[1].gpa + m.bank[1].size - 1;
    CHECK(!bp_log_create(&l, &m), "log");
    CHECK_EQ_U64(l.size, (last_gpa / (VU_LOG_PAGE * 64) + 1) * 8, "QEMU's vhost_get_log_size()");
    CHECK_EQ_U64(fcntl(l.fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, "sealed");
    page = (m.bank[0].gpa + 3 * BP_PAGE) / VU_LOG_PAGE;
    set_bit(&l, page * VU_LOG_PAGE);
    CHECK(bp_log_test(&l, page * VU_LOG_PAGE + 4095), "the page's last byte has its bit");
    CHECK(!bp_log_test(&l, page * VU_LOG_PAGE - 1), "the page before has none");
    CHECK(!bp_log_test(&l, (l.size * 8 + 5) * VU_LOG_PAGE), "past the log: no bit");
    words = (uint64_t *)l.bits;
    CHECK((words[page / 64] >> (page % 64)) & 1, "bit page %% 64 of QEMU's word page / 64");
    set_bit(&l, last_gpa);
    CHECK_EQ_U64(bp_log_count(&l), 2, "bits counted");
    bp_log_destroy(&l);
    bp_mem_destroy(&m);
}

/* Missing bits are named; extra bits inside and outside guest RAM counted. */
static void test_wrote_check(void)
{
    bp_wrote_rec data = { .kind = BP_WROTE_DATA, .queue = 2, .len = 8192, .at = 100, .seq = 9,
                          .offset = 4096 };
    bp_wrote_rec status = { .kind = BP_WROTE_STATUS, .queue = 2, .len = 8192, .seq = 9 };
    uint64_t base, missing;
    bp_log_stats st;
    char first[256];
    bp_wrote w;
    bp_mem m;
    bp_log l;

    make_mem(&m, 4);
    base = m.bank[0].gpa;
    CHECK(!bp_wrote_init(&w, &m) && !bp_log_create(&l, &m), "records and log");
    bp_wrote_mark(&w, base + BP_PAGE - 10, 20, &data);
    bp_wrote_mark(&w, m.bank[1].gpa + 33, 1, &status);
    bp_wrote_mark(&w, 0x1000, 1, &status);    /* outside guest RAM: ignored */
    CHECK_EQ_U64(w.page[0].at, 100, "the first page at byte 100 of the data");
    CHECK_EQ_U64(w.page[1].at, 110, "the next page at byte 110");
    set_bit(&l, base);
    set_bit(&l, m.bank[1].gpa);
    set_bit(&l, base + 3 * BP_PAGE);          /* nothing required there */
    set_bit(&l, 0);                           /* outside guest RAM */
    missing = bp_wrote_check(&w, &l, &st, first, sizeof(first));
    CHECK_EQ_U64(missing, 1, "one page missing");
    CHECK(st.required == 3 && st.set == 4 && st.extra == 1 && st.outside == 1,
          "required %llu set %llu extra %llu outside %llu", (unsigned long long)st.required,
          (unsigned long long)st.set, (unsigned long long)st.extra, (unsigned long long)st.outside);
    CHECK(strstr(first, "data of queue 2 request 9 (read of 8192 bytes at disk offset 4096), at "
                        "byte 110"), "named: %s", first);
    bp_log_destroy(&l);
    bp_wrote_destroy(&w);
    bp_mem_destroy(&m);
}

/* ---- rings, with the device played by hand ------------------------------ */

typedef struct ring_fixture {
    bp_mem m;
    bp_ring r;
    uint64_t ring_gpa;
    bp_slot slot[IDS];
    uint16_t dev_avail;     /* split: next avail entry; packed: position */
    uint16_t dev_used;
    bool dev_wrap;
} ring_fixture;

static void fixture_init(ring_fixture *f, bool packed)
{
    bp_ring_layout l = bp_ring_layout_of(packed, NUM);
    uint64_t gpa;
    void *mem;

    memset(f, 0, sizeof(*f));
    make_mem(&f->m, 2 + 2 * IDS);
    mem = bp_mem_alloc(&f->m, 0, l.bytes, BP_PAGE, &f->ring_gpa);
    CHECK(!bp_ring_init(&f->r, packed, NUM, IDS, true, mem), "ring");
    for (unsigned int i = 0; i < IDS; i++) {
        bp_slot *s = &f->slot[i];

        s->id = (uint16_t)i;
        s->meta = bp_mem_alloc(&f->m, 0, BP_PAGE, BP_PAGE, &s->meta_gpa);
        s->data = bp_mem_alloc(&f->m, 0, BP_PAGE, BP_PAGE, &gpa);
        s->nseg = 1;
        s->seg[0] = (bp_seg){ s->data, gpa, 4096 };
        s->io = (bp_io){ .write = false, .offset = 4096u * i, .len = 4096 };
    }
    f->dev_wrap = true;
}

static void fixture_destroy(ring_fixture *f)
{
    bp_ring_destroy(&f->r);
    bp_mem_destroy(&f->m);
}

/* The driver makes slot @i available: header, data, status (3 descriptors). */
static void add(ring_fixture *f, unsigned int i)
{
    bp_slot *s = &f->slot[i];
    bp_buf b[3] = { { s->meta_gpa, 16, false }, { s->seg[0].gpa, 4096, true },
                    { s->meta_gpa + BP_STATUS_OFF, 1, true } };

    bp_ring_add(&f->r, s->id, b, 3, NULL);
}

/* The device uses the next available buffer, in order. */
static void device_use(ring_fixture *f)
{
    if (f->r.ops == &bp_ring_split_ops) {
        uint16_t *avail = (uint16_t *)f->r.drv + 2;
        vring_used_elem *used = (vring_used_elem *)((uint16_t *)f->r.dev + 2);

        used[f->dev_used % NUM] = (vring_used_elem){ avail[f->dev_avail++ % NUM], 4097 };
        __atomic_store_n((uint16_t *)f->r.dev + 1, ++f->dev_used, __ATOMIC_RELEASE);
    } else {
        vring_packed_desc *d = f->r.desc;
        uint16_t pos = f->dev_used, flags = f->dev_wrap ? (1u << 7 | 1u << 15) : 0;

        d[pos].len = 4097;   /* the id stays: in order, the head's own */
        __atomic_store_n(&d[pos].flags, flags, __ATOMIC_RELEASE);
        for (int k = 0; k < 3; k++) {
            if (++f->dev_used == NUM) {
                f->dev_used = 0;
                f->dev_wrap = !f->dev_wrap;
            }
        }
    }
}

static uint32_t used_base(const ring_fixture *f, unsigned int taken)
{
    uint32_t pos = 3 * taken % NUM | (3 * taken < NUM ? 0x8000u : 0);

    return f->r.ops == &bp_ring_split_ops ? taken : pos | pos << 16;
}

/* GET_VRING_BASE against the used side, for one layout. */
static void check_stopped(bool packed)
{
    ring_fixture f;
    uint16_t n;

    fixture_init(&f, packed);
    add(&f, 0);
    add(&f, 1);
    device_use(&f);
    bp_ring_used_end(&f.r, &n);
    CHECK_EQ_U64(n, 1, "one used, not taken back");
    CHECK(!bp_ring_check_stopped(&f.r, used_base(&f, 1)), "took one, used it");
    CHECK_EQ_U64(bp_ring_check_stopped(&f.r, packed ? (used_base(&f, 2) & 0xffffu) |
                                                          (used_base(&f, 1) & 0xffff0000u)
                                                    : used_base(&f, 2)),
                 (uint64_t)-EINPROGRESS, "took two, used one");
    CHECK_EQ_U64(bp_ring_check_stopped(&f.r, packed ? 7u | 7u << 16 : 3),
                 (uint64_t)-ERANGE, "took more than was made available");
    device_use(&f);
    CHECK(!bp_ring_check_stopped(&f.r, used_base(&f, 2)), "took two, used both");
    fixture_destroy(&f);
}

static void test_stopped_split(void)
{
    check_stopped(false);
}

static void test_stopped_packed(void)
{
    check_stopped(true);
}

/* ---- the window ------------------------------------------------------------- */

static void take(ring_fixture *f, bp_qlog *ql, bp_logwin *w, bool before)
{
    bp_used u;

    CHECK_EQ_U64(bp_ring_get_used(&f->r, &u), 1, "a used buffer");
    bp_qlog_complete(ql, w, &f->r, &f->slot[u.slot], &u, before);
}

static bool required(const bp_logwin *w, const bp_mem *m, uint64_t gpa)
{
    return w->wrote.page[(gpa - m->bank[0].gpa) / BP_PAGE].kind != BP_WROTE_NONE;
}

/* Before the switch, the first after it, after it, after logging stopped. */
static void check_window(bool packed)
{
    ring_fixture f;
    bp_logwin w = { .state = BP_LOG_IDLE };
    bp_qlog ql;

    fixture_init(&f, packed);
    CHECK(!bp_wrote_init(&w.wrote, &f.m), "records");
    bp_qlog_init(&ql, 0, f.ring_gpa);
    for (unsigned int i = 0; i < 4; i++)
        add(&f, i);
    device_use(&f);                              /* slot 0: used before logging started */
    bp_logwin_set(&w, BP_LOG_ON);
    bp_qlog_observe(&ql, &w, &f.r);
    device_use(&f);                              /* slot 1: the first after the switch */
    device_use(&f);                              /* slot 2: after it */
    take(&f, &ql, &w, true);
    take(&f, &ql, &w, true);
    CHECK(!required(&w, &f.m, f.slot[0].meta_gpa), "used before the switch: not required");
    CHECK(!required(&w, &f.m, f.slot[1].meta_gpa), "the first after the switch: buffers exempt");
    CHECK(!required(&w, &f.m, f.ring_gpa), "its ring entry waits for the next completion");
    take(&f, &ql, &w, true);
    CHECK(required(&w, &f.m, f.slot[2].meta_gpa), "status byte required");
    CHECK(required(&w, &f.m, f.slot[2].seg[0].gpa), "data of a read required");
    CHECK(required(&w, &f.m, f.ring_gpa), "the ring entry of the one before, now");
    CHECK(ql.stats.checked == 1 && ql.stats.across == 1 && ql.stats.exempt == 1, "counts");
    bp_logwin_set(&w, BP_LOG_CLOSED);
    device_use(&f);
    take(&f, &ql, &w, false);
    CHECK(!required(&w, &f.m, f.slot[3].meta_gpa), "taken back after logging stopped");
    CHECK_EQ_U64(ql.nheld, 0, "the last ring entry before the stop of logging is dropped");
    bp_wrote_destroy(&w.wrote);
    fixture_destroy(&f);
}

static void test_window_split(void)
{
    check_window(false);
}

static void test_window_packed(void)
{
    check_window(true);
}

int main(void)
{
    RUN(test_log_area);
    RUN(test_wrote_check);
    RUN(test_stopped_split);
    RUN(test_stopped_packed);
    RUN(test_window_split);
    RUN(test_window_packed);
    return 0;
}
