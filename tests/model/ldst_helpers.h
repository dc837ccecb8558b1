/* SPDX-License-Identifier: MIT */
/*
 * ld/st through the library by size and endianness, and the byte-order
 * conversions the reference model's byte accesses are compared with.
 * Shared by the model-based test and the model fuzz target.
 */
#ifndef GUESTMEM_TESTS_LDST_HELPERS_H
#define GUESTMEM_TESTS_LDST_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include <guestmem/guestmem.h>

/* The value of @size bytes at @b, big- or little-endian. */
static inline uint64_t compose(const uint8_t *b, unsigned int size, bool be)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v = be ? v << 8 | b[i] : v | (uint64_t)b[i] << (8 * i);
    return v;
}

/* The @size bytes of @v into @b, big- or little-endian. */
static inline void decompose(uint8_t *b, uint64_t v, unsigned int size, bool be)
{
    for (unsigned int i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (be ? 8 * (size - 1 - i) : 8 * i));
}

/* gm_as_ld{8,16,32,64}[_be|_le] by @size (1, 2, 4, anything else 8); *val
 * gets what the call left in its output, 0xcc bytes if it wrote nothing. */
static inline gm_result lib_ld(gm_as *as, uint64_t addr, gm_attrs at, unsigned int size,
                               bool be, uint64_t *val)
{
    gm_result r;
    uint8_t v8 = 0xcc;
    uint16_t v16 = 0xcccc;
    uint32_t v32 = 0xcccccccc;
    uint64_t v64 = 0xccccccccccccccccull;

    switch (size) {
    case 1:
        r = gm_as_ld8(as, addr, at, &v8);
        *val = v8;
        return r;
    case 2:
        r = be ? gm_as_ld16_be(as, addr, at, &v16) : gm_as_ld16_le(as, addr, at, &v16);
        *val = v16;
        return r;
    case 4:
        r = be ? gm_as_ld32_be(as, addr, at, &v32) : gm_as_ld32_le(as, addr, at, &v32);
        *val = v32;
        return r;
    default:
        r = be ? gm_as_ld64_be(as, addr, at, &v64) : gm_as_ld64_le(as, addr, at, &v64);
        *val = v64;
        return r;
    }
}

/* gm_as_st{8,16,32,64}[_be|_le] by @size, as lib_ld(). */
static inline gm_result lib_st(gm_as *as, uint64_t addr, gm_attrs at, unsigned int size,
                               bool be, uint64_t val)
{
    switch (size) {
    case 1: return gm_as_st8(as, addr, at, (uint8_t)val);
    case 2: return be ? gm_as_st16_be(as, addr, at, (uint16_t)val)
                      : gm_as_st16_le(as, addr, at, (uint16_t)val);
    case 4: return be ? gm_as_st32_be(as, addr, at, (uint32_t)val)
                      : gm_as_st32_le(as, addr, at, (uint32_t)val);
    default: return be ? gm_as_st64_be(as, addr, at, val) : gm_as_st64_le(as, addr, at, val);
    }
}

#endif
