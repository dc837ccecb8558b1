/* SPDX-License-Identifier: MIT */
/*
 * The test's guest: RAM, grants and a split-ring driver (see xen_guest.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "xen_guest.h"

int xg_guest_init(xg_guest *g, uint64_t ram_size, uint32_t nr_refs, gm_domid backend_domid)
{
    memset(g, 0, sizeof(*g));
    g->mem_fd = memfd_create("xenfe-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (g->mem_fd < 0 || ftruncate(g->mem_fd, (off_t)ram_size) < 0 ||
        fcntl(g->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        return -errno;
    g->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->mem_fd, 0);
    if (g->ram == MAP_FAILED)
        return -errno;
    g->ram_size = ram_size;
    g->frames = (uint32_t)(ram_size / XG_PAGE);
    g->gt = gm_gnttab_emu_create(nr_refs, g->mem_fd, ram_size, backend_domid);
    if (!g->gt)
        return -errno;
    g->nr_refs = nr_refs;
    g->backend_domid = backend_domid;
    g->next_ref = XG_FIRST_REF;
    g->held = calloc(nr_refs, sizeof(*g->held));
    return g->held ? 0 : -ENOMEM;
}

void xg_guest_fini(xg_guest *g)
{
    gm_gnttab_emu_free(g->gt);
    if (g->ram && g->ram != MAP_FAILED)
        munmap(g->ram, g->ram_size);
    if (g->mem_fd >= 0)
        close(g->mem_fd);
    free(g->held);
    memset(g, 0, sizeof(*g));
    g->mem_fd = -1;
}

uint32_t xg_alloc_frames(xg_guest *g, unsigned int n)
{
    uint32_t f = g->next_frame;

    CHECK(n && n <= g->frames - g->next_frame, "guest RAM exhausted (%u frames wanted)", n);
    g->next_frame += n;
    return f;
}

gm_grant_ref xg_alloc_refs(xg_guest *g, unsigned int n)
{
    gm_grant_ref r = g->next_ref;

    CHECK(n && n <= g->nr_refs - g->next_ref, "grant references exhausted (%u wanted)", n);
    g->next_ref += n;
    return r;
}

static uint8_t decoy_byte(uint32_t frame, uint32_t i)
{
    return (uint8_t)(0xd0 ^ frame ^ (frame >> 8) ^ (i * 7));
}

void xg_fill_decoy(xg_guest *g, uint32_t first, uint32_t count)
{
    for (uint32_t f = first; f < first + count; f++) {
        uint8_t *p = xg_frame(g, f);

        for (uint32_t i = 0; i < XG_PAGE; i++)
            p[i] = decoy_byte(f, i);
    }
}

bool xg_frame_is_decoy(xg_guest *g, uint32_t frame)
{
    const uint8_t *p = xg_frame(g, frame);

    for (uint32_t i = 0; i < XG_PAGE; i++) {
        if (p[i] != decoy_byte(frame, i))
            return false;
    }
    return true;
}

void xg_buf_map(xg_guest *g, xg_buf *b, const uint32_t *frames, uint32_t offset, uint32_t len,
                bool readonly)
{
    unsigned int npages = (unsigned int)((offset + (uint64_t)len + XG_PAGE - 1) / XG_PAGE);

    CHECK(len && offset < XG_PAGE && npages <= XG_MAX_BUF_PAGES, "buffer of %u bytes", len);
    memset(b, 0, sizeof(*b));
    b->first_ref = xg_alloc_refs(g, npages);
    b->npages = npages;
    b->offset = offset;
    b->len = len;
    b->readonly = readonly;
    for (unsigned int i = 0; i < npages; i++) {
        int err;

        b->frames[i] = frames[i];
        err = gm_gnttab_emu_grant(g->gt, b->first_ref + i, g->backend_domid, frames[i], readonly);
        CHECK(err == 0, "grant ref %u -> frame %u: %s", b->first_ref + i, frames[i],
              strerror(-err));
        g->granted++;
    }
    b->mapped = true;
    b->dma = xg_dma(b->first_ref, offset);
}

void xg_buf_map_new(xg_guest *g, xg_buf *b, uint32_t offset, uint32_t len, bool readonly)
{
    uint32_t frames[XG_MAX_BUF_PAGES];
    unsigned int npages = (unsigned int)((offset + (uint64_t)len + XG_PAGE - 1) / XG_PAGE);
    uint32_t first;

    CHECK(npages && npages <= XG_MAX_BUF_PAGES, "buffer of %u bytes", len);
    first = xg_alloc_frames(g, npages);
    for (unsigned int i = 0; i < npages; i++)
        frames[i] = first + i;
    xg_buf_map(g, b, frames, offset, len, readonly);
}

/* Walk the buffer page by page: @fn gets the guest bytes and the linear offset. */
static void buf_walk(xg_guest *g, const xg_buf *b, uint8_t *lin, bool to_guest)
{
    uint32_t done = 0, off = b->offset;

    for (unsigned int i = 0; i < b->npages && done < b->len; i++) {
        uint32_t n = XG_PAGE - off;
        uint8_t *p = xg_frame(g, b->frames[i]) + off;

        if (n > b->len - done)
            n = b->len - done;
        if (to_guest)
            memcpy(p, lin + done, n);
        else
            memcpy(lin + done, p, n);
        done += n;
        off = 0;
    }
}

void xg_buf_fill(xg_guest *g, const xg_buf *b, const void *src)
{
    buf_walk(g, b, (uint8_t *)src, true);
}

void xg_buf_copy_out(xg_guest *g, const xg_buf *b, void *dst)
{
    buf_walk(g, b, dst, false);
}

unsigned int xg_buf_count_mapped(xg_guest *g, const xg_buf *b)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < b->npages; i++) {
        gm_grant_entry_v1 e;

        if (gm_gnttab_emu_entry(g->gt, b->first_ref + i, &e) == 0 && (e.flags & GM_GTF_READING))
            n++;
    }
    return n;
}

unsigned int xg_buf_unmap(xg_guest *g, xg_buf *b)
{
    unsigned int busy = 0;

    if (!b->mapped)
        return 0;
    for (unsigned int i = 0; i < b->npages; i++) {
        int err = gm_gnttab_emu_end_access(g->gt, b->first_ref + i);

        if (err == -EBUSY) {
            g->held[g->nheld++] = b->first_ref + i;
            g->busy_at_unmap++;
            busy++;
        } else {
            CHECK(err == 0, "end access of ref %u: %s", b->first_ref + i, strerror(-err));
            g->revoked_at_unmap++;
        }
    }
    b->mapped = false;
    return busy;
}

unsigned int xg_retry_held(xg_guest *g)
{
    unsigned int kept = 0;

    for (unsigned int i = 0; i < g->nheld; i++) {
        int err = gm_gnttab_emu_end_access(g->gt, g->held[i]);

        if (err == -EBUSY)
            g->held[kept++] = g->held[i];
        else
            CHECK(err == 0, "end access of ref %u: %s", g->held[i], strerror(-err));
    }
    g->nheld = kept;
    return kept;
}

/* ---- split virtqueue ---------------------------------------------------- */

#define AVAIL_OFF(size) (16u * (size))

void xg_ring_init(xg_ring *r, xg_guest *g, unsigned int size, bool driver_area_readonly)
{
    uint32_t frame;

    CHECK(size && size <= 128 && !(size & (size - 1)), "ring size %u", size);
    memset(r, 0, sizeof(*r));
    r->g = g;
    r->size = size;
    /* Like dma_alloc_coherent: contiguous pages, consecutive references. */
    frame = xg_alloc_frames(g, 2);
    memset(xg_frame(g, frame), 0, 2 * XG_PAGE);
    if (driver_area_readonly) {
        uint32_t used_frame = frame + 1;

        xg_buf_map(g, &r->driver_area, &frame, 0, XG_PAGE, true);
        xg_buf_map(g, &r->mem, &used_frame, 0, XG_PAGE, false);
        CHECK(r->mem.first_ref == r->driver_area.first_ref + 1, "ring references");
        r->desc_dma = r->driver_area.dma;
    } else {
        uint32_t frames[2] = { frame, frame + 1 };

        xg_buf_map(g, &r->mem, frames, 0, 2 * XG_PAGE, false);
        r->desc_dma = r->mem.dma;
    }
    r->avail_dma = r->desc_dma + AVAIL_OFF(size);
    r->used_dma = r->desc_dma + XG_PAGE;
    r->desc = (xg_vdesc *)xg_frame(g, frame);
    r->avail = (volatile uint16_t *)(xg_frame(g, frame) + AVAIL_OFF(size));
    r->used = (volatile uint32_t *)xg_frame(g, frame + 1);
    for (unsigned int i = 0; i < size; i++)
        r->desc[i].next = (uint16_t)(i + 1);
    r->free_head = 0;
    r->nfree = size;
}

int xg_ring_add(xg_ring *r, const xg_seg *segs, unsigned int n)
{
    uint16_t head = r->free_head, i = head, last = head;

    if (!n || n > r->nfree)
        return -ENOSPC;
    for (unsigned int k = 0; k < n; k++) {
        xg_vdesc *d = &r->desc[i];

        d->addr = segs[k].addr;
        d->len = segs[k].len;
        d->flags = (uint16_t)((segs[k].device_writes ? XG_VRING_DESC_F_WRITE : 0) |
                              (k + 1 < n ? XG_VRING_DESC_F_NEXT : 0));
        last = i;
        i = d->next;
    }
    r->free_head = r->desc[last].next;
    r->nfree -= n;
    r->chain_len[head] = (uint16_t)n;
    r->avail[2 + (r->avail_idx & (r->size - 1))] = head;
    r->avail_idx++;
    return head;
}

void xg_ring_publish(xg_ring *r)
{
    /* Descriptors and ring entries before the index (virtio 2.7.13). */
    __atomic_store_n(&r->avail[1], r->avail_idx, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint16_t xg_ring_used_idx(const xg_ring *r)
{
    return __atomic_load_n((const volatile uint16_t *)r->used + 1, __ATOMIC_ACQUIRE);
}

bool xg_ring_get_used(xg_ring *r, uint32_t *id, uint32_t *len)
{
    unsigned int slot;
    uint16_t head, last;

    if (xg_ring_used_idx(r) == r->last_used)
        return false;
    slot = r->last_used & (r->size - 1);
    *id = r->used[1 + 2 * slot];
    *len = r->used[2 + 2 * slot];
    r->last_used++;
    CHECK(*id < r->size && r->chain_len[*id], "used id %u is not an outstanding head", *id);
    /* Return the chain to the free list. */
    head = (uint16_t)*id;
    last = head;
    for (unsigned int k = 1; k < r->chain_len[head]; k++)
        last = r->desc[last].next;
    r->desc[last].next = r->free_head;
    r->free_head = head;
    r->nfree += r->chain_len[head];
    r->chain_len[head] = 0;
    return true;
}

void xg_ring_unmap(xg_ring *r)
{
    xg_buf_unmap(r->g, &r->mem);
    xg_buf_unmap(r->g, &r->driver_area);
}
