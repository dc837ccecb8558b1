/* SPDX-License-Identifier: MIT */
/*
 * guestmem-vhost-blk: a vhost-user-blk back-end whose every guest-memory
 * access goes through guestmem, including vIOMMU (IOTLB) and Xen grants.
 *
 * It serves one front-end connection at a time and
 * waits for the next when one ends, so a front-end that reconnects (or a
 * back-end restarted after a crash, with QEMU's reconnect) carries on.
 *
 * Signals (blk_signals.c): SIGUSR1 prints the counters; SIGTERM and
 * SIGINT end the connection in progress (its requests in flight finish
 * first), print the totals and exit 0. The command line is blk_cli.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blk_cli.h"

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

/*
 * The serving loop's state, shared with the signal thread: SIGTERM shuts
 * the listening socket down (accept() fails) and the connection in
 * progress (its message loop sees the end, stops its queues, which finish
 * every request in flight, and returns). conn is swapped under lock so
 * that the signal thread never shuts down an fd number already reused.
 */
typedef struct blk_server {
    gm_vhost_dev *dev;
    const blk_device *b;
    int listen_fd;
    pthread_mutex_t lock;
    int conn;                     /* the connection being served, or -1 */
    bool stopping;                /* under lock */
} blk_server;

static void server_stop(void *opaque)
{
    blk_server *srv = opaque;

    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    if (srv->listen_fd >= 0)
        shutdown(srv->listen_fd, SHUT_RDWR);
    if (srv->conn >= 0)
        shutdown(srv->conn, SHUT_RDWR);
    pthread_mutex_unlock(&srv->lock);
}

/* Serve @conn to its end; false if the process is stopping. */
static bool serve_one(blk_server *srv, int conn)
{
    bool stopping;

    pthread_mutex_lock(&srv->lock);
    stopping = srv->stopping;
    srv->conn = stopping ? -1 : conn;
    pthread_mutex_unlock(&srv->lock);
    if (stopping) {
        close(conn);
        return false;
    }
    fprintf(stderr, "guestmem-vhost-blk: front-end connected\n");
    gm_vhost_dev_run(srv->dev, conn);   /* closes conn */
    pthread_mutex_lock(&srv->lock);
    srv->conn = -1;
    stopping = srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    fprintf(stderr, "guestmem-vhost-blk: front-end disconnected\n");
    blk_stats_write("stats", srv->dev, srv->b);
    return !stopping;
}

static bool server_stopping(blk_server *srv)
{
    bool stopping;

    pthread_mutex_lock(&srv->lock);
    stopping = srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    return stopping;
}

/* Accept connections on a listening socket, one at a time. Returns the
 * exit status: 0 after --once or a signal, 1 when accept() fails. */
static int serve(blk_server *srv, bool once)
{
    for (;;) {
        int conn = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (conn < 0 && errno == EINTR)
            continue;
        if (conn < 0) {
            if (server_stopping(srv))
                return 0;
            perror("guestmem-vhost-blk: accept");
            return 1;
        }
        if (!serve_one(srv, conn) || once)
            return 0;
    }
}

/* --fd (or socket activation) may be a listening socket or a connected one. */
static bool is_listening(int fd)
{
    int listening = 0;
    socklen_t len = sizeof(listening);

    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

static int listen_socket(const blk_options *o)
{
    gm_vhost_socket_opts so = { o->socket_mode, o->socket_gid };
    int fd;

    if (!o->socket_path)
        return o->fd;
    fd = gm_vhost_listen_as(o->socket_path, &so);
    if (fd < 0)
        fprintf(stderr, "guestmem-vhost-blk: cannot listen on %s: %s\n", o->socket_path,
                strerror(-fd));
    return fd;
}

static void print_banner(const blk_options *o, const blk_device *b)
{
    fprintf(stderr, "guestmem-vhost-blk: serving %s (%llu MiB%s, %u queue%s%s, %s, cache=%s) on "
            "%s\n",
            o->file ? o->file : "RAM disk", (unsigned long long)(b->disk.size >> 20),
            b->disk.readonly ? ", read-only" : "", o->queues, o->queues > 1 ? "s" : "",
            o->iommu ? ", IOMMU offered" : "", b->engine->name,
            o->cache == BLK_CACHE_NONE ? "none" : o->cache == BLK_CACHE_DIRECTSYNC ? "directsync"
                                                                                 : "writeback",
            o->socket_path ? o->socket_path : "fd");
}

static int run(const blk_options *o, blk_device *b)
{
    gm_vhost_config cfg = { .num_queues = o->queues, .config_size = BLK_CONFIG_SIZE,
                            .offer_iommu = o->iommu, .grants = o->grants,
                            .require_sealed = o->require_sealed };
    gm_vhost_device_ops ops = *blk_device_ops();
    blk_server srv = { .b = b, .listen_fd = -1, .conn = -1 };
    blk_signals *sig;
    int fd, ret;

    ops.features = blk_device_features(b);
    srv.dev = gm_vhost_dev_new(&cfg, &ops, b);
    if (!srv.dev) {
        perror("guestmem-vhost-blk: device");
        return 1;
    }
    gm_system_set_log(gm_vhost_dev_system(srv.dev), log_line, NULL, o->verbose);
    fd = listen_socket(o);
    if (fd < 0) {
        gm_vhost_dev_free(srv.dev);
        return 1;
    }
    print_banner(o, b);
    pthread_mutex_init(&srv.lock, NULL);
    srv.listen_fd = o->socket_path || is_listening(fd) ? fd : -1;
    sig = blk_signals_start(srv.dev, b, server_stop, &srv);
    if (srv.listen_fd >= 0) {
        ret = serve(&srv, o->once);
    } else {
        serve_one(&srv, fd);
        ret = 0;
    }
    blk_signals_stop(sig);
    pthread_mutex_destroy(&srv.lock);
    gm_vhost_dev_free(srv.dev);
    return ret;
}

int main(int argc, char **argv)
{
    blk_device b = { 0 };
    blk_options o;
    int ret;

    signal(SIGPIPE, SIG_IGN);
    blk_signals_block();   /* before any thread exists: they all inherit it */
    if (blk_parse_args(argc, argv, &o))
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
