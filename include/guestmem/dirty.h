/* SPDX-License-Identifier: MIT */
/**
 * DOC: dirty tracking (QEMU's dirty memory bitmaps)
 *
 * Each RAM region keeps one bitmap per dirty client, one bit per
 * GM_DIRTY_PAGE_SIZE bytes of the region. A client logs a region after
 * gm_region_set_log(); global tracking (gm_system_log_global_start()) makes
 * every RAM region log for GM_DIRTY_MIGRATION. Writes through gm_as_write,
 * st, gm_as_unmap(access_len) and cache stores set the bits of every logging
 * client; gm_region_set_dirty() sets them by hand for writes done behind the
 * core's back.
 *
 * Bits are set and cleared atomically: readers of the bitmap never miss a
 * write that completed before gm_region_snapshot_and_clear_dirty() started.
 */
#ifndef GUESTMEM_DIRTY_H
#define GUESTMEM_DIRTY_H

#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** GM_DIRTY_PAGE_SIZE - bytes per dirty bit. */
#define GM_DIRTY_PAGE_SIZE 4096u

/**
 * enum gm_dirty_client - who reads a dirty bitmap.
 * @GM_DIRTY_MIGRATION: live migration (driven by global tracking)
 * @GM_DIRTY_VGA: display updates
 * @GM_DIRTY_USER: any other user
 * @GM_DIRTY_NUM: number of clients
 */
enum gm_dirty_client {
    GM_DIRTY_MIGRATION = 0,
    GM_DIRTY_VGA = 1,
    GM_DIRTY_USER = 2,
    GM_DIRTY_NUM = 3,
};

typedef struct gm_dirty_snapshot gm_dirty_snapshot;

/**
 * gm_region_set_log() - start or stop logging writes to @mr for @client.
 * @mr: a RAM region
 * @client: the client
 * @log: on or off
 *
 * Listeners see log_start/log_stop at the commit.
 * Return: 0, -EINVAL (not RAM, bad client), -ENOMEM (bitmap).
 */
GM_EXPORT int gm_region_set_log(gm_region *mr, enum gm_dirty_client client, bool log);

/**
 * gm_region_set_dirty() - mark [@addr, @addr + @size) dirty for every logging client.
 * @mr: a RAM region
 * @addr: offset in the region
 * @size: bytes (clipped to the region)
 * Context: any thread, lock-free.
 */
GM_EXPORT void gm_region_set_dirty(gm_region *mr, gm_addr addr, uint64_t size);

/**
 * gm_region_get_dirty() - is any page of the range dirty for @client?
 * @mr: a RAM region
 * @addr: offset
 * @size: bytes
 * @client: the client
 * Return: true if a bit is set; false also when the client never logged.
 */
GM_EXPORT bool gm_region_get_dirty(gm_region *mr, gm_addr addr, uint64_t size,
                                   enum gm_dirty_client client);

/**
 * gm_region_reset_dirty() - clear the range's bits for @client.
 * @mr: a RAM region
 * @addr: offset
 * @size: bytes
 * @client: the client
 */
GM_EXPORT void gm_region_reset_dirty(gm_region *mr, gm_addr addr, uint64_t size,
                                     enum gm_dirty_client client);

/**
 * gm_region_snapshot_and_clear_dirty() - atomically take and clear the range's bits.
 * @mr: a RAM region
 * @addr: offset (rounded down to a page)
 * @size: bytes (rounded up)
 * @client: the client
 * Return: a snapshot to query and free, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_dirty_snapshot *gm_region_snapshot_and_clear_dirty(gm_region *mr, gm_addr addr,
                                                                uint64_t size,
                                                                enum gm_dirty_client client);

/**
 * gm_dirty_snapshot_get_dirty() - was any page of the range dirty in the snapshot?
 * @snap: the snapshot
 * @addr: offset in the region
 * @size: bytes; pages outside the snapshot read as clean
 */
GM_EXPORT bool gm_dirty_snapshot_get_dirty(const gm_dirty_snapshot *snap, gm_addr addr,
                                           uint64_t size);

/**
 * gm_dirty_snapshot_next() - find the next dirty page of a snapshot.
 * @snap: the snapshot
 * @from: offset in the region to start at
 * Return: the region offset of the first dirty page at or after @from
 * (page aligned), or UINT64_MAX when there is none.
 */
GM_EXPORT uint64_t gm_dirty_snapshot_next(const gm_dirty_snapshot *snap, gm_addr from);

/** gm_dirty_snapshot_free() - free a snapshot (NULL is ignored). */
GM_EXPORT void gm_dirty_snapshot_free(gm_dirty_snapshot *snap);

/**
 * gm_system_log_global_start() - every RAM region logs for GM_DIRTY_MIGRATION.
 * @sys: the system
 * Return: 0 or -ENOMEM. Listeners get log_global_start and, at the commit,
 * log_start for every RAM range.
 */
GM_EXPORT int gm_system_log_global_start(gm_system *sys);

/**
 * gm_system_log_global_stop() - end global tracking.
 * @sys: the system
 */
GM_EXPORT void gm_system_log_global_stop(gm_system *sys);

#ifdef __cplusplus
}
#endif

#endif
