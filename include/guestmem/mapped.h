/* SPDX-License-Identifier: MIT */
/**
 * DOC: map-on-demand regions
 *
 * A map-on-demand region is memory the backend can reach only by mapping it
 * first and unmapping it afterwards: Xen grant mappings, foreign mappings,
 * any memory whose mapping is granted per use. Its provider supplies
 * gm_mod_ops; the core gives every access path a defined meaning on it:
 *
 * - gm_as_map() returns the provider's mapping (possibly shorter than asked,
 *   e.g. one grant page); gm_as_unmap() finds it again from the host pointer,
 *   calls @unmap with the bytes written, and marks them dirty if logged.
 * - gm_as_read/write/rw and every ld/st use the @copy op when there is one,
 *   otherwise map, copy and unmap each piece. Providers make that cheap by
 *   caching mappings (src/mapcache does it for any provider). The core
 *   copies from a mapping with gm_host_read()/gm_host_write(), so an
 *   aligned 1/2/4/8-byte ld/st is one host access when the mapping covers
 *   it; with a @copy op, that is the op's business (see below).
 * - gm_cache_init() keeps a mapping for the cache's lifetime;
 *   gm_cache_destroy() releases it.
 * - A refused mapping (revoked, never granted, read-only for a write) is
 *   GM_ACCESS_ERROR for that piece (reads of it return zeros), never a crash.
 *   A write through a read-only alias is GM_DECODE_ERROR, as for ROM.
 * - gm_as_access_valid() answers without calling the provider: true unless
 *   the access is a write through a read-only view; a page the provider
 *   refuses is only found out by the access itself.
 * - Flat views and listeners show the region like an I/O region ("i/o").
 */
#ifndef GUESTMEM_MAPPED_H
#define GUESTMEM_MAPPED_H

#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gm_mod_ops - how to reach the memory of a map-on-demand region.
 * @map: map [@offset, @offset + *@len) for reading, or for reading and
 *       writing if @is_write. May map less (set *@len, at least 1). Return
 *       the host pointer and an opaque *@handle for @unmap, or NULL when
 *       refused. Called without library locks, from any thread, possibly
 *       concurrently and inside an RCU read-side critical section (it may
 *       block, but must not change topology).
 * @unmap: release a mapping; @access_len bytes from its start were written
 *         when @is_write. Same context as @map.
 * @copy: optional; copy @len bytes at @offset to or from @buf without a
 *        mapping (like a grant copy). Return GM_OK or GM_ACCESS_ERROR.
 *        Every ld/st reaches the memory through it, so a copy of 1, 2, 4
 *        or 8 bytes at an offset that is a multiple of its length should be
 *        one access of that size (gm_host_read()/gm_host_write() do it for
 *        host memory); otherwise loads and stores on the region can tear.
 * @destroy: optional; called once when the region is freed (after every
 *           mapping was unmapped), to release @opaque.
 */
typedef struct gm_mod_ops {
    void *(*map)(void *opaque, gm_addr offset, uint64_t *len, bool is_write, gm_attrs attrs,
                 void **handle);
    void (*unmap)(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                  uint64_t access_len);
    gm_result (*copy)(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                      gm_attrs attrs);
    void (*destroy)(void *opaque);
} gm_mod_ops;

/** GM_MOD_MAX_LOG_SIZE - largest map-on-demand region that can log dirty pages. */
#define GM_MOD_MAX_LOG_SIZE (64ull << 30)

/**
 * gm_region_new_mapped() - create a map-on-demand region.
 * @sys: the system
 * @name: name
 * @size: bytes (GM_SIZE_2_64 allowed)
 * @ops: the provider's callbacks (must outlive the region)
 * @opaque: passed to the callbacks
 *
 * Dirty logging (gm_region_set_log) works on regions up to
 * GM_MOD_MAX_LOG_SIZE bytes.
 * Return: the region, or NULL with errno EINVAL (no map or unmap) or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_mapped(gm_system *sys, const char *name, uint64_t size,
                                          const gm_mod_ops *ops, void *opaque);

#ifdef __cplusplus
}
#endif

#endif
