/* SPDX-License-Identifier: MIT */
/*
 * Files that cross the vhost-user socket: checking those the front-end
 * sends (memory table regions, the dirty log, the in-flight area) and
 * sealing those the back-end creates.
 *
 * The danger is SIGBUS: a shared mapping of a file stays valid only while
 * the file is at least as long as the mapping. A front-end that truncates a
 * file after the back-end mapped it makes the back-end's next access to the
 * lost pages raise SIGBUS, which kills the whole process (and every other
 * front-end it would serve). A memfd sealed with F_SEAL_SHRINK cannot
 * shrink again, so once the seal is seen, the size checked here holds for
 * the lifetime of the mapping. QEMU seals its memfds (guest RAM with
 * memory-backend-memfd's default seal=on, the dirty log always); files on
 * hugetlbfs or /dev/shm cannot be sealed, so whether unsealed guest RAM is
 * accepted is a policy the caller chooses (docs/SECURITY.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost/vhost_file.h"

static bool sealed_against_shrinking(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    return seals >= 0 && (seals & F_SEAL_SHRINK);
}

int vu_file_check(gm_system *sys, int fd, uint64_t offset, uint64_t size, vu_file_policy policy,
                  const char *what)
{
    struct stat st;
    uint64_t file_size;

    if (fd < 0 || fstat(fd, &st) < 0)
        return -EBADF;
    file_size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
    /* In the form that cannot wrap: offset + size may be exactly 2^64. */
    if (!S_ISREG(st.st_mode) || !size || size > file_size || offset > file_size - size) {
        gm_log(sys, GM_LOG_GUEST_ERROR, "%s refused: not a regular file holding %llu bytes at %llu",
               what, (unsigned long long)size, (unsigned long long)offset);
        return -EINVAL;
    }
    if (sealed_against_shrinking(fd))
        return 0;
    if (policy == VU_FILE_REQUIRE_SEALED) {
        gm_log(sys, GM_LOG_GUEST_ERROR, "%s refused: not sealed against shrinking (F_SEAL_SHRINK)",
               what);
        return -EPERM;
    }
    /* Accepted, but peer-triggered: through the rate-limited level. */
    gm_log(sys, GM_LOG_GUEST_ERROR,
           "%s is not sealed against shrinking; the front-end must not truncate it", what);
    return 0;
}

int vu_file_seal_size(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ? -errno : 0;
}
