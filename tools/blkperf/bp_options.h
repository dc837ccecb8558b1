/* SPDX-License-Identifier: MIT */
/*
 * Command line of guestmem-blkperf (docs/blkperf.md has the long form).
 * Parsing checks what can be checked without the device; what depends on
 * it (sizes against capacity and limits, features) is checked once the
 * back-end has answered.
 */
#ifndef GUESTMEM_BLKPERF_OPTIONS_H
#define GUESTMEM_BLKPERF_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bp_iommu.h"
#include "bp_workload.h"

#define BP_MAX_QUEUES 64u
#define BP_MAX_DEPTH 1024u
#define BP_MAX_BS (16u << 20)

typedef struct bp_options {
    const char *socket;
    bool spawn;
    char **spawn_argv;            /* the command after --spawn -- */
    enum bp_rw rw;
    unsigned int rwmixread;
    uint32_t bs_min;
    uint32_t bs_max;
    unsigned int segments;
    bool unaligned;
    unsigned int iodepth;
    unsigned int queues;
    double runtime;               /* seconds, 0 = not given */
    uint64_t ios;                 /* 0 = not given */
    uint64_t size;                /* 0 = to the end of the disk */
    uint64_t offset;
    uint64_t seed;
    bool verify;
    bool verify_zeroed;
    bool verify_only;
    bool continue_on_error;
    bool packed;
    bool event_idx;
    bool indirect;
    unsigned int queue_size;      /* 0 = chosen */
    enum bp_iommu_mode iommu;
    unsigned int lazy_batch;
    unsigned int timeout_ms;
    unsigned int connect_wait_ms;
    bool reconnect;
    bool log;                     /* dirty logging and a stop mid-run */
    bool log_off;                 /* ... and logging turned off again before the stop */
    bool json;
    bool quiet;
} bp_options;

/**
 * bp_options_parse() - fill @o from the command line.
 * Return: 0 to run, 1 when --help was printed, -1 on a bad command line
 * (reported on stderr).
 */
int bp_options_parse(int argc, char **argv, bp_options *o);

/** bp_options_usage() - the --help text. */
void bp_options_usage(FILE *out);

#endif
