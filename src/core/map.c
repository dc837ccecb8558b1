/* SPDX-License-Identifier: MIT */
/*
 * Mapping guest memory (QEMU's address_space_map/unmap).
 *
 * RAM: the host pointer of the range, extended over following flat ranges
 * while they continue the same region at contiguous offsets (an alias split
 * by an overlapping region that later resumes stays one mapping). The region
 * is referenced until unmap; unmap finds it again from the host pointer
 * through the host map and marks the written bytes dirty.
 *
 * Everything else: a bounce buffer limited to the rest of the range and to
 * the address space's remaining budget. For reads it is filled at map time;
 * for writes the first access_len bytes are written back at unmap. When the
 * budget is exhausted map returns NULL; registered map clients are told,
 * once, when budget is freed.
 *
 * Bounce buffers are listed per system (sys->bounce_lock), because a mapping
 * through an IOMMU bounces in the IOMMU's target address space while the
 * caller unmaps with its own; each buffer remembers the address space whose
 * budget it draws on (as->map_lock protects budget and map clients). Map
 * clients are called after the locks are dropped.
 *
 * A map-on-demand region returns its provider's mapping (mapped.c keeps the
 * record unmap needs).
 *
 * Through an IOMMU the mapping covers at most one IOMMU page and is not
 * revoked by invalidations (see iommu.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

typedef struct gm_bounce {
    struct gm_bounce *next;
    gm_as *as;                   /* whose budget it draws on */
    gm_addr addr;
    uint64_t len;
    gm_attrs attrs;
    bool is_write;
    /* Callers may DMA any type through the buffer: align like malloc. */
    _Alignas(16) uint8_t data[];
} gm_bounce;

typedef struct gm_map_client {
    struct gm_map_client *next;
    gm_map_client_fn fn;
    void *opaque;
} gm_map_client;

/* Bytes from @addr to the end of @fr, capped at @len (ranges reach 2^64). */
static uint64_t range_left(const gm_flat_range *fr, gm_addr addr, uint64_t len)
{
    gm_u128 left = fr->start + fr->size - addr;

    return left < len ? (uint64_t)left : len;
}

/* Extend a direct mapping of @fr at @addr over contiguous following ranges. */
static uint64_t direct_extent(const gm_flatview *fv, const gm_flat_range *fr, gm_addr addr,
                              uint64_t len, bool is_write)
{
    gm_u128 done = fr->start + fr->size - addr;
    unsigned int i = (unsigned int)(fr - fv->ranges);

    while (done < len && ++i < fv->nr) {
        const gm_flat_range *next = &fv->ranges[i];
        const gm_flat_range *prev = &fv->ranges[i - 1];

        if (next->mr != fr->mr || next->start != prev->start + prev->size ||
            (gm_u128)next->offset_in_region != prev->offset_in_region + prev->size ||
            !gm_range_is_direct(next, is_write))
            break;
        done += next->size;
    }
    return done < len ? (uint64_t)done : len;
}

static void *map_direct(const gm_flatview *fv, const gm_flat_range *fr, gm_addr addr,
                        uint64_t *plen, bool is_write)
{
    gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);

    *plen = direct_extent(fv, fr, addr, *plen, is_write);
    gm_region_ref(fr->mr);
    return fr->mr->ram + xlat;
}

/* Take @len bytes of budget; false when it would exceed the budget. */
static bool budget_take_locked(gm_as *as, uint64_t len)
{
    if (len > as->bounce_budget - as->bounce_in_use)
        return false;
    as->bounce_in_use += len;
    return true;
}

/* Would the first device access of a bounce buffer be accepted? */
static bool first_piece_ok(const gm_flat_range *fr, gm_addr addr, uint64_t l, bool is_write,
                           gm_attrs attrs)
{
    gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);
    unsigned int piece = gm_region_piece_size(fr->mr, l, xlat);

    return gm_region_piece_valid(fr->mr, xlat, piece, is_write, attrs);
}

static void *map_bounce(gm_as *as, gm_flatview *fv, const gm_flat_range *fr, gm_addr addr,
                        uint64_t *plen, bool is_write, gm_attrs attrs)
{
    uint64_t l = range_left(fr, addr, *plen);
    gm_bounce *b;

    if (!first_piece_ok(fr, addr, l, is_write, attrs)) {
        gm_log_guest(as->sys, "map of 0x%" PRIx64 " refused by region '%s'", addr,
                     fr->mr->name);
        *plen = 0;
        return NULL;
    }
    pthread_mutex_lock(&as->map_lock);
    l = GM_MIN(l, as->bounce_budget - as->bounce_in_use);
    if (!l || !budget_take_locked(as, l)) {
        pthread_mutex_unlock(&as->map_lock);
        *plen = 0;
        return NULL;
    }
    pthread_mutex_unlock(&as->map_lock);
    b = malloc(sizeof(*b) + l);
    if (!b) {
        gm_map_budget_return(as, l);
        *plen = 0;
        return NULL;
    }
    *b = (gm_bounce){ .as = as, .addr = addr, .len = l, .attrs = attrs, .is_write = is_write };
    if (!is_write)
        gm_flatview_rw_rcu(fv, addr, attrs, b->data, l, false);
    pthread_mutex_lock(&as->sys->bounce_lock);
    b->next = as->sys->bounces;
    as->sys->bounces = b;
    pthread_mutex_unlock(&as->sys->bounce_lock);
    *plen = l;
    return b->data;
}

static void *map_rcu(gm_as *as, gm_addr addr, uint64_t *plen, bool is_write, gm_attrs attrs,
                     int depth);

/* Through an IOMMU: map the translation of the first IOMMU page. */
static void *map_iommu(const gm_flat_range *fr, gm_addr addr, uint64_t *plen, bool is_write,
                       gm_attrs attrs, int depth)
{
    gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);
    gm_as *tas = NULL;
    gm_addr taddr = 0;
    uint64_t left = gm_iommu_step(fr->mr, xlat, is_write, attrs, depth, &tas, &taddr);

    if (!left) {
        *plen = 0;
        return NULL;
    }
    /* No further than the IOMMU page, nor than the IOMMU's flat range. */
    *plen = GM_MIN(range_left(fr, addr, *plen), left);
    return map_rcu(tas, taddr, plen, is_write, attrs, depth + 1);
}

static void *map_rcu(gm_as *as, gm_addr addr, uint64_t *plen, bool is_write, gm_attrs attrs,
                     int depth)
{
    gm_flatview *fv = gm_as_view_rcu(as);
    const gm_flat_range *fr = gm_dispatch_lookup(fv, addr);

    if (!fr) {
        gm_log_guest(as->sys, "map of unassigned address 0x%" PRIx64, addr);
        *plen = 0;
        return NULL;
    }
    if (is_write && gm_range_refuses_write(fr)) {
        gm_log_guest(as->sys, "write map of read-only 0x%" PRIx64 " refused", addr);
        *plen = 0;
        return NULL;
    }
    if (fr->mr->kind == GM_KIND_IOMMU)
        return map_iommu(fr, addr, plen, is_write, attrs, depth);
    if (fr->mr->kind == GM_KIND_MAPPED) {
        gm_addr xlat = fr->offset_in_region + (addr - (gm_addr)fr->start);

        *plen = range_left(fr, addr, *plen);
        return gm_mod_map(fr->mr, xlat, plen, is_write, attrs);
    }
    if (gm_range_is_direct(fr, is_write))
        return map_direct(fv, fr, addr, plen, is_write);
    return map_bounce(as, fv, fr, addr, plen, is_write, attrs);
}

void *gm_as_map(gm_as *as, gm_addr addr, uint64_t *plen, bool is_write, gm_attrs attrs)
{
    void *p;

    if (!*plen)
        return NULL;
    rcu_read_lock();
    p = map_rcu(as, addr, plen, is_write, attrs, 0);
    rcu_read_unlock();
    return p;
}

/* Detach the bounce buffer whose data is @buffer, or NULL. */
static gm_bounce *bounce_take(gm_system *sys, void *buffer)
{
    gm_bounce **pp, *b = NULL;

    pthread_mutex_lock(&sys->bounce_lock);
    for (pp = &sys->bounces; *pp; pp = &(*pp)->next) {
        if ((*pp)->data == buffer) {
            b = *pp;
            *pp = b->next;
            break;
        }
    }
    pthread_mutex_unlock(&sys->bounce_lock);
    return b;
}

/* Return budget and wake every registered client (each fires once). */
void gm_map_budget_return(gm_as *as, uint64_t len)
{
    gm_map_client *c;

    pthread_mutex_lock(&as->map_lock);
    as->bounce_in_use -= len;
    c = as->map_clients;
    as->map_clients = NULL;
    pthread_mutex_unlock(&as->map_lock);
    while (c) {
        gm_map_client *next = c->next;

        c->fn(c->opaque);
        free(c);
        c = next;
    }
}

/* Write back and free; @b->as may be an IOMMU's target, not the caller's. */
static void unmap_bounce(gm_bounce *b, bool is_write, uint64_t access_len)
{
    if (is_write && b->is_write)
        gm_as_write(b->as, b->addr, b->attrs, b->data, GM_MIN(access_len, b->len));
    gm_map_budget_return(b->as, b->len);
    free(b);
}

void gm_as_unmap(gm_as *as, void *buffer, uint64_t len, bool is_write, uint64_t access_len)
{
    gm_bounce *b = buffer ? bounce_take(as->sys, buffer) : NULL;
    gm_addr off;
    gm_region *mr;

    if (b) {
        unmap_bounce(b, is_write, access_len);
        return;
    }
    if (buffer && gm_mod_unmap(as->sys, buffer, len, is_write, access_len))
        return;
    mr = buffer ? gm_region_from_host(as->sys, buffer, &off) : NULL;
    if (!mr) {
        gm_log(as->sys, GM_LOG_ERROR, "unmap of unknown pointer %p (len %" PRIu64 ")", buffer,
               len);
        return;
    }
    if (is_write)
        gm_mark_dirty(mr, off, GM_MIN(access_len, len));
    gm_region_unref(mr);   /* the lookup's reference */
    gm_region_unref(mr);   /* the map's reference */
}

int gm_as_register_map_client(gm_as *as, gm_map_client_fn fn, void *opaque)
{
    gm_map_client *c = malloc(sizeof(*c));
    bool now;

    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->opaque = opaque;
    pthread_mutex_lock(&as->map_lock);
    now = as->bounce_in_use < as->bounce_budget;
    if (!now) {
        c->next = as->map_clients;
        as->map_clients = c;
    }
    pthread_mutex_unlock(&as->map_lock);
    if (now) {
        fn(opaque);
        free(c);
    }
    return 0;
}

void gm_as_unregister_map_client(gm_as *as, gm_map_client_fn fn, void *opaque)
{
    gm_map_client **pp;

    pthread_mutex_lock(&as->map_lock);
    for (pp = &as->map_clients; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn && (*pp)->opaque == opaque) {
            gm_map_client *c = *pp;

            *pp = c->next;
            free(c);
            break;
        }
    }
    pthread_mutex_unlock(&as->map_lock);
}

int gm_as_set_bounce_budget(gm_as *as, uint64_t bytes)
{
    if (!bytes)
        return -EINVAL;
    pthread_mutex_lock(&as->map_lock);
    as->bounce_budget = bytes;
    pthread_mutex_unlock(&as->map_lock);
    return 0;
}

uint64_t gm_as_bounce_in_use(gm_as *as)
{
    uint64_t n;

    pthread_mutex_lock(&as->map_lock);
    n = as->bounce_in_use;
    pthread_mutex_unlock(&as->map_lock);
    return n;
}

void gm_map_release_all(gm_as *as)
{
    gm_system *sys = as->sys;
    unsigned int leaked = 0;

    pthread_mutex_lock(&sys->bounce_lock);
    for (gm_bounce **pp = &sys->bounces; *pp;) {
        gm_bounce *b = *pp;

        if (b->as != as) {
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        leaked++;
        free(b);
    }
    pthread_mutex_unlock(&sys->bounce_lock);
    if (leaked)
        gm_log(sys, GM_LOG_ERROR, "address space '%s' freed with %u bounce buffers mapped",
               as->name, leaked);
    while (as->map_clients) {
        gm_map_client *c = as->map_clients;

        as->map_clients = c->next;
        free(c);
    }
}
