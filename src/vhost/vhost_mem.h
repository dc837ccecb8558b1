/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_VHOST_MEM_H
#define GUESTMEM_VHOST_MEM_H

#include <pthread.h>

#include <guestmem/guestmem.h>

#include "vhost/vhost_proto.h"

#define VU_MAX_SLOTS 32u

/* How XEN_MMAP grant regions are served. */
typedef enum vu_grant_mode {
    VU_GRANTS_NONE,      /* refuse grant regions */
    VU_GRANTS_EMULATED,  /* the region fd is an emulated grant table */
    VU_GRANTS_XEN,       /* libxengnttab */
} vu_grant_mode;

typedef struct vu_mem_slot {
    bool used;
    vu_mem_region r;
    vu_xen_mmap xen;
    gm_region *backing;           /* RAM from the fd, or a grant region */
    gm_region *gpa_alias;         /* in gpa_root at guest_phys_addr */
    gm_region *uaddr_alias;       /* in uaddr_root at userspace_addr */
    gm_grant_provider provider;   /* of a grant slot; owned by its region */
} vu_mem_slot;

typedef struct vu_mem {
    gm_system *sys;
    gm_region *gpa_root;
    gm_region *uaddr_root;
    gm_as *gpa_as;                /* guest physical addresses */
    gm_as *uaddr_as;              /* the front-end's user addresses (IOTLB targets) */
    gm_mapcache *mc;              /* grant mappings */
    vu_grant_mode grants;
    int last_foreign_fd;          /* guest RAM fd for emulated grant tables */
    bool unmap_after_use;         /* a grant slot said "do not map in advance" */
    /* Written by the message thread only, under slots_lock; queue threads
     * read them under it (vu_mem_uaddr_to_gpa, vu_mem_ref_ram_slots). */
    pthread_mutex_t slots_lock;
    vu_mem_slot slots[VU_MAX_SLOTS];
} vu_mem;

int vu_mem_init(vu_mem *m, gm_system *sys, vu_grant_mode grants);
void vu_mem_destroy(vu_mem *m);
/* Add one region; takes ownership of @fd (closed on error). */
int vu_mem_add(vu_mem *m, const vu_mem_region *r, const vu_xen_mmap *xen, int fd);
int vu_mem_remove(vu_mem *m, const vu_mem_region *r);
void vu_mem_clear(vu_mem *m);
/* Translate a front-end user address to a guest physical address. */
int vu_mem_uaddr_to_gpa(vu_mem *m, uint64_t uaddr, uint64_t *gpa);
/* Copy the used RAM (non-grant) slots into @out, each holding a reference
 * on its backing region that the caller drops with gm_region_unref().
 * Any thread. Returns how many. */
unsigned int vu_mem_ref_ram_slots(vu_mem *m, vu_mem_slot out[VU_MAX_SLOTS]);
/* Highest guest physical address + 1 of all regions. */
uint64_t vu_mem_gpa_end(const vu_mem *m);

#endif
