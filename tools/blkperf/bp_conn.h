/* SPDX-License-Identifier: MIT */
/*
 * vhost-user message transport of guestmem-blkperf: framing, file
 * descriptors, timeouts, and request/reply transactions on the front-end
 * socket.
 *
 * Several threads talk to the back-end over the one front-end socket: the
 * main thread (set-up, stop, reconnect), the queue threads (IOTLB
 * invalidations) and the IOTLB thread (updates answering misses). Each
 * request and its reply form one transaction under bp_conn.lock, so replies
 * never go to the wrong thread. Every read has a deadline.
 */
#ifndef GUESTMEM_BLKPERF_CONN_H
#define GUESTMEM_BLKPERF_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bp_proto.h"

/**
 * struct bp_conn - the front-end socket.
 * @fd: connected socket, or -1
 * @timeout_ms: deadline of every reply
 * @reply_ack: REPLY_ACK negotiated (requests without a reply of their own
 *             may ask for an acknowledgement)
 * @lock: held for a whole request/reply transaction
 * @dead: a transaction failed at the transport level; set under @lock,
 *        cleared when a new socket is installed
 * @ready: negotiation finished: IOTLB messages may be sent (before that, a
 *         back-end would see IOTLB_MSG ahead of SET_FEATURES)
 */
typedef struct bp_conn {
    int fd;
    int timeout_ms;
    bool reply_ack;
    pthread_mutex_t lock;
    bool dead;
    bool ready;
} bp_conn;

/** bp_conn_init() - an unconnected @c with @timeout_ms for replies. */
void bp_conn_init(bp_conn *c, int timeout_ms);

/**
 * bp_conn_install() - make @fd the socket of @c (closing the old one).
 * Context: takes @c->lock.
 */
void bp_conn_install(bp_conn *c, int fd);

/** bp_conn_close() - close the socket. Context: takes @c->lock. */
void bp_conn_close(bp_conn *c);

/**
 * bp_unix_connect() - one connection attempt to the Unix socket @path.
 * @path: socket path
 * @fd: the connected socket
 *
 * Return: 0, -ENAMETOOLONG, or the negative errno of socket()/connect().
 */
int bp_unix_connect(const char *path, int *fd);

/**
 * bp_msg_send() - send one message (header, payload and fds in one sendmsg).
 * @fd: socket
 * @req: request number
 * @flags: VU_FLAG_* besides the version
 * @payload: @size bytes
 * @fds: @nfds descriptors to pass (at most VU_MAX_FDS)
 *
 * Return: 0, -EINVAL (too many fds), -EIO (short send) or the negative
 * errno of sendmsg().
 */
int bp_msg_send(int fd, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
                const int *fds, unsigned int nfds);

/**
 * bp_msg_recv() - read one whole message.
 * @fd: socket
 * @timeout_ms: deadline for the whole message
 * @hdr: its header
 * @payload: buffer of @max bytes for the payload
 * @rfd: if not NULL, receives the first passed descriptor or -1 (others,
 *       and all of them when @rfd is NULL, are closed)
 *
 * The header's version is checked; the payload size against @max.
 *
 * Return: 0; -ETIMEDOUT; -ECONNRESET (end of file); -EPROTO (bad version);
 * -EMSGSIZE (payload over @max, the message is not drained); or the negative
 * errno of poll()/recvmsg().
 */
int bp_msg_recv(int fd, int timeout_ms, vu_header *hdr, void *payload, uint32_t max, int *rfd);

/**
 * bp_conn_get() - a request whose reply carries a payload.
 * @c: connection
 * @req: request
 * @payload: @size bytes of request payload (may be NULL with 0)
 * @reply: receives exactly @reply_size bytes
 * @reply_fd: if not NULL, receives a descriptor passed with the reply or -1
 *
 * Return: 0; -ENOTCONN; -EBADMSG (reply for another request, no reply flag,
 * or a payload of another size); or an error of bp_msg_send()/recv(). A
 * transport failure marks @c dead.
 * Context: takes @c->lock.
 */
int bp_conn_get(bp_conn *c, uint32_t req, const void *payload, uint32_t size, void *reply,
                uint32_t reply_size, int *reply_fd);

/**
 * bp_conn_set() - a request without a reply payload of its own.
 * @c: connection
 * @req: request
 * @ack: ask for an acknowledgement (sent only when @c->reply_ack) and wait
 * @payload: @size bytes
 * @fds: @nfds descriptors to pass
 *
 * Return: 0; -EREMOTEIO when the back-end acknowledged with non-zero; or an
 * error of bp_conn_get().
 * Context: takes @c->lock.
 */
int bp_conn_set(bp_conn *c, uint32_t req, bool ack, const void *payload, uint32_t size,
                const int *fds, unsigned int nfds);

/**
 * bp_conn_call() - a request with descriptors whose reply may carry a
 * payload of any size, which is discarded (SET_LOG_BASE: QEMU reads
 * whatever the back-end replies; guestmem-vhost-blk sends none,
 * libvhost-user a u64).
 *
 * Return: 0; -ENOTCONN; -EBADMSG (a reply for another request, or without
 * the reply flag); or an error of bp_msg_send()/recv().
 * Context: takes @c->lock.
 */
int bp_conn_call(bp_conn *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
                 unsigned int nfds);

/** bp_conn_lock() - start a sequence of transactions no other thread may split. */
void bp_conn_lock(bp_conn *c);
void bp_conn_unlock(bp_conn *c);

/** bp_conn_set_ready() - allow (or hold back) IOTLB messages. Context: takes @c->lock. */
void bp_conn_set_ready(bp_conn *c, bool ready);

/**
 * bp_conn_iotlb_locked() - send an IOTLB_MSG with NEED_REPLY and wait for
 * its acknowledgement, as QEMU does for every update and invalidation.
 *
 * Return: 0; -ENOTCONN when not connected or not @ready; -EREMOTEIO on a
 * non-zero acknowledgement; or an error of bp_conn_get().
 * Context: the caller holds bp_conn_lock().
 */
int bp_conn_iotlb_locked(bp_conn *c, const vu_iotlb *msg);

/** bp_vu_request_name() - "GET_FEATURES" etc. for messages. */
const char *bp_vu_request_name(uint32_t req);

/** bp_conn_strerror() - text for an error of this file (with @timeout_ms). */
const char *bp_conn_strerror(int err, char *buf, unsigned int len, int timeout_ms);

#endif
