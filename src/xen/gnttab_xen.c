/* SPDX-License-Identifier: MIT */
/*
 * The real-Xen grant provider, on libxengnttab (Debian: libxen-dev).
 *
 * Built when meson finds xengnttab (option -Dxen=enabled|auto); otherwise
 * gm_gnttab_xen_open() returns -ENOTSUP. Mapping is
 * xengnttab_map_domain_grant_refs (contiguous, all or nothing), unmapping
 * xengnttab_unmap, copying xengnttab_grant_copy with one segment per grant
 * page. Outside a Xen domain xengnttab_open() fails (no /dev/xen/gntdev) and
 * so does gm_gnttab_xen_open(), with the errno it got.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <guestmem/gnttab.h>

#ifdef GM_HAVE_XENGNTTAB
#include <xen/grant_table.h>
#include <xengnttab.h>

#define XEN_MAX_RUN 64u

static void *xen_map_refs(void *ctx, gm_domid domid, const gm_grant_ref *refs,
                          unsigned int count, bool writable)
{
    uint32_t copy[XEN_MAX_RUN];

    if (!count || count > XEN_MAX_RUN) {
        errno = EINVAL;
        return NULL;
    }
    memcpy(copy, refs, count * sizeof(copy[0]));
    return xengnttab_map_domain_grant_refs(ctx, count, domid, copy,
                                           PROT_READ | (writable ? PROT_WRITE : 0));
}

static int xen_unmap(void *ctx, void *addr, unsigned int count)
{
    return xengnttab_unmap(ctx, addr, count) ? -errno : 0;
}

static int xen_copy(void *ctx, gm_domid domid, gm_grant_ref ref, uint32_t offset, void *buf,
                    uint32_t len, bool to_grant)
{
    xengnttab_grant_copy_segment_t seg;

    memset(&seg, 0, sizeof(seg));
    if (to_grant) {
        seg.source.virt = buf;
        seg.dest.foreign.ref = ref;
        seg.dest.foreign.offset = (uint16_t)offset;
        seg.dest.foreign.domid = domid;
        seg.flags = GNTCOPY_dest_gref;
    } else {
        seg.dest.virt = buf;
        seg.source.foreign.ref = ref;
        seg.source.foreign.offset = (uint16_t)offset;
        seg.source.foreign.domid = domid;
        seg.flags = GNTCOPY_source_gref;
    }
    seg.len = (uint16_t)len;
    if (xengnttab_grant_copy(ctx, 1, &seg))
        return -errno;
    return seg.status == GNTST_okay ? 0 : -EACCES;
}

static void xen_close(void *ctx)
{
    xengnttab_close(ctx);
}

static const gm_grant_provider_ops xen_ops = {
    .map_refs = xen_map_refs, .unmap = xen_unmap, .copy = xen_copy, .close = xen_close,
};

int gm_gnttab_xen_open(gm_grant_provider *provider)
{
    xengnttab_handle *h = xengnttab_open(NULL, 0);

    if (!h)
        return errno ? -errno : -ENODEV;
    provider->ops = &xen_ops;
    provider->ctx = h;
    return 0;
}

#else

int gm_gnttab_xen_open(gm_grant_provider *provider)
{
    (void)provider;
    return -ENOTSUP;
}

#endif
