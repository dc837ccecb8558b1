/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_VHOST_MSG_H
#define GUESTMEM_VHOST_MSG_H

#include <stddef.h>

#include "vhost/vhost_proto.h"

/* Read one message (header, fds, payload). Returns 0, -ECONNRESET on EOF,
 * -EPROTO for a malformed header (bad version, payload too large, fds
 * truncated), or another negative errno. On error no fd is left open. */
int vu_msg_read(int sock, vu_msg *msg);

/* Close the fds a message carried that nobody took (set to -1 when taken). */
void vu_msg_close_fds(vu_msg *msg);

/* Take fd @i (ownership passes to the caller); -1 if there is none. */
int vu_msg_take_fd(vu_msg *msg, unsigned int i);

/* Send a reply to @req with @size bytes of @payload. */
int vu_msg_reply(int sock, const vu_msg *req, const void *payload, size_t size);

/* Send a request with optional fds (back-end channel). */
int vu_msg_send(int sock, uint32_t request, uint32_t flags, const void *payload, size_t size,
                const int *fds, unsigned int nfds);

/* Messages one vu_msg_send_nowait() call sends at most. */
#define VU_MSG_NOWAIT_MAX 32u

/* Send @n messages of type @request, each with @size bytes of payload (the
 * payloads consecutive in @payloads, @size <= 64), in one non-blocking
 * sendmsg() of at most 2,432 bytes, so that on a Unix stream socket they
 * go in one piece or not at all. Returns 0, -EAGAIN (the peer is not
 * reading: nothing was sent), -EIO (sent in part: the stream is no longer
 * framed), -EINVAL, or another negative errno. Never blocks. */
int vu_msg_send_nowait(int sock, uint32_t request, const void *payloads, size_t size,
                       unsigned int n);

/* Expected payload size of a front-end request: -1 for "variable"
 * (checked by the handler), otherwise the exact size. */
long vu_msg_expected_size(uint32_t request, int xen_mmap);

#endif
