/* SPDX-License-Identifier: MIT */
/*
 * The test's guest: RAM in a memfd, an emulated grant table over it, and a
 * driver that hands the device grant DMA addresses the way Linux's Xen
 * grant DMA ops do (drivers/xen/grant-dma-ops.c):
 *
 * - mapping a buffer of n pages takes n consecutive grant references, one
 *   per page, granted read-only when the device only reads the buffer;
 *   its DMA address is 1 << 63 | first_ref << 12 | offset in the first page;
 * - unmapping ends access to each reference; Linux marks the device broken
 *   if one is still in use by the backend. Here a reference the backend
 *   still holds is remembered and retried later, so the test can say how
 *   long the backend keeps grants mapped.
 *
 * The split ring lives in granted pages too (Linux allocates it with
 * dma_alloc_coherent, i.e. through the same grant DMA ops).
 */
#ifndef GUESTMEM_TESTS_XEN_GUEST_H
#define GUESTMEM_TESTS_XEN_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include <guestmem/gnttab.h>

#define XG_PAGE 4096u
#define XG_MAX_BUF_PAGES 64u
#define XG_FIRST_REF 8u   /* Linux reserves references 0-7 */

static inline uint64_t xg_dma(gm_grant_ref ref, uint32_t offset)
{
    return GM_GRANT_DMA_BASE | (uint64_t)ref << GM_GRANT_PAGE_SHIFT | offset;
}

typedef struct xg_guest {
    int mem_fd;
    uint8_t *ram;
    uint64_t ram_size;
    uint32_t frames;
    gm_gnttab_emu *gt;
    uint32_t nr_refs;
    gm_domid backend_domid;
    uint32_t next_ref;
    uint32_t next_frame;
    /* references whose end of access failed (-EBUSY), to retry */
    gm_grant_ref *held;
    unsigned int nheld;
    /* counters */
    uint64_t granted;              /* grant entries written */
    uint64_t revoked_at_unmap;     /* end_access succeeded at unmap time */
    uint64_t busy_at_unmap;        /* end_access refused at unmap time */
    uint64_t seen_mapped;          /* GTF_reading set when the request completed */
} xg_guest;

/* A buffer mapped for the device: consecutive refs over @frames. */
typedef struct xg_buf {
    gm_grant_ref first_ref;
    unsigned int npages;
    uint32_t frames[XG_MAX_BUF_PAGES];
    uint32_t offset;               /* in the first page */
    uint32_t len;
    bool readonly;
    bool mapped;
    uint64_t dma;
} xg_buf;

int xg_guest_init(xg_guest *g, uint64_t ram_size, uint32_t nr_refs, gm_domid backend_domid);
void xg_guest_fini(xg_guest *g);

/* Contiguous frames; aborts the test when RAM is exhausted. */
uint32_t xg_alloc_frames(xg_guest *g, unsigned int n);
/* Consecutive grant references, never reused. */
gm_grant_ref xg_alloc_refs(xg_guest *g, unsigned int n);
static inline uint8_t *xg_frame(xg_guest *g, uint32_t frame)
{
    return g->ram + (uint64_t)frame * XG_PAGE;
}
/* Fill frames with a recognisable per-frame pattern (decoy data). */
void xg_fill_decoy(xg_guest *g, uint32_t first, uint32_t count);
bool xg_frame_is_decoy(xg_guest *g, uint32_t frame);

/* Map @len bytes at @offset of @frames[0..] (as many as needed) for the
 * device: consecutive fresh refs, one per page. */
void xg_buf_map(xg_guest *g, xg_buf *b, const uint32_t *frames, uint32_t offset, uint32_t len,
                bool readonly);
/* Map with frames taken contiguously from the allocator. */
void xg_buf_map_new(xg_guest *g, xg_buf *b, uint32_t offset, uint32_t len, bool readonly);
/* Copy between a buffer's guest pages and a linear host buffer. */
void xg_buf_fill(xg_guest *g, const xg_buf *b, const void *src);
void xg_buf_copy_out(xg_guest *g, const xg_buf *b, void *dst);
/* Count references of @b whose entry has GTF_reading set now. */
unsigned int xg_buf_count_mapped(xg_guest *g, const xg_buf *b);
/* End access to every reference; a refused one is remembered in g->held.
 * Returns the number refused. */
unsigned int xg_buf_unmap(xg_guest *g, xg_buf *b);
/* Retry the held references; returns how many are still held. */
unsigned int xg_retry_held(xg_guest *g);

/* ---- split virtqueue, driver side ---------------------------------------- */

#define XG_VRING_DESC_F_NEXT 1u
#define XG_VRING_DESC_F_WRITE 2u

typedef struct xg_vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} xg_vdesc;

typedef struct xg_seg {
    uint64_t addr;
    uint32_t len;
    bool device_writes;
} xg_seg;

typedef struct xg_ring {
    xg_guest *g;
    unsigned int size;
    xg_buf mem;                    /* the ring's own grant mapping (2 pages) */
    xg_buf driver_area;            /* desc + avail page when granted apart */
    xg_vdesc *desc;
    volatile uint16_t *avail;      /* flags, idx, ring[] */
    volatile uint32_t *used;       /* flags|idx in word 0, then {id, len} */
    uint64_t desc_dma, avail_dma, used_dma;
    uint16_t avail_idx;
    uint16_t last_used;
    uint16_t free_head;
    unsigned int nfree;
    uint16_t chain_len[1024];
} xg_ring;

/*
 * Lay out a ring of @size entries in two consecutive granted pages:
 * descriptors and the available ring in the first, the used ring in the
 * second. With @driver_area_readonly the first page is granted read-only
 * (the device only reads it) and the second read-write.
 */
void xg_ring_init(xg_ring *r, xg_guest *g, unsigned int size, bool driver_area_readonly);
/* Add a chain; returns its head. Publishing is separate (xg_ring_publish). */
int xg_ring_add(xg_ring *r, const xg_seg *segs, unsigned int n);
void xg_ring_publish(xg_ring *r);
/* Next used entry, or false. */
bool xg_ring_get_used(xg_ring *r, uint32_t *id, uint32_t *len);
uint16_t xg_ring_used_idx(const xg_ring *r);
/* The ring's grant references (for the end-of-run revocation check). */
void xg_ring_unmap(xg_ring *r);

#endif
