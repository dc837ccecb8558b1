/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_BLK_DISK_H
#define GUESTMEM_BLK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* The disk behind the device: a raw image file, or a RAM disk (a memfd). */
typedef struct blk_disk {
    int fd;
    uint64_t size;                /* bytes, a multiple of 512 */
    bool readonly;
    bool can_punch;               /* discard and write-zeroes by fallocate */
} blk_disk;

int blk_disk_open_file(blk_disk *d, const char *path, bool readonly);
int blk_disk_open_ram(blk_disk *d, uint64_t size);
void blk_disk_close(blk_disk *d);
/* Read/write exactly the iovecs' bytes at @offset; 0 or -errno. */
int blk_disk_readv(const blk_disk *d, const struct iovec *iov, unsigned int cnt, uint64_t offset);
int blk_disk_writev(const blk_disk *d, const struct iovec *iov, unsigned int cnt, uint64_t offset);
int blk_disk_flush(const blk_disk *d);
int blk_disk_discard(const blk_disk *d, uint64_t offset, uint64_t len);
int blk_disk_write_zeroes(const blk_disk *d, uint64_t offset, uint64_t len, bool unmap);

#endif
