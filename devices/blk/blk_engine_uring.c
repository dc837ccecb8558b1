/* SPDX-License-Identifier: MIT */
/*
 * The io_uring engine: one ring per queue (liburing), every operation
 * asynchronous (readv, writev, fsync, fallocate), completions signalled
 * through an eventfd registered with the ring, which the queue thread
 * polls.
 *
 * A transfer that completes short (fewer bytes than asked, more than zero)
 * is continued from where it stopped; one that transfers nothing is -EIO
 * (the end of the file). Write-zeroes that the file system cannot do as
 * fallocate falls back to writing zeroes, blocking (at most 16 MiB); a
 * discard it cannot do is a success (discard is advisory).
 *
 * The ring has room for min(depth, 1024) submissions; more in flight are
 * fine (the completion queue is twice as large, and the kernel keeps what
 * overflows it: IORING_FEAT_NODROP).
 *
 * Every completion signals the eventfd, also those posted inline during a
 * submission (the queue reaps those at once and finds the eventfd set at
 * its next poll): limiting it to io-wq completions
 * (io_uring_register_eventfd_async()) loses O_DIRECT completions, which
 * are posted from task work, not by io-wq. A transfer on the RAM disk
 * (shmem) is copied at submission instead of going to the ring: io_uring
 * cannot do it inline and hands it to a kernel worker thread, a thread
 * wake-up per request for a memory copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_engine.h"

#ifdef GM_HAVE_LIBURING
#include <liburing.h>

#define URING_MAX_ENTRIES 1024u

struct blk_engine {
    struct io_uring ring;
    const blk_disk *d;
    int efd;
    unsigned int inflight;        /* submitted to the ring, not reaped */
    blk_io_list done;             /* done at submission (the RAM disk) */
};

static int uring_open(blk_engine **out, const blk_disk *d, unsigned int depth)
{
    struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE };
    unsigned int entries = depth < 8 ? 8 : depth > URING_MAX_ENTRIES ? URING_MAX_ENTRIES : depth;
    blk_engine *e = calloc(1, sizeof(*e));
    int err;

    if (!e)
        return -ENOMEM;
    e->d = d;
    p.cq_entries = 2 * entries;
    err = io_uring_queue_init_params(entries, &e->ring, &p);
    if (err) {
        free(e);
        return err;
    }
    e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    err = e->efd < 0 ? -errno : io_uring_register_eventfd(&e->ring, e->efd);
    if (err) {
        if (e->efd >= 0)
            close(e->efd);
        io_uring_queue_exit(&e->ring);
        free(e);
        return err;
    }
    *out = e;
    return 0;
}

static int uring_fd(const blk_engine *e)
{
    return e->efd;
}

static void prep(struct io_uring_sqe *sqe, blk_io *io)
{
    int zero_mode = io->unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;

    switch (io->op) {
    case BLK_OP_READ:
        io_uring_prep_readv(sqe, io->fd, io->iov, io->iovcnt, io->offset + io->done);
        break;
    case BLK_OP_WRITE:
        io_uring_prep_writev(sqe, io->fd, io->iov, io->iovcnt, io->offset + io->done);
        break;
    case BLK_OP_FLUSH:
        io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
        break;
    case BLK_OP_DISCARD:
        io_uring_prep_fallocate(sqe, io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                io->offset, io->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        io_uring_prep_fallocate(sqe, io->fd, zero_mode, io->offset, io->len);
        break;
    }
    io_uring_sqe_set_data(sqe, io);
}

static int uring_submit(blk_engine *e, blk_io *io)
{
    struct io_uring_sqe *sqe;

    if (e->d->memory && (io->op == BLK_OP_READ || io->op == BLK_OP_WRITE)) {
        blk_engine_run_blocking(e->d, io);
        blk_io_list_put(&e->done, io);
        return 0;
    }
    sqe = io_uring_get_sqe(&e->ring);
    if (!sqe) {
        /* The submission queue is full: hand it to the kernel, retry. */
        io_uring_submit(&e->ring);
        sqe = io_uring_get_sqe(&e->ring);
        if (!sqe)
            return -EAGAIN;
    }
    prep(sqe, io);
    e->inflight++;
    return 0;
}

static void uring_kick(blk_engine *e)
{
    int ret = io_uring_submit(&e->ring);

    (void)ret;   /* a failure leaves the SQEs queued: the next kick retries */
}

/* Drop @n bytes from the front of @io's iovecs (a short transfer). */
static void iov_advance(blk_io *io, uint64_t n)
{
    while (io->iovcnt && n >= io->iov[0].iov_len) {
        n -= io->iov[0].iov_len;
        io->iov++;
        io->iovcnt--;
    }
    if (io->iovcnt) {
        io->iov[0].iov_base = (char *)io->iov[0].iov_base + n;
        io->iov[0].iov_len -= n;
    }
}

/* Settle one completion; false if @io was submitted again. */
static bool complete(blk_engine *e, blk_io *io, int res)
{
    bool transfer = io->op == BLK_OP_READ || io->op == BLK_OP_WRITE;

    if (transfer && res > 0 && io->done + (uint64_t)res < io->len) {
        io->done += (uint64_t)res;
        iov_advance(io, (uint64_t)res);
        if (uring_submit(e, io) == 0) {
            uring_kick(e);
            return false;
        }
        res = -EAGAIN;
    }
    if (io->op == BLK_OP_DISCARD && res == -EOPNOTSUPP)
        res = 0;   /* discard is advisory */
    if (io->op == BLK_OP_WRITE_ZEROES && res < 0 && res != -EIO && res != -ENOSPC) {
        blk_engine_run_blocking(e->d, io);   /* writes zeroes instead */
        return true;
    }
    io->result = transfer && res == 0 ? -EIO : res < 0 ? res : 0;
    io->done = io->result ? io->done : io->len;
    return true;
}

static unsigned int uring_reap(blk_engine *e, blk_io **done, unsigned int max, bool wait)
{
    unsigned int n = 0;
    uint64_t v;

    if (read(e->efd, &v, sizeof(v)) < 0) {
        /* nothing signalled since the last reap */
    }
    while (n < max && e->done.head)
        done[n++] = blk_io_list_take(&e->done);
    while (n < max && e->inflight) {
        struct io_uring_cqe *cqe;
        int err = (wait && !n) ? io_uring_wait_cqe(&e->ring, &cqe)
                               : io_uring_peek_cqe(&e->ring, &cqe);
        blk_io *io;
        int res;

        if (err == -EINTR)
            continue;
        if (err)
            break;
        io = io_uring_cqe_get_data(cqe);
        res = cqe->res;
        io_uring_cqe_seen(&e->ring, cqe);
        e->inflight--;
        if (complete(e, io, res))
            done[n++] = io;
    }
    return n;
}

static void uring_close(blk_engine *e)
{
    io_uring_unregister_eventfd(&e->ring);
    io_uring_queue_exit(&e->ring);
    close(e->efd);
    free(e);
}

int blk_engine_uring_probe(void)
{
    struct io_uring ring;
    int err = io_uring_queue_init(8, &ring, 0);

    if (!err)
        io_uring_queue_exit(&ring);
    return err;
}

const blk_engine_ops blk_engine_io_uring = {
    .name = "io_uring", .open = uring_open, .fd = uring_fd, .submit = uring_submit,
    .kick = uring_kick, .reap = uring_reap, .close = uring_close,
};

#else /* !GM_HAVE_LIBURING */

int blk_engine_uring_probe(void)
{
    return -ENOSYS;   /* built without liburing */
}

const blk_engine_ops blk_engine_io_uring = { .name = "io_uring" };

#endif
