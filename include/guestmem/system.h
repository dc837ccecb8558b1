/* SPDX-License-Identifier: MIT */
/**
 * DOC: the memory system: a context for regions, address spaces and listeners
 *
 * A gm_system is what QEMU keeps in globals: the lock that serializes topology
 * changes, the transaction depth, the list of address spaces, the listeners,
 * global dirty tracking and the log hook. Everything created from one system
 * belongs to it; two systems share nothing.
 *
 * Locking: every call that changes topology takes the system's writer lock
 * (a recursive mutex) for its duration; gm_transaction_begin() holds it until
 * the matching gm_transaction_commit(), so a transaction is atomic with respect
 * to other writer threads. Readers (accesses) never take it.
 */
#ifndef GUESTMEM_SYSTEM_H
#define GUESTMEM_SYSTEM_H

#include <stdarg.h>
#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum gm_log_level - severity passed to the log hook.
 * @GM_LOG_ERROR: a caller or configuration error
 * @GM_LOG_GUEST_ERROR: a guest (or peer) did something invalid; rate-limited
 * @GM_LOG_WARNING: unusual but handled
 * @GM_LOG_DEBUG: tracing, off by default
 */
enum gm_log_level {
    GM_LOG_ERROR,
    GM_LOG_GUEST_ERROR,
    GM_LOG_WARNING,
    GM_LOG_DEBUG,
};

/**
 * typedef gm_log_fn - replacement for the default log sink.
 * @opaque: the pointer given to gm_system_set_log()
 * @level: severity
 * @msg: one formatted line without trailing newline
 */
typedef void (*gm_log_fn)(void *opaque, enum gm_log_level level, const char *msg);

/** GM_SYSTEM_BIG_ENDIAN - gm_system_new() flag: the target is big endian. */
#define GM_SYSTEM_BIG_ENDIAN (1u << 0)

/**
 * gm_system_new() - create an empty memory system.
 * @flags: 0 or GM_SYSTEM_BIG_ENDIAN (the byte order GM_ENDIAN_NATIVE means)
 *
 * Return: the system, or NULL with errno ENOMEM (or EINVAL for unknown flags).
 * Context: any thread. Free it with gm_system_free().
 */
GM_EXPORT gm_system *gm_system_new(unsigned int flags);

/**
 * gm_system_free() - destroy a system.
 * @sys: the system, or NULL
 *
 * The caller must have destroyed its address spaces, unregistered its
 * listeners and dropped its references to regions; regions still referenced
 * only by the tree are released here. Waits for RCU readers and deferred
 * frees to finish.
 *
 * Context: not from an RCU read-side critical section or an I/O callback.
 */
GM_EXPORT void gm_system_free(gm_system *sys);

/**
 * gm_system_drain() - wait until every deferred free has run.
 * @sys: the system
 *
 * Regions, flat views and host maps are freed after an RCU grace period.
 * After this returns, every region whose last reference was dropped before
 * the call is gone: memory given to gm_region_new_ram_ptr() for such a
 * region may be reused.
 * Context: not from an RCU read-side critical section or any callback.
 */
GM_EXPORT void gm_system_drain(gm_system *sys);

/**
 * gm_system_set_log() - route log lines to @fn instead of stderr.
 * @sys: the system
 * @fn: the sink, or NULL for the default (stderr)
 * @opaque: passed to @fn
 * @debug: also deliver GM_LOG_DEBUG lines
 *
 * Guest errors are rate-limited before they reach @fn (at most 10 per second
 * per system, with a count of those suppressed). @fn may be called from any
 * thread that accesses memory, never with a lock of the access path held
 * (it may be called with the recursive writer lock held by the calling
 * thread); it must not wait for another thread that changes topology.
 */
GM_EXPORT void gm_system_set_log(gm_system *sys, gm_log_fn fn, void *opaque, bool debug);

/**
 * gm_log() - log one line through @sys's hook.
 * @sys: the system
 * @level: severity; GM_LOG_GUEST_ERROR lines are rate-limited
 * @fmt: printf format (the line is cut at 511 bytes)
 *
 * For layers built on guestmem (virtqueues, vhost-user, devices) so that a
 * guest or peer cannot flood the log through them either.
 * Context: any thread; takes only the log's own mutex.
 */
GM_EXPORT void gm_log(gm_system *sys, enum gm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * gm_transaction_begin() - start batching topology changes.
 * @sys: the system
 *
 * Transactions nest. Flat views are re-rendered and listeners told only when
 * the outermost transaction commits. Holds the writer lock until the matching
 * gm_transaction_commit().
 * Context: any thread; not from an RCU read-side critical section.
 */
GM_EXPORT void gm_transaction_begin(gm_system *sys);

/**
 * gm_transaction_commit() - end the innermost transaction.
 * @sys: the system
 *
 * At the outermost commit, every address space whose topology changed gets a
 * new flat view, published with RCU; listeners see begin, region_del (reverse
 * priority order), region_add/region_nop/log_start/log_stop (priority order)
 * and commit, as in QEMU.
 * Context: the thread that called gm_transaction_begin().
 */
GM_EXPORT void gm_transaction_commit(gm_system *sys);

/**
 * gm_system_generation() - count of outermost commits that changed topology.
 * @sys: the system
 *
 * Return: a number that grows by one for every published topology change;
 * useful to tell whether a gm_cache may be stale.
 * Context: any thread, lock-free.
 */
GM_EXPORT uint64_t gm_system_generation(gm_system *sys);

#ifdef __cplusplus
}
#endif

#endif
