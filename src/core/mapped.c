/* SPDX-License-Identifier: MIT */
/*
 * Map-on-demand regions: every access path defined through map and unmap.
 *
 * Accesses (rw, ld/st): the provider's copy op when it has one; otherwise
 * each piece is mapped, copied and unmapped at once. A piece the provider
 * refuses fails with GM_ACCESS_ERROR up to the end of its 4 KiB page (reads
 * of it return zeros); the rest of the access goes on.
 *
 * gm_as_map/unmap: the mapping is recorded in a per-system table keyed by
 * host pointer, so gm_as_unmap() can find the region and the provider's
 * handle again. A caching provider may hand out the same pointer twice; the
 * table is then a multiset and each unmap releases one record. The record
 * holds a reference on the region until unmap.
 *
 * Provider callbacks are never called with a library lock held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

typedef struct gm_mod_record {
    struct gm_mod_record *next;
    void *host;
    uint64_t len;
    gm_region *mr;
    void *handle;
    gm_addr xlat;
    bool is_write;
} gm_mod_record;

gm_region *gm_region_new_mapped(gm_system *sys, const char *name, uint64_t size,
                                const gm_mod_ops *ops, void *opaque)
{
    gm_region *mr;

    if (!ops || !ops->map || !ops->unmap) {
        errno = EINVAL;
        return NULL;
    }
    mr = gm_region_new_reservation(sys, name, size);
    if (!mr)
        return NULL;
    mr->kind = GM_KIND_MAPPED;
    mr->mod_ops = ops;
    mr->opaque = opaque;
    mr->log_len = size <= GM_MOD_MAX_LOG_SIZE ? size : 0;
    return mr;
}

/* Map one piece; on success *len is clamped to what was asked. */
static void *mod_map_piece(gm_region *mr, gm_addr xlat, uint64_t *len, bool is_write,
                           gm_attrs attrs, void **handle)
{
    uint64_t want = *len;
    void *host = mr->mod_ops->map(mr->opaque, xlat, len, is_write, attrs, handle);

    if (!host || !*len) {
        gm_log_guest(mr->sys, "region '%s': %s mapping of 0x%" PRIx64 " refused", mr->name,
                     is_write ? "write" : "read", xlat);
        if (host)
            mr->mod_ops->unmap(mr->opaque, *handle, host, *len, is_write, 0);
        *len = 0;
        return NULL;
    }
    if (*len > want)
        *len = want;
    return host;
}

/* Copy one piece (never crossing a 4 KiB page, so a refusal costs only
 * that page, as with mappings). */
static gm_result mod_copy_piece(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t n,
                                bool is_write, gm_attrs attrs)
{
    gm_result r = mr->mod_ops->copy(mr->opaque, xlat, buf, n, is_write, attrs);

    if (r) {
        gm_log_guest(mr->sys, "region '%s': %s copy at 0x%" PRIx64 " refused", mr->name,
                     is_write ? "write" : "read", xlat);
        if (!is_write)
            memset(buf, 0, n);
        return GM_ACCESS_ERROR;
    }
    if (is_write)
        gm_mark_dirty(mr, xlat, n);
    return GM_OK;
}

static gm_result mod_copy(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t l, bool is_write,
                          gm_attrs attrs)
{
    gm_result r = GM_OK;

    while (l) {
        uint64_t n = GM_MIN(gm_iommu_fault_len(xlat), l);

        r |= mod_copy_piece(mr, xlat, buf, n, is_write, attrs);
        xlat += n;
        buf += n;
        l -= n;
    }
    return r;
}

gm_result gm_mod_rw(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t l, bool is_write,
                    gm_attrs attrs)
{
    gm_result r = GM_OK;

    if (mr->mod_ops->copy)
        return mod_copy(mr, xlat, buf, l, is_write, attrs);
    while (l) {
        uint64_t n = l;
        void *handle = NULL;
        uint8_t *host = mod_map_piece(mr, xlat, &n, is_write, attrs, &handle);

        if (host) {
            if (is_write)
                gm_host_write(host, buf, n);
            else
                gm_host_read(buf, host, n);
            mr->mod_ops->unmap(mr->opaque, handle, host, n, is_write, is_write ? n : 0);
            if (is_write)
                gm_mark_dirty(mr, xlat, n);
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

static unsigned int bucket_of(const void *host)
{
    uintptr_t p = (uintptr_t)host;

    return (unsigned int)((p >> 12) ^ (p >> 4)) & (GM_MOD_BUCKETS - 1);
}

void *gm_mod_map(gm_region *mr, gm_addr xlat, uint64_t *plen, bool is_write, gm_attrs attrs)
{
    gm_system *sys = mr->sys;
    gm_mod_record *rec = malloc(sizeof(*rec));
    void *handle = NULL;
    void *host;
    unsigned int b;

    if (!rec) {
        *plen = 0;
        return NULL;
    }
    host = mod_map_piece(mr, xlat, plen, is_write, attrs, &handle);
    if (!host) {
        free(rec);
        return NULL;
    }
    *rec = (gm_mod_record){ .host = host, .len = *plen, .mr = gm_region_ref(mr),
                            .handle = handle, .xlat = xlat, .is_write = is_write };
    b = bucket_of(host);
    pthread_mutex_lock(&sys->mod_lock);
    rec->next = sys->mod_buckets[b];
    sys->mod_buckets[b] = rec;
    pthread_mutex_unlock(&sys->mod_lock);
    return host;
}

/* Detach a record for @host, preferring one of length @len. */
static gm_mod_record *record_take(gm_system *sys, void *host, uint64_t len)
{
    gm_mod_record **pp, **found = NULL, *rec = NULL;

    pthread_mutex_lock(&sys->mod_lock);
    for (pp = &sys->mod_buckets[bucket_of(host)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->host == host && (!found || (*pp)->len == len)) {
            found = pp;
            if ((*pp)->len == len)
                break;
        }
    }
    if (found) {
        rec = *found;
        *found = rec->next;
    }
    pthread_mutex_unlock(&sys->mod_lock);
    return rec;
}

bool gm_mod_unmap(gm_system *sys, void *host, uint64_t len, bool is_write, uint64_t access_len)
{
    gm_mod_record *rec = record_take(sys, host, len);
    uint64_t written;

    if (!rec)
        return false;
    written = is_write && rec->is_write ? GM_MIN(access_len, rec->len) : 0;
    rec->mr->mod_ops->unmap(rec->mr->opaque, rec->handle, rec->host, rec->len, rec->is_write,
                            written);
    if (written)
        gm_mark_dirty(rec->mr, rec->xlat, written);
    gm_region_unref(rec->mr);
    free(rec);
    return true;
}

void gm_mod_release_all(gm_system *sys)
{
    for (unsigned int b = 0; b < GM_MOD_BUCKETS; b++) {
        while (sys->mod_buckets[b]) {
            gm_mod_record *rec = sys->mod_buckets[b];

            sys->mod_buckets[b] = rec->next;
            gm_log(sys, GM_LOG_ERROR, "region '%s' still mapped at system free", rec->mr->name);
            rec->mr->mod_ops->unmap(rec->mr->opaque, rec->handle, rec->host, rec->len,
                                    rec->is_write, 0);
            gm_region_unref(rec->mr);
            free(rec);
        }
    }
}
