/* SPDX-License-Identifier: MIT */
/*
 * Fixed-size loads and stores (the address_space_ld and _st families of QEMU).
 *
 * Unlike gm_as_rw(), a load or store that falls inside one flat range is
 * ONE access of its full size: an I/O region sees a single callback of that
 * size, validated as a whole, exactly as QEMU does. Only an access that
 * crosses into another range (or a hole) is split like gm_as_rw().
 * Values are converted from/to the requested byte order here; the bytes in
 * between are in memory order (an I/O register's bytes in its own order).
 */
#include <string.h>

#include "core/internal.h"

static gm_result as_access_sized(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *bytes,
                                 unsigned int size, bool is_write)
{
    const gm_flat_range *fr;
    gm_flatview *fv;
    gm_result r;

    rcu_read_lock();
    fv = gm_as_view_rcu(as);
    fr = gm_dispatch_lookup(fv, addr);
    if (fr && (gm_u128)addr + size <= fr->start + fr->size) {
        gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);

        if (gm_range_is_direct(fr, is_write)) {
            if (is_write) {
                memcpy(fr->mr->ram + xlat, bytes, size);
                gm_mark_dirty(fr->mr, xlat, size);
            } else {
                memcpy(bytes, fr->mr->ram + xlat, size);
            }
            r = GM_OK;
        } else {
            r = gm_region_access_piece(fr->mr, xlat, bytes, size, is_write, attrs);
        }
    } else {
        r = gm_flatview_rw_rcu(fv, addr, attrs, bytes, size, is_write);
    }
    rcu_read_unlock();
    return r;
}

static uint64_t bytes_to_value(const uint8_t *b, unsigned int size, bool big)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * (big ? size - 1 - i : i));
    return v;
}

static void value_to_bytes(uint64_t v, uint8_t *b, unsigned int size, bool big)
{
    for (unsigned int i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * (big ? size - 1 - i : i)));
}

static gm_result load(gm_as *as, gm_addr addr, gm_attrs attrs, unsigned int size, bool big,
                      uint64_t *val)
{
    uint8_t b[8];
    gm_result r = as_access_sized(as, addr, attrs, b, size, false);

    *val = bytes_to_value(b, size, big);
    return r;
}

static gm_result store(gm_as *as, gm_addr addr, gm_attrs attrs, unsigned int size, bool big,
                       uint64_t val)
{
    uint8_t b[8];

    value_to_bytes(val, b, size, big);
    return as_access_sized(as, addr, attrs, b, size, true);
}

gm_result gm_as_ld8(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *val)
{
    uint64_t v;
    gm_result r = load(as, addr, attrs, 1, false, &v);

    *val = (uint8_t)v;
    return r;
}

gm_result gm_as_ld16_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t *val)
{
    uint64_t v;
    gm_result r = load(as, addr, attrs, 2, false, &v);

    *val = (uint16_t)v;
    return r;
}

gm_result gm_as_ld16_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint16_t *val)
{
    uint64_t v;
    gm_result r = load(as, addr, attrs, 2, true, &v);

    *val = (uint16_t)v;
    return r;
}

gm_result gm_as_ld32_le(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t *val)
{
    uint64_t v;
    gm_result r = load(as, addr, attrs, 4, false, &v);

    *val = (uint32_t)v;
    return r;
}

gm_result gm_as_ld32_be(gm_as *as, gm_addr addr, gm_attrs attrs, uint32_t *val)
{
    uint64_t v;
    gm_result r = load(as, addr, attrs, 4, true, &v);

    *val = (uint32_t)v;
    return r;
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
