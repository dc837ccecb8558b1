/* SPDX-License-Identifier: MIT */
/*
 * A tiny virtio driver for the tests: lays out a split ring in guest memory
 * the way a guest would and adds buffers (direct, indirect), reads the used
 * ring, and plays with notification suppression. It writes through an
 * address space, so the same driver runs on RAM, behind an IOMMU (addresses
 * are IOVAs) and on a map-on-demand region.
 *
 * Descriptors are allocated from a free map; a completed chain is freed
 * with vdrv_get_used(). Raw writers (vdrv_write_desc, vdrv_publish) let the
 * malformed-ring tests build anything a hostile guest could.
 */
#ifndef GUESTMEM_TESTS_VDRIVER_H
#define GUESTMEM_TESTS_VDRIVER_H

#include <guestmem/guestmem.h>
#include <guestmem/virtq.h>

#define VDRV_MAX_SIZE 1024u

#define VDESC_F_NEXT 1u
#define VDESC_F_WRITE 2u
#define VDESC_F_INDIRECT 4u

typedef struct vbuf {
    gm_addr addr;
    uint32_t len;
} vbuf;

typedef struct vdrv {
    gm_as *as;
    unsigned int size;
    gm_addr desc, avail, used;
    bool event_idx;
    uint16_t avail_idx;     /* next avail->idx to publish */
    uint16_t last_used;     /* used entries consumed so far */
    bool in_use[VDRV_MAX_SIZE];
    uint16_t chain_len[VDRV_MAX_SIZE];
} vdrv;

/* Zero the three rings and set the indices to @start (0 for a new queue). */
void vdrv_init(vdrv *d, gm_as *as, unsigned int size, gm_addr desc, gm_addr avail,
               gm_addr used, bool event_idx, uint16_t start);
gm_virtq_config vdrv_config(const vdrv *d, uint64_t extra_features);

void vdrv_write_desc(vdrv *d, unsigned int i, gm_addr addr, uint32_t len, uint16_t flags,
                     uint16_t next);
void vdrv_write_table_desc(gm_as *as, gm_addr table, unsigned int i, gm_addr addr, uint32_t len,
                           uint16_t flags, uint16_t next);
/* Put @head in the next available slot and publish avail->idx. */
void vdrv_publish(vdrv *d, uint16_t head);
void vdrv_set_avail_idx(vdrv *d, uint16_t idx);

/* Add a chain: @n_out readable then @n_in writable buffers. Returns the head. */
int vdrv_add(vdrv *d, const vbuf *out, unsigned int n_out, const vbuf *in, unsigned int n_in);
/* Same, through one INDIRECT descriptor whose table is written at @table. */
int vdrv_add_indirect(vdrv *d, gm_addr table, const vbuf *out, unsigned int n_out,
                      const vbuf *in, unsigned int n_in);

/* Take the next used entry; false when none. Frees the chain's descriptors. */
bool vdrv_get_used(vdrv *d, uint32_t *id, uint32_t *len);

void vdrv_set_used_event(vdrv *d, uint16_t event);
void vdrv_set_no_interrupt(vdrv *d, bool on);
uint16_t vdrv_used_flags(vdrv *d);
uint16_t vdrv_avail_event(vdrv *d);
uint16_t vdrv_used_idx(vdrv *d);
/* Would the driver kick after moving avail->idx from @old to @new? */
bool vdrv_kick_needed(vdrv *d, uint16_t old, uint16_t new_idx);

/* Same formula as the spec's vring_need_event(), for expectations. */
static inline bool vdrv_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
