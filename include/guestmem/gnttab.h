/* SPDX-License-Identifier: MIT */
/**
 * DOC: Xen grant tables: emulated and real, and grant regions
 *
 * A granter (the guest) shares a page of its memory by writing a grant entry
 * (Xen's v1 ABI: flags, domid, frame) and handing the entry's number, the
 * grant reference, to the backend. The backend maps grant references to
 * reach the data; while a grant is mapped its GTF_reading (and, for a
 * writable mapping, GTF_writing) flag is set, and the granter cannot end
 * access to it.
 *
 * guestmem has two providers behind one interface (gm_grant_provider):
 * - the emulated table (gm_gnttab_emu_*): grant entries and guest RAM live
 *   in memfds that a granter process and a backend process share; mapping a
 *   grant is a real mmap of the granted frame (read-only for read-only
 *   grants), unmapping a real munmap, so costs are realistic. It follows
 *   Xen's rules for flags and revocation; docs/dynamic-mapping.md lists what
 *   it does not enforce compared with the hypervisor.
 * - libxengnttab (gm_gnttab_xen_open), when built with it, for real Xen.
 *
 * A grant region (gm_grant_region_new) is a map-on-demand region over a
 * provider, addressed as Linux's grant DMA does: the region's offset is
 * (gref << 12) + offset in the page; place the region at 1 << 63. Its
 * mappings are cached by a gm_mapcache.
 */
#ifndef GUESTMEM_GNTTAB_H
#define GUESTMEM_GNTTAB_H

#include <guestmem/mapcache.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t gm_domid;
typedef uint32_t gm_grant_ref;

/**
 * struct gm_grant_entry_v1 - Xen's grant_entry_v1, 8 bytes.
 * @flags: GM_GTF_* bits
 * @domid: the domain allowed to map the frame
 * @frame: the granted guest frame number
 */
typedef struct gm_grant_entry_v1 {
    uint16_t flags;
    uint16_t domid;
    uint32_t frame;
} gm_grant_entry_v1;

#define GM_GTF_PERMIT_ACCESS 1u        /**< type: access allowed */
#define GM_GTF_TYPE_MASK 3u            /**< type bits */
#define GM_GTF_READONLY (1u << 2)      /**< map read-only only */
#define GM_GTF_READING (1u << 3)       /**< set while mapped */
#define GM_GTF_WRITING (1u << 4)       /**< set while mapped writable */

/** GM_GRANT_PAGE_SHIFT - grants are 4 KiB pages. */
#define GM_GRANT_PAGE_SHIFT 12
/** GM_GRANT_DMA_BASE - where Linux's grant DMA addresses start (bit 63). */
#define GM_GRANT_DMA_BASE (1ull << 63)

/**
 * struct gm_grant_provider_ops - how a backend maps grants.
 * @map_refs: map @count grants of domain @domid as one contiguous range,
 *            writable or read-only; all or nothing. Return the address or
 *            NULL (errno set).
 * @unmap: unmap what map_refs returned. Return 0 or a negative errno.
 * @copy: optional; copy @len bytes (within one page) to or from grant
 *        @ref at @offset without mapping. Return 0 or a negative errno.
 * @close: release the provider.
 */
typedef struct gm_grant_provider_ops {
    void *(*map_refs)(void *ctx, gm_domid domid, const gm_grant_ref *refs, unsigned int count,
                      bool writable);
    int (*unmap)(void *ctx, void *addr, unsigned int count);
    int (*copy)(void *ctx, gm_domid domid, gm_grant_ref ref, uint32_t offset, void *buf,
                uint32_t len, bool to_grant);
    void (*close)(void *ctx);
} gm_grant_provider_ops;

/**
 * struct gm_grant_provider - a provider instance.
 * @ops: operations
 * @ctx: their context
 */
typedef struct gm_grant_provider {
    const gm_grant_provider_ops *ops;
    void *ctx;
} gm_grant_provider;

typedef struct gm_gnttab_emu gm_gnttab_emu;

/**
 * gm_gnttab_emu_create() - create an emulated grant table over guest RAM.
 * @nr_entries: grant references (1 .. 1 << 20)
 * @guest_fd: the guest RAM's fd (e.g. a memfd); dup'ed
 * @guest_size: bytes of guest RAM (frames are guest_size >> 12)
 * @backend_domid: the domain id the backend maps as
 *
 * The table itself lives in a new memfd (gm_gnttab_emu_fd()) so another
 * process can attach to it; it is sealed against shrinking and growing, so
 * an attached process never finds it shorter than when it attached.
 * Return: the table, or NULL with errno.
 */
GM_EXPORT gm_gnttab_emu *gm_gnttab_emu_create(unsigned int nr_entries, int guest_fd,
                                              uint64_t guest_size, gm_domid backend_domid);

/**
 * gm_gnttab_emu_attach() - open a table created by another process.
 * @table_fd: the creator's gm_gnttab_emu_fd() (dup'ed)
 * @guest_fd: the guest RAM's fd (dup'ed)
 *
 * The header (entry count, guest frames, backend domid) is read once, here,
 * and kept: the table memfd must hold the entries and the guest fd the
 * guest frames. What the creator stores into the header later is ignored.
 *
 * Return: the table, or NULL with errno EINVAL (not a grant table, or a
 * header that does not fit the two fds) or others.
 */
GM_EXPORT gm_gnttab_emu *gm_gnttab_emu_attach(int table_fd, int guest_fd);

/** gm_gnttab_emu_fd() - the table's memfd (owned by @gt). */
GM_EXPORT int gm_gnttab_emu_fd(const gm_gnttab_emu *gt);

/** gm_gnttab_emu_free() - unmap and close (NULL is ignored). */
GM_EXPORT void gm_gnttab_emu_free(gm_gnttab_emu *gt);

/**
 * gm_gnttab_emu_grant() - granter: allow @domid to map @frame.
 * @gt: the table
 * @ref: grant reference
 * @domid: the grantee
 * @frame: guest frame number
 * @readonly: read-only grant
 * Return: 0, -EINVAL (ref or frame out of range), -EBUSY (entry in use).
 */
GM_EXPORT int gm_gnttab_emu_grant(gm_gnttab_emu *gt, gm_grant_ref ref, gm_domid domid,
                                  uint32_t frame, bool readonly);

/**
 * gm_gnttab_emu_end_access() - granter: revoke a grant.
 * @gt: the table
 * @ref: grant reference
 * Return: 0, -EBUSY while the grant is mapped (GTF_reading/writing set), or
 * -EINVAL.
 */
GM_EXPORT int gm_gnttab_emu_end_access(gm_gnttab_emu *gt, gm_grant_ref ref);

/**
 * gm_gnttab_emu_entry() - read an entry (for tests and tools).
 * @gt: the table
 * @ref: grant reference
 * @out: the entry
 * Return: 0 or -EINVAL.
 */
GM_EXPORT int gm_gnttab_emu_entry(gm_gnttab_emu *gt, gm_grant_ref ref, gm_grant_entry_v1 *out);

/**
 * gm_gnttab_emu_provider() - the backend's provider over an emulated table.
 * @gt: the table (must outlive the provider's users)
 * Return: a provider whose close() does not free @gt.
 */
GM_EXPORT gm_grant_provider gm_gnttab_emu_provider(gm_gnttab_emu *gt);

/**
 * gm_gnttab_emu_provider_owning() - like gm_gnttab_emu_provider(), but the
 * provider's close() frees @gt (for a table attached only to serve one region).
 * @gt: the table
 * Return: the provider.
 */
GM_EXPORT gm_grant_provider gm_gnttab_emu_provider_owning(gm_gnttab_emu *gt);

/**
 * gm_gnttab_xen_open() - a provider on libxengnttab (real Xen).
 * @provider: filled in on success
 * Return: 0, -ENOTSUP when guestmem was built without libxengnttab, or the
 * negative errno of xengnttab_open() (e.g. -ENOENT without /dev/xen/gntdev).
 */
GM_EXPORT int gm_gnttab_xen_open(gm_grant_provider *provider);

/**
 * gm_grant_region_new() - a map-on-demand region over a domain's grants.
 * @mc: the mapping cache to use
 * @sys: the system
 * @name: region name
 * @provider: the provider (copied); the region owns it from now on and calls
 *            its close() when the region is freed (also on failure here)
 * @domid: the granting domain
 * @nr_refs: references covered: the region is @nr_refs << 12 bytes
 *
 * Return: the region, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_region *gm_grant_region_new(gm_mapcache *mc, gm_system *sys, const char *name,
                                         const gm_grant_provider *provider, gm_domid domid,
                                         uint32_t nr_refs);

#ifdef __cplusplus
}
#endif

#endif
