/* SPDX-License-Identifier: MIT */
/*
 * What split and packed rings share: the memory layout of a ring (one
 * allocation: descriptors, driver area, device area, each on its own
 * 64-byte line as a Linux guest lays them out) and the private arrays.
 *
 * Split (virtio 1.1, 2.6): descriptor table 16 * num (align 16), available
 * ring 6 + 2 * num (align 2), used ring 6 + 8 * num (align 4).
 * Packed (2.7): descriptor ring 16 * num (align 16), driver and device
 * event suppression 4 bytes each (align 4).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bp_proto.h"
#include "bp_ring.h"

#define RING_LINE 64u

static size_t line_up(size_t v)
{
    return (v + RING_LINE - 1) & ~(size_t)(RING_LINE - 1);
}

bp_ring_layout bp_ring_layout_of(bool packed, uint16_t num)
{
    bp_ring_layout l;
    size_t desc = (size_t)num * 16;
    size_t drv = packed ? sizeof(vring_event) : 6 + 2 * (size_t)num;
    size_t dev = packed ? sizeof(vring_event) : 6 + 8 * (size_t)num;

    l.drv_off = line_up(desc);
    l.dev_off = line_up(l.drv_off + drv);
    l.bytes = line_up(l.dev_off + dev);
    return l;
}

static int alloc_arrays(bp_ring *r)
{
    r->next = calloc(r->num, sizeof(*r->next));
    r->head_slot = calloc(r->num, sizeof(*r->head_slot));
    r->chain_len = calloc(r->num > r->ids ? r->num : r->ids, sizeof(*r->chain_len));
    r->busy = calloc(r->ids, 1);
    if (!r->next || !r->head_slot || !r->chain_len || !r->busy) {
        bp_ring_destroy(r);
        return -ENOMEM;
    }
    return 0;
}

int bp_ring_init(bp_ring *r, bool packed, uint16_t num, uint16_t ids, bool event_idx, void *mem)
{
    bp_ring_layout l = bp_ring_layout_of(packed, num);
    int err;

    memset(r, 0, sizeof(*r));
    r->num = num;
    r->ids = ids;
    r->event_idx = event_idx;
    r->desc = mem;
    r->drv = (uint8_t *)mem + l.drv_off;
    r->dev = (uint8_t *)mem + l.dev_off;
    r->num_free = num;
    err = alloc_arrays(r);
    if (err)
        return err;
    if (packed)
        bp_ring_packed_init(r);
    else
        bp_ring_split_init(r);
    return 0;
}

void bp_ring_destroy(bp_ring *r)
{
    free(r->next);
    free(r->head_slot);
    free(r->chain_len);
    free(r->busy);
    r->next = NULL;
    r->head_slot = NULL;
    r->chain_len = NULL;
    r->busy = NULL;
}
