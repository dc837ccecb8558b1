/* SPDX-License-Identifier: MIT */
/*
 * guestmem-vhost-blk's command line. Follows QEMU's conventions for
 * back-end programs (docs/interop/vhost-user.json): --socket-path or --fd,
 * and --print-capabilities.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_cli.h"

#define DEFAULT_RAM_DISK (64ull << 20)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: guestmem-vhost-blk (--socket-path PATH | --fd FD) [options]\n"
            "       guestmem-vhost-blk --print-capabilities\n"
            "\n"
            "  -s, --socket-path PATH  listen on this Unix socket\n"
            "      --socket-mode MODE  its permissions, octal (default: from the umask)\n"
            "      --socket-group GRP  its group, a name or a number\n"
            "      --fd FD             serve an already connected/listening socket\n"
            "                          (without either: a socket passed by systemd,\n"
            "                          LISTEN_FDS)\n"
            "  -b, --blk-file FILE     raw image to serve (default: a RAM disk)\n"
            "      --ram-size BYTES    size of the RAM disk (default 64 MiB; K/M/G suffixes)\n"
            "  -r, --read-only         refuse writes (VIRTIO_BLK_F_RO)\n"
            "      --aio ENGINE        io_uring (default), threads or sync\n"
            "      --cache MODE        writeback (default: the page cache), none (O_DIRECT)\n"
            "                          or directsync (O_DIRECT and O_DSYNC)\n"
            "      --poll-us N         poll the ring and the engine up to N microseconds\n"
            "                          before sleeping (default 0: off)\n"
            "  -q, --num-queues N      queues offered (default 1, at most 64)\n"
            "      --iommu             offer VIRTIO_F_IOMMU_PLATFORM (the default: QEMU acks it\n"
            "                          only for a device with iommu_platform=on)\n"
            "      --no-iommu          do not offer VIRTIO_F_IOMMU_PLATFORM\n"
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

enum { OPT_FD = 256, OPT_RAM, OPT_IOMMU, OPT_NO_IOMMU, OPT_XEN, OPT_ONCE, OPT_CAPS, OPT_SEALED,
       OPT_AIO, OPT_CACHE, OPT_POLL, OPT_SOCK_MODE, OPT_SOCK_GROUP };

static const struct option long_opts[] = {
    { "socket-path", required_argument, NULL, 's' },
    { "fd", required_argument, NULL, OPT_FD },
    { "blk-file", required_argument, NULL, 'b' },
    { "ram-size", required_argument, NULL, OPT_RAM },
    { "read-only", no_argument, NULL, 'r' },
    { "num-queues", required_argument, NULL, 'q' },
    { "iommu", no_argument, NULL, OPT_IOMMU },
    { "no-iommu", no_argument, NULL, OPT_NO_IOMMU },
    { "socket-mode", required_argument, NULL, OPT_SOCK_MODE },
    { "socket-group", required_argument, NULL, OPT_SOCK_GROUP },
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

/* --socket-mode (octal, 1 to 07777) and --socket-group (name or number). */
static int parse_socket_perm(blk_options *o, int c, const char *arg)
{
    char *end;
    unsigned long v = strtoul(arg, &end, c == OPT_SOCK_MODE ? 8 : 10);
    struct group *g;

    if (c == OPT_SOCK_MODE) {
        o->socket_mode = (unsigned int)v;
        return *end || !v || v > 07777 ? -1 : 0;
    }
    if (!*end && end != arg) {
        o->socket_gid = (long)v;
        return 0;
    }
    g = getgrnam(arg);
    if (!g)
        return -1;
    o->socket_gid = (long)g->gr_gid;
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
    case OPT_NO_IOMMU: o->iommu = false; return 0;
    case OPT_SOCK_MODE:
    case OPT_SOCK_GROUP: return parse_socket_perm(o, c, arg);
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

/*
 * systemd socket activation (sd_listen_fds(3)'s protocol, without
 * libsystemd): LISTEN_PID names this process and LISTEN_FDS counts the
 * sockets passed from fd 3 on. The first is served; the variables are
 * cleared so that children do not take them. Returns the fd, or -1.
 */
static int activation_fd(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int fd = -1;

    if (pid && fds && strtol(pid, NULL, 10) == (long)getpid() && strtol(fds, NULL, 10) >= 1) {
        fd = 3;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return fd;
}

int blk_parse_args(int argc, char **argv, blk_options *o)
{
    int c;

    *o = (blk_options){ .fd = -1, .ram_size = DEFAULT_RAM_DISK, .queues = 1, .iommu = true,
                        .aio = BLK_AIO_IO_URING, .cache = BLK_CACHE_WRITEBACK,
                        .socket_gid = -1 };
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
    if (!o->socket_path && o->fd < 0)
        o->fd = activation_fd();
    if (optind != argc || (!o->socket_path) == (o->fd < 0)) {
        fprintf(stderr, "guestmem-vhost-blk: give exactly one of --socket-path and --fd (or "
                        "start it with a socket, LISTEN_FDS)\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

