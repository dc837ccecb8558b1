/* SPDX-License-Identifier: MIT */
/* The test driver (see vdriver.h). */
#include <string.h>

#include "check.h"
#include "vdriver.h"

static void wr16(gm_as *as, gm_addr a, uint16_t v)
{
    CHECK(gm_as_st16_le(as, a, GM_ATTRS_UNSPECIFIED, v) == GM_OK, "driver store at 0x%lx",
          (unsigned long)a);
}

static uint16_t rd16(gm_as *as, gm_addr a)
{
    uint16_t v = 0;

    CHECK(gm_as_ld16_le(as, a, GM_ATTRS_UNSPECIFIED, &v) == GM_OK, "driver load at 0x%lx",
          (unsigned long)a);
    return v;
}

static uint32_t rd32(gm_as *as, gm_addr a)
{
    uint32_t v = 0;

    CHECK(gm_as_ld32_le(as, a, GM_ATTRS_UNSPECIFIED, &v) == GM_OK, "driver load at 0x%lx",
          (unsigned long)a);
    return v;
}

void vdrv_init(vdrv *d, gm_as *as, unsigned int size, gm_addr desc, gm_addr avail,
               gm_addr used, bool event_idx, uint16_t start)
{
    CHECK(size <= VDRV_MAX_SIZE, "driver queue size %u", size);
    memset(d, 0, sizeof(*d));
    d->as = as;
    d->size = size;
    d->desc = desc;
    d->avail = avail;
    d->used = used;
    d->event_idx = event_idx;
    d->avail_idx = start;
    d->last_used = start;
    CHECK(gm_as_fill(as, desc, GM_ATTRS_UNSPECIFIED, 0, 16ull * size) == GM_OK, "zero desc");
    CHECK(gm_as_fill(as, avail, GM_ATTRS_UNSPECIFIED, 0, 6 + 2ull * size) == GM_OK, "zero avail");
    CHECK(gm_as_fill(as, used, GM_ATTRS_UNSPECIFIED, 0, 6 + 8ull * size) == GM_OK, "zero used");
    wr16(as, avail + 2, start);
    wr16(as, used + 2, start);
}

gm_virtq_config vdrv_config(const vdrv *d, uint64_t extra)
{
    return (gm_virtq_config){
        .size = d->size,
        .desc_addr = d->desc,
        .avail_addr = d->avail,
        .used_addr = d->used,
        .features = GM_VIRTIO_F_VERSION_1 | (d->event_idx ? GM_VIRTIO_F_EVENT_IDX : 0) | extra,
    };
}

void vdrv_write_table_desc(gm_as *as, gm_addr table, unsigned int i, gm_addr addr, uint32_t len,
                           uint16_t flags, uint16_t next)
{
    gm_addr a = table + 16ull * i;

    CHECK(gm_as_st64_le(as, a, GM_ATTRS_UNSPECIFIED, addr) == GM_OK, "desc addr");
    CHECK(gm_as_st32_le(as, a + 8, GM_ATTRS_UNSPECIFIED, len) == GM_OK, "desc len");
    wr16(as, a + 12, flags);
    wr16(as, a + 14, next);
}

void vdrv_write_desc(vdrv *d, unsigned int i, gm_addr addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    vdrv_write_table_desc(d->as, d->desc, i, addr, len, flags, next);
}

void vdrv_set_avail_idx(vdrv *d, uint16_t idx)
{
    d->avail_idx = idx;
    /* Single-threaded tests: program order is publication order. */
    wr16(d->as, d->avail + 2, idx);
}

void vdrv_publish(vdrv *d, uint16_t head)
{
    wr16(d->as, d->avail + 4 + 2ull * (d->avail_idx % d->size), head);
    vdrv_set_avail_idx(d, (uint16_t)(d->avail_idx + 1));
}

static int alloc_desc(vdrv *d)
{
    for (unsigned int i = 0; i < d->size; i++) {
        if (!d->in_use[i]) {
            d->in_use[i] = true;
            return (int)i;
        }
    }
    CHECK(0, "driver out of descriptors");
    return -1;
}

/* Allocate @n descriptors linked by next; returns their indices in @idx. */
static void alloc_chain(vdrv *d, unsigned int n, uint16_t *idx)
{
    for (unsigned int i = 0; i < n; i++)
        idx[i] = (uint16_t)alloc_desc(d);
}

int vdrv_add(vdrv *d, const vbuf *out, unsigned int n_out, const vbuf *in, unsigned int n_in)
{
    unsigned int n = n_out + n_in;
    uint16_t idx[VDRV_MAX_SIZE];

    CHECK(n >= 1 && n <= d->size, "chain of %u", n);
    alloc_chain(d, n, idx);
    for (unsigned int i = 0; i < n; i++) {
        const vbuf *b = i < n_out ? &out[i] : &in[i - n_out];
        uint16_t flags = (i < n_out ? 0 : VDESC_F_WRITE) | (i + 1 < n ? VDESC_F_NEXT : 0);

        vdrv_write_desc(d, idx[i], b->addr, b->len, flags, i + 1 < n ? idx[i + 1] : 0);
    }
    d->chain_len[idx[0]] = (uint16_t)n;
    vdrv_publish(d, idx[0]);
    return idx[0];
}

int vdrv_add_indirect(vdrv *d, gm_addr table, const vbuf *out, unsigned int n_out,
                      const vbuf *in, unsigned int n_in)
{
    unsigned int n = n_out + n_in;
    uint16_t head = (uint16_t)alloc_desc(d);

    for (unsigned int i = 0; i < n; i++) {
        const vbuf *b = i < n_out ? &out[i] : &in[i - n_out];
        uint16_t flags = (i < n_out ? 0 : VDESC_F_WRITE) | (i + 1 < n ? VDESC_F_NEXT : 0);

        vdrv_write_table_desc(d->as, table, i, b->addr, b->len, flags,
                              (uint16_t)(i + 1 < n ? i + 1 : 0));
    }
    vdrv_write_desc(d, head, table, 16u * n, VDESC_F_INDIRECT, 0);
    d->chain_len[head] = 1;
    vdrv_publish(d, head);
    return head;
}

static void free_chain(vdrv *d, uint32_t head)
{
    uint16_t i = (uint16_t)head;

    CHECK(head < d->size && d->in_use[head], "used id %u is a chain the driver added", head);
    for (unsigned int k = 0; k < d->chain_len[head]; k++) {
        d->in_use[i] = false;
        i = rd16(d->as, d->desc + 16ull * i + 14);
    }
}

bool vdrv_get_used(vdrv *d, uint32_t *id, uint32_t *len)
{
    gm_addr e;

    if (rd16(d->as, d->used + 2) == d->last_used)
        return false;
    e = d->used + 4 + 8ull * (d->last_used % d->size);
    *id = rd32(d->as, e);
    *len = rd32(d->as, e + 4);
    d->last_used++;
    free_chain(d, *id);
    return true;
}

void vdrv_set_used_event(vdrv *d, uint16_t event)
{
    wr16(d->as, d->avail + 4 + 2ull * d->size, event);
}

void vdrv_set_no_interrupt(vdrv *d, bool on)
{
    wr16(d->as, d->avail, on ? 1 : 0);
}

uint16_t vdrv_used_flags(vdrv *d)
{
    return rd16(d->as, d->used);
}

uint16_t vdrv_avail_event(vdrv *d)
{
    return rd16(d->as, d->used + 4 + 8ull * d->size);
}

uint16_t vdrv_used_idx(vdrv *d)
{
    return rd16(d->as, d->used + 2);
}

bool vdrv_kick_needed(vdrv *d, uint16_t old, uint16_t new_idx)
{
    if (d->event_idx)
        return vdrv_need_event(vdrv_avail_event(d), new_idx, old);
    return !(vdrv_used_flags(d) & 1);
}
