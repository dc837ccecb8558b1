/* SPDX-License-Identifier: MIT */
/*
 * One virtio-blk request slot of guestmem-blkperf: its guest memory and
 * the request in it (virtio 1.1, 5.2.6).
 *
 * Each slot owns a page of metadata (the 16-byte header at offset 0, the
 * status byte at offset 33 — odd on purpose — and room for an indirect
 * table at 64) and a data area. A request is the header (device-readable),
 * its data split over one or more segments (device-readable for writes,
 * device-writable for reads) and the status byte (device-writable).
 *
 * Segments: at least --segments of them, more when the device's size_max
 * demands, never more than its seg_max. Their lengths are random: whole
 * sectors normally; with --unaligned any number of bytes, each segment
 * starting at an odd guest address after a random gap. The request's
 * total is always a whole number of sectors, as virtio-blk requires.
 *
 * With a vIOMMU each buffer is mapped on its own (a fresh IOVA per buffer
 * per request, as a Linux guest's DMA API does) and unmapped when the
 * request completes.
 */
#ifndef GUESTMEM_BLKPERF_REQUEST_H
#define GUESTMEM_BLKPERF_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "bp_iommu.h"
#include "bp_mem.h"
#include "bp_ring.h"
#include "bp_workload.h"

#define BP_MAX_SEGS 128u
#define BP_SLOT_META 4096u
#define BP_STATUS_OFF 33u
#define BP_TABLE_OFF 64u
#define BP_SEG_GAP_MAX 256u

/** struct bp_req_cfg - how requests are shaped (the same for every slot). */
typedef struct bp_req_cfg {
    unsigned int segments;     /* at least this many data segments */
    bool unaligned;
    bool indirect;             /* put the chain in an indirect table */
    uint32_t size_max;         /* per segment (device limit) */
    uint32_t seg_max;          /* data segments (device limit), 0 = none */
    uint32_t bs_max;
} bp_req_cfg;

typedef struct bp_seg {
    uint8_t *hva;
    uint64_t gpa;
    uint32_t len;
} bp_seg;

typedef struct bp_slot {
    uint16_t id;
    uint8_t *meta;
    uint64_t meta_gpa;
    uint8_t *data;
    uint64_t data_gpa;
    /* the request in flight */
    bp_io io;
    unsigned int nseg;
    bp_seg seg[BP_MAX_SEGS];
    unsigned int nmaps;
    bp_iomap maps[BP_MAX_SEGS + 3];
    uint64_t submit_ns;
    bool check;
    bool log_before;           /* made available before dirty logging started */
} bp_slot;

/** bp_req_segments_for() - data segments a request of @len bytes gets (0: cannot be built). */
unsigned int bp_req_segments_for(const bp_req_cfg *cfg, uint32_t len);

/** bp_req_descs() - descriptors the longest request needs in the ring. */
unsigned int bp_req_descs(const bp_req_cfg *cfg);

/** bp_slot_alloc() - carve a slot's memory out of @bank of @m (two-pass, see bp_mem.h). */
void bp_slot_alloc(bp_slot *s, bp_mem *m, unsigned int bank, const bp_req_cfg *cfg);

/**
 * bp_slot_prepare() - lay out @io in the slot: header, segments, status
 * byte (set to 0xff, which no device may leave there).
 */
void bp_slot_prepare(bp_slot *s, const bp_req_cfg *cfg, bp_rng *rng, const bp_io *io);

/**
 * bp_slot_buffers() - the device buffers of the prepared request.
 * @io: the vIOMMU, or NULL (buffers then carry guest-physical addresses)
 * @bufs: at least BP_MAX_SEGS + 2 entries
 * @table: receives the indirect table (when @cfg->indirect)
 *
 * Return: the number of buffers, or the negative errno of bp_iommu_map().
 */
int bp_slot_buffers(bp_slot *s, const bp_req_cfg *cfg, bp_iommu *io, bp_buf *bufs,
                    bp_table *table);

/** bp_slot_unmap() - retire the request's IOVAs. Return: as bp_iommu_unmap(). */
int bp_slot_unmap(bp_slot *s, bp_iommu *io);

/** bp_slot_status() - the status byte as the device left it. */
uint8_t bp_slot_status(const bp_slot *s);

/** bp_slot_fill() - write the verify pattern into the segments. */
void bp_slot_fill(bp_slot *s, uint64_t seed);

/** bp_slot_gather() - copy the segments' data to @dst (contiguous). */
void bp_slot_gather(const bp_slot *s, uint8_t *dst);

#endif
