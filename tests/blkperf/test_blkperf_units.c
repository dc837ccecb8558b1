/* SPDX-License-Identifier: MIT */
/*
 * Unit test of guestmem-blkperf's own pieces, compiled from its sources:
 * the latency histogram, the verify pattern and record, request splitting
 * within device limits, the workload generator and the vIOMMU's IOVA
 * allocator. The end-to-end runs (blkperf_test.sh) cannot tell, for
 * example, a histogram that is 20 % off or a splitter that never produces
 * odd addresses; these checks can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bp_iommu.h"
#include "bp_mem.h"
#include "bp_proto.h"
#include "bp_request.h"
#include "bp_stats.h"
#include "bp_util.h"
#include "bp_verify.h"
#include "bp_workload.h"
#include "check.h"

/* Every value lies in its bucket; buckets grow monotonically. */
static void test_hist_buckets(void)
{
    bp_rng rng;

    bp_rng_seed(&rng, 1);
    for (int i = 0; i < 200000; i++) {
        uint64_t v = bp_rng_next(&rng) >> bp_rng_below(&rng, 64);
        unsigned int b = bp_hist_bucket(v);

        CHECK(b < BP_HIST_BUCKETS, "bucket %u of %llu", b, (unsigned long long)v);
        CHECK(bp_hist_bucket_low(b) <= v, "low of bucket %u above %llu", b, (unsigned long long)v);
        CHECK(b + 1 == BP_HIST_BUCKETS || bp_hist_bucket_low(b + 1) > v,
              "%llu belongs to a later bucket", (unsigned long long)v);
    }
    for (unsigned int b = 1; b < BP_HIST_BUCKETS; b++)
        CHECK(bp_hist_bucket_low(b) > bp_hist_bucket_low(b - 1), "bucket %u not above %u", b, b - 1);
}

/* Percentiles of 1..100000 within 1/32 of the exact value; min and max exact. */
static void test_hist_percentiles(void)
{
    static const double pcts[] = { 1, 50, 90, 99, 99.9 };
    bp_hist a, b;

    bp_hist_init(&a);
    bp_hist_init(&b);
    for (uint64_t v = 1; v <= 100000; v++)
        bp_hist_add(v % 2 ? &a : &b, v);
    bp_hist_merge(&a, &b);
    CHECK_EQ_U64(a.count, 100000, "merged count");
    CHECK_EQ_U64(a.min, 1, "min");
    CHECK_EQ_U64(a.max, 100000, "max");
    for (unsigned int i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        double want = pcts[i] * 1000, got = (double)bp_hist_percentile(&a, pcts[i]);

        CHECK(got >= want * (1 - 1.0 / 32) && got <= want * (1 + 1.0 / 32),
              "p%g: %.0f, exact %.0f", pcts[i], got, want);
    }
    bp_hist_init(&b);
    CHECK_EQ_U64(bp_hist_percentile(&b, 50), 0, "empty histogram");
}

/* Filling in pieces at odd offsets gives the same bytes as one fill; a flip is found where it is. */
static void test_pattern(void)
{
    uint8_t whole[4096], parts[4096];
    bp_mismatch mm;

    bp_pattern_fill(42, 1000003, whole, sizeof(whole));
    for (size_t off = 0, n = 1; off < sizeof(parts); off += n, n = n * 3 % 97 + 1)
        bp_pattern_fill(42, 1000003 + off, parts + off, off + n > sizeof(parts) ? sizeof(parts) - off : n);
    CHECK(!memcmp(whole, parts, sizeof(whole)), "pieces differ from one fill");
    CHECK(bp_pattern_check(42, 1000003, whole, sizeof(whole), &mm), "own pattern rejected");
    whole[777] ^= 0x10;
    CHECK(!bp_pattern_check(42, 1000003, whole, sizeof(whole), &mm), "flip not found");
    CHECK_EQ_U64(mm.offset, 1000003 + 777, "mismatch offset");
    whole[777] ^= 0x10;
    CHECK(!bp_pattern_check(43, 1000003, whole, sizeof(whole), &mm), "other seed accepted");
    CHECK(!bp_pattern_check(42, 1000003 + 8, whole, sizeof(whole), &mm), "shifted data accepted");
}

/* The read-back rules of each sector state, with and without --verify-zeroed. */
static void test_verify_record(void)
{
    const uint64_t base = 1 << 20, s1 = base + BLK_SECTOR, s2 = base + 2 * BLK_SECTOR;
    uint8_t buf[3 * BLK_SECTOR], want;
    bp_verify v;
    bp_mismatch mm;

    CHECK(!bp_verify_init(&v, 9, base, 16 * BLK_SECTOR, true), "init");
    bp_verify_mark(&v, base, BLK_SECTOR, true);    /* sector 0 written */
    bp_verify_mark(&v, s1, BLK_SECTOR, false);     /* sector 1: the write failed */
    bp_pattern_fill(9, base, buf, 2 * BLK_SECTOR); /* sector 1 landed anyway */
    memset(buf + 2 * BLK_SECTOR, 0, BLK_SECTOR);   /* sector 2 untouched */
    CHECK(bp_verify_sectors(&v, base, buf, sizeof(buf), &mm), "consistent data rejected");
    memset(buf + BLK_SECTOR, 0, BLK_SECTOR);
    CHECK(bp_verify_sectors(&v, base, buf, sizeof(buf), &mm), "a failed write as zeros rejected");
    bp_pattern_fill(9, s1 + 3, &want, 1);
    buf[BLK_SECTOR + 3] = (uint8_t)(want ^ 0x80) ? (uint8_t)(want ^ 0x80) : 1;
    CHECK(!bp_verify_sectors(&v, base, buf, sizeof(buf), &mm), "garbage in a failed write accepted");
    CHECK_EQ_U64(mm.offset, s1 + 3, "mismatch offset");
    buf[BLK_SECTOR + 3] = 0;
    buf[2 * BLK_SECTOR + 100] = 1;
    CHECK(!bp_verify_sectors(&v, base, buf, sizeof(buf), &mm), "untouched non-zero accepted");
    CHECK_EQ_U64(mm.offset, s2 + 100, "mismatch offset");
    CHECK(bp_verify_all_written(&v, base, BLK_SECTOR), "sector 0 written");
    CHECK(!bp_verify_all_written(&v, base, 2 * BLK_SECTOR), "sector 1 not written");
    v.zeroed = false;
    CHECK(bp_verify_sectors(&v, s1, buf + BLK_SECTOR, 2 * BLK_SECTOR, &mm),
          "without --verify-zeroed unknown sectors are not judged");
    bp_verify_destroy(&v);
}

static void check_split(const bp_slot *s, const bp_req_cfg *cfg, uint32_t len)
{
    uint64_t sum = 0, end = 0;

    CHECK(s->nseg >= 1 && s->nseg <= BP_MAX_SEGS, "%u segments", s->nseg);
    CHECK(!cfg->seg_max || s->nseg <= cfg->seg_max, "%u segments over seg_max %u", s->nseg, cfg->seg_max);
    for (unsigned int i = 0; i < s->nseg; i++) {
        const bp_seg *g = &s->seg[i];

        CHECK(g->len >= 1 && g->len <= cfg->size_max, "segment %u of %u bytes", i, g->len);
        CHECK(g->gpa - s->data_gpa >= end, "segment %u overlaps the one before", i);
        CHECK(g->hva - s->data == (ptrdiff_t)(g->gpa - s->data_gpa), "segment %u: hva/gpa", i);
        if (cfg->unaligned)
            CHECK(g->gpa & 1, "segment %u at an even address", i);
        else
            CHECK(!(g->len % BLK_SECTOR) && !((g->gpa - s->data_gpa) % BLK_SECTOR), "segment %u", i);
        end = g->gpa - s->data_gpa + g->len;
        sum += g->len;
    }
    CHECK_EQ_U64(sum, len, "segments add up to the request");
    CHECK(s->nseg >= (cfg->segments < len / (cfg->unaligned ? 1 : BLK_SECTOR) ?
                      cfg->segments : len / (cfg->unaligned ? 1 : BLK_SECTOR)) ||
          (cfg->seg_max && s->nseg == cfg->seg_max), "too few segments: %u", s->nseg);
}

/* Random requests against random limits: sizes, counts, alignment and placement hold. */
static void test_split(void)
{
    bp_rng rng;
    bp_mem m;

    bp_rng_seed(&rng, 3);
    for (int round = 0; round < 40; round++) {
        bp_req_cfg cfg = { .segments = 1 + (unsigned int)bp_rng_below(&rng, 8),
                           .unaligned = round & 1, .size_max = 4096u << bp_rng_below(&rng, 5),
                           .seg_max = round % 3 ? 126 : 0, .bs_max = 256 << 10 };
        bp_slot s;

        bp_mem_init(&m);
        bp_slot_alloc(&s, &m, round % 2, &cfg);
        CHECK(!bp_mem_create(&m), "guest RAM");
        bp_slot_alloc(&s, &m, round % 2, &cfg);
        for (int i = 0; i < 200; i++) {
            uint32_t len = (1 + (uint32_t)bp_rng_below(&rng, cfg.bs_max / BLK_SECTOR)) * BLK_SECTOR;
            bp_io io = { i & 1, (uint64_t)i * BLK_SECTOR, len };

            bp_slot_prepare(&s, &cfg, &rng, &io);
            check_split(&s, &cfg, len);
            CHECK(s.seg[s.nseg - 1].gpa + s.seg[s.nseg - 1].len <= s.data_gpa + cfg.bs_max +
                  BP_MAX_SEGS * (BP_SEG_GAP_MAX + 1) + BP_PAGE, "segments leave the data area");
        }
        bp_mem_destroy(&m);
    }
}

/* One sequential pass covers the region once, a longer job wraps; random offsets stay aligned and inside. */
static void test_workload(void)
{
    bp_job j = { .rw = BP_RW_WRITE, .bs_min = 4096, .bs_max = 4096, .align = 4096,
                 .offset = 1 << 20, .size = 10 * 4096 + 2048, .once = true };
    uint64_t next = j.offset, reads = 0;
    bp_rng rng;
    bp_io io;

    bp_rng_seed(&rng, 5);
    while (bp_job_next(&j, &rng, &io)) {
        CHECK_EQ_U64(io.offset, next, "sequential offset");
        CHECK(io.write, "a write job writes");
        next += io.len;
    }
    CHECK_EQ_U64(next, j.offset + j.size, "one pass ends at the end of the region");
    j = (bp_job){ .rw = BP_RW_READ, .bs_min = 4096, .bs_max = 12288, .align = 4096,
                  .offset = 1 << 20, .size = 10 * 4096, .ios = 100 };
    for (int i = 0; i < 100; i++) {
        CHECK(bp_job_next(&j, &rng, &io), "sequential request %d of 100 (past the end: again)", i);
        CHECK(io.offset >= j.offset && io.offset + io.len <= j.offset + j.size, "inside the region");
    }
    CHECK(!bp_job_next(&j, &rng, &io), "--ios is exact for a sequential job too");
    j = (bp_job){ .rw = BP_RW_RANDREAD, .bs_min = 4096, .bs_max = 4096, .align = 4096,
                  .size = 1 << 20, .ios = 100 };
    bp_job_set_gate(&j, 25);
    for (int i = 0; i < 25; i++)
        CHECK(!bp_job_gated(&j) && bp_job_next(&j, &rng, &io), "request %d before the gate", i);
    CHECK(bp_job_gated(&j), "the job waits at its gate");
    bp_job_set_gate(&j, 0);
    CHECK(!bp_job_gated(&j) && bp_job_next(&j, &rng, &io), "and goes on once it is lifted");
    j = (bp_job){ .rw = BP_RW_READ, .bs_min = 4096, .bs_max = 4096, .align = 4096,
                  .offset = 1 << 20, .size = 10 * 4096 + 2048, .ios = 25 };
    for (int i = 0; i < 25; i++) {
        CHECK(bp_job_next(&j, &rng, &io), "timed sequential request %d", i);
        CHECK_EQ_U64(io.offset, j.offset + (i % 10) * 4096ull, "wraps to the start of the region");
    }
    j = (bp_job){ .rw = BP_RW_RANDRW, .rwmixread = 30, .bs_min = 512, .bs_max = 65536,
                  .align = 512, .offset = 4096, .size = 1 << 20, .ios = 10000 };
    for (int i = 0; i < 10000; i++) {
        CHECK(bp_job_next(&j, &rng, &io), "request %d of 10000", i);
        CHECK(io.offset % 512 == 0 && io.len % 512 == 0 && io.len >= 512 && io.len <= 65536, "shape");
        CHECK(io.offset >= 4096 && io.offset + io.len <= 4096 + (1 << 20), "inside the region");
        reads += !io.write;
    }
    CHECK(!bp_job_next(&j, &rng, &io), "--ios is exact");
    CHECK(reads > 2700 && reads < 3300, "rwmixread 30: %llu reads of 10000", (unsigned long long)reads);
}

/* Page offsets kept, live ranges disjoint, freed ranges handed out first, a full window refused. */
static void test_iova(void)
{
    static uint8_t buf[8 * 4096] __attribute__((aligned(4096)));
    bp_conn conn;
    bp_iommu io;
    bp_iomap a, b, c;

    bp_conn_init(&conn, 100);
    CHECK(!bp_iommu_init(&io, &conn, BP_IOMMU_STRICT, 1, true, 64 * 4096), "init");
    CHECK(!bp_iommu_map(&io, buf + 4097, 5000, VU_ACCESS_RO, &a), "map a");
    CHECK_EQ_U64(a.iova & 4095, 1, "page offset kept");
    CHECK_EQ_U64(a.mapped, 2, "pages mapped");
    CHECK(a.iova != (uintptr_t)(buf + 4097), "IOVA differs from the address");
    CHECK(!bp_iommu_map(&io, buf, 1, VU_ACCESS_WO, &b), "map b");
    CHECK(b.base + 4096 * (uint64_t)b.pages <= a.base || a.base + 4096 * (uint64_t)a.pages <= b.base,
          "live ranges overlap");
    CHECK(!bp_iommu_unmap(&io, &b, 1), "unmap b (the connection is down: dropped)");
    CHECK(!bp_iommu_map(&io, buf + 8192, 10, VU_ACCESS_RW, &c), "map c");
    CHECK_EQ_U64(c.base, b.base, "the freed range is reused first");
    for (int i = 0; i < 64; i++) {
        bp_iomap m;
        int err = bp_iommu_map(&io, buf, 4096, VU_ACCESS_RO, &m);

        if (err) {
            CHECK(err == -ENOSPC, "a full window: %d", err);
            bp_iommu_destroy(&io);
            return;
        }
    }
    CHECK(false, "64 more pages fit in a 64-page window");
}

int main(void)
{
    RUN(test_hist_buckets);
    RUN(test_hist_percentiles);
    RUN(test_pattern);
    RUN(test_verify_record);
    RUN(test_split);
    RUN(test_workload);
    RUN(test_iova);
    return 0;
}
