/* SPDX-License-Identifier: MIT */
/*
 * Reads and writes through an address space (QEMU's flatview_read/write).
 *
 * The loop looks up the flat range of the current address, handles as much
 * of the access as that range covers, and moves on: RAM is copied directly
 * (and writes marked dirty); anything else goes to io.c, which splits the
 * bytes into device accesses. Holes read as zeros and give GM_DECODE_ERROR;
 * so does whatever part of an access would run past 2^64. Results of all
 * pieces are OR-ed.
 *
 * Every entry point runs inside an RCU read-side critical section and uses
 * one flat view from start to end, so a concurrent commit never shows an
 * access half of the old and half of the new topology.
 *
 * gm_as_read/write/rw first try the RAM fast path (gm_as_direct(),
 * internal.h: all of the access in one directly accessible RAM range, done
 * in a section of its own); only when it declines, having done nothing, do
 * they take the loop above, in a new section on the then current view.
 */
#include <inttypes.h>
#include <string.h>

#include "core/internal.h"

bool gm_range_refuses_write(const gm_flat_range *fr)
{
    enum gm_region_kind k = fr->mr->kind;

    return fr->readonly && k != GM_KIND_IO && k != GM_KIND_ROM_DEVICE;
}

bool gm_range_is_direct(const gm_flat_range *fr, bool is_write)
{
    const gm_region *mr = fr->mr;

    if (is_write)
        return mr->kind == GM_KIND_RAM && !fr->readonly;
    return mr->kind == GM_KIND_RAM || (mr->kind == GM_KIND_ROM_DEVICE && fr->romd_mode);
}

void gm_ram_rw(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t len, bool is_write)
{
    /* One host access for an aligned 1/2/4/8-byte piece (hostmem.h): a
     * concurrent store is never seen in part. */
    if (is_write) {
        gm_host_write(mr->ram + xlat, buf, len);
        gm_mark_dirty(mr, xlat, len);
    } else {
        gm_host_read(buf, mr->ram + xlat, len);
    }
}

/* Bytes from @addr to the end of @fr, capped at @len. */
static uint64_t range_remaining(const gm_flat_range *fr, gm_addr addr, uint64_t len)
{
    gm_u128 left = fr->start + fr->size - addr;

    return left < len ? (uint64_t)left : len;
}

/* Bytes from @addr (a hole) to the next range, capped at @len. */
static uint64_t hole_remaining(const gm_flatview *fv, gm_addr addr, uint64_t len)
{
    unsigned int next = gm_dispatch_next_index(fv, addr);
    gm_u128 left;

    if (next >= fv->nr)
        return len;
    left = fv->ranges[next].start - addr;
    return left < len ? (uint64_t)left : len;
}

/* Through an IOMMU: one translated piece per IOMMU page. */
static gm_result iommu_rw(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t l, bool is_write,
                          gm_attrs attrs, int depth)
{
    gm_result r = GM_OK;

    while (l) {
        gm_as *tas = NULL;
        gm_addr taddr = 0;
        uint64_t n = gm_iommu_step(mr, xlat, is_write, attrs, depth, &tas, &taddr);

        if (n) {
            n = GM_MIN(n, l);
            r |= gm_flatview_rw_depth_rcu(gm_as_view_rcu(tas), taddr, attrs, buf, n, is_write,
                                          depth + 1);
        } else {
            n = gm_refuse_to_page_end(xlat, buf, l, is_write);
            r |= GM_ACCESS_ERROR;
        }
        xlat += n;
        buf += n;
        l -= n;
    }
    return r;
}

static gm_result range_rw(const gm_flat_range *fr, gm_addr addr, uint8_t *buf, uint64_t l,
                          bool is_write, gm_attrs attrs, int depth)
{
    gm_region *mr = fr->mr;
    gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);

    if (is_write && gm_range_refuses_write(fr))
        return gm_region_refuse(mr, xlat, buf, l, true);
    if (mr->kind == GM_KIND_IOMMU)
        return iommu_rw(mr, xlat, buf, l, is_write, attrs, depth);
    if (mr->kind == GM_KIND_MAPPED)
        return gm_mod_rw(mr, xlat, buf, l, is_write, attrs);
    if (!gm_range_is_direct(fr, is_write))
        return gm_region_access(mr, xlat, buf, l, is_write, attrs);
    gm_ram_rw(mr, xlat, buf, l, is_write);
    return GM_OK;
}

static gm_result hole_rw(gm_flatview *fv, gm_addr addr, uint8_t *buf, uint64_t l, bool is_write)
{
    gm_log_guest(fv->sys, "unassigned %s of %" PRIu64 " bytes at 0x%" PRIx64,
                 is_write ? "write" : "read", l, addr);
    if (!is_write)
        memset(buf, 0, l);
    return GM_DECODE_ERROR;
}

gm_result gm_flatview_rw_rcu(gm_flatview *fv, gm_addr addr, gm_attrs attrs, uint8_t *buf,
                             uint64_t len, bool is_write)
{
    return gm_flatview_rw_depth_rcu(fv, addr, attrs, buf, len, is_write, 0);
}

gm_result gm_flatview_rw_depth_rcu(gm_flatview *fv, gm_addr addr, gm_attrs attrs, uint8_t *buf,
                                   uint64_t len, bool is_write, int depth)
{
    gm_u128 end = (gm_u128)addr + len;
    gm_result r = GM_OK;

    if (end > GM_2_64) {
        uint64_t over = (uint64_t)(end - GM_2_64);

        r |= hole_rw(fv, 0, buf + (len - over), over, is_write);
        len -= over;
    }
    while (len) {
        const gm_flat_range *fr = gm_dispatch_lookup(fv, addr);
        uint64_t l;

        if (fr) {
            l = range_remaining(fr, addr, len);
            r |= range_rw(fr, addr, buf, l, is_write, attrs, depth);
        } else {
            l = hole_remaining(fv, addr, len);
            r |= hole_rw(fv, addr, buf, l, is_write);
        }
        addr += l;
        buf += l;
        len -= l;
    }
    return r;
}

/* The general path of gm_as_rw(): everything but directly accessible RAM. */
static gm_result as_rw_general(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *buf,
                               uint64_t len, bool is_write)
{
    gm_result r;

    rcu_read_lock();
    r = gm_flatview_rw_rcu(gm_as_view_rcu(as), addr, attrs, buf, len, is_write);
    rcu_read_unlock();
    return r;
}

static inline __attribute__((always_inline)) gm_result
as_rw(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t *buf, uint64_t len, bool is_write)
{
    if (gm_as_direct(as, addr, buf, len, is_write))
        return GM_OK;
    return as_rw_general(as, addr, attrs, buf, len, is_write);
}

gm_result gm_as_rw(gm_as *as, gm_addr addr, gm_attrs attrs, void *buf, uint64_t len,
                   bool is_write)
{
    return as_rw(as, addr, attrs, buf, len, is_write);
}

gm_result gm_as_read(gm_as *as, gm_addr addr, gm_attrs attrs, void *buf, uint64_t len)
{
    return as_rw(as, addr, attrs, buf, len, false);
}

gm_result gm_as_write(gm_as *as, gm_addr addr, gm_attrs attrs, const void *buf, uint64_t len)
{
    /* The write path never stores into @buf. */
    return as_rw(as, addr, attrs, (void *)buf, len, true);
}

gm_result gm_as_fill(gm_as *as, gm_addr addr, gm_attrs attrs, uint8_t c, uint64_t len)
{
    uint8_t chunk[512];
    gm_result r = GM_OK;

    memset(chunk, c, sizeof(chunk));
    while (len) {
        uint64_t l = GM_MIN(len, (uint64_t)sizeof(chunk));

        r |= gm_as_write(as, addr, attrs, chunk, l);
        if ((gm_u128)addr + l >= GM_2_64 && len > l) {
            /* The rest lies beyond 2^64: gm_as_write() would say so too. */
            gm_log_guest(as->sys, "fill past 2^64 at 0x%" PRIx64, addr);
            return r | GM_DECODE_ERROR;
        }
        addr += l;
        len -= l;
    }
    return r;
}

static bool view_valid_rcu(gm_flatview *fv, gm_addr addr, uint64_t len, bool is_write,
                           gm_attrs attrs, int depth);

static bool iommu_valid(gm_region *mr, gm_addr xlat, uint64_t l, bool is_write, gm_attrs attrs,
                        int depth)
{
    while (l) {
        gm_as *tas = NULL;
        gm_addr taddr = 0;
        uint64_t n = gm_iommu_step(mr, xlat, is_write, attrs, depth, &tas, &taddr);

        if (!n)
            return false;
        n = GM_MIN(n, l);
        if (!view_valid_rcu(gm_as_view_rcu(tas), taddr, n, is_write, attrs, depth + 1))
            return false;
        xlat += n;
        l -= n;
    }
    return true;
}

static bool range_valid(const gm_flat_range *fr, gm_addr addr, uint64_t l, bool is_write,
                        gm_attrs attrs, int depth)
{
    gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);

    if (is_write && gm_range_refuses_write(fr))
        return false;
    if (fr->mr->kind == GM_KIND_IOMMU)
        return iommu_valid(fr->mr, xlat, l, is_write, attrs, depth);
    /* A map-on-demand region may still refuse at access time. */
    if (fr->mr->kind == GM_KIND_MAPPED)
        return true;
    if (gm_range_is_direct(fr, is_write))
        return true;
    while (l) {
        unsigned int piece = gm_region_piece_size(fr->mr, l, xlat);

        if (!gm_region_piece_valid(fr->mr, xlat, piece, is_write, attrs))
            return false;
        xlat += piece;
        l -= piece;
    }
    return true;
}

static bool view_valid_rcu(gm_flatview *fv, gm_addr addr, uint64_t len, bool is_write,
                           gm_attrs attrs, int depth)
{
    bool ok = (gm_u128)addr + len <= GM_2_64;

    while (ok && len) {
        const gm_flat_range *fr = gm_dispatch_lookup(fv, addr);
        uint64_t l;

        if (!fr)
            return false;
        l = range_remaining(fr, addr, len);
        ok = range_valid(fr, addr, l, is_write, attrs, depth);
        addr += l;
        len -= l;
    }
    return ok;
}

bool gm_as_access_valid(gm_as *as, gm_addr addr, uint64_t len, bool is_write, gm_attrs attrs)
{
    bool ok;

    rcu_read_lock();
    ok = view_valid_rcu(gm_as_view_rcu(as), addr, len, is_write, attrs, 0);
    rcu_read_unlock();
    return ok;
}

bool gm_as_lookup(gm_as *as, gm_addr addr, gm_section *section)
{
    bool found;

    rcu_read_lock();
    found = gm_as_lookup_rcu(as, addr, section);
    if (found)
        gm_region_ref(section->mr);
    rcu_read_unlock();
    return found;
}

void gm_rcu_read_lock(void)
{
    rcu_read_lock();
}

void gm_rcu_read_unlock(void)
{
    rcu_read_unlock();
}

bool gm_as_lookup_rcu(gm_as *as, gm_addr addr, gm_section *section)
{
    const gm_dispatch_key *k = gm_dispatch_find(&gm_as_view_rcu(as)->dispatch, addr);

    if (k)
        *section = k->section;
    return k != NULL;
}

int gm_as_for_each_section(gm_as *as, gm_section_fn fn, void *opaque)
{
    gm_flatview *fv;
    int ret = 0;

    rcu_read_lock();
    fv = gm_as_view_rcu(as);
    for (unsigned int i = 0; i < fv->nr && !ret; i++) {
        gm_section s;

        gm_section_from_range(&s, &fv->ranges[i]);
        ret = fn(opaque, &s);
    }
    rcu_read_unlock();
    return ret;
}
