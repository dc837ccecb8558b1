/* SPDX-License-Identifier: MIT */
/*
 * The dirty log area (bp_log.h): creation as QEMU does it, and reading
 * bits back.
 *
 * Why sealed: the back-end maps the fd for as long as logging lasts; a
 * log that could shrink would turn its next bit into SIGBUS, which is why
 * QEMU seals its log and a careful back-end (guestmem-vhost-blk) refuses
 * one that is not sealed against shrinking.
 *
 * Glossary: l = the log; gpa = guest-physical address; page = gpa / 4 KiB.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include "bp_log.h"
#include "bp_proto.h"

/* Guest bytes one 64-bit word of the log covers (QEMU's VHOST_LOG_CHUNK). */
#define LOG_CHUNK (VU_LOG_PAGE * 64)

void bp_log_init(bp_log *l)
{
    l->fd = -1;
    l->bits = NULL;
    l->size = 0;
}

uint64_t bp_log_size_for(const bp_mem *m)
{
    uint64_t words = 0;

    for (unsigned int i = 0; i < BP_MEM_BANKS; i++) {
        uint64_t last = m->bank[i].gpa + m->bank[i].size - 1;

        if (last / LOG_CHUNK + 1 > words)
            words = last / LOG_CHUNK + 1;
    }
    return words * sizeof(uint64_t);
}

int bp_log_create(bp_log *l, const bp_mem *m)
{
    int err;

    bp_log_init(l);
    l->size = bp_log_size_for(m);
    err = bp_memfd_map("blkperf-dirty-log", l->size, false, &l->fd, &l->bits);
    if (err)
        bp_log_init(l);
    return err;
}

bool bp_log_test(const bp_log *l, uint64_t gpa)
{
    uint64_t page = gpa / VU_LOG_PAGE;

    if (!l->bits || page / 8 >= l->size)
        return false;
    return __atomic_load_n(&l->bits[page / 8], __ATOMIC_RELAXED) & (1u << (page % 8));
}

uint64_t bp_log_count(const bp_log *l)
{
    uint64_t n = 0;

    for (uint64_t i = 0; l->bits && i < l->size; i++)
        n += (uint64_t)__builtin_popcount(__atomic_load_n(&l->bits[i], __ATOMIC_RELAXED));
    return n;
}

void bp_log_destroy(bp_log *l)
{
    bp_memfd_unmap(l->fd, l->bits, l->size);
    bp_log_init(l);
}
