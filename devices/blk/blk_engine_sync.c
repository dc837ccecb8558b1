/* SPDX-License-Identifier: MIT */
/*
 * The sync engine: each operation runs to its end with blocking calls at
 * submission and is reaped right after. One request at a time per queue;
 * for comparisons, and where neither io_uring nor threads are wanted.
 */
#include <errno.h>
#include <stdlib.h>

#include "blk_engine.h"

struct blk_engine {
    const blk_disk *d;
    blk_io_list done;             /* not reaped yet */
};

static int sync_open(blk_engine **e, const blk_disk *d, unsigned int depth)
{
    (void)depth;
    *e = calloc(1, sizeof(**e));
    if (!*e)
        return -ENOMEM;
    (*e)->d = d;
    return 0;
}

static int sync_fd(const blk_engine *e)
{
    (void)e;
    return -1;
}

static int sync_submit(blk_engine *e, blk_io *io)
{
    blk_engine_run_blocking(e->d, io);
    blk_io_list_put(&e->done, io);
    return 0;
}

static void sync_kick(blk_engine *e)
{
    (void)e;
}

static unsigned int sync_reap(blk_engine *e, blk_io **done, unsigned int max, bool wait)
{
    unsigned int n = 0;

    (void)wait;
    while (n < max && e->done.head)
        done[n++] = blk_io_list_take(&e->done);
    return n;
}

static void sync_close(blk_engine *e)
{
    free(e);
}

const blk_engine_ops blk_engine_sync = {
    .name = "sync", .open = sync_open, .fd = sync_fd, .submit = sync_submit,
    .kick = sync_kick, .reap = sync_reap, .close = sync_close,
};
