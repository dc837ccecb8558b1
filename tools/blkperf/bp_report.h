/* SPDX-License-Identifier: MIT */
/*
 * What guestmem-blkperf prints: the result table (default), one JSON
 * object (--json), and the live status line on a terminal.
 *
 * Units: MB/s is 10^6 bytes per second (as fio's "MB/s"); latencies are
 * microseconds, from making a request available to taking it back from the
 * used ring; back-end CPU is user + system time of the back-end process
 * during the measured phase divided by the requests completed in it.
 */
#ifndef GUESTMEM_BLKPERF_REPORT_H
#define GUESTMEM_BLKPERF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "bp_iommu.h"
#include "bp_logwin.h"
#include "bp_options.h"
#include "bp_stats.h"
#include "bp_wrote.h"

/**
 * struct bp_log_result - what --log saw.
 * @checked: the log was checked at a stop
 * @on_s, @off_s, @stop_s: seconds into the measured phase of logging on,
 *                         off (-1: not turned off) and the stop
 * @pages: the check of the log (bp_wrote.h)
 * @reqs: completions inside the window, summed over the queues
 * @queues: entries of the arrays below
 * @stop_ns: per ring, from sending GET_VRING_BASE to its reply
 * @stop_inflight: per ring, requests in flight when the queues were held
 * @stop_unused: of those, not used yet when GET_VRING_BASE was sent
 * @stop_drained: used while GET_VRING_BASE was pending
 */
typedef struct bp_log_result {
    bool checked;
    double on_s;
    double off_s;
    double stop_s;
    bp_log_stats pages;
    bp_qlog_stats reqs;
    unsigned int queues;
    uint64_t stop_ns[BP_MAX_QUEUES];
    uint16_t stop_inflight[BP_MAX_QUEUES];
    uint16_t stop_unused[BP_MAX_QUEUES];
    uint16_t stop_drained[BP_MAX_QUEUES];
} bp_log_result;

/** struct bp_result - everything the report shows. */
typedef struct bp_result {
    bp_stats total;
    double seconds;
    int64_t cpu_ns;               /* -1 when unknown */
    pid_t peer_pid;
    char peer_name[32];
    uint16_t queue_size;
    bool event_idx;
    bool indirect;
    uint64_t verified_bytes;
    uint64_t reconnects;
    bp_iommu_stats iommu;
    bp_log_result log;            /* --log */
    const char *error;            /* NULL on success */
} bp_result;

/** bp_report_table() - the human-readable result. */
void bp_report_table(FILE *out, const bp_options *o, const bp_result *r);

/** bp_report_json() - the result as one JSON object on one line. */
void bp_report_json(FILE *out, const bp_options *o, const bp_result *r);

/**
 * bp_status_line() - rewrite the terminal's current line with the rates
 * of the last interval.
 */
void bp_status_line(FILE *out, double elapsed, double iops, double mbps);

/** bp_status_clear() - erase the status line. */
void bp_status_clear(FILE *out);

#endif
