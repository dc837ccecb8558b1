/* SPDX-License-Identifier: MIT */
/*
 * Which writes of the back-end the dirty log must hold (--log): the
 * window between "logging started" and "logging stopped", and, per queue,
 * which completions fall inside it.
 *
 * The back-end decides to log a request when it completes it (it logs the
 * request's device-writable buffers, then moves the used ring and logs
 * that too). What blkperf sees of a completion is its used entry, and
 * what it knows of the switch is when the back-end acknowledged
 * SET_FEATURES with VHOST_F_LOG_ALL. So, per queue:
 *
 * - When the queue first sees the window open (after that
 *   acknowledgement) it counts the used buffers it has not taken back yet:
 *   those may have been completed before logging started, and nothing of
 *   them is required.
 * - The next completion was not used yet when logging had started, so its
 *   used ring entry is required; its buffers are not: its back-end thread
 *   may have decided "not logging" just before the switch and moved the
 *   used ring just after. Only one completion per ring can be caught that
 *   way, because a ring's completions are made one after the other.
 * - Every later completion is required in full: the data of a read, the
 *   status byte, the used ring entry and index (split) or the used
 *   descriptor (packed). These include requests made available before the
 *   switch and completed after it (counted as "across").
 * - When logging is turned off (the window closes), a completion is
 *   required only if the queue took it back before the main thread sent
 *   SET_FEATURES without LOG_ALL (the back-end completed it before it
 *   could know), checked after taking the entry, with a full fence. The
 *   last such completion's ring entry is not required: its back-end thread
 *   may log the ring just after the switch.
 * - When the rings stop with logging on, the device's notification fields
 *   (used flags and avail_event, or the device event area) are required
 *   when they changed since the queue saw the window open.
 *
 * State: the window is shared (atomic); each queue's view is its own,
 * touched by its thread or by the main thread while the queue is held.
 */
#ifndef GUESTMEM_BLKPERF_LOGWIN_H
#define GUESTMEM_BLKPERF_LOGWIN_H

#include <stdbool.h>
#include <stdint.h>

#include "bp_request.h"
#include "bp_ring.h"
#include "bp_wrote.h"

enum bp_log_state {
    BP_LOG_IDLE,      /* logging has not started */
    BP_LOG_ON,        /* the back-end acknowledged VHOST_F_LOG_ALL */
    BP_LOG_CLOSED,    /* logging was turned off */
    BP_LOG_DONE,      /* the rings stopped and the log was checked */
};

/** struct bp_logwin - the window and the record of what it requires. */
typedef struct bp_logwin {
    int state;
    bp_wrote wrote;
} bp_logwin;

/** struct bp_qlog_stats - one queue's completions inside the window. */
typedef struct bp_qlog_stats {
    uint64_t checked;     /* whose buffers are required */
    uint64_t across;      /* of those, made available before logging started */
    uint64_t exempt;      /* the first after the switch (its ring entry only) */
} bp_qlog_stats;

/** struct bp_qlog - one queue's view of the window. */
typedef struct bp_qlog {
    unsigned int queue;
    uint64_t ring_gpa;
    int state;
    uint16_t skip;
    bool boundary;
    unsigned int nheld;
    bp_ring_area held[BP_RING_AREAS];
    bp_wrote_rec held_rec;
    unsigned int nevents;
    bp_ring_area events[BP_RING_AREAS];
    uint64_t seq;
    bp_qlog_stats stats;
} bp_qlog;

/** bp_logwin_set() - move the window to @state. Context: the main thread. */
void bp_logwin_set(bp_logwin *w, enum bp_log_state state);

/** bp_logwin_started() - whether logging has started (at a submission). */
bool bp_logwin_started(const bp_logwin *w);

/** bp_qlog_init() - queue @queue's view, its ring at guest-physical @ring_gpa. */
void bp_qlog_init(bp_qlog *ql, unsigned int queue, uint64_t ring_gpa);

/**
 * bp_qlog_observe() - at the top of the queue's loop: when the window has
 * opened, count what is used and not taken back, and note the
 * notification fields.
 */
void bp_qlog_observe(bp_qlog *ql, const bp_logwin *w, const bp_ring *r);

/**
 * bp_qlog_complete() - the queue took back @u, the request in slot @s
 * (@before: made available before logging started); record what of it
 * the log must hold.
 */
void bp_qlog_complete(bp_qlog *ql, bp_logwin *w, const bp_ring *r, const bp_slot *s,
                      const bp_used *u, bool before);

/**
 * bp_qlog_stop() - the ring stopped and everything used was taken back:
 * with logging still on, the last completion's ring entry and the
 * notification fields that changed are required too.
 */
void bp_qlog_stop(bp_qlog *ql, bp_logwin *w, const bp_ring *r);

#endif
