/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_BLK_DISK_H
#define GUESTMEM_BLK_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* --cache, as QEMU names the modes. */
enum blk_cache {
    BLK_CACHE_WRITEBACK,          /* the page cache; flush = fdatasync */
    BLK_CACHE_NONE,               /* O_DIRECT */
    BLK_CACHE_DIRECTSYNC,         /* O_DIRECT | O_DSYNC */
};

/*
 * The disk behind the device: a raw image file, or a RAM disk (a memfd).
 * With O_DIRECT, transfers must be aligned to dio_align in file offset,
 * length and memory; buffered_fd is the same file opened without O_DIRECT
 * (same O_DSYNC), for the transfers that are not; in writeback mode it is
 * fd itself.
 */
typedef struct blk_disk {
    int fd;
    int buffered_fd;
    uint64_t size;                /* bytes, a multiple of 512 */
    bool readonly;
    bool can_punch;               /* discard and write-zeroes by fallocate */
    bool memory;                  /* the RAM disk: a transfer never waits */
    uint32_t dio_align;           /* 0: fd is not O_DIRECT */
} blk_disk;

/* Open @path as the disk (0 or -errno; -EINVAL: not a regular file of at
 * least 512 bytes, or O_DIRECT refused by its file system). */
int blk_disk_open_file(blk_disk *d, const char *path, bool readonly, enum blk_cache cache);
/* A RAM disk of @size bytes (a memfd; the cache mode does not apply). */
int blk_disk_open_ram(blk_disk *d, uint64_t size);
void blk_disk_close(blk_disk *d);
/* Whether [offset, offset + len) and the iovecs meet the O_DIRECT
 * alignment (always true without O_DIRECT). */
bool blk_disk_aligned(const blk_disk *d, const struct iovec *iov, unsigned int cnt,
                      uint64_t offset, uint64_t len);
/* Zero [offset, offset + len): fallocate, or by writing zeroes where the
 * file system cannot (blocking; a write-zeroes request is at most 16 MiB). */
int blk_disk_write_zeroes(const blk_disk *d, uint64_t offset, uint64_t len, bool unmap);

#endif
