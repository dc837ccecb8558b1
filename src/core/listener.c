/* SPDX-License-Identifier: MIT */
/*
 * Listeners (QEMU's MemoryListener): telling interested parties how flat
 * views change.
 *
 * Listeners of a system are kept in one list sorted by ascending priority
 * (equal priorities in registration order). "Forward" calls walk it in that
 * order, "reverse" calls backwards, as QEMU does: region_add, region_nop,
 * log_start, begin, commit and log_global_start go forward; region_del,
 * log_stop and log_global_stop go in reverse, so a lower-priority listener
 * sees additions first and removals last.
 *
 * An update compares the old and new flat views of one address space (both
 * sorted) in two passes: the first reports ranges that disappeared or
 * changed (region_del), the second the new and unchanged ones (region_add,
 * region_nop, and log_start/log_stop where the dirty mask changed).
 *
 * Everything here runs with sys->lock held.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/internal.h"

typedef void (*section_cb)(gm_listener *l, const gm_section *s);

static size_t listener_count_locked(gm_system *sys)
{
    size_t n = 0;

    for (gm_listener *l = sys->listeners; l; l = l->next_)
        n++;
    return n;
}

/* Call @pick(l) for listeners of @as (NULL: all), forward or in reverse. */
static void for_each_listener_locked(gm_system *sys, gm_as *as, bool reverse,
                                     void (*fn)(gm_listener *l, void *arg), void *arg)
{
    size_t n = listener_count_locked(sys), i = 0;
    gm_listener *stack_list[16];
    gm_listener **list = n <= 16 ? stack_list : malloc(n * sizeof(*list));

    if (!list) {
        gm_log(sys, GM_LOG_ERROR, "out of memory notifying %zu listeners", n);
        return;
    }
    for (gm_listener *l = sys->listeners; l; l = l->next_)
        list[i++] = l;
    for (i = 0; i < n; i++) {
        gm_listener *l = list[reverse ? n - 1 - i : i];

        if (!as || l->as_ == as)
            fn(l, arg);
    }
    if (list != stack_list)
        free(list);
}

static void call_begin(gm_listener *l, void *arg)
{
    (void)arg;
    if (l->begin)
        l->begin(l);
}

static void call_commit(gm_listener *l, void *arg)
{
    (void)arg;
    if (l->commit)
        l->commit(l);
}

void gm_listeners_begin_locked(gm_system *sys)
{
    for_each_listener_locked(sys, NULL, false, call_begin, NULL);
}

void gm_listeners_commit_locked(gm_system *sys)
{
    for_each_listener_locked(sys, NULL, false, call_commit, NULL);
}

static void call_global_log(gm_listener *l, void *arg)
{
    bool start = *(bool *)arg;

    if (start && l->log_global_start)
        l->log_global_start(l);
    if (!start && l->log_global_stop)
        l->log_global_stop(l);
}

void gm_listeners_global_log_locked(gm_system *sys, bool start)
{
    for_each_listener_locked(sys, NULL, !start, call_global_log, &start);
}

/* What one region-level notification carries. */
typedef enum { EV_ADD, EV_DEL, EV_NOP, EV_LOG_START, EV_LOG_STOP, EV_SYNC } event_kind;

typedef struct region_event {
    event_kind kind;
    gm_section section;
    int old_mask;
    int new_mask;
} region_event;

static void call_region_event(gm_listener *l, void *arg)
{
    region_event *ev = arg;
    section_cb cb = NULL;

    switch (ev->kind) {
    case EV_ADD: cb = l->region_add; break;
    case EV_DEL: cb = l->region_del; break;
    case EV_NOP: cb = l->region_nop; break;
    case EV_SYNC: cb = l->log_sync; break;
    case EV_LOG_START:
        if (l->log_start)
            l->log_start(l, &ev->section, ev->old_mask, ev->new_mask);
        return;
    case EV_LOG_STOP:
        if (l->log_stop)
            l->log_stop(l, &ev->section, ev->old_mask, ev->new_mask);
        return;
    }
    if (cb)
        cb(l, &ev->section);
}

static void notify_range_locked(gm_as *as, const gm_flat_range *fr, event_kind kind,
                                int old_mask, int new_mask)
{
    region_event ev = { .kind = kind, .old_mask = old_mask, .new_mask = new_mask };
    bool reverse = kind == EV_DEL || kind == EV_LOG_STOP;

    gm_section_from_range(&ev.section, fr);
    for_each_listener_locked(as->sys, as, reverse, call_region_event, &ev);
}

static void notify_unchanged_locked(gm_as *as, const gm_flat_range *fold,
                                    const gm_flat_range *fnew)
{
    notify_range_locked(as, fnew, EV_NOP, 0, 0);
    if (fnew->dirty_log_mask & ~fold->dirty_log_mask)
        notify_range_locked(as, fnew, EV_LOG_START, fold->dirty_log_mask, fnew->dirty_log_mask);
    if (fold->dirty_log_mask & ~fnew->dirty_log_mask)
        notify_range_locked(as, fnew, EV_LOG_STOP, fold->dirty_log_mask, fnew->dirty_log_mask);
}

static void update_pass_locked(gm_as *as, const gm_flatview *old, const gm_flatview *new_fv,
                               bool adding)
{
    unsigned int iold = 0, inew = 0;
    unsigned int nold = old ? old->nr : 0, nnew = new_fv ? new_fv->nr : 0;

    while (iold < nold || inew < nnew) {
        const gm_flat_range *fold = iold < nold ? &old->ranges[iold] : NULL;
        const gm_flat_range *fnew = inew < nnew ? &new_fv->ranges[inew] : NULL;

        if (fold && (!fnew || fold->start < fnew->start ||
                     (fold->start == fnew->start && !gm_flat_range_equal(fold, fnew)))) {
            if (!adding)
                notify_range_locked(as, fold, EV_DEL, 0, 0);
            iold++;
        } else if (fold && fnew && gm_flat_range_equal(fold, fnew)) {
            if (adding)
                notify_unchanged_locked(as, fold, fnew);
            iold++;
            inew++;
        } else {
            if (adding)
                notify_range_locked(as, fnew, EV_ADD, 0, 0);
            inew++;
        }
    }
}

static bool as_has_listeners_locked(gm_as *as)
{
    for (gm_listener *l = as->sys->listeners; l; l = l->next_) {
        if (l->as_ == as)
            return true;
    }
    return false;
}

void gm_listeners_update_locked(gm_as *as, const gm_flatview *old, const gm_flatview *new_fv)
{
    if (!as_has_listeners_locked(as))
        return;
    update_pass_locked(as, old, new_fv, false);
    update_pass_locked(as, old, new_fv, true);
}

static void insert_listener_locked(gm_system *sys, gm_listener *l)
{
    gm_listener **pp = &sys->listeners;

    while (*pp && (*pp)->priority <= l->priority)
        pp = &(*pp)->next_;
    l->next_ = *pp;
    *pp = l;
}

static void replay_add_locked(gm_listener *l, gm_as *as)
{
    gm_flatview *fv = as->current;

    if (l->begin)
        l->begin(l);
    if (as->sys->global_dirty && l->log_global_start)
        l->log_global_start(l);
    for (unsigned int i = 0; i < fv->nr; i++) {
        gm_section s;

        gm_section_from_range(&s, &fv->ranges[i]);
        if (l->region_add)
            l->region_add(l, &s);
        if (s.dirty_log_mask && l->log_start)
            l->log_start(l, &s, 0, s.dirty_log_mask);
    }
    if (l->commit)
        l->commit(l);
}

int gm_listener_register(gm_listener *l, gm_as *as)
{
    gm_system *sys = as->sys;

    gm_system_lock(sys);
    if (l->as_) {
        gm_system_unlock(sys);
        return -EBUSY;
    }
    l->as_ = as;
    insert_listener_locked(sys, l);
    replay_add_locked(l, as);
    gm_system_unlock(sys);
    return 0;
}

static void replay_del_locked(gm_listener *l, gm_as *as)
{
    gm_flatview *fv = as->current;

    if (l->begin)
        l->begin(l);
    for (unsigned int i = 0; i < fv->nr; i++) {
        gm_section s;

        gm_section_from_range(&s, &fv->ranges[i]);
        if (s.dirty_log_mask && l->log_stop)
            l->log_stop(l, &s, s.dirty_log_mask, 0);
        if (l->region_del)
            l->region_del(l, &s);
    }
    if (l->commit)
        l->commit(l);
}

void gm_listener_unregister(gm_listener *l)
{
    gm_system *sys;
    gm_listener **pp;

    if (!l->as_)
        return;
    sys = l->as_->sys;
    gm_system_lock(sys);
    replay_del_locked(l, l->as_);
    for (pp = &sys->listeners; *pp; pp = &(*pp)->next_) {
        if (*pp == l) {
            *pp = l->next_;
            break;
        }
    }
    l->as_ = NULL;
    l->next_ = NULL;
    gm_system_unlock(sys);
}

void gm_as_log_sync(gm_as *as)
{
    gm_flatview *fv;

    gm_system_lock(as->sys);
    fv = as->current;
    for (unsigned int i = 0; i < fv->nr; i++) {
        if (fv->ranges[i].dirty_log_mask)
            notify_range_locked(as, &fv->ranges[i], EV_SYNC, 0, 0);
    }
    gm_system_unlock(as->sys);
}
