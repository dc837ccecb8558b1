/* SPDX-License-Identifier: MIT */
/*
 * The region tree: creation, reference counting and topology setters.
 *
 * Subregions are kept in QEMU's order: sorted by descending priority, and a
 * new region goes before the first sibling whose priority is <= its own, so
 * among equal priorities the one added last comes first and wins. Moving a
 * region (gm_region_set_address) re-adds it, which also makes it the latest
 * of its priority, exactly as QEMU's memory_region_readd_subregion does.
 *
 * Invariants (checked on every add): no region is its own ancestor and no
 * container chain is deeper than GM_MAX_NESTING. Aliases may point back up
 * the tree, as in QEMU; every walk that follows them (rendering, the
 * flat-view root) is bounded by GM_MAX_NESTING.
 *
 * Lifetime: the last gm_region_unref() defers the free to an RCU callback;
 * the callback detaches subregions under the writer lock, drops the alias
 * target, unregisters RAM from the host map and releases the memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/internal.h"

static gm_u128 size_from_u64(uint64_t size)
{
    return size == GM_SIZE_2_64 ? GM_2_64 : (gm_u128)size;
}

static gm_region *region_alloc(gm_system *sys, const char *name, enum gm_region_kind kind,
                               uint64_t size)
{
    gm_region *mr = calloc(1, sizeof(*mr));

    if (!mr)
        return NULL;
    mr->name = strdup(name ? name : "anonymous");
    if (!mr->name) {
        free(mr);
        return NULL;
    }
    mr->sys = sys;
    mr->kind = kind;
    mr->refcount = 1;
    mr->size = size_from_u64(size);
    mr->enabled = true;
    mr->fd = -1;
    mr->terminates = kind != GM_KIND_CONTAINER && kind != GM_KIND_ALIAS;
    TAILQ_INIT(&mr->subregions);
    pthread_mutex_lock(&sys->regions_lock);
    TAILQ_INSERT_TAIL(&sys->all_regions, mr, all_link);
    mr->listed = true;
    pthread_mutex_unlock(&sys->regions_lock);
    return mr;
}

/* Release what region_alloc() and the RAM constructors acquired. */
static void region_release_memory(gm_region *mr)
{
    gm_system *sys = mr->sys;

    pthread_mutex_lock(&sys->regions_lock);
    if (mr->listed)
        TAILQ_REMOVE(&sys->all_regions, mr, all_link);
    mr->listed = false;
    pthread_mutex_unlock(&sys->regions_lock);
    if (mr->backing == GM_RAM_ANON || mr->backing == GM_RAM_FD)
        munmap(mr->ram, mr->ram_len);
    if (mr->fd >= 0)
        close(mr->fd);
    for (int i = 0; i < GM_DIRTY_NUM; i++)
        free(mr->dirty[i]);
    gm_iommu_state_free(mr->iommu);
    free(mr->name);
    free(mr);
}

/* Undo region_alloc() after a failed mapping; errno is kept. */
static gm_region *release_keep_errno(gm_region *mr)
{
    int err = errno;

    region_release_memory(mr);
    errno = err;
    return NULL;
}

/* Register RAM in the host map and start global logging if it is on. */
static gm_region *ram_finish(gm_region *mr)
{
    int err;

    mr->log_len = mr->ram_len;
    /* Under the writer lock, so a concurrent gm_system_log_global_start()
     * either sees this region in the host map or has already set the flag
     * that gm_dirty_adopt_global() reads. */
    gm_system_lock(mr->sys);
    err = gm_dirty_adopt_global(mr);
    if (!err)
        err = gm_hostmap_add(mr->sys, mr);
    gm_system_unlock(mr->sys);
    if (err) {
        region_release_memory(mr);
        errno = -err;
        return NULL;
    }
    return mr;
}

static bool ram_size_ok(uint64_t size)
{
    return size != 0 && size != GM_SIZE_2_64 && size <= (uint64_t)SIZE_MAX / 2;
}

gm_region *gm_region_new_container(gm_system *sys, const char *name, uint64_t size)
{
    return region_alloc(sys, name, GM_KIND_CONTAINER, size);
}

gm_region *gm_region_new_ram(gm_system *sys, const char *name, uint64_t size)
{
    gm_region *mr;
    void *p;

    if (!ram_size_ok(size)) {
        errno = EINVAL;
        return NULL;
    }
    mr = region_alloc(sys, name, GM_KIND_RAM, size);
    if (!mr)
        return NULL;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0);
    if (p == MAP_FAILED)
        return release_keep_errno(mr);
    mr->ram = p;
    mr->ram_len = size;
    mr->backing = GM_RAM_ANON;
    return ram_finish(mr);
}

gm_region *gm_region_new_ram_from_fd(gm_system *sys, const char *name, uint64_t size, int fd,
                                     uint64_t offset, bool shared)
{
    long page = sysconf(_SC_PAGESIZE);
    gm_region *mr;
    void *p;

    if (!ram_size_ok(size) || offset % (uint64_t)page || offset > (uint64_t)INT64_MAX) {
        errno = EINVAL;
        return NULL;
    }
    mr = region_alloc(sys, name, GM_KIND_RAM, size);
    if (!mr)
        return NULL;
    mr->fd = dup(fd);
    p = mr->fd < 0 ? MAP_FAILED
                   : mmap(NULL, size, PROT_READ | PROT_WRITE,
                          shared ? MAP_SHARED : MAP_PRIVATE, mr->fd, (off_t)offset);
    if (p == MAP_FAILED)
        return release_keep_errno(mr);
    mr->ram = p;
    mr->ram_len = size;
    mr->fd_offset = offset;
    mr->backing = GM_RAM_FD;
    return ram_finish(mr);
}

static gm_region *new_ptr_region(gm_system *sys, const char *name, uint64_t size, void *host,
                                 enum gm_region_kind kind)
{
    gm_region *mr;

    if (!ram_size_ok(size) || !host) {
        errno = EINVAL;
        return NULL;
    }
    mr = region_alloc(sys, name, kind, size);
    if (!mr)
        return NULL;
    mr->ram = host;
    mr->ram_len = size;
    mr->backing = GM_RAM_PTR;
    return ram_finish(mr);
}

gm_region *gm_region_new_ram_ptr(gm_system *sys, const char *name, uint64_t size, void *host)
{
    return new_ptr_region(sys, name, size, host, GM_KIND_RAM);
}

gm_region *gm_region_new_ram_device_ptr(gm_system *sys, const char *name, uint64_t size,
                                        void *host)
{
    return new_ptr_region(sys, name, size, host, GM_KIND_RAM_DEVICE);
}

gm_region *gm_region_new_rom(gm_system *sys, const char *name, uint64_t size)
{
    gm_region *mr = gm_region_new_ram(sys, name, size);

    if (mr)
        mr->readonly = true;
    return mr;
}

static bool access_size_ok(unsigned int s)
{
    return s == 0 || s == 1 || s == 2 || s == 4 || s == 8;
}

static bool ops_ok(const gm_region_ops *ops)
{
    unsigned int vmin = ops->valid.min_access_size, vmax = ops->valid.max_access_size;
    unsigned int imin = ops->impl.min_access_size, imax = ops->impl.max_access_size;

    if (!access_size_ok(vmin) || !access_size_ok(vmax) || !access_size_ok(imin) ||
        !access_size_ok(imax))
        return false;
    if (vmax && vmin > vmax)
        return false;
    if (imax && imin > imax)
        return false;
    return ops->endianness <= GM_ENDIAN_BIG;
}

gm_region *gm_region_new_io(gm_system *sys, const char *name, uint64_t size,
                            const gm_region_ops *ops, void *opaque)
{
    gm_region *mr;

    if (ops && !ops_ok(ops)) {
        errno = EINVAL;
        return NULL;
    }
    mr = region_alloc(sys, name, GM_KIND_IO, size);
    if (mr) {
        mr->ops = ops;
        mr->opaque = opaque;
    }
    return mr;
}

gm_region *gm_region_new_reservation(gm_system *sys, const char *name, uint64_t size)
{
    return gm_region_new_io(sys, name, size, NULL, NULL);
}

gm_region *gm_region_new_rom_device(gm_system *sys, const char *name, uint64_t size,
                                    const gm_region_ops *ops, void *opaque)
{
    gm_region *mr;

    if (!ops || !ops_ok(ops)) {
        errno = EINVAL;
        return NULL;
    }
    mr = gm_region_new_ram(sys, name, size);
    if (mr) {
        mr->kind = GM_KIND_ROM_DEVICE;
        mr->ops = ops;
        mr->opaque = opaque;
        mr->romd_mode = true;
    }
    return mr;
}

gm_region *gm_region_new_alias(gm_system *sys, const char *name, gm_region *target,
                               gm_addr offset, uint64_t size)
{
    gm_region *mr;

    if (!target || target->sys != sys) {
        errno = EINVAL;
        return NULL;
    }
    mr = region_alloc(sys, name, GM_KIND_ALIAS, size);
    if (!mr)
        return NULL;
    mr->alias = gm_region_ref(target);
    mr->alias_offset = offset;
    return mr;
}

/* ---- reference counting ---------------------------------------------- */

gm_region *gm_region_ref(gm_region *mr)
{
    __atomic_add_fetch(&mr->refcount, 1, __ATOMIC_RELAXED);
    return mr;
}

bool gm_region_ref_unless_zero(gm_region *mr)
{
    int old = __atomic_load_n(&mr->refcount, __ATOMIC_RELAXED);

    while (old > 0) {
        if (__atomic_compare_exchange_n(&mr->refcount, &old, old + 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

void gm_region_unref(gm_region *mr)
{
    if (!mr)
        return;
    if (__atomic_sub_fetch(&mr->refcount, 1, __ATOMIC_ACQ_REL) == 0)
        gm_system_defer_free(mr->sys, &mr->rcu, gm_region_free_rcu_);
}

/* Detach the children of a dead region; they may live on elsewhere. */
static void detach_subregions_locked(gm_region *mr)
{
    gm_region *sub;

    while ((sub = TAILQ_FIRST(&mr->subregions)) != NULL) {
        TAILQ_REMOVE(&mr->subregions, sub, subregions_link);
        sub->container = NULL;
        gm_region_unref(sub);
    }
}

void gm_region_free_rcu_(struct rcu_head *head)
{
    gm_region *mr = caa_container_of(head, gm_region, rcu);
    gm_system *sys = mr->sys;

    /* A region being freed is in no tree (its container would hold a
     * reference), so detaching its children changes nothing visible. */
    gm_system_lock(sys);
    detach_subregions_locked(mr);
    gm_system_unlock(sys);
    gm_region_unref(mr->alias);
    if (mr->kind == GM_KIND_MAPPED && mr->mod_ops->destroy)
        mr->mod_ops->destroy(mr->opaque);
    if (mr->backing != GM_RAM_NONE)
        gm_hostmap_del(sys, mr);
    region_release_memory(mr);
    gm_system_deferred_done(sys);
}

void gm_region_release_all(gm_system *sys)
{
    unsigned int n = 0;
    gm_region *mr;

    for (;;) {
        pthread_mutex_lock(&sys->regions_lock);
        mr = TAILQ_FIRST(&sys->all_regions);
        if (mr) {
            TAILQ_REMOVE(&sys->all_regions, mr, all_link);
            mr->listed = false;
        }
        pthread_mutex_unlock(&sys->regions_lock);
        if (!mr)
            break;
        /* Nothing can reach it any more: free without following links. */
        if (mr->kind == GM_KIND_MAPPED && mr->mod_ops->destroy)
            mr->mod_ops->destroy(mr->opaque);
        region_release_memory(mr);
        n++;
    }
    if (n)
        gm_log(sys, GM_LOG_DEBUG, "%u regions freed with the system (reference cycles)", n);
}

/* ---- tree invariants --------------------------------------------------- */

/* Does @needle lie in the containment subtree of @mr? Alias targets are not
 * followed: an alias may show an ancestor of itself (QEMU allows it, and
 * rendering is bounded by the clip window and GM_MAX_NESTING), but a region
 * must never contain itself. */
static bool reaches_depth_locked(const gm_region *mr, const gm_region *needle, int depth)
{
    const gm_region *sub;

    if (mr == needle || depth > GM_MAX_NESTING)
        return true;
    TAILQ_FOREACH(sub, &mr->subregions, subregions_link) {
        if (reaches_depth_locked(sub, needle, depth + 1))
            return true;
    }
    return false;
}

bool gm_region_reaches_locked(const gm_region *mr, const gm_region *needle)
{
    return reaches_depth_locked(mr, needle, 0);
}

/* Would putting @sub under @container make a cycle or a too deep tree? */
static bool add_would_loop_locked(gm_region *container, gm_region *sub)
{
    int depth = 0;

    for (const gm_region *c = container; c; c = c->container) {
        if (++depth > GM_MAX_NESTING)
            return true;
    }
    return reaches_depth_locked(sub, container, depth);
}

static void insert_sorted_locked(gm_region *container, gm_region *sub)
{
    gm_region *other;

    TAILQ_FOREACH(other, &container->subregions, subregions_link) {
        if (sub->priority >= other->priority) {
            TAILQ_INSERT_BEFORE(other, sub, subregions_link);
            return;
        }
    }
    TAILQ_INSERT_TAIL(&container->subregions, sub, subregions_link);
}

int gm_region_add_subregion_overlap(gm_region *container, gm_addr offset, gm_region *sub,
                                    int priority)
{
    gm_system *sys = container->sys;
    int ret = 0;

    if (!sub || sub->sys != sys)
        return -EINVAL;
    gm_transaction_begin(sys);
    if (sub->container) {
        ret = -EBUSY;
    } else if (add_would_loop_locked(container, sub)) {
        ret = -EINVAL;
    } else {
        gm_region_ref(sub);
        sub->container = container;
        sub->addr = offset;
        sub->priority = priority;
        insert_sorted_locked(container, sub);
        gm_system_update_locked(sys);
    }
    gm_transaction_commit(sys);
    return ret;
}

int gm_region_add_subregion(gm_region *container, gm_addr offset, gm_region *sub)
{
    return gm_region_add_subregion_overlap(container, offset, sub, 0);
}

int gm_region_del_subregion(gm_region *container, gm_region *sub)
{
    gm_system *sys = container->sys;

    if (!sub || sub->sys != sys)
        return -ENOENT;
    gm_transaction_begin(sys);
    if (sub->container != container) {
        gm_transaction_commit(sys);
        return -ENOENT;
    }
    TAILQ_REMOVE(&container->subregions, sub, subregions_link);
    sub->container = NULL;
    gm_system_update_locked(sys);
    gm_transaction_commit(sys);
    gm_region_unref(sub);
    return 0;
}

/* ---- setters ------------------------------------------------------------ */

/* Apply a boolean attribute change inside an implicit transaction. */
static void set_flag(gm_region *mr, bool *field, bool value)
{
    gm_transaction_begin(mr->sys);
    if (*field != value) {
        *field = value;
        gm_system_update_locked(mr->sys);
    }
    gm_transaction_commit(mr->sys);
}

void gm_region_set_enabled(gm_region *mr, bool enabled)
{
    set_flag(mr, &mr->enabled, enabled);
}

void gm_region_set_readonly(gm_region *mr, bool readonly)
{
    set_flag(mr, &mr->readonly, readonly);
}

void gm_region_set_nonvolatile(gm_region *mr, bool nonvolatile)
{
    set_flag(mr, &mr->nonvolatile, nonvolatile);
}

void gm_region_set_unmergeable(gm_region *mr, bool unmergeable)
{
    set_flag(mr, &mr->unmergeable, unmergeable);
}

int gm_region_set_romd(gm_region *mr, bool romd)
{
    if (mr->kind != GM_KIND_ROM_DEVICE)
        return -EINVAL;
    set_flag(mr, &mr->romd_mode, romd);
    return 0;
}

void gm_region_set_address(gm_region *mr, gm_addr addr)
{
    gm_system *sys = mr->sys;
    gm_region *container;

    gm_transaction_begin(sys);
    container = mr->container;
    if (mr->addr != addr) {
        mr->addr = addr;
        if (container) {
            /* Re-add: the moved region becomes the latest of its priority. */
            TAILQ_REMOVE(&container->subregions, mr, subregions_link);
            insert_sorted_locked(container, mr);
        }
        gm_system_update_locked(sys);
    }
    gm_transaction_commit(sys);
}

int gm_region_set_size(gm_region *mr, uint64_t size)
{
    gm_u128 s = size_from_u64(size);
    bool is_ram = mr->backing != GM_RAM_NONE;

    if (is_ram && (s == 0 || s > mr->ram_len))
        return -EINVAL;
    gm_transaction_begin(mr->sys);
    if (mr->size != s) {
        mr->size = s;
        gm_system_update_locked(mr->sys);
    }
    gm_transaction_commit(mr->sys);
    return 0;
}

int gm_region_set_alias_offset(gm_region *mr, gm_addr offset)
{
    if (mr->kind != GM_KIND_ALIAS)
        return -EINVAL;
    gm_transaction_begin(mr->sys);
    if (mr->alias_offset != offset) {
        mr->alias_offset = offset;
        gm_system_update_locked(mr->sys);
    }
    gm_transaction_commit(mr->sys);
    return 0;
}

void gm_region_set_guard(gm_region *mr, gm_reentrancy_guard *guard)
{
    mr->guard = guard;
}

void gm_region_set_guard_disabled(gm_region *mr, bool disabled)
{
    mr->guard_disabled = disabled;
}

/* ---- getters ------------------------------------------------------------ */

void *gm_region_get_ram_ptr(gm_region *mr)
{
    return mr->ram;
}

int gm_region_get_fd(gm_region *mr, uint64_t *offset)
{
    if (offset)
        *offset = mr->fd_offset;
    return mr->fd;
}

const char *gm_region_name(const gm_region *mr)
{
    return mr->name;
}

uint64_t gm_region_size(const gm_region *mr)
{
    return mr->size >= GM_2_64 ? GM_SIZE_2_64 : (uint64_t)mr->size;
}

gm_addr gm_region_address(const gm_region *mr)
{
    return mr->addr;
}

int gm_region_priority(const gm_region *mr)
{
    return mr->priority;
}

gm_region *gm_region_container(const gm_region *mr)
{
    return mr->container;
}

gm_region *gm_region_alias_target(const gm_region *mr)
{
    return mr->alias;
}

bool gm_region_is_ram(const gm_region *mr)
{
    return mr->kind == GM_KIND_RAM || mr->kind == GM_KIND_RAM_DEVICE;
}

bool gm_region_is_enabled(const gm_region *mr)
{
    return mr->enabled;
}

bool gm_region_is_rom(const gm_region *mr)
{
    return mr->kind == GM_KIND_RAM && mr->readonly;
}

const char *gm_region_type_string(const gm_region *mr)
{
    while (mr->alias)
        mr = mr->alias;
    switch (mr->kind) {
    case GM_KIND_RAM_DEVICE:
        return "ramd";
    case GM_KIND_ROM_DEVICE:
        return mr->romd_mode ? "romd" : "i/o";
    case GM_KIND_RAM:
        return mr->readonly ? "rom" : "ram";
    default:
        return "i/o";
    }
}
