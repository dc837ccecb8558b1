/* SPDX-License-Identifier: MIT */
/*
 * Ring memory: a gm_cache over a guest range, with a fallback, and the
 * ordered 16-bit index accesses the split-ring protocol needs.
 *
 * Why a fallback: gm_cache_init() may cover less than the range (a ring
 * spanning two IOMMU pages or two grant pages is cached up to the first
 * boundary only) or nothing (the ring is not reachable right now). The
 * covered prefix keeps the cache's inline fast path; the rest goes through
 * gm_as_read/write, which translate on every access and fail cleanly.
 *
 * Memory ordering. The driver publishes avail->idx after filling the ring
 * entries and descriptors; the device publishes used->idx after filling the
 * used entries (virtio 1.x, 2.7.13 and 2.7.14). So:
 *
 * - when the cache gives a host pointer (RAM, a pinned grant mapping) and the
 *   index is naturally aligned in host memory, the index is loaded with
 *   __atomic_load_n(ACQUIRE) and stored with __atomic_store_n(RELEASE). That
 *   gives both the ordering and single-copy atomicity (a torn avail->idx
 *   would look like a jump);
 * - otherwise (an I/O-backed ring, the uncached fallback, a misaligned host
 *   pointer from a provider) the access is a function call that ends in a
 *   host access or a device callback, so we bracket it with fences: the
 *   load is followed by an acquire fence (later ring reads cannot move above
 *   it), the store is preceded by a release fence (earlier used-entry and
 *   buffer writes cannot move below it). The fences give the ordering; the
 *   access itself is still single-copy atomic wherever the memory allows
 *   it: the core copies a naturally aligned 2-byte value in RAM or in a
 *   mapping with one host access on every path (guestmem/hostmem.h), as
 *   QEMU's ld/st on RAM do, and passes it to an I/O region as one 2-byte
 *   device access when the device accepts that size. Only an index that is
 *   not 2-byte aligned in host memory (a provider's misaligned mapping) or
 *   that straddles two regions can be copied in two pieces.
 *
 * A store through the host pointer bypasses gm_cache_write(), so it is
 * reported with gm_cache_invalidate() for dirty logging.
 *
 * Glossary: a = the area, off = offset from its start, len = bytes.
 * Locking: an area belongs to one queue and is used by its thread only.
 */
#include <errno.h>
#include <string.h>

#include "virtio/virtq_area.h"

int virtq_area_init(virtq_area *a, gm_as *as, gm_addr addr, uint64_t size, bool is_write)
{
    int64_t got;

    a->as = as;
    a->addr = addr;
    a->size = size;
    got = gm_cache_init(&a->cache, as, addr, size, is_write);
    if (got < 0) {
        a->cached = 0;
        return -EFAULT;
    }
    a->cached = (uint64_t)got < size ? (uint64_t)got : size;
    return 0;
}

void virtq_area_destroy(virtq_area *a)
{
    gm_cache_destroy(&a->cache);
    a->cached = 0;
}

/* Bytes of [off, off + len) that the cache covers (a prefix). */
static uint64_t area_cached_part(const virtq_area *a, uint64_t off, uint64_t len)
{
    if (off >= a->cached)
        return 0;
    return len < a->cached - off ? len : a->cached - off;
}

static bool area_bounds_ok(const virtq_area *a, uint64_t off, uint64_t len)
{
    return len <= a->size && off <= a->size - len;
}

gm_result virtq_area_read_slow(virtq_area *a, uint64_t off, void *buf, uint64_t len)
{
    uint64_t head = area_cached_part(a, off, len);
    gm_result r = GM_OK;

    if (!area_bounds_ok(a, off, len)) {
        memset(buf, 0, len);
        return GM_DECODE_ERROR;
    }
    if (head)
        r |= gm_cache_read(&a->cache, off, buf, head);
    if (len > head)
        r |= gm_as_read(a->as, a->addr + off + head, GM_ATTRS_UNSPECIFIED,
                        (uint8_t *)buf + head, len - head);
    return r;
}

gm_result virtq_area_write_slow(virtq_area *a, uint64_t off, const void *buf, uint64_t len)
{
    uint64_t head = area_cached_part(a, off, len);
    gm_result r = GM_OK;

    if (!area_bounds_ok(a, off, len))
        return GM_DECODE_ERROR;
    if (head)
        r |= gm_cache_write(&a->cache, off, buf, head);
    if (len > head)
        r |= gm_as_write(a->as, a->addr + off + head, GM_ATTRS_UNSPECIFIED,
                         (const uint8_t *)buf + head, len - head);
    return r;
}

/* The host pointer of a 16-bit index (aligned, for atomics), or NULL when
 * it must go through the cache's accessors. */
static uint16_t *area_index_ptr(virtq_area *a, uint64_t off, bool is_write)
{
    uint8_t *p;

    if (!virtq_area_in_cache(a, off, sizeof(uint16_t)))
        return NULL;
    p = gm_cache_host_ptr(&a->cache, off, sizeof(uint16_t), is_write);
    return !p || ((uintptr_t)p & (sizeof(uint16_t) - 1)) ? NULL : (uint16_t *)(void *)p;
}

gm_result virtq_area_load16_acquire(virtq_area *a, uint64_t off, uint16_t *val)
{
    uint16_t *p = area_index_ptr(a, off, false);
    gm_result r;

    if (p) {
        *val = virtq_le16(__atomic_load_n(p, __ATOMIC_ACQUIRE));
        return GM_OK;
    }
    r = virtq_area_read16(a, off, val);
    /* Ring entries read after this must not be satisfied before the load. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return r;
}

gm_result virtq_area_store16_release(virtq_area *a, uint64_t off, uint16_t val)
{
    uint16_t *p = area_index_ptr(a, off, true);

    if (p) {
        __atomic_store_n(p, virtq_le16(val), __ATOMIC_RELEASE);
        gm_cache_invalidate(&a->cache, off, sizeof(uint16_t));
        return GM_OK;
    }
    /* Used entries and buffer data written before must be visible first. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return virtq_area_write16(a, off, val);
}
