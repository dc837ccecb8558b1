/* SPDX-License-Identifier: MIT */
/*
 * I/O engines: how a queue's disk operations reach the disk.
 *
 * A queue owns one engine instance. The queue thread submits operations
 * (blk_io) and later reaps the finished ones, in whatever order the disk
 * finished them; an engine with a completion fd makes the queue thread's
 * poll() wake up when there is something to reap. Three engines:
 *
 *   io_uring  one ring per queue (liburing), every operation asynchronous;
 *             completions signalled through an eventfd registered with it
 *   threads   a few worker threads per queue running the blocking calls;
 *             completions signalled through an eventfd
 *   sync      the blocking call, made at submission; nothing is ever in
 *             flight (the back-end's behaviour before the engines existed)
 *
 * Context: every call but blk_engine_probe() is made by the queue's thread.
 */
#ifndef GUESTMEM_BLK_ENGINE_H
#define GUESTMEM_BLK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "blk_disk.h"

enum blk_aio {
    BLK_AIO_IO_URING,
    BLK_AIO_THREADS,
    BLK_AIO_SYNC,
};

enum blk_op {
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_FLUSH,
    BLK_OP_DISCARD,
    BLK_OP_WRITE_ZEROES,
};

/*
 * One disk operation. The submitter fills op, fd (the disk's O_DIRECT fd
 * for aligned transfers, its buffered fd otherwise), iov/iovcnt (read,
 * write: the engine may advance them in place to continue a short
 * transfer), offset and len (bytes; read and write: the iovecs' total),
 * unmap (write-zeroes may deallocate) and opaque; the engine fills result:
 * 0 when all of it was done, or a negative errno (a transfer that ended
 * early at the end of the file is -EIO). @done counts bytes transferred
 * so far.
 */
typedef struct blk_io {
    enum blk_op op;
    int fd;
    struct iovec *iov;
    unsigned int iovcnt;
    uint64_t offset;
    uint64_t len;
    bool unmap;
    int result;
    uint64_t done;
    void *opaque;
    struct blk_io *next;          /* the engine's lists */
} blk_io;

/* A FIFO of operations (an engine's to-do or done list). */
typedef struct blk_io_list {
    blk_io *head, *tail;
} blk_io_list;

static inline void blk_io_list_put(blk_io_list *l, blk_io *io)
{
    io->next = NULL;
    if (l->tail)
        l->tail->next = io;
    else
        l->head = io;
    l->tail = io;
}

/* The oldest operation of @l, or NULL. */
static inline blk_io *blk_io_list_take(blk_io_list *l)
{
    blk_io *io = l->head;

    if (io) {
        l->head = io->next;
        if (!l->head)
            l->tail = NULL;
    }
    return io;
}

typedef struct blk_engine blk_engine;

/*
 * The engine's interface:
 * @open: an instance for one queue that can keep @depth operations in
 *        flight; 0 or a negative errno
 * @fd: the fd to poll for completions (readable: call @reap), or -1
 * @submit: take @io (it may wait in the engine until @kick); 0, or a
 *        negative errno and @io is not taken (-EAGAIN: reap first)
 * @kick: hand what was submitted to the kernel or the workers
 * @reap: up to @max finished operations into @done, in the order they
 *        finished; with @wait and nothing finished, block until one is
 *        (if any is in flight). Returns how many
 * @close: free the instance; nothing may be in flight
 */
typedef struct blk_engine_ops {
    const char *name;
    int (*open)(blk_engine **e, const blk_disk *d, unsigned int depth);
    int (*fd)(const blk_engine *e);
    int (*submit)(blk_engine *e, blk_io *io);
    void (*kick)(blk_engine *e);
    unsigned int (*reap)(blk_engine *e, blk_io **done, unsigned int max, bool wait);
    void (*close)(blk_engine *e);
} blk_engine_ops;

/* The engines, selectable with --aio. */
extern const blk_engine_ops blk_engine_io_uring;
extern const blk_engine_ops blk_engine_threads;
extern const blk_engine_ops blk_engine_sync;

/*
 * The engine for @aio that works here: io_uring may be compiled out, or
 * refused by the kernel (kernel.io_uring_disabled, seccomp, ENOSYS); then
 * the threads engine is used and @why says why (NULL when @aio is used as
 * asked). Any thread.
 */
const blk_engine_ops *blk_engine_probe(enum blk_aio aio, const char **why);

/* Whether the kernel lets this process use io_uring: 0 or a negative errno
 * (-ENOSYS also when built without liburing). */
int blk_engine_uring_probe(void);

/* Run @io to the end with blocking calls (the sync and threads engines). */
void blk_engine_run_blocking(const blk_disk *d, blk_io *io);

#endif
