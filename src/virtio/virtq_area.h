/* SPDX-License-Identifier: MIT */
/*
 * A guest range accessed through a gm_cache with a fallback (internal).
 *
 * virtq_area wraps one ring (or an indirect table): the part the cache
 * covers is read and written through the cache's inline fast path; the rest
 * (a ring that spans IOMMU pages or grant pages, or whose cache could not be
 * made at all) goes through gm_as_read/write. Offsets are relative to the
 * start of the range and must lie inside it (callers compute them from the
 * queue size, never from guest data).
 *
 * The 16-bit index accessors carry the ring's memory ordering: see
 * virtq_area.c for the barrier argument.
 */
#ifndef GUESTMEM_VIRTIO_VIRTQ_AREA_H
#define GUESTMEM_VIRTIO_VIRTQ_AREA_H

#include <guestmem/cache.h>

/*
 * struct virtq_area - a cached guest range.
 * @cache: the translation of the range's first part
 * @as: the address space
 * @addr: guest address of the range (addr + size does not wrap)
 * @size: bytes
 * @cached: bytes from the start the cache covers (0: none)
 */
typedef struct virtq_area {
    gm_cache cache;
    gm_as *as;
    gm_addr addr;
    uint64_t size;
    uint64_t cached;
} virtq_area;

int virtq_area_init(virtq_area *a, gm_as *as, gm_addr addr, uint64_t size, bool is_write);
void virtq_area_destroy(virtq_area *a);
gm_result virtq_area_read_slow(virtq_area *a, uint64_t off, void *buf, uint64_t len);
gm_result virtq_area_write_slow(virtq_area *a, uint64_t off, const void *buf, uint64_t len);
gm_result virtq_area_load16_acquire(virtq_area *a, uint64_t off, uint16_t *val);
gm_result virtq_area_store16_release(virtq_area *a, uint64_t off, uint16_t val);

static inline bool virtq_area_in_cache(const virtq_area *a, uint64_t off, uint64_t len)
{
    return len <= a->cached && off <= a->cached - len;
}

/* Read @len bytes at @off: the cache's inline path when it covers them. */
static inline gm_result virtq_area_read(virtq_area *a, uint64_t off, void *buf, uint64_t len)
{
    if (virtq_area_in_cache(a, off, len))
        return gm_cache_read(&a->cache, off, buf, len);
    return virtq_area_read_slow(a, off, buf, len);
}

static inline gm_result virtq_area_write(virtq_area *a, uint64_t off, const void *buf,
                                         uint64_t len)
{
    if (virtq_area_in_cache(a, off, len))
        return gm_cache_write(&a->cache, off, buf, len);
    return virtq_area_write_slow(a, off, buf, len);
}

/* Ring fields are little endian (VERSION_1 or a legacy little-endian guest). */
static inline uint16_t virtq_le16(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return v;
#else
    return __builtin_bswap16(v);
#endif
}

static inline uint32_t virtq_le32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return v;
#else
    return __builtin_bswap32(v);
#endif
}

static inline uint64_t virtq_le64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return v;
#else
    return __builtin_bswap64(v);
#endif
}

static inline gm_result virtq_area_read16(virtq_area *a, uint64_t off, uint16_t *val)
{
    uint16_t v = 0;
    gm_result r = virtq_area_read(a, off, &v, sizeof(v));

    *val = virtq_le16(v);
    return r;
}

static inline gm_result virtq_area_write16(virtq_area *a, uint64_t off, uint16_t val)
{
    uint16_t v = virtq_le16(val);

    return virtq_area_write(a, off, &v, sizeof(v));
}

#endif
