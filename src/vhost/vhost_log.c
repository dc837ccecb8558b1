/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user dirty log (SET_LOG_BASE, VHOST_F_LOG_ALL).
 *
 * During migration the front-end wants a bit per 4 KiB page of guest
 * physical memory the back-end wrote. guestmem already tracks writes per
 * region (every write path marks dirty bits); while VHOST_F_LOG_ALL is
 * acked, every memory slot logs for GM_DIRTY_USER, and before each used-ring
 * update the bits are moved (snapshot and clear) into the shared log at the
 * slot's guest physical address, with atomic OR as the spec requires. The
 * used ring itself is guest memory, so its writes are logged the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost/vhost_int.h"

int vu_log_set_base(gm_vhost_dev *dev, const vu_log *log, int fd)
{
    struct stat st;
    void *p;

    if (fd < 0 || !log->mmap_size || log->mmap_offset > UINT64_MAX - log->mmap_size ||
        fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < log->mmap_offset + log->mmap_size) {
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    p = mmap(NULL, log->mmap_offset + log->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    pthread_mutex_lock(&dev->log_lock);
    if (dev->log)
        munmap(dev->log - dev->log_offset, dev->log_offset + dev->log_size);
    dev->log = (uint8_t *)p + log->mmap_offset;
    dev->log_offset = log->mmap_offset;
    dev->log_size = log->mmap_size;
    pthread_mutex_unlock(&dev->log_lock);
    return 0;
}

void vu_log_set_logging(gm_vhost_dev *dev, bool on)
{
    for (unsigned int i = 0; i < VU_MAX_SLOTS; i++) {
        vu_mem_slot *s = &dev->mem.slots[i];

        if (s->used)
            gm_region_set_log(s->backing, GM_DIRTY_USER, on);
    }
}

static void log_gpa_range(gm_vhost_dev *dev, uint64_t gpa, uint64_t len)
{
    for (uint64_t page = gpa / VU_LOG_PAGE; page <= (gpa + len - 1) / VU_LOG_PAGE; page++) {
        if (page / 8 < dev->log_size)
            __atomic_fetch_or(&dev->log[page / 8], (uint8_t)(1u << (page % 8)),
                              __ATOMIC_RELAXED);
    }
}

/* Move one slot's dirty bits into the log. */
static void sync_slot(gm_vhost_dev *dev, const vu_mem_slot *s)
{
    uint64_t delta = s->r.mmap_offset & 0xfff, end = delta + s->r.memory_size;
    gm_dirty_snapshot *snap =
        gm_region_snapshot_and_clear_dirty(s->backing, 0, end, GM_DIRTY_USER);

    if (!snap)
        return;
    for (uint64_t off = gm_dirty_snapshot_next(snap, 0); off < end;
         off = gm_dirty_snapshot_next(snap, off + GM_DIRTY_PAGE_SIZE)) {
        uint64_t lo = off < delta ? delta : off;
        uint64_t hi = off + GM_DIRTY_PAGE_SIZE < end ? off + GM_DIRTY_PAGE_SIZE : end;

        if (hi > lo)
            log_gpa_range(dev, s->r.guest_phys_addr + (lo - delta), hi - lo);
    }
    gm_dirty_snapshot_free(snap);
}

void vu_log_sync(gm_vhost_dev *dev)
{
    vu_mem_slot slots[VU_MAX_SLOTS];
    unsigned int n;

    if (!vu_has_feature(dev, VU_F_LOG_ALL) || !__atomic_load_n(&dev->log, __ATOMIC_ACQUIRE))
        return;
    n = vu_mem_ref_ram_slots(&dev->mem, slots);

    pthread_mutex_lock(&dev->log_lock);
    for (unsigned int i = 0; dev->log && i < n; i++)
        sync_slot(dev, &slots[i]);
    pthread_mutex_unlock(&dev->log_lock);
    for (unsigned int i = 0; i < n; i++)
        gm_region_unref(slots[i].backing);
}

void vu_log_release(gm_vhost_dev *dev)
{
    pthread_mutex_lock(&dev->log_lock);
    if (dev->log)
        munmap(dev->log - dev->log_offset, dev->log_offset + dev->log_size);
    dev->log = NULL;
    dev->log_size = 0;
    pthread_mutex_unlock(&dev->log_lock);
}
