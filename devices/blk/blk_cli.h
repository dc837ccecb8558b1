/* SPDX-License-Identifier: MIT */
/*
 * guestmem-vhost-blk's process around the device: the command line, the
 * counters it prints and the signals it takes.
 */
#ifndef GUESTMEM_BLK_CLI_H
#define GUESTMEM_BLK_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "blk_device.h"

typedef struct blk_options {
    const char *socket_path;
    int fd;
    const char *file;
    uint64_t ram_size;
    bool readonly;
    unsigned int queues;
    bool iommu;                   /* offer VIRTIO_F_IOMMU_PLATFORM (default) */
    enum gm_vhost_grants grants;
    bool once;
    bool verbose;
    bool require_sealed;
    unsigned int socket_mode;     /* 0: the umask's */
    long socket_gid;              /* -1: the process's group */
    enum blk_aio aio;
    enum blk_cache cache;
    unsigned int poll_us;
} blk_options;


/* Parse the command line into @o (--help and --print-capabilities print and
 * exit). Returns 0, or -1 after printing what is wrong. */
int blk_parse_args(int argc, char **argv, blk_options *o);

/* Write the counters of @dev and @b on one line of stderr, after
 * "guestmem-vhost-blk: @prefix:" (one write: never interleaved). */
void blk_stats_write(const char *prefix, gm_vhost_dev *dev, const blk_device *b);

/*
 * The signal thread: SIGUSR1 dumps the counters; SIGTERM and SIGINT call
 * @stop(@opaque) once, so that the process ends its connection (finishing
 * the requests in flight) and exits cleanly. blk_signals_block() must run
 * before any thread is created (they all inherit the mask).
 */
typedef struct blk_signals blk_signals;
void blk_signals_block(void);
blk_signals *blk_signals_start(gm_vhost_dev *dev, const blk_device *b, void (*stop)(void *),
                               void *opaque);
void blk_signals_stop(blk_signals *s);

#endif
