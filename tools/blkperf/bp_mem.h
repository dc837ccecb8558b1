/* SPDX-License-Identifier: MIT */
/*
 * The "guest RAM" of guestmem-blkperf: one sealed, shared memfd, mapped in
 * this process and handed to the back-end with SET_MEM_TABLE, as QEMU does
 * with a `memory-backend-memfd,share=on` guest.
 *
 * Like a PC's RAM it is split into two banks at different guest-physical
 * addresses (1 MiB and 4 GiB), so guest-physical address, file offset and
 * user address differ and a back-end that confuses them is caught. Rings
 * and request buffers are carved out of the banks by a bump allocator that
 * never straddles banks; all allocation happens before the run.
 *
 * Two passes: with no memory yet (bp_mem.base NULL) bp_mem_alloc() only
 * measures; bp_mem_create() then sizes the memfd from what was measured,
 * and the same sequence of allocations is made again for real.
 */
#ifndef GUESTMEM_BLKPERF_MEM_H
#define GUESTMEM_BLKPERF_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "bp_proto.h"

#define BP_MEM_BANKS 2u
#define BP_PAGE 4096ull

typedef struct bp_bank {
    uint64_t gpa;
    uint64_t file_offset;
    uint64_t size;
    uint64_t used;
    uint8_t *hva;
} bp_bank;

/**
 * struct bp_mem - guest RAM.
 * @fd: the memfd (sealed against shrinking and growing)
 * @base: its mapping in this process, or NULL while measuring
 * @size: its size
 * @bank: the banks
 */
typedef struct bp_mem {
    int fd;
    uint8_t *base;
    uint64_t size;
    bp_bank bank[BP_MEM_BANKS];
} bp_mem;

/** bp_mem_init() - an empty @m in measuring mode. */
void bp_mem_init(bp_mem *m);

/**
 * bp_mem_alloc() - carve @len bytes aligned to @align out of @bank.
 * @m: guest RAM
 * @bank: 0 or 1
 * @len: bytes
 * @align: a power of two
 * @gpa: the guest-physical address
 *
 * Return: the host pointer (NULL while measuring), or NULL with *@gpa 0
 * when the bank is full (a sizing bug of the caller).
 */
void *bp_mem_alloc(bp_mem *m, unsigned int bank, uint64_t len, uint64_t align, uint64_t *gpa);

/**
 * bp_mem_create() - create and map the memfd sized by the measuring pass
 * and rewind the banks for the real pass.
 *
 * Return: 0 or the negative errno of memfd_create/ftruncate/fcntl/mmap.
 */
int bp_mem_create(bp_mem *m);

/**
 * bp_mem_table() - the SET_MEM_TABLE payload of @m and its fds.
 * @fds: receives one descriptor per region (all the memfd)
 *
 * Return: the number of regions.
 */
unsigned int bp_mem_table(const bp_mem *m, vu_mem_table *t, int *fds);

/** bp_mem_destroy() - unmap and close. */
void bp_mem_destroy(bp_mem *m);

/**
 * bp_memfd_map() - a shared memfd of @size bytes, sealed against
 * shrinking, growing and further seals (as QEMU seals guest RAM and the
 * dirty log), mapped read-write.
 * @name: its name (in /proc/PID/fd)
 * @populate: fault every page in now
 * @fd, @map: the descriptor and the mapping
 *
 * Return: 0, or the negative errno of memfd_create/ftruncate/fcntl/mmap
 * (nothing is left open).
 */
int bp_memfd_map(const char *name, uint64_t size, bool populate, int *fd, uint8_t **map);

/** bp_memfd_unmap() - undo bp_memfd_map() (either may be absent: -1, NULL). */
void bp_memfd_unmap(int fd, uint8_t *map, uint64_t size);

#endif
