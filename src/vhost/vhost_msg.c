/* SPDX-License-Identifier: MIT */
/*
 * vhost-user message I/O: reading requests with their file descriptors and
 * writing replies, with every size checked before a payload is used.
 *
 * A message is a 12-byte header, then `size` bytes of payload; fds travel as
 * SCM_RIGHTS ancillary data with the header. The reader rejects (and closes
 * every fd of) a message whose version is not 1, whose payload is larger
 * than the largest known payload, or whose ancillary data was truncated
 * (more than VU_MAX_FDS fds). Payload sizes per request are checked by
 * vu_msg_expected_size() so handlers never read past what was sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vhost/vhost_msg.h"

static int read_full(int sock, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = read(sock, p, len);

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

static void collect_fds(vu_msg *msg, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        size_t n;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (msg->nfds < VU_MAX_FDS)
                msg->fds[msg->nfds++] = fd;
            else
                close(fd);
        }
    }
}

static int read_header(int sock, vu_msg *msg)
{
    char control[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
    struct iovec iov = { &msg->hdr, sizeof(msg->hdr) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof(control) };
    ssize_t n;

    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ECONNRESET;
    collect_fds(msg, &mh);
    if (mh.msg_flags & MSG_CTRUNC)
        return -EPROTO;
    if ((size_t)n < sizeof(msg->hdr))
        return read_full(sock, (uint8_t *)&msg->hdr + n, sizeof(msg->hdr) - (size_t)n);
    return 0;
}

int vu_msg_read(int sock, vu_msg *msg)
{
    int err;

    memset(msg, 0, sizeof(*msg));
    err = read_header(sock, msg);
    if (!err && ((msg->hdr.flags & VU_VERSION_MASK) != VU_VERSION ||
                 msg->hdr.size > sizeof(msg->payload)))
        err = -EPROTO;
    if (!err && msg->hdr.size)
        err = read_full(sock, &msg->payload, msg->hdr.size);
    if (err)
        vu_msg_close_fds(msg);
    return err;
}

void vu_msg_close_fds(vu_msg *msg)
{
    for (unsigned int i = 0; i < msg->nfds; i++) {
        if (msg->fds[i] >= 0)
            close(msg->fds[i]);
        msg->fds[i] = -1;
    }
}

int vu_msg_take_fd(vu_msg *msg, unsigned int i)
{
    int fd;

    if (i >= msg->nfds)
        return -1;
    fd = msg->fds[i];
    msg->fds[i] = -1;
    return fd;
}

static int send_all(int sock, struct msghdr *mh)
{
    ssize_t n;

    do {
        n = sendmsg(sock, mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == mh->msg_iov[0].iov_len + mh->msg_iov[1].iov_len ? 0 : -EIO;
}

int vu_msg_send(int sock, uint32_t request, uint32_t flags, const void *payload, size_t size,
                const int *fds, unsigned int nfds)
{
    vu_header hdr = { request, flags | VU_VERSION, (uint32_t)size };
    char control[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
    struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, size } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

    if (nfds > VU_MAX_FDS)
        return -EINVAL;
    if (nfds) {
        struct cmsghdr *c;

        memset(control, 0, sizeof(control));
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return send_all(sock, &mh);
}

/*
 * A Unix stream socket queues a sendmsg() of up to sk_sndbuf / 2 - 64 bytes
 * as one buffer, or fails with EAGAIN when it has no room (the smallest
 * send buffer Linux allows is 4,608 bytes): the messages are never split
 * as long as a call stays under 2,240 bytes. Larger calls could be queued
 * in part, hence VU_MSG_NOWAIT_MAX.
 */
int vu_msg_send_nowait(int sock, uint32_t request, const void *payloads, size_t size,
                       unsigned int n)
{
    vu_header hdr = { request, VU_VERSION, (uint32_t)size };
    struct iovec iov[2 * VU_MSG_NOWAIT_MAX];
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 * (size_t)n };
    size_t total = n * (sizeof(hdr) + size);
    ssize_t sent;

    if (!n || n > VU_MSG_NOWAIT_MAX || size > 64)
        return -EINVAL;
    for (unsigned int i = 0; i < n; i++) {
        iov[2 * i] = (struct iovec){ &hdr, sizeof(hdr) };
        iov[2 * i + 1] = (struct iovec){ (uint8_t *)payloads + i * size, size };
    }
    do {
        sent = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return (size_t)sent == total ? 0 : -EIO;
}

int vu_msg_reply(int sock, const vu_msg *req, const void *payload, size_t size)
{
    return vu_msg_send(sock, req->hdr.request, VU_FLAG_REPLY, payload, size, NULL, 0);
}

long vu_msg_expected_size(uint32_t request, int xen_mmap)
{
    switch (request) {
    case VU_SET_FEATURES:
    case VU_SET_PROTOCOL_FEATURES:
    case VU_SET_VRING_KICK:
    case VU_SET_VRING_CALL:
    case VU_SET_VRING_ERR:
    case VU_SET_STATUS:
        return sizeof(uint64_t);
    case VU_SET_VRING_NUM:
    case VU_SET_VRING_BASE:
    case VU_GET_VRING_BASE:
    case VU_SET_VRING_ENABLE:
    case VU_SET_VRING_ENDIAN:
    case VU_VRING_KICK:
        return sizeof(vu_vring_state);
    case VU_SET_VRING_ADDR:
        return sizeof(vu_vring_addr);
    case VU_SET_LOG_BASE:
        return sizeof(vu_log);
    case VU_IOTLB_MSG:
        return sizeof(vu_iotlb);
    case VU_GET_INFLIGHT_FD:
    case VU_SET_INFLIGHT_FD:
        return sizeof(vu_inflight);
    case VU_ADD_MEM_REG:
    case VU_REM_MEM_REG:
        return xen_mmap ? (long)sizeof(vu_single_region_xen) : (long)sizeof(vu_single_region);
    case VU_SET_MEM_TABLE:
    case VU_GET_CONFIG:
    case VU_SET_CONFIG:
        return -1;
    default:
        return 0;
    }
}
