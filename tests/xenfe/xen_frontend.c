/* SPDX-License-Identifier: MIT */
/*
 * e2e-xen-grants: guestmem-vhost-blk serving a guest that shares its memory
 * only through Xen grants, over the vhost-user XEN_MMAP path.
 *
 * There is no Xen here, so this program plays both the guest and the
 * vhost-user front-end (the part xen-vhost-frontend plays on real Xen):
 *
 * - guest RAM is a 16 MiB memfd with an emulated grant table over it
 *   (gm_gnttab_emu_create, backend domain 0, guest domain 1);
 * - the back-end is started with --fd on one end of a socketpair and
 *   --xen-grants emulated, and receives a XEN_MMAP memory table of two
 *   regions: A, the guest RAM (flag FOREIGN, fd = the RAM memfd, guest
 *   address 0), and B, the grant space (flag GRANT plus "do not map in
 *   advance", fd = the grant table's memfd, guest address 1 << 63, one page
 *   per grant reference). The run is repeated with both encodings of "do
 *   not map in advance": 0x8 (rust-vmm, xen-vhost-frontend) and 1 << 8
 *   (the spec text);
 * - the guest driver behaves like Linux with Xen grant DMA ops: every
 *   buffer it gives the device, and the split ring itself, is granted page
 *   by page with consecutive references, read-only when the device only
 *   reads it, and addressed as 1 << 63 | ref << 12 | offset. So every
 *   descriptor address the device sees is a grant DMA address.
 *
 * Ring placement: SET_VRING_ADDR carries front-end user addresses, which
 * the back-end translates to guest addresses through the memory table
 * (vu_mem_uaddr_to_gpa: uaddr - region.userspace_addr + region.guest_phys
 * _addr, for any region). The ring addresses are chosen inside region B's
 * user range, so they translate to grant DMA addresses and the back-end
 * reaches the ring through grant mappings too, as it must with a real Linux
 * guest (its rings come from dma_alloc_coherent, i.e. from grants). Region A
 * stays mapped by the back-end (XEN_MMAP requires the foreign region for the
 * emulated table), but nothing the device is given points into it.
 *
 * Evidence that data goes through grants and nowhere else: multi-page
 * buffers are granted with consecutive references over frames that are not
 * consecutive (in reverse order, one frame apart) and the frames in between
 * hold decoy data that must stay untouched; buffers whose references are not
 * granted, revoked, granted to another domain or granted read-only for a
 * device write must fail with VIRTIO_BLK_S_IOERR without touching guest
 * memory, and the device must go on serving.
 *
 * Hostile grants mid-request: with the back-end process stopped (SIGSTOP,
 * so the order is certain), requests are made available (descriptors and
 * avail index published) and only then does the granter revoke a data
 * grant (of a READ and of a WRITE), re-grant a READ's data read-only,
 * revoke a header grant or revoke the status grant; then the back-end is
 * continued and kicked. Each such request must complete with
 * VIRTIO_BLK_S_IOERR without touching the buffer (or, for a data grant the
 * device would have written, without touching guest memory), and a normal
 * request published right after it must be served with its data checked.
 * A request whose status grant was revoked cannot be given a status: it
 * must come back in the used ring with length 0, the status byte untouched.
 * And while the back-end holds a grant mapped mid-request (caught with
 * GTF_reading set and the back-end stopped), end of access must be refused
 * with -EBUSY and leave the entry intact; once the request completed it
 * must succeed.
 *
 * Revocation: after each completion the driver ends access to the request's
 * grants, as Linux's xen_grant_dma_unmap_page() does (which marks the device
 * broken if one is still in use). Grants still mapped by the back-end are
 * retried while the device is idle, after GET_VRING_BASE and after the
 * back-end exited; after the exit all must be revocable. A back-end that
 * still holds data grants once idle fails the test, unless
 * --allow-held-grants is given (then it is only reported).
 *
 * Usage: xen_frontend PATH-TO-guestmem-vhost-blk [--allow-held-grants]
 * Environment: XENFE_SEED=N replays a run (the seed is printed).
 */
#define _GNU_SOURCE
#include <errno.h>
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
#include "vu_client.h"
#include "xen_guest.h"

#define RAM_SIZE (16u << 20)
#define NR_REFS 8192u
#define BACKEND_DOMID 0
#define GUEST_DOMID 1
#define OTHER_DOMID 5
#define RING_SIZE 128u
#define REGION_A_UADDR 0x7e0000000000ull
#define REGION_B_UADDR 0x7f0000000000ull
#define FIRST_DATA_FRAME 512u   /* frames below stay decoy, never granted */
#define WAIT_MS 5000
#define IDLE_WAIT_MS 1000
#define SECTOR 512u
#define DISK_SECTORS (RAM_SIZE / SECTOR)
#define MAX_BATCH 64u
#define MAX_DATA_SEGS 8u

#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define BLK_T_FLUSH 4u
#define BLK_T_GET_ID 8u
#define BLK_S_OK 0u
#define BLK_S_IOERR 1u
#define BLK_ID_BYTES 20u

#define STATUS_OFFSET 512u      /* status byte in the control frame */
#define POISON 0xa5u

typedef struct blk_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
} blk_hdr;

/* One virtio-blk request as the driver tracks it. */
typedef struct rq {
    uint32_t type;
    uint64_t sector;
    uint32_t len;               /* data bytes */
    bool device_writes;         /* data direction */
    unsigned int ndata;
    xg_buf data[MAX_DATA_SEGS];
    xg_buf hdr, status;
    uint32_t ctl_frame;
    uint8_t want_status;
    bool data_ungranted;        /* data references deliberately not granted (or revoked) */
    bool status_lost;           /* status grant revoked: used len 0, no status written */
    uint8_t *payload;           /* linear data: what was written / what was read */
    const char *what;           /* names the case in messages, if set */
    int head;
    bool done;
    uint32_t used_len;
} rq;

typedef struct run {
    const char *name;
    uint32_t no_advance;
    bool driver_area_ro;
    xg_guest g;
    xg_ring ring;
    vuc vu;
    pid_t child;
    int log_fd;
    int kick_fd, call_fd;
    uint8_t *shadow;            /* what the disk must hold */
    rq *inflight[RING_SIZE];
    uint64_t rng;
    /* counters */
    unsigned int requests, failures_expected, batches, kicks, calls;
    uint64_t bytes_written, bytes_read;
    unsigned int scattered_checked;
    unsigned int refs_reused;
    gm_grant_ref recycle_ref;   /* a write's data ref, revoked at completion */
    const char *reuse_note;
    unsigned int held_idle, held_stopped, held_exit;
    unsigned int hostile_requests, status_lost;
    unsigned int held_refusals, held_attempts;
    unsigned long long backend_requests, backend_errors;
} run;

static bool allow_held_grants;
static run *current;

/* ---- utilities ------------------------------------------------------------ */

static uint64_t rnd(run *r)
{
    /* splitmix64 */
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd_range(run *r, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rnd(r) % (hi - lo + 1));
}

static void rnd_fill(run *r, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = rnd(r);

        memcpy(p + i, &v, len - i < 8 ? len - i : 8);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The back-end's stderr so far, NUL-terminated (free it); NULL if none. */
static char *backend_log(run *r)
{
    struct stat st;
    char *buf;
    ssize_t n;

    if (r->log_fd < 0 || fstat(r->log_fd, &st) < 0 || !st.st_size)
        return NULL;
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return NULL;
    n = pread(r->log_fd, buf, (size_t)st.st_size, 0);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

/* Copy the back-end's stderr to ours: all of it, or only its summary lines. */
static void dump_backend_log(run *r, const char *why, bool all)
{
    char *buf = backend_log(r), *line, *save = NULL;

    if (!buf)
        return;
    fflush(stdout);
    fprintf(stderr, "xenfe: back-end log (%s%s):\n", why, all ? "" : ", summary lines");
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (all || strstr(line, "stats:") || strstr(line, " requests, "))
            fprintf(stderr, "  | %s\n", line);
    }
    free(buf);
}

/* The back-end's closing line: "N requests, M errors". */
static void parse_backend_totals(run *r)
{
    char *buf = backend_log(r);

    r->backend_requests = r->backend_errors = ~0ull;
    for (const char *p = buf; p && (p = strstr(p, "guestmem-vhost-blk: ")) != NULL; p++) {
        unsigned long long a, b;

        if (sscanf(p, "guestmem-vhost-blk: %llu requests, %llu errors", &a, &b) == 2) {
            r->backend_requests = a;
            r->backend_errors = b;
        }
    }
    free(buf);
}

static void kill_child(run *r)
{
    if (r->child > 0) {
        kill(r->child, SIGKILL);
        waitpid(r->child, NULL, 0);
        r->child = -1;
    }
}

static void at_exit_cleanup(void)
{
    if (current && current->child > 0) {
        kill_child(current);
        dump_backend_log(current, "test failed", true);
    }
}

static void on_alarm(int sig)
{
    static const char msg[] = "xenfe: global timeout, giving up\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    exit(1);   /* runs at_exit_cleanup: kills the back-end, shows its log */
}

/* ---- the back-end and the vhost-user session -------------------------------- */

static void start_backend(run *r, const char *exe)
{
    int sv[2];

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s",
          strerror(errno));
    r->log_fd = memfd_create("xenfe-backend-log", MFD_CLOEXEC);
    CHECK(r->log_fd >= 0, "memfd: %s", strerror(errno));
    fflush(NULL);
    r->child = fork();
    CHECK(r->child >= 0, "fork: %s", strerror(errno));
    if (r->child == 0) {
        char fdstr[16];
        int fd = dup(sv[1]);   /* without FD_CLOEXEC: the only fd the back-end inherits */

        if (fd < 0 || dup2(r->log_fd, 2) < 0)
            _exit(127);
        snprintf(fdstr, sizeof(fdstr), "%d", fd);
        execl(exe, exe, "--fd", fdstr, "--no-iommu", "--xen-grants", "emulated", "--ram-size",
              "16M", "--once", (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    r->vu = (vuc){ .sock = sv[0], .timeout_ms = WAIT_MS };
}

#define VU_OK(expr, what)                                                         \
    do {                                                                          \
        int err_ = (expr);                                                        \
        CHECK(err_ == 0, "%s: %s", (what), strerror(-err_));                     \
    } while (0)

static void negotiate(run *r)
{
    uint64_t features, proto, want_proto, nq;
    uint64_t want = 1ull << VUC_F_VERSION_1 | 1ull << VUC_F_PROTOCOL_FEATURES;
    uint8_t cfg[12 + 8];
    uint32_t cfg_len = 8;
    uint64_t capacity;

    VU_OK(vuc_get_u64(&r->vu, VUC_GET_FEATURES, &features), "GET_FEATURES");
    CHECK((features & want) == want, "features 0x%" PRIx64 " lack VERSION_1/PROTOCOL_FEATURES",
          features);
    CHECK(!(features & (1ull << VUC_F_IOMMU_PLATFORM)), "IOMMU_PLATFORM offered with --no-iommu");
    VU_OK(vuc_call(&r->vu, VUC_SET_FEATURES, &want, sizeof(want), NULL, 0), "SET_FEATURES");

    VU_OK(vuc_get_u64(&r->vu, VUC_GET_PROTOCOL_FEATURES, &proto), "GET_PROTOCOL_FEATURES");
    want_proto = 1ull << VUC_PF_XEN_MMAP | 1ull << VUC_PF_REPLY_ACK | 1ull << VUC_PF_CONFIG |
                 1ull << VUC_PF_MQ;
    CHECK((proto & want_proto) == want_proto,
          "protocol features 0x%" PRIx64 " lack XEN_MMAP/REPLY_ACK/CONFIG/MQ", proto);
    VU_OK(vuc_call(&r->vu, VUC_SET_PROTOCOL_FEATURES, &want_proto, sizeof(want_proto), NULL, 0),
          "SET_PROTOCOL_FEATURES");
    r->vu.protocol_features = want_proto;   /* from now on, every call is acked */

    VU_OK(vuc_call(&r->vu, VUC_SET_OWNER, NULL, 0, NULL, 0), "SET_OWNER");
    VU_OK(vuc_get_u64(&r->vu, VUC_GET_QUEUE_NUM, &nq), "GET_QUEUE_NUM");
    CHECK(nq == 1, "queues: %" PRIu64, nq);

    /* Config space: capacity (le64 at offset 0) must be the RAM disk's. */
    memset(cfg, 0, sizeof(cfg));
    memcpy(cfg + 4, &cfg_len, 4);   /* offset 0, size 8, flags 0 */
    VU_OK(vuc_send(&r->vu, VUC_GET_CONFIG, false, cfg, sizeof(cfg), NULL, 0), "GET_CONFIG");
    VU_OK(vuc_recv(&r->vu, VUC_GET_CONFIG, cfg, sizeof(cfg)), "GET_CONFIG reply");
    memcpy(&capacity, cfg + 12, 8);
    CHECK_EQ_U64(capacity, DISK_SECTORS, "config capacity");
}

static void set_mem_table(run *r)
{
    struct {
        uint32_t nregions;
        uint32_t padding;
        vuc_region_xen regions[2];
    } __attribute__((packed)) mt = {
        .nregions = 2,
        .regions = {
            { .guest_phys_addr = 0, .memory_size = RAM_SIZE, .userspace_addr = REGION_A_UADDR,
              .mmap_offset = 0, .xen_flags = VUC_XEN_FOREIGN, .domid = GUEST_DOMID },
            { .guest_phys_addr = GM_GRANT_DMA_BASE,
              .memory_size = (uint64_t)NR_REFS << GM_GRANT_PAGE_SHIFT,
              .userspace_addr = REGION_B_UADDR, .mmap_offset = 0,
              .xen_flags = VUC_XEN_GRANT | r->no_advance, .domid = GUEST_DOMID },
        },
    };
    int fds[2] = { r->g.mem_fd, gm_gnttab_emu_fd(r->g.gt) };

    _Static_assert(sizeof(mt) == 8 + 2 * 40, "memory table");
    VU_OK(vuc_call(&r->vu, VUC_SET_MEM_TABLE, &mt, sizeof(mt), fds, 2), "SET_MEM_TABLE");
}

/* A grant DMA address as a front-end user address in region B. */
static uint64_t dma_to_uaddr(uint64_t dma)
{
    return REGION_B_UADDR + (dma - GM_GRANT_DMA_BASE);
}

static void setup_queue(run *r)
{
    vuc_state num = { 0, RING_SIZE }, base = { 0, 0 }, enable = { 0, 1 };
    vuc_vring_addr addr = {
        .index = 0,
        .desc = dma_to_uaddr(r->ring.desc_dma),
        .used = dma_to_uaddr(r->ring.used_dma),
        .avail = dma_to_uaddr(r->ring.avail_dma),
    };
    uint64_t index = 0;

    r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(r->kick_fd >= 0 && r->call_fd >= 0, "eventfd: %s", strerror(errno));
    VU_OK(vuc_call(&r->vu, VUC_SET_VRING_NUM, &num, sizeof(num), NULL, 0), "SET_VRING_NUM");
    VU_OK(vuc_call(&r->vu, VUC_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0), "SET_VRING_ADDR");
    VU_OK(vuc_call(&r->vu, VUC_SET_VRING_BASE, &base, sizeof(base), NULL, 0), "SET_VRING_BASE");
    VU_OK(vuc_call(&r->vu, VUC_SET_VRING_CALL, &index, sizeof(index), &r->call_fd, 1),
          "SET_VRING_CALL");
    VU_OK(vuc_call(&r->vu, VUC_SET_VRING_KICK, &index, sizeof(index), &r->kick_fd, 1),
          "SET_VRING_KICK");
    VU_OK(vuc_call(&r->vu, VUC_SET_VRING_ENABLE, &enable, sizeof(enable), NULL, 0),
          "SET_VRING_ENABLE");
}

/* ---- requests ---------------------------------------------------------------- */

/* Header (read-only grant) and status (read-write grant) share a control
 * frame, as Linux's virtblk_req does: two grants of one page. */
static void rq_init(run *r, rq *q, uint32_t type, uint64_t sector, uint32_t len)
{
    blk_hdr h = { type, 0, sector };

    memset(q, 0, sizeof(*q));
    q->type = type;
    q->sector = sector;
    q->len = len;
    q->device_writes = type == BLK_T_IN || type == BLK_T_GET_ID;
    q->want_status = BLK_S_OK;
    q->head = -1;
    q->ctl_frame = xg_alloc_frames(&r->g, 1);
    memset(xg_frame(&r->g, q->ctl_frame), 0, XG_PAGE);
    memcpy(xg_frame(&r->g, q->ctl_frame), &h, sizeof(h));
    xg_frame(&r->g, q->ctl_frame)[STATUS_OFFSET] = 0xff;
    xg_buf_map(&r->g, &q->hdr, &q->ctl_frame, 0, sizeof(h), true);
    xg_buf_map(&r->g, &q->status, &q->ctl_frame, STATUS_OFFSET, 1, false);
    if (len) {
        q->payload = malloc(len);
        CHECK(q->payload, "out of memory");
    }
}

static void rq_free(rq *q)
{
    free(q->payload);
    q->payload = NULL;
}

/* Data in one buffer over fresh contiguous frames at @offset. Write data is
 * granted read-only (the device only reads it), read data read-write. */
static void rq_data_simple(run *r, rq *q, uint32_t offset)
{
    xg_buf_map_new(&r->g, &q->data[q->ndata++], offset, q->len, !q->device_writes);
}

/* Data in one buffer of consecutive references over frames that are not
 * consecutive: descending, one frame apart; the frames between are decoys. */
static void rq_data_scattered(run *r, rq *q, uint32_t offset)
{
    unsigned int npages = (offset + q->len + XG_PAGE - 1) / XG_PAGE;
    uint32_t base = xg_alloc_frames(&r->g, 2 * npages + 1);
    uint32_t frames[XG_MAX_BUF_PAGES];

    xg_fill_decoy(&r->g, base, 2 * npages + 1);
    for (unsigned int i = 0; i < npages; i++)
        frames[i] = base + 2 * (npages - i) - 1;   /* base+2n-1, ..., base+1 */
    xg_buf_map(&r->g, &q->data[q->ndata++], frames, offset, q->len, !q->device_writes);
}

static void check_scatter_decoys(run *r, const xg_buf *b)
{
    /* The decoys sit at base, base+2, ..., base+2n: around every data frame. */
    uint32_t base = b->frames[b->npages - 1] - 1;

    for (unsigned int i = 0; i <= b->npages; i++)
        CHECK(xg_frame_is_decoy(&r->g, base + 2 * i),
              "decoy frame %u next to granted frames was modified", base + 2 * i);
    r->scattered_checked++;
}

/* Split the payload over the data buffers for a write. */
static void rq_fill_write(run *r, rq *q)
{
    uint32_t done = 0;

    rnd_fill(r, q->payload, q->len);
    for (unsigned int i = 0; i < q->ndata; i++) {
        xg_buf_fill(&r->g, &q->data[i], q->payload + done);
        done += q->data[i].len;
    }
    CHECK(done == q->len, "data buffers cover %u of %u bytes", done, q->len);
}

/* Poison read destinations, so a failed read can be seen not to write. */
static void rq_poison_read(run *r, rq *q)
{
    uint32_t done = 0;

    memset(q->payload, POISON, q->len);
    for (unsigned int i = 0; i < q->ndata; i++) {
        xg_buf_fill(&r->g, &q->data[i], q->payload + done);
        done += q->data[i].len;
    }
}

static void rq_collect(run *r, rq *q)
{
    uint32_t done = 0;

    for (unsigned int i = 0; i < q->ndata; i++) {
        xg_buf_copy_out(&r->g, &q->data[i], q->payload + done);
        done += q->data[i].len;
    }
}

static void submit_one(run *r, rq *q)
{
    xg_seg segs[MAX_DATA_SEGS + 2];
    unsigned int n = 0;

    segs[n++] = (xg_seg){ q->hdr.dma, q->hdr.len, false };
    for (unsigned int i = 0; i < q->ndata; i++)
        segs[n++] = (xg_seg){ q->data[i].dma, q->data[i].len, q->device_writes };
    segs[n++] = (xg_seg){ q->status.dma, 1, true };
    q->head = xg_ring_add(&r->ring, segs, n);
    CHECK(q->head >= 0, "ring full");
    CHECK(!r->inflight[q->head], "head %d already in flight", q->head);
    r->inflight[q->head] = q;
}

static void kick(run *r)
{
    uint64_t one = 1;

    CHECK(write(r->kick_fd, &one, sizeof(one)) == sizeof(one), "kick: %s", strerror(errno));
    r->kicks++;
}

/* Wait (with a timeout) until every request of the batch is used. */
static void wait_batch(run *r, rq **qs, unsigned int n)
{
    int64_t deadline = now_ms() + WAIT_MS;
    unsigned int done = 0;

    for (;;) {
        uint32_t id, len;
        struct pollfd pfd = { r->call_fd, POLLIN, 0 };
        int64_t left;
        uint64_t v;

        while (xg_ring_get_used(&r->ring, &id, &len)) {
            rq *q = r->inflight[id];

            CHECK(q && !q->done, "used id %u is not in flight", id);
            r->inflight[id] = NULL;
            q->done = true;
            q->used_len = len;
            done++;
        }
        if (done == n)
            break;
        left = deadline - now_ms();
        CHECK(left > 0, "timeout: %u of %u requests completed (used idx %u, avail idx %u)", done,
              n, xg_ring_used_idx(&r->ring), r->ring.avail_idx);
        if (poll(&pfd, 1, (int)left) > 0 && read(r->call_fd, &v, sizeof(v)) == sizeof(v))
            r->calls++;
    }
    for (unsigned int i = 0; i < n; i++)
        CHECK(qs[i]->done, "request %u not completed", i);
}

static uint32_t expected_used_len(const rq *q)
{
    if (q->want_status != BLK_S_OK)
        return 1;
    if (q->type == BLK_T_IN)
        return q->len + 1;
    if (q->type == BLK_T_GET_ID)
        return (q->len < BLK_ID_BYTES ? q->len : BLK_ID_BYTES) + 1;
    return 1;
}

static const char *type_name(uint32_t t)
{
    switch (t) {
    case BLK_T_IN: return "READ";
    case BLK_T_OUT: return "WRITE";
    case BLK_T_FLUSH: return "FLUSH";
    case BLK_T_GET_ID: return "GET_ID";
    default: return "?";
    }
}

/* Check one completed request, then end access to its grants. */
static void finish(run *r, rq *q, const char *batch)
{
    const char *what = q->what ? q->what : batch;
    uint8_t status = xg_frame(&r->g, q->ctl_frame)[STATUS_OFFSET];

    if (q->status_lost) {
        /* Nowhere to put a status: the element comes back with length 0
         * and the status byte as the driver left it; the data buffers are
         * undefined (the driver must treat the request as failed). */
        CHECK(q->used_len == 0, "%s: used len %u, want 0", what, q->used_len);
        CHECK(status == 0xff, "%s: status byte 0x%02x written through a revoked grant", what,
              status);
        for (unsigned int i = 0; i < q->ndata; i++)
            xg_buf_unmap(&r->g, &q->data[i]);
        xg_buf_unmap(&r->g, &q->hdr);
        xg_buf_unmap(&r->g, &q->status);
        r->requests++;
        r->status_lost++;
        return;
    }
    CHECK(status == q->want_status, "%s: %s sector %" PRIu64 " len %u: status %u, want %u", what,
          type_name(q->type), q->sector, q->len, status, q->want_status);
    CHECK(q->used_len == expected_used_len(q), "%s: used len %u, want %u", what, q->used_len,
          expected_used_len(q));
    if (q->type == BLK_T_OUT && status == BLK_S_OK) {
        memcpy(r->shadow + q->sector * SECTOR, q->payload, q->len);
        r->bytes_written += q->len;
    } else if (q->type == BLK_T_IN && q->len) {
        uint8_t *want = malloc(q->len);

        CHECK(want, "out of memory");
        if (status == BLK_S_OK)
            memcpy(want, r->shadow + q->sector * SECTOR, q->len);
        else
            memset(want, POISON, q->len);   /* a failed read writes nothing */
        rq_collect(r, q);
        for (uint32_t i = 0; i < q->len; i++) {
            CHECK(q->payload[i] == want[i],
                  "%s: READ sector %" PRIu64 ": byte %u is 0x%02x, want 0x%02x", what, q->sector,
                  i, q->payload[i], want[i]);
        }
        free(want);
        if (status == BLK_S_OK)
            r->bytes_read += q->len;
    } else if (q->type == BLK_T_GET_ID) {
        char id[BLK_ID_BYTES + 1] = { 0 };

        rq_collect(r, q);
        memcpy(id, q->payload, q->len < BLK_ID_BYTES ? q->len : BLK_ID_BYTES);
        CHECK(!strncmp(id, "guestmem-", 9), "%s: serial \"%s\"", what, id);
    }
    for (unsigned int i = 0; i < q->ndata; i++) {
        if (!q->data_ungranted)
            r->g.seen_mapped += xg_buf_count_mapped(&r->g, &q->data[i]);
    }
    /* Linux's completion path: dma_unmap of every buffer ends access. */
    for (unsigned int i = 0; i < q->ndata; i++) {
        if (!q->data_ungranted && xg_buf_unmap(&r->g, &q->data[i]) == 0 &&
            q->want_status == BLK_S_OK && q->type == BLK_T_OUT)
            r->recycle_ref = q->data[i].first_ref;   /* used by the device, then revoked */
    }
    xg_buf_unmap(&r->g, &q->hdr);
    xg_buf_unmap(&r->g, &q->status);
    r->requests++;
    if (q->want_status != BLK_S_OK)
        r->failures_expected++;
}

static void run_batch(run *r, rq **qs, unsigned int n, const char *what)
{
    for (unsigned int i = 0; i < n; i++)
        submit_one(r, qs[i]);
    xg_ring_publish(&r->ring);
    kick(r);
    wait_batch(r, qs, n);
    for (unsigned int i = 0; i < n; i++)
        finish(r, qs[i], what);
    r->batches++;
}

static void run_single(run *r, rq *q, const char *what)
{
    run_batch(r, &q, 1, what);
}

/* ---- test steps ------------------------------------------------------------- */

/* Batches of writes at random sectors (non-overlapping within a batch),
 * random lengths and random page offsets, then reads of the same ranges
 * into other random layouts, and reads of arbitrary ranges. */
static void t_random_io(run *r, unsigned int rounds, unsigned int per_batch, uint32_t max_sectors)
{
    static rq qs[MAX_BATCH];
    rq *ptrs[MAX_BATCH];
    uint64_t zone = DISK_SECTORS / per_batch;

    CHECK(per_batch <= MAX_BATCH && max_sectors < zone, "batch shape");
    for (unsigned int round = 0; round < rounds; round++) {
        uint64_t sectors[MAX_BATCH];
        uint32_t lens[MAX_BATCH];

        for (unsigned int i = 0; i < per_batch; i++) {
            lens[i] = rnd_range(r, 1, max_sectors) * SECTOR;
            sectors[i] = i * zone + rnd(r) % (zone - lens[i] / SECTOR);
            rq_init(r, &qs[i], BLK_T_OUT, sectors[i], lens[i]);
            rq_data_simple(r, &qs[i], rnd_range(r, 0, XG_PAGE - 1));
            rq_fill_write(r, &qs[i]);
            ptrs[i] = &qs[i];
        }
        run_batch(r, ptrs, per_batch, "random write");
        for (unsigned int i = 0; i < per_batch; i++)
            rq_free(&qs[i]);
        for (unsigned int i = 0; i < per_batch; i++) {
            /* Half read back what was written, half read anywhere. */
            uint64_t sector = sectors[i];
            uint32_t len = lens[i];

            if (i & 1) {
                len = rnd_range(r, 1, max_sectors) * SECTOR;
                sector = rnd(r) % (DISK_SECTORS - len / SECTOR);
            }
            rq_init(r, &qs[i], BLK_T_IN, sector, len);
            rq_data_simple(r, &qs[i], rnd_range(r, 0, XG_PAGE - 1) & ~7u);
            rq_poison_read(r, &qs[i]);
        }
        run_batch(r, ptrs, per_batch, "random read");
        for (unsigned int i = 0; i < per_batch; i++)
            rq_free(&qs[i]);
    }
}

/* Consecutive references over non-consecutive frames, page-aligned and not. */
static void t_scattered(run *r)
{
    static const struct { uint32_t offset, len; } shapes[] = {
        { 0, 8 * XG_PAGE }, { 1000, 3 * XG_PAGE }, { 4000, 9 * SECTOR },
    };

    for (unsigned int s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        uint64_t sector = 1000 + s * 200;
        rq w, rd;

        rq_init(r, &w, BLK_T_OUT, sector, shapes[s].len);
        rq_data_scattered(r, &w, shapes[s].offset);
        rq_fill_write(r, &w);
        run_single(r, &w, "scattered write");
        check_scatter_decoys(r, &w.data[0]);
        rq_free(&w);

        rq_init(r, &rd, BLK_T_IN, sector, shapes[s].len);
        rq_data_scattered(r, &rd, (shapes[s].offset + 512) % XG_PAGE);
        rq_poison_read(r, &rd);
        run_single(r, &rd, "scattered read");
        check_scatter_decoys(r, &rd.data[0]);
        rq_free(&rd);
    }
}

/* Data in several descriptors, each its own grant mapping (an sg list). */
static void t_multi_desc(run *r)
{
    static const uint32_t wlen[] = { 512, XG_PAGE + 512, 1024, 2048 };   /* 8192 */
    static const uint32_t rlen[] = { 3072, XG_PAGE, 1024 };                /* 8192 */
    rq w, rd;
    unsigned int i;

    rq_init(r, &w, BLK_T_OUT, 3000, 8192);
    for (i = 0; i < 4; i++)
        xg_buf_map_new(&r->g, &w.data[w.ndata++], 300 * i + 7, wlen[i], true);
    rq_fill_write(r, &w);
    run_single(r, &w, "multi-descriptor write");
    rq_free(&w);

    rq_init(r, &rd, BLK_T_IN, 3000, 8192);
    for (i = 0; i < 3; i++)
        xg_buf_map_new(&r->g, &rd.data[rd.ndata++], XG_PAGE - 100 * (i + 1), rlen[i], false);
    rq_poison_read(r, &rd);
    run_single(r, &rd, "multi-descriptor read");
    rq_free(&rd);
}

/* Write data granted read-write also works (Linux grants it read-only:
 * that is the default everywhere else). */
static void t_write_rw_grant(run *r)
{
    rq w, rd;

    rq_init(r, &w, BLK_T_OUT, 5000, 4 * SECTOR);
    xg_buf_map_new(&r->g, &w.data[w.ndata++], 0, w.len, false);
    rq_fill_write(r, &w);
    run_single(r, &w, "write from a read-write grant");
    rq_free(&w);
    rq_init(r, &rd, BLK_T_IN, 5000, 4 * SECTOR);
    rq_data_simple(r, &rd, 0);
    rq_poison_read(r, &rd);
    run_single(r, &rd, "read back");
    rq_free(&rd);
}

/*
 * Refusals: each bad request fails with IOERR, writes nothing to guest
 * memory or disk, and the request after it in the same batch succeeds.
 */
static void t_refusals(run *r)
{
    rq q[8];
    rq *ptrs[8];
    unsigned int n = 0, i;
    uint32_t frame;

    /* 1. READ into a read-only grant: the device would have to write. */
    rq_init(r, &q[n], BLK_T_IN, 1000, 2 * SECTOR);
    rq_data_simple(r, &q[n], 0);
    q[n].data[0].readonly = true;
    /* re-grant the data refs read-only (they are fresh and unmapped) */
    for (i = 0; i < q[n].data[0].npages; i++)
        CHECK(gm_gnttab_emu_end_access(r->g.gt, q[n].data[0].first_ref + i) == 0 &&
                  gm_gnttab_emu_grant(r->g.gt, q[n].data[0].first_ref + i, BACKEND_DOMID,
                                      q[n].data[0].frames[i], true) == 0,
              "re-grant read-only");
    rq_poison_read(r, &q[n]);
    q[n].what = "READ into a read-only grant";
    q[n++].want_status = BLK_S_IOERR;

    /* 2. a good READ right after */
    rq_init(r, &q[n], BLK_T_IN, 1000, 2 * SECTOR);
    rq_data_simple(r, &q[n], 0);
    rq_poison_read(r, &q[n]);
    q[n].what = "READ after a refused READ";
    n++;

    /* 3. READ into references that were granted, then revoked */
    rq_init(r, &q[n], BLK_T_IN, 1200, 3 * SECTOR);
    rq_data_simple(r, &q[n], 100);
    rq_poison_read(r, &q[n]);
    for (i = 0; i < q[n].data[0].npages; i++)
        CHECK(gm_gnttab_emu_end_access(r->g.gt, q[n].data[0].first_ref + i) == 0, "revoke");
    q[n].data_ungranted = true;
    q[n].what = "READ into revoked grants";
    q[n++].want_status = BLK_S_IOERR;

    /* 4. WRITE from references that were never granted: disk unchanged */
    rq_init(r, &q[n], BLK_T_OUT, 1000, 2 * SECTOR);
    frame = xg_alloc_frames(&r->g, 1);
    q[n].data[0] = (xg_buf){ .first_ref = xg_alloc_refs(&r->g, 1), .npages = 1,
                             .frames = { frame }, .offset = 0, .len = q[n].len };
    q[n].data[0].dma = xg_dma(q[n].data[0].first_ref, 0);
    q[n].ndata = 1;
    rq_fill_write(r, &q[n]);
    q[n].data_ungranted = true;
    q[n].what = "WRITE from references never granted";
    q[n++].want_status = BLK_S_IOERR;

    /* 5. WRITE from pages granted to another domain */
    rq_init(r, &q[n], BLK_T_OUT, 1000, 2 * SECTOR);
    frame = xg_alloc_frames(&r->g, 1);
    q[n].data[0] = (xg_buf){ .first_ref = xg_alloc_refs(&r->g, 1), .npages = 1,
                             .frames = { frame }, .offset = 0, .len = q[n].len,
                             .readonly = true, .mapped = true };
    q[n].data[0].dma = xg_dma(q[n].data[0].first_ref, 0);
    CHECK(gm_gnttab_emu_grant(r->g.gt, q[n].data[0].first_ref, OTHER_DOMID, frame, true) == 0,
          "grant to domain %d", OTHER_DOMID);
    q[n].ndata = 1;
    rq_fill_write(r, &q[n]);
    q[n].what = "WRITE from a grant to another domain";
    q[n++].want_status = BLK_S_IOERR;

    /* 6. a good READ of what 4 and 5 must not have written */
    rq_init(r, &q[n], BLK_T_IN, 1000, 2 * SECTOR);
    rq_data_simple(r, &q[n], 0);
    rq_poison_read(r, &q[n]);
    q[n].what = "READ of what the refused WRITEs must not have written";
    n++;

    for (i = 0; i < n; i++)
        ptrs[i] = &q[i];
    run_batch(r, ptrs, n, "refusals");
    for (i = 0; i < n; i++)
        rq_free(&q[i]);
}

/* ---- hostile grants mid-request ------------------------------------------ */

/* Stop the back-end process and wait until it is stopped: from here until
 * backend_resume() it reads nothing, so what the granter does now happens
 * after whatever the back-end last saw and before whatever it sees next. */
static void backend_pause(run *r)
{
    int status = 0;
    pid_t p;

    CHECK(kill(r->child, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
    do
        p = waitpid(r->child, &status, WUNTRACED);
    while (p < 0 && errno == EINTR);
    CHECK(p == r->child && WIFSTOPPED(status), "back-end did not stop (status 0x%x)", status);
}

static void backend_resume(run *r)
{
    CHECK(kill(r->child, SIGCONT) == 0, "SIGCONT: %s", strerror(errno));
}

static void end_access_ok(run *r, gm_grant_ref ref, const char *what)
{
    int err = gm_gnttab_emu_end_access(r->g.gt, ref);

    CHECK(err == 0, "%s: end access of ref %u: %s", what, ref, strerror(-err));
}

/* What the granter does to a request after it became available. */
typedef enum hostile_change {
    REVOKE_DATA,                /* end access to every data grant */
    DATA_READONLY,              /* end access, grant again read-only */
    REVOKE_HEADER,              /* end access to the header's grant */
    REVOKE_STATUS,              /* end access to the status byte's grant */
} hostile_change;

static void apply_change(run *r, rq *q, hostile_change c)
{
    xg_buf *d = &q->data[0];

    switch (c) {
    case REVOKE_DATA:
        for (unsigned int i = 0; i < d->npages; i++)
            end_access_ok(r, d->first_ref + i, q->what);
        q->data_ungranted = true;
        q->want_status = BLK_S_IOERR;
        break;
    case DATA_READONLY:
        for (unsigned int i = 0; i < d->npages; i++) {
            end_access_ok(r, d->first_ref + i, q->what);
            CHECK(gm_gnttab_emu_grant(r->g.gt, d->first_ref + i, BACKEND_DOMID, d->frames[i],
                                      true) == 0,
                  "%s: re-grant ref %u read-only", q->what, d->first_ref + i);
        }
        d->readonly = true;
        q->want_status = BLK_S_IOERR;
        break;
    case REVOKE_HEADER:
        end_access_ok(r, q->hdr.first_ref, q->what);
        q->want_status = BLK_S_IOERR;
        break;
    case REVOKE_STATUS:
        end_access_ok(r, q->status.first_ref, q->what);
        q->status_lost = true;
        break;
    }
}

/*
 * Make @bad and then @good available with the back-end stopped, apply
 * @change to @bad's grants, then let the back-end go and kick: @bad was
 * certainly available before its grants changed, and the back-end had not
 * looked at it yet.
 */
static void run_changed(run *r, rq *bad, hostile_change change, rq *good)
{
    rq *ptrs[2] = { bad, good };

    backend_pause(r);
    submit_one(r, bad);
    submit_one(r, good);
    xg_ring_publish(&r->ring);
    apply_change(r, bad, change);
    backend_resume(r);
    kick(r);
    wait_batch(r, ptrs, 2);
    finish(r, bad, "hostile");
    finish(r, good, "after a hostile request");
    r->batches++;
    r->hostile_requests++;
}

#define HOSTILE_SECTOR 9000u
#define HOSTILE_LEN (4 * SECTOR)

/* A normal READ of the hostile sectors, checked against what was written. */
static void rq_read_check(run *r, rq *q, const char *what)
{
    rq_init(r, q, BLK_T_IN, HOSTILE_SECTOR, HOSTILE_LEN);
    rq_data_simple(r, q, 64);
    rq_poison_read(r, q);
    q->what = what;
}

static void t_hostile_midrequest(run *r)
{
    static const struct {
        uint32_t type, len, offset;
        hostile_change change;
        const char *what, *next;
    } cases[] = {
        /* (a) a data grant revoked; for the WRITE the READ after it shows
         * the disk unchanged */
        { BLK_T_IN, HOSTILE_LEN, 200, REVOKE_DATA,
          "READ into a grant revoked after it was made available",
          "READ after a READ into a revoked grant" },
        { BLK_T_OUT, HOSTILE_LEN, 0, REVOKE_DATA,
          "WRITE from a grant revoked after it was made available",
          "READ of what the revoked WRITE must not have written" },
        /* (b) a READ's data grant made read-only: the device would have to
         * write into it; guest memory stays poisoned */
        { BLK_T_IN, 2 * XG_PAGE, 0, DATA_READONLY,
          "READ into a grant made read-only after it was made available",
          "READ after a READ into a grant made read-only" },
        /* the header's grant revoked: the device cannot tell what to do */
        { BLK_T_OUT, HOSTILE_LEN, 0, REVOKE_HEADER,
          "WRITE whose header grant was revoked after it was made available",
          "READ of what the header-revoked WRITE must not have written" },
        /* the status byte's grant revoked: no status can be given */
        { BLK_T_IN, HOSTILE_LEN, 0, REVOKE_STATUS,
          "READ whose status grant was revoked after it was made available",
          "READ after a request without a status" },
    };
    rq w, bad, good;

    /* Known data where the hostile requests point. */
    rq_init(r, &w, BLK_T_OUT, HOSTILE_SECTOR, HOSTILE_LEN);
    rq_data_simple(r, &w, 0);
    rq_fill_write(r, &w);
    run_single(r, &w, "write before the hostile requests");
    rq_free(&w);

    for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rq_init(r, &bad, cases[i].type, HOSTILE_SECTOR, cases[i].len);
        rq_data_simple(r, &bad, cases[i].offset);
        if (cases[i].type == BLK_T_OUT)
            rq_fill_write(r, &bad);
        else
            rq_poison_read(r, &bad);
        bad.what = cases[i].what;
        rq_read_check(r, &good, cases[i].next);
        run_changed(r, &bad, cases[i].change, &good);
        rq_free(&bad);
        rq_free(&good);
    }
}

#define HELD_SEGS MAX_DATA_SEGS
#define HELD_PAGES (HELD_SEGS * XG_MAX_BUF_PAGES)     /* 2 MiB */
#define HELD_ATTEMPTS 50u

/*
 * Xen's rule, seen from the granter: while the back-end has a grant mapped
 * (GTF_reading set), end of access fails and leaves the entry as it was;
 * once the request completed it succeeds. A 2 MiB READ (8 descriptors of 64
 * grant pages) keeps its grants mapped for a while (512 page mappings, the
 * copy, 512 unmappings): the driver waits for GTF_reading on the first
 * data reference and stops the back-end there. A try that comes too late
 * (the mapping already dropped) is repeated, with the same frames and the
 * same references granted again (as Linux recycles them).
 */
static void t_revoke_while_held(run *r)
{
    uint32_t frame0 = xg_alloc_frames(&r->g, HELD_PAGES);
    gm_grant_ref ref0 = xg_alloc_refs(&r->g, HELD_PAGES);

    for (unsigned int attempt = 0; attempt < HELD_ATTEMPTS && !r->held_refusals; attempt++) {
        int64_t deadline;
        gm_grant_entry_v1 e;
        rq q, *qp = &q;
        bool stopped = false;

        rq_init(r, &q, BLK_T_IN, 4096, HELD_PAGES * XG_PAGE);
        for (unsigned int k = 0; k < HELD_SEGS; k++) {
            xg_buf *b = &q.data[q.ndata++];

            *b = (xg_buf){ .first_ref = ref0 + k * XG_MAX_BUF_PAGES, .npages = XG_MAX_BUF_PAGES,
                           .len = XG_MAX_BUF_PAGES * XG_PAGE, .mapped = true };
            b->dma = xg_dma(b->first_ref, 0);
            for (unsigned int i = 0; i < XG_MAX_BUF_PAGES; i++) {
                b->frames[i] = frame0 + k * XG_MAX_BUF_PAGES + i;
                CHECK(gm_gnttab_emu_grant(r->g.gt, b->first_ref + i, BACKEND_DOMID, b->frames[i],
                                          false) == 0, "grant ref %u", b->first_ref + i);
                r->g.granted++;
            }
        }
        rq_poison_read(r, &q);
        q.what = "READ whose grant the granter tries to revoke while it is mapped";
        submit_one(r, &q);
        xg_ring_publish(&r->ring);
        kick(r);
        r->held_attempts++;
        deadline = now_ms() + WAIT_MS;
        while (xg_ring_used_idx(&r->ring) == r->ring.last_used && now_ms() < deadline) {
            gm_gnttab_emu_entry(r->g.gt, ref0, &e);
            if (e.flags & GM_GTF_READING) {
                backend_pause(r);
                stopped = true;
                break;
            }
        }
        if (stopped) {
            gm_gnttab_emu_entry(r->g.gt, ref0, &e);
            if (e.flags & GM_GTF_READING) {
                int err = gm_gnttab_emu_end_access(r->g.gt, ref0);
                gm_grant_entry_v1 after;

                CHECK(err == -EBUSY, "end access of ref %u while the back-end maps it: %d, "
                      "want -EBUSY", ref0, err);
                gm_gnttab_emu_entry(r->g.gt, ref0, &after);
                CHECK(after.flags == e.flags && after.domid == e.domid &&
                          after.frame == e.frame,
                      "a refused end of access changed ref %u", ref0);
                r->held_refusals++;
            }
            backend_resume(r);
        }
        wait_batch(r, &qp, 1);
        /* Completed: the back-end let go of the grants before it said so. */
        for (unsigned int k = 0; k < q.ndata; k++) {
            for (unsigned int i = 0; i < q.data[k].npages; i++)
                end_access_ok(r, q.data[k].first_ref + i, "after completion");
        }
        finish(r, &q, "held READ");
        rq_free(&q);
        r->batches++;
    }
    CHECK(r->held_refusals, "never caught the back-end with a data grant mapped in %u tries",
          HELD_ATTEMPTS);
}

static void t_flush_and_id(run *r)
{
    rq q[2];
    rq *ptrs[2] = { &q[0], &q[1] };

    rq_init(r, &q[0], BLK_T_FLUSH, 0, 0);
    rq_init(r, &q[1], BLK_T_GET_ID, 0, BLK_ID_BYTES);
    rq_data_simple(r, &q[1], 64);
    run_batch(r, ptrs, 2, "flush and get-id");
    rq_free(&q[1]);
}

/*
 * A reference whose access ended may be granted again for another frame
 * (Linux recycles them); the device must then reach the new frame, not a
 * mapping it kept of the old one. Possible only if the back-end released
 * some completed request's grants.
 */
static void t_ref_reuse(run *r)
{
    gm_grant_ref ref = r->recycle_ref;
    uint32_t frame;
    rq w, rd;

    if (!ref) {
        r->reuse_note = "skipped: the back-end still held every completed write's grants";
        return;
    }
    frame = xg_alloc_frames(&r->g, 1);
    rq_init(r, &w, BLK_T_OUT, 7000, XG_PAGE);
    w.data[0] = (xg_buf){ .first_ref = ref, .npages = 1, .frames = { frame }, .offset = 0,
                          .len = XG_PAGE, .readonly = true, .mapped = true };
    w.data[0].dma = xg_dma(ref, 0);
    CHECK(gm_gnttab_emu_grant(r->g.gt, ref, BACKEND_DOMID, frame, true) == 0, "re-grant %u", ref);
    r->g.granted++;
    w.ndata = 1;
    rq_fill_write(r, &w);
    run_single(r, &w, "write through a recycled reference");
    rq_free(&w);
    rq_init(r, &rd, BLK_T_IN, 7000, XG_PAGE);
    rq_data_simple(r, &rd, 0);
    rq_poison_read(r, &rd);
    run_single(r, &rd, "read back");
    rq_free(&rd);
    r->refs_reused++;
    r->reuse_note = "ok (device reached the new frame)";
}

/* ---- revocation at the end ------------------------------------------------- */

static unsigned int wait_held(run *r, int ms)
{
    int64_t deadline = now_ms() + ms;
    unsigned int held;

    while ((held = xg_retry_held(&r->g)) && now_ms() < deadline)
        usleep(20000);
    return held;
}

static void stop_queue(run *r)
{
    vuc_state st = { 0, 0 };

    VU_OK(vuc_send(&r->vu, VUC_GET_VRING_BASE, false, &st, sizeof(st), NULL, 0),
          "GET_VRING_BASE");
    VU_OK(vuc_recv(&r->vu, VUC_GET_VRING_BASE, &st, sizeof(st)), "GET_VRING_BASE reply");
    CHECK(st.index == 0 && st.num == r->ring.avail_idx, "vring base %u, want %u", st.num,
          r->ring.avail_idx);
}

static void wait_child_exit(run *r)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int status = 0;
    pid_t p;

    while ((p = waitpid(r->child, &status, WNOHANG)) == 0 && now_ms() < deadline)
        usleep(10000);
    CHECK(p == r->child, "back-end did not exit after the front-end closed the connection");
    r->child = -1;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "back-end exit status 0x%x", status);
}

/* ---- one run ------------------------------------------------------------------ */

static void run_one(run *r, const char *exe, uint64_t seed)
{
    int64_t t0 = now_ms();
    unsigned int nheld_data;

    current = r;
    r->rng = seed;
    r->child = -1;
    r->log_fd = -1;
    CHECK(xg_guest_init(&r->g, RAM_SIZE, NR_REFS, BACKEND_DOMID) == 0, "guest: %s",
          strerror(errno));
    r->shadow = calloc(1, RAM_SIZE);
    CHECK(r->shadow, "out of memory");
    xg_fill_decoy(&r->g, 0, r->g.frames);
    r->g.next_frame = FIRST_DATA_FRAME;

    start_backend(r, exe);
    negotiate(r);
    set_mem_table(r);
    xg_ring_init(&r->ring, &r->g, RING_SIZE, r->driver_area_ro);
    setup_queue(r);

    t_random_io(r, 3, 16, 64);          /* up to 32 KiB per request */
    t_scattered(r);
    t_multi_desc(r);
    t_write_rw_grant(r);
    t_refusals(r);
    t_hostile_midrequest(r);
    t_revoke_while_held(r);
    t_flush_and_id(r);
    t_random_io(r, 2, 40, 8);           /* many small requests: the ring wraps */
    t_ref_reuse(r);

    /* The device is idle: every data grant should be revocable by now. */
    r->held_idle = wait_held(r, IDLE_WAIT_MS);
    nheld_data = r->held_idle;
    stop_queue(r);
    r->held_stopped = wait_held(r, 200);

    /* Disconnect: the back-end exits (--once) and must release everything. */
    close(r->vu.sock);
    wait_child_exit(r);
    xg_ring_unmap(&r->ring);
    r->held_exit = xg_retry_held(&r->g);
    parse_backend_totals(r);
    dump_backend_log(r, "run complete", false);
    CHECK(r->held_exit == 0, "%u grants still mapped after the back-end exited", r->held_exit);
    /* A request without a status may count as an error or not: the driver
     * cannot tell, and the back-end's count is its own business. */
    CHECK(r->backend_requests == r->requests && r->backend_errors >= r->failures_expected &&
              r->backend_errors <= r->failures_expected + r->status_lost,
          "back-end counted %llu requests, %llu errors; the driver %u and %u (+%u without a "
          "status)", r->backend_requests, r->backend_errors, r->requests, r->failures_expected,
          r->status_lost);

    printf("xenfe: run %s (no-advance flag 0x%x%s): %u requests in %u batches (%u expected "
           "IOERR), %" PRIu64 " bytes written, %" PRIu64 " bytes read, %u calls, %lld ms\n",
           r->name, r->no_advance, r->driver_area_ro ? ", ring driver area read-only" : "",
           r->requests, r->batches, r->failures_expected, r->bytes_written, r->bytes_read,
           r->calls, (long long)(now_ms() - t0));
    printf("xenfe:   grants: %" PRIu64 " written; at unmap %" PRIu64 " revoked, %" PRIu64
           " refused (-EBUSY); %" PRIu64 " data refs still mapped when their request completed\n",
           r->g.granted, r->g.revoked_at_unmap, r->g.busy_at_unmap, r->g.seen_mapped);
    printf("xenfe:   still held: %u after %d ms idle, %u after GET_VRING_BASE, %u after the "
           "back-end exited; scattered-frame checks %u; recycled ref: %s\n",
           r->held_idle, IDLE_WAIT_MS, r->held_stopped, r->held_exit, r->scattered_checked,
           r->reuse_note);
    printf("xenfe:   hostile mid-request: %u requests whose grants changed after they were "
           "made available (%u without a status); revocation refused while mapped %u time(s) "
           "in %u tries\n",
           r->hostile_requests, r->status_lost, r->held_refusals, r->held_attempts);
    if (nheld_data) {
        printf("xenfe:   FINDING: the back-end keeps grant mappings of completed requests: "
               "%u references could not be revoked while the device was idle (a Linux guest "
               "marks the device broken on the first such unmap)\n",
               nheld_data);
        fflush(stdout);
        CHECK(allow_held_grants, "grants held after completion (--allow-held-grants to report "
                                 "only)");
    }

    close(r->kick_fd);
    close(r->call_fd);
    close(r->log_fd);
    r->log_fd = -1;
    free(r->shadow);
    xg_guest_fini(&r->g);
    current = NULL;
}

int main(int argc, char **argv)
{
    run runs[] = {
        { .name = "rust-vmm", .no_advance = VUC_XEN_NO_ADVANCE_RUSTVMM },
        { .name = "spec", .no_advance = VUC_XEN_NO_ADVANCE_SPEC, .driver_area_ro = true },
    };
    const char *seed_env = getenv("XENFE_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL);

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-guestmem-vhost-blk [--allow-held-grants]\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--allow-held-grants")) {
            allow_held_grants = true;
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], argv[i]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    atexit(at_exit_cleanup);
    alarm(100);
    printf("xenfe: seed %" PRIu64 " (XENFE_SEED to replay)\n", seed);
    for (unsigned int i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        run_one(&runs[i], argv[1], seed + i);
    printf("xenfe: PASS\n");
    return 0;
}
