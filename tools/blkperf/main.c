/* SPDX-License-Identifier: MIT */
/*
 * guestmem-blkperf: a vhost-user-blk load generator. One process is both
 * the vhost-user front-end (QEMU's part) and the guest's virtio-blk driver,
 * so any vhost-user-blk back-end can be driven at depth and measured
 * without a VM (docs/blkperf.md).
 *
 * Written from the vhost-user and virtio specifications; it does not use
 * guestmem's own virtqueue or vhost-user code, so that a bug shared with
 * the back-end cannot hide itself.
 *
 * Signals: SIGPIPE is ignored (a dead back-end shows as an error from
 * send); SIGINT and SIGTERM stop issuing requests, let those in flight
 * complete and print the result, so a spawned back-end is never left
 * behind.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "bp_options.h"
#include "bp_run.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

bool bp_interrupted(void)
{
    return interrupted;
}

static void setup_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    bp_options o;
    int r = bp_options_parse(argc, argv, &o);

    if (r)
        return r > 0 ? 0 : 2;
    setup_signals();
    return bp_run_main(&o);
}
