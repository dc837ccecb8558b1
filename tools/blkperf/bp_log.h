/* SPDX-License-Identifier: MIT */
/*
 * The dirty log guestmem-blkperf hands the back-end with SET_LOG_BASE
 * (--log), made as QEMU 7.2 makes it when migration starts
 * (hw/virtio/vhost.c, vhost_dev_log_resize): a memfd sealed against
 * shrinking, growing and further sealing, zeroed, one bit per 4 KiB
 * guest-physical page from address 0 to the end of the highest region of
 * the memory table, sized in whole 64-bit words (QEMU's
 * vhost_get_log_size()). Page p is bit p % 8 of byte p / 8
 * (vhost-user.rst, "Migration"), which on a little-endian host is bit
 * p % 64 of QEMU's word p / 64.
 *
 * The back-end sets bits with atomic ORs while the queues run; blkperf
 * only reads the bits after every ring has stopped.
 */
#ifndef GUESTMEM_BLKPERF_LOG_H
#define GUESTMEM_BLKPERF_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "bp_mem.h"

/**
 * struct bp_log - the log area.
 * @fd: the memfd (sealed)
 * @bits: its mapping
 * @size: bytes (a multiple of 8)
 */
typedef struct bp_log {
    int fd;
    uint8_t *bits;
    uint64_t size;
} bp_log;

/** bp_log_init() - an empty @l (no fd, nothing mapped). */
void bp_log_init(bp_log *l);

/**
 * bp_log_size_for() - bytes of a log covering guest-physical addresses up
 * to the last byte of the highest bank of @m, in whole 64-bit words.
 */
uint64_t bp_log_size_for(const bp_mem *m);

/**
 * bp_log_create() - create, seal and map a zeroed log covering @m.
 * Return: 0, or the negative errno of memfd_create/ftruncate/fcntl/mmap
 * (nothing is left open).
 */
int bp_log_create(bp_log *l, const bp_mem *m);

/** bp_log_test() - whether the bit of the page holding @gpa is set (false past the log). */
bool bp_log_test(const bp_log *l, uint64_t gpa);

/** bp_log_count() - bits set in the whole log. */
uint64_t bp_log_count(const bp_log *l);

/** bp_log_destroy() - unmap and close. */
void bp_log_destroy(bp_log *l);

#endif
