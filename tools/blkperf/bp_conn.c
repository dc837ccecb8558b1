/* SPDX-License-Identifier: MIT */
/*
 * vhost-user framing over a Unix stream socket (vhost-user.rst, "Message
 * Specification"): a 12-byte header, the payload, and descriptors as
 * SCM_RIGHTS on the first byte. A message is sent with one sendmsg();
 * received with a recvmsg() for the header (which carries the descriptors)
 * and reads for the rest, all against one deadline.
 *
 * The peer is not trusted: a reply must carry the reply flag, the request
 * number that was asked and exactly the payload size the request defines;
 * anything else is an error (-EBADMSG) and the socket is not used again
 * for that transaction. Descriptors nobody asked for are closed.
 *
 * Glossary: c = connection, req = request number, rfd = received fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "bp_conn.h"
#include "bp_util.h"

void bp_conn_init(bp_conn *c, int timeout_ms)
{
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->reply_ack = false;
    c->dead = false;
    c->ready = false;
    pthread_mutex_init(&c->lock, NULL);
}

void bp_conn_install(bp_conn *c, int fd)
{
    pthread_mutex_lock(&c->lock);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = fd;
    c->dead = false;
    c->ready = false;
    c->reply_ack = false;
    pthread_mutex_unlock(&c->lock);
}

void bp_conn_close(bp_conn *c)
{
    bp_conn_install(c, -1);
}

int bp_unix_connect(const char *path, int *fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = -errno;

        close(s);
        return err;
    }
    *fd = s;
    return 0;
}

static void put_fds(struct msghdr *mh, char *control, const int *fds, unsigned int nfds)
{
    struct cmsghdr *cm;

    memset(control, 0, CMSG_SPACE(VU_MAX_FDS * sizeof(int)));
    mh->msg_control = control;
    mh->msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cm = CMSG_FIRSTHDR(mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
}

int bp_msg_send(int fd, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
                const int *fds, unsigned int nfds)
{
    vu_header hdr = { req, VU_VERSION | flags, size };
    char control[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
    struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)payload, size } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
    ssize_t n;

    if (nfds > VU_MAX_FDS)
        return -EINVAL;
    if (nfds)
        put_fds(&mh, control, fds, nfds);
    do {
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == sizeof(hdr) + size ? 0 : -EIO;
}

/* Milliseconds left until @deadline_ns (0 when passed). */
static int ms_left(uint64_t deadline_ns)
{
    uint64_t now = bp_now_ns();

    return now >= deadline_ns ? 0 : (int)((deadline_ns - now + 999999) / 1000000);
}

static int wait_readable(int fd, uint64_t deadline_ns)
{
    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        int left = ms_left(deadline_ns);
        int r;

        if (!left)
            return -ETIMEDOUT;
        r = poll(&pfd, 1, left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

/* Keep the first descriptor of @mh in *@rfd (if asked for), close the rest. */
static void take_fds(struct msghdr *mh, int *rfd)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        size_t n;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (rfd && *rfd < 0)
                *rfd = fd;
            else
                close(fd);
        }
    }
}

/* Read exactly @len bytes; the first read may carry descriptors. */
static int read_exact(int fd, void *buf, size_t len, uint64_t deadline_ns, int *rfd)
{
    char control[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
    uint8_t *p = buf;
    bool first = true;

    while (len) {
        struct iovec iov = { p, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int err = wait_readable(fd, deadline_ns);
        ssize_t n;

        if (err)
            return err;
        if (first) {
            mh.msg_control = control;
            mh.msg_controllen = sizeof(control);
        }
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (first)
            take_fds(&mh, rfd);
        first = false;
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int bp_msg_recv(int fd, int timeout_ms, vu_header *hdr, void *payload, uint32_t max, int *rfd)
{
    uint64_t deadline = bp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    int err;

    if (rfd)
        *rfd = -1;
    err = read_exact(fd, hdr, sizeof(*hdr), deadline, rfd);
    if (!err && (hdr->flags & VU_VERSION_MASK) != VU_VERSION)
        err = -EPROTO;
    if (!err && hdr->size > max)
        err = -EMSGSIZE;
    if (!err && hdr->size)
        err = read_exact(fd, payload, hdr->size, deadline, NULL);
    if (err && rfd && *rfd >= 0) {
        close(*rfd);
        *rfd = -1;
    }
    return err;
}

/* The reply to @req: exactly @size bytes, or with @any any size (discarded).
 * Caller holds c->lock. */
static int recv_reply_locked(bp_conn *c, uint32_t req, void *reply, uint32_t size, int *rfd,
                             bool any)
{
    uint8_t buf[VU_MAX_PAYLOAD];
    vu_header hdr;
    int err = bp_msg_recv(c->fd, c->timeout_ms, &hdr, buf, sizeof(buf), rfd);

    if (err)
        return err;
    if (!(hdr.flags & VU_FLAG_REPLY) || hdr.request != req || (!any && hdr.size != size)) {
        if (rfd && *rfd >= 0) {
            close(*rfd);
            *rfd = -1;
        }
        return -EBADMSG;
    }
    if (!any && size)
        memcpy(reply, buf, size);
    return 0;
}

/* Any failure leaves the stream at an unknown position: no more use. */
static int mark_locked(bp_conn *c, int err)
{
    if (err && err != -EREMOTEIO)
        c->dead = true;
    return err;
}

int bp_conn_get(bp_conn *c, uint32_t req, const void *payload, uint32_t size, void *reply,
                uint32_t reply_size, int *reply_fd)
{
    int err;

    pthread_mutex_lock(&c->lock);
    if (c->fd < 0 || c->dead)
        err = -ENOTCONN;
    else
        err = bp_msg_send(c->fd, req, 0, payload, size, NULL, 0);
    if (!err)
        err = recv_reply_locked(c, req, reply, reply_size, reply_fd, false);
    err = mark_locked(c, err);
    pthread_mutex_unlock(&c->lock);
    return err;
}

int bp_conn_set(bp_conn *c, uint32_t req, bool ack, const void *payload, uint32_t size,
                const int *fds, unsigned int nfds)
{
    uint64_t status = 0;
    int err;

    pthread_mutex_lock(&c->lock);
    ack = ack && c->reply_ack;
    if (c->fd < 0 || c->dead)
        err = -ENOTCONN;
    else
        err = bp_msg_send(c->fd, req, ack ? VU_FLAG_NEED_REPLY : 0, payload, size, fds, nfds);
    if (!err && ack)
        err = recv_reply_locked(c, req, &status, sizeof(status), NULL, false);
    if (!err && status)
        err = -EREMOTEIO;
    err = mark_locked(c, err);
    pthread_mutex_unlock(&c->lock);
    return err;
}

int bp_conn_call(bp_conn *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
                 unsigned int nfds)
{
    int err;

    pthread_mutex_lock(&c->lock);
    if (c->fd < 0 || c->dead)
        err = -ENOTCONN;
    else
        err = bp_msg_send(c->fd, req, 0, payload, size, fds, nfds);
    if (!err)
        err = recv_reply_locked(c, req, NULL, 0, NULL, true);
    err = mark_locked(c, err);
    pthread_mutex_unlock(&c->lock);
    return err;
}

void bp_conn_lock(bp_conn *c)
{
    pthread_mutex_lock(&c->lock);
}

void bp_conn_unlock(bp_conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

void bp_conn_set_ready(bp_conn *c, bool ready)
{
    pthread_mutex_lock(&c->lock);
    c->ready = ready;
    pthread_mutex_unlock(&c->lock);
}

int bp_conn_iotlb_locked(bp_conn *c, const vu_iotlb *msg)
{
    uint64_t status = 0;
    int err;

    if (c->fd < 0 || c->dead || !c->ready)
        return -ENOTCONN;
    err = bp_msg_send(c->fd, VU_IOTLB_MSG, VU_FLAG_NEED_REPLY, msg, sizeof(*msg), NULL, 0);
    if (!err)
        err = recv_reply_locked(c, VU_IOTLB_MSG, &status, sizeof(status), NULL, false);
    if (!err && status)
        err = -EREMOTEIO;
    return mark_locked(c, err);
}

const char *bp_vu_request_name(uint32_t req)
{
    static const char *const names[] = {
        [VU_GET_FEATURES] = "GET_FEATURES",
        [VU_SET_FEATURES] = "SET_FEATURES",
        [VU_SET_OWNER] = "SET_OWNER",
        [VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
        [VU_SET_LOG_BASE] = "SET_LOG_BASE",
        [VU_SET_VRING_NUM] = "SET_VRING_NUM",
        [VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
        [VU_SET_VRING_BASE] = "SET_VRING_BASE",
        [VU_GET_VRING_BASE] = "GET_VRING_BASE",
        [VU_SET_VRING_KICK] = "SET_VRING_KICK",
        [VU_SET_VRING_CALL] = "SET_VRING_CALL",
        [VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
        [VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
        [VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
        [VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
        [VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
        [VU_IOTLB_MSG] = "IOTLB_MSG",
        [VU_GET_CONFIG] = "GET_CONFIG",
        [VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
        [VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
    };

    if (req < sizeof(names) / sizeof(names[0]) && names[req])
        return names[req];
    return "request";
}

const char *bp_conn_strerror(int err, char *buf, unsigned int len, int timeout_ms)
{
    switch (err) {
    case -ETIMEDOUT:
        snprintf(buf, len, "no reply within %d ms", timeout_ms);
        break;
    case -ECONNRESET:
    case -EPIPE:
        snprintf(buf, len, "the back-end closed the connection");
        break;
    case -EBADMSG:
        snprintf(buf, len, "malformed reply (wrong request, flags or size)");
        break;
    case -EMSGSIZE:
        snprintf(buf, len, "reply payload too large");
        break;
    case -EPROTO:
        snprintf(buf, len, "reply with a wrong protocol version");
        break;
    case -EREMOTEIO:
        snprintf(buf, len, "the back-end replied with a failure status");
        break;
    case -ENOTCONN:
        snprintf(buf, len, "not connected");
        break;
    default:
        snprintf(buf, len, "%s", strerror(-err));
        break;
    }
    return buf;
}
