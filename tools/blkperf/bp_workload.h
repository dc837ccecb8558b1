/* SPDX-License-Identifier: MIT */
/*
 * Workloads of guestmem-blkperf, as fio names them: sequential or random
 * reads, writes or a mix, fixed or random request sizes, bounded by a
 * number of requests or by time (the main thread sets @stop).
 *
 * One job is shared by all queue threads: the sequential cursor and the
 * issued count are atomics, so several queues together produce one
 * sequential stream and exactly @ios requests. Random choices come from a
 * per-queue generator seeded from --seed and the queue number, so a run is
 * repeatable as far as the thread interleaving allows.
 *
 * Glossary: io = one request to make (direction, disk offset, length).
 */
#ifndef GUESTMEM_BLKPERF_WORKLOAD_H
#define GUESTMEM_BLKPERF_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

enum bp_rw { BP_RW_READ, BP_RW_WRITE, BP_RW_RANDREAD, BP_RW_RANDWRITE, BP_RW_RANDRW };

/** struct bp_rng - xoshiro256** state. */
typedef struct bp_rng {
    uint64_t s[4];
} bp_rng;

void bp_rng_seed(bp_rng *r, uint64_t seed);
uint64_t bp_rng_next(bp_rng *r);
/** bp_rng_below() - uniform in [0, @n) (@n > 0). */
uint64_t bp_rng_below(bp_rng *r, uint64_t n);

/**
 * struct bp_job - what to issue.
 * @rw: pattern; @rwmixread: percentage of reads for randrw
 * @bs_min, @bs_max: request sizes (multiples of @align)
 * @align: offset and size granularity (a multiple of 512)
 * @offset, @size: the region of the disk
 * @ios: requests to issue, 0 for no limit
 * @once: sequential only: one pass, the last request cut to the region's end
 * @issued: atomic count of requests handed out
 * @seq_next: atomic next sequential offset (relative to @offset)
 * @stop: atomic; set to stop issuing
 * @gate: atomic; with @ios, no request past this count is handed out
 *        until it moves (0: none): the main thread's events (--log) come
 *        at fixed shares of the job however late it is
 */
typedef struct bp_job {
    enum bp_rw rw;
    unsigned int rwmixread;
    uint32_t bs_min;
    uint32_t bs_max;
    uint32_t align;
    uint64_t offset;
    uint64_t size;
    uint64_t ios;
    bool once;
    uint64_t issued;
    uint64_t seq_next;
    int stop;
    uint64_t gate;
} bp_job;

typedef struct bp_io {
    bool write;
    uint64_t offset;
    uint32_t len;
} bp_io;

/** bp_rw_name() - "randread" etc. */
const char *bp_rw_name(enum bp_rw rw);

/** bp_rw_writes() - whether @rw issues writes. */
bool bp_rw_writes(enum bp_rw rw);

/**
 * bp_job_next() - the next request, or false when the job is done.
 * Context: any queue thread, with its own @rng.
 */
bool bp_job_next(bp_job *j, bp_rng *rng, bp_io *io);

/** bp_job_stop() - stop handing out requests. */
void bp_job_stop(bp_job *j);

/**
 * bp_job_gated() - whether the job waits at its gate (bp_job_next() would
 * go past it). Threads racing at the gate may pass it by one request each.
 * Context: any thread.
 */
bool bp_job_gated(const bp_job *j);

/** bp_job_set_gate() - move the gate to @count requests (0: none). */
void bp_job_set_gate(bp_job *j, uint64_t count);

#endif
