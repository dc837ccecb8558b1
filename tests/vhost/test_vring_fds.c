/* SPDX-License-Identifier: MIT */
/*
 * The message thread against a queue thread, over the fields both touch:
 * a front-end pipelines SET_VRING_ERR, SET_FEATURES and SET_VRING_KICK
 * (no REPLY_ACK, so the back-end reads them back to back) 100 times against
 * a ring whose available index is wild. Each SET_VRING_KICK starts a queue
 * thread that finds the ring broken and signals the error eventfd, while
 * the message thread is already replacing that eventfd and rewriting the
 * features for the next round.
 *
 * Checked: the last round's break is reported on the last error eventfd;
 * the back-end refuses nothing, and it returns when the front-end closes.
 * Under ThreadSanitizer (scripts/tsan.sh) the point is the absence of a
 * data race report: before err_fd and features had an owner, both raced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <guestmem/guestmem.h>
#include <guestmem/vhost.h>

#include "check.h"
#include "vu_client.h"

#define ROUNDS 100u
#define RAM_BYTES (64u << 10)
#define QSIZE 8u
#define DESC_OFF 0x0u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x2000u
#define SET_VRING_ERR 14

typedef struct run {
    gm_vhost_dev *dev;
    int sock;
    int ret;
} run;

static int get_config(void *opaque, uint8_t *config, uint32_t offset, uint32_t len)
{
    (void)opaque;
    memset(config, 0, len);
    (void)offset;
    return 0;
}

static void handle(void *opaque, gm_vhost_queue *q)
{
    gm_virtq_seg seg[4];
    gm_virtq_elem e = { .seg = seg, .seg_max = 4 };

    (void)opaque;
    while (gm_vhost_queue_pop(q, &e) == 1)
        gm_vhost_queue_push(q, &e, 0);
}

static const gm_vhost_device_ops ops = { .get_config = get_config, .handle = handle };

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static void *message_thread(void *arg)
{
    run *r = arg;

    r->ret = gm_vhost_dev_run(r->dev, r->sock);
    return NULL;
}

static void set_mem_table(vuc *c, int fd, uint8_t *ram)
{
    struct {
        uint32_t nregions, padding;
        uint64_t gpa, size, uaddr, offset;
    } __attribute__((packed)) mt = { 1, 0, 0, RAM_BYTES, (uint64_t)(uintptr_t)ram, 0 };

    CHECK(vuc_send(c, VUC_SET_MEM_TABLE, false, &mt, sizeof(mt), &fd, 1) == 0, "SET_MEM_TABLE");
}

static void set_ring(vuc *c, uint8_t *ram)
{
    vuc_state num = { 0, QSIZE }, base = { 0, 0 };
    vuc_vring_addr addr = { .index = 0,
                            .desc = (uint64_t)(uintptr_t)(ram + DESC_OFF),
                            .used = (uint64_t)(uintptr_t)(ram + USED_OFF),
                            .avail = (uint64_t)(uintptr_t)(ram + AVAIL_OFF) };

    CHECK(vuc_send(c, VUC_SET_VRING_NUM, false, &num, sizeof(num), NULL, 0) == 0, "NUM");
    CHECK(vuc_send(c, VUC_SET_VRING_ADDR, false, &addr, sizeof(addr), NULL, 0) == 0, "ADDR");
    CHECK(vuc_send(c, VUC_SET_VRING_BASE, false, &base, sizeof(base), NULL, 0) == 0, "BASE");
}

static void test_err_fd_race(void)
{
    int sv[2], ram_fd = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    gm_vhost_config cfg = { .num_queues = 1, .config_size = 8 };
    int err_fds[ROUNDS], kick_fds[ROUNDS];
    uint64_t features = 1ull << VUC_F_VERSION_1, index = 0, v;
    unsigned int signalled = 0;
    pthread_t th;
    uint8_t *ram;
    vuc c;
    run r;

    CHECK(ram_fd >= 0 && ftruncate(ram_fd, RAM_BYTES) == 0, "memfd");
    CHECK(fcntl(ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal");
    ram = mmap(NULL, RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
    CHECK(ram != MAP_FAILED, "mmap");
    memset(ram, 0, RAM_BYTES);
    ram[AVAIL_OFF + 2] = 200;   /* avail->idx 200 ahead of a ring of 8: broken */
    r.dev = gm_vhost_dev_new(&cfg, &ops, NULL);
    CHECK(r.dev, "device");
    gm_system_set_log(gm_vhost_dev_system(r.dev), quiet, NULL, false);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    r.sock = sv[1];
    c = (vuc){ .sock = sv[0], .timeout_ms = 30000 };
    CHECK(pthread_create(&th, NULL, message_thread, &r) == 0, "message thread");

    CHECK(vuc_send(&c, VUC_SET_FEATURES, false, &features, sizeof(features), NULL, 0) == 0,
          "SET_FEATURES");
    set_mem_table(&c, ram_fd, ram);
    set_ring(&c, ram);
    for (unsigned int i = 0; i < ROUNDS; i++) {
        err_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        kick_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        CHECK(err_fds[i] >= 0 && kick_fds[i] >= 0, "eventfd");
        CHECK(vuc_send(&c, SET_VRING_ERR, false, &index, sizeof(index), &err_fds[i], 1) == 0,
              "SET_VRING_ERR");
        CHECK(vuc_send(&c, VUC_SET_FEATURES, false, &features, sizeof(features), NULL, 0) == 0,
              "SET_FEATURES");
        CHECK(vuc_send(&c, VUC_SET_VRING_KICK, false, &index, sizeof(index), &kick_fds[i], 1) ==
                  0,
              "SET_VRING_KICK");
    }
    /* The last round's thread has no later message to race: it must
     * report the break on the last error eventfd. */
    {
        struct pollfd pfd = { err_fds[ROUNDS - 1], POLLIN, 0 };

        CHECK(poll(&pfd, 1, 10000) == 1, "the last round's break was signalled");
    }
    /* GET_VRING_BASE answers once every message before it was handled. */
    CHECK(vuc_send(&c, VUC_GET_VRING_BASE, false, &index, sizeof(index), NULL, 0) == 0, "GET");
    CHECK(vuc_recv(&c, VUC_GET_VRING_BASE, &v, sizeof(v)) == 0, "GET_VRING_BASE reply");
    close(c.sock);
    pthread_join(th, NULL);
    CHECK(r.ret == 0, "the device refused a message: %s", strerror(-r.ret));
    for (unsigned int i = 0; i < ROUNDS; i++) {
        signalled += read(err_fds[i], &v, sizeof(v)) == sizeof(v);
        close(err_fds[i]);
        close(kick_fds[i]);
    }
    /* A round's thread signals the fd current when it found the break, if
     * it got that far before the next round stopped it: the last one did. */
    CHECK(signalled >= 1 && signalled <= ROUNDS, "%u error signals", signalled);
    printf("# %u of %u rounds signalled their own error eventfd\n", signalled, ROUNDS);
    gm_vhost_dev_free(r.dev);
    munmap(ram, RAM_BYTES);
    close(ram_fd);
}

int main(void)
{
    RUN(test_err_fd_race);
    return 0;
}
