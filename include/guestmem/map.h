/* SPDX-License-Identifier: MIT */
/**
 * DOC: mapping guest memory for direct access (QEMU's address_space_map)
 *
 * gm_as_map() returns a host pointer through which the caller may access up
 * to *plen bytes of guest memory. RAM is mapped directly (extended across
 * adjacent flat ranges of the same region). Anything else gets a bounce
 * buffer: filled from guest memory when mapping for read, written back (only
 * the access_len bytes actually written) on unmap.
 *
 * Bounce buffers draw on a per-address-space budget (default 4096 bytes,
 * QEMU's default). When it is exhausted gm_as_map() returns NULL with
 * *plen = 0; a map client registered with gm_as_register_map_client() is
 * called once when budget is freed, to retry.
 *
 * Never read-modify-write through a mapping: a write mapping of a bounce
 * buffer is not pre-filled.
 */
#ifndef GUESTMEM_MAP_H
#define GUESTMEM_MAP_H

#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * gm_as_map() - map guest memory.
 * @as: the address space
 * @addr: guest address
 * @plen: in: bytes wanted; out: bytes mapped (possibly fewer, 0 on failure)
 * @is_write: the caller will write through the mapping
 * @attrs: attributes
 *
 * Return: the host pointer, or NULL with *plen = 0 when @addr is not backed,
 * the first piece is refused, or the bounce budget is exhausted.
 * Lifetime: until gm_as_unmap(); the region stays referenced until then.
 * Context: any thread.
 */
GM_EXPORT void *gm_as_map(gm_as *as, gm_addr addr, uint64_t *plen, bool is_write,
                          gm_attrs attrs);

/**
 * gm_as_unmap() - release a mapping.
 * @as: the address space it was mapped from
 * @buffer: the pointer gm_as_map() returned
 * @len: the length gm_as_map() returned
 * @is_write: as passed to gm_as_map()
 * @access_len: bytes actually written from the start (marked dirty, written
 *              back for a bounce buffer); ignored for reads
 *
 * Unknown pointers are reported through the log and ignored.
 * Context: any thread. May call a map client (on this thread).
 */
GM_EXPORT void gm_as_unmap(gm_as *as, void *buffer, uint64_t len, bool is_write,
                           uint64_t access_len);

/**
 * typedef gm_map_client_fn - called when a retry of gm_as_map() may succeed.
 * @opaque: the registered pointer
 */
typedef void (*gm_map_client_fn)(void *opaque);

/**
 * gm_as_register_map_client() - ask to be called once when bounce budget frees.
 * @as: the address space
 * @fn: the callback; called without library locks from the thread that
 *      frees budget (or at once if budget is available now)
 * @opaque: passed to @fn
 *
 * Return: 0, or -ENOMEM.
 */
GM_EXPORT int gm_as_register_map_client(gm_as *as, gm_map_client_fn fn, void *opaque);

/**
 * gm_as_unregister_map_client() - cancel a registration that has not fired.
 * @as: the address space
 * @fn: as registered
 * @opaque: as registered
 */
GM_EXPORT void gm_as_unregister_map_client(gm_as *as, gm_map_client_fn fn, void *opaque);

/**
 * gm_as_set_bounce_budget() - bytes of bounce buffers @as may have at once.
 * @as: the address space
 * @bytes: the budget (at least 1)
 * Return: 0, or -EINVAL for 0.
 */
GM_EXPORT int gm_as_set_bounce_budget(gm_as *as, uint64_t bytes);

/** gm_as_bounce_in_use() - bytes of bounce buffers currently mapped. */
GM_EXPORT uint64_t gm_as_bounce_in_use(gm_as *as);

#ifdef __cplusplus
}
#endif

#endif
