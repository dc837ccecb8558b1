/* SPDX-License-Identifier: MIT */
/**
 * DOC: memory regions (QEMU's MemoryRegion)
 *
 * A region is a node of a memory tree. Kinds:
 *
 * - RAM: host memory the core accesses directly (anonymous, from an fd such
 *   as a memfd, or a caller's pointer). ROM is RAM that refuses writes.
 * - RAM device ("ramd"): host memory that must be accessed with exact-size
 *   loads and stores (device BARs mapped from a host device).
 * - ROM device: reads come from RAM while in romd mode, writes always go to
 *   the ops; outside romd mode reads go to the ops too.
 * - I/O: every access goes to callbacks (gm_region_ops).
 * - Container: groups subregions and renders nothing itself.
 * - Alias: a window onto another region (chains allowed).
 * - Reservation: occupies address space; every access is a decode error.
 *
 * Every kind may have subregions. RAM, ROM, I/O and reservations "terminate":
 * they fill whatever their subregions leave uncovered in their range.
 *
 * Ownership: a gm_region is reference counted. The creator holds one
 * reference and drops it with gm_region_unref(). A container holds a reference
 * on each subregion, an alias on its target, a flat view on every region it
 * shows, a map or a cache on the region it maps. Memory of a RAM region the
 * library allocated is freed with the last reference, after an RCU grace
 * period.
 *
 * Locking: the setters take the system's writer lock and start an implicit
 * transaction; call them inside gm_transaction_begin/commit to batch.
 */
#ifndef GUESTMEM_REGION_H
#define GUESTMEM_REGION_H

#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gm_region_ops - callbacks of an I/O (or ROM device) region.
 * @read: read @size bytes at @addr (offset in the region); returns the value
 * @write: write the low @size bytes of @data at @addr
 * @read_with_attrs: like @read with attributes and a result; used when @read is NULL
 * @write_with_attrs: like @write with attributes and a result; used when @write is NULL
 * @endianness: byte order of the registers
 * @valid: what the guest may do; outside it the access is GM_DECODE_ERROR
 * @valid.min_access_size: smallest access in bytes (0 = 1)
 * @valid.max_access_size: largest access in bytes; 0 accepts every size
 * @valid.unaligned: accept accesses not aligned to their size
 * @valid.accepts: optional veto per access
 * @impl: what the callbacks implement; the core splits or widens to it
 * @impl.min_access_size: smallest implemented size (0 = 1)
 * @impl.max_access_size: largest implemented size (0 = 4)
 * @impl.unaligned: the callbacks handle addresses not aligned to the size
 *
 * Callbacks run inside an RCU read-side critical section, without library
 * locks, possibly on several threads at once. A callback that needs to
 * change topology must defer that work (it may not wait for a grace period).
 */
typedef struct gm_region_ops {
    uint64_t (*read)(void *opaque, gm_addr addr, unsigned int size);
    void (*write)(void *opaque, gm_addr addr, uint64_t data, unsigned int size);
    gm_result (*read_with_attrs)(void *opaque, gm_addr addr, uint64_t *data,
                                 unsigned int size, gm_attrs attrs);
    gm_result (*write_with_attrs)(void *opaque, gm_addr addr, uint64_t data,
                                  unsigned int size, gm_attrs attrs);
    enum gm_endian endianness;
    struct {
        unsigned int min_access_size;
        unsigned int max_access_size;
        bool unaligned;
        bool (*accepts)(void *opaque, gm_addr addr, unsigned int size,
                        bool is_write, gm_attrs attrs);
    } valid;
    struct {
        unsigned int min_access_size;
        unsigned int max_access_size;
        bool unaligned;
    } impl;
} gm_region_ops;

/**
 * struct gm_reentrancy_guard - DMA re-entrancy guard of one device.
 * @engaged: opaque to the caller; zero-initialize it
 *
 * All I/O regions of one device share a guard (gm_region_set_guard()). While
 * a thread is inside one of them, an access by the same thread to any region
 * guarded by the same guard fails with GM_ACCESS_ERROR (the device DMAing
 * into its own registers: CVE-2021-3750 and kin).
 */
typedef struct gm_reentrancy_guard {
    int engaged;
} gm_reentrancy_guard;

/**
 * gm_region_new_container() - create a pure container.
 * @sys: the system
 * @name: name for printing (copied; may be NULL for "anonymous")
 * @size: size in bytes; GM_SIZE_2_64 for 2^64
 *
 * Return: the region with one reference, or NULL with errno ENOMEM.
 * Context: any thread.
 */
GM_EXPORT gm_region *gm_region_new_container(gm_system *sys, const char *name, uint64_t size);

/**
 * gm_region_new_ram() - create RAM backed by anonymous zeroed memory.
 * @sys: the system
 * @name: name
 * @size: size in bytes, at least 1, not GM_SIZE_2_64
 *
 * Return: the region, or NULL with errno EINVAL (size) or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_ram(gm_system *sys, const char *name, uint64_t size);

/**
 * gm_region_new_ram_from_fd() - create RAM by mapping an fd (memfd, file, shm).
 * @sys: the system
 * @name: name
 * @size: bytes to map
 * @fd: the file; the region dups it, the caller keeps its own
 * @offset: offset in the file, page aligned
 * @shared: MAP_SHARED (true) or MAP_PRIVATE
 *
 * Return: the region, or NULL with errno EINVAL (size, offset), EBADF, or the
 * errno of mmap()/dup().
 */
GM_EXPORT gm_region *gm_region_new_ram_from_fd(gm_system *sys, const char *name, uint64_t size,
                                               int fd, uint64_t offset, bool shared);

/**
 * gm_region_new_ram_ptr() - create RAM over memory the caller owns.
 * @sys: the system
 * @name: name
 * @size: bytes
 * @host: the memory; must stay valid until the region is freed
 *
 * Return: the region, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_ram_ptr(gm_system *sys, const char *name, uint64_t size,
                                           void *host);

/**
 * gm_region_new_ram_device_ptr() - RAM device: host memory used with exact-size accesses.
 * @sys: the system
 * @name: name
 * @size: bytes
 * @host: the memory; must stay valid until the region is freed
 *
 * Return: the region, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_ram_device_ptr(gm_system *sys, const char *name,
                                                  uint64_t size, void *host);

/**
 * gm_region_new_rom() - create read-only RAM (anonymous, zeroed).
 * @sys: the system
 * @name: name
 * @size: bytes
 *
 * Guests cannot write it (GM_DECODE_ERROR, data dropped); the creator fills
 * it through gm_region_get_ram_ptr().
 * Return: the region, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_rom(gm_system *sys, const char *name, uint64_t size);

/**
 * gm_region_new_io() - create an I/O region served by callbacks.
 * @sys: the system
 * @name: name
 * @size: bytes; GM_SIZE_2_64 allowed
 * @ops: callbacks; must outlive the region. NULL makes a reservation.
 * @opaque: passed to the callbacks
 *
 * Return: the region, or NULL with errno EINVAL (bad access sizes in @ops:
 * not 0/1/2/4/8 or min > max) or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_io(gm_system *sys, const char *name, uint64_t size,
                                      const gm_region_ops *ops, void *opaque);

/**
 * gm_region_new_reservation() - create a region where every access fails.
 * @sys: the system
 * @name: name
 * @size: bytes
 *
 * Return: the region (type "i/o"), or NULL with errno ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_reservation(gm_system *sys, const char *name, uint64_t size);

/**
 * gm_region_new_rom_device() - create a ROM device: RAM reads, callback writes.
 * @sys: the system
 * @name: name
 * @size: bytes
 * @ops: callbacks for writes, and for reads outside romd mode
 * @opaque: passed to the callbacks
 *
 * Starts in romd mode. Return: the region, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_rom_device(gm_system *sys, const char *name, uint64_t size,
                                              const gm_region_ops *ops, void *opaque);

/**
 * gm_region_new_alias() - create a window onto @target.
 * @sys: the system
 * @name: name
 * @target: the aliased region (referenced)
 * @offset: offset in @target where the window starts
 * @size: window size
 *
 * Return: the alias, or NULL with errno EINVAL (NULL target, target of
 * another system) or ENOMEM.
 */
GM_EXPORT gm_region *gm_region_new_alias(gm_system *sys, const char *name, gm_region *target,
                                         gm_addr offset, uint64_t size);

/**
 * gm_region_ref() - take a reference.
 * @mr: the region
 * Return: @mr. Context: any thread, lock-free.
 */
GM_EXPORT gm_region *gm_region_ref(gm_region *mr);

/**
 * gm_region_unref() - drop a reference; the last one frees the region.
 * @mr: the region, or NULL
 *
 * The region is freed after an RCU grace period, so readers that found it in
 * a flat view may finish their access. Context: any thread.
 */
GM_EXPORT void gm_region_unref(gm_region *mr);

/**
 * gm_region_add_subregion() - map @sub into @container at @offset, priority 0.
 * @container: the parent
 * @offset: address of @sub inside @container
 * @sub: the child; gains a reference held by @container
 *
 * Return: 0, or -EINVAL (different systems, @sub the container itself or an
 * ancestor of it, or a container chain deeper than 128), -EBUSY (@sub
 * already has a container). An alias inside the tree it shows is allowed.
 */
GM_EXPORT int gm_region_add_subregion(gm_region *container, gm_addr offset, gm_region *sub);

/**
 * gm_region_add_subregion_overlap() - map @sub with a priority.
 * @container: the parent
 * @offset: address of @sub inside @container
 * @sub: the child
 * @priority: higher wins; among equal priorities the last added wins
 *
 * Return: as gm_region_add_subregion().
 */
GM_EXPORT int gm_region_add_subregion_overlap(gm_region *container, gm_addr offset,
                                              gm_region *sub, int priority);

/**
 * gm_region_del_subregion() - unmap @sub from @container.
 * @container: the parent
 * @sub: the child; @container's reference is dropped
 * Return: 0, or -ENOENT if @sub is not a child of @container.
 */
GM_EXPORT int gm_region_del_subregion(gm_region *container, gm_region *sub);

/**
 * gm_region_set_enabled() - show or hide a region (a hidden one renders as removed).
 * @mr: the region
 * @enabled: new state
 */
GM_EXPORT void gm_region_set_enabled(gm_region *mr, bool enabled);

/**
 * gm_region_set_address() - move a region inside its container.
 * @mr: the region
 * @addr: new offset in the container
 */
GM_EXPORT void gm_region_set_address(gm_region *mr, gm_addr addr);

/**
 * gm_region_set_size() - resize a region.
 * @mr: the region
 * @size: new size; GM_SIZE_2_64 for 2^64
 * Return: 0, or -EINVAL when a RAM region would grow past its allocation.
 */
GM_EXPORT int gm_region_set_size(gm_region *mr, uint64_t size);

/**
 * gm_region_set_alias_offset() - move an alias's window inside its target.
 * @mr: an alias
 * @offset: new offset in the target
 * Return: 0, or -EINVAL if @mr is not an alias.
 */
GM_EXPORT int gm_region_set_alias_offset(gm_region *mr, gm_addr offset);

/**
 * gm_region_set_readonly() - make writes through this region fail.
 * @mr: any region; on an alias it applies to what is seen through the alias
 * @readonly: new state
 */
GM_EXPORT void gm_region_set_readonly(gm_region *mr, bool readonly);

/**
 * gm_region_set_nonvolatile() - mark memory non-volatile ("nv-" in mtree).
 * @mr: the region
 * @nonvolatile: new state
 */
GM_EXPORT void gm_region_set_nonvolatile(gm_region *mr, bool nonvolatile);

/**
 * gm_region_set_unmergeable() - keep this region's flat ranges separate.
 * @mr: the region
 * @unmergeable: new state
 */
GM_EXPORT void gm_region_set_unmergeable(gm_region *mr, bool unmergeable);

/**
 * gm_region_set_romd() - switch a ROM device between romd mode and I/O mode.
 * @mr: a ROM device
 * @romd: true: reads come from RAM; false: reads go to the ops
 * Return: 0, or -EINVAL if @mr is not a ROM device.
 */
GM_EXPORT int gm_region_set_romd(gm_region *mr, bool romd);

/**
 * gm_region_set_guard() - share a device's re-entrancy guard.
 * @mr: an I/O region (ROM devices, RAM devices and read-only regions are not
 *      guarded, as in QEMU; setting a guard on them has no effect)
 * @guard: the device's guard (outlives the region), or NULL for none
 */
GM_EXPORT void gm_region_set_guard(gm_region *mr, gm_reentrancy_guard *guard);

/**
 * gm_region_set_guard_disabled() - opt a region out of its guard.
 * @mr: the region
 * @disabled: true to let this region be re-entered
 */
GM_EXPORT void gm_region_set_guard_disabled(gm_region *mr, bool disabled);

/**
 * gm_region_get_ram_ptr() - host address of a RAM, ROM, RAM device or ROM device region.
 * @mr: the region
 * Return: the pointer (valid while a reference is held), or NULL for other kinds.
 */
GM_EXPORT void *gm_region_get_ram_ptr(gm_region *mr);

/**
 * gm_region_get_fd() - the fd a RAM region maps, for sharing with a peer.
 * @mr: the region
 * @offset: where the region starts in the fd (may be NULL)
 * Return: the fd (owned by the region), or -1.
 */
GM_EXPORT int gm_region_get_fd(gm_region *mr, uint64_t *offset);

/** gm_region_name() - the name. Return: a string owned by the region. */
GM_EXPORT const char *gm_region_name(const gm_region *mr);

/** gm_region_size() - the size. Return: bytes; GM_SIZE_2_64 means 2^64. */
GM_EXPORT uint64_t gm_region_size(const gm_region *mr);

/** gm_region_address() - offset in the container. */
GM_EXPORT gm_addr gm_region_address(const gm_region *mr);

/** gm_region_priority() - priority among siblings. */
GM_EXPORT int gm_region_priority(const gm_region *mr);

/** gm_region_container() - the parent, or NULL. Not referenced. */
GM_EXPORT gm_region *gm_region_container(const gm_region *mr);

/** gm_region_alias_target() - what an alias shows, or NULL. Not referenced. */
GM_EXPORT gm_region *gm_region_alias_target(const gm_region *mr);

/** gm_region_is_ram() - true for RAM, ROM and RAM device regions. */
GM_EXPORT bool gm_region_is_ram(const gm_region *mr);

/** gm_region_is_enabled() - current enabled state. */
GM_EXPORT bool gm_region_is_enabled(const gm_region *mr);

/**
 * gm_region_from_host() - find the RAM region that contains a host address.
 * @sys: the system
 * @host: a host pointer
 * @offset: set to the offset of @host in the region
 *
 * Return: the region with a new reference (drop it with gm_region_unref()),
 * or NULL if no RAM region of @sys contains @host.
 * Context: any thread, lock-free (RCU).
 */
GM_EXPORT gm_region *gm_region_from_host(gm_system *sys, const void *host, gm_addr *offset);

#ifdef __cplusplus
}
#endif

#endif
