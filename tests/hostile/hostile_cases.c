/* SPDX-License-Identifier: MIT */
/*
 * e2e-hostile-guest: the malformed requests.
 *
 * Each case builds one request, says what the device must do with it
 * (hostile.h, enum hs_expect) and runs it through hs_run(), which checks the
 * outcome, the back-end process and guest RAM; then hs_valid_requests()
 * checks that the device still serves correct requests.
 *
 * A READ's refused destination and a WRITE's refused source aim at the
 * victim sectors, which the follow-up READ proves unchanged. Cases that only
 * differ from another one by touching an address no IOTLB entry covers are
 * left out of the IOMMU run: each such access waits for the back-end's miss
 * timeout (2 s), and the IOMMU cases cover that path once per direction.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "hostile.h"

#define MISS_TIMEOUT_MS 2000
/* A request whose buffers miss in the IOTLB may wait for several timeouts. */
#define STALL_BOUND_MS (4 * MISS_TIMEOUT_MS + 1500)

static const char *const recovery_names[] = {
    [HS_RECOVER_RING] = "ring restart",
    [HS_RECOVER_RESET] = "RESET_DEVICE",
    [HS_RECOVER_RECONNECT] = "reconnect",
};

static void expect_break(hs_req *q, const char *reason)
{
    q->expect = HS_EXPECT_BREAK;
    q->reason = reason;
}

static void expect_status(hs_req *q, uint8_t status)
{
    q->expect = HS_EXPECT_STATUS;
    q->want_status = status;
}

/* Run a malformed request, report it, then prove the device still serves. */
static void bad(hs *s, hs_req *q)
{
    if (q->expect == HS_EXPECT_BREAK && q->recovery == HS_RECOVER_AUTO)
        q->recovery = (enum hs_recovery)(HS_RECOVER_RING + s->breaks % 3);
    hs_run(s, q);
    if (q->expect == HS_EXPECT_BREAK)
        printf("ok - %s: %s: queue stopped; %s restored service", s->name, q->what,
               recovery_names[q->recovery]);
    else if (q->expect == HS_EXPECT_NO_STATUS)
        printf("ok - %s: %s: completed with used.len 0 (no writable status byte) in %lld ms",
               s->name, q->what, (long long)q->elapsed_ms);
    else
        printf("ok - %s: %s: status %s in %lld ms", s->name, q->what,
               q->status == 0 ? "OK" : q->status == 1 ? "IOERR" : "UNSUPP",
               (long long)q->elapsed_ms);
    if (q->misses_unanswered)
        printf(" (%u IOTLB misses unanswered)", q->misses_unanswered);
    printf("\n");
    hs_iommu_reset(s);   /* the follow-ups reuse the case's IOVAs */
    hs_valid_requests(s);
}

/* Leave @n cases out of the IOMMU run (see the comment at the top). */
static bool skip_unmapped(hs *s, unsigned int n)
{
    if (s->iommu)
        s->skipped += n;
    return s->iommu;
}

/* ---- ring-level violations: the queue stops --------------------------------------- */

/* Header, 62 one-sector buffers and the status: every descriptor of the table. */
static void whole_table_chain(hs *s, hs_req *q, uint32_t type, uint64_t sector)
{
    uint16_t data_flags = HS_DESC_NEXT | (type == HS_T_IN ? HS_DESC_WRITE : 0);

    q->type = type;
    q->sector = sector;
    hs_add(q, hs_header(s, type, sector), 16, HS_DESC_NEXT);
    for (unsigned int i = 0; i < HS_QSIZE - 2; i++) {
        uint64_t data = hs_buf(s, i & 1, HS_SECTOR, 0, 0xa5);

        hs_add(q, data, HS_SECTOR, data_flags);
        q->data[q->ndata++] = (hs_range){ data, HS_SECTOR };
    }
    q->data_len = (HS_QSIZE - 2) * HS_SECTOR;
    q->status_dma = hs_status_buf(s);
    hs_add(q, q->status_dma, 1, HS_DESC_WRITE);
}

/* An indirect table holding a correct READ of one sector. */
static unsigned int table_read(hs *s, hs_req *q, hs_desc *t, uint64_t sector)
{
    uint64_t data = hs_buf(s, 1, HS_SECTOR, 0, 0xa5);

    q->type = HS_T_IN;
    q->sector = sector;
    q->data_len = HS_SECTOR;
    q->data[q->ndata++] = (hs_range){ data, HS_SECTOR };
    q->status_dma = hs_status_buf(s);
    t[0] = (hs_desc){ hs_header(s, HS_T_IN, sector), 16, HS_DESC_NEXT, 1, false };
    t[1] = (hs_desc){ data, HS_SECTOR, HS_DESC_NEXT | HS_DESC_WRITE, 2, false };
    t[2] = (hs_desc){ q->status_dma, 1, HS_DESC_WRITE, 0, false };
    hs_note_writable(q, data, HS_SECTOR);
    hs_note_writable(q, q->status_dma, 1);
    return 3;
}

static void indirect_len_case(hs *s, const char *what, uint32_t len)
{
    uint64_t table = hs_dma(s, HS_TABLE_GPA);
    hs_desc t[3];
    hs_req q;

    hs_req_init(&q, what);
    hs_put_table(s, table, t, table_read(s, &q, t, HS_VICTIM_SECTOR));
    hs_add(&q, table, len, HS_DESC_INDIRECT);
    expect_break(&q, "indirect table length not 1..32768");
    bad(s, &q);
}

void hs_cases_chain(hs *s)
{
    uint64_t table = hs_dma(s, HS_TABLE_GPA);
    static hs_desc t[1100];
    hs_req q;
    unsigned int n;

    hs_req_init(&q, "descriptor whose next is itself");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].next = 1;
    expect_break(&q, "chain longer than the queue");
    bad(s, &q);

    /* Loops of readable descriptors only: a writable one followed by the
     * head would be refused as "readable after writable" first. */
    hs_req_init(&q, "chain looping back to its head");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].next = 0;
    expect_break(&q, "chain longer than the queue");
    bad(s, &q);

    hs_req_init(&q, "chain through all 64 descriptors and on (longer than the queue)");
    whole_table_chain(s, &q, HS_T_OUT, HS_VICTIM_SECTOR);
    q.d[HS_QSIZE - 1] = (hs_desc){ q.d[1].addr, HS_SECTOR, HS_DESC_NEXT, 0, false };
    expect_break(&q, "chain longer than the queue");
    bad(s, &q);

    hs_req_init(&q, "READ chain of exactly 64 descriptors (the whole table; valid)");
    whole_table_chain(s, &q, HS_T_IN, 100);
    bad(s, &q);

    hs_req_init(&q, "WRITE chain of exactly 64 descriptors (the whole table; valid)");
    whole_table_chain(s, &q, HS_T_OUT, 100);
    bad(s, &q);

    hs_req_init(&q, "next index = queue size");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[0].next = HS_QSIZE;
    q.d[0].raw_next = true;
    expect_break(&q, "next index beyond the table");
    bad(s, &q);

    hs_req_init(&q, "next index 0xffff");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].next = 0xffff;
    q.d[1].raw_next = true;
    expect_break(&q, "next index beyond the table");
    bad(s, &q);

    hs_req_init(&q, "available ring head = queue size");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.raw_head = true;
    q.head_raw = HS_QSIZE;
    expect_break(&q, "head index");
    bad(s, &q);

    hs_req_init(&q, "readable descriptor after a writable one");
    hs_add(&q, hs_header(s, HS_T_OUT, HS_VICTIM_SECTOR), 16, HS_DESC_NEXT);
    hs_add(&q, hs_status_buf(s), 1, HS_DESC_NEXT | HS_DESC_WRITE);
    hs_add(&q, hs_buf(s, 0, HS_SECTOR, 0, 0x5a), HS_SECTOR, 0);
    expect_break(&q, "readable descriptor after a writable one");
    bad(s, &q);

    /* indirect tables */
    hs_req_init(&q, "INDIRECT inside an indirect table");
    n = table_read(s, &q, t, HS_VICTIM_SECTOR);
    hs_put_table(s, table + 0x1000, t, n);
    t[1] = (hs_desc){ table + 0x1000, 16 * n, HS_DESC_INDIRECT, 0, false };
    hs_put_table(s, table, t, 2);
    hs_add(&q, table, 32, HS_DESC_INDIRECT);
    expect_break(&q, "INDIRECT inside an indirect table");
    bad(s, &q);

    hs_req_init(&q, "INDIRECT together with NEXT");
    hs_put_table(s, table, t, table_read(s, &q, t, HS_VICTIM_SECTOR));
    hs_add(&q, table, 48, HS_DESC_INDIRECT | HS_DESC_NEXT);
    hs_add(&q, hs_status_buf(s), 1, HS_DESC_WRITE);
    expect_break(&q, "INDIRECT together with NEXT");
    bad(s, &q);

    indirect_len_case(s, "indirect table length 40 (not a multiple of 16)", 40);
    indirect_len_case(s, "indirect table length 0", 0);
    indirect_len_case(s, "indirect table length 0xfffffff0", 0xfffffff0u);
    indirect_len_case(s, "indirect table of 32769 descriptors", 32769u * 16);

    hs_req_init(&q, "indirect table of the maximum 32768 descriptors (valid)");
    hs_put_table(s, table, t, table_read(s, &q, t, 200));
    hs_add(&q, table, 32768u * 16, HS_DESC_INDIRECT);
    bad(s, &q);

    hs_req_init(&q, "indirect table with a loop");
    n = table_read(s, &q, t, HS_VICTIM_SECTOR);
    t[2].flags |= HS_DESC_NEXT;
    t[2].next = 1;
    hs_put_table(s, table, t, n);
    hs_add(&q, table, 16 * n, HS_DESC_INDIRECT);
    expect_break(&q, "indirect chain loops");
    bad(s, &q);

    hs_req_init(&q, "indirect next index beyond its table");
    n = table_read(s, &q, t, HS_VICTIM_SECTOR);
    t[1].next = 3;
    hs_put_table(s, table, t, n);
    hs_add(&q, table, 16 * n, HS_DESC_INDIRECT);
    expect_break(&q, "next index beyond the table");
    bad(s, &q);

    hs_req_init(&q, "indirect chain of 1100 buffers (above the 1026 segments accepted)");
    {
        uint64_t data = hs_buf(s, 1, 16, 0, 0xa5);

        t[0] = (hs_desc){ hs_header(s, HS_T_IN, HS_VICTIM_SECTOR), 16, HS_DESC_NEXT, 1, false };
        for (n = 1; n < 1099; n++)
            t[n] = (hs_desc){ data, 16, HS_DESC_NEXT | HS_DESC_WRITE, (uint16_t)(n + 1), false };
        t[n] = (hs_desc){ hs_status_buf(s), 1, HS_DESC_WRITE, 0, false };
        hs_put_table(s, table, t, 1100);
        hs_add(&q, table, 1100 * 16, HS_DESC_INDIRECT);
    }
    expect_break(&q, "more buffers than the element holds");
    bad(s, &q);

    hs_req_init(&q, "indirect table in the hole between memory regions");
    hs_add(&q, hs_dma(s, HS_HOLE_GPA + 0x1000), 48, HS_DESC_INDIRECT);
    expect_break(&q, "indirect descriptor unreadable");
    if (s->iommu)
        q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    hs_req_init(&q, "indirect table wrapping 2^64");
    hs_add(&q, 0xfffffffffffffff0ull, 32, HS_DESC_INDIRECT);
    expect_break(&q, "indirect table wraps 2^64");
    bad(s, &q);

    if (!skip_unmapped(s, 1)) {
        hs_req_init(&q, "indirect table at 2^64-16 (last 16 bytes of the address space)");
        hs_add(&q, 0xfffffffffffffff0ull, 16, HS_DESC_INDIRECT);
        expect_break(&q, "indirect descriptor unreadable");
        bad(s, &q);
    }

    /* addresses and lengths */
    hs_req_init(&q, "data buffer wrapping 2^64 (2^64-256, 512 bytes)");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].addr = 0xffffffffffffff00ull;
    expect_break(&q, "buffer wraps 2^64");
    bad(s, &q);

    hs_req_init(&q, "data buffer at 2^64-1 of length 0xffffffff");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].addr = 0xffffffffffffffffull;
    q.d[1].len = 0xffffffffu;
    expect_break(&q, "buffer wraps 2^64");
    bad(s, &q);

    hs_req_init(&q, "data buffer of length 0xffffffff (4 GiB) in RAM");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].len = 0xffffffffu;
    q.wr[0].len = 0xffffffffu;
    expect_break(&q, "total length above the chain limit");
    bad(s, &q);

    hs_req_init(&q, "two data buffers of 768 MiB (1.5 GiB in all)");
    hs_add(&q, hs_header(s, HS_T_IN, HS_VICTIM_SECTOR), 16, HS_DESC_NEXT);
    hs_add(&q, hs_dma(s, HS_DATA0_GPA), 0x30000000u, HS_DESC_NEXT | HS_DESC_WRITE);
    hs_add(&q, hs_dma(s, HS_R1_GPA), 0x30000000u, HS_DESC_NEXT | HS_DESC_WRITE);
    hs_add(&q, hs_status_buf(s), 1, HS_DESC_WRITE);
    expect_break(&q, "total length above the chain limit");
    bad(s, &q);
}

/* ---- request-level errors: an error status, the queue goes on ------------------- */

void hs_range_case(hs *s, const char *what, uint32_t type, uint64_t sector,
                   uint64_t count_flags, uint8_t status)
{
    uint64_t seg[2] = { sector, count_flags };
    uint64_t data;
    hs_req q;

    hs_req_init(&q, what);
    hs_std(s, &q, type, 0, 0, 0);
    data = hs_buf(s, 0, 16, 0, 0);
    memcpy(hs_host(s, data, 16), seg, 16);
    q.d[2] = q.d[1];
    q.d[1] = (hs_desc){ data, 16, HS_DESC_NEXT, 2, false };
    q.nd = 3;
    expect_status(&q, status);
    bad(s, &q);
}

void hs_cases_request(hs *s)
{
    hs_req q;
    uint64_t data;

    hs_req_init(&q, "no header (writable buffers only)");
    q.status_dma = hs_status_buf(s);
    hs_add(&q, hs_buf(s, 0, HS_SECTOR, 0, 0xa5), HS_SECTOR, HS_DESC_NEXT | HS_DESC_WRITE);
    hs_add(&q, q.status_dma, 1, HS_DESC_WRITE);
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "header of 8 bytes");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[0].len = 8;
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "header descriptor of length 0");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[0].len = 0;
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "header split over two descriptors of 8 bytes (valid)");
    hs_std(s, &q, HS_T_IN, 300, 2 * HS_SECTOR, 1);
    memmove(&q.d[2], &q.d[1], 2 * sizeof(q.d[0]));
    q.d[0].len = 8;
    q.d[1] = (hs_desc){ q.d[0].addr + 8, 8, HS_DESC_NEXT, 0, false };
    q.nd = 4;
    for (unsigned int i = 0; i < 4; i++)
        q.d[i].next = (uint16_t)(i + 1);
    q.d[3].flags = HS_DESC_WRITE;
    bad(s, &q);

    hs_req_init(&q, "header in a writable descriptor");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[0].flags |= HS_DESC_WRITE;
    hs_note_writable(&q, q.d[0].addr, 16);
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "WRITE with no writable descriptor (status missing)");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.nd = 2;
    q.d[1].flags &= (uint16_t)~HS_DESC_NEXT;
    q.nwr = 0;
    q.status_dma = 0;
    q.expect = HS_EXPECT_NO_STATUS;
    bad(s, &q);

    hs_req_init(&q, "status in a read-only descriptor");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[2].flags = 0;
    q.nwr = 0;
    q.expect = HS_EXPECT_NO_STATUS;
    bad(s, &q);

    hs_req_init(&q, "READ whose status descriptor has length 0 (status lands in the data)");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[2].len = 0;
    q.status_dma = q.d[1].addr + HS_SECTOR - 1;   /* the last writable byte */
    expect_status(&q, HS_S_IOERR);                /* 511 data bytes: not whole sectors */
    bad(s, &q);

    hs_req_init(&q, "WRITE whose only writable descriptor has length 0");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[2].len = 0;
    q.status_dma = 0;
    q.expect = HS_EXPECT_NO_STATUS;
    bad(s, &q);

    hs_req_init(&q, "READ with a data descriptor of length 0 (no data; valid)");
    hs_std(s, &q, HS_T_IN, 400, HS_SECTOR, 0);
    q.d[1].len = 0;
    q.data_len = 0;
    q.ndata = 0;
    bad(s, &q);

    hs_req_init(&q, "READ with zero-length descriptors at 2^64-1 and in the hole (valid)");
    hs_std(s, &q, HS_T_IN, 500, 2 * HS_SECTOR, 1);
    q.d[3] = q.d[2];
    q.d[2] = q.d[1];
    q.d[1] = (hs_desc){ 0xffffffffffffffffull, 0, HS_DESC_NEXT | HS_DESC_WRITE, 2, false };
    q.d[2].next = 3;
    q.d[4] = q.d[3];
    q.d[3] = (hs_desc){ hs_dma(s, HS_HOLE_GPA), 0, HS_DESC_NEXT | HS_DESC_WRITE, 4, false };
    q.nd = 5;
    bad(s, &q);

    if (!skip_unmapped(s, 10)) {
        hs_req_init(&q, "READ into the hole between memory regions");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_PAGE, 0);
        q.d[1].addr = HS_HOLE_GPA + 0x3000;
        q.wr[0].dma = q.d[1].addr;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "WRITE from the hole between memory regions");
        hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_PAGE, 0);
        q.d[1].addr = HS_HOLE_GPA + 0x3000;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "READ across the end of region 0 into the hole");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_PAGE, 0);
        q.d[1].addr = HS_HOLE_GPA - 2048;
        q.wr[0].dma = q.d[1].addr;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "WRITE from the hole across the start of region 1");
        hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_PAGE, 0);
        q.d[1].addr = HS_R1_GPA - 2048;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "READ into MMIO space (0xfee00000)");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
        q.d[1].addr = HS_MMIO_GPA;
        q.wr[0].dma = q.d[1].addr;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "READ into the last 512 bytes of the address space");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
        q.d[1].addr = 0xfffffffffffffe00ull;
        q.wr[0].dma = q.d[1].addr;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "WRITE from address 2^64-1 (1 byte)");
        hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_SECTOR, 0);
        q.d[1].addr = 0xffffffffffffffffull;
        q.d[1].len = 1;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "header at 2^64-16");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
        q.d[0].addr = 0xfffffffffffffff0ull;
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);

        hs_req_init(&q, "status byte at 2^64-1");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
        q.d[2].addr = 0xffffffffffffffffull;
        q.status_dma = 0;
        q.expect = HS_EXPECT_NO_STATUS;
        bad(s, &q);

        hs_req_init(&q, "READ of 1 GiB - 64 KiB from region 0 (under the chain limit, past RAM)");
        hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
        q.d[1].addr = hs_dma(s, HS_DATA0_GPA);
        q.d[1].len = 0x3fff0000u;
        q.wr[0] = (hs_range){ q.d[1].addr, q.d[1].len };
        expect_status(&q, HS_S_IOERR);
        bad(s, &q);
    }

    hs_req_init(&q, "READ of 100 bytes (not whole sectors)");
    hs_std(s, &q, HS_T_IN, 600, 100, 0);
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "READ past the end of the disk");
    hs_std(s, &q, HS_T_IN, HS_DISK_SECTORS - 1, 2 * HS_SECTOR, 0);
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "WRITE at sector 2^64-1");
    hs_std(s, &q, HS_T_OUT, 0xffffffffffffffffull, HS_SECTOR, 0);
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "WRITE at sector 2^55 (byte offset wraps 2^64)");
    hs_std(s, &q, HS_T_OUT, 1ull << 55, HS_SECTOR, 0);
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);

    hs_req_init(&q, "unknown request type 0x7fff");
    hs_std(s, &q, 0x7fff, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.d[1].flags |= HS_DESC_WRITE;
    hs_note_writable(&q, q.d[1].addr, q.d[1].len);
    expect_status(&q, HS_S_UNSUPP);
    bad(s, &q);

    hs_range_case(s, "DISCARD past the end of the disk", HS_T_DISCARD, HS_VICTIM_SECTOR,
               HS_DISK_SECTORS, HS_S_IOERR);

    /* virtio 1.2, 5.2.6.2: unknown flags are UNSUPP. */
    hs_range_case(s, "WRITE_ZEROES with unknown flags", HS_T_WRITE_ZEROES, HS_VICTIM_SECTOR,
               1u | 0xfeull << 32, HS_S_UNSUPP);
    hs_range_case(s, "DISCARD with the unmap flag", HS_T_DISCARD, HS_VICTIM_SECTOR,
               1u | 1ull << 32, HS_S_UNSUPP);


    hs_req_init(&q, "WRITE_ZEROES with an 8-byte segment");
    hs_std(s, &q, HS_T_WRITE_ZEROES, 0, 0, 0);
    data = hs_buf(s, 0, 8, 0, 0);
    q.d[2] = q.d[1];
    q.d[1] = (hs_desc){ data, 8, HS_DESC_NEXT, 2, false };
    q.nd = 3;
    expect_status(&q, HS_S_IOERR);
    bad(s, &q);
}

/* ---- IOMMU: translations missing, read-only, changing under the request -------- */

static uint64_t data_dma(const hs_req *q)
{
    return q->data[0].dma;
}

static void invalidate_data(hs *s, hs_req *q)
{
    hs_iommu_invalidate(s, data_dma(q), q->data[0].len);
}

static void unmap_data(hs *s, hs_req *q)
{
    hs_iommu_set(s, data_dma(q), q->data[0].len, 0);
}

static void restore_mappings(hs *s, hs_req *q)
{
    (void)q;
    hs_iommu_reset(s);
}

/* A READ into the IOVAs of @first, which must complete OK (re-translation). */
static void read_again(hs *s, const hs_req *first)
{
    hs_req q;
    uint64_t dma = data_dma(first);
    uint8_t *p = hs_host(s, dma, first->data[0].len);

    hs_req_init(&q, "READ into the same IOVAs again");
    hs_std(s, &q, HS_T_IN, first->sector, first->data[0].len, 0);
    q.d[1].addr = dma;
    q.data[0].dma = dma;
    q.wr[0].dma = dma;
    memset(p, 0xa5, first->data[0].len);
    hs_run(s, &q);
}

void hs_cases_iommu(hs *s)
{
    hs_req q;
    int64_t ms;

    hs_req_init(&q, "READ into an IOVA with no translation");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_PAGE, 1);
    hs_iommu_set(s, data_dma(&q), HS_PAGE, 0);
    expect_status(&q, HS_S_IOERR);
    q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    hs_req_init(&q, "WRITE from an IOVA with no translation");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_PAGE, 1);
    hs_iommu_set(s, data_dma(&q), HS_PAGE, 0);
    expect_status(&q, HS_S_IOERR);
    q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    hs_req_init(&q, "READ into a read-only translation");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_PAGE, 1);
    hs_iommu_set(s, data_dma(&q), HS_PAGE, HS_ACCESS_RO);
    expect_status(&q, HS_S_IOERR);
    q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    hs_req_init(&q, "WRITE from a write-only translation");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, HS_PAGE, 1);
    hs_iommu_set(s, data_dma(&q), HS_PAGE, HS_ACCESS_WO);
    expect_status(&q, HS_S_IOERR);
    q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    hs_req_init(&q, "header IOVA with no translation");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 1);
    hs_iommu_set(s, q.d[0].addr, 16, 0);
    expect_status(&q, HS_S_IOERR);
    q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    hs_req_init(&q, "status IOVA with a read-only translation");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 1);
    hs_iommu_set(s, q.status_dma, 1, HS_ACCESS_RO);
    q.nwr = 1;   /* the status byte is not writable through the IOMMU */
    q.status_dma = 0;
    q.expect = HS_EXPECT_NO_STATUS;
    q.max_ms = STALL_BOUND_MS;
    bad(s, &q);

    /* Invalidation racing the request: the translation stays valid. */
    hs_req_init(&q, "IOTLB invalidation of the data right after the kick");
    hs_std(s, &q, HS_T_IN, 700, 16 * HS_PAGE, 1);
    q.after_kick = invalidate_data;
    hs_run(s, &q);
    printf("ok - %s: %s: status OK in %lld ms\n", s->name, q.what, (long long)q.elapsed_ms);
    read_again(s, &q);
    hs_valid_requests(s);

    /* The guest unmaps the buffer while the device works on it. */
    hs_req_init(&q, "data unmapped from the IOMMU right after the kick");
    hs_std(s, &q, HS_T_IN, 800, 16 * HS_PAGE, 1);
    q.after_kick = unmap_data;
    q.expect = HS_EXPECT_OK_OR_IOERR;
    q.max_ms = STALL_BOUND_MS;
    hs_run(s, &q);
    printf("ok - %s: %s: status %s in %lld ms\n", s->name, q.what,
           q.status ? "IOERR" : "OK", (long long)q.elapsed_ms);
    hs_iommu_reset(s);
    read_again(s, &q);
    hs_valid_requests(s);

    /* Invalidations of the rings and of everything, between requests. */
    hs_iommu_invalidate(s, hs_dma(s, HS_DESC_GPA), 3 * HS_PAGE);
    hs_valid_requests(s);
    printf("ok - %s: ring pages invalidated between requests: re-translated\n", s->name);
    hs_iommu_invalidate(s, 0, UINT64_MAX);
    hs_valid_requests(s);
    printf("ok - %s: whole IOVA space invalidated between requests: re-translated\n", s->name);

    /* The guest unmaps its own descriptor table: the ring is unusable. */
    hs_req_init(&q, "descriptor table unmapped from the IOMMU");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 1);
    hs_iommu_set(s, hs_dma(s, HS_DESC_GPA), HS_PAGE, 0);
    expect_break(&q, "descriptor unreadable");
    q.max_ms = STALL_BOUND_MS;
    q.recovery = HS_RECOVER_RING;
    q.before_recover = restore_mappings;
    bad(s, &q);

    /* Stopping the ring while the device waits for a miss nobody answers. */
    hs_req_init(&q, "GET_VRING_BASE while the device waits for an IOTLB miss");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_PAGE, 1);
    hs_iommu_set(s, data_dma(&q), HS_PAGE, 0);
    hs_submit(s, &q);
    CHECK(hs_wait_refused_miss(s, 5000), "%s: no IOTLB miss for the unmapped buffer", q.what);
    ms = hs_stop_timed(s);
    printf("ok - %s: %s: replied after %lld ms\n", s->name, q.what, (long long)ms);
    CHECK(ms <= STALL_BOUND_MS, "%s: GET_VRING_BASE took %lld ms", q.what, (long long)ms);
    hs_iommu_reset(s);
    hs_restart_ring(s);
    hs_valid_requests(s);
}

/* ---- a wild avail->idx ------------------------------------------------------------ */

void hs_cases_avail_jump(hs *s)
{
    hs_req q;

    /* avail->idx more than a queue ahead: the device cannot tell which
     * entries are real; the queue stays stopped until it is set up again. */
    hs_req_init(&q, "avail->idx 65 ahead of the device (queue size 64)");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.idx_extra = HS_QSIZE;
    expect_break(&q, "avail->idx");
    q.recovery = HS_RECOVER_RECONNECT;
    bad(s, &q);

    hs_req_init(&q, "avail->idx 0x8000 ahead of the device");
    hs_std(s, &q, HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 0);
    q.idx_extra = 0x7fff;
    expect_break(&q, "avail->idx");
    q.recovery = HS_RECOVER_RING;
    bad(s, &q);
}

/* ---- stalls on untranslatable IOVAs (the "stall" run) ---- */

/*
 * How long one request with untranslatable buffers holds the queue, and how
 * long GET_VRING_BASE takes with such requests queued. Either should be
 * about one miss timeout: the front-end (QEMU) waits for GET_VRING_BASE
 * synchronously, and serves no misses meanwhile. (GET_VRING_BASE used to
 * hang here: the device's loop kept re-checking a ring that a queue being
 * stopped would not pop from; see gm_vhost_queue_stopping().)
 */
void hs_cases_stall(hs *s)
{
    static hs_req qs[4];
    hs_req q;
    int64_t stop_ms;

    hs_req_init(&q, "WRITE of 64 KiB from IOVAs with no translation");
    hs_std(s, &q, HS_T_OUT, HS_VICTIM_SECTOR, 16 * HS_PAGE, 1);
    hs_iommu_set(s, data_dma(&q), 16 * HS_PAGE, 0);
    expect_status(&q, HS_S_IOERR);
    q.max_ms = 60000;
    bad(s, &q);

    for (unsigned int i = 0; i < 4; i++) {
        hs_req_init(&qs[i], "READ into an IOVA with no translation, queued");
        hs_std(s, &qs[i], HS_T_IN, HS_VICTIM_SECTOR, HS_SECTOR, 1);
        hs_iommu_set(s, data_dma(&qs[i]), HS_SECTOR, 0);
        hs_submit(s, &qs[i]);
    }
    CHECK(hs_wait_refused_miss(s, 5000), "no IOTLB miss for the queued requests");
    stop_ms = hs_stop_timed(s);
    printf("ok - %s: GET_VRING_BASE with 4 such READs queued: replied after %lld ms\n", s->name,
           (long long)stop_ms);
    hs_iommu_reset(s);
    hs_restart_ring(s);
    hs_valid_requests(s);
    CHECK(q.elapsed_ms <= STALL_BOUND_MS && stop_ms <= STALL_BOUND_MS,
          "untranslatable IOVAs stall the queue for %lld ms (one request) and GET_VRING_BASE "
          "for %lld ms (four queued); the miss timeout is %d ms",
          (long long)q.elapsed_ms, (long long)stop_ms, MISS_TIMEOUT_MS);
}
