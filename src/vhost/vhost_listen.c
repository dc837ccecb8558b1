/* SPDX-License-Identifier: MIT */
/*
 * The listening Unix socket a back-end serves front-ends on.
 *
 * Permissions are part of the socket's creation, not an afterthought: the
 * socket is bound at a temporary name in the same directory, its mode and
 * group are set there, and only then is it renamed over the final path
 * (rename(2) is atomic and replaces an old socket file). A front-end that
 * retries the path (QEMU with reconnect) sees either the old socket or
 * the finished new one, never one it may not connect to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <guestmem/vhost.h>

/* Give the bound socket at @tmp its mode and group. */
static int set_perms(const char *tmp, const gm_vhost_socket_opts *opts)
{
    if (opts->mode && chmod(tmp, opts->mode & 07777) < 0)
        return -errno;
    if (opts->gid >= 0 && chown(tmp, (uid_t)-1, (gid_t)opts->gid) < 0)
        return -errno;
    return 0;
}

/* Bind @fd at a fresh temporary name beside @path (written into @sa). */
static int bind_temporary(int fd, const char *path, struct sockaddr_un *sa)
{
    static unsigned int seq;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s.%d.%u", path, (int)getpid(),
                     __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));

    if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    unlink(sa->sun_path);   /* a leftover of a process with our pid */
    return bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
}

int gm_vhost_listen_as(const char *path, const gm_vhost_socket_opts *opts)
{
    static const gm_vhost_socket_opts defaults = { 0, -1 };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, err;

    if (!opts)
        opts = &defaults;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return -EEXIST;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    err = bind_temporary(fd, path, &sa);
    if (!err)
        err = set_perms(sa.sun_path, opts);
    if (!err && listen(fd, 1) < 0)
        err = -errno;
    if (!err && rename(sa.sun_path, path) < 0)
        err = -errno;
    if (err) {
        unlink(sa.sun_path);
        close(fd);
        return err;
    }
    return fd;
}

int gm_vhost_listen(const char *path)
{
    return gm_vhost_listen_as(path, NULL);
}
