/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_VHOST_MEM_H
#define GUESTMEM_VHOST_MEM_H

#include <pthread.h>

#include <guestmem/guestmem.h>
#include <guestmem/vhost.h>

#include "vhost/vhost_file.h"
#include "vhost/vhost_proto.h"

#define VU_MAX_SLOTS 32u


typedef struct vu_mem_slot {
    bool used;
    vu_mem_region r;
    vu_xen_mmap xen;
    gm_region *backing;           /* RAM from the fd, or a grant region */
    gm_region *gpa_alias;         /* in gpa_root at guest_phys_addr */
    gm_region *uaddr_alias;       /* in uaddr_root at userspace_addr */
    gm_grant_provider provider;   /* of a grant slot; owned by its region */
    int foreign_fd;               /* FOREIGN slot: the guest RAM fd that emulated
                                   * grant tables of its domid attach to; else -1 */
} vu_mem_slot;

typedef struct vu_mem {
    gm_system *sys;
    gm_region *gpa_root;
    gm_region *uaddr_root;
    gm_as *gpa_as;                /* guest physical addresses */
    gm_as *uaddr_as;              /* the front-end's user addresses (IOTLB targets) */
    gm_mapcache *mc;              /* grant mappings */
    enum gm_vhost_grants grants;  /* how XEN_MMAP grant regions are served */
    vu_file_policy ram_policy;    /* unsealed RAM fds: accepted or refused */
    bool unmap_after_use;         /* a grant slot said "do not map in advance" */
    /* Written by the message thread only, under slots_lock; queue threads
     * read them under it (vu_mem_uaddr_to_gpa). */
    pthread_mutex_t slots_lock;
    vu_mem_slot slots[VU_MAX_SLOTS];
} vu_mem;

int vu_mem_init(vu_mem *m, gm_system *sys, enum gm_vhost_grants grants,
                vu_file_policy ram_policy);
void vu_mem_destroy(vu_mem *m);
/*
 * Add one region; takes ownership of @fd (closed on error, and once the
 * region is mapped, unless it is a FOREIGN region: then the slot keeps it
 * until the region goes). A grant region needs a FOREIGN region of its
 * domid in the current table (emulated grants). Returns 0, -ENOSPC, or
 * -EINVAL (a bad range or fd, an unsealed fd under VU_FILE_REQUIRE_SEALED,
 * a grant region without its foreign region; the log says which).
 */
int vu_mem_add(vu_mem *m, const vu_mem_region *r, const vu_xen_mmap *xen, int fd);
int vu_mem_remove(vu_mem *m, const vu_mem_region *r);
/* Drop every region and what it holds (mappings, fds, grant tables). */
void vu_mem_clear(vu_mem *m);
/* Translate a front-end user address to a guest physical address; *@left
 * (if not NULL) gets how many bytes from there the region still covers.
 * Returns 0 or -EFAULT. Any thread. */
int vu_mem_uaddr_to_gpa(vu_mem *m, uint64_t uaddr, uint64_t *gpa, uint64_t *left);

#endif
