/* SPDX-License-Identifier: MIT */
/**
 * DOC: listeners (QEMU's MemoryListener)
 *
 * A listener follows the flat view of one address space. At every commit
 * that changes topology, each listener of the system gets begin(); then,
 * per changed address space, region_del() for ranges that went away
 * (listeners in reverse priority order), region_add()/region_nop() and
 * log_start()/log_stop() for the new view (priority order); then commit().
 * Registration replays the current view: begin, log_global_start if global
 * dirty tracking is on, region_add (and log_start when logging) for every
 * range, commit. Unregistration sends region_del for every range.
 *
 * Callbacks run with the system's writer lock held, on the thread that
 * commits. They may read memory and call gm_* functions (the lock is
 * recursive) but must not wait for another thread that changes topology.
 * Every callback is optional.
 */
#ifndef GUESTMEM_LISTENER_H
#define GUESTMEM_LISTENER_H

#include <guestmem/as.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gm_listener gm_listener;

/**
 * struct gm_listener - callbacks and registration state.
 * @begin: a commit starts
 * @commit: a commit ends
 * @region_add: a range appeared in the flat view
 * @region_del: a range disappeared
 * @region_nop: a range is unchanged
 * @log_start: dirty logging started for a range (@old, @new: masks)
 * @log_stop: dirty logging stopped for a range
 * @log_sync: gm_as_log_sync() asks the listener to push dirty bits it holds
 * @log_global_start: gm_system_log_global_start() was called
 * @log_global_stop: gm_system_log_global_stop() was called
 * @priority: lower runs first on add, last on del
 * @name: for debugging (not copied)
 * @as_: private
 * @next_: private
 */
struct gm_listener {
    void (*begin)(gm_listener *l);
    void (*commit)(gm_listener *l);
    void (*region_add)(gm_listener *l, const gm_section *s);
    void (*region_del)(gm_listener *l, const gm_section *s);
    void (*region_nop)(gm_listener *l, const gm_section *s);
    void (*log_start)(gm_listener *l, const gm_section *s, int old_mask, int new_mask);
    void (*log_stop)(gm_listener *l, const gm_section *s, int old_mask, int new_mask);
    void (*log_sync)(gm_listener *l, const gm_section *s);
    void (*log_global_start)(gm_listener *l);
    void (*log_global_stop)(gm_listener *l);
    int priority;
    const char *name;
    gm_as *as_;
    gm_listener *next_;
};

/**
 * gm_listener_register() - follow @as and replay its current view.
 * @l: the listener (caller-owned, must stay valid until unregistered)
 * @as: the address space
 * Return: 0, or -EBUSY if @l is already registered.
 * Context: takes the writer lock; callbacks run before this returns.
 */
GM_EXPORT int gm_listener_register(gm_listener *l, gm_as *as);

/**
 * gm_listener_unregister() - stop following; region_del for every range.
 * @l: a registered listener (an unregistered one is ignored)
 */
GM_EXPORT void gm_listener_unregister(gm_listener *l);

/**
 * gm_as_log_sync() - call log_sync of @as's listeners for every logged range.
 * @as: the address space
 */
GM_EXPORT void gm_as_log_sync(gm_as *as);

#ifdef __cplusplus
}
#endif

#endif
