/* SPDX-License-Identifier: MIT */
/**
 * DOC: the mapping cache — fast map-on-demand regions for any provider
 *
 * A provider that can map and unmap runs of pages (a grant table, foreign
 * memory, a vIOMMU-backed window) gets a map-on-demand region whose mappings
 * are cached: the first access to a page maps it (a batch of pages at a
 * time), later accesses reuse the mapping. Entries are keyed by region, first
 * page and access: a read-only entry never satisfies a write lookup (the bug
 * QEMU's grant cache had until 2025), a writable one serves reads too.
 *
 * An entry is pinned while a gm_as_map() mapping, a gm_cache or an access in
 * progress uses it. When the cache holds more than its byte budget, unpinned
 * entries are evicted (CLOCK: recently used ones get a second chance), and
 * their unmaps may be deferred and done in batches.
 *
 * The owner of the backing revokes access with gm_mapcache_invalidate():
 * unpinned entries in the range are unmapped at once, pinned ones as soon as
 * their last user unpins; new lookups map again (and fail if access is gone).
 *
 * Each region has a page index (a radix tree of slots per page and access
 * kind) through which a hit finds its entry. A hit takes no lock: a read or
 * write counts itself a reader of the page's slot for the duration of its
 * copy (an invalidation or eviction waits for those readers), a mapping or
 * gm_cache pins the entry.
 *
 * Context: every function is thread-safe. Hits take no lock; misses,
 * evictions and invalidations take the cache's mutex. Provider callbacks
 * are called without it held.
 */
#ifndef GUESTMEM_MAPCACHE_H
#define GUESTMEM_MAPCACHE_H

#include <guestmem/mapped.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gm_mapcache gm_mapcache;

/**
 * struct gm_mapcache_provider - raw mapping operations of a backing.
 * @map_pages: map @npages pages from page @first, writable or read-only, as
 *             one contiguous host range; all or nothing. Return the host
 *             address or NULL (refused).
 * @unmap_pages: unmap a range map_pages returned.
 * @copy: optional; as gm_mod_ops.copy (used for accesses instead of mapping
 *        when set and @prefer_copy is true; then whether an aligned ld/st
 *        is one access is up to it, as gm_mod_ops.copy says). Without it,
 *        the cache copies from its mappings with gm_host_read() and
 *        gm_host_write(): an aligned 1/2/4/8-byte ld/st is one host access.
 * @destroy: optional; called with @opaque when the region is freed
 * @page_shift: log2 of the provider's page size (12 for 4 KiB)
 * @prefer_copy: use @copy for reads and writes, mappings only for map/caches
 */
typedef struct gm_mapcache_provider {
    void *(*map_pages)(void *opaque, uint64_t first, unsigned int npages, bool writable);
    void (*unmap_pages)(void *opaque, void *host, uint64_t first, unsigned int npages);
    gm_result (*copy)(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                      gm_attrs attrs);
    void (*destroy)(void *opaque);
    unsigned int page_shift;
    bool prefer_copy;
} gm_mapcache_provider;

/**
 * struct gm_mapcache_config - cache parameters.
 * @budget_bytes: mapped bytes above which unpinned entries are evicted (0: unlimited)
 * @batch_pages: pages mapped together on a miss, a power of two from 1 to 64;
 *               a batch that cannot be mapped whole falls back to one page
 * @deferred_unmap: collect evicted mappings and unmap them 16 at a time
 */
typedef struct gm_mapcache_config {
    uint64_t budget_bytes;
    unsigned int batch_pages;
    bool deferred_unmap;
} gm_mapcache_config;

/**
 * struct gm_mapcache_stats - counters since creation.
 * @hits: lookups served by a cached mapping
 * @misses: lookups that had to map
 * @maps: provider map calls that succeeded
 * @map_failures: provider map calls that were refused
 * @unmaps: provider unmap calls
 * @evictions: entries evicted for the budget
 * @invalidations: entries dropped by gm_mapcache_invalidate()
 * @bytes_mapped: bytes currently mapped (cached, pinned or awaiting unmap)
 * @entries: entries currently in the cache
 */
typedef struct gm_mapcache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t maps;
    uint64_t map_failures;
    uint64_t unmaps;
    uint64_t evictions;
    uint64_t invalidations;
    uint64_t bytes_mapped;
    uint64_t entries;
} gm_mapcache_stats;

/**
 * gm_mapcache_new() - create a mapping cache.
 * @cfg: parameters (copied); NULL for defaults (64 MiB, 1 page, immediate unmap)
 * Return: the cache, or NULL with errno EINVAL (batch_pages) or ENOMEM.
 */
GM_EXPORT gm_mapcache *gm_mapcache_new(const gm_mapcache_config *cfg);

/**
 * gm_mapcache_free() - unmap everything and free the cache.
 * @mc: the cache, or NULL. Every region made with it must be freed first
 *      (their last reference dropped and the system's deferred frees run,
 *      e.g. by gm_system_free()).
 *
 * The memory of entries that left the cache is kept for reuse until then
 * (64 bytes for each mapping the cache held at its fullest).
 */
GM_EXPORT void gm_mapcache_free(gm_mapcache *mc);

/**
 * gm_mapcache_region_new() - a map-on-demand region served through @mc.
 * @mc: the cache
 * @sys: the system
 * @name: region name
 * @size: bytes (offsets are provider pages << page_shift)
 * @provider: raw operations (must outlive the region)
 * @opaque: passed to the provider
 *
 * The region's page index costs 32 bytes per provider page, allocated 512
 * pages at a time when a page in them is first mapped, and freed with the
 * region (a region of at most 512 pages gets its index at once).
 * Return: the region, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_region *gm_mapcache_region_new(gm_mapcache *mc, gm_system *sys, const char *name,
                                            uint64_t size, const gm_mapcache_provider *provider,
                                            void *opaque);

/**
 * gm_mapcache_invalidate() - forget mappings of @mr overlapping a range.
 * @mc: the cache
 * @mr: a region made by gm_mapcache_region_new() with @mc
 * @offset: start of the range in the region
 * @len: bytes
 * Reads and writes copying from or to a dropped mapping when the call
 * starts are waited for (each is one memcpy); gm_as_map() mappings and
 * gm_cache users keep theirs until they release them.
 * Return: number of entries dropped (pinned ones go when unpinned), or
 * -EINVAL if @mr is not served by @mc.
 */
GM_EXPORT int gm_mapcache_invalidate(gm_mapcache *mc, gm_region *mr, gm_addr offset,
                                     uint64_t len);

/**
 * gm_mapcache_flush() - unmap every unpinned entry and any deferred unmaps.
 * @mc: the cache
 */
GM_EXPORT void gm_mapcache_flush(gm_mapcache *mc);

/**
 * gm_mapcache_get_stats() - read the counters.
 * @mc: the cache
 * @stats: filled in
 */
GM_EXPORT void gm_mapcache_get_stats(gm_mapcache *mc, gm_mapcache_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
