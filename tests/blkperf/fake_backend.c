/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user-blk back-end that misbehaves on purpose, for the negative
 * tests of guestmem-blkperf: blkperf must end every one of these with a
 * clear error and a non-zero exit, in bounded time.
 *
 *   fake_backend SOCKET MODE
 *
 * Modes, each about one thing the front-end must not trust:
 *   close      accept the connection and close it at once
 *   mute       accept and read, never reply (a stalled negotiation)
 *   badreply   answer GET_FEATURES with the reply of another request
 *   badconfig  answer GET_CONFIG with a payload of the wrong size
 *   stall      negotiate, then never use a buffer
 *   nosignal   use each buffer correctly-looking but never signal the call eventfd
 *   badid      use a buffer id that is not in flight
 *   badlen     report more bytes written than the request has room for
 *   nostatus   use the buffer without writing its status byte
 *   die        exit when the first request arrives
 *
 * Only what these modes need is implemented: one split queue, the memory
 * table, the available and used rings. It serves one connection and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS 8
#define FLAG_REPLY (1u << 2)
#define FLAG_NEED_REPLY (1u << 3)

typedef struct hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed)) hdr;

typedef struct region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uaddr;
    uint64_t offset;
} __attribute__((packed)) region;

typedef struct fake {
    const char *mode;
    int sock;
    int kick;
    int call;
    unsigned int nregions;
    region regions[MAX_REGIONS];
    uint8_t *maps[MAX_REGIONS];
    uint16_t num;
    uint64_t desc_ua;
    uint64_t avail_ua;
    uint64_t used_ua;
    uint16_t last_avail;
    uint16_t used_idx;
} fake;

static bool is(const fake *f, const char *m)
{
    return !strcmp(f->mode, m);
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1)) {
        perror("fake_backend: listen");
        exit(2);
    }
    return s;
}

static int read_msg(fake *f, hdr *h, uint8_t *payload, int *fds, unsigned int *nfds)
{
    char control[CMSG_SPACE(MAX_REGIONS * sizeof(int))];
    struct iovec iov = { h, sizeof(*h) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof(control) };
    ssize_t n = recvmsg(f->sock, &mh, MSG_WAITALL);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

    *nfds = 0;
    if (n != sizeof(*h) || h->size > 4096)
        return -1;
    if (cm && cm->cmsg_type == SCM_RIGHTS) {
        *nfds = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
    }
    return h->size && recv(f->sock, payload, h->size, MSG_WAITALL) != (ssize_t)h->size ? -1 : 0;
}

static void reply(fake *f, uint32_t req, const void *payload, uint32_t size)
{
    hdr h = { req, 1u | FLAG_REPLY, size };

    if (write(f->sock, &h, sizeof(h)) != sizeof(h) || (size && write(f->sock, payload, size) != size))
        exit(3);
}

static void reply_u64(fake *f, uint32_t req, uint64_t v)
{
    reply(f, req, &v, sizeof(v));
}

static void *ua_to_ptr(const fake *f, uint64_t ua)
{
    for (unsigned int i = 0; i < f->nregions; i++)
        if (ua >= f->regions[i].uaddr && ua - f->regions[i].uaddr < f->regions[i].size)
            return f->maps[i] + f->regions[i].offset + (ua - f->regions[i].uaddr);
    fprintf(stderr, "fake_backend: user address 0x%llx is in no region\n", (unsigned long long)ua);
    exit(4);
}

static void *gpa_to_ptr(const fake *f, uint64_t gpa)
{
    for (unsigned int i = 0; i < f->nregions; i++)
        if (gpa >= f->regions[i].gpa && gpa - f->regions[i].gpa < f->regions[i].size)
            return f->maps[i] + f->regions[i].offset + (gpa - f->regions[i].gpa);
    exit(4);
}

static void set_mem_table(fake *f, const uint8_t *p, const int *fds, unsigned int nfds)
{
    uint32_t n;

    memcpy(&n, p, sizeof(n));
    f->nregions = n < nfds && n < MAX_REGIONS ? n : nfds;
    memcpy(f->regions, p + 8, f->nregions * sizeof(region));
    for (unsigned int i = 0; i < f->nregions; i++) {
        f->maps[i] = mmap(NULL, f->regions[i].offset + f->regions[i].size,
                          PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
        if (f->maps[i] == MAP_FAILED)
            exit(5);
    }
}

static void config(fake *f, const uint8_t *p)
{
    uint8_t buf[12 + 60] = { 0 };
    uint64_t sectors = 2048;   /* a 1 MiB disk */
    uint32_t size;

    memcpy(buf, p, 12);
    memcpy(&size, p + 4, sizeof(size));
    memcpy(buf + 12, &sectors, sizeof(sectors));
    reply(f, 24, buf, is(f, "badconfig") ? 12 + size - 4 : 12 + size);
}

/* One front-end message: replies where the protocol (or the mode) wants one. */
static void handle(fake *f, const hdr *h, const uint8_t *p, const int *fds, unsigned int nfds)
{
    uint64_t u;

    switch (h->request) {
    case 1:  /* GET_FEATURES: VERSION_1 and PROTOCOL_FEATURES */
        reply_u64(f, is(f, "badreply") ? 15 : 1, (1ull << 32) | (1ull << 30));
        return;
    case 15: reply_u64(f, 15, (1ull << 3) | (1ull << 9)); return;   /* REPLY_ACK, CONFIG */
    case 24: config(f, p); return;
    case 5: set_mem_table(f, p, fds, nfds); break;
    case 8: memcpy(&u, p, 8); f->num = (uint16_t)(u >> 32); break;
    case 9:
        memcpy(&f->desc_ua, p + 8, 8);
        memcpy(&f->used_ua, p + 16, 8);
        memcpy(&f->avail_ua, p + 24, 8);
        break;
    case 12: f->kick = nfds ? fds[0] : -1; break;
    case 13: f->call = nfds ? fds[0] : -1; break;
    default: break;
    }
    if (h->flags & FLAG_NEED_REPLY)
        reply_u64(f, h->request, 0);
}

/* The status byte: the last descriptor of the (direct) chain at @head. */
static uint8_t *status_byte(const fake *f, uint16_t head)
{
    const uint8_t *desc = ua_to_ptr(f, f->desc_ua);
    uint16_t i = head, flags;
    uint64_t gpa;

    for (unsigned int n = 0; n < f->num; n++) {
        memcpy(&flags, desc + 16 * i + 12, 2);
        if (!(flags & 1))
            break;
        memcpy(&i, desc + 16 * (i % f->num) + 14, 2);
        i %= f->num;
    }
    memcpy(&gpa, desc + 16 * i, 8);
    return gpa_to_ptr(f, gpa);
}

/* Use the available head @head the way the mode says. */
static void use(fake *f, uint16_t head)
{
    uint16_t *used = ua_to_ptr(f, f->used_ua);
    uint32_t *elem = (uint32_t *)(used + 2) + 2 * (f->used_idx % f->num);
    uint64_t one = 1;

    if (is(f, "die"))
        exit(0);
    if (is(f, "stall"))
        return;
    if (!is(f, "nostatus"))
        *status_byte(f, head) = 0;
    elem[0] = is(f, "badid") ? (uint32_t)f->num + 7 : head;
    elem[1] = is(f, "badlen") ? 0x10000000u : 1;
    __atomic_store_n(&used[1], ++f->used_idx, __ATOMIC_RELEASE);
    if (!is(f, "nosignal") && write(f->call, &one, sizeof(one)) < 0)
        exit(6);
}

static void kicked(fake *f)
{
    uint16_t *avail = ua_to_ptr(f, f->avail_ua);
    uint64_t v;

    if (read(f->kick, &v, sizeof(v)) < 0)
        return;
    while (f->last_avail != __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE))
        use(f, avail[2 + f->last_avail++ % f->num]);
}

/* Handle one front-end message if one is there within @timeout_ms; false if none. */
static bool one_message(fake *f, int timeout_ms)
{
    struct pollfd pfd = { f->sock, POLLIN, 0 };
    uint8_t payload[4096];
    int fds[MAX_REGIONS];
    unsigned int nfds;
    hdr h;

    if (poll(&pfd, 1, timeout_ms) <= 0)
        return false;
    if (read_msg(f, &h, payload, fds, &nfds))
        exit(0);    /* the front-end went away */
    if (!is(f, "mute"))
        handle(f, &h, payload, fds, nfds);
    return true;
}

/* Messages first: a kick may be seen before the SET_VRING_CALL sent ahead of it is read. */
static void serve(fake *f)
{
    for (;;) {
        struct pollfd pfd[2] = { { f->sock, POLLIN, 0 }, { f->kick, POLLIN, 0 } };

        if (poll(pfd, 2, -1) < 0)
            exit(7);
        while (one_message(f, 0))
            ;
        if (pfd[1].revents & POLLIN)
            kicked(f);
    }
}

int main(int argc, char **argv)
{
    fake f = { .kick = -1, .call = -1 };
    int ls;

    if (argc != 3) {
        fprintf(stderr, "usage: fake_backend SOCKET MODE\n");
        return 2;
    }
    f.mode = argv[2];
    ls = listen_on(argv[1]);
    f.sock = accept(ls, NULL, NULL);
    if (f.sock < 0)
        return 2;
    if (is(&f, "close"))
        return 0;
    serve(&f);
    return 0;
}
