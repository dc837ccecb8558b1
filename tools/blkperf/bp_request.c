/* SPDX-License-Identifier: MIT */
/*
 * Building virtio-blk requests in a slot's guest memory (bp_request.h).
 *
 * Splitting: with R units (sectors, or bytes when unaligned) left for k
 * segments each of at most C units, the next segment takes a random length
 * in [max(1, R - (k-1)C), min(C, R - (k-1))]: every segment gets at least
 * one unit, none exceeds the device's size_max, and the rest always fits.
 *
 * Glossary: s = slot; cfg = request shape; unit = granularity of a split.
 */
#define _GNU_SOURCE
#include <string.h>

#include "bp_proto.h"
#include "bp_request.h"
#include "bp_verify.h"

static uint32_t unit_of(const bp_req_cfg *cfg)
{
    return cfg->unaligned ? 1 : BLK_SECTOR;
}

/* Largest segment in units. */
static uint32_t seg_cap_units(const bp_req_cfg *cfg)
{
    return cfg->size_max / unit_of(cfg);
}

unsigned int bp_req_segments_for(const bp_req_cfg *cfg, uint32_t len)
{
    uint64_t units = len / unit_of(cfg), cap = seg_cap_units(cfg);
    uint64_t need = (units + cap - 1) / cap, n = cfg->segments > need ? cfg->segments : need;
    uint64_t limit = cfg->seg_max && cfg->seg_max < BP_MAX_SEGS ? cfg->seg_max : BP_MAX_SEGS;

    if (n > units)
        n = units;
    return (unsigned int)(n <= limit ? n : (need <= limit ? limit : 0));
}

unsigned int bp_req_descs(const bp_req_cfg *cfg)
{
    return cfg->indirect ? 1 : bp_req_segments_for(cfg, cfg->bs_max) + 2;
}

static uint64_t data_bytes(const bp_req_cfg *cfg)
{
    uint64_t gaps = cfg->unaligned ? (uint64_t)BP_MAX_SEGS * (BP_SEG_GAP_MAX + 1) : 0;

    return ((uint64_t)cfg->bs_max + gaps + 2 * BP_PAGE - 1) & ~(BP_PAGE - 1);
}

void bp_slot_alloc(bp_slot *s, bp_mem *m, unsigned int bank, const bp_req_cfg *cfg)
{
    s->meta = bp_mem_alloc(m, bank, BP_SLOT_META, BP_PAGE, &s->meta_gpa);
    s->data = bp_mem_alloc(m, bank, data_bytes(cfg), BP_PAGE, &s->data_gpa);
}

static uint32_t pick(bp_rng *rng, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)bp_rng_below(rng, (uint64_t)(hi - lo) + 1);
}

/* An odd start address at least one byte past @pos. */
static uint64_t gap_after(bp_rng *rng, uint64_t pos)
{
    pos += pick(rng, 1, BP_SEG_GAP_MAX - 1);
    return pos | 1;
}

static void split(bp_slot *s, const bp_req_cfg *cfg, bp_rng *rng, uint32_t len)
{
    uint64_t unit = unit_of(cfg), cap = seg_cap_units(cfg), left = len / unit, pos = 0;

    s->nseg = bp_req_segments_for(cfg, len);
    for (unsigned int i = 0; i < s->nseg; i++) {
        uint64_t k = s->nseg - i - 1;
        uint64_t lo = left > k * cap ? left - k * cap : 1, hi = left - k < cap ? left - k : cap;
        uint64_t n = k ? pick(rng, (uint32_t)lo, (uint32_t)hi) : left;

        if (cfg->unaligned)
            pos = gap_after(rng, pos);
        s->seg[i] = (bp_seg){ s->data + pos, s->data_gpa + pos, (uint32_t)(n * unit) };
        pos += n * unit;
        left -= n;
    }
}

void bp_slot_prepare(bp_slot *s, const bp_req_cfg *cfg, bp_rng *rng, const bp_io *io)
{
    blk_req_hdr hdr = { io->write ? BLK_T_OUT : BLK_T_IN, 0, io->offset / BLK_SECTOR };

    s->io = *io;
    memcpy(s->meta, &hdr, sizeof(hdr));
    s->meta[BP_STATUS_OFF] = 0xff;
    split(s, cfg, rng, io->len);
}

/* One buffer: its guest-physical address, or a fresh IOVA with @perm. */
static int buffer(bp_slot *s, bp_iommu *io, const void *hva, uint64_t gpa, uint32_t len,
                  uint8_t perm, bp_buf *b)
{
    bp_iomap *m = &s->maps[s->nmaps];
    int err;

    b->len = len;
    b->write = perm == VU_ACCESS_WO;
    if (!io) {
        b->addr = gpa;
        return 0;
    }
    err = bp_iommu_map(io, hva, len, perm, m);
    if (err)
        return err;
    s->nmaps++;
    b->addr = m->iova;
    return 0;
}

int bp_slot_buffers(bp_slot *s, const bp_req_cfg *cfg, bp_iommu *io, bp_buf *bufs,
                    bp_table *table)
{
    uint8_t data_perm = s->io.write ? VU_ACCESS_RO : VU_ACCESS_WO;
    unsigned int n = 0;
    int err;

    s->nmaps = 0;
    err = buffer(s, io, s->meta, s->meta_gpa, sizeof(blk_req_hdr), VU_ACCESS_RO, &bufs[n++]);
    for (unsigned int i = 0; i < s->nseg && !err; i++)
        err = buffer(s, io, s->seg[i].hva, s->seg[i].gpa, s->seg[i].len, data_perm, &bufs[n++]);
    if (!err)
        err = buffer(s, io, s->meta + BP_STATUS_OFF, s->meta_gpa + BP_STATUS_OFF, 1, VU_ACCESS_WO,
                     &bufs[n++]);
    if (!err && cfg->indirect) {
        bp_buf t = { 0 };

        err = buffer(s, io, s->meta + BP_TABLE_OFF, s->meta_gpa + BP_TABLE_OFF,
                     n * (uint32_t)sizeof(vring_desc), VU_ACCESS_RO, &t);
        table->hva = s->meta + BP_TABLE_OFF;
        table->addr = t.addr;
    }
    return err ? err : (int)n;
}

int bp_slot_unmap(bp_slot *s, bp_iommu *io)
{
    unsigned int n = s->nmaps;

    s->nmaps = 0;
    return io && n ? bp_iommu_unmap(io, s->maps, n) : 0;
}

uint8_t bp_slot_status(const bp_slot *s)
{
    return __atomic_load_n(&s->meta[BP_STATUS_OFF], __ATOMIC_RELAXED);
}

void bp_slot_fill(bp_slot *s, uint64_t seed)
{
    uint64_t off = s->io.offset;

    for (unsigned int i = 0; i < s->nseg; i++) {
        bp_pattern_fill(seed, off, s->seg[i].hva, s->seg[i].len);
        off += s->seg[i].len;
    }
}

void bp_slot_gather(const bp_slot *s, uint8_t *dst)
{
    for (unsigned int i = 0; i < s->nseg; i++) {
        memcpy(dst, s->seg[i].hva, s->seg[i].len);
        dst += s->seg[i].len;
    }
}
