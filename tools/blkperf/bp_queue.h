/* SPDX-License-Identifier: MIT */
/*
 * One request queue of guestmem-blkperf and the thread that drives it: the
 * guest's virtio-blk driver for that virtqueue.
 *
 * The thread owns its ring, its slots and its statistics for the duration
 * of a phase (prefill, measured run, read-back): it takes requests from
 * the shared job while it has free slots, kicks the back-end when the ring
 * says so, sleeps on the call eventfd, and completes what the device used.
 * Each completion is checked (a known slot, a used length no larger than
 * the request's writable bytes, a valid status byte) before its data is
 * verified and its IOVAs are retired.
 *
 * No wait is unbounded: the thread wakes at least every 100 ms, gives up
 * when the run failed, and fails the run when a request is older than the
 * timeout (saying whether the back-end used it without signalling).
 *
 * With --log the thread also holds when the main thread asks (right after
 * a kick, bp_hold.h; a private eventfd wakes it from its sleep) and tells
 * the dirty-log window which of its completions the log must hold
 * (bp_logwin.h).
 */
#ifndef GUESTMEM_BLKPERF_QUEUE_H
#define GUESTMEM_BLKPERF_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bp_dev.h"
#include "bp_hold.h"
#include "bp_logwin.h"
#include "bp_request.h"
#include "bp_stats.h"
#include "bp_verify.h"
#include "bp_workload.h"

enum bp_check { BP_CHECK_NONE, BP_CHECK_INLINE, BP_CHECK_READBACK };

/**
 * struct bp_phase - one pass of work over all queues.
 * @job: what to issue
 * @verify: the record, or NULL without --verify
 * @check: how reads are checked
 * @running: atomic count of queue threads still working
 * @done_fd: an eventfd each thread signals when it ends
 * @hold: the main thread's hold on the queue threads (bp_hold.h)
 * @gate_holds: atomic; a thread that finds the job at its gate holds
 *              (the gate is --log's stop: requests stay in flight)
 */
typedef struct bp_phase {
    bp_job job;
    bp_verify *verify;
    enum bp_check check;
    unsigned int running;
    int done_fd;
    bp_hold hold;
    int gate_holds;
} bp_phase;

/** struct bp_queue_env - what every queue of the run shares. */
typedef struct bp_queue_env {
    bp_req_cfg req;
    bp_iommu *io;              /* NULL without --iommu */
    uint64_t timeout_ns;
    bool continue_on_error;
    uint64_t seed;
    bp_logwin *logwin;         /* NULL without --log */
} bp_queue_env;

typedef struct bp_queue {
    unsigned int index;
    bp_vq vq;
    const bp_queue_env *env;
    bp_slot *slots;
    uint16_t depth;
    uint16_t *free_slots;
    uint16_t nfree;
    bp_rng rng;
    bp_stats stats;
    bp_phase *phase;
    uint8_t *scratch;
    bool saw_error;
    uint64_t last_scan_ns;
    int wake_fd;               /* the main thread wakes a sleeping thread (to hold it) */
    bp_qlog log;               /* its view of the dirty-log window (--log) */
    pthread_t thread;
    bool running;
} bp_queue;

/**
 * bp_queue_init() - a queue with @depth slots and eventfds.
 * Return: 0, -ENOMEM, or the negative errno of eventfd().
 */
int bp_queue_init(bp_queue *q, unsigned int index, uint16_t depth, const bp_queue_env *env);

void bp_queue_destroy(bp_queue *q);

/**
 * bp_queue_alloc() - carve the ring and the slots out of guest RAM (both
 * passes of bp_mem.h), and on the real pass set up the ring and, with a
 * vIOMMU, map it.
 * @num: ring size
 * @packed, @event_idx: negotiated
 *
 * Return: 0 or a negative errno (on the real pass only).
 */
int bp_queue_alloc(bp_queue *q, bp_mem *m, uint16_t num, bool packed, bool event_idx);

/** bp_queue_start() - run @phase in a thread. Return: 0 or -errno of pthread_create(). */
int bp_queue_start(bp_queue *q, bp_phase *phase);

/** bp_queue_join() - wait for the thread. */
void bp_queue_join(bp_queue *q);

/** bp_queue_kick() - notify the device (after a reconnect, as a spurious kick). */
void bp_queue_kick(bp_queue *q);

/** bp_queue_wake() - wake the thread if it sleeps (so that it sees a hold). */
void bp_queue_wake(bp_queue *q);

/**
 * bp_queue_reap_held() - take back and complete everything the device
 * used, on behalf of the queue's thread.
 * Context: the main thread, while the queue is held (bp_hold.h).
 */
void bp_queue_reap_held(bp_queue *q);

#endif
