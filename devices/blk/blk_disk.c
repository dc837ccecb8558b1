/* SPDX-License-Identifier: MIT */
/*
 * The storage behind guestmem-vhost-blk: an fd used with preadv/pwritev.
 *
 * A raw image file, or the built-in RAM disk, which is a memfd so that both
 * share one code path (and the RAM disk can be inspected through
 * /proc/PID/fd). Short transfers are continued; a transfer past the end of
 * the disk is the caller's bug (requests are range-checked before).
 * Discard punches holes; write-zeroes uses FALLOC_FL_ZERO_RANGE, or punches
 * when the guest allows unmapping, falling back to writing zeroes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_disk.h"

#define SECTOR 512u
#define MAX_IOV 1024u

int blk_disk_open_file(blk_disk *d, const char *path, bool readonly)
{
    struct stat st;

    memset(d, 0, sizeof(*d));
    d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (d->fd < 0)
        return -errno;
    if (fstat(d->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)SECTOR) {
        close(d->fd);
        return -EINVAL;
    }
    d->size = (uint64_t)st.st_size & ~(uint64_t)(SECTOR - 1);
    d->readonly = readonly;
    d->can_punch = !readonly;
    return 0;
}

int blk_disk_open_ram(blk_disk *d, uint64_t size)
{
    memset(d, 0, sizeof(*d));
    if (size < SECTOR || size % SECTOR)
        return -EINVAL;
    d->fd = memfd_create("guestmem-ramdisk", MFD_CLOEXEC);
    if (d->fd < 0)
        return -errno;
    if (ftruncate(d->fd, (off_t)size) < 0) {
        int err = -errno;

        close(d->fd);
        return err;
    }
    d->size = size;
    d->can_punch = true;
    return 0;
}

void blk_disk_close(blk_disk *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* Advance an iovec array by @n bytes (in place, on a private copy). */
static unsigned int iov_advance(struct iovec *iov, unsigned int cnt, size_t n)
{
    unsigned int i = 0;

    while (i < cnt && n >= iov[i].iov_len)
        n -= iov[i++].iov_len;
    if (i < cnt) {
        iov[i].iov_base = (char *)iov[i].iov_base + n;
        iov[i].iov_len -= n;
    }
    memmove(iov, iov + i, (cnt - i) * sizeof(*iov));
    return cnt - i;
}

static int transfer(const blk_disk *d, const struct iovec *iov, unsigned int cnt,
                    uint64_t offset, bool write)
{
    struct iovec copy[MAX_IOV];

    if (cnt > MAX_IOV)
        return -E2BIG;
    memcpy(copy, iov, cnt * sizeof(*iov));
    while (cnt) {
        ssize_t n = write ? pwritev(d->fd, copy, (int)cnt, (off_t)offset)
                          : preadv(d->fd, copy, (int)cnt, (off_t)offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        offset += (uint64_t)n;
        cnt = iov_advance(copy, cnt, (size_t)n);
    }
    return 0;
}

int blk_disk_readv(const blk_disk *d, const struct iovec *iov, unsigned int cnt, uint64_t offset)
{
    return transfer(d, iov, cnt, offset, false);
}

int blk_disk_writev(const blk_disk *d, const struct iovec *iov, unsigned int cnt, uint64_t offset)
{
    return d->readonly ? -EROFS : transfer(d, iov, cnt, offset, true);
}

int blk_disk_flush(const blk_disk *d)
{
    return fdatasync(d->fd) < 0 ? -errno : 0;
}

int blk_disk_discard(const blk_disk *d, uint64_t offset, uint64_t len)
{
    if (d->readonly)
        return -EROFS;
    if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len))
        return errno == EOPNOTSUPP ? 0 : -errno;   /* discard is advisory */
    return 0;
}

static int write_zero_blocks(const blk_disk *d, uint64_t offset, uint64_t len)
{
    static const char zeros[64 * 1024];

    while (len) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        struct iovec iov = { (void *)zeros, n };
        int err = transfer(d, &iov, 1, offset, true);

        if (err)
            return err;
        offset += n;
        len -= n;
    }
    return 0;
}

int blk_disk_write_zeroes(const blk_disk *d, uint64_t offset, uint64_t len, bool unmap)
{
    int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;

    if (d->readonly)
        return -EROFS;
    if (d->can_punch && fallocate(d->fd, mode, (off_t)offset, (off_t)len) == 0)
        return 0;
    return write_zero_blocks(d, offset, len);
}
