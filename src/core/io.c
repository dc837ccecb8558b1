/* SPDX-License-Identifier: MIT */
/*
 * Accesses to regions that are not plain RAM: I/O callbacks, ROM devices
 * outside romd mode, RAM devices, ROM writes and reservations.
 *
 * An access of N bytes is cut into pieces the guest may make (QEMU's
 * memory_access_size: at most valid.max_access_size, default 4, bounded by
 * the address's alignment unless impl.unaligned). Each piece is checked
 * against `valid` (size, alignment, accepts) — a refused piece reads as zeros
 * and gives GM_DECODE_ERROR — and then performed with the sizes the callbacks
 * implement (`impl`): split into several calls or widened into one.
 *
 * Byte lanes: a callback of size A at address c returns a value whose byte
 * for address x is at bit 8*(x-c) (little endian) or 8*(A-1-(x-c)) (big
 * endian). This reproduces QEMU exactly for aligned accesses. For an access
 * not aligned to A on a device without impl.unaligned (QEMU leaves this case
 * unemulated), guestmem issues the aligned A-sized calls that cover it and
 * moves only the bytes of the access: a read uses the lanes it needs, a
 * write sends zeros in the other lanes (never read-modify-write: device
 * reads can have side effects).
 *
 * Re-entrancy: while a thread is inside a guarded I/O region, another access
 * by that thread to a region with the same guard gets GM_ACCESS_ERROR; and no
 * thread nests I/O callbacks deeper than GM_MAX_IO_DEPTH (a guest building a
 * DMA loop between devices gets an error, not a stack overflow).
 */
#include <inttypes.h>
#include <string.h>

#include "core/internal.h"

#define GM_MAX_IO_DEPTH 16

typedef struct io_nesting {
    const gm_reentrancy_guard *guards[GM_MAX_IO_DEPTH];
    unsigned int depth;
} io_nesting;

/* Per thread: the I/O callbacks this thread is inside, innermost last. */
static __thread io_nesting io_stack;

static gm_result io_enter(gm_region *mr)
{
    const gm_reentrancy_guard *g = NULL;

    if (io_stack.depth >= GM_MAX_IO_DEPTH) {
        gm_log_guest(mr->sys, "I/O nested deeper than %d levels at region '%s'",
                     GM_MAX_IO_DEPTH, mr->name);
        return GM_ACCESS_ERROR;
    }
    if (mr->guard && !mr->guard_disabled && mr->kind == GM_KIND_IO && !mr->readonly)
        g = mr->guard;
    for (unsigned int i = 0; g && i < io_stack.depth; i++) {
        if (io_stack.guards[i] == g) {
            gm_log_guest(mr->sys, "blocked re-entrant I/O on region '%s'", mr->name);
            return GM_ACCESS_ERROR;
        }
    }
    io_stack.guards[io_stack.depth++] = g;
    if (g)
        __atomic_add_fetch(&mr->guard->engaged, 1, __ATOMIC_RELAXED);
    return GM_OK;
}

static void io_exit(gm_region *mr)
{
    const gm_reentrancy_guard *g = io_stack.guards[--io_stack.depth];

    if (g)
        __atomic_sub_fetch(&mr->guard->engaged, 1, __ATOMIC_RELAXED);
}

static bool is_big_endian(const gm_region *mr)
{
    if (mr->ops->endianness == GM_ENDIAN_NATIVE)
        return mr->sys->big_endian;
    return mr->ops->endianness == GM_ENDIAN_BIG;
}

static bool piece_valid(gm_region *mr, gm_addr xlat, unsigned int size, bool is_write,
                        gm_attrs attrs)
{
    const gm_region_ops *ops = mr->ops;

    if (ops->valid.accepts && !ops->valid.accepts(mr->opaque, xlat, size, is_write, attrs))
        return false;
    if (!ops->valid.unaligned && (xlat & (size - 1)))
        return false;
    if (!ops->valid.max_access_size)
        return true;
    return size <= ops->valid.max_access_size && size >= ops->valid.min_access_size;
}

static gm_result call_read(gm_region *mr, gm_addr addr, uint64_t *v, unsigned int size,
                           gm_attrs attrs)
{
    if (mr->ops->read) {
        *v = mr->ops->read(mr->opaque, addr, size);
        return GM_OK;
    }
    if (mr->ops->read_with_attrs)
        return mr->ops->read_with_attrs(mr->opaque, addr, v, size, attrs);
    *v = 0;
    return GM_DECODE_ERROR;
}

static gm_result call_write(gm_region *mr, gm_addr addr, uint64_t v, unsigned int size,
                            gm_attrs attrs)
{
    if (mr->ops->write) {
        mr->ops->write(mr->opaque, addr, v, size);
        return GM_OK;
    }
    if (mr->ops->write_with_attrs)
        return mr->ops->write_with_attrs(mr->opaque, addr, v, size, attrs);
    return GM_DECODE_ERROR;
}

static unsigned int lane_shift(gm_addr x, gm_addr c, unsigned int a, bool big)
{
    return 8 * (big ? a - 1 - (unsigned int)(x - c) : (unsigned int)(x - c));
}

/* One valid piece of @size bytes, performed with the implemented sizes. */
static gm_result piece_with_impl(gm_region *mr, gm_addr xlat, uint8_t *bytes, unsigned int size,
                                 bool is_write, gm_attrs attrs)
{
    const gm_region_ops *ops = mr->ops;
    unsigned int min = ops->impl.min_access_size ? ops->impl.min_access_size : 1;
    unsigned int max = ops->impl.max_access_size ? ops->impl.max_access_size : 4;
    unsigned int a = GM_MAX(GM_MIN(size, max), min);
    gm_addr c = ops->impl.unaligned ? xlat : xlat & ~(gm_addr)(a - 1);
    gm_u128 end = (gm_u128)xlat + size;
    bool big = is_big_endian(mr);
    gm_result r = GM_OK;

    for (; c < end; c += a) {
        gm_addr lo = GM_MAX(c, xlat);
        gm_u128 hi = GM_MIN((gm_u128)c + a, end);
        uint64_t v = 0;

        /* x is 128-bit: a chunk may end exactly at 2^64. */
        if (is_write) {
            for (gm_u128 x = lo; x < hi; x++)
                v |= (uint64_t)bytes[(gm_addr)x - xlat] << lane_shift((gm_addr)x, c, a, big);
            r |= call_write(mr, c, v, a, attrs);
        } else {
            r |= call_read(mr, c, &v, a, attrs);
            for (gm_u128 x = lo; x < hi; x++)
                bytes[(gm_addr)x - xlat] = (uint8_t)(v >> lane_shift((gm_addr)x, c, a, big));
        }
        if ((gm_u128)c + a >= GM_2_64)
            break;
    }
    return r;
}

static gm_result ops_piece(gm_region *mr, gm_addr xlat, uint8_t *bytes, unsigned int size,
                           bool is_write, gm_attrs attrs)
{
    gm_result r;

    if (!piece_valid(mr, xlat, size, is_write, attrs)) {
        gm_log_guest(mr->sys, "invalid %s of %u bytes at 0x%" PRIx64 " of region '%s'",
                     is_write ? "write" : "read", size, xlat, mr->name);
        if (!is_write)
            memset(bytes, 0, size);
        return GM_DECODE_ERROR;
    }
    r = io_enter(mr);
    if (r) {
        if (!is_write)
            memset(bytes, 0, size);
        return r;
    }
    r = piece_with_impl(mr, xlat, bytes, size, is_write, attrs);
    io_exit(mr);
    return r;
}

/* RAM device: one volatile host access of exactly @size bytes when the
 * host address is aligned (hostmem.h), byte by byte otherwise; never
 * memcpy(), whose access sizes are unspecified. */
static void ram_device_piece(gm_region *mr, gm_addr xlat, uint8_t *bytes, unsigned int size,
                             bool is_write)
{
    uint8_t *host = mr->ram + xlat;
    volatile uint8_t *p = host;

    if (gm_host_single(host, size)) {
        if (is_write)
            gm_host_write(host, bytes, size);
        else
            gm_host_read(bytes, host, size);
        return;
    }
    for (unsigned int i = 0; i < size; i++) {
        if (is_write)
            p[i] = bytes[i];
        else
            bytes[i] = p[i];
    }
}

static unsigned int pow2floor(uint64_t v)
{
    return v ? 1u << (63 - __builtin_clzll(v)) : 0;
}

/* QEMU's memory_access_size: the largest piece the guest may make here. */
static unsigned int piece_size(const gm_region *mr, uint64_t len, gm_addr xlat)
{
    unsigned int max = 8;

    if (mr->kind != GM_KIND_RAM_DEVICE) {
        max = mr->ops->valid.max_access_size ? mr->ops->valid.max_access_size : 4;
        if (!mr->ops->impl.unaligned) {
            gm_addr align = xlat & -xlat;

            if (align && align < max)
                max = (unsigned int)align;
        }
    }
    return pow2floor(GM_MIN(len, (uint64_t)max));
}

/* Regions with nothing to call: ROM and writes through read-only views of
 * RAM or map-on-demand memory, reservations, and IOMMUs (whose accesses are
 * translated before they get here). */
static bool region_refuses(const gm_region *mr)
{
    return mr->kind == GM_KIND_RAM || mr->kind == GM_KIND_IOMMU ||
           mr->kind == GM_KIND_MAPPED || (mr->kind == GM_KIND_IO && !mr->ops);
}

uint64_t gm_refuse_to_page_end(gm_addr xlat, uint8_t *buf, uint64_t len, bool is_write)
{
    uint64_t n = GM_MIN(gm_iommu_fault_len(xlat), len);

    if (!is_write)
        memset(buf, 0, n);
    return n;
}

gm_result gm_region_refuse(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t len,
                           bool is_write)
{
    gm_log_guest(mr->sys, "%s of %" PRIu64 " bytes at 0x%" PRIx64 " of %s region '%s' refused",
                 is_write ? "write" : "read", len, xlat,
                 mr->kind == GM_KIND_IO && !mr->ops ? "reserved" : "read-only", mr->name);
    if (!is_write)
        memset(buf, 0, len);
    return GM_DECODE_ERROR;
}

gm_result gm_region_access(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t len,
                           bool is_write, gm_attrs attrs)
{
    gm_result r = GM_OK;

    if (region_refuses(mr))
        return gm_region_refuse(mr, xlat, buf, len, is_write);
    while (len) {
        unsigned int l = piece_size(mr, len, xlat);

        if (mr->kind == GM_KIND_RAM_DEVICE)
            ram_device_piece(mr, xlat, buf, l, is_write);
        else
            r |= ops_piece(mr, xlat, buf, l, is_write, attrs);
        xlat += l;
        buf += l;
        len -= l;
    }
    return r;
}

gm_result gm_region_access_piece(gm_region *mr, gm_addr xlat, uint8_t *buf, unsigned int size,
                                 bool is_write, gm_attrs attrs)
{
    if (region_refuses(mr))
        return gm_region_refuse(mr, xlat, buf, size, is_write);
    if (mr->kind == GM_KIND_RAM_DEVICE) {
        ram_device_piece(mr, xlat, buf, size, is_write);
        return GM_OK;
    }
    return ops_piece(mr, xlat, buf, size, is_write, attrs);
}

bool gm_region_piece_valid(gm_region *mr, gm_addr xlat, unsigned int size, bool is_write,
                           gm_attrs attrs)
{
    if (mr->kind == GM_KIND_RAM_DEVICE)
        return true;
    if (region_refuses(mr))
        return false;
    return piece_valid(mr, xlat, size, is_write, attrs);
}

unsigned int gm_region_piece_size(const gm_region *mr, uint64_t len, gm_addr xlat)
{
    if (region_refuses(mr))
        return (unsigned int)GM_MIN(len, (uint64_t)UINT32_MAX);
    return piece_size(mr, len, xlat);
}
