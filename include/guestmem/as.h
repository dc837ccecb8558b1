/* SPDX-License-Identifier: MIT */
/**
 * DOC: address spaces and accesses (QEMU's AddressSpace, address_space_rw, ld/st)
 *
 * An address space is a root region seen by one initiator. Accesses look the
 * address up in the current flat view (lock-free, under RCU) and then copy to
 * or from RAM, or call the I/O region's callbacks with the access split or
 * widened to what the callbacks implement.
 *
 * Results are gm_result bitmasks OR-ed over all pieces of the access. A read
 * from a hole or a refused piece stores zeros for that piece and sets
 * GM_DECODE_ERROR (or GM_ACCESS_ERROR); a write to them is dropped. Other
 * pieces of the same access still happen, as in QEMU. Holes read as zeros
 * in QEMU 7.2 too; addresses past 2^64 are a hole here, where QEMU's
 * arithmetic wraps to 0.
 *
 * Context: every access may be called from any thread at any time, including
 * concurrently with topology changes, and from inside I/O callbacks.
 */
#ifndef GUESTMEM_AS_H
#define GUESTMEM_AS_H

#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gm_section - one range of a flat view (QEMU's MemoryRegionSection).
 * @mr: the region that serves this range (a leaf: never a container or alias)
 * @offset_within_region: where the range starts inside @mr
 * @offset_within_address_space: where it starts in the address space
 * @size: length; GM_SIZE_2_64 means 2^64 (a section of exactly 2^64 - 1
 *        bytes cannot be told apart; only a whole-space region makes one)
 * @readonly: seen through a read-only alias or container, or ROM: writes to
 *            RAM, ROM and map-on-demand memory are refused (GM_DECODE_ERROR);
 *            I/O, ROM-device and RAM-device regions still receive them, as in QEMU
 * @nonvolatile: non-volatile memory
 * @romd_mode: a ROM device in romd mode
 * @dirty_log_mask: bitmask of dirty clients logging this range (GM_DIRTY_*)
 */
typedef struct gm_section {
    gm_region *mr;
    gm_addr offset_within_region;
    gm_addr offset_within_address_space;
    uint64_t size;
    bool readonly;
    bool nonvolatile;
    bool romd_mode;
    uint8_t dirty_log_mask;
} gm_section;

/**
 * gm_as_new() - create an address space over @root.
 * @sys: the system
 * @root: the root region (referenced by the address space)
 * @name: name for printing (copied)
 *
 * Return: the address space, or NULL with errno EINVAL (NULL root, root of
 * another system) or ENOMEM.
 * Context: takes the writer lock.
 */
GM_EXPORT gm_as *gm_as_new(gm_system *sys, gm_region *root, const char *name);

/**
 * gm_as_free() - destroy an address space.
 * @as: the address space, or NULL
 *
 * Its listeners must have been unregistered and its maps unmapped. The flat
 * view is released after a grace period.
 */
GM_EXPORT void gm_as_free(gm_as *as);

/** gm_as_name() - the name (owned by @as). */
GM_EXPORT const char *gm_as_name(const gm_as *as);

/** gm_as_root() - the root region (not referenced). */
GM_EXPORT gm_region *gm_as_root(const gm_as *as);

/** gm_as_system() - the system @as belongs to. */
GM_EXPORT gm_system *gm_as_system(const gm_as *as);

/**
 * gm_as_rw() - read or write @len bytes at @addr.
 * @as: the address space
 * @addr: guest address
 * @attrs: transaction attributes
 * @buf: data to write, or where to store what is read
 * @len: bytes; the access may cross sections and wrap at 2^64 is an error
 * @is_write: direction
 *
 * The part of the access inside one flat range of RAM or a map-on-demand
 * mapping is copied with gm_host_read()/gm_host_write(): one host access
 * when it is 1, 2, 4 or 8 bytes naturally aligned in host memory.
 *
 * Return: GM_OK or an OR of GM_ERROR, GM_DECODE_ERROR, GM_ACCESS_ERROR.
 * An access running past 2^64 fails the part beyond with GM_DECODE_ERROR.
 * Context: any thread, lock-free (see the top of this header).
 */
GM_EXPORT gm_result gm_as_rw(gm_as *as, gm_addr addr, gm_attrs attrs, void *buf, uint64_t len,
                             bool is_write);

/** gm_as_read() - gm_as_rw() for reading. */
GM_EXPORT gm_result gm_as_read(gm_as *as, gm_addr addr, gm_attrs attrs, void *buf, uint64_t len);

/** gm_as_write() - gm_as_rw() for writing. */
GM_EXPORT gm_result gm_as_write(gm_as *as, gm_addr addr, gm_attrs attrs, const void *buf,
                                uint64_t len);

/**
 * gm_as_fill() - write @len copies of the byte @c at @addr.
 * @as: the address space
 * @addr: guest address
 * @attrs: attributes
 * @c: the byte
 * @len: bytes
 * Return: as gm_as_write().
 */
GM_EXPORT gm_result gm_as_fill(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t c, uint64_t len);

/**
 * gm_as_access_valid() - would an access of @len bytes at @addr succeed?
 * @as: the address space
 * @addr: guest address
 * @len: bytes
 * @is_write: direction
 * @attrs: attributes
 * Return: true if every piece is backed and accepted (no callbacks are made,
 * except valid.accepts).
 */
GM_EXPORT bool gm_as_access_valid(gm_as *as, gm_addr addr, uint64_t len, bool is_write,
                                  gm_attrs attrs);

/**
 * DOC: fixed-size loads and stores
 *
 * gm_as_ld<N>_<le|be>() reads an N-bit value whose bytes are in the given
 * order; gm_as_st<N>_<le|be>() writes one. An I/O region's value is laid out
 * in the region's own byte order, so a big-endian register read with
 * gm_as_ld32_be() returns its value unchanged. On error the loaded value is
 * the bytes actually read (zeros for failed pieces).
 *
 * Where they differ from QEMU 7.2 (docs/memory-model.md, 8):
 *
 * - A load from a hole returns 0 with GM_DECODE_ERROR (QEMU also returns
 *   0); a store there is dropped with GM_DECODE_ERROR.
 * - A load or store that straddles the end of a flat range is split like
 *   gm_as_rw(): each range, or hole, gets its part, and the results are
 *   OR-ed. Across two RAM regions it succeeds; QEMU sends the whole access
 *   to the first region, which for RAM is a decode error with nothing done.
 * - Addresses do not wrap at 2^64: the part of an access beyond it is a
 *   hole (GM_DECODE_ERROR, zeros for loads), the part below is performed.
 *
 * Single-copy atomicity: a load or store that falls inside one flat range
 * of RAM, ROM, a RAM device or a map-on-demand mapping (also behind an
 * IOMMU, when it stays inside one IOMMU page) and whose host address is a
 * multiple of its size is ONE host access of that size (guestmem/hostmem.h):
 * a concurrent store is seen whole or not at all, as with QEMU's ld/st on
 * RAM. Guest and host addresses have the same alignment for RAM created by
 * guestmem (page-aligned) and at page-aligned offsets of other memory. An
 * access that is not naturally aligned in host memory, crosses into another
 * flat range or IOMMU page, or meets a map-on-demand mapping shorter than
 * itself may be split into smaller accesses: it is not atomic. Inside one
 * I/O region it is one device access validated as a whole
 * (docs/memory-model.md, 4.2).
 *
 * @as: the address space
 * @addr: guest address
 * @attrs: transaction attributes
 * @val: where a load stores the value, or the value a store writes
 *
 * Return: as gm_as_rw().
 * Context: as gm_as_rw(): any thread, lock-free.
 */
GM_EXPORT gm_result gm_as_ld8(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *val);
GM_EXPORT gm_result gm_as_ld16_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t *val);
GM_EXPORT gm_result gm_as_ld16_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t *val);
GM_EXPORT gm_result gm_as_ld32_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t *val);
GM_EXPORT gm_result gm_as_ld32_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t *val);
GM_EXPORT gm_result gm_as_ld64_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t *val);
GM_EXPORT gm_result gm_as_ld64_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t *val);
GM_EXPORT gm_result gm_as_st8(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t val);
GM_EXPORT gm_result gm_as_st16_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t val);
GM_EXPORT gm_result gm_as_st16_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t val);
GM_EXPORT gm_result gm_as_st32_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t val);
GM_EXPORT gm_result gm_as_st32_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t val);
GM_EXPORT gm_result gm_as_st64_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t val);
GM_EXPORT gm_result gm_as_st64_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t val);

/**
 * gm_as_lookup() - the flat-view section that contains @addr.
 * @as: the address space
 * @addr: guest address
 * @section: filled in; @section->mr gains a reference the caller drops
 *
 * Return: true if @addr is backed, false for a hole (section untouched).
 * Context: any thread, lock-free.
 */
GM_EXPORT bool gm_as_lookup(gm_as *as, gm_addr addr, gm_section *section);

/**
 * gm_rcu_read_lock() - enter an RCU read-side critical section.
 *
 * Sections may nest. Inside one, flat views seen by gm_as_lookup_rcu()
 * stay valid. Never call anything that waits for a grace period
 * (gm_system_free, gm_system_drain) or changes topology from inside.
 * Context: any thread; no registration needed.
 */
GM_EXPORT void gm_rcu_read_lock(void);

/** gm_rcu_read_unlock() - leave the innermost RCU read-side critical section. */
GM_EXPORT void gm_rcu_read_unlock(void);

/**
 * gm_as_lookup_rcu() - gm_as_lookup() without taking a reference.
 * @as: the address space
 * @addr: guest address
 * @section: filled in; @section->mr is valid until gm_rcu_read_unlock()
 * Return: true if @addr is backed.
 * Context: inside gm_rcu_read_lock()/gm_rcu_read_unlock().
 */
GM_EXPORT bool gm_as_lookup_rcu(gm_as *as, gm_addr addr, gm_section *section);

/**
 * typedef gm_section_fn - callback of gm_as_for_each_section().
 * @opaque: the caller's pointer
 * @section: one range (valid during the call only)
 * Return: 0 to go on; anything else stops the walk and is returned.
 */
typedef int (*gm_section_fn)(void *opaque, const gm_section *section);

/**
 * gm_as_for_each_section() - walk the current flat view in address order.
 * @as: the address space
 * @fn: called for each range
 * @opaque: passed to @fn
 *
 * Return: 0, or the first non-zero value @fn returned.
 * Context: runs inside an RCU read-side critical section: @fn must not
 * change topology or wait for a grace period.
 */
GM_EXPORT int gm_as_for_each_section(gm_as *as, gm_section_fn fn, void *opaque);

#ifdef __cplusplus
}
#endif

#endif
