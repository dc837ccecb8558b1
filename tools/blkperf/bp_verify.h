/* SPDX-License-Identifier: MIT */
/*
 * Data verification of guestmem-blkperf (--verify).
 *
 * The pattern: every byte of the disk has a value that depends only on the
 * seed and its own byte offset (8 bytes of a 64-bit mix of seed and word
 * offset), so any write of any size, at any alignment, split in any way
 * over guest buffers, writes the same bytes to the same place, concurrent
 * and repeated writes cannot disagree, and a read can be checked byte by
 * byte without knowing which write put the data there. A write that lands
 * at the wrong offset or a read that returns the wrong sector shows as a
 * mismatch, named by its disk offset.
 *
 * The record: per 512-byte sector, "written successfully" and "a write was
 * attempted" bits, set when writes complete. The read-back checks each
 * sector by its state: written → the pattern; attempted but failed → the
 * pattern or zeros (a failed write may have landed in part), only when the
 * region started zeroed; never written → zeros, only when the region
 * started zeroed (--verify-zeroed), which also catches writes outside a
 * request's range.
 *
 * Bits are set with atomic ORs from any queue thread.
 */
#ifndef GUESTMEM_BLKPERF_VERIFY_H
#define GUESTMEM_BLKPERF_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bp_verify {
    uint64_t seed;
    uint64_t base;        /* first byte of the region */
    uint64_t sectors;     /* region size in sectors */
    uint64_t *ok;
    uint64_t *tried;
    bool zeroed;
    uint64_t checked;     /* atomic: bytes compared */
} bp_verify;

/** struct bp_mismatch - where a check failed. */
typedef struct bp_mismatch {
    uint64_t offset;      /* disk byte offset */
    uint8_t expected;
    uint8_t got;
    const char *want;     /* "the pattern", "zeros", "the pattern or zeros" */
} bp_mismatch;

/**
 * bp_verify_init() - records for a region of @size bytes at @base.
 * Return: 0 or -ENOMEM.
 */
int bp_verify_init(bp_verify *v, uint64_t seed, uint64_t base, uint64_t size, bool zeroed);

void bp_verify_destroy(bp_verify *v);

/** bp_pattern_fill() - the pattern of disk bytes [@off, @off + @len) into @dst. */
void bp_pattern_fill(uint64_t seed, uint64_t off, uint8_t *dst, size_t len);

/**
 * bp_pattern_check() - compare @buf with the pattern at disk offset @off.
 * Return: true when equal; false with @mm filled at the first difference.
 */
bool bp_pattern_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm);

/**
 * bp_verify_mark() - record a completed write of [@off, @off + @len).
 * @ok: it completed with VIRTIO_BLK_S_OK
 * Context: any thread.
 */
void bp_verify_mark(bp_verify *v, uint64_t off, uint64_t len, bool ok);

/** bp_verify_all_written() - every sector of the range was written successfully. */
bool bp_verify_all_written(const bp_verify *v, uint64_t off, uint64_t len);

/** bp_verify_any_tried() - any sector of the range was ever written (or attempted). */
bool bp_verify_any_tried(const bp_verify *v, uint64_t off, uint64_t len);

/**
 * bp_verify_sectors() - check data read from [@off, @off + @len), sector by
 * sector according to the record (see the top of this file).
 * Return: true, or false with @mm filled.
 */
bool bp_verify_sectors(bp_verify *v, uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm);

/**
 * bp_verify_pattern() - check a read of sectors that were all written
 * before it was submitted: the whole range must hold the pattern.
 * Return: true, or false with @mm filled.
 */
bool bp_verify_pattern(bp_verify *v, uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm);

#endif
