/* SPDX-License-Identifier: MIT */
/*
 * e2e-hostile-guest: the harness shared by the front-end (hostile_frontend.c)
 * and the case list (hostile_cases.c).
 *
 * Guest "physical" memory is a 16 MiB memfd shown to the back-end as two
 * memory-table regions with a hole between them:
 *
 *   GPA [0, 8 MiB)          region 0 (memfd offset 0): rings, indirect
 *                           tables, request headers, data
 *   GPA [8 MiB, 16 MiB)     nothing (the hole)
 *   GPA [16 MiB, 24 MiB)    region 1 (memfd offset 8 MiB): data
 *
 * With VIRTIO_F_IOMMU_PLATFORM the driver uses IOVAs instead: the front-end
 * keeps an IOVA -> user address table that maps IOVA_BASE + gpa to the RAM
 * behind gpa for both regions (the hole and everything else stay
 * untranslated), with per-page overrides a case can set (read-only,
 * write-only, unmapped). It answers the back-end's IOTLB misses from that
 * table, one 4 KiB page per update, as QEMU does, and answers nothing for an
 * IOVA it cannot translate with the permission asked for.
 */
#ifndef GUESTMEM_TESTS_HOSTILE_H
#define GUESTMEM_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "vu_client.h"

/* vhost-user requests and protocol features vu_client.h does not name */
#define HS_SET_VRING_ERR 14
#define HS_SET_BACKEND_REQ_FD 21
#define HS_IOTLB_MSG 22
#define HS_RESET_DEVICE 34
#define HS_BACKEND_IOTLB_MSG 1
#define HS_PF_BACKEND_REQ 5
#define HS_PF_RESET_DEVICE 13
#define HS_IOTLB_MISS 1
#define HS_IOTLB_UPDATE 2
#define HS_IOTLB_INVALIDATE 3
#define HS_ACCESS_RO 1u
#define HS_ACCESS_WO 2u
#define HS_ACCESS_RW 3u

/* virtio */
#define HS_F_INDIRECT_DESC 28
#define HS_DESC_NEXT 1u
#define HS_DESC_WRITE 2u
#define HS_DESC_INDIRECT 4u
#define HS_BLK_F_SEG_MAX 2
#define HS_BLK_F_BLK_SIZE 6
#define HS_BLK_F_FLUSH 9
#define HS_BLK_F_DISCARD 13
#define HS_BLK_F_WRITE_ZEROES 14
#define HS_T_IN 0u
#define HS_T_OUT 1u
#define HS_T_GET_ID 8u
#define HS_T_DISCARD 11u
#define HS_T_WRITE_ZEROES 13u
#define HS_S_OK 0u
#define HS_S_IOERR 1u
#define HS_S_UNSUPP 2u

/* guest memory */
#define HS_RAM_BYTES (16u << 20)
#define HS_REGION_BYTES (8u << 20)
#define HS_R0_GPA 0ull
#define HS_HOLE_GPA (8ull << 20)
#define HS_R1_GPA (16ull << 20)
#define HS_MMIO_GPA 0xfee00000ull        /* where x86 puts the local APIC */
#define HS_IOVA_BASE 0x4000000000ull
#define HS_QSIZE 64u
#define HS_DESC_GPA 0x10000ull
#define HS_AVAIL_GPA 0x11000ull
#define HS_USED_GPA 0x12000ull
#define HS_USED_BYTES (4u + 8u * HS_QSIZE)
#define HS_TABLE_GPA 0x100000ull         /* indirect tables: 1 MiB */
#define HS_TABLE_BYTES (1u << 20)
#define HS_DATA0_GPA 0x200000ull         /* region 0 buffers up to 8 MiB */
#define HS_DATA1_GPA HS_R1_GPA           /* region 1 buffers */
#define HS_PAGE 4096u

/* the RAM disk */
#define HS_SECTOR 512u
#define HS_DISK_BYTES (8u << 20)
#define HS_DISK_SECTORS (HS_DISK_BYTES / HS_SECTOR)
#define HS_VICTIM_SECTOR 4096u           /* where refused WRITEs aim */
#define HS_VICTIM_SECTORS 8u

#define HS_MAX_DESC 72u
#define HS_MAX_RANGES 72u
#define HS_MAX_OVERRIDES 32u

/* What a submitted request must lead to. */
enum hs_expect {
    HS_EXPECT_STATUS,       /* completed, status byte == want_status */
    HS_EXPECT_OK_OR_IOERR,  /* completed with either (races the case provokes) */
    HS_EXPECT_NO_STATUS,    /* completed with used.len 0: no writable byte to put a status in */
    HS_EXPECT_BREAK,        /* not completed: the device stopped the queue */
};

/* How a case restores service after the queue broke. */
enum hs_recovery {
    HS_RECOVER_AUTO,        /* the next of the three below, in turn */
    HS_RECOVER_RING,        /* GET_VRING_BASE, fresh ring, SET_VRING_* again */
    HS_RECOVER_RESET,       /* RESET_DEVICE, then features and ring again */
    HS_RECOVER_RECONNECT,   /* close the connection, connect and set up anew */
};

typedef struct hs_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;          /* chain-relative index, unless raw_next */
    bool raw_next;
} hs_desc;

typedef struct hs_range {
    uint64_t dma;           /* a driver address (GPA, or IOVA with IOMMU) */
    uint32_t len;
} hs_range;

typedef struct hs_req hs_req;
typedef struct hs hs;
typedef void (*hs_hook)(hs *s, hs_req *q);

struct hs_req {
    const char *what;
    hs_desc d[HS_MAX_DESC];   /* the chain, written at consecutive ring slots */
    unsigned int nd;
    bool raw_head;            /* put head_raw in the available ring, not slot 0 */
    uint16_t head_raw;
    enum hs_expect expect;
    uint8_t want_status;
    const char *reason;       /* expected break reason (back-end log), or NULL */
    enum hs_recovery recovery;
    uint64_t status_dma;      /* where the status byte must land, 0 if none */
    hs_range wr[HS_MAX_RANGES];   /* writable buffers: excluded from the RAM check */
    unsigned int nwr;
    /* data: a READ's destination (checked against the disk) or a WRITE's source */
    uint32_t type;
    uint64_t sector;
    hs_range data[HS_MAX_RANGES];
    unsigned int ndata;
    uint32_t data_len;
    bool touches_disk;        /* the target is the victim range: never written */
    int max_ms;               /* completion bound; 0: default */
    uint16_t idx_extra;       /* added to avail->idx beyond the +1 (a wild index) */
    hs_hook after_kick;       /* runs right after the kick (IOTLB races) */
    hs_hook before_recover;   /* runs after a break, before service is restored */
    /* results */
    uint16_t head;
    uint32_t used_len;
    uint8_t status;
    int64_t elapsed_ms;
    unsigned int misses_unanswered;   /* IOTLB misses the front-end left unanswered */
};

typedef struct hs_override {
    uint64_t iova;            /* page */
    uint8_t perm;             /* 0: no translation */
} hs_override;

struct hs {
    const char *name;
    const char *exe;
    const char *ram_size;     /* the back-end's --ram-size (NULL: 8M) */
    const char *extra_args[6];   /* more back-end options, NULL-terminated */
    bool offer_iommu;         /* back-end started with --iommu */
    bool iommu;               /* negotiated on this connection */
    bool stall_only;          /* the "stall" run: hs_cases_stall() alone */
    bool tenants;             /* the "tenants" run: hs_cases_tenants() */
    pid_t child;
    int listen_fd;
    struct sockaddr_un addr;
    unsigned int addrlen;
    int log_fd;
    vuc vu;
    int backend_fd;           /* our end of the back-end channel, or -1 */
    int kick_fd, call_fd, err_fd;
    int mem_fd;
    uint8_t *ram;             /* the memfd, both regions */
    uint8_t *snap;            /* RAM before the request */
    uint8_t *disk;            /* what the disk must hold */
    uint16_t avail_idx;       /* driver's next avail index */
    uint16_t used_seen;       /* used->idx last consumed */
    unsigned int desc_base;   /* ring slot the next chain starts at */
    uint64_t alloc0, alloc1;  /* bump allocators in region 0 / region 1 */
    uint64_t rng;
    hs_override ov[HS_MAX_OVERRIDES];
    unsigned int nov;
    /* counters */
    unsigned int cases, breaks, ioerrs, unsupps, nostatus, oks, valid;
    unsigned int recover_ring, recover_reset, recover_reconnect, connections;
    unsigned int misses_answered, misses_refused, invalidations_sent;
    unsigned int reasons_seen, reasons_unlogged;
    unsigned int stop_completions;
    unsigned int breaks_signalled;   /* breaks the vring error eventfd reported */
    unsigned int skipped;            /* cases left out of the IOMMU run */
    int64_t max_stall_ms;
    /* what the back-end holds of its own (before the first connection) */
    bool have_base;
    unsigned int base_fds, base_maps;
    unsigned int disconnects;        /* connection ends the back-end logged */
    unsigned int residue_checks;     /* disconnects checked for leftovers */
};

/* ---- hostile_frontend.c: the harness ---------------------------------------- */

uint64_t hs_dma(const hs *s, uint64_t gpa);
uint8_t *hs_host(hs *s, uint64_t dma, uint64_t len);
uint64_t hs_rnd(hs *s);
/* A fresh buffer in region 0 or 1 (its driver address), filled with @fill. */
uint64_t hs_buf(hs *s, int region, uint32_t len, uint32_t align, uint8_t fill);

void hs_req_init(hs_req *q, const char *what);
unsigned int hs_add(hs_req *q, uint64_t addr, uint32_t len, uint16_t flags);
void hs_note_writable(hs_req *q, uint64_t dma, uint32_t len);
uint64_t hs_header(hs *s, uint32_t type, uint64_t sector);
uint64_t hs_status_buf(hs *s);
/*
 * A well-formed request: header, @len data bytes in one buffer of region
 * @region (none for 0), status; descriptors left NEXT-chained in @q.
 */
void hs_std(hs *s, hs_req *q, uint32_t type, uint64_t sector, uint32_t len, int region);
/* Write descriptor entries into an indirect table at @table (driver address). */
void hs_put_table(hs *s, uint64_t table, const hs_desc *d, unsigned int n);

/* IOMMU: make [dma, dma + len) translate with @perm (0: not at all), and
 * tell the back-end to forget what it had. */
void hs_iommu_set(hs *s, uint64_t dma, uint64_t len, uint8_t perm);
void hs_iommu_invalidate(hs *s, uint64_t dma, uint64_t len);
void hs_iommu_reset(hs *s);

/* Submit @q alone, wait for it, check every expectation; then restore
 * service if it broke the queue. Returns after the checks passed. */
void hs_run(hs *s, hs_req *q);
/* Publish and kick @q without waiting (the case checks what happens). */
void hs_submit(hs *s, hs_req *q);
/* A fresh ring after GET_VRING_BASE. */
void hs_restart_ring(hs *s);
/* A correct WRITE + READ back + READ of the victim range, all must be OK. */
void hs_valid_requests(hs *s);
/* Answer misses until the front-end leaves one unanswered (false: none in @ms). */
bool hs_wait_refused_miss(hs *s, int ms);
/* GET_VRING_BASE while the device may be busy; returns how long the reply took. */
int64_t hs_stop_timed(hs *s);

/* Connect and negotiate (protocol features: the run's, plus @extra_proto),
 * with no memory table yet. */
void hs_connect(hs *s, uint64_t extra_proto);
/* Connect, negotiate (@extra_proto as for hs_connect), the standard memory
 * table and ring. */
void hs_connect_standard(hs *s, uint64_t extra_proto);
/* Close the connection; once the back-end has torn it down, it must hold
 * exactly the fds and shared-file mappings it held before the first
 * connection (every disconnect of every run is checked so). */
void hs_disconnect(hs *s);
/* A request on the connection (vuc_call: acked with REPLY_ACK). */
int hs_call(hs *s, uint32_t req, const void *payload, uint32_t size, const int *fds,
            unsigned int nfds);
void hs_check_alive(hs *s, const char *after);
/* The virtio features the harness negotiates on this connection. */
uint64_t hs_features(const hs *s);
/* The back-end's log: a mark, and whether @needle appeared after it. */
off_t hs_log_mark(hs *s);
bool hs_log_has(hs *s, off_t mark, const char *needle);

/* ---- hostile_cases.c ---------------------------------------------------------- */

void hs_cases_chain(hs *s);
void hs_cases_request(hs *s);
/* A DISCARD or WRITE_ZEROES (@type) of one segment at @sector, @count_flags
 * its num_sectors (low 32 bits) and flags (high): must end with @status,
 * then correct requests must work. */
void hs_range_case(hs *s, const char *what, uint32_t type, uint64_t sector,
                   uint64_t count_flags, uint8_t status);
void hs_cases_iommu(hs *s);
void hs_cases_avail_jump(hs *s);
void hs_cases_stall(hs *s);

/* ---- hostile_tenants.c: between connections, files, the dirty log ------------ */

void hs_cases_tenants(hs *s);

#endif
