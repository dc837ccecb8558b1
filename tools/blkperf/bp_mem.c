/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: a sealed memfd in two banks (bank 0 at guest-physical 1 MiB,
 * bank 1 at 4 GiB, one after the other in the file), and a bump allocator.
 *
 * Why sealed: the back-end maps the fd; sealing it against shrinking means
 * no one can truncate the memory under the other side's mapping (a SIGBUS
 * in the back-end would look like a back-end bug). Why MAP_POPULATE: the
 * first touch of each page would otherwise be measured as I/O latency.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bp_mem.h"

static const uint64_t bank_gpa[BP_MEM_BANKS] = { 1ull << 20, 4ull << 30 };

void bp_mem_init(bp_mem *m)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    for (unsigned int i = 0; i < BP_MEM_BANKS; i++) {
        m->bank[i].gpa = bank_gpa[i];
        m->bank[i].size = UINT64_MAX;   /* measuring: no limit */
    }
}

void *bp_mem_alloc(bp_mem *m, unsigned int bank, uint64_t len, uint64_t align, uint64_t *gpa)
{
    bp_bank *b = &m->bank[bank % BP_MEM_BANKS];
    uint64_t off = (b->used + align - 1) & ~(align - 1);

    if (off > b->size || len > b->size - off) {
        *gpa = 0;
        return NULL;
    }
    b->used = off + len;
    *gpa = b->gpa + off;
    return b->hva ? b->hva + off : NULL;
}

static uint64_t page_round(uint64_t v)
{
    return (v + BP_PAGE - 1) & ~(BP_PAGE - 1);
}

static int seal_and_map(int fd, uint64_t size, bool populate, uint8_t **map)
{
    void *p;

    if (ftruncate(fd, (off_t)size) < 0)
        return -errno;
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        return -errno;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd,
             0);
    if (p == MAP_FAILED)
        return -errno;
    *map = p;
    return 0;
}

int bp_memfd_map(const char *name, uint64_t size, bool populate, int *fd, uint8_t **map)
{
    int err;

    *fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (*fd < 0)
        return -errno;
    err = seal_and_map(*fd, size, populate, map);
    if (err) {
        close(*fd);
        *fd = -1;
    }
    return err;
}

int bp_mem_create(bp_mem *m)
{
    uint64_t off = 0;
    int err;

    for (unsigned int i = 0; i < BP_MEM_BANKS; i++) {
        m->bank[i].size = page_round(m->bank[i].used ? m->bank[i].used : BP_PAGE);
        m->bank[i].file_offset = off;
        m->bank[i].used = 0;
        off += m->bank[i].size;
    }
    m->size = off;
    err = bp_memfd_map("blkperf-guest-ram", m->size, true, &m->fd, &m->base);
    if (err)
        return err;
    for (unsigned int i = 0; i < BP_MEM_BANKS; i++)
        m->bank[i].hva = m->base + m->bank[i].file_offset;
    return 0;
}

unsigned int bp_mem_table(const bp_mem *m, vu_mem_table *t, int *fds)
{
    memset(t, 0, sizeof(*t));
    for (unsigned int i = 0; i < BP_MEM_BANKS; i++) {
        t->regions[i] = (vu_region){
            .guest_phys_addr = m->bank[i].gpa,
            .memory_size = m->bank[i].size,
            .userspace_addr = (uint64_t)(uintptr_t)m->bank[i].hva,
            .mmap_offset = m->bank[i].file_offset,
        };
        fds[i] = m->fd;
    }
    t->nregions = BP_MEM_BANKS;
    return BP_MEM_BANKS;
}

void bp_memfd_unmap(int fd, uint8_t *map, uint64_t size)
{
    if (map)
        munmap(map, size);
    if (fd >= 0)
        close(fd);
}

void bp_mem_destroy(bp_mem *m)
{
    bp_memfd_unmap(m->fd, m->base, m->size);
    bp_mem_init(m);
}
