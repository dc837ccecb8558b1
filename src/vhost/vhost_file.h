/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_VHOST_FILE_H
#define GUESTMEM_VHOST_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include <guestmem/guestmem.h>

/* How much a front-end's file must be protected against shrinking. */
typedef enum vu_file_policy {
    VU_FILE_WARN_UNSEALED,    /* accept without F_SEAL_SHRINK, with a warning */
    VU_FILE_REQUIRE_SEALED,   /* refuse without F_SEAL_SHRINK */
} vu_file_policy;

/*
 * Check a file the front-end handed over before mapping [offset, offset +
 * size) of it: a regular file (memfd, shm, hugetlbfs) that holds the whole
 * range (a mapping past the end of a file raises SIGBUS on first access),
 * sealed against shrinking as @policy asks (an unsealed file can be
 * truncated under the mapping later). @what names the file in the log.
 * Returns 0, -EBADF (not an open fd), -EINVAL (not a regular file, range
 * wrapping 2^64 or past the end of the file), or -EPERM (unsealed under
 * VU_FILE_REQUIRE_SEALED). Any thread; logs through @sys.
 */
int vu_file_check(gm_system *sys, int fd, uint64_t offset, uint64_t size, vu_file_policy policy,
                  const char *what);

/* Seal a memfd the back-end created against any change of size, and the
 * seals themselves, before it is handed to the front-end. Returns 0 or a
 * negative errno. */
int vu_file_seal_size(int fd);

#endif
