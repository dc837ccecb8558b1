/* SPDX-License-Identifier: MIT */
/*
 * The storage behind guestmem-vhost-blk: a raw image file or the built-in
 * RAM disk (a memfd, so that both share one code path and the RAM disk can
 * be inspected through /proc/PID/fd), opened in one of QEMU's cache modes.
 *
 * With O_DIRECT the file system wants offsets, lengths and buffers aligned
 * to its direct-I/O block (512 bytes on most disks, 4096 on some): the
 * alignment is found at open by trying a read, and blk_disk_aligned()
 * tells the request layer whether a transfer can go as it is.
 *
 * The blocking operations below serve the sync and threads engines and
 * the fallbacks of the io_uring engine: short transfers are continued; a
 * transfer past the end of the disk is the caller's bug (requests are
 * range-checked before); discard punches holes; write-zeroes uses
 * FALLOC_FL_ZERO_RANGE, or punches when the guest allows unmapping, and
 * falls back to writing zeroes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_disk.h"
#include "blk_engine.h"

#define SECTOR 512u
#define MAX_IOV 1024u
#define DIO_MAX_ALIGN 4096u

/* The direct-I/O block of @fd: the smallest of 512 and 4096 a read at
 * offset 0 accepts, or 0 if neither does. */
static uint32_t probe_dio_align(int fd)
{
    void *buf;
    uint32_t align = 0;

    if (posix_memalign(&buf, DIO_MAX_ALIGN, DIO_MAX_ALIGN))
        return 0;
    for (uint32_t a = SECTOR; a <= DIO_MAX_ALIGN && !align; a *= 8) {
        if (pread(fd, buf, a, 0) >= 0)
            align = a;
    }
    free(buf);
    return align;
}

static int open_flags(bool readonly, enum blk_cache cache)
{
    return (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
           (cache == BLK_CACHE_DIRECTSYNC ? O_DSYNC : 0);
}

int blk_disk_open_file(blk_disk *d, const char *path, bool readonly, enum blk_cache cache)
{
    int flags = open_flags(readonly, cache);
    struct stat st;

    memset(d, 0, sizeof(*d));
    d->fd = d->buffered_fd = open(path, flags);
    if (d->fd < 0)
        return -errno;
    if (fstat(d->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)SECTOR) {
        blk_disk_close(d);
        return -EINVAL;
    }
    d->size = (uint64_t)st.st_size & ~(uint64_t)(SECTOR - 1);
    d->readonly = readonly;
    d->can_punch = !readonly;
    if (cache == BLK_CACHE_WRITEBACK)
        return 0;
    d->fd = open(path, flags | O_DIRECT);
    if (d->fd < 0 || !(d->dio_align = probe_dio_align(d->fd))) {
        int err = d->fd < 0 ? -errno : -EINVAL;

        blk_disk_close(d);
        return err;
    }
    return 0;
}

int blk_disk_open_ram(blk_disk *d, uint64_t size)
{
    memset(d, 0, sizeof(*d));
    if (size < SECTOR || size % SECTOR)
        return -EINVAL;
    d->fd = d->buffered_fd = memfd_create("guestmem-ramdisk", MFD_CLOEXEC);
    if (d->fd < 0)
        return -errno;
    if (ftruncate(d->fd, (off_t)size) < 0) {
        int err = -errno;

        blk_disk_close(d);
        return err;
    }
    d->size = size;
    d->can_punch = true;
    d->memory = true;
    return 0;
}

void blk_disk_close(blk_disk *d)
{
    if (d->buffered_fd >= 0 && d->buffered_fd != d->fd)
        close(d->buffered_fd);
    if (d->fd >= 0)
        close(d->fd);
    d->fd = d->buffered_fd = -1;
}

bool blk_disk_aligned(const blk_disk *d, const struct iovec *iov, unsigned int cnt,
                      uint64_t offset, uint64_t len)
{
    uint64_t mask = d->dio_align ? d->dio_align - 1 : 0;

    if ((offset | len) & mask)
        return false;
    for (unsigned int i = 0; i < cnt; i++) {
        if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & mask)
            return false;
    }
    return true;
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

static int transfer(int fd, const struct iovec *iov, unsigned int cnt, uint64_t offset,
                    bool write)
{
    struct iovec copy[MAX_IOV];

    if (cnt > MAX_IOV)
        return -E2BIG;
    memcpy(copy, iov, cnt * sizeof(*iov));
    while (cnt) {
        ssize_t n = write ? pwritev(fd, copy, (int)cnt, (off_t)offset)
                          : preadv(fd, copy, (int)cnt, (off_t)offset);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        offset += (uint64_t)n;
        cnt = iov_advance(copy, cnt, (size_t)n);
    }
    return 0;
}

static int write_zero_blocks(int fd, uint64_t offset, uint64_t len)
{
    static const char zeros[64 * 1024];

    while (len) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        struct iovec iov = { (void *)zeros, n };
        int err = transfer(fd, &iov, 1, offset, true);

        if (err)
            return err;
        offset += n;
        len -= n;
    }
    return 0;
}

static int discard(int fd, uint64_t offset, uint64_t len)
{
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len))
        return errno == EOPNOTSUPP ? 0 : -errno;   /* discard is advisory */
    return 0;
}

int blk_disk_write_zeroes(const blk_disk *d, uint64_t offset, uint64_t len, bool unmap)
{
    int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;

    if (d->can_punch && fallocate(d->buffered_fd, mode, (off_t)offset, (off_t)len) == 0)
        return 0;
    return write_zero_blocks(d->buffered_fd, offset, len);
}

void blk_engine_run_blocking(const blk_disk *d, blk_io *io)
{
    switch (io->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        io->result = transfer(io->fd, io->iov, io->iovcnt, io->offset, io->op == BLK_OP_WRITE);
        break;
    case BLK_OP_FLUSH:
        io->result = fdatasync(io->fd) < 0 ? -errno : 0;
        break;
    case BLK_OP_DISCARD:
        io->result = discard(io->fd, io->offset, io->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        io->result = blk_disk_write_zeroes(d, io->offset, io->len, io->unmap);
        break;
    }
    io->done = io->result ? io->done : io->len;
}
