/* SPDX-License-Identifier: MIT */
/*
 * The "tenants" run of e2e-hostile-guest: front-ends that try to reach what
 * an earlier connection left behind, files that could change size under
 * the back-end, and the dirty log.
 *
 * The back-end is started with a 32 MiB RAM disk, emulated Xen grants and
 * --require-sealed. Besides the harness's check after every disconnect
 * (the back-end holds exactly the fds and shared mappings it held before
 * the first connection), each case checks:
 *
 * - Foreign RAM of a closed connection: tenant A sends a XEN_MMAP table
 *   with its RAM as a FOREIGN region and a grant table over it, then
 *   leaves. Tenant B sends only a GRANT region whose table (B's own, sized
 *   like A's RAM, entry 0 granting frame 3 writable to the back-end) would
 *   attach to A's RAM if anything of A were left: it must be refused.
 * - The same within one connection: a new table without the FOREIGN
 *   region, or REM_MEM_REG of it, leaves nothing a later grant region can
 *   attach to.
 * - Files: guest RAM not sealed against shrinking is refused
 *   (--require-sealed); the in-flight area the back-end hands out is sealed
 *   (the front-end cannot truncate it); an unsealed in-flight area or dirty
 *   log is refused, so truncating it afterwards cannot raise SIGBUS in the
 *   back-end; a region whose file range ends exactly at 2^64 is refused.
 * - DISCARD and WRITE_ZEROES over the advertised maximum of sectors, inside
 *   the disk, are refused.
 * - The dirty log: with VHOST_F_LOG_ALL, a READ sets the bits of the pages
 *   the device wrote (data, status, used ring) and not those it only read.
 * - SET_FEATURES under a running ring may only switch logging.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/gnttab.h>

#include "check.h"
#include "hostile.h"

#define T_SET_FEATURES 2
#define T_SET_MEM_TABLE 5
#define T_SET_LOG_BASE 6
#define T_GET_INFLIGHT_FD 31
#define T_SET_INFLIGHT_FD 32
#define T_ADD_MEM_REG 37
#define T_REM_MEM_REG 38
#define T_PF_LOG_SHMFD 1
#define T_PF_INFLIGHT_SHMFD 12
#define T_PF_CONFIGURE_MEM_SLOTS 15
#define T_F_LOG_ALL 26

#define TENANT_RAM (64u << 10)       /* 16 frames */
#define TENANT_REFS 16u
#define TENANT_DOMID 1u
#define BACKEND_DOMID 0u
#define SECRET_FRAME 3u
#define GRANT_GPA (1ull << 63)
#define RAM_UADDR 0x100000000000ull
#define GRANT_UADDR 0x200000000000ull
#define DISK_MAX_SECTORS 32768u      /* what the back-end advertises */

typedef struct tenant {
    int ram_fd;
    uint8_t *ram;
    gm_gnttab_emu *gt;
} tenant;

typedef vuc_region_xen xen_region;

/* ---- helpers ------------------------------------------------------------------ */

static int sealed_memfd(const char *name, uint64_t size, bool sealed)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

    CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0, "memfd %s: %s", name, strerror(errno));
    if (sealed)
        CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal: %s",
              strerror(errno));
    return fd;
}

/* Guest RAM whose every byte says which tenant owns it, and a grant table
 * over it with entry 0 granting @frame writable to the back-end. */
static void tenant_init(tenant *t, uint8_t owner, uint32_t frame)
{
    t->ram_fd = sealed_memfd("tenant-ram", TENANT_RAM, true);
    t->ram = mmap(NULL, TENANT_RAM, PROT_READ | PROT_WRITE, MAP_SHARED, t->ram_fd, 0);
    CHECK(t->ram != MAP_FAILED, "mmap: %s", strerror(errno));
    memset(t->ram, owner, TENANT_RAM);
    t->gt = gm_gnttab_emu_create(TENANT_REFS, t->ram_fd, TENANT_RAM, BACKEND_DOMID);
    CHECK(t->gt, "grant table: %s", strerror(errno));
    CHECK(gm_gnttab_emu_grant(t->gt, 0, BACKEND_DOMID, frame, false) == 0, "grant");
}

static void tenant_fini(tenant *t)
{
    gm_gnttab_emu_free(t->gt);
    munmap(t->ram, TENANT_RAM);
    close(t->ram_fd);
}

static xen_region foreign_region(void)
{
    return (xen_region){ 0, TENANT_RAM, RAM_UADDR, 0, VUC_XEN_FOREIGN, TENANT_DOMID };
}

static xen_region grant_region(uint64_t gpa)
{
    return (xen_region){ gpa, (uint64_t)TENANT_REFS << 12, GRANT_UADDR + (gpa - GRANT_GPA), 0,
                         VUC_XEN_GRANT, TENANT_DOMID };
}

/* SET_MEM_TABLE in the XEN_MMAP layout. Returns the ack (0 or an error). */
static int xen_table(hs *s, const xen_region *r, const int *fds, uint32_t n)
{
    struct {
        uint32_t nregions;
        uint32_t padding;
        xen_region regions[2];
    } __attribute__((packed)) mt = { .nregions = n };

    memcpy(mt.regions, r, n * sizeof(*r));
    return hs_call(s, T_SET_MEM_TABLE, &mt, 8 + n * (uint32_t)sizeof(*r), fds, n);
}

/* ADD_MEM_REG / REM_MEM_REG of one XEN_MMAP region (payload: padding + region). */
static int xen_region_msg(hs *s, uint32_t req, const xen_region *r, int fd)
{
    struct {
        uint64_t padding;
        xen_region region;
    } __attribute__((packed)) m = { 0, *r };

    return hs_call(s, req, &m, sizeof(m), fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

/*
 * The back-end's log mark before a message it must refuse. Guest errors
 * are rate-limited (10 lines a second) and each refusal logs three or four:
 * wait until a window has passed since the previous refusal, so that the
 * reason is logged and can be checked.
 */
static off_t quiet_mark(hs *s)
{
    static struct timespec last;
    struct timespec now;
    int64_t ms;

    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
    if (last.tv_sec && ms < 1100)
        usleep((useconds_t)(1100 - ms) * 1000);
    clock_gettime(CLOCK_MONOTONIC, &last);
    return hs_log_mark(s);
}

/*
 * A message the back-end must refuse: its ack says so or the connection is
 * gone, the back-end logged @needle, and it is still alive. Then the
 * connection is closed (the back-end closes it after a refusal anyway).
 */
static void expect_refused(hs *s, int err, off_t mark, const char *needle, const char *what)
{
    CHECK(err != 0, "%s: accepted", what);
    CHECK(hs_log_has(s, mark, needle), "%s: refused (%s), but the log does not say \"%s\"",
          what, strerror(-err), needle);
    hs_check_alive(s, what);
    hs_disconnect(s);
    printf("ok - %s: %s: refused (%s)\n", s->name, what, needle);
}

/* ---- tenants ------------------------------------------------------------------ */

/* Connect with XEN_MMAP and send @t's RAM (FOREIGN) and grant table. */
static void send_tenant_table(hs *s, const tenant *t)
{
    xen_region r[2] = { foreign_region(), grant_region(GRANT_GPA) };
    int fds[2] = { t->ram_fd, gm_gnttab_emu_fd(t->gt) };

    hs_connect(s, 1ull << VUC_PF_XEN_MMAP);
    CHECK(xen_table(s, r, fds, 2) == 0, "a tenant's foreign RAM and grant table");
}

/* A table of @t's grant region alone must be refused. */
static void expect_grants_alone_refused(hs *s, const tenant *t, const char *what)
{
    xen_region r = grant_region(GRANT_GPA);
    int fd = gm_gnttab_emu_fd(t->gt);
    off_t mark = quiet_mark(s);

    expect_refused(s, xen_table(s, &r, &fd, 1), mark, "no foreign region", what);
}

static void case_stale_foreign_ram(hs *s)
{
    tenant a, b;

    tenant_init(&a, 0xaa, SECRET_FRAME);
    send_tenant_table(s, &a);
    hs_disconnect(s);
    tenant_fini(&a);
    /* B's table is sized for A's RAM; B's own RAM is never sent. */
    tenant_init(&b, 0xbb, SECRET_FRAME);
    hs_connect(s, 1ull << VUC_PF_XEN_MMAP);
    expect_grants_alone_refused(s, &b, "a grant table over the RAM of a closed connection");
    tenant_fini(&b);
}

static void case_table_without_foreign(hs *s)
{
    tenant a;

    tenant_init(&a, 0xcc, SECRET_FRAME);
    send_tenant_table(s, &a);
    expect_grants_alone_refused(s, &a, "a new table with the grant region but not the foreign "
                                       "one");
    tenant_fini(&a);
}

static void case_removed_foreign(hs *s)
{
    tenant a;
    xen_region ram = foreign_region(), g1 = grant_region(GRANT_GPA);
    xen_region g2 = grant_region(GRANT_GPA + (1ull << 40));
    off_t mark;

    tenant_init(&a, 0xdd, SECRET_FRAME);
    hs_connect(s, 1ull << VUC_PF_XEN_MMAP | 1ull << T_PF_CONFIGURE_MEM_SLOTS);
    CHECK(xen_region_msg(s, T_ADD_MEM_REG, &ram, a.ram_fd) == 0, "ADD_MEM_REG foreign");
    CHECK(xen_region_msg(s, T_ADD_MEM_REG, &g1, gm_gnttab_emu_fd(a.gt)) == 0,
          "ADD_MEM_REG grant");
    CHECK(xen_region_msg(s, T_REM_MEM_REG, &ram, -1) == 0, "REM_MEM_REG foreign");
    mark = quiet_mark(s);
    expect_refused(s, xen_region_msg(s, T_ADD_MEM_REG, &g2, gm_gnttab_emu_fd(a.gt)), mark,
                   "no foreign region", "a grant region after REM_MEM_REG of the foreign one");
    tenant_fini(&a);
}

/* ---- files -------------------------------------------------------------------- */

/* SET_MEM_TABLE of one region of @size bytes at @offset of @fd. */
static int one_region_table(hs *s, int fd, uint64_t size, uint64_t offset)
{
    struct {
        uint32_t nregions;
        uint32_t padding;
        uint64_t gpa, size, uaddr, offset;
    } __attribute__((packed)) mt = { 1, 0, 0, size, RAM_UADDR, offset };

    return hs_call(s, T_SET_MEM_TABLE, &mt, sizeof(mt), &fd, 1);
}

static void case_unsealed_ram(hs *s)
{
    int fd = sealed_memfd("unsealed-ram", 1u << 20, false);
    off_t mark;

    hs_connect(s, 0);
    mark = quiet_mark(s);
    expect_refused(s, one_region_table(s, fd, 1u << 20, 0), mark,
                   "not sealed against shrinking", "guest RAM not sealed against shrinking");
    close(fd);
}

static void case_range_to_2_64(hs *s)
{
    int fd = sealed_memfd("small-ram", 1u << 20, true);
    off_t mark;

    hs_connect(s, 0);
    mark = quiet_mark(s);
    expect_refused(s, one_region_table(s, fd, 1u << 20, 0 - (uint64_t)(1u << 20)), mark,
                   "not a regular file holding", "a region whose file range ends at 2^64");
    close(fd);
}

typedef struct inflight_msg {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
    uint16_t padding[2];
} __attribute__((packed)) inflight_msg;

static void case_inflight_sealed(hs *s)
{
    inflight_msg req = { 0, 0, 1, HS_QSIZE, { 0, 0 } }, reply;
    int fd = -1, seals;

    hs_connect(s, 1ull << T_PF_INFLIGHT_SHMFD);
    CHECK(vuc_send(&s->vu, T_GET_INFLIGHT_FD, false, &req, sizeof(req), NULL, 0) == 0,
          "GET_INFLIGHT_FD");
    CHECK(vuc_recv_fd(&s->vu, T_GET_INFLIGHT_FD, &reply, sizeof(reply), &fd) == 0 && fd >= 0,
          "GET_INFLIGHT_FD reply with an fd");
    seals = fcntl(fd, F_GET_SEALS);
    CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW) && (seals & F_SEAL_SEAL),
          "the in-flight memfd is sealed (seals 0x%x)", seals);
    CHECK(ftruncate(fd, 0) < 0 && errno == EPERM, "the front-end cannot truncate it");
    /* Handed back as QEMU does after a reconnect: accepted. */
    req.mmap_size = reply.mmap_size;
    CHECK(hs_call(s, T_SET_INFLIGHT_FD, &req, sizeof(req), &fd, 1) == 0,
          "SET_INFLIGHT_FD of the sealed area");
    close(fd);
    hs_disconnect(s);
    printf("ok - %s: the in-flight area is sealed against truncation\n", s->name);
}

static void case_inflight_unsealed(hs *s)
{
    inflight_msg req = { 0, 0, 1, HS_QSIZE, { 0, 0 } }, reply;
    int fd = -1;
    off_t mark;

    hs_connect(s, 1ull << T_PF_INFLIGHT_SHMFD);
    /* The size the back-end wants for this geometry, from its own area. */
    CHECK(vuc_send(&s->vu, T_GET_INFLIGHT_FD, false, &req, sizeof(req), NULL, 0) == 0 &&
              vuc_recv_fd(&s->vu, T_GET_INFLIGHT_FD, &reply, sizeof(reply), &fd) == 0,
          "GET_INFLIGHT_FD");
    close(fd);
    req.mmap_size = reply.mmap_size;
    fd = sealed_memfd("unsealed-inflight", req.mmap_size, false);
    mark = quiet_mark(s);
    expect_refused(s, hs_call(s, T_SET_INFLIGHT_FD, &req, sizeof(req), &fd, 1), mark,
                   "in-flight area fd refused", "an in-flight area not sealed against shrinking");
    CHECK(ftruncate(fd, 0) == 0, "truncate it afterwards");
    close(fd);
}

typedef struct log_msg {
    uint64_t mmap_size;
    uint64_t mmap_offset;
} __attribute__((packed)) log_msg;

/* SET_LOG_BASE with LOG_SHMFD: an empty reply, then the back-end closes
 * the connection if it refused. Returns 0 if the log works afterwards. */
static int set_log_base(hs *s, int fd, uint64_t size)
{
    log_msg m = { size, 0 };
    uint64_t features;
    int err = vuc_send(&s->vu, T_SET_LOG_BASE, false, &m, sizeof(m), &fd, 1);

    if (!err)
        err = vuc_recv(&s->vu, T_SET_LOG_BASE, NULL, 0);
    /* A refusal closes the connection: the next request shows it. */
    if (!err)
        err = vuc_get_u64(&s->vu, VUC_GET_FEATURES, &features);
    return err;
}

static void case_log_unsealed(hs *s)
{
    int fd = sealed_memfd("unsealed-log", 4096, false);
    off_t mark;

    hs_connect(s, 1ull << T_PF_LOG_SHMFD);
    mark = quiet_mark(s);
    expect_refused(s, set_log_base(s, fd, 4096), mark, "dirty log fd refused",
                   "a dirty log not sealed against shrinking");
    CHECK(ftruncate(fd, 0) == 0, "truncate it afterwards");
    close(fd);
}

/* ---- requests ----------------------------------------------------------------- */

static void case_range_maximum(hs *s)
{
    hs_connect_standard(s, 0);
    hs_range_case(s, "WRITE_ZEROES of the maximum plus one sector, inside the disk",
                  HS_T_WRITE_ZEROES, 0, DISK_MAX_SECTORS + 1, HS_S_IOERR);
    hs_disconnect(s);
}

/* Log bit of guest physical page @gpa. */
static bool logged(const uint8_t *log, uint64_t gpa)
{
    uint64_t page = gpa / 4096;

    return log[page / 8] & (1u << (page % 8));
}

static void case_dirty_log(hs *s)
{
    const uint64_t log_bytes = (HS_R1_GPA + HS_REGION_BYTES) / 4096 / 8;
    uint64_t features = hs_features(s) | 1ull << T_F_LOG_ALL;
    int fd = sealed_memfd("dirty-log", log_bytes, true);
    uint8_t *log = mmap(NULL, log_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint64_t data, status, header;
    hs_req q;

    CHECK(log != MAP_FAILED, "mmap log");
    hs_connect_standard(s, 1ull << T_PF_LOG_SHMFD);
    CHECK(set_log_base(s, fd, log_bytes) == 0, "SET_LOG_BASE of a sealed log");
    CHECK(hs_call(s, T_SET_FEATURES, &features, sizeof(features), NULL, 0) == 0,
          "SET_FEATURES with LOG_ALL under a running ring");
    memset(log, 0, log_bytes);
    /* A READ into region 1 whose header and status are in region 0. */
    hs_req_init(&q, "READ with the dirty log on");
    header = hs_header(s, HS_T_IN, 8);
    hs_add(&q, header, 16, HS_DESC_NEXT);
    data = hs_buf(s, 1, 3 * 4096, 4096, 0x5a);
    hs_add(&q, data, 3 * 4096, HS_DESC_NEXT | HS_DESC_WRITE);
    q.type = HS_T_IN;
    q.sector = 8;
    q.data[0] = (hs_range){ data, 3 * 4096 };
    q.ndata = 1;
    q.data_len = 3 * 4096;
    status = hs_status_buf(s);
    q.status_dma = status;
    hs_add(&q, status, 1, HS_DESC_WRITE);
    hs_run(s, &q);
    for (unsigned int i = 0; i < 3; i++)
        CHECK(logged(log, data + i * 4096ull), "data page %u logged", i);
    CHECK(logged(log, status), "status page logged");
    CHECK(logged(log, HS_USED_GPA), "used ring logged");
    CHECK(!logged(log, HS_DESC_GPA) && !logged(log, HS_AVAIL_GPA) && !logged(log, header),
          "the descriptor table, available ring and request header (only read) are not "
          "logged");
    CHECK(!logged(log, HS_R1_GPA + HS_REGION_BYTES - 4096), "a page nobody wrote is not logged");
    /* Anything but logging may not change under a running ring. */
    features &= ~(1ull << HS_F_INDIRECT_DESC);
    CHECK(hs_call(s, T_SET_FEATURES, &features, sizeof(features), NULL, 0) != 0,
          "SET_FEATURES changing INDIRECT_DESC under a running ring is refused");
    hs_disconnect(s);
    munmap(log, log_bytes);
    close(fd);
    printf("ok - %s: the dirty log holds the pages a READ wrote, and only those\n", s->name);
}

void hs_cases_tenants(hs *s)
{
    hs_disconnect(s);   /* the run's first connection */
    case_stale_foreign_ram(s);
    case_table_without_foreign(s);
    case_removed_foreign(s);
    case_unsealed_ram(s);
    case_range_to_2_64(s);
    case_inflight_sealed(s);
    case_inflight_unsealed(s);
    case_log_unsealed(s);
    case_range_maximum(s);
    case_dirty_log(s);
    hs_connect_standard(s, 0);   /* what run_one closes */
}
