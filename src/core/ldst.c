/* SPDX-License-Identifier: MIT */
/*
 * Fixed-size loads and stores (the address_space_ld and _st families of QEMU).
 *
 * Unlike gm_as_rw(), a load or store that falls inside one flat range is
 * ONE access of its full size: an I/O region sees a single callback of that
 * size, validated as a whole, exactly as QEMU does, and RAM or a mapping one
 * host access when it is aligned in host memory (single-copy atomic, see
 * guestmem/hostmem.h). Only an access that crosses into another range (or
 * a hole) is split like gm_as_rw().
 * Values are converted from/to the requested byte order here; the bytes in
 * between are in memory order (an I/O register's bytes in its own order).
 *
 * Each accessor inlines the RAM fast path (gm_as_direct(), internal.h) with
 * its size as a constant: an aligned load is one host load and a swap. The
 * general path below is a tail call that takes its own RCU section.
 */
#include <endian.h>
#include <string.h>

#include "core/internal.h"

static gm_result view_access_sized_rcu(gm_flatview *fv, gm_addr addr, gm_attrs attrs,
                                       uint8_t *bytes, unsigned int size, bool is_write,
                                       int depth);

/* Inside one range: a direct copy, one device access, or an IOMMU hop. */
static gm_result range_access_sized(gm_flatview *fv, const gm_flat_range *fr, gm_addr addr,
                                    gm_attrs attrs, uint8_t *bytes, unsigned int size,
                                    bool is_write, int depth)
{
    gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);
    gm_as *tas = NULL;
    gm_addr taddr = 0;

    if (is_write && gm_range_refuses_write(fr))
        return gm_region_refuse(fr->mr, xlat, bytes, size, true);
    if (fr->mr->kind == GM_KIND_IOMMU) {
        uint64_t left = gm_iommu_step(fr->mr, xlat, is_write, attrs, depth, &tas, &taddr);

        if (left >= size)
            return view_access_sized_rcu(gm_as_view_rcu(tas), taddr, attrs, bytes, size,
                                         is_write, depth + 1);
        /* Refused, or straddling IOMMU pages: split like gm_as_rw(). */
        return gm_flatview_rw_depth_rcu(fv, addr, attrs, bytes, size, is_write, depth);
    }
    if (fr->mr->kind == GM_KIND_MAPPED)
        return gm_mod_rw(fr->mr, xlat, bytes, size, is_write, attrs);
    if (!gm_range_is_direct(fr, is_write))
        return gm_region_access_piece(fr->mr, xlat, bytes, size, is_write, attrs);
    gm_ram_rw(fr->mr, xlat, bytes, size, is_write);
    return GM_OK;
}

static gm_result view_access_sized_rcu(gm_flatview *fv, gm_addr addr, gm_attrs attrs,
                                       uint8_t *bytes, unsigned int size, bool is_write,
                                       int depth)
{
    const gm_flat_range *fr = gm_dispatch_lookup(fv, addr);

    if (fr && (gm_u128)addr + size <= fr->start + fr->size)
        return range_access_sized(fv, fr, addr, attrs, bytes, size, is_write, depth);
    return gm_flatview_rw_depth_rcu(fv, addr, attrs, bytes, size, is_write, depth);
}

/* The value of the @size bytes at @b in byte order @big. Fixed-size copies
 * and swaps: with constant arguments, one load (and a bswap). */
static inline uint64_t bytes_to_value(const uint8_t *b, unsigned int size, bool big)
{
    uint64_t v64;
    uint32_t v32;
    uint16_t v16;

    switch (size) {
    case 8:
        memcpy(&v64, b, 8);
        return big ? be64toh(v64) : le64toh(v64);
    case 4:
        memcpy(&v32, b, 4);
        return big ? be32toh(v32) : le32toh(v32);
    case 2:
        memcpy(&v16, b, 2);
        return big ? be16toh(v16) : le16toh(v16);
    default:
        return b[0];
    }
}

/* The @size bytes of @v in byte order @big, into @b (the inverse). */
static inline void value_to_bytes(uint64_t v, uint8_t *b, unsigned int size, bool big)
{
    uint64_t v64 = big ? htobe64(v) : htole64(v);
    uint32_t v32 = big ? htobe32((uint32_t)v) : htole32((uint32_t)v);
    uint16_t v16 = big ? htobe16((uint16_t)v) : htole16((uint16_t)v);

    switch (size) {
    case 8:
        memcpy(b, &v64, 8);
        break;
    case 4:
        memcpy(b, &v32, 4);
        break;
    case 2:
        memcpy(b, &v16, 2);
        break;
    default:
        b[0] = (uint8_t)v;
    }
}

/* The general path of a load or store of @size bytes in memory order. */
static gm_result as_sized_general(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *bytes,
                                  unsigned int size, bool is_write)
{
    gm_result r;

    rcu_read_lock();
    r = view_access_sized_rcu(gm_as_view_rcu(as), addr, attrs, bytes, size, is_write, 0);
    rcu_read_unlock();
    return r;
}

/* Store @v into the caller's @size-byte variable @val. */
static inline void value_out(void *val, uint64_t v, unsigned int size)
{
    switch (size) {
    case 8:
        *(uint64_t *)val = v;
        break;
    case 4:
        *(uint32_t *)val = (uint32_t)v;
        break;
    case 2:
        *(uint16_t *)val = (uint16_t)v;
        break;
    default:
        *(uint8_t *)val = (uint8_t)v;
    }
}

static gm_result load_general(gm_as *as, gm_addr addr, gm_attrs attrs, unsigned int size,
                              bool big, void *val)
{
    uint8_t b[8];
    gm_result r = as_sized_general(as, addr, attrs, b, size, false);

    value_out(val, bytes_to_value(b, size, big), size);
    return r;
}

static gm_result store_general(gm_as *as, gm_addr addr, gm_attrs attrs, unsigned int size,
                               bool big, uint64_t val)
{
    uint8_t b[8];

    value_to_bytes(val, b, size, big);
    return as_sized_general(as, addr, attrs, b, size, true);
}

/* Inlined into each accessor, so @size and @big are constants there: the
 * RAM fast path becomes one host load and the byte order one swap; the
 * general path is a tail call. @val is the caller's @size-byte variable. */
static inline __attribute__((always_inline)) gm_result
load(gm_as *as, gm_addr addr, gm_attrs attrs, unsigned int size, bool big, void *val)
{
    uint8_t b[8];

    if (gm_as_direct(as, addr, b, size, false)) {
        value_out(val, bytes_to_value(b, size, big), size);
        return GM_OK;
    }
    return load_general(as, addr, attrs, size, big, val);
}

static inline __attribute__((always_inline)) gm_result
store(gm_as *as, gm_addr addr, gm_attrs attrs, unsigned int size, bool big, uint64_t val)
{
    uint8_t b[8];

    value_to_bytes(val, b, size, big);
    if (gm_as_direct(as, addr, b, size, true))
        return GM_OK;
    return store_general(as, addr, attrs, size, big, val);
}

gm_result gm_as_ld8(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *val)
{
    return load(as, addr, attrs, 1, false, val);
}

gm_result gm_as_ld16_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t *val)
{
    return load(as, addr, attrs, 2, false, val);
}

gm_result gm_as_ld16_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t *val)
{
    return load(as, addr, attrs, 2, true, val);
}

gm_result gm_as_ld32_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t *val)
{
    return load(as, addr, attrs, 4, false, val);
}

gm_result gm_as_ld32_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t *val)
{
    return load(as, addr, attrs, 4, true, val);
}

gm_result gm_as_ld64_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t *val)
{
    return load(as, addr, attrs, 8, false, val);
}

gm_result gm_as_ld64_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t *val)
{
    return load(as, addr, attrs, 8, true, val);
}

gm_result gm_as_st8(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t val)
{
    return store(as, addr, attrs, 1, false, val);
}

gm_result gm_as_st16_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t val)
{
    return store(as, addr, attrs, 2, false, val);
}

gm_result gm_as_st16_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t val)
{
    return store(as, addr, attrs, 2, true, val);
}

gm_result gm_as_st32_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t val)
{
    return store(as, addr, attrs, 4, false, val);
}

gm_result gm_as_st32_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t val)
{
    return store(as, addr, attrs, 4, true, val);
}

gm_result gm_as_st64_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t val)
{
    return store(as, addr, attrs, 8, false, val);
}

gm_result gm_as_st64_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint64_t val)
{
    return store(as, addr, attrs, 8, true, val);
}
