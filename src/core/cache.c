/* SPDX-License-Identifier: MIT */
/*
 * Caches of hot guest ranges (QEMU's MemoryRegionCache).
 *
 * gm_cache_init() looks the start address up once, references the region
 * and records the section. A range of directly accessible RAM gets a host
 * pointer, used by the inline fast paths in cache.h; anything else keeps the
 * section and goes through io.c on every access. The cached length never
 * extends beyond the section found at init, so an offset outside it is a
 * guest error (GM_DECODE_ERROR), never an out-of-bounds host access.
 *
 * A map-on-demand range keeps one provider mapping pinned until destroy.
 *
 * The cache is not refreshed by topology changes (see cache.h). Through an
 * IOMMU it caches the translated target, clipped to one IOMMU page, and is
 * not refreshed by IOTLB invalidations either. A write cache that crosses a
 * read-only view of an IOMMU asks everything behind it for read access
 * only, and refuses stores (refuse_writes).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/internal.h"

static const uint8_t no_dirty_mask;

/* Pin a map-on-demand mapping for the cache's lifetime. */
static int64_t cache_fill_mapped(gm_cache *cache, const gm_flat_range *fr, gm_addr xlat,
                                 uint64_t l, bool is_write)
{
    void *handle = NULL;
    void *host;

    /* Through a read-only view: map for reading; stores are refused. */
    if (is_write && fr->readonly)
        is_write = false;
    host = fr->mr->mod_ops->map(fr->mr->opaque, xlat, &l, is_write, GM_ATTRS_UNSPECIFIED,
                                &handle);
    if (!host || !l) {
        if (host)
            fr->mr->mod_ops->unmap(fr->mr->opaque, handle, host, l, is_write, 0);
        return -EFAULT;
    }
    cache->ptr = host;
    cache->ptr_writable = is_write;
    cache->mod_handle = handle;
    cache->dirty_mask = &fr->mr->dirty_log_mask;
    return (int64_t)l;
}

/* Fill @cache from the range containing @addr (fr is not an IOMMU). */
static int64_t cache_fill(gm_cache *cache, gm_as *as, const gm_flat_range *fr, gm_addr addr,
                          uint64_t len, bool is_write)
{
    uint64_t l = GM_MIN(len, (uint64_t)GM_MIN(fr->start + fr->size - addr, (gm_u128)INT64_MAX));

    if (fr->mr->kind == GM_KIND_MAPPED) {
        int64_t got = cache_fill_mapped(cache, fr, fr->offset_in_region +
                                                       (addr - (gm_addr)fr->start), l, is_write);
        if (got < 0)
            return got;
        l = (uint64_t)GM_MIN((uint64_t)got, l);
    }
    gm_section_from_range(&cache->section, fr);
    gm_region_ref(fr->mr);
    cache->len = l;
    cache->as = as;
    cache->addr = addr;
    cache->is_write = is_write;
    if (fr->mr->kind == GM_KIND_MAPPED)
        return (int64_t)l;
    cache->dirty_mask = &no_dirty_mask;
    if (gm_range_is_direct(fr, false)) {
        gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);

        cache->ptr = fr->mr->ram + xlat;
        cache->ptr_writable = is_write && gm_range_is_direct(fr, true);
        cache->dirty_mask = &fr->mr->dirty_log_mask;
    }
    return (int64_t)l;
}

/* Resolve through IOMMUs: the cache ends up on the final target range,
 * clipped to the IOMMU page (QEMU does the same). */
static int64_t cache_init_rcu(gm_cache *cache, gm_as *as, gm_addr addr, uint64_t len,
                              bool is_write, int depth)
{
    const gm_flat_range *fr = gm_dispatch_lookup(gm_as_view_rcu(as), addr);
    gm_as *tas = NULL;
    gm_addr xlat, taddr = 0;
    uint64_t left;
    int64_t ret;
    bool ro;

    if (!fr)
        return -EFAULT;
    if (fr->mr->kind != GM_KIND_IOMMU)
        return cache_fill(cache, as, fr, addr, len, is_write);
    xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);
    ro = is_write && gm_range_refuses_write(fr);
    left = gm_iommu_step(fr->mr, xlat, is_write && !ro, GM_ATTRS_UNSPECIFIED, depth, &tas, &taddr);
    if (!left)
        return -EFAULT;
    len = GM_MIN(len, (uint64_t)GM_MIN(fr->start + fr->size - addr, (gm_u128)len));
    /* Seen through a read-only view, the cache can never store: what lies
     * behind the IOMMU is translated and mapped for reading only, so that
     * read-only translations and grants behind it serve the cache too. */
    ret = cache_init_rcu(cache, tas, taddr, GM_MIN(len, left), is_write && !ro, depth + 1);
    if (ret > 0 && ro) {
        /* Stores are refused as through any read-only view (not as on a
         * cache initialised for reading). */
        cache->is_write = true;
        cache->ptr_writable = false;
        cache->section.readonly = true;
        cache->refuse_writes = true;
    }
    return ret;
}

int64_t gm_cache_init(gm_cache *cache, gm_as *as, gm_addr addr, uint64_t len, bool is_write)
{
    int64_t ret;

    gm_cache_destroy(cache);
    if (!len)
        return -EINVAL;
    rcu_read_lock();
    ret = cache_init_rcu(cache, as, addr, len, is_write, 0);
    rcu_read_unlock();
    for (unsigned int i = 0; i < 4 && ret > 0 && cache->ptr; i++) {
        uint64_t n = 1u << i;

        cache->fast_end[i] = cache->len >= n ? cache->len - n + 1 : 0;
    }
    return ret;
}

void gm_cache_destroy(gm_cache *cache)
{
    gm_region *mr = cache->section.mr;

    if (mr && mr->kind == GM_KIND_MAPPED && cache->ptr)
        mr->mod_ops->unmap(mr->opaque, cache->mod_handle, cache->ptr, cache->len,
                           cache->ptr_writable, cache->ptr_writable ? cache->len : 0);
    gm_region_unref(mr);
    *cache = GM_CACHE_INIT;
}

static gm_addr cache_xlat(const gm_cache *cache, gm_addr off)
{
    return cache->section.offset_within_region +
           (cache->addr - cache->section.offset_within_address_space) + off;
}

static bool cache_bounds_ok(const gm_cache *cache, gm_addr off, uint64_t len)
{
    return cache->section.mr && len <= cache->len && off <= cache->len - len;
}

/* A 1/2/4/8-byte access is one device access validated as a whole, like
 * gm_as_ld/st; other lengths are split like gm_as_rw. */
static gm_result cache_device_access(gm_cache *cache, gm_addr off, void *buf, uint64_t len,
                                     bool is_write)
{
    gm_addr xlat = cache_xlat(cache, off);

    if (len == 1 || len == 2 || len == 4 || len == 8)
        return gm_region_access_piece(cache->section.mr, xlat, buf, (unsigned int)len, is_write,
                                      GM_ATTRS_UNSPECIFIED);
    return gm_region_access(cache->section.mr, xlat, buf, len, is_write, GM_ATTRS_UNSPECIFIED);
}

gm_result gm_cache_read_slow(gm_cache *cache, gm_addr off, void *buf, uint64_t len)
{
    if (!cache_bounds_ok(cache, off, len)) {
        if (cache->section.mr)
            gm_log_guest(cache->as->sys, "cache read of %" PRIu64 " bytes at offset 0x%" PRIx64
                         " beyond %" PRIu64, len, off, cache->len);
        memset(buf, 0, len);
        return GM_DECODE_ERROR;
    }
    if (cache->ptr) {
        gm_host_read(buf, cache->ptr + off, len);
        return GM_OK;
    }
    /* Every byte of @buf is written whatever the device does: the inline
     * loads in cache.h return their value unconditionally. */
    memset(buf, 0, len);
    return cache_device_access(cache, off, buf, len, false);
}

gm_result gm_cache_write_slow(gm_cache *cache, gm_addr off, const void *buf, uint64_t len)
{
    if (!cache_bounds_ok(cache, off, len) || !cache->is_write) {
        if (cache->section.mr)
            gm_log_guest(cache->as->sys, "cache write of %" PRIu64 " bytes at offset 0x%" PRIx64
                         " refused", len, off);
        return cache->is_write ? GM_DECODE_ERROR : GM_ACCESS_ERROR;
    }
    if (cache->ptr_writable) {
        gm_host_write(cache->ptr + off, buf, len);
        gm_mark_dirty(cache->section.mr, cache_xlat(cache, off), len);
        return GM_OK;
    }
    if (cache->refuse_writes || (cache->section.readonly &&
                                 cache->section.mr->kind != GM_KIND_IO &&
                                 cache->section.mr->kind != GM_KIND_ROM_DEVICE))
        return gm_region_refuse(cache->section.mr, cache_xlat(cache, off), (void *)buf, len, true);
    /* Not directly writable: a ROM device's ops, or a refusal for ROM. */
    return cache_device_access(cache, off, (void *)buf, len, true);
}

void gm_cache_invalidate(gm_cache *cache, gm_addr off, uint64_t len)
{
    if (cache->ptr && cache_bounds_ok(cache, off, len))
        gm_mark_dirty(cache->section.mr, cache_xlat(cache, off), len);
}
