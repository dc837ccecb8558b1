/* SPDX-License-Identifier: MIT */
/*
 * The dirty-log window and each queue's completions in it (bp_logwin.h has
 * the rules and why).
 *
 * Glossary: w = the window; ql = a queue's view of it; r = its ring;
 * s = a request's slot; u = a used buffer; held = the ring writes of the
 * latest completion inside the window, required once another completion
 * (or the stop) shows the back-end logged past it.
 */
#define _GNU_SOURCE
#include <string.h>

#include "bp_logwin.h"
#include "bp_proto.h"

void bp_logwin_set(bp_logwin *w, enum bp_log_state state)
{
    __atomic_store_n(&w->state, (int)state, __ATOMIC_SEQ_CST);
}

static int state_of(const bp_logwin *w)
{
    return __atomic_load_n(&w->state, __ATOMIC_SEQ_CST);
}

bool bp_logwin_started(const bp_logwin *w)
{
    return state_of(w) != BP_LOG_IDLE;
}

void bp_qlog_init(bp_qlog *ql, unsigned int queue, uint64_t ring_gpa)
{
    memset(ql, 0, sizeof(*ql));
    ql->queue = queue;
    ql->ring_gpa = ring_gpa;
    ql->state = BP_LOG_IDLE;
}

void bp_qlog_observe(bp_qlog *ql, const bp_logwin *w, const bp_ring *r)
{
    if (ql->state != BP_LOG_IDLE || state_of(w) != BP_LOG_ON)
        return;
    bp_ring_used_end(r, &ql->skip);
    ql->boundary = true;
    ql->nevents = bp_ring_events(r, ql->events);
    ql->state = BP_LOG_ON;
}

static void mark_area(bp_qlog *ql, bp_logwin *w, const bp_ring_area *a, const bp_wrote_rec *req)
{
    bp_wrote_rec rec = *req;

    rec.kind = a->kind;
    rec.at = a->value;
    bp_wrote_mark(&w->wrote, ql->ring_gpa + a->off, a->len, &rec);
}

static void commit_held(bp_qlog *ql, bp_logwin *w)
{
    for (unsigned int i = 0; i < ql->nheld; i++)
        mark_area(ql, w, &ql->held[i], &ql->held_rec);
    ql->nheld = 0;
}

/* The device-writable buffers of @s: the data of a read, the status byte. */
static void mark_buffers(bp_logwin *w, const bp_slot *s, const bp_wrote_rec *req)
{
    bp_wrote_rec rec = *req;
    uint64_t at = 0;

    rec.kind = BP_WROTE_STATUS;
    bp_wrote_mark(&w->wrote, s->meta_gpa + BP_STATUS_OFF, 1, &rec);
    if (s->io.write)
        return;
    rec.kind = BP_WROTE_DATA;
    for (unsigned int i = 0; i < s->nseg; i++) {
        rec.at = at;
        bp_wrote_mark(&w->wrote, s->seg[i].gpa, s->seg[i].len, &rec);
        at += s->seg[i].len;
    }
}

/* Whether the completion just taken lies inside the window; see the header. */
static bool inside(bp_qlog *ql, const bp_logwin *w)
{
    int state;

    if (ql->state != BP_LOG_ON)
        return false;
    /* The used entry was read before this load: taken back before the
     * window closed means completed before SET_FEATURES went out. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    state = state_of(w);
    if (state != BP_LOG_ON) {
        ql->state = state;
        ql->nheld = 0;
        return false;
    }
    if (ql->skip) {
        ql->skip--;
        return false;
    }
    return true;
}

void bp_qlog_complete(bp_qlog *ql, bp_logwin *w, const bp_ring *r, const bp_slot *s,
                      const bp_used *u, bool before)
{
    bp_wrote_rec req = { .write = s->io.write, .queue = (uint16_t)ql->queue, .len = s->io.len,
                         .seq = ++ql->seq, .offset = s->io.offset };

    if (!inside(ql, w))
        return;
    commit_held(ql, w);
    ql->nheld = bp_ring_written(r, u, ql->held);
    ql->held_rec = req;
    if (ql->boundary) {
        ql->boundary = false;
        ql->stats.exempt++;
        return;
    }
    mark_buffers(w, s, &req);
    ql->stats.checked++;
    ql->stats.across += before;
}

void bp_qlog_stop(bp_qlog *ql, bp_logwin *w, const bp_ring *r)
{
    bp_ring_area now[BP_RING_AREAS];
    bp_wrote_rec rec = { .queue = (uint16_t)ql->queue };
    unsigned int n;

    if (ql->state != BP_LOG_ON || state_of(w) != BP_LOG_ON) {
        ql->nheld = 0;
        return;
    }
    commit_held(ql, w);
    n = bp_ring_events(r, now);
    for (unsigned int i = 0; i < n && i < ql->nevents; i++) {
        if (now[i].value != ql->events[i].value)
            mark_area(ql, w, &now[i], &rec);
    }
}
