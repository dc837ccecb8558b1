/* SPDX-License-Identifier: MIT */
/*
 * guestmem-vhost-blk: a vhost-user-blk back-end whose every guest-memory
 * access goes through guestmem, including vIOMMU (IOTLB) and Xen grants.
 *
 * Follows QEMU's conventions for back-end programs
 * (docs/interop/vhost-user.json): --socket-path or --fd, and
 * --print-capabilities. It serves one front-end connection at a time and
 * waits for the next when one ends, so a front-end that reconnects (or a
 * back-end restarted after a crash, with QEMU's reconnect) carries on.
 *
 * SIGUSR1 prints the counters (stats_dump below). The signal is blocked in
 * every thread and taken with sigwait() by a thread of its own, so the dump
 * runs in normal thread context: no signal handler, nothing to keep
 * async-signal-safe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blk_device.h"

#define DEFAULT_RAM_DISK (64ull << 20)

typedef struct blk_options {
    const char *socket_path;
    int fd;
    const char *file;
    uint64_t ram_size;
    bool readonly;
    unsigned int queues;
    bool iommu;
    enum gm_vhost_grants grants;
    bool once;
    bool verbose;
    bool require_sealed;
    enum blk_aio aio;
    enum blk_cache cache;
    unsigned int poll_us;
} blk_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: guestmem-vhost-blk (--socket-path PATH | --fd FD) [options]\n"
            "       guestmem-vhost-blk --print-capabilities\n"
            "\n"
            "  -s, --socket-path PATH  listen on this Unix socket\n"
            "      --fd FD             serve an already connected/listening socket\n"
            "  -b, --blk-file FILE     raw image to serve (default: a RAM disk)\n"
            "      --ram-size BYTES    size of the RAM disk (default 64 MiB; K/M/G suffixes)\n"
            "  -r, --read-only         refuse writes (VIRTIO_BLK_F_RO)\n"
            "      --aio ENGINE        io_uring (default), threads or sync\n"
            "      --cache MODE        writeback (default: the page cache), none (O_DIRECT)\n"
            "                          or directsync (O_DIRECT and O_DSYNC)\n"
            "      --poll-us N         poll the ring and the engine up to N microseconds\n"
            "                          before sleeping (default 0: off)\n"
            "  -q, --num-queues N      queues offered (default 1, at most 64)\n"
            "      --iommu             offer VIRTIO_F_IOMMU_PLATFORM (vIOMMU guests)\n"
            "      --xen-grants MODE   serve XEN_MMAP grant regions: emulated or xen\n"
            "      --once              exit after the first connection ends\n"
            "      --require-sealed    refuse guest memory fds not sealed against shrinking\n"
            "                          (a front-end that truncates an unsealed file it sent\n"
            "                          can kill the back-end; QEMU's memfd memory is sealed)\n"
            "  -v, --verbose           log debug messages\n"
            "      --print-capabilities  print the JSON capabilities and exit\n"
            "  -h, --help              this text\n"
            "\n"
            "SIGUSR1 prints the counters to stderr (requests per queue, IOTLB misses,\n"
            "updates, invalidations and hits, mapping cache) on one line starting\n"
            "\"guestmem-vhost-blk: dump N:\" (N counts the dumps); the same counters end\n"
            "each connection, on a line starting \"guestmem-vhost-blk: stats:\".\n");
}

static int print_capabilities(void)
{
    printf("{\n  \"type\": \"block\",\n  \"features\": [\n    \"read-only\",\n"
           "    \"blk-file\"\n  ]\n}\n");
    return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    unsigned int shift = 0;

    if (end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    else if (*end)
        return -1;
    if (shift && end[1])
        return -1;
    if (v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

enum { OPT_FD = 256, OPT_RAM, OPT_IOMMU, OPT_XEN, OPT_ONCE, OPT_CAPS, OPT_SEALED, OPT_AIO,
       OPT_CACHE, OPT_POLL };

static const struct option long_opts[] = {
    { "socket-path", required_argument, NULL, 's' },
    { "fd", required_argument, NULL, OPT_FD },
    { "blk-file", required_argument, NULL, 'b' },
    { "ram-size", required_argument, NULL, OPT_RAM },
    { "read-only", no_argument, NULL, 'r' },
    { "num-queues", required_argument, NULL, 'q' },
    { "iommu", no_argument, NULL, OPT_IOMMU },
    { "xen-grants", required_argument, NULL, OPT_XEN },
    { "once", no_argument, NULL, OPT_ONCE },
    { "require-sealed", no_argument, NULL, OPT_SEALED },
    { "aio", required_argument, NULL, OPT_AIO },
    { "cache", required_argument, NULL, OPT_CACHE },
    { "poll-us", required_argument, NULL, OPT_POLL },
    { "verbose", no_argument, NULL, 'v' },
    { "print-capabilities", no_argument, NULL, OPT_CAPS },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* @arg's index in @names (NULL-terminated), or -1. */
static int pick(const char *arg, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        if (!strcmp(arg, names[i]))
            return i;
    }
    return -1;
}

static int parse_mode(blk_options *o, int c, const char *arg)
{
    static const char *const aios[] = { "io_uring", "threads", "sync", NULL };
    static const char *const caches[] = { "writeback", "none", "directsync", NULL };
    int i = pick(arg, c == OPT_AIO ? aios : caches);
    char *end;

    if (c == OPT_POLL) {
        unsigned long v = strtoul(arg, &end, 10);

        o->poll_us = (unsigned int)v;
        return *end || v > 1000000 ? -1 : 0;
    }
    if (i < 0)
        return -1;
    if (c == OPT_AIO)
        o->aio = (enum blk_aio)i;
    else
        o->cache = (enum blk_cache)i;
    return 0;
}

static int parse_option(blk_options *o, int c, const char *arg)
{
    char *end;

    switch (c) {
    case 's': o->socket_path = arg; return 0;
    case OPT_FD:
        o->fd = (int)strtol(arg, &end, 10);
        return *end || o->fd < 0 ? -1 : 0;
    case 'b': o->file = arg; return 0;
    case OPT_RAM: return parse_size(arg, &o->ram_size);
    case 'r': o->readonly = true; return 0;
    case 'q':
        o->queues = (unsigned int)strtoul(arg, &end, 10);
        return *end || !o->queues || o->queues > 64 ? -1 : 0;
    case OPT_IOMMU: o->iommu = true; return 0;
    case OPT_XEN:
        if (!strcmp(arg, "emulated"))
            o->grants = GM_VHOST_GRANTS_EMULATED;
        else if (!strcmp(arg, "xen"))
            o->grants = GM_VHOST_GRANTS_XEN;
        else
            return -1;
        return 0;
    case OPT_ONCE: o->once = true; return 0;
    case OPT_SEALED: o->require_sealed = true; return 0;
    case OPT_AIO:
    case OPT_CACHE:
    case OPT_POLL: return parse_mode(o, c, arg);
    case 'v': o->verbose = true; return 0;
    default: return -1;
    }
}

static int parse_args(int argc, char **argv, blk_options *o)
{
    int c;

    *o = (blk_options){ .fd = -1, .ram_size = DEFAULT_RAM_DISK, .queues = 1,
                        .aio = BLK_AIO_IO_URING, .cache = BLK_CACHE_WRITEBACK };
    while ((c = getopt_long(argc, argv, "s:b:rq:vh", long_opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (c == OPT_CAPS)
            exit(print_capabilities());
        if (parse_option(o, c, optarg)) {
            fprintf(stderr, "guestmem-vhost-blk: invalid option or value%s%s\n",
                    optarg ? ": " : "", optarg ? optarg : "");
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || (!o->socket_path) == (o->fd < 0)) {
        fprintf(stderr, "guestmem-vhost-blk: give exactly one of --socket-path and --fd\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

static void log_line(void *opaque, enum gm_log_level level, const char *msg)
{
    static const char *const names[] = { "error", "guest error", "warning", "debug" };

    (void)opaque;
    fprintf(stderr, "guestmem-vhost-blk: %s: %s\n", names[level], msg);
}

static int open_disk(const blk_options *o, blk_disk *d)
{
    int err = o->file ? blk_disk_open_file(d, o->file, o->readonly, o->cache)
                      : blk_disk_open_ram(d, o->ram_size);

    if (err)
        fprintf(stderr, "guestmem-vhost-blk: cannot open %s%s: %s\n",
                o->file ? o->file : "RAM disk",
                err == -EINVAL && o->cache != BLK_CACHE_WRITEBACK ? " with O_DIRECT" : "",
                strerror(-err));
    if (!err && !o->file)
        d->readonly = o->readonly;
    if (!err && !o->file && o->cache != BLK_CACHE_WRITEBACK)
        fprintf(stderr, "guestmem-vhost-blk: --cache applies to --blk-file; the RAM disk is "
                        "memory\n");
    return err;
}

/* The I/O engine asked for, or the fallback, said once. */
static const blk_engine_ops *choose_engine(enum blk_aio aio)
{
    const char *why;
    const blk_engine_ops *e = blk_engine_probe(aio, &why);

    if (why)
        fprintf(stderr, "guestmem-vhost-blk: io_uring unavailable (%s): using the threads "
                        "engine\n", why);
    return e;
}

/* Append "key=value" to @buf (of @size, @len used); returns the new length. */
static size_t put_kv(char *buf, size_t size, size_t len, const char *key, uint64_t v)
{
    int n;

    if (len >= size)
        return len;
    n = snprintf(buf + len, size - len, " %s=%llu", key, (unsigned long long)v);
    return n < 0 ? len : len + (size_t)n;
}

/* Format the counters of @dev and @b after @prefix, as one line. */
static size_t format_stats(char *buf, size_t size, const char *prefix, gm_vhost_dev *dev,
                           const blk_device *b)
{
    gm_vhost_stats st;
    size_t len;
    int n = snprintf(buf, size, "guestmem-vhost-blk: %s:", prefix);

    gm_vhost_dev_get_stats(dev, &st);
    len = n < 0 ? 0 : (size_t)n;
    len = put_kv(buf, size, len, "messages", st.messages);
    len = put_kv(buf, size, len, "requests", st.requests);
    len = put_kv(buf, size, len, "resubmitted", st.resubmitted);
    len = put_kv(buf, size, len, "notifications", st.notifications);
    len = put_kv(buf, size, len, "iotlb_misses", st.iotlb_misses);
    len = put_kv(buf, size, len, "iotlb_prefetched", st.iotlb_prefetched);
    len = put_kv(buf, size, len, "iotlb_unsent", st.iotlb_unsent);
    len = put_kv(buf, size, len, "iotlb_updates", st.iotlb_updates);
    len = put_kv(buf, size, len, "iotlb_invalidations", st.iotlb_invalidations);
    len = put_kv(buf, size, len, "iotlb_invalidation_msgs", st.iotlb_invalidation_msgs);
    len = put_kv(buf, size, len, "iotlb_timeouts", st.iotlb_timeouts);
    len = put_kv(buf, size, len, "iotlb_lookups", st.iotlb_lookups);
    len = put_kv(buf, size, len, "iotlb_lookup_hits", st.iotlb_lookup_hits);
    len = put_kv(buf, size, len, "iotlb_cache_hits", st.iotlb_cache_hits);
    len = put_kv(buf, size, len, "iotlb_cache_flushes", st.iotlb_cache_flushes);
    len = put_kv(buf, size, len, "map_hits", st.map_hits);
    len = put_kv(buf, size, len, "map_misses", st.map_misses);
    len = put_kv(buf, size, len, "map_unmaps", st.map_unmaps);
    len = put_kv(buf, size, len, "map_bytes", st.map_bytes);
    len = put_kv(buf, size, len, "device_requests", __atomic_load_n(&b->requests, __ATOMIC_RELAXED));
    len = put_kv(buf, size, len, "device_errors", __atomic_load_n(&b->errors, __ATOMIC_RELAXED));
    for (unsigned int i = 0; i < b->num_queues && i < BLK_MAX_QUEUES; i++) {
        char key[24];

        snprintf(key, sizeof(key), "q%u_requests", i);
        len = put_kv(buf, size, len, key, __atomic_load_n(&b->queue_requests[i], __ATOMIC_RELAXED));
    }
    if (len >= size - 1)
        len = size - 2;
    buf[len++] = '\n';
    buf[len] = 0;
    return len;
}

/* One write(), so that the line is not interleaved with log lines. */
static void write_stats(const char *prefix, gm_vhost_dev *dev, const blk_device *b)
{
    char buf[2048];
    size_t len = format_stats(buf, sizeof(buf), prefix, dev, b);

    if (write(STDERR_FILENO, buf, len) < 0)
        return;   /* nowhere to report it */
}

static void print_stats(gm_vhost_dev *dev, const blk_device *b)
{
    write_stats("stats", dev, b);
}

/* ---- SIGUSR1: dump the counters -------------------------------------- */

typedef struct stats_dumper {
    pthread_t thread;
    gm_vhost_dev *dev;
    const blk_device *b;
    int stop;                     /* atomic: set before the last SIGUSR1 */
    bool running;
} stats_dumper;

static void *dumper_thread(void *arg)
{
    stats_dumper *d = arg;
    sigset_t set;
    unsigned long n = 0;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    while (sigwait(&set, &sig) == 0 && !__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
        char prefix[32];

        snprintf(prefix, sizeof(prefix), "dump %lu", ++n);
        write_stats(prefix, d->dev, d->b);
    }
    return NULL;
}

/* Block SIGUSR1 in this thread and every thread created after it. */
static void block_sigusr1(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void dumper_start(stats_dumper *d, gm_vhost_dev *dev, const blk_device *b)
{
    d->dev = dev;
    d->b = b;
    d->running = pthread_create(&d->thread, NULL, dumper_thread, d) == 0;
    if (!d->running)
        fprintf(stderr, "guestmem-vhost-blk: no SIGUSR1 stats dumps (cannot create a thread)\n");
}

static void dumper_stop(stats_dumper *d)
{
    if (!d->running)
        return;
    __atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
    pthread_kill(d->thread, SIGUSR1);
    pthread_join(d->thread, NULL);
    d->running = false;
}

/* Accept connections on a listening socket, one at a time. */
static int serve(gm_vhost_dev *dev, const blk_device *b, int listen_fd, bool once)
{
    for (;;) {
        int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (conn < 0) {
            if (errno == EINTR)
                continue;
            perror("guestmem-vhost-blk: accept");
            return 1;
        }
        fprintf(stderr, "guestmem-vhost-blk: front-end connected\n");
        gm_vhost_dev_run(dev, conn);
        fprintf(stderr, "guestmem-vhost-blk: front-end disconnected\n");
        print_stats(dev, b);
        if (once)
            return 0;
    }
}

/* --fd may be a listening socket or an already connected one. */
static int serve_fd(gm_vhost_dev *dev, const blk_device *b, int fd, bool once)
{
    int listening = 0;
    socklen_t len = sizeof(listening);

    int ret;

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
        return serve(dev, b, fd, once);
    ret = gm_vhost_dev_run(dev, fd) ? 1 : 0;
    print_stats(dev, b);
    return ret;
}

static int run(const blk_options *o, blk_device *b)
{
    gm_vhost_config cfg = { .num_queues = o->queues, .config_size = BLK_CONFIG_SIZE,
                            .offer_iommu = o->iommu, .grants = o->grants,
                            .require_sealed = o->require_sealed };
    gm_vhost_device_ops ops = *blk_device_ops();
    stats_dumper dumper = { 0 };
    gm_vhost_dev *dev;
    int fd, ret;

    ops.features = blk_device_features(b);
    dev = gm_vhost_dev_new(&cfg, &ops, b);
    if (!dev) {
        perror("guestmem-vhost-blk: device");
        return 1;
    }
    gm_system_set_log(gm_vhost_dev_system(dev), log_line, NULL, o->verbose);
    fd = o->socket_path ? gm_vhost_listen(o->socket_path) : o->fd;
    if (fd < 0) {
        fprintf(stderr, "guestmem-vhost-blk: cannot listen on %s: %s\n", o->socket_path,
                strerror(-fd));
        gm_vhost_dev_free(dev);
        return 1;
    }
    fprintf(stderr, "guestmem-vhost-blk: serving %s (%llu MiB%s, %u queue%s%s, %s, cache=%s) on "
            "%s\n",
            o->file ? o->file : "RAM disk", (unsigned long long)(b->disk.size >> 20),
            b->disk.readonly ? ", read-only" : "", o->queues, o->queues > 1 ? "s" : "",
            o->iommu ? ", IOMMU" : "", b->engine->name,
            o->cache == BLK_CACHE_NONE ? "none" : o->cache == BLK_CACHE_DIRECTSYNC ? "directsync"
                                                                                 : "writeback",
            o->socket_path ? o->socket_path : "fd");
    dumper_start(&dumper, dev, b);
    ret = o->socket_path ? serve(dev, b, fd, o->once) : serve_fd(dev, b, fd, o->once);
    dumper_stop(&dumper);
    gm_vhost_dev_free(dev);
    return ret;
}

int main(int argc, char **argv)
{
    blk_device b = { 0 };
    blk_options o;
    int ret;

    signal(SIGPIPE, SIG_IGN);
    block_sigusr1();   /* before any thread exists: they all inherit it */
    if (parse_args(argc, argv, &o))
        return 2;
    if (open_disk(&o, &b.disk))
        return 1;
    b.num_queues = o.queues;
    b.engine = choose_engine(o.aio);
    b.poll_us = o.poll_us;
    snprintf(b.serial, sizeof(b.serial), "guestmem-%d", (int)getpid());
    ret = run(&o, &b);
    fprintf(stderr, "guestmem-vhost-blk: %llu requests, %llu errors\n",
            (unsigned long long)b.requests, (unsigned long long)b.errors);
    blk_disk_close(&b.disk);
    return ret;
}
