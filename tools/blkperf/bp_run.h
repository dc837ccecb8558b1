/* SPDX-License-Identifier: MIT */
/*
 * One run of guestmem-blkperf: set-up (bp_setup.c), the phases and the
 * watch over the back-end while they run (bp_run.c), and the end.
 *
 * Phases, each over all queues, one thread per queue:
 *   1. prefill (only --verify with a read workload): one sequential pass
 *      writing the pattern over the region;
 *   2. the measured workload;
 *   3. read-back (only --verify when anything was written, or with
 *      --verify-zeroed): one sequential pass reading the region, every
 *      sector checked against the record of what was written.
 *
 * Threads: the main thread owns set-up, the phase watch (back-end alive,
 * socket open, runtime, live status), reconnects and --log's events
 * (bp_run_log.c); queue threads own their rings; the IOMMU thread answers
 * misses. The main thread touches a ring only while no queue thread runs
 * or while they are all held (bp_hold.h: --log's stop), except to read a
 * used index for a reconnect.
 */
#ifndef GUESTMEM_BLKPERF_RUN_H
#define GUESTMEM_BLKPERF_RUN_H

#include "bp_backend.h"
#include "bp_dev.h"
#include "bp_log.h"
#include "bp_logwin.h"
#include "bp_options.h"
#include "bp_queue.h"
#include "bp_report.h"

typedef struct bp_run {
    const bp_options *o;
    bp_spawn spawn;
    bp_dev dev;
    bp_want want;
    bp_mem mem;
    bp_iommu io;
    bool io_on;
    bp_queue_env env;
    bp_queue *q;
    unsigned int nq;              /* queues initialised */
    bp_vq *vqs[BP_MAX_QUEUES];
    bp_verify verify;
    bool verify_on;
    bp_job region;                /* the workload's region, sizes and alignment */
    uint32_t chunk;               /* request size of prefill and read-back */
    int chan;                     /* back-end channel until the IOMMU thread has it */
    int done_fd;
    int64_t cpu_acc;              /* back-end CPU of earlier connections */
    int64_t cpu_base;
    int64_t cpu_last;
    bool measuring;
    bp_log log;                   /* --log: the dirty log, once logging started */
    bp_logwin logwin;             /* --log: the window and what it requires */
    bool logwin_on;
    int log_step;                 /* --log: the events done (bp_run_log.c) */
    bp_result res;
} bp_run;

/**
 * bp_setup() - spawn, connect, negotiate, size and allocate everything,
 * and start the device.
 * Return: 0 or a negative errno (reported with bp_fail()).
 */
int bp_setup(bp_run *r);

/**
 * bp_setup_reconnect() - after the back-end went away: connect again,
 * negotiate the same features, hand back the in-flight region, restart
 * the rings at their used indices and kick them.
 * Return: 0 or a negative errno (reported).
 */
int bp_setup_reconnect(bp_run *r);

/** bp_teardown() - stop the device (if the run is healthy) and free everything. */
void bp_teardown(bp_run *r);

/**
 * bp_run_main() - the whole run for @o, report included.
 * Return: the exit status (0 success, 1 failure).
 */
int bp_run_main(const bp_options *o);

/** bp_interrupted() - SIGINT or SIGTERM arrived (set by main.c). */
bool bp_interrupted(void);

/* --log: a migration's events during the measured phase (bp_run_log.c) */

/** bp_logrun_setup() - the window's records, once guest RAM exists. Return: 0 or -ENOMEM. */
int bp_logrun_setup(bp_run *r);

/** bp_logrun_begin() - the measured phase @ph is about to start (its first gate). */
void bp_logrun_begin(bp_run *r, bp_phase *ph);

/** bp_logrun_pending() - whether an event is still to come in the measured phase. */
bool bp_logrun_pending(const bp_run *r);

/**
 * bp_logrun_tick() - while the measured phase @ph runs: do the next event
 * once the phase got far enough (@elapsed seconds in).
 */
void bp_logrun_tick(bp_run *r, bp_phase *ph, double elapsed);

/**
 * bp_logrun_finish() - after the measured phase: the events it ended
 * before (the stop then has nothing in flight); fails the run if logging
 * never started.
 */
void bp_logrun_finish(bp_run *r, bp_phase *ph, double elapsed);

/** bp_logrun_teardown() - free the log and the records. */
void bp_logrun_teardown(bp_run *r);

#endif
