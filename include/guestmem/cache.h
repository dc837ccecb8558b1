/* SPDX-License-Identifier: MIT */
/**
 * DOC: caches of hot guest structures (QEMU's MemoryRegionCache)
 *
 * A gm_cache pins the translation of one guest range (a virtqueue ring) so
 * that later accesses skip the lookup: for RAM a load is one compare and a
 * host load. Accesses take offsets relative to the start of the cache.
 *
 * Staleness contract: a cache is NOT refreshed by topology changes. It keeps
 * the region referenced and keeps accessing what was there at init time. The
 * owner re-creates it when topology changes (e.g. from a listener's commit
 * hook, or when gm_system_generation() moved), exactly as virtio does in QEMU.
 *
 * On anything but RAM, a read or write of 1, 2, 4 or 8 bytes (so every ld/st)
 * is one device access validated as a whole, like gm_as_ld/st; other
 * lengths are split like gm_as_rw().
 *
 * Single-copy atomicity: on RAM and on a map-on-demand mapping, a read or
 * write of 1, 2, 4 or 8 bytes (so every ld/st) whose host address is a
 * multiple of its size is one host access of that size, on the inline fast
 * path and on the out-of-line one alike (guestmem/hostmem.h). Anything else
 * may be split.
 *
 * Context: a cache is used by one thread at a time (the owner's); different
 * caches need no coordination.
 */
#ifndef GUESTMEM_CACHE_H
#define GUESTMEM_CACHE_H

#include <guestmem/as.h>
#include <guestmem/hostmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gm_cache - a cached translation; fields are private.
 * @ptr: host pointer when the range is directly accessible RAM, else NULL
 * @len: bytes covered
 * @fast_end: the inline fast paths' bounds, so that they test no pointer:
 *            an access of 2^i bytes at an offset below @fast_end[i] lies
 *            inside the cache and goes through @ptr (all 0 when @ptr is NULL)
 * @dirty_mask: region's dirty-log mask (non-zero: stores must mark dirty)
 * @section: the section found at init (holds the region reference)
 * @as: the address space
 * @addr: guest address of the start
 * @is_write: initialized for writing
 * @ptr_writable: stores may go through @ptr (writable RAM)
 * @mod_handle: the provider's handle of a map-on-demand mapping held by the cache
 * @refuse_writes: seen through a read-only view of an IOMMU: stores refused
 */
typedef struct gm_cache {
    uint8_t *ptr;
    uint64_t len;
    uint64_t fast_end[4];
    const uint8_t *dirty_mask;
    gm_section section;
    gm_as *as;
    gm_addr addr;
    bool is_write;
    bool ptr_writable;
    void *mod_handle;
    bool refuse_writes;
} gm_cache;

/** GM_CACHE_INIT - initializer for a cache that was never set up. */
#define GM_CACHE_INIT ((gm_cache){ 0 })

/**
 * gm_cache_init() - translate and pin [@addr, @addr + @len).
 * @cache: the cache (may hold a previous translation, which is destroyed)
 * @as: the address space
 * @addr: guest address
 * @len: bytes wanted
 * @is_write: the cache will be written
 *
 * A cache with @is_write whose path crosses a read-only view of an IOMMU
 * can never store: everything behind the view is translated and mapped for
 * reading only (a read-only translation or grant there serves it), reads
 * work, and writes fail with GM_DECODE_ERROR as through the view.
 *
 * Return: bytes covered (>= 1; may be less than @len when the range spans
 * regions: accesses beyond it fail), or -EFAULT when @addr is not backed,
 * -EINVAL when @len is 0. On error the cache is left empty and usable only
 * with gm_cache_destroy().
 */
GM_EXPORT int64_t gm_cache_init(gm_cache *cache, gm_as *as, gm_addr addr, uint64_t len,
                                bool is_write);

/**
 * gm_cache_destroy() - drop the pinned translation.
 * @cache: the cache; left empty (GM_CACHE_INIT)
 */
GM_EXPORT void gm_cache_destroy(gm_cache *cache);

/**
 * gm_cache_read_slow() - out-of-line part of gm_cache_read(); do not call directly.
 * @cache: the cache
 * @off: offset in the cache
 * @buf: destination, every byte written (zeros where nothing was read)
 * @len: bytes
 * Return: gm_result.
 */
GM_EXPORT gm_result gm_cache_read_slow(gm_cache *cache, gm_addr off, void *buf, uint64_t len);

/**
 * gm_cache_write_slow() - out-of-line part of gm_cache_write(); do not call directly.
 * @cache: the cache
 * @off: offset in the cache
 * @buf: source
 * @len: bytes
 * Return: gm_result.
 */
GM_EXPORT gm_result gm_cache_write_slow(gm_cache *cache, gm_addr off, const void *buf,
                                        uint64_t len);

/**
 * gm_cache_invalidate() - tell the core that [@off, @off + @len) changed
 * behind its back (written through @cache->ptr): marks it dirty.
 * @cache: the cache
 * @off: offset in the cache
 * @len: bytes
 */
GM_EXPORT void gm_cache_invalidate(gm_cache *cache, gm_addr off, uint64_t len);

static inline bool gm_cache_fast_(const gm_cache *cache, gm_addr off, uint64_t len)
{
    /* An ld/st (a constant 1, 2, 4 or 8 once inlined): one compare. */
    if (__builtin_constant_p(len) && (len == 1 || len == 2 || len == 4 || len == 8))
        return off < cache->fast_end[len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3];
    return len <= cache->fast_end[0] && off <= cache->fast_end[0] - len;
}

/**
 * gm_cache_host_ptr() - the host address of [@off, @off + @len) of the cache.
 * @cache: an initialized cache
 * @off: offset from the cache's start
 * @len: bytes
 * @is_write: the caller will store through the pointer (then it must call
 *            gm_cache_invalidate() for dirty tracking)
 *
 * For atomics on guest memory (ring indices). Return: the pointer, or NULL
 * when the range is not directly accessible RAM for that direction (use the
 * cache's read/write functions then). Lifetime: until gm_cache_destroy().
 */
static inline void *gm_cache_host_ptr(const gm_cache *cache, gm_addr off, uint64_t len,
                                      bool is_write)
{
    if (!gm_cache_fast_(cache, off, len) || (is_write && !cache->ptr_writable))
        return NULL;
    return cache->ptr + off;
}

/**
 * gm_cache_read() - read @len bytes at offset @off of the cache.
 * @cache: an initialized cache
 * @off: offset from the cache's start
 * @buf: destination
 * @len: bytes
 * Return: GM_OK, or GM_DECODE_ERROR beyond the cached length, or what the
 * region returned.
 */
static inline gm_result gm_cache_read(gm_cache *cache, gm_addr off, void *buf, uint64_t len)
{
    if (__builtin_expect(gm_cache_fast_(cache, off, len), 1)) {
        gm_host_read(buf, cache->ptr + off, len);
        return GM_OK;
    }
    return gm_cache_read_slow(cache, off, buf, len);
}

/**
 * gm_cache_write() - write @len bytes at offset @off of the cache.
 * @cache: a cache initialized with is_write
 * @off: offset from the cache's start
 * @buf: source
 * @len: bytes
 * Return: as gm_cache_read(); GM_ACCESS_ERROR if not initialized for
 * writing; GM_DECODE_ERROR if initialized through a read-only view.
 */
static inline gm_result gm_cache_write(gm_cache *cache, gm_addr off, const void *buf,
                                       uint64_t len)
{
    if (__builtin_expect(gm_cache_fast_(cache, off, len) && cache->ptr_writable &&
                             !__atomic_load_n(cache->dirty_mask, __ATOMIC_RELAXED),
                         1)) {
        gm_host_write(cache->ptr + off, buf, len);
        return GM_OK;
    }
    return gm_cache_write_slow(cache, off, buf, len);
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GM_CPU_TO_LE16_(v) (v)
#define GM_CPU_TO_LE32_(v) (v)
#define GM_CPU_TO_LE64_(v) (v)
#define GM_CPU_TO_BE16_(v) __builtin_bswap16(v)
#define GM_CPU_TO_BE32_(v) __builtin_bswap32(v)
#define GM_CPU_TO_BE64_(v) __builtin_bswap64(v)
#else
#define GM_CPU_TO_LE16_(v) __builtin_bswap16(v)
#define GM_CPU_TO_LE32_(v) __builtin_bswap32(v)
#define GM_CPU_TO_LE64_(v) __builtin_bswap64(v)
#define GM_CPU_TO_BE16_(v) (v)
#define GM_CPU_TO_BE32_(v) (v)
#define GM_CPU_TO_BE64_(v) (v)
#endif

/**
 * DOC: fixed-size cached loads and stores
 *
 * gm_cache_ld<N>_<le|be>() / gm_cache_st<N>_<le|be>(): like the gm_as_ld/st
 * family at offset @off of the cache. Inline: a RAM hit costs a bounds
 * check and a host access.
 */
static inline gm_result gm_cache_ld8(gm_cache *c, gm_addr off, uint8_t *val)
{
    return gm_cache_read(c, off, val, 1);
}

static inline gm_result gm_cache_ld16_le(gm_cache *c, gm_addr off, uint16_t *val)
{
    uint16_t v;
    gm_result r = gm_cache_read(c, off, &v, 2);
    *val = GM_CPU_TO_LE16_(v);
    return r;
}

static inline gm_result gm_cache_ld16_be(gm_cache *c, gm_addr off, uint16_t *val)
{
    uint16_t v;
    gm_result r = gm_cache_read(c, off, &v, 2);
    *val = GM_CPU_TO_BE16_(v);
    return r;
}

static inline gm_result gm_cache_ld32_le(gm_cache *c, gm_addr off, uint32_t *val)
{
    uint32_t v;
    gm_result r = gm_cache_read(c, off, &v, 4);
    *val = GM_CPU_TO_LE32_(v);
    return r;
}

static inline gm_result gm_cache_ld32_be(gm_cache *c, gm_addr off, uint32_t *val)
{
    uint32_t v;
    gm_result r = gm_cache_read(c, off, &v, 4);
    *val = GM_CPU_TO_BE32_(v);
    return r;
}

static inline gm_result gm_cache_ld64_le(gm_cache *c, gm_addr off, uint64_t *val)
{
    uint64_t v;
    gm_result r = gm_cache_read(c, off, &v, 8);
    *val = GM_CPU_TO_LE64_(v);
    return r;
}

static inline gm_result gm_cache_ld64_be(gm_cache *c, gm_addr off, uint64_t *val)
{
    uint64_t v;
    gm_result r = gm_cache_read(c, off, &v, 8);
    *val = GM_CPU_TO_BE64_(v);
    return r;
}

static inline gm_result gm_cache_st8(gm_cache *c, gm_addr off, uint8_t val)
{
    return gm_cache_write(c, off, &val, 1);
}


static inline gm_result gm_cache_st16_le(gm_cache *c, gm_addr off, uint16_t val)
{
    uint16_t v = GM_CPU_TO_LE16_(val);
    return gm_cache_write(c, off, &v, 2);
}

static inline gm_result gm_cache_st16_be(gm_cache *c, gm_addr off, uint16_t val)
{
    uint16_t v = GM_CPU_TO_BE16_(val);
    return gm_cache_write(c, off, &v, 2);
}

static inline gm_result gm_cache_st32_le(gm_cache *c, gm_addr off, uint32_t val)
{
    uint32_t v = GM_CPU_TO_LE32_(val);
    return gm_cache_write(c, off, &v, 4);
}

static inline gm_result gm_cache_st32_be(gm_cache *c, gm_addr off, uint32_t val)
{
    uint32_t v = GM_CPU_TO_BE32_(val);
    return gm_cache_write(c, off, &v, 4);
}

static inline gm_result gm_cache_st64_le(gm_cache *c, gm_addr off, uint64_t val)
{
    uint64_t v = GM_CPU_TO_LE64_(val);
    return gm_cache_write(c, off, &v, 8);
}

static inline gm_result gm_cache_st64_be(gm_cache *c, gm_addr off, uint64_t val)
{
    uint64_t v = GM_CPU_TO_BE64_(val);
    return gm_cache_write(c, off, &v, 8);
}

#ifdef __cplusplus
}
#endif

#endif
