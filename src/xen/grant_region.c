/* SPDX-License-Identifier: MIT */
/*
 * Grant regions: a domain's grants as a map-on-demand region.
 *
 * Offsets are Linux grant-DMA addresses minus 1 << 63: page n of the region
 * is grant reference n. The mapping cache asks for runs of pages; a run is
 * a run of consecutive grant references (what Linux allocates for a
 * multi-page buffer), mapped with one provider call. A run that cannot be
 * mapped whole (one reference not granted) falls back to single pages in
 * the mapping cache. Reads and writes of pages that are not granted get
 * GM_ACCESS_ERROR from the core.
 */
#include <errno.h>
#include <stdlib.h>

#include <guestmem/gnttab.h>

#define GRANT_MAX_RUN 64u

typedef struct grant_binding {
    gm_grant_provider provider;
    gm_domid domid;
} grant_binding;

static void *grant_map_pages(void *opaque, uint64_t first, unsigned int npages, bool writable)
{
    grant_binding *g = opaque;
    gm_grant_ref refs[GRANT_MAX_RUN];

    if (!npages || npages > GRANT_MAX_RUN || first + npages - 1 > UINT32_MAX)
        return NULL;
    for (unsigned int i = 0; i < npages; i++)
        refs[i] = (gm_grant_ref)(first + i);
    return g->provider.ops->map_refs(g->provider.ctx, g->domid, refs, npages, writable);
}

static void grant_unmap_pages(void *opaque, void *host, uint64_t first, unsigned int npages)
{
    grant_binding *g = opaque;

    (void)first;
    g->provider.ops->unmap(g->provider.ctx, host, npages);
}

/* Grant copy, split at grant pages as Xen requires. */
static gm_result grant_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                            gm_attrs attrs)
{
    grant_binding *g = opaque;
    uint8_t *p = buf;

    (void)attrs;
    while (len) {
        uint32_t in_page = (uint32_t)(offset & ((1u << GM_GRANT_PAGE_SHIFT) - 1));
        uint32_t n = (uint32_t)((1u << GM_GRANT_PAGE_SHIFT) - in_page);
        gm_grant_ref ref = (gm_grant_ref)(offset >> GM_GRANT_PAGE_SHIFT);

        if (n > len)
            n = (uint32_t)len;
        if (g->provider.ops->copy(g->provider.ctx, g->domid, ref, in_page, p, n, is_write))
            return GM_ACCESS_ERROR;
        offset += n;
        p += n;
        len -= n;
    }
    return GM_OK;
}

/* The region owns its provider: close it once every mapping is gone. */
static void grant_destroy(void *opaque)
{
    grant_binding *g = opaque;

    if (g->provider.ops->close)
        g->provider.ops->close(g->provider.ctx);
    free(g);
}

static const gm_mapcache_provider grant_pages = {
    .map_pages = grant_map_pages,
    .unmap_pages = grant_unmap_pages,
    .copy = grant_copy,
    .destroy = grant_destroy,
    .page_shift = GM_GRANT_PAGE_SHIFT,
};

gm_region *gm_grant_region_new(gm_mapcache *mc, gm_system *sys, const char *name,
                               const gm_grant_provider *provider, gm_domid domid,
                               uint32_t nr_refs)
{
    grant_binding *g;
    gm_region *mr;

    if (!provider || !provider->ops || !provider->ops->map_refs || !provider->ops->unmap ||
        !nr_refs) {
        errno = EINVAL;
        return NULL;
    }
    g = malloc(sizeof(*g));
    if (!g) {
        if (provider->ops->close)
            provider->ops->close(provider->ctx);
        return NULL;
    }
    g->provider = *provider;
    g->domid = domid;
    mr = gm_mapcache_region_new(mc, sys, name, (uint64_t)nr_refs << GM_GRANT_PAGE_SHIFT,
                                &grant_pages, g);
    if (!mr)
        grant_destroy(g);
    return mr;
}
