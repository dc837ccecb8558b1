/* SPDX-License-Identifier: MIT */
/*
 * Counters and the latency histogram of guestmem-blkperf.
 *
 * The histogram is log-linear (HdrHistogram's idea): values below 64 ns
 * have a bucket each; above, each power of two is split into 32 equal
 * buckets, so any percentile is exact to within 1/32 (about 3 %) of its
 * value, for 1920 buckets covering all of uint64_t. Each queue thread
 * fills its own; the report merges them.
 *
 * The live counters (@done_ios, @done_bytes) are written by the owning
 * queue thread with relaxed atomic stores and read by the main thread for
 * the status line.
 */
#ifndef GUESTMEM_BLKPERF_STATS_H
#define GUESTMEM_BLKPERF_STATS_H

#include <stdint.h>

#define BP_HIST_LINEAR 64u
#define BP_HIST_SUB_BITS 5u
#define BP_HIST_SUB (1u << BP_HIST_SUB_BITS)
#define BP_HIST_BUCKETS (BP_HIST_LINEAR + (64u - 6u) * BP_HIST_SUB)

typedef struct bp_hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    uint64_t b[BP_HIST_BUCKETS];
} bp_hist;

/** struct bp_stats - one queue's (or the merged) results. */
typedef struct bp_stats {
    bp_hist lat;                 /* nanoseconds, per completed request */
    uint64_t reads;
    uint64_t writes;
    uint64_t bytes;
    uint64_t errors;             /* completed with a status other than OK */
    uint64_t ok_after_error;     /* completed OK after this queue's first error */
    uint64_t done_ios;           /* atomic: for the status line */
    uint64_t done_bytes;         /* atomic */
} bp_stats;

void bp_hist_init(bp_hist *h);
void bp_hist_add(bp_hist *h, uint64_t v);
void bp_hist_merge(bp_hist *dst, const bp_hist *src);

/** bp_hist_bucket() - bucket index of @v (exposed for the unit test). */
unsigned int bp_hist_bucket(uint64_t v);

/** bp_hist_bucket_low() - smallest value of bucket @i. */
uint64_t bp_hist_bucket_low(unsigned int i);

/**
 * bp_hist_percentile() - the value below which @pct percent of the samples
 * lie: the middle of the bucket holding that rank, clamped to [min, max].
 * Return: 0 for an empty histogram.
 */
uint64_t bp_hist_percentile(const bp_hist *h, double pct);

void bp_stats_init(bp_stats *s);

/** bp_stats_merge() - add @src to @dst (histogram and counters). */
void bp_stats_merge(bp_stats *dst, const bp_stats *src);

#endif
