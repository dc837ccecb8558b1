/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the vhost-user back-end fed a hostile front-end's whole
 * message sequence, file descriptors included.
 *
 * For each input: a device (1 to 4 queues; optionally offering
 * VIRTIO_F_IOMMU_PLATFORM and emulated XEN_MMAP grant regions) with a
 * trivial virtio device behind it, a socketpair, every message of the
 * input written into one end with its fds (SCM_RIGHTS), that end shut down
 * for writing, and gm_vhost_dev_run() on the other end until it returns.
 * The front-end never reads its replies; they stay in the socket. The device
 * pops every chain a kicked queue offers, maps it, touches every byte,
 * unmaps, pushes and notifies, so memory tables, rings, the IOTLB, the dirty
 * log and in-flight tracking all reach guest memory the fuzzer wrote.
 *
 * Up to four connections per input, one after the other on the same
 * device (as a back-end process serves front-end after front-end): the
 * messages of each connection are written before it is served, and after
 * each one ends the process must hold exactly the fds and shared-file
 * mappings it held before the first (nothing of a connection survives it).
 *
 * Input: byte 0 configures the device, byte 1 the IOTLB miss timeout (1 to
 * 4 ms: no update ever comes, the front-end is not listening), then
 * messages, where a request byte of 0xff ends the connection instead:
 *
 *   request (1 byte), flags (1 byte: version 1 and NEED_REPLY unless bit 7
 *   asks for raw bits), fd count (low 2 bits), per fd a kind and an
 *   argument byte (memfds also take a content length and that many bytes,
 *   copied to their start), payload size (2 bytes, little endian), payload
 *   (padded with zeros when the input ends; at most 1 KiB is sent)
 *
 * fd kinds: guest memory memfd (1 to 16 pages, optionally sealed against
 * shrinking), nonblocking eventfd, blocking eventfd (each optionally
 * signalled), a socket whose peer is closed, /dev/null, an emulated grant
 * table over the last guest memfd with its entries granted, an in-flight
 * area memfd (optionally sealed), an empty memfd, a socket whose peer
 * never reads (a front-end that does not service the back-end channel).
 *
 * Checked: no crash, hang (libFuzzer -timeout), leak or sanitizer report,
 * gm_vhost_dev_run() returns, no fd or mapping of a connection is left once
 * it ended, and no file descriptor is left open once the device is freed. GM_FUZZ_VERBOSE=1 prints the device's counters (to see
 * what a seed reaches).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <guestmem/guestmem.h>
#include <guestmem/vhost.h>

#define PAGE 4096u
#define MAX_FDS 3u
#define MAX_PAYLOAD 1024u
#define MAX_MESSAGES 64u
#define MAX_CONNECTIONS 4u
#define END_CONNECTION 0xffu
#define GRANT_DOMID 0

#define FUZZ_ASSERT(c) ((c) ? (void)0 : abort())

typedef struct input {
    const uint8_t *p;
    size_t left;
} input;

typedef struct front {
    int sock;                  /* our end */
    int last_guest_fd;         /* -1, or a dup of the last guest memfd sent */
    int deaf[4];               /* peers of the deaf sockets sent, closed at the end */
    unsigned int ndeaf;
    uint64_t last_guest_size;
} front;

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static uint8_t get8(input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/* ---- the device behind the protocol --------------------------------- */

static int dev_get_config(void *opaque, uint8_t *config, uint32_t offset, uint32_t len)
{
    (void)opaque;
    for (uint32_t i = 0; i < len; i++)
        config[i] = (uint8_t)(offset + i);
    return 0;
}

static void touch_element(gm_virtq *vq, gm_virtq_elem *e, gm_virtq_iov *v, uint32_t *written)
{
    volatile uint8_t sink = 0;

    *written = 0;
    if (gm_virtq_iov_map(vq, e, v) != 0)
        return;
    for (unsigned int k = 0; k < v->out_cnt + v->in_cnt; k++) {
        uint8_t *p = v->iov[k].iov_base;

        if (k < v->out_cnt) {
            for (size_t i = 0; i < v->iov[k].iov_len; i += 512)
                sink ^= p[i];
        } else {
            memset(p, 0x42, v->iov[k].iov_len);
            *written += (uint32_t)v->iov[k].iov_len;
        }
    }
    (void)sink;
    gm_virtq_iov_unmap(vq, e, v, *written);
}

/* Runs on the queue's thread: complete everything the driver offers. */
static void dev_handle(void *opaque, gm_vhost_queue *q)
{
    gm_virtq_seg seg[64];
    struct iovec iov[64];
    gm_virtq_elem e = { .seg = seg, .seg_max = 64 };
    gm_virtq_iov v = { .iov = iov, .max = 64 };
    uint32_t written;

    (void)opaque;
    for (int i = 0; i < 64 && gm_vhost_queue_pop(q, &e) == 1; i++) {
        touch_element(gm_vhost_queue_virtq(q), &e, &v, &written);
        gm_vhost_queue_push(q, &e, written < e.in_len ? written : e.in_len);
        gm_vhost_queue_notify(q);
    }
}

static const gm_vhost_device_ops dev_ops = {
    .features = 1ull << 1 | 1ull << 9,
    .get_config = dev_get_config,
    .handle = dev_handle,
};

/* ---- file descriptors a front-end may send --------------------------- */

/* A memfd of @size bytes whose first bytes come from the input. */
static int memfd_from_input(input *in, uint64_t size, bool seal)
{
    int fd = memfd_create("fuzz-vhost", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    uint8_t len = get8(in), buf[256];

    FUZZ_ASSERT(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
    for (unsigned int i = 0; i < len; i++)
        buf[i] = get8(in);
    if (len && pwrite(fd, buf, len < size ? len : size, 0) < 0)
        abort();
    if (seal)
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    return fd;
}

static int eventfd_signalled(uint8_t arg, int flags)
{
    int fd = eventfd(0, EFD_CLOEXEC | flags);

    FUZZ_ASSERT(fd >= 0);
    if (arg & 1)
        FUZZ_ASSERT(eventfd_write(fd, 1) == 0);
    return fd;
}

static int closed_socket(void)
{
    int sv[2];

    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    close(sv[1]);
    return sv[0];
}

/* A socket whose peer stays open but never reads, with the smallest send
 * buffer: a front-end that does not service the back-end channel. */
static int deaf_socket(front *fr)
{
    int sv[2], small = 1;

    if (fr->ndeaf == sizeof(fr->deaf) / sizeof(fr->deaf[0]))
        return closed_socket();
    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    fr->deaf[fr->ndeaf++] = sv[1];
    return sv[0];
}

/* An emulated grant table over the last guest memory sent, all granted. */
static int grant_table(front *fr, uint8_t arg)
{
    unsigned int n = 1 + arg % 16;
    gm_gnttab_emu *gt;
    int fd;

    if (fr->last_guest_fd < 0) {
        fr->last_guest_fd = memfd_create("fuzz-vhost-guest", MFD_CLOEXEC);
        fr->last_guest_size = 4 * PAGE;
        FUZZ_ASSERT(fr->last_guest_fd >= 0 &&
                    ftruncate(fr->last_guest_fd, (off_t)fr->last_guest_size) == 0);
    }
    gt = gm_gnttab_emu_create(n, fr->last_guest_fd, fr->last_guest_size, GRANT_DOMID);
    FUZZ_ASSERT(gt);
    for (unsigned int ref = 0; ref < n; ref++)
        gm_gnttab_emu_grant(gt, ref, GRANT_DOMID, ref % (fr->last_guest_size / PAGE),
                            arg & 0x80);
    fd = dup(gm_gnttab_emu_fd(gt));
    gm_gnttab_emu_free(gt);
    return fd;
}

static int make_fd(front *fr, input *in)
{
    uint8_t kind = get8(in), arg = get8(in);
    int fd;

    switch (kind % 9) {
    case 0:
        fd = memfd_from_input(in, (uint64_t)(1 + arg % 16) * PAGE, arg & 0x80);
        if (fr->last_guest_fd >= 0)
            close(fr->last_guest_fd);
        fr->last_guest_fd = dup(fd);
        fr->last_guest_size = (uint64_t)(1 + arg % 16) * PAGE;
        return fd;
    case 1: return eventfd_signalled(arg, EFD_NONBLOCK);
    case 2: return eventfd_signalled(arg, 0);
    case 3: return closed_socket();
    case 4: return open("/dev/null", O_RDWR | O_CLOEXEC);
    case 5: return grant_table(fr, arg);
    case 6: return memfd_from_input(in, (uint64_t)(arg & 0x7f) * 256, arg & 0x80);
    case 7: return memfd_from_input(in, 0, false);
    default: return deaf_socket(fr);
    }
}

/* ---- messages --------------------------------------------------------- */

static void send_message(front *fr, const uint32_t hdr[3], const uint8_t *payload, size_t len,
                         const int *fds, unsigned int nfds)
{
    char control[CMSG_SPACE(MAX_FDS * sizeof(int))];
    struct iovec iov[2] = { { (void *)hdr, 12 }, { (void *)payload, len } };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

    if (nfds) {
        struct cmsghdr *c;

        memset(control, 0, sizeof(control));
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    /* The socket buffer holds every message of an input (at most 64 KiB). */
    FUZZ_ASSERT(sendmsg(fr->sock, &mh, MSG_NOSIGNAL) == (ssize_t)(12 + len));
}

static void message(front *fr, input *in, uint8_t request)
{
    uint8_t flags = get8(in);
    unsigned int nfds = get8(in) % (MAX_FDS + 1);
    uint8_t payload[MAX_PAYLOAD];
    int fds[MAX_FDS];
    uint32_t hdr[3];
    size_t len;

    for (unsigned int i = 0; i < nfds; i++)
        fds[i] = make_fd(fr, in);
    hdr[0] = request;
    hdr[1] = (flags & 0x80) ? flags & 0x7f : 1u | (flags & 8);
    hdr[2] = get8(in);
    hdr[2] |= (uint32_t)get8(in) << 8;
    len = hdr[2] < MAX_PAYLOAD ? hdr[2] : MAX_PAYLOAD;
    for (size_t i = 0; i < len; i++)
        payload[i] = get8(in);
    send_message(fr, hdr, payload, len, fds, nfds);
    for (unsigned int i = 0; i < nfds; i++)
        close(fds[i]);
}

/* Open fds, pipes excepted: a sanitizer runtime may start its symbolizer
 * (two pipes) at any time, and nothing here sends or makes pipes. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    FUZZ_ASSERT(d);
    while ((e = readdir(d)) != NULL) {
        char path[64], target[64];
        ssize_t len;

        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        len = readlink(path, target, sizeof(target) - 1);
        n += len < 5 || strncmp(target, "pipe:", 5) != 0;
    }
    closedir(d);
    return n;
}

/* Mappings of shared files (memfds, /dev/shm, deleted files) in this
 * process: guest memory, grant tables, logs, in-flight areas. */
static int shared_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;

    FUZZ_ASSERT(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, "memfd:") || strstr(line, "/dev/shm/") || strstr(line, "(deleted)");
    fclose(f);
    return n;
}

/* The fds the front-end side of this program holds between connections. */
static int front_fds(const front *fr)
{
    return (fr->last_guest_fd >= 0) + (int)fr->ndeaf;
}

/* One connection: its messages (up to an END_CONNECTION byte) written,
 * then served until the device returns. */
static void connection(front *fr, input *in, gm_vhost_dev *dev)
{
    int sv[2];

    FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    fr->sock = sv[0];
    for (unsigned int i = 0; i < MAX_MESSAGES && in->left; i++) {
        uint8_t request = get8(in);

        if (request == END_CONNECTION)
            break;
        message(fr, in, request);
    }
    FUZZ_ASSERT(shutdown(fr->sock, SHUT_WR) == 0);
    gm_vhost_dev_run(dev, sv[1]);
    close(fr->sock);
}

static void check_no_residue(const front *fr, int fds_base, int maps_base, unsigned int conn)
{
    int fds = open_fds() - front_fds(fr), maps = shared_mappings();

    if (fds != fds_base || maps != maps_base) {
        fprintf(stderr, "fuzz_vhost: after connection %u the device holds %d fds and %d shared "
                "mappings; before the first %d and %d\n", conn, fds, maps, fds_base, maps_base);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = { data, size };
    uint8_t cfg_byte = get8(&in), timeout = get8(&in);
    gm_vhost_config cfg = {
        .num_queues = 1 + (cfg_byte & 3),
        .config_size = 64,
        .offer_iommu = cfg_byte & 4,
        .grants = (cfg_byte & 8) ? GM_VHOST_GRANTS_EMULATED : GM_VHOST_GRANTS_NONE,
        .iotlb_miss_timeout_ms = 1 + timeout % 4,
    };
    front fr = { .last_guest_fd = -1 };
    int fds_before = open_fds(), fds_base, maps_base;
    gm_vhost_dev *dev;

    dev = gm_vhost_dev_new(&cfg, &dev_ops, NULL);
    FUZZ_ASSERT(dev);
    gm_system_set_log(gm_vhost_dev_system(dev), quiet, NULL, false);
    fds_base = open_fds();
    maps_base = shared_mappings();
    for (unsigned int conn = 0; conn < MAX_CONNECTIONS && (conn == 0 || in.left); conn++) {
        connection(&fr, &in, dev);
        check_no_residue(&fr, fds_base, maps_base, conn);
    }
    if (getenv("GM_FUZZ_VERBOSE")) {
        gm_vhost_stats st;

        gm_vhost_dev_get_stats(dev, &st);
        fprintf(stderr, "fuzz_vhost: %lu messages, %lu requests, %lu notifications, "
                "%lu IOTLB updates, %lu misses\n", (unsigned long)st.messages,
                (unsigned long)st.requests, (unsigned long)st.notifications,
                (unsigned long)st.iotlb_updates, (unsigned long)st.iotlb_misses);
    }
    gm_vhost_dev_free(dev);
    if (fr.last_guest_fd >= 0)
        close(fr.last_guest_fd);
    for (unsigned int i = 0; i < fr.ndeaf; i++)
        close(fr.deaf[i]);
    if (open_fds() != fds_before) {
        fprintf(stderr, "fuzz_vhost: %d file descriptors leaked\n", open_fds() - fds_before);
        abort();
    }
    return 0;
}
