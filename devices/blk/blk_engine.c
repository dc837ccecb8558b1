/* SPDX-License-Identifier: MIT */
/*
 * Choosing the I/O engine: the one asked for, if this kernel and build
 * allow it. io_uring can be missing (built without liburing) or refused by
 * the kernel (kernel.io_uring_disabled, a seccomp filter, an old kernel:
 * ENOSYS, EPERM): then the threads engine serves instead, and the caller
 * logs why.
 */
#include <string.h>

#include "blk_engine.h"

const blk_engine_ops *blk_engine_probe(enum blk_aio aio, const char **why)
{
    int err;

    *why = NULL;
    switch (aio) {
    case BLK_AIO_SYNC:
        return &blk_engine_sync;
    case BLK_AIO_THREADS:
        return &blk_engine_threads;
    case BLK_AIO_IO_URING:
        break;
    }
    err = blk_engine_uring_probe();
    if (!err)
        return &blk_engine_io_uring;
    *why = strerror(-err);
    return &blk_engine_threads;
}
