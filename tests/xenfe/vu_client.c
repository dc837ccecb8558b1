/* SPDX-License-Identifier: MIT */
/*
 * vhost-user front-end messaging: a 12-byte header (request, flags, size)
 * and the payload in one sendmsg, fds as SCM_RIGHTS; replies read back with
 * poll() timeouts and checked for the reply flag, the request number and
 * the payload size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vu_client.h"

#define VUC_VERSION 0x1u
#define VUC_FLAG_REPLY (1u << 2)
#define VUC_FLAG_NEED_REPLY (1u << 3)
#define VUC_MAX_FDS 8u

typedef struct vuc_header {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed)) vuc_header;

int vuc_send(vuc *c, uint32_t req, bool need_reply, const void *payload, uint32_t size,
             const int *fds, unsigned int nfds)
{
    vuc_header hdr = { req, VUC_VERSION | (need_reply ? VUC_FLAG_NEED_REPLY : 0), size };
    char control[CMSG_SPACE(VUC_MAX_FDS * sizeof(int))];
    struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, size } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
    ssize_t n;

    if (nfds > VUC_MAX_FDS)
        return -EINVAL;
    if (nfds) {
        struct cmsghdr *cm;

        memset(control, 0, sizeof(control));
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    }
    do {
        n = sendmsg(c->sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == sizeof(hdr) + size ? 0 : -EIO;
}

static int read_full(vuc *c, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        struct pollfd pfd = { c->sock, POLLIN, 0 };
        int r = poll(&pfd, 1, c->timeout_ms);
        ssize_t n;

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        n = read(c->sock, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int vuc_recv(vuc *c, uint32_t req, void *payload, uint32_t size)
{
    vuc_header hdr;
    uint8_t junk[512];
    int err = read_full(c, &hdr, sizeof(hdr));

    if (err)
        return err;
    if ((hdr.flags & 3u) != VUC_VERSION || !(hdr.flags & VUC_FLAG_REPLY) || hdr.request != req)
        return -EPROTO;
    if (hdr.size != size) {
        /* Drain what we can so the error is reported, not a desync. */
        if (hdr.size <= sizeof(junk))
            read_full(c, junk, hdr.size);
        return -EMSGSIZE;
    }
    return size ? read_full(c, payload, size) : 0;
}

/* Read the reply header with recvmsg(): fds come with its first byte. */
static int read_header_fd(vuc *c, vuc_header *hdr, int *fd)
{
    char control[CMSG_SPACE(VUC_MAX_FDS * sizeof(int))];
    struct iovec iov = { hdr, sizeof(*hdr) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof(control) };
    struct pollfd pfd = { c->sock, POLLIN, 0 };
    ssize_t n;

    *fd = -1;
    if (poll(&pfd, 1, c->timeout_ms) <= 0)
        return -ETIMEDOUT;
    n = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    if (n <= 0)
        return n ? -errno : -ECONNRESET;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int got;

            memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (*fd < 0)
                *fd = got;
            else
                close(got);
        }
    }
    return (size_t)n == sizeof(*hdr) ? 0 : -EIO;
}

int vuc_recv_fd(vuc *c, uint32_t req, void *payload, uint32_t size, int *fd)
{
    vuc_header hdr;
    int err = read_header_fd(c, &hdr, fd);

    if (!err && ((hdr.flags & 3u) != VUC_VERSION || !(hdr.flags & VUC_FLAG_REPLY) ||
                 hdr.request != req || hdr.size != size))
        err = -EPROTO;
    if (!err && size)
        err = read_full(c, payload, size);
    if (err && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return err;
}

int vuc_get_u64(vuc *c, uint32_t req, uint64_t *out)
{
    int err = vuc_send(c, req, false, NULL, 0, NULL, 0);

    return err ? err : vuc_recv(c, req, out, sizeof(*out));
}

int vuc_call(vuc *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
             unsigned int nfds)
{
    bool ack = c->protocol_features & (1ull << VUC_PF_REPLY_ACK);
    uint64_t status = 0;
    int err = vuc_send(c, req, ack, payload, size, fds, nfds);

    if (err || !ack)
        return err;
    err = vuc_recv(c, req, &status, sizeof(status));
    if (err)
        return err;
    return status ? -EREMOTEIO : 0;
}
