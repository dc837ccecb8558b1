/* SPDX-License-Identifier: MIT */
/*
 * guestmem-vhost-blk's signals, taken by a thread of their own with
 * sigwait(): SIGUSR1 prints the counters, SIGTERM and SIGINT (what systemd,
 * libvirt users and a terminal send) stop the process cleanly. The signals
 * are blocked in every thread, so they run in normal thread context: no
 * signal handler, nothing to keep async-signal-safe.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "blk_cli.h"

struct blk_signals {
    pthread_t thread;
    gm_vhost_dev *dev;
    const blk_device *b;
    void (*stop)(void *);
    void *opaque;
    int quit;                     /* atomic: set before the thread is told to end */
};

static void fill_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

void blk_signals_block(void)
{
    sigset_t set;

    fill_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *signal_thread(void *arg)
{
    blk_signals *s = arg;
    unsigned long dumps = 0;
    bool stopping = false;
    sigset_t set;
    int sig;

    fill_set(&set);
    while (sigwait(&set, &sig) == 0 && !__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE)) {
        char prefix[32];

        if (sig == SIGUSR1) {
            snprintf(prefix, sizeof(prefix), "dump %lu", ++dumps);
            blk_stats_write(prefix, s->dev, s->b);
        } else if (!stopping) {
            stopping = true;
            fprintf(stderr, "guestmem-vhost-blk: %s: finishing the requests in flight, then "
                            "exiting\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            s->stop(s->opaque);
        }
    }
    return NULL;
}

blk_signals *blk_signals_start(gm_vhost_dev *dev, const blk_device *b, void (*stop)(void *),
                               void *opaque)
{
    blk_signals *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    *s = (blk_signals){ .dev = dev, .b = b, .stop = stop, .opaque = opaque };
    if (pthread_create(&s->thread, NULL, signal_thread, s)) {
        fprintf(stderr, "guestmem-vhost-blk: no signal thread: SIGUSR1 dumps and clean "
                        "SIGTERM unavailable\n");
        free(s);
        return NULL;
    }
    return s;
}

void blk_signals_stop(blk_signals *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->quit, 1, __ATOMIC_RELEASE);
    pthread_kill(s->thread, SIGUSR1);
    pthread_join(s->thread, NULL);
    free(s);
}
