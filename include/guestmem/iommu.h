/* SPDX-License-Identifier: MIT */
/**
 * DOC: IOMMU regions (QEMU's IOMMUMemoryRegion) and the IOTLB
 *
 * An IOMMU region translates every access made into it: its translate
 * callback maps an address (an IOVA: the offset in the region) to an IOTLB
 * entry {target address space, translated address, page mask, permissions},
 * and the access continues in the target address space. Translation loops
 * through nested IOMMUs (at most GM_IOMMU_MAX_NESTING) in every access path:
 * gm_as_read/write/rw, ld/st, gm_as_map and gm_cache_init. An access denied
 * by the permissions, or whose translation fails, gets GM_ACCESS_ERROR (reads
 * of the refused part return zeros).
 *
 * Translations are kept in an IOTLB per IOMMU region: a direct-mapped table
 * of 4 KiB-page translations whose number of slots is chosen per region at
 * creation (gm_iommu_config; by default one per page of the region, from 64
 * up to GM_IOTLB_DEFAULT_MAX_SLOTS). A working set of more pages than slots
 * misses (and calls @translate) on most accesses. Each slot takes 48 bytes,
 * and an invalidation of more than 64 pages, or of every index, visits every
 * slot, so a bigger IOTLB costs memory and makes those invalidations
 * slower. It is invalidated by
 * the owner of the translation tables through gm_iommu_notify() with
 * GM_IOMMU_UNMAP (which also tells the registered notifiers) or
 * gm_iommu_invalidate_all(). A translation racing with an invalidation is
 * never cached.
 *
 * A gm_as_map() mapping or a gm_cache through an IOMMU is clipped to one
 * IOMMU page and NOT revoked by an invalidation: like in QEMU, the user
 * registers a notifier and drops its mappings/caches on UNMAP.
 */
#ifndef GUESTMEM_IOMMU_H
#define GUESTMEM_IOMMU_H

#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** GM_IOMMU_MAX_NESTING - deepest chain of IOMMUs an access may cross. */
#define GM_IOMMU_MAX_NESTING 8

/**
 * enum gm_iommu_perm - access permissions of a translation.
 * @GM_IOMMU_NONE: no access (a fault)
 * @GM_IOMMU_RO: read only
 * @GM_IOMMU_WO: write only
 * @GM_IOMMU_RW: read and write
 */
enum gm_iommu_perm {
    GM_IOMMU_NONE = 0,
    GM_IOMMU_RO = 1,
    GM_IOMMU_WO = 2,
    GM_IOMMU_RW = 3,
};

/**
 * struct gm_iotlb_entry - one translation (QEMU's IOMMUTLBEntry).
 * @target_as: where translated addresses live
 * @iova: input address, aligned to @addr_mask + 1
 * @translated_addr: output address, aligned likewise
 * @addr_mask: page size - 1 (e.g. 0xfff); the size must be a power of two
 * @perm: what the translation allows
 */
typedef struct gm_iotlb_entry {
    gm_as *target_as;
    gm_addr iova;
    gm_addr translated_addr;
    gm_addr addr_mask;
    enum gm_iommu_perm perm;
} gm_iotlb_entry;

/**
 * struct gm_iommu_ops - the translation callbacks of an IOMMU region.
 * @translate: translate @addr for an access needing @flag, in index
 *             @iommu_idx; return perm GM_IOMMU_NONE (or a NULL target_as)
 *             when there is no translation. Called inside an RCU read-side
 *             critical section without library locks, possibly concurrently;
 *             it may block (e.g. waiting for an IOTLB update from a peer) but
 *             must not change topology.
 * @attrs_to_index: optional; the IOMMU index for @attrs (default 0)
 * @num_indexes: number of IOMMU indexes (0 means 1)
 */
typedef struct gm_iommu_ops {
    gm_iotlb_entry (*translate)(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                int iommu_idx);
    int (*attrs_to_index)(void *opaque, gm_attrs attrs);
    int num_indexes;
} gm_iommu_ops;

/**
 * enum gm_iommu_event - what a notifier hears about.
 * @GM_IOMMU_MAP: a translation was added
 * @GM_IOMMU_UNMAP: a translation was removed (the IOTLB forgets it first)
 */
enum gm_iommu_event {
    GM_IOMMU_MAP = 1,
    GM_IOMMU_UNMAP = 2,
};

typedef struct gm_iommu_notifier gm_iommu_notifier;

/**
 * struct gm_iommu_notifier - a subscriber to translation changes.
 * @notify: called with the event and the entry; runs on the thread that
 *          called gm_iommu_notify(), with the region's notifier list
 *          read-locked (it must not register or unregister notifiers)
 * @events: bitmask of GM_IOMMU_MAP / GM_IOMMU_UNMAP to hear
 * @start: first IOVA of interest
 * @last: last IOVA of interest (inclusive)
 * @iommu_idx: index of interest
 * @mr_: private
 * @next_: private
 */
struct gm_iommu_notifier {
    void (*notify)(gm_iommu_notifier *n, enum gm_iommu_event event,
                   const gm_iotlb_entry *entry);
    unsigned int events;
    gm_addr start;
    gm_addr last;
    int iommu_idx;
    gm_region *mr_;
    gm_iommu_notifier *next_;
};

/**
 * struct gm_iommu_stats - IOTLB counters of one IOMMU region.
 * @hits: translations served from the IOTLB
 * @misses: translations that called the translate callback
 * @faults: translations that gave no access
 * @invalidations: entries dropped by notifications or invalidate_all
 * @iotlb_slots: size of the IOTLB (not a counter: fixed at creation)
 */
typedef struct gm_iommu_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t faults;
    uint64_t invalidations;
    uint64_t iotlb_slots;
} gm_iommu_stats;

/** GM_IOTLB_DEFAULT_MAX_SLOTS - largest IOTLB chosen by default (16 MiB of 4 KiB pages). */
#define GM_IOTLB_DEFAULT_MAX_SLOTS 4096u

/** GM_IOTLB_MAX_SLOTS - largest IOTLB gm_iommu_config may ask for (4 GiB of 4 KiB pages). */
#define GM_IOTLB_MAX_SLOTS (1u << 20)

/**
 * struct gm_iommu_config - creation parameters of an IOMMU region.
 * @iotlb_slots: IOTLB size in slots, one 4 KiB translation each: a power of
 *               two up to GM_IOTLB_MAX_SLOTS, or 0 for the default (the
 *               region's size in 4 KiB pages rounded up to a power of two,
 *               at least 64, at most GM_IOTLB_DEFAULT_MAX_SLOTS). Size it to
 *               the device's working set: a slot costs 48 bytes.
 */
typedef struct gm_iommu_config {
    unsigned int iotlb_slots;
} gm_iommu_config;

/**
 * gm_region_new_iommu() - create an IOMMU region.
 * @sys: the system
 * @name: name
 * @size: bytes of IOVA space (GM_SIZE_2_64 allowed)
 * @ops: callbacks (must outlive the region)
 * @opaque: passed to the callbacks
 *
 * The IOTLB gets the default size (see gm_iommu_config).
 * Return: the region (prints as "i/o"; a leaf in flat views), or NULL with
 * errno EINVAL (no translate) or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_iommu(gm_system *sys, const char *name, uint64_t size,
                                         const gm_iommu_ops *ops, void *opaque);

/**
 * gm_region_new_iommu_config() - create an IOMMU region with parameters.
 * @sys: the system
 * @name: name
 * @size: bytes of IOVA space (GM_SIZE_2_64 allowed)
 * @ops: callbacks (must outlive the region)
 * @opaque: passed to the callbacks
 * @cfg: parameters (read during the call), or NULL for the defaults
 *
 * Return: as gm_region_new_iommu(); errno EINVAL also when
 * @cfg->iotlb_slots is not 0 or a power of two up to GM_IOTLB_MAX_SLOTS.
 */
GM_EXPORT gm_region *gm_region_new_iommu_config(gm_system *sys, const char *name,
                                                uint64_t size, const gm_iommu_ops *ops,
                                                void *opaque, const gm_iommu_config *cfg);

/**
 * gm_iommu_translate() - translate through the IOTLB (filling it on a miss).
 * @mr: an IOMMU region
 * @addr: IOVA (offset in the region)
 * @flag: the access needed (GM_IOMMU_RO, _WO or _RW)
 * @iommu_idx: index
 * @entry: the translation; perm GM_IOMMU_NONE when refused
 * Return: 0, -EINVAL (not an IOMMU region), -EACCES (no translation or not
 * allowed for @flag).
 * Context: any thread.
 */
GM_EXPORT int gm_iommu_translate(gm_region *mr, gm_addr addr, enum gm_iommu_perm flag,
                                 int iommu_idx, gm_iotlb_entry *entry);

/**
 * gm_iommu_notify() - report a translation change.
 * @mr: an IOMMU region
 * @iommu_idx: index
 * @event: GM_IOMMU_MAP or GM_IOMMU_UNMAP
 * @entry: the range (iova, addr_mask) and, for MAP, the translation
 *
 * UNMAP drops overlapping IOTLB entries before the notifiers run.
 * Return: 0, or -EINVAL (not an IOMMU region, bad event, mask not 2^n-1).
 * Context: any thread; not from a notifier of the same region.
 */
GM_EXPORT int gm_iommu_notify(gm_region *mr, int iommu_idx, enum gm_iommu_event event,
                              const gm_iotlb_entry *entry);

/**
 * gm_iommu_invalidate_all() - drop every IOTLB entry of @mr.
 * @mr: an IOMMU region (others are ignored)
 */
GM_EXPORT void gm_iommu_invalidate_all(gm_region *mr);

/**
 * gm_iommu_register_notifier() - subscribe @n to @mr's changes.
 * @mr: an IOMMU region
 * @n: caller-owned notifier, valid until unregistered
 * Return: 0, -EINVAL (not IOMMU, no callback, start > last), -EBUSY (registered).
 */
GM_EXPORT int gm_iommu_register_notifier(gm_region *mr, gm_iommu_notifier *n);

/**
 * gm_iommu_unregister_notifier() - unsubscribe (an unregistered @n is ignored).
 * @n: the notifier
 *
 * Returns once no notification to @n is running: @n may be freed then.
 * Context: not from a notifier callback of the same region.
 */
GM_EXPORT void gm_iommu_unregister_notifier(gm_iommu_notifier *n);

/**
 * gm_iommu_replay() - send @n a GM_IOMMU_MAP for every current translation
 * in its range (QEMU's default memory_region_iommu_replay).
 * @mr: an IOMMU region
 * @n: a notifier (registered or not); only its range, index and callback are used
 * @granularity: page size to probe: a power of two, at least 4096
 *
 * Calls the translate callback directly (bypassing the IOTLB) for each page
 * of [@n->start, @n->last]; pages without access are skipped.
 * Return: 0, -EINVAL (not an IOMMU region, bad granularity), -E2BIG (more
 * than 2^24 pages to probe).
 * Context: as gm_iommu_notify().
 */
GM_EXPORT int gm_iommu_replay(gm_region *mr, gm_iommu_notifier *n, uint64_t granularity);

/**
 * gm_iommu_get_stats() - read @mr's IOTLB counters.
 * @mr: an IOMMU region
 * @stats: filled in (zeros for other kinds)
 */
GM_EXPORT void gm_iommu_get_stats(gm_region *mr, gm_iommu_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
