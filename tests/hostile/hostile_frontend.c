/* SPDX-License-Identifier: MIT */
/*
 * e2e-hostile-guest: guestmem-vhost-blk against a guest driver that breaks
 * every rule of the split ring and of virtio-blk, one request at a time.
 *
 * This program is both the vhost-user front-end (vu_client.c, written from
 * the spec) and the guest driver, over plain shared memory (a memfd, no Xen;
 * hostile.h has the memory layout). It starts the back-end on a listening
 * socket passed with --fd, so one back-end process serves every connection
 * of a run, and a RAM disk whose expected content it shadows.
 *
 * Two runs: a back-end without --iommu (descriptors carry guest physical
 * addresses) and one with --iommu where the front-end negotiates
 * VIRTIO_F_IOMMU_PLATFORM and answers the back-end's IOTLB misses itself,
 * from its own IOVA table, on the back-end channel (SET_BACKEND_REQ_FD).
 *
 * Every malformed request is submitted alone and must end in one of:
 *
 * - a completion with VIRTIO_BLK_S_IOERR or _UNSUPP in its status byte (the
 *   last byte of the writable buffers) and used.len 1;
 * - a completion with used.len 0 when the chain has no writable byte that
 *   could hold a status (the device cannot report anything else);
 * - for violations of the ring itself (loops, bad indices, bad indirect
 *   tables, lengths past the chain limit, a wild avail->idx), no completion:
 *   the device stops the queue (virtio 1.x 2.1.2 lets it) until the ring is
 *   set up again. Service is then restored in turn by GET_VRING_BASE and a
 *   fresh ring, by RESET_DEVICE, or by a new connection; GET_VRING_BASE must
 *   show that the bad chain was not consumed.
 *
 * After each, the back-end process must be alive, no byte of guest RAM
 * outside the request's writable buffers and the used ring may have changed
 * (RAM is compared with a snapshot taken before the kick; for a queue that
 * broke, only the used ring is exempt), and a correct WRITE, its READ back
 * and a READ of the range refused WRITEs aimed at must all complete with OK
 * and the data the disk must hold.
 *
 * At the end the listening socket is shut down, which makes the back-end's
 * accept() fail: it leaves through its normal teardown (so LeakSanitizer
 * runs in a sanitizer build) with exit status 1. Its stderr is kept in a
 * memfd and searched for sanitizer reports; the test fails on any.
 *
 * After every disconnect, once the back-end logged the end of the
 * connection, it must hold exactly the fds and shared-file mappings it held
 * before the first connection (nothing of a connection survives it).
 *
 * Usage: hostile_frontend PATH-TO-guestmem-vhost-blk [plain|iommu|stall|tenants]...
 * (default: all four; "tenants" is hostile_tenants.c; "stall" checks that
 * requests with untranslatable buffers hold the queue, and GET_VRING_BASE
 * with such requests queued waits, no longer than a bound of the miss
 * timeout, see hs_cases_stall())
 * Environment: HOSTILE_SEED=N replays a run (the seed is printed);
 * HOSTILE_LOG=1 copies the back-end's log to stderr after each run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hostile.h"

#define WAIT_MS 5000
#define BREAK_WAIT_MS 300
#define STUCK_WAIT_MS 500
#define POISON 0xa5u

typedef struct hs_iotlb {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
    uint8_t type;
    uint8_t padding[6];
} __attribute__((packed)) hs_iotlb;

typedef struct hs_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} __attribute__((packed)) hs_region;

_Static_assert(sizeof(hs_iotlb) == 32, "vhost_iotlb_msg");
_Static_assert(sizeof(hs_region) == 32, "VhostUserMemoryRegion");

static hs *current;

/* ---- utilities ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t hs_rnd(hs *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);   /* splitmix64 */

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rnd_fill(hs *s, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = hs_rnd(s);

        memcpy(p + i, &v, len - i < 8 ? len - i : 8);
    }
}

/* The back-end's stderr so far from @from on, NUL-terminated (free it). */
static char *backend_log(hs *s, off_t from)
{
    struct stat st;
    char *buf;
    ssize_t n;

    if (s->log_fd < 0 || fstat(s->log_fd, &st) < 0 || st.st_size <= from)
        return NULL;
    buf = malloc((size_t)(st.st_size - from) + 1);
    if (!buf)
        return NULL;
    n = pread(s->log_fd, buf, (size_t)(st.st_size - from), from);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static off_t log_size(hs *s)
{
    struct stat st;

    return s->log_fd >= 0 && fstat(s->log_fd, &st) == 0 ? st.st_size : 0;
}

static void dump_backend_log(hs *s, const char *why)
{
    char *buf = backend_log(s, 0), *line, *save = NULL;
    unsigned int n = 0;

    if (!buf)
        return;
    fflush(stdout);
    fprintf(stderr, "hostile: back-end log (%s), last lines:\n", why);
    for (line = buf; *line; line++)
        n += *line == '\n';
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (n-- <= 60)
            fprintf(stderr, "  | %s\n", line);
    }
    free(buf);
}

static const char *const sanitizer_marks[] = {
    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
    "UndefinedBehaviorSanitizer", "WARNING: ThreadSanitizer",
};

static void check_no_sanitizer_report(hs *s)
{
    char *buf = backend_log(s, 0);

    for (unsigned int i = 0; buf && i < sizeof(sanitizer_marks) / sizeof(sanitizer_marks[0]);
         i++) {
        if (strstr(buf, sanitizer_marks[i])) {
            free(buf);
            dump_backend_log(s, "sanitizer report");
            CHECK(0, "run %s: the back-end's stderr has a sanitizer report (%s)", s->name,
                  sanitizer_marks[i]);
        }
    }
    free(buf);
}

static void kill_child(hs *s)
{
    if (s->child > 0) {
        kill(s->child, SIGKILL);
        waitpid(s->child, NULL, 0);
        s->child = -1;
    }
}

static void at_exit_cleanup(void)
{
    if (current && current->child > 0) {
        kill_child(current);
        dump_backend_log(current, "test failed");
    }
}

static void on_alarm(int sig)
{
    static const char msg[] = "hostile: global timeout, giving up\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    exit(1);   /* at_exit_cleanup kills the back-end and shows its log */
}

static void check_alive(hs *s, const char *after)
{
    int status;
    pid_t p = waitpid(s->child, &status, WNOHANG);

    if (p == s->child) {
        s->child = -1;
        dump_backend_log(s, "back-end died");
        CHECK(0, "back-end exited after \"%s\" (status 0x%x%s%s)", after, status,
              WIFSIGNALED(status) ? ", signal " : "",
              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "");
    }
    CHECK(p == 0, "waitpid: %s", strerror(errno));
}

#define VU_OK(expr, what)                                                         \
    do {                                                                          \
        int err_ = (expr);                                                        \
        CHECK(err_ == 0, "%s: %s", (what), strerror(-err_));                     \
    } while (0)

/* ---- guest memory ------------------------------------------------------------------ */

/* memfd offset of @gpa, or -1 outside both regions. */
static int64_t ram_off(uint64_t gpa)
{
    if (gpa < HS_R0_GPA + HS_REGION_BYTES)
        return (int64_t)gpa;
    if (gpa >= HS_R1_GPA && gpa - HS_R1_GPA < HS_REGION_BYTES)
        return (int64_t)(gpa - HS_R1_GPA + HS_REGION_BYTES);
    return -1;
}

uint64_t hs_dma(const hs *s, uint64_t gpa)
{
    return s->iommu ? HS_IOVA_BASE + gpa : gpa;
}

/* The guest physical address behind driver address @dma (window only). */
static bool dma_to_gpa(const hs *s, uint64_t dma, uint64_t *gpa)
{
    if (!s->iommu) {
        *gpa = dma;
        return true;
    }
    if (dma < HS_IOVA_BASE)
        return false;
    *gpa = dma - HS_IOVA_BASE;
    return true;
}

uint8_t *hs_host(hs *s, uint64_t dma, uint64_t len)
{
    uint64_t gpa;
    int64_t off;

    if (!dma_to_gpa(s, dma, &gpa) || (off = ram_off(gpa)) < 0)
        return NULL;
    if (len && (ram_off(gpa + len - 1) != off + (int64_t)len - 1 || gpa + len - 1 < gpa))
        return NULL;
    return s->ram + off;
}

static uint8_t *gpa_host(hs *s, uint64_t gpa)
{
    return s->ram + ram_off(gpa);
}

uint64_t hs_buf(hs *s, int region, uint32_t len, uint32_t align, uint8_t fill)
{
    uint64_t *next = region ? &s->alloc1 : &s->alloc0;
    uint64_t limit = region ? HS_R1_GPA + HS_REGION_BYTES : HS_R0_GPA + HS_REGION_BYTES;
    uint64_t gpa;

    if (!align)   /* anywhere in a page, 8-byte aligned */
        gpa = ((*next + HS_PAGE - 1) & ~(uint64_t)(HS_PAGE - 1)) + (hs_rnd(s) % HS_PAGE & ~7ull);
    else
        gpa = (*next + align - 1) & ~(uint64_t)(align - 1);
    CHECK(gpa + len <= limit, "region %d buffers exhausted", region);
    *next = gpa + (len ? len : 1);
    memset(gpa_host(s, gpa), fill, len);
    return hs_dma(s, gpa);
}

static void reset_allocators(hs *s)
{
    s->alloc0 = HS_DATA0_GPA;
    s->alloc1 = HS_DATA1_GPA;
}

/* ---- the back-end process ------------------------------------------------------------ */

/* The back-end's command line: the listening fd, the run's RAM disk size
 * and options. Static storage: called in the child only. */
static const char *const *backend_argv(const hs *s, const char *fdstr)
{
    static const char *argv[16];
    unsigned int n = 0;

    argv[n++] = s->exe;
    argv[n++] = "--fd";
    argv[n++] = fdstr;
    argv[n++] = "--ram-size";
    argv[n++] = s->ram_size ? s->ram_size : "8M";
    argv[n++] = s->offer_iommu ? "--iommu" : "--no-iommu";
    for (unsigned int i = 0; s->extra_args[i] && n < 15; i++)
        argv[n++] = s->extra_args[i];
    argv[n] = NULL;
    return argv;
}

static void start_backend(hs *s)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len = sizeof(sa_family_t);

    /* A listening socket with an autobound abstract name: no file to clean up. */
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(s->listen_fd >= 0, "socket: %s", strerror(errno));
    CHECK(bind(s->listen_fd, (struct sockaddr *)&sa, len) == 0, "bind: %s", strerror(errno));
    CHECK(listen(s->listen_fd, 1) == 0, "listen: %s", strerror(errno));
    len = sizeof(s->addr);
    CHECK(getsockname(s->listen_fd, (struct sockaddr *)&s->addr, &len) == 0, "getsockname: %s",
          strerror(errno));
    s->addrlen = len;
    s->log_fd = memfd_create("hostile-backend-log", MFD_CLOEXEC);
    CHECK(s->log_fd >= 0, "memfd: %s", strerror(errno));
    fflush(NULL);
    s->child = fork();
    CHECK(s->child >= 0, "fork: %s", strerror(errno));
    if (s->child == 0) {
        char fdstr[16];
        int fd = dup(s->listen_fd);   /* the only fd the back-end inherits */

        if (fd < 0 || dup2(s->log_fd, 2) < 0)
            _exit(127);
        snprintf(fdstr, sizeof(fdstr), "%d", fd);
        execv(s->exe, (char **)backend_argv(s, fdstr));
        _exit(127);
    }
}

/* Shut the listening socket down: accept() fails and the back-end leaves
 * through its teardown. Returns its exit status. */
static int stop_backend(hs *s)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int status = 0;
    pid_t p;

    shutdown(s->listen_fd, SHUT_RDWR);
    while ((p = waitpid(s->child, &status, WNOHANG)) == 0 && now_ms() < deadline)
        usleep(10000);
    if (p != s->child) {
        printf("hostile:   the back-end did not leave after shutdown(); SIGTERM\n");
        kill(s->child, SIGTERM);
        waitpid(s->child, &status, 0);
    }
    s->child = -1;
    close(s->listen_fd);
    return status;
}

/* ---- the back-end channel: IOTLB misses --------------------------------------------- */

static int read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;

    while (len) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        int r = poll(&pfd, 1, timeout_ms);
        ssize_t n;

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r ? -errno : -ETIMEDOUT;
        n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n ? -errno : -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Our IOVA table: per-page overrides, then the window over both regions. */
static bool iommu_lookup(hs *s, uint64_t iova, uint64_t *uaddr, uint8_t *perm)
{
    uint64_t page = iova & ~(uint64_t)(HS_PAGE - 1);
    uint8_t *host;

    for (unsigned int i = 0; i < s->nov; i++) {
        if (s->ov[i].iova == page) {
            if (!s->ov[i].perm)
                return false;
            *perm = s->ov[i].perm;
            host = hs_host(s, page, HS_PAGE);
            if (!host)
                return false;
            *uaddr = (uint64_t)(uintptr_t)host;
            return true;
        }
    }
    host = hs_host(s, page, HS_PAGE);
    if (!host)
        return false;
    *uaddr = (uint64_t)(uintptr_t)host;
    *perm = HS_ACCESS_RW;
    return true;
}

static void iotlb_send(hs *s, uint64_t iova, uint64_t size, uint64_t uaddr, uint8_t perm,
                       uint8_t type)
{
    hs_iotlb m = { .iova = iova, .size = size, .uaddr = uaddr, .perm = perm, .type = type };

    VU_OK(vuc_call(&s->vu, HS_IOTLB_MSG, &m, sizeof(m), NULL, 0), "IOTLB_MSG");
}

/* Answer every miss the back-end has sent so far. */
static void serve_misses(hs *s)
{
    while (s->backend_fd >= 0) {
        struct pollfd pfd = { s->backend_fd, POLLIN, 0 };
        struct {
            uint32_t request, flags, size;
        } __attribute__((packed)) hdr;
        hs_iotlb m;
        uint64_t uaddr;
        uint8_t perm;
        int err;

        if (poll(&pfd, 1, 0) <= 0)
            return;
        err = read_exact(s->backend_fd, &hdr, sizeof(hdr), 2000);
        if (err == -ECONNRESET) {
            close(s->backend_fd);
            s->backend_fd = -1;
            return;
        }
        CHECK(err == 0, "back-end channel: %s", strerror(-err));
        CHECK(hdr.request == HS_BACKEND_IOTLB_MSG && hdr.size == sizeof(m) &&
                  (hdr.flags & 3u) == 1u,
              "back-end channel: request %u flags 0x%x size %u", hdr.request, hdr.flags,
              hdr.size);
        VU_OK(read_exact(s->backend_fd, &m, sizeof(m), 2000), "back-end channel payload");
        CHECK(m.type == HS_IOTLB_MISS, "back-end channel: IOTLB message type %u", m.type);
        CHECK(m.perm >= 1 && m.perm <= 3, "IOTLB miss with permission %u", m.perm);
        if (iommu_lookup(s, m.iova, &uaddr, &perm) && (perm & m.perm) == m.perm) {
            iotlb_send(s, m.iova & ~(uint64_t)(HS_PAGE - 1), HS_PAGE, uaddr, perm,
                       HS_IOTLB_UPDATE);
            s->misses_answered++;
        } else {
            s->misses_refused++;   /* the IOMMU has no such translation: say nothing */
        }
    }
}

void hs_iommu_invalidate(hs *s, uint64_t dma, uint64_t len)
{
    uint64_t first = dma & ~(uint64_t)(HS_PAGE - 1);
    uint64_t last = (dma + len - 1 < dma ? UINT64_MAX : dma + len - 1) | (HS_PAGE - 1);

    /* [0, 2^64) has no size: the largest is 2^64 - 1 */
    iotlb_send(s, first, last - first + 1 ? last - first + 1 : UINT64_MAX, 0, 0,
               HS_IOTLB_INVALIDATE);
    s->invalidations_sent++;
}

void hs_iommu_set(hs *s, uint64_t dma, uint64_t len, uint8_t perm)
{
    for (uint64_t p = dma & ~(uint64_t)(HS_PAGE - 1); p < dma + len; p += HS_PAGE) {
        unsigned int i;

        for (i = 0; i < s->nov && s->ov[i].iova != p; i++)
            ;
        if (i == s->nov) {
            CHECK(s->nov < HS_MAX_OVERRIDES, "too many IOVA overrides");
            s->nov++;
        }
        s->ov[i] = (hs_override){ p, perm };
    }
    hs_iommu_invalidate(s, dma, len);
}

void hs_iommu_reset(hs *s)
{
    for (unsigned int i = 0; i < s->nov; i++)
        hs_iommu_invalidate(s, s->ov[i].iova, HS_PAGE);
    s->nov = 0;
}

/* ---- the vhost-user session ---------------------------------------------------------- */

static uint64_t wanted_features(const hs *s)
{
    return 1ull << VUC_F_VERSION_1 | 1ull << VUC_F_PROTOCOL_FEATURES |
           1ull << HS_F_INDIRECT_DESC | 1ull << HS_BLK_F_SEG_MAX | 1ull << HS_BLK_F_BLK_SIZE |
           1ull << HS_BLK_F_FLUSH | 1ull << HS_BLK_F_DISCARD | 1ull << HS_BLK_F_WRITE_ZEROES |
           (s->iommu ? 1ull << VUC_F_IOMMU_PLATFORM : 0);
}

static void set_features(hs *s)
{
    uint64_t want = wanted_features(s);

    VU_OK(vuc_call(&s->vu, VUC_SET_FEATURES, &want, sizeof(want), NULL, 0), "SET_FEATURES");
}

static void negotiate(hs *s, uint64_t extra_proto)
{
    uint64_t features, proto, want_proto;

    VU_OK(vuc_get_u64(&s->vu, VUC_GET_FEATURES, &features), "GET_FEATURES");
    CHECK((features & wanted_features(s)) == wanted_features(s),
          "features 0x%" PRIx64 " lack some of 0x%" PRIx64, features, wanted_features(s));
    CHECK(!(features & (1ull << VUC_F_IOMMU_PLATFORM)) == !s->offer_iommu,
          "IOMMU_PLATFORM %soffered", s->offer_iommu ? "not " : "");
    VU_OK(vuc_get_u64(&s->vu, VUC_GET_PROTOCOL_FEATURES, &proto), "GET_PROTOCOL_FEATURES");
    want_proto = 1ull << VUC_PF_REPLY_ACK | 1ull << VUC_PF_CONFIG | 1ull << HS_PF_RESET_DEVICE |
                 (s->iommu ? 1ull << HS_PF_BACKEND_REQ : 0) | extra_proto;
    CHECK((proto & want_proto) == want_proto, "protocol features 0x%" PRIx64 " lack 0x%" PRIx64,
          proto, want_proto);
    VU_OK(vuc_call(&s->vu, VUC_SET_PROTOCOL_FEATURES, &want_proto, sizeof(want_proto), NULL, 0),
          "SET_PROTOCOL_FEATURES");
    s->vu.protocol_features = want_proto;   /* every call is acked from here on */
    VU_OK(vuc_call(&s->vu, VUC_SET_OWNER, NULL, 0, NULL, 0), "SET_OWNER");
    set_features(s);
    if (s->iommu) {
        int sv[2];

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s",
              strerror(errno));
        VU_OK(vuc_call(&s->vu, HS_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1),
              "SET_BACKEND_REQ_FD");
        close(sv[1]);
        s->backend_fd = sv[0];
    }
}

static void set_mem_table(hs *s)
{
    struct {
        uint32_t nregions;
        uint32_t padding;
        hs_region regions[2];
    } __attribute__((packed)) mt = {
        .nregions = 2,
        .regions = {
            { HS_R0_GPA, HS_REGION_BYTES, (uint64_t)(uintptr_t)s->ram, 0 },
            { HS_R1_GPA, HS_REGION_BYTES, (uint64_t)(uintptr_t)(s->ram + HS_REGION_BYTES),
              HS_REGION_BYTES },
        },
    };
    int fds[2] = { s->mem_fd, s->mem_fd };

    VU_OK(vuc_call(&s->vu, VUC_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2), "SET_MEM_TABLE");
}

/* A ring address as SET_VRING_ADDR wants it: a user address, or an IOVA. */
static uint64_t ring_addr(hs *s, uint64_t gpa)
{
    return s->iommu ? HS_IOVA_BASE + gpa : (uint64_t)(uintptr_t)gpa_host(s, gpa);
}

static void setup_ring(hs *s)
{
    vuc_state num = { 0, HS_QSIZE }, base = { 0, 0 }, enable = { 0, 1 };
    vuc_vring_addr addr = {
        .index = 0,
        .desc = ring_addr(s, HS_DESC_GPA),
        .used = ring_addr(s, HS_USED_GPA),
        .avail = ring_addr(s, HS_AVAIL_GPA),
    };
    uint64_t index = 0;

    memset(gpa_host(s, HS_DESC_GPA), 0, 16 * HS_QSIZE);
    memset(gpa_host(s, HS_AVAIL_GPA), 0, 6 + 2 * HS_QSIZE);
    memset(gpa_host(s, HS_USED_GPA), 0, HS_USED_BYTES + 2);
    s->avail_idx = s->used_seen = 0;
    if (s->kick_fd >= 0)
        close(s->kick_fd);
    if (s->call_fd >= 0)
        close(s->call_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(s->kick_fd >= 0 && s->call_fd >= 0 && s->err_fd >= 0, "eventfd: %s", strerror(errno));
    VU_OK(vuc_call(&s->vu, VUC_SET_VRING_NUM, &num, sizeof(num), NULL, 0), "SET_VRING_NUM");
    VU_OK(vuc_call(&s->vu, VUC_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0), "SET_VRING_ADDR");
    VU_OK(vuc_call(&s->vu, VUC_SET_VRING_BASE, &base, sizeof(base), NULL, 0), "SET_VRING_BASE");
    VU_OK(vuc_call(&s->vu, VUC_SET_VRING_CALL, &index, sizeof(index), &s->call_fd, 1),
          "SET_VRING_CALL");
    VU_OK(vuc_call(&s->vu, HS_SET_VRING_ERR, &index, sizeof(index), &s->err_fd, 1),
          "SET_VRING_ERR");
    VU_OK(vuc_call(&s->vu, VUC_SET_VRING_KICK, &index, sizeof(index), &s->kick_fd, 1),
          "SET_VRING_KICK");
    VU_OK(vuc_call(&s->vu, VUC_SET_VRING_ENABLE, &enable, sizeof(enable), NULL, 0),
          "SET_VRING_ENABLE");
}

/* ---- what a connection leaves behind ---------------------------------------------- */

/* Open fds of the back-end, and its mappings of shared files (guest RAM,
 * grant tables, the log, the in-flight area: memfds, /dev/shm, deleted
 * files). Anonymous mappings are left out: allocator arenas of threads that
 * came and went stay, and they hold nothing of a front-end. */
static void count_residue(hs *s, unsigned int *fds, unsigned int *maps)
{
    char path[64], line[512];
    DIR *d;
    FILE *f;

    *fds = *maps = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)s->child);
    d = opendir(path);
    CHECK(d, "%s: %s", path, strerror(errno));
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        *fds += e->d_name[0] != '.';
    closedir(d);
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)s->child);
    f = fopen(path, "r");
    CHECK(f, "%s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), f))
        *maps += strstr(line, "memfd:") || strstr(line, "/dev/shm/") || strstr(line, "(deleted)");
    fclose(f);
}

static unsigned int count_in_log(hs *s, const char *needle)
{
    char *log = backend_log(s, 0);
    unsigned int n = 0;

    for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* Before the first connection: what the back-end holds of its own. */
static void take_baseline(hs *s)
{
    int64_t deadline = now_ms() + WAIT_MS;

    while (!count_in_log(s, "guestmem-vhost-blk: serving") && now_ms() < deadline)
        usleep(5000);
    CHECK(count_in_log(s, "guestmem-vhost-blk: serving"), "the back-end did not start");
    count_residue(s, &s->base_fds, &s->base_maps);
    s->have_base = true;
}

/* After a disconnect, once the back-end has torn the connection down: the
 * same fds and shared mappings as before the first connection. */
static void check_no_residue(hs *s)
{
    int64_t deadline = now_ms() + 3 * WAIT_MS;
    unsigned int fds, maps;

    while (count_in_log(s, "front-end disconnected") <= s->disconnects && now_ms() < deadline)
        usleep(2000);
    check_alive(s, "a disconnect");
    CHECK(count_in_log(s, "front-end disconnected") > s->disconnects,
          "the back-end did not finish with the connection");
    s->disconnects = count_in_log(s, "front-end disconnected");
    count_residue(s, &fds, &maps);
    CHECK(fds == s->base_fds && maps == s->base_maps,
          "after disconnect %u the back-end holds %u fds and %u shared mappings; before the "
          "first connection %u and %u",
          s->disconnects, fds, maps, s->base_fds, s->base_maps);
    s->residue_checks++;
}

static void connect_bare(hs *s, uint64_t extra_proto)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (!s->have_base)
        take_baseline(s);

    CHECK(fd >= 0, "socket: %s", strerror(errno));
    CHECK(connect(fd, (struct sockaddr *)&s->addr, s->addrlen) == 0, "connect: %s",
          strerror(errno));
    s->vu = (vuc){ .sock = fd, .timeout_ms = WAIT_MS };
    s->backend_fd = -1;
    s->nov = 0;
    s->connections++;
    negotiate(s, extra_proto);
}

static void connect_session(hs *s)
{
    connect_bare(s, 0);
    set_mem_table(s);
}

static void disconnect_session(hs *s)
{
    close(s->vu.sock);
    s->vu.sock = -1;
    if (s->backend_fd >= 0)
        close(s->backend_fd);
    s->backend_fd = -1;
    check_no_residue(s);
}

void hs_connect(hs *s, uint64_t extra_proto)
{
    connect_bare(s, extra_proto);
}

void hs_connect_standard(hs *s, uint64_t extra_proto)
{
    connect_bare(s, extra_proto);
    set_mem_table(s);
    setup_ring(s);
    reset_allocators(s);
}

void hs_disconnect(hs *s)
{
    disconnect_session(s);
}

int hs_call(hs *s, uint32_t req, const void *payload, uint32_t size, const int *fds,
            unsigned int nfds)
{
    return vuc_call(&s->vu, req, payload, size, fds, nfds);
}

uint64_t hs_features(const hs *s)
{
    return wanted_features(s);
}

void hs_check_alive(hs *s, const char *after)
{
    check_alive(s, after);
}

off_t hs_log_mark(hs *s)
{
    return log_size(s);
}

bool hs_log_has(hs *s, off_t mark, const char *needle)
{
    char *log = backend_log(s, mark);
    bool found = log && strstr(log, needle);

    free(log);
    return found;
}

static uint16_t used_idx(hs *s);

/* GET_VRING_BASE: stops the queue; returns the next avail index it would
 * have popped. */
static uint16_t get_vring_base(hs *s)
{
    vuc_state st = { 0, 0 };

    VU_OK(vuc_send(&s->vu, VUC_GET_VRING_BASE, false, &st, sizeof(st), NULL, 0),
          "GET_VRING_BASE");
    VU_OK(vuc_recv(&s->vu, VUC_GET_VRING_BASE, &st, sizeof(st)), "GET_VRING_BASE reply");
    CHECK(st.index == 0 && st.num <= 0xffff, "GET_VRING_BASE reply { %u, %u }", st.index, st.num);
    return (uint16_t)st.num;
}

int64_t hs_stop_timed(hs *s)
{
    int64_t t0 = now_ms();
    int saved = s->vu.timeout_ms;

    s->vu.timeout_ms = 300000;
    get_vring_base(s);
    s->vu.timeout_ms = saved;
    /* Requests the device finished while stopping (with IOERR: their
     * buffers do not translate) count in its totals. */
    s->stop_completions += (uint16_t)(used_idx(s) - s->used_seen);
    return now_ms() - t0;
}

/* ---- the rings ---------------------------------------------------------------------- */

static uint16_t used_idx(hs *s)
{
    return __atomic_load_n((uint16_t *)(void *)gpa_host(s, HS_USED_GPA + 2), __ATOMIC_ACQUIRE);
}

static void write_desc(hs *s, unsigned int slot, const hs_desc *d, uint16_t next)
{
    uint8_t *p = gpa_host(s, HS_DESC_GPA + 16ull * slot);

    memcpy(p, &d->addr, 8);
    memcpy(p + 8, &d->len, 4);
    memcpy(p + 12, &d->flags, 2);
    memcpy(p + 14, &next, 2);
}

void hs_put_table(hs *s, uint64_t table, const hs_desc *d, unsigned int n)
{
    uint8_t *p = hs_host(s, table, 16ull * n);

    CHECK(p, "indirect table outside RAM");
    for (unsigned int i = 0; i < n; i++, p += 16) {
        memcpy(p, &d[i].addr, 8);
        memcpy(p + 8, &d[i].len, 4);
        memcpy(p + 12, &d[i].flags, 2);
        memcpy(p + 14, &d[i].next, 2);
    }
}

/* Wait until used->idx reaches @target, answering IOTLB misses meanwhile. */
static bool wait_used(hs *s, uint16_t target, int ms)
{
    int64_t deadline = now_ms() + ms;

    for (;;) {
        struct pollfd pfd[2] = { { s->call_fd, POLLIN, 0 }, { s->backend_fd, POLLIN, 0 } };
        int64_t left;
        uint64_t v;

        serve_misses(s);
        if (used_idx(s) == target)
            return true;
        left = deadline - now_ms();
        if (left <= 0)
            return false;
        poll(pfd, s->backend_fd >= 0 ? 2 : 1, left < 20 ? (int)left : 20);
        while (read(s->call_fd, &v, sizeof(v)) == sizeof(v))
            ;
    }
}

/* Wait until the back-end's log has a line with @needle after @mark,
 * answering misses meanwhile. */
static bool wait_log(hs *s, off_t mark, const char *needle, int ms)
{
    int64_t deadline = now_ms() + ms;

    for (;;) {
        char *log = backend_log(s, mark);
        bool found = log && strstr(log, needle);

        free(log);
        if (found)
            return true;
        if (now_ms() >= deadline)
            return false;
        wait_used(s, (uint16_t)(used_idx(s) + 0x8000), 20);
    }
}

bool hs_wait_refused_miss(hs *s, int ms)
{
    unsigned int before = s->misses_refused;
    int64_t deadline = now_ms() + ms;

    while (s->misses_refused == before && now_ms() < deadline)
        wait_used(s, (uint16_t)(used_idx(s) + 0x8000), 20);
    return s->misses_refused != before;
}

/* Put the chain in the ring and publish it (plus @extra on avail->idx). */
static void publish(hs *s, hs_req *q, uint16_t extra)
{
    unsigned int base = s->desc_base;
    uint16_t *ring = (uint16_t *)(void *)gpa_host(s, HS_AVAIL_GPA + 4);
    uint16_t idx;

    CHECK(q->nd <= HS_QSIZE, "chain of %u descriptors", q->nd);
    for (unsigned int i = 0; i < q->nd; i++) {
        uint16_t next = q->d[i].raw_next ? q->d[i].next
                                         : (uint16_t)((base + q->d[i].next) % HS_QSIZE);

        write_desc(s, (base + i) % HS_QSIZE, &q->d[i], next);
    }
    q->head = q->raw_head ? q->head_raw : (uint16_t)base;
    ring[s->avail_idx % HS_QSIZE] = q->head;
    s->desc_base = (base + (q->nd ? q->nd : 1)) % HS_QSIZE;
    /* RAM as the driver left it, before the device can see the request. */
    memcpy(s->snap, s->ram, HS_RAM_BYTES);
    idx = (uint16_t)(s->avail_idx + 1 + extra);
    __atomic_store_n((uint16_t *)(void *)gpa_host(s, HS_AVAIL_GPA + 2), idx, __ATOMIC_RELEASE);
    memcpy(s->snap + HS_AVAIL_GPA + 2, &idx, 2);
    s->avail_idx++;
}

static void kick(hs *s)
{
    uint64_t one = 1;

    CHECK(write(s->kick_fd, &one, sizeof(one)) == sizeof(one), "kick: %s", strerror(errno));
}

void hs_submit(hs *s, hs_req *q)
{
    publish(s, q, q->idx_extra);
    kick(s);
}

void hs_restart_ring(hs *s)
{
    setup_ring(s);
    reset_allocators(s);
}

/* Accept the device's writes to [gpa, gpa + len) (clipped to RAM). */
static void accept_range(hs *s, uint64_t gpa, uint64_t len)
{
    static const uint64_t regions[2][2] = { { HS_R0_GPA, HS_REGION_BYTES },
                                            { HS_R1_GPA, HS_REGION_BYTES } };
    uint64_t last = len ? (gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1) : 0;

    if (!len)
        return;
    for (unsigned int r = 0; r < 2; r++) {
        uint64_t lo = gpa > regions[r][0] ? gpa : regions[r][0];
        uint64_t hi = last < regions[r][0] + regions[r][1] - 1 ? last
                                                               : regions[r][0] + regions[r][1] - 1;

        if (lo <= hi)
            memcpy(s->snap + ram_off(lo), s->ram + ram_off(lo), hi - lo + 1);
    }
}

/* Guest RAM unchanged since the snapshot, but for the used ring and @q's
 * writable buffers (none if @strict). */
static void check_ram(hs *s, hs_req *q, bool strict)
{
    accept_range(s, HS_USED_GPA, HS_USED_BYTES + 2);
    for (unsigned int i = 0; !strict && i < q->nwr; i++) {
        uint64_t gpa;

        if (dma_to_gpa(s, q->wr[i].dma, &gpa))
            accept_range(s, gpa, q->wr[i].len);
    }
    if (memcmp(s->snap, s->ram, HS_RAM_BYTES)) {
        size_t off = 0;

        while (s->snap[off] == s->ram[off])
            off++;
        CHECK(0, "%s: guest RAM changed outside the request's writable buffers: memfd offset "
                 "0x%zx (GPA 0x%" PRIx64 ") was 0x%02x, now 0x%02x",
              q->what, off,
              (uint64_t)(off < HS_REGION_BYTES ? off : HS_R1_GPA + off - HS_REGION_BYTES),
              s->snap[off], s->ram[off]);
    }
}

/* The break reason the back-end logged since @mark, if it did. */
static void check_reason(hs *s, hs_req *q, off_t mark)
{
    char *log = backend_log(s, mark), *line, *save = NULL;
    bool found = false;

    for (line = log ? strtok_r(log, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strstr(line, "virtq (size"))
            continue;
        if (q->reason && strstr(line, q->reason))
            found = true;
        else if (q->reason && !strstr(line, "suppressed"))
            CHECK(found, "%s: the queue broke for another reason: %s", q->what, line);
    }
    free(log);
    if (found)
        s->reasons_seen++;
    else
        s->reasons_unlogged++;   /* the log is rate-limited (10 guest errors a second) */
}

static void recover(hs *s, hs_req *q, uint16_t used_before)
{
    switch (q->recovery) {
    case HS_RECOVER_AUTO:
    case HS_RECOVER_RING: {
        uint16_t base = get_vring_base(s);

        CHECK(base == (uint16_t)(s->avail_idx - 1),
              "%s: GET_VRING_BASE says %u, want %u (the bad chain must not be consumed)",
              q->what, base, (uint16_t)(s->avail_idx - 1));
        CHECK(used_idx(s) == used_before, "%s: completed while the queue stopped", q->what);
        setup_ring(s);
        s->recover_ring++;
        break;
    }
    case HS_RECOVER_RESET:
        VU_OK(vuc_call(&s->vu, HS_RESET_DEVICE, NULL, 0, NULL, 0), "RESET_DEVICE");
        CHECK(used_idx(s) == used_before, "%s: completed while the device reset", q->what);
        /* The device forgot everything but the connection: as QEMU starts
         * a device, features, memory table, rings. */
        set_features(s);
        set_mem_table(s);
        setup_ring(s);
        s->recover_reset++;
        break;
    case HS_RECOVER_RECONNECT:
        disconnect_session(s);
        connect_session(s);   /* its first reply: the old connection is torn down */
        CHECK(used_idx(s) == used_before, "%s: completed after the disconnect", q->what);
        setup_ring(s);
        s->recover_reconnect++;
        break;
    }
}

void hs_req_init(hs_req *q, const char *what)
{
    memset(q, 0, sizeof(*q));
    q->what = what;
    q->expect = HS_EXPECT_STATUS;
    q->want_status = HS_S_OK;
}

unsigned int hs_add(hs_req *q, uint64_t addr, uint32_t len, uint16_t flags)
{
    unsigned int i = q->nd;

    CHECK(i < HS_MAX_DESC, "%s: too many descriptors", q->what);
    q->d[i] = (hs_desc){ addr, len, flags, (uint16_t)(i + 1), false };
    q->nd++;
    if ((flags & HS_DESC_WRITE) && !(flags & HS_DESC_INDIRECT))
        hs_note_writable(q, addr, len);
    return i;
}

void hs_note_writable(hs_req *q, uint64_t dma, uint32_t len)
{
    CHECK(q->nwr < HS_MAX_RANGES, "%s: too many writable ranges", q->what);
    q->wr[q->nwr++] = (hs_range){ dma, len };
}

uint64_t hs_header(hs *s, uint32_t type, uint64_t sector)
{
    uint64_t dma = hs_buf(s, 0, 16, 0, 0);
    uint8_t *p = hs_host(s, dma, 16);
    uint32_t reserved = 0;

    memcpy(p, &type, 4);
    memcpy(p + 4, &reserved, 4);
    memcpy(p + 8, &sector, 8);
    return dma;
}

uint64_t hs_status_buf(hs *s)
{
    return hs_buf(s, 0, 1, 0, 0xff);
}

void hs_std(hs *s, hs_req *q, uint32_t type, uint64_t sector, uint32_t len, int region)
{
    bool device_writes = type == HS_T_IN || type == HS_T_GET_ID;

    q->type = type;
    q->sector = sector;
    q->data_len = len;
    hs_add(q, hs_header(s, type, sector), 16, HS_DESC_NEXT);
    if (len) {
        uint64_t data = hs_buf(s, region, len, 0, POISON);

        if (!device_writes)
            rnd_fill(s, hs_host(s, data, len), len);
        hs_add(q, data, len, HS_DESC_NEXT | (device_writes ? HS_DESC_WRITE : 0));
        q->data[q->ndata++] = (hs_range){ data, len };
    }
    q->status_dma = hs_status_buf(s);
    hs_add(q, q->status_dma, 1, HS_DESC_WRITE);
}

static const char *status_name(uint8_t st)
{
    switch (st) {
    case HS_S_OK: return "OK";
    case HS_S_IOERR: return "IOERR";
    case HS_S_UNSUPP: return "UNSUPP";
    case 0xff: return "unwritten";
    default: return "?";
    }
}

/* A completed READ's data against the disk, a completed WRITE's into it. */
static void check_data(hs *s, hs_req *q)
{
    uint64_t off = q->sector * HS_SECTOR;

    for (unsigned int i = 0; i < q->ndata; i++) {
        uint8_t *p = hs_host(s, q->data[i].dma, q->data[i].len);

        CHECK(p && off + q->data[i].len <= HS_DISK_BYTES, "%s: data range", q->what);
        if (q->type == HS_T_IN)
            CHECK(!memcmp(p, s->disk + off, q->data[i].len),
                  "%s: READ data differs from the disk (sector %" PRIu64 ", range %u)", q->what,
                  q->sector, i);
        else if (q->type == HS_T_OUT)
            memcpy(s->disk + off, p, q->data[i].len);
        off += q->data[i].len;
    }
}

static void check_completion(hs *s, hs_req *q)
{
    uint8_t *e = gpa_host(s, HS_USED_GPA + 4 + 8ull * (s->used_seen % HS_QSIZE));
    uint32_t id;
    bool ok;

    memcpy(&id, e, 4);
    memcpy(&q->used_len, e + 4, 4);
    s->used_seen++;
    CHECK(id == q->head, "%s: used id %u, want head %u", q->what, id, q->head);
    q->status = q->status_dma ? *hs_host(s, q->status_dma, 1) : 0xff;
    switch (q->expect) {
    case HS_EXPECT_NO_STATUS:
        CHECK(q->used_len == 0, "%s: used.len %u with no writable byte for a status", q->what,
              q->used_len);
        s->nostatus++;
        return;
    case HS_EXPECT_OK_OR_IOERR:
        CHECK(q->status == HS_S_OK || q->status == HS_S_IOERR, "%s: status %u (%s)", q->what,
              q->status, status_name(q->status));
        break;
    case HS_EXPECT_STATUS:
        CHECK(q->status == q->want_status, "%s: status %u (%s), want %u (%s); used.len %u",
              q->what, q->status, status_name(q->status), q->want_status,
              status_name(q->want_status), q->used_len);
        break;
    case HS_EXPECT_BREAK:
        CHECK(0, "%s: completed (status %u, used.len %u) but should have stopped the queue",
              q->what, q->status, q->used_len);
    }
    ok = q->status == HS_S_OK;
    if (ok && q->type == HS_T_IN)
        CHECK(q->used_len == q->data_len + 1, "%s: used.len %u, want %u", q->what, q->used_len,
              q->data_len + 1);
    else if (!ok)
        CHECK(q->used_len == 1, "%s: used.len %u for an error (only the status byte)", q->what,
              q->used_len);
    if (ok)
        check_data(s, q);
    s->oks += ok;
    s->ioerrs += q->status == HS_S_IOERR;
    s->unsupps += q->status == HS_S_UNSUPP;
}

void hs_run(hs *s, hs_req *q)
{
    uint16_t used_before = used_idx(s);
    unsigned int refused_before = s->misses_refused;
    off_t mark = log_size(s);
    bool done;
    int64_t t0;

    CHECK(used_before == s->used_seen, "%s: used->idx %u before the request, want %u", q->what,
          used_before, s->used_seen);
    publish(s, q, q->idx_extra);
    t0 = now_ms();
    kick(s);
    if (q->after_kick)
        q->after_kick(s, q);
    done = wait_used(s, (uint16_t)(used_before + 1),
                     q->expect == HS_EXPECT_BREAK ? BREAK_WAIT_MS
                                                  : q->max_ms ? q->max_ms : WAIT_MS);
    /* A break that comes only after IOTLB misses time out: wait for the log. */
    if (!done && q->expect == HS_EXPECT_BREAK && q->max_ms)
        wait_log(s, mark, "virtq (size", q->max_ms);
    q->elapsed_ms = now_ms() - t0;
    q->misses_unanswered = s->misses_refused - refused_before;
    check_alive(s, q->what);
    if (q->expect == HS_EXPECT_BREAK) {
        CHECK(used_idx(s) == used_before, "%s: completed (status %u) but should have stopped "
              "the queue", q->what, q->status_dma ? *hs_host(s, q->status_dma, 1) : 0xff);
        check_ram(s, q, true);
        check_reason(s, q, mark);
        {
            uint64_t v;

            /* Reported, not required: the spec makes the error eventfd optional. */
            if (read(s->err_fd, &v, sizeof(v)) == sizeof(v))
                s->breaks_signalled++;
        }
        /* The queue stays stopped: a good request behind it is not served. */
        {
            hs_req good;

            hs_req_init(&good, "good request behind a broken queue");
            hs_std(s, &good, HS_T_IN, 0, HS_SECTOR, 0);
            publish(s, &good, 0);
            kick(s);
            CHECK(!wait_used(s, (uint16_t)(used_before + 1), BREAK_WAIT_MS / 3),
                  "%s: the queue went on after it broke", q->what);
            s->avail_idx--;   /* GET_VRING_BASE must still name the bad chain */
        }
        if (q->before_recover)
            q->before_recover(s, q);
        recover(s, q, used_before);
        s->breaks++;
    } else {
        CHECK(done, "%s: no completion within %d ms (the device hung or dropped it)", q->what,
              q->max_ms ? q->max_ms : WAIT_MS);
        CHECK(used_idx(s) == (uint16_t)(used_before + 1), "%s: used->idx moved by %u", q->what,
              (uint16_t)(used_idx(s) - used_before));
        check_completion(s, q);
        check_ram(s, q, false);
    }
    if (q->elapsed_ms > s->max_stall_ms && q->expect != HS_EXPECT_BREAK)
        s->max_stall_ms = q->elapsed_ms;
    check_alive(s, q->what);
    s->cases++;
    reset_allocators(s);
}

/* ---- correct requests ------------------------------------------------------------------ */

static uint64_t random_sector(hs *s, uint32_t sectors)
{
    for (;;) {
        uint64_t sector = hs_rnd(s) % (HS_DISK_SECTORS - sectors);

        if (sector + sectors <= HS_VICTIM_SECTOR ||
            sector >= HS_VICTIM_SECTOR + HS_VICTIM_SECTORS)
            return sector;
    }
}

void hs_valid_requests(hs *s)
{
    uint32_t sectors = 1 + (uint32_t)(hs_rnd(s) % 16), len = sectors * HS_SECTOR;
    uint32_t split = HS_SECTOR * (uint32_t)(hs_rnd(s) % sectors);
    uint64_t sector = random_sector(s, sectors);
    hs_req w, r, v;

    /* WRITE with data in region 1 then region 0 */
    hs_req_init(&w, "valid WRITE");
    w.type = HS_T_OUT;
    w.sector = sector;
    w.data_len = len;
    hs_add(&w, hs_header(s, HS_T_OUT, sector), 16, HS_DESC_NEXT);
    w.data[0] = (hs_range){ hs_buf(s, 1, len - split, 0, 0), len - split };
    w.data[1] = (hs_range){ hs_buf(s, 0, split, 0, 0), split };
    w.ndata = split ? 2 : 1;
    for (unsigned int i = 0; i < w.ndata; i++) {
        rnd_fill(s, hs_host(s, w.data[i].dma, w.data[i].len), w.data[i].len);
        hs_add(&w, w.data[i].dma, w.data[i].len, HS_DESC_NEXT);
    }
    w.status_dma = hs_status_buf(s);
    hs_add(&w, w.status_dma, 1, HS_DESC_WRITE);
    hs_run(s, &w);

    /* READ it back into region 0 then region 1 */
    hs_req_init(&r, "valid READ back");
    r.type = HS_T_IN;
    r.sector = sector;
    r.data_len = len;
    hs_add(&r, hs_header(s, HS_T_IN, sector), 16, HS_DESC_NEXT);
    r.data[0] = (hs_range){ hs_buf(s, 0, len - split, 0, POISON), len - split };
    r.data[1] = (hs_range){ hs_buf(s, 1, split, 0, POISON), split };
    r.ndata = split ? 2 : 1;
    for (unsigned int i = 0; i < r.ndata; i++)
        hs_add(&r, r.data[i].dma, r.data[i].len, HS_DESC_NEXT | HS_DESC_WRITE);
    r.status_dma = hs_status_buf(s);
    hs_add(&r, r.status_dma, 1, HS_DESC_WRITE);
    hs_run(s, &r);

    /* What refused WRITEs aimed at: still what the disk must hold. */
    hs_req_init(&v, "valid READ of the victim range");
    hs_std(s, &v, HS_T_IN, HS_VICTIM_SECTOR, HS_VICTIM_SECTORS * HS_SECTOR, 1);
    hs_run(s, &v);
    s->valid += 3;
}

/* ---- one run ------------------------------------------------------------------------- */

static void init_guest(hs *s)
{
    s->mem_fd = memfd_create("hostile-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(s->mem_fd >= 0, "memfd: %s", strerror(errno));
    CHECK(ftruncate(s->mem_fd, HS_RAM_BYTES) == 0, "ftruncate: %s", strerror(errno));
    CHECK(fcntl(s->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal: %s",
          strerror(errno));
    s->ram = mmap(NULL, HS_RAM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, s->mem_fd, 0);
    CHECK(s->ram != MAP_FAILED, "mmap: %s", strerror(errno));
    rnd_fill(s, s->ram, HS_RAM_BYTES);   /* no byte of RAM is zero by accident */
    s->snap = malloc(HS_RAM_BYTES);
    s->disk = calloc(1, HS_DISK_BYTES);   /* a fresh RAM disk reads as zeroes */
    CHECK(s->snap && s->disk, "out of memory");
    reset_allocators(s);
    s->kick_fd = s->call_fd = s->err_fd = -1;
}

static void fini_guest(hs *s)
{
    munmap(s->ram, HS_RAM_BYTES);
    close(s->mem_fd);
    free(s->snap);
    free(s->disk);
    if (s->kick_fd >= 0)
        close(s->kick_fd);
    if (s->call_fd >= 0)
        close(s->call_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
}

/*
 * The back-end left through its teardown (accept() failed: exit status 1,
 * then its closing line), and counted what the driver saw: every request it
 * popped (all but those that stopped the queue), and as errors every status
 * other than OK.
 */
static void check_totals(hs *s, int status)
{
    char *log = backend_log(s, 0);
    unsigned long long requests = ~0ull, errors = ~0ull;
    unsigned long long want_req = s->cases - s->breaks + s->stop_completions;
    unsigned long long want_err = s->ioerrs + s->unsupps + s->nostatus + s->stop_completions;

    for (const char *p = log; p && (p = strstr(p, "guestmem-vhost-blk: ")) != NULL; p++)
        sscanf(p, "guestmem-vhost-blk: %llu requests, %llu errors", &requests, &errors);
    free(log);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
          "back-end exit status 0x%x, want 1 (accept() failed, then its teardown)", status);
    CHECK(requests == want_req && errors == want_err,
          "back-end counted %llu requests, %llu errors; the driver %llu and %llu", requests,
          errors, want_req, want_err);
}

static void run_one(hs *s, uint64_t seed)
{
    int64_t t0 = now_ms();
    int status;
    char *log;

    current = s;
    s->rng = seed;
    s->child = -1;
    s->log_fd = -1;
    init_guest(s);
    start_backend(s);
    connect_session(s);
    setup_ring(s);
    hs_valid_requests(s);

    if (s->stall_only) {
        hs_cases_stall(s);
    } else if (s->tenants) {
        hs_cases_tenants(s);
    } else {
        hs_cases_chain(s);
        hs_cases_request(s);
        if (s->iommu)
            hs_cases_iommu(s);
        hs_cases_avail_jump(s);
    }

    /* A last connection from scratch must still work. */
    disconnect_session(s);
    connect_session(s);
    setup_ring(s);
    hs_valid_requests(s);
    disconnect_session(s);

    status = stop_backend(s);
    log = backend_log(s, 0);
    for (char *p = log ? strstr(log, "stats:") : NULL; p; p = strstr(p + 1, "stats:")) {
        char *end = strchr(p, '\n');

        if (!strstr(end ? end : "", "stats:"))
            printf("hostile:   back-end %.*s\n", end ? (int)(end - p) : (int)strlen(p), p);
    }
    free(log);
    check_no_sanitizer_report(s);
    if (getenv("HOSTILE_LOG"))
        dump_backend_log(s, "HOSTILE_LOG set");
    check_totals(s, status);
    printf("hostile: run %s: %u requests: %u stopped the queue (recovered: %u by ring "
           "restart, %u by RESET_DEVICE, %u by reconnect), %u IOERR, %u UNSUPP, %u with no "
           "status byte, %u OK (%u of them follow-up checks); %u connections; %lld ms\n",
           s->name, s->cases, s->breaks, s->recover_ring, s->recover_reset,
           s->recover_reconnect, s->ioerrs, s->unsupps, s->nostatus, s->oks, s->valid,
           s->connections, (long long)(now_ms() - t0));
    printf("hostile:   %u disconnects left no fd or shared mapping behind (baseline %u fds, "
           "%u mappings)\n",
           s->residue_checks, s->base_fds, s->base_maps);
    printf("hostile:   break reasons confirmed in the back-end log: %u (%u not logged: rate "
           "limit); breaks signalled on the vring error eventfd: %u; longest completion "
           "%lld ms",
           s->reasons_seen, s->reasons_unlogged, s->breaks_signalled,
           (long long)s->max_stall_ms);
    if (s->skipped)
        printf("; %u cases left out (untranslatable addresses: see hostile_cases.c)",
               s->skipped);
    if (s->offer_iommu)
        printf("; IOTLB misses answered %u, left unanswered %u, invalidations sent %u",
               s->misses_answered, s->misses_refused, s->invalidations_sent);
    printf("\n");
    close(s->log_fd);
    s->log_fd = -1;
    fini_guest(s);
    current = NULL;
}

int main(int argc, char **argv)
{
    const char *seed_env = getenv("HOSTILE_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL);
    bool want_plain = argc <= 2, want_iommu = argc <= 2, want_stall = argc <= 2;
    bool want_tenants = argc <= 2;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-guestmem-vhost-blk [plain|iommu|stall|tenants]...\n",
                argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "plain")) {
            want_plain = true;
        } else if (!strcmp(argv[i], "iommu")) {
            want_iommu = true;
        } else if (!strcmp(argv[i], "stall")) {
            want_stall = true;
        } else if (!strcmp(argv[i], "tenants")) {
            want_tenants = true;
        } else {
            fprintf(stderr, "%s: unknown run %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    atexit(at_exit_cleanup);
    alarm(115);
    printf("hostile: seed %" PRIu64 " (HOSTILE_SEED to replay)\n", seed);
    if (want_plain) {
        static hs plain = { .name = "plain" };

        plain.exe = argv[1];
        run_one(&plain, seed);
    }
    if (want_iommu) {
        static hs iommu = { .name = "iommu", .offer_iommu = true, .iommu = true };

        iommu.exe = argv[1];
        run_one(&iommu, seed + 1);
    }
    if (want_tenants) {
        /* A RAM disk over the DISCARD/WRITE_ZEROES maximum (16 MiB),
         * emulated grants, unsealed guest RAM refused. */
        static hs tenants = { .name = "tenants", .tenants = true, .ram_size = "32M",
                              .extra_args = { "--xen-grants", "emulated", "--require-sealed" } };

        tenants.exe = argv[1];
        run_one(&tenants, seed + 3);
    }
    if (want_stall) {
        static hs stall = { .name = "stall", .offer_iommu = true, .iommu = true,
                            .stall_only = true };

        alarm(600);
        stall.exe = argv[1];
        run_one(&stall, seed + 2);
    }
    printf("hostile: PASS\n");
    return 0;
}
