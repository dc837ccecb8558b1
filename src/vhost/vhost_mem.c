/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user memory table as guestmem regions.
 *
 * Each region the front-end sends becomes one backing region (RAM mapped
 * from its fd, or, for XEN_MMAP grant regions, a grant region served through
 * the mapping cache) shown twice through aliases: at its guest physical
 * address in gpa_as (what descriptors use) and at its user address in
 * uaddr_as (what IOTLB entries translate to). All changes of one message
 * happen in one transaction, so queue threads see the old table or the new.
 *
 * Everything here comes from the peer: sizes and addresses are checked for
 * overflow and overlap, the fd must be a regular file (memfd, shm, hugetlbfs)
 * large enough for the mapping (mapping past its end would SIGBUS on first
 * access), and an fd that can still shrink (no F_SEAL_SHRINK) is refused or
 * logged as ram_policy says (vhost_file.c).
 *
 * Emulated grant tables index the guest's RAM, which the front-end sends as
 * a FOREIGN region of the same domid. That region's fd is the slot's own:
 * it is closed when the region goes (REM_MEM_REG, a new table, the end of
 * the connection), and a grant region attaches only to a FOREIGN region of
 * the table it arrives in, never to RAM an earlier table or connection
 * named. A grant table, once attached, holds its own reference to that RAM
 * until its region is freed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost/vhost_mem.h"

#define PAGE_MASK_4K 0xfffull

static const vu_mem_slot empty_slot = { .foreign_fd = -1 };

int vu_mem_init(vu_mem *m, gm_system *sys, enum gm_vhost_grants grants,
                vu_file_policy ram_policy)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->slots_lock, NULL);
    m->sys = sys;
    m->grants = grants;
    m->ram_policy = ram_policy;
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++)
        m->slots[i] = empty_slot;
    m->gpa_root = gm_region_new_container(sys, "vhost-gpa", GM_SIZE_2_64);
    m->uaddr_root = gm_region_new_container(sys, "vhost-uaddr", GM_SIZE_2_64);
    m->mc = gm_mapcache_new(NULL);
    if (!m->gpa_root || !m->uaddr_root || !m->mc)
        return -ENOMEM;
    m->gpa_as = gm_as_new(sys, m->gpa_root, "guest-physical");
    m->uaddr_as = gm_as_new(sys, m->uaddr_root, "front-end-user");
    return m->gpa_as && m->uaddr_as ? 0 : -ENOMEM;
}

static bool overflows(uint64_t base, uint64_t size)
{
    return !size || base + size - 1 < base;
}

static bool slots_overlap(const vu_mem *m, const vu_mem_region *r)
{
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        const vu_mem_region *o = &m->slots[i].r;

        if (m->slots[i].used && r->guest_phys_addr <= o->guest_phys_addr + o->memory_size - 1 &&
            o->guest_phys_addr <= r->guest_phys_addr + r->memory_size - 1)
            return true;
    }
    return false;
}

/* RAM from the fd, mapped from a page-aligned offset; *delta is where the
 * region's data starts inside the mapping. */
static gm_region *map_ram(vu_mem *m, const vu_mem_region *r, int fd, uint64_t *delta)
{
    uint64_t base = r->mmap_offset & ~PAGE_MASK_4K;
    char name[48];

    *delta = r->mmap_offset - base;
    if (vu_file_check(m->sys, fd, r->mmap_offset, r->memory_size, m->ram_policy,
                      "memory region fd") < 0)
        return NULL;
    snprintf(name, sizeof(name), "vhost-mem@%" PRIx64, r->guest_phys_addr);
    return gm_region_new_ram_from_fd(m->sys, name, r->memory_size + *delta, fd, base, true);
}

/* Either encoding of "do not map in advance" (vhost_proto.h). */
static bool no_advance_map(const vu_xen_mmap *xen)
{
    return xen->flags & (VU_XEN_MMAP_NO_ADVANCE_SPEC | VU_XEN_MMAP_NO_ADVANCE_RUSTVMM);
}

static bool is_foreign(const vu_xen_mmap *xen)
{
    return xen && (xen->flags & VU_XEN_MMAP_FOREIGN);
}

/* The RAM fd of the FOREIGN region of @domid in the current table, or -1. */
static int foreign_fd_of(const vu_mem *m, uint32_t domid)
{
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        const vu_mem_slot *s = &m->slots[i];

        if (s->used && s->foreign_fd >= 0 && s->xen.domid == domid)
            return s->foreign_fd;
    }
    return -1;
}

static gm_region *map_grants(vu_mem *m, vu_mem_slot *s, int fd)
{
    uint32_t pages = (uint32_t)(s->r.memory_size >> GM_GRANT_PAGE_SHIFT);

    /* Such grants are the guest's to revoke as soon as a request is done
     * (Linux's grant DMA does): drop cached mappings after each request. */
    if (no_advance_map(&s->xen))
        m->unmap_after_use = true;
    if (m->grants == GM_VHOST_GRANTS_EMULATED) {
        int ram_fd = foreign_fd_of(m, s->xen.domid);
        gm_gnttab_emu *gt;

        if (ram_fd < 0) {
            gm_log(m->sys, GM_LOG_GUEST_ERROR,
                   "grant region refused: no foreign region of domain %u in this table",
                   s->xen.domid);
            return NULL;
        }
        if (vu_file_check(m->sys, fd, 0, 1, m->ram_policy, "grant table fd") < 0)
            return NULL;
        gt = gm_gnttab_emu_attach(fd, ram_fd);
        if (!gt)
            return NULL;
        s->provider = gm_gnttab_emu_provider_owning(gt);
    } else if (m->grants != GM_VHOST_GRANTS_XEN || gm_gnttab_xen_open(&s->provider) < 0) {
        return NULL;
    }
    if (!pages || s->r.memory_size >> GM_GRANT_PAGE_SHIFT > UINT32_MAX) {
        s->provider.ops->close(s->provider.ctx);
        return NULL;
    }
    return gm_grant_region_new(m->mc, m->sys, "vhost-grants", &s->provider,
                               (gm_domid)s->xen.domid, pages);
}

static int place_aliases(vu_mem *m, vu_mem_slot *s, uint64_t delta)
{
    s->gpa_alias = gm_region_new_alias(m->sys, "vhost-gpa-slot", s->backing, delta,
                                       s->r.memory_size);
    s->uaddr_alias = gm_region_new_alias(m->sys, "vhost-uaddr-slot", s->backing, delta,
                                         s->r.memory_size);
    if (!s->gpa_alias || !s->uaddr_alias)
        return -ENOMEM;
    if (gm_region_add_subregion(m->gpa_root, s->r.guest_phys_addr, s->gpa_alias) ||
        gm_region_add_subregion(m->uaddr_root, s->r.userspace_addr, s->uaddr_alias))
        return -EINVAL;
    return 0;
}

/* Store @src into the slot array: queue threads read slots under slots_lock. */
static void slot_store(vu_mem *m, vu_mem_slot *dst, const vu_mem_slot *src)
{
    pthread_mutex_lock(&m->slots_lock);
    *dst = *src;
    pthread_mutex_unlock(&m->slots_lock);
}

static void slot_release(vu_mem *m, vu_mem_slot *s)
{
    vu_mem_slot old = *s;

    slot_store(m, s, &empty_slot);
    if (old.foreign_fd >= 0)
        close(old.foreign_fd);
    gm_transaction_begin(m->sys);
    if (old.gpa_alias)
        gm_region_del_subregion(m->gpa_root, old.gpa_alias);
    if (old.uaddr_alias)
        gm_region_del_subregion(m->uaddr_root, old.uaddr_alias);
    gm_transaction_commit(m->sys);
    gm_region_unref(old.gpa_alias);
    gm_region_unref(old.uaddr_alias);
    /* A grant region closes its provider (and table) when it is freed. */
    gm_region_unref(old.backing);
}

static vu_mem_slot *free_slot(vu_mem *m)
{
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        if (!m->slots[i].used)
            return &m->slots[i];
    }
    return NULL;
}

static bool is_grant(const vu_xen_mmap *xen)
{
    return xen && (xen->flags & VU_XEN_MMAP_GRANT);
}

/* Map @tmp's backing from @fd (owned by the call) and show it at its
 * addresses. */
static int slot_fill(vu_mem *m, vu_mem_slot *tmp, int fd)
{
    uint64_t delta = 0;
    int err;

    tmp->backing = is_grant(&tmp->xen) ? map_grants(m, tmp, fd) : map_ram(m, &tmp->r, fd, &delta);
    tmp->used = tmp->backing != NULL;
    err = tmp->used ? place_aliases(m, tmp, delta) : -EINVAL;
    if (!err && is_foreign(&tmp->xen)) {
        tmp->foreign_fd = fd;   /* kept for grant tables of its domid */
        return 0;
    }
    if (fd >= 0)
        close(fd);
    if (err && tmp->used)
        slot_release(m, tmp);
    return err;
}

int vu_mem_add(vu_mem *m, const vu_mem_region *r, const vu_xen_mmap *xen, int fd)
{
    vu_mem_slot *s = free_slot(m), tmp = empty_slot;
    int err;

    tmp.r = *r;
    if (xen)
        tmp.xen = *xen;
    if (!s || overflows(r->guest_phys_addr, r->memory_size) ||
        overflows(r->userspace_addr, r->memory_size) || slots_overlap(m, r)) {
        if (fd >= 0)
            close(fd);
        return s ? -EINVAL : -ENOSPC;
    }
    err = slot_fill(m, &tmp, fd);
    if (!err)
        slot_store(m, s, &tmp);
    return err;
}

int vu_mem_remove(vu_mem *m, const vu_mem_region *r)
{
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        vu_mem_slot *s = &m->slots[i];

        if (s->used && s->r.guest_phys_addr == r->guest_phys_addr &&
            s->r.memory_size == r->memory_size && s->r.userspace_addr == r->userspace_addr) {
            slot_release(m, s);
            return 0;
        }
    }
    return -ENOENT;
}

void vu_mem_clear(vu_mem *m)
{
    m->unmap_after_use = false;
    gm_transaction_begin(m->sys);
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        if (m->slots[i].used)
            slot_release(m, &m->slots[i]);
    }
    gm_transaction_commit(m->sys);
}

void vu_mem_destroy(vu_mem *m)
{
    if (m->gpa_as)
        vu_mem_clear(m);
    gm_as_free(m->gpa_as);
    gm_as_free(m->uaddr_as);
    gm_region_unref(m->gpa_root);
    gm_region_unref(m->uaddr_root);
    pthread_mutex_destroy(&m->slots_lock);
    /* The mapping cache outlives the grant regions: freed by the owner
     * after the system's deferred frees ran (vu_dev_free). */
}

int vu_mem_uaddr_to_gpa(vu_mem *m, uint64_t uaddr, uint64_t *gpa, uint64_t *left)
{
    int ret = -EFAULT;

    pthread_mutex_lock(&m->slots_lock);
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        const vu_mem_region *r = &m->slots[i].r;

        if (m->slots[i].used && uaddr - r->userspace_addr < r->memory_size) {
            *gpa = r->guest_phys_addr + (uaddr - r->userspace_addr);
            if (left)
                *left = r->memory_size - (uaddr - r->userspace_addr);
            ret = 0;
            break;
        }
    }
    pthread_mutex_unlock(&m->slots_lock);
    return ret;
}
