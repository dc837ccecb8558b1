/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user dirty log (SET_LOG_BASE, VHOST_F_LOG_ALL).
 *
 * During migration the front-end wants a bit per 4 KiB page of guest
 * physical memory the back-end wrote (VHOST_LOG_PAGE), set with an atomic
 * OR. The back-end writes guest memory in exactly two places: a request's
 * device-writable buffers, and the device's part of the rings (the used
 * ring of a split queue, the descriptor ring and device event area of a
 * packed one). So a push logs the pages of the request's writable
 * segments before the used ring moves, then the ring's device area; and a
 * queue thread logs its device area once more when it stops, for the
 * notification flags and event indices written since its last push. The
 * cost of a request is the number of pages it touched, whatever the size
 * of the guest.
 *
 * Addresses are what the queue uses: guest physical addresses, or with
 * VIRTIO_F_IOMMU_PLATFORM IOVAs, translated page by page through the IOTLB
 * (asking the front-end on a miss, like any access) to the front-end's
 * user addresses and from there through the memory table to guest
 * physical ones. Addresses outside the log (a grant DMA address, say)
 * have no bit and are skipped.
 *
 * The log area is a file the front-end sends; it must be sealed against
 * shrinking (QEMU's always is), or a truncation would turn the next bit
 * set into SIGBUS. log_lock keeps the area mapped while a queue thread
 * sets bits in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost/vhost_int.h"

int vu_log_set_base(gm_vhost_dev *dev, const vu_log *log, int fd)
{
    int err = vu_file_check(dev->sys, fd, log->mmap_offset, log->mmap_size,
                            VU_FILE_REQUIRE_SEALED, "dirty log fd");
    void *p = MAP_FAILED;

    if (!err) {
        p = mmap(NULL, log->mmap_offset + log->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                 fd, 0);
        err = p == MAP_FAILED ? -errno : 0;
    }
    if (fd >= 0)
        close(fd);
    if (err)
        return err == -EBADF ? -EINVAL : err;
    vu_log_release(dev);
    pthread_mutex_lock(&dev->log_lock);
    dev->log_offset = log->mmap_offset;
    dev->log_size = log->mmap_size;
    __atomic_store_n(&dev->log, (uint8_t *)p + log->mmap_offset, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&dev->log_lock);
    return 0;
}

/* Set the bits of the guest physical pages [gpa, gpa + len). Caller holds
 * log_lock. */
static void log_gpa_range_locked(gm_vhost_dev *dev, uint64_t gpa, uint64_t len)
{
    uint64_t last = gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1;
    uint64_t page = gpa / VU_LOG_PAGE, first = page;

    for (; page <= last / VU_LOG_PAGE; page++) {
        if (page / 8 >= dev->log_size)
            break;   /* past the log: no higher page has a bit either */
        __atomic_fetch_or(&dev->log[page / 8], (uint8_t)(1u << (page % 8)), __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&dev->stats.log_pages, page - first, __ATOMIC_RELAXED);
}

/* Log [iova, iova + len) of a queue's IOVA space. Caller holds log_lock. */
static void log_iova_range_locked(gm_vhost_dev *dev, uint64_t iova, uint64_t len)
{
    while (len) {
        uint64_t uaddr, gpa, in_entry, in_slot, n;

        if (vu_iotlb_translate(&dev->iotlb, iova, GM_IOMMU_WO, &uaddr, &in_entry) ||
            vu_mem_uaddr_to_gpa(&dev->mem, uaddr, &gpa, &in_slot))
            return;   /* nothing the back-end could have written there either */
        n = len < in_entry ? len : in_entry;
        n = n < in_slot ? n : in_slot;
        log_gpa_range_locked(dev, gpa, n);
        iova += n;
        len -= n;
    }
}

static void log_range_locked(gm_vhost_dev *dev, uint64_t addr, uint64_t len)
{
    if (!len)
        return;
    if (vu_has_feature(dev, VIRTIO_F_IOMMU_PLATFORM))
        log_iova_range_locked(dev, addr, len);
    else
        log_gpa_range_locked(dev, addr, len);
}

/* Lock the log if the front-end wants writes logged now; false if not. */
static bool log_begin(gm_vhost_dev *dev)
{
    if (!vu_has_feature(dev, VU_F_LOG_ALL) || !__atomic_load_n(&dev->log, __ATOMIC_ACQUIRE))
        return false;
    pthread_mutex_lock(&dev->log_lock);
    if (dev->log)
        return true;
    pthread_mutex_unlock(&dev->log_lock);
    return false;
}

void vu_log_buffers(gm_vhost_queue *q, const gm_virtq_elem *elem)
{
    gm_vhost_dev *dev = q->dev;

    if (!log_begin(dev))
        return;
    for (unsigned int i = elem->out_num; i < elem->out_num + elem->in_num; i++)
        log_range_locked(dev, elem->seg[i].addr, elem->seg[i].len);
    pthread_mutex_unlock(&dev->log_lock);
}

void vu_log_rings(gm_vhost_queue *q)
{
    gm_virtq_range area[GM_VIRTQ_DEVICE_AREAS];
    unsigned int n;

    if (!q->vq || !log_begin(q->dev))
        return;
    n = gm_virtq_device_areas(q->vq, area);
    for (unsigned int i = 0; i < n; i++)
        log_range_locked(q->dev, area[i].addr, area[i].len);
    pthread_mutex_unlock(&q->dev->log_lock);
}

void vu_log_release(gm_vhost_dev *dev)
{
    pthread_mutex_lock(&dev->log_lock);
    if (dev->log)
        munmap(dev->log - dev->log_offset, dev->log_offset + dev->log_size);
    __atomic_store_n(&dev->log, NULL, __ATOMIC_RELEASE);
    dev->log_size = 0;
    dev->log_offset = 0;
    pthread_mutex_unlock(&dev->log_lock);
}
