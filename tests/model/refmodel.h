/* SPDX-License-Identifier: MIT */
/*
 * Reference model of guestmem's visibility and access rules, for the
 * model-based test (test_model.c).
 *
 * The model is deliberately naive: it renders nothing. For every byte of an
 * access it walks the region tree from the address space root and applies
 * QEMU's rules directly:
 *
 *   - a disabled region is as if removed (also as an alias target);
 *   - inside a region, the enabled subregions are tried in list order
 *     (descending priority; among equal priorities the one added last first;
 *     a move re-adds the region, so it becomes the newest of its priority);
 *     the first one that has something at the address wins; one with nothing
 *     there (a pure container with a hole, an alias past its target) does not
 *     stop the search;
 *   - if no subregion serves the address and the region terminates (RAM,
 *     ROM, RAM device, ROM device, I/O, reservation) it serves it itself;
 *   - an alias maps offset o to alias_offset + o in its target and ignores
 *     its own subregions and its target's address;
 *   - read-only is the OR over every region on the path; it refuses writes
 *     to RAM, ROM, map-on-demand memory and IOMMU regions (devices still get
 *     them, as in QEMU, where read-only decides whether RAM may be written
 *     directly);
 *   - a map-on-demand region (RM_MOD) is memory behind a provider that
 *     grants it per 4 KiB page: a page may be refused, or read-only (write
 *     mappings refused); a refused byte reads as zero and gives
 *     GM_ACCESS_ERROR. When the provider's mappings are cached (the mapping
 *     cache), a revocation is certain only after the cache was invalidated:
 *     until then the page is "stale" and an access to it may succeed or be
 *     refused (rm_access() reports such bytes as uncertain);
 *   - an access to an IOMMU region (RM_IOMMU) is translated per IOMMU page
 *     by a page table {target address space, page address, permissions}
 *     and continues in the target address space with that space's rules; a
 *     missing translation or permission, or more than RM_IOMMU_MAX_NESTING
 *     IOMMUs on the way, refuses the byte (zero, GM_ACCESS_ERROR).
 *
 * Topology is kept twice: "cur", changed by every setter, and "snap", the
 * view at the last outermost commit. Accesses are evaluated against snap,
 * because the library publishes a new flat view only at commit. The data of
 * RAM and device regions is not part of the topology and is shared.
 *
 * Regions are identified by their slot index (0..RM_MAX_REGIONS-1).
 */
#ifndef GUESTMEM_TESTS_REFMODEL_H
#define GUESTMEM_TESTS_REFMODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RM_MAX_REGIONS 56
#define RM_NONE (-1)

typedef unsigned __int128 rm_u128;
typedef __int128 rm_i128;

#define RM_2_64 ((rm_u128)1 << 64)

enum rm_kind {
    RM_CONTAINER,
    RM_RAM,   /* RAM, RAM from fd, RAM over a caller's pointer */
    RM_ROM,
    RM_RAMD,  /* RAM device */
    RM_ROMD,  /* ROM device */
    RM_IO,
    RM_RESV,  /* reservation */
    RM_MOD,   /* map-on-demand (gm_region_new_mapped, the mapping cache) */
    RM_IOMMU,
    RM_ALIAS,
};

#define RM_PAGE_SHIFT 12             /* grant page and refusal granule */
#define RM_IOMMU_MAX_NESTING 8       /* GM_IOMMU_MAX_NESTING */

/* Page states of a map-on-demand region. */
#define RM_PG_REFUSED 1u  /* no mapping at all */
#define RM_PG_RO 2u       /* read mappings only */
#define RM_PG_STALE 4u    /* revoked since the last invalidation of the cache */

/* Outcome of one byte of a map-on-demand region. */
enum rm_mod_outcome { RM_MOD_OK, RM_MOD_REFUSED, RM_MOD_MAYBE };

/* One IOMMU page: where it goes and what it allows (GM_IOMMU_* bits). */
struct rm_pte {
    int as;          /* root slot of the target address space; RM_NONE: none */
    uint64_t taddr;  /* page-aligned target address */
    unsigned int perm;
};

/* What the callbacks of an RM_IO region do, per byte at offset off. */
enum rm_io_flavor {
    RM_IO_MEM, /* memory: reads return what was written (pattern past cap) */
    RM_IO_REG, /* register bank: reads return a fixed pattern, writes are counted */
    RM_IO_ERR, /* memory whose "error" offsets return GM_ERROR and drop writes */
};

/* Topology of one region: everything rendering depends on. */
struct rm_topo {
    bool exists;
    bool enabled;
    bool readonly;
    bool romd;          /* ROM device in romd mode */
    int parent;         /* RM_NONE when not mapped */
    int prio;
    uint64_t seq;       /* insertion time among siblings */
    uint64_t addr;
    rm_u128 size;
    uint64_t alias_offset;
};

/* Fixed properties and the data of one region. */
struct rm_region {
    enum rm_kind kind;
    enum rm_io_flavor flavor;
    uint32_t id;         /* seeds patterns; unique within a run */
    int target;          /* alias target slot */
    uint64_t alloc;      /* bytes of data (RAM allocation, I/O capacity) */
    uint8_t *bytes;      /* the model's copy of the data (alloc bytes) */
    uint64_t reg_writes; /* RM_IO_REG: bytes written */
    /* RM_MOD: pages of the backing (alloc = npages pages) and their states */
    uint64_t npages;
    uint8_t *pg;
    bool mod_cached;     /* mappings are cached until invalidated */
    bool mod_copy;       /* reads and writes use the provider's copy op */
    /* RM_IOMMU: page size and table (pages past io_npages: no translation) */
    unsigned int io_shift;
    uint64_t io_npages;
    struct rm_pte *pte;
};

/* A rendered-at-commit view: topology plus sorted subregion lists. */
struct rm_snap {
    struct rm_topo t[RM_MAX_REGIONS];
    int nchild[RM_MAX_REGIONS];
    int child[RM_MAX_REGIONS][RM_MAX_REGIONS];
};

struct rm_model {
    struct rm_region r[RM_MAX_REGIONS];
    struct rm_topo cur[RM_MAX_REGIONS];
    struct rm_snap snap;
    uint64_t seq;
    unsigned int generation; /* bumped by every commit */
};

/* Where one byte lands. */
struct rm_hit {
    int leaf;     /* RM_NONE: unassigned */
    uint64_t off; /* offset in the leaf */
    bool readonly;
};

/* How an access crosses IOMMUs. */
enum rm_xmode {
    RM_X_ACCESS, /* reads, writes, maps: a write through a read-only view fails */
    RM_X_CACHE,  /* gm_cache_init: a read-only view makes the rest read-only */
};

/* Where one byte lands after every IOMMU on the way. */
struct rm_xhit {
    struct rm_hit hit;  /* the final leaf (never an IOMMU unless fault) */
    int root;           /* address space (root slot) of the final leaf */
    uint64_t addr;      /* address in it */
    unsigned int fault; /* 0, or the result of a refusal on the way */
    bool ro_crossed;    /* RM_X_CACHE: a read-only view of an IOMMU was crossed */
    rm_u128 clip;       /* bytes to the end of the smallest IOMMU page crossed */
    int depth;          /* IOMMUs crossed */
};

/* Bytes of an access whose outcome the model cannot tell (stale pages). */
#define RM_UNC_MAX 4096
struct rm_unc {
    int n;
    unsigned long reach; /* bytes that went to a map-on-demand provider */
    struct {
        uint32_t i;      /* index in the access */
        int leaf;
        uint64_t off;
    } e[RM_UNC_MAX];
};

/* Per-byte device behaviour, shared by the model and the test's callbacks. */
uint8_t rm_pattern(uint32_t id, uint64_t off);
bool rm_err_off(uint32_t id, uint64_t off);

void rm_init(struct rm_model *m);
void rm_free(struct rm_model *m);

/* Region lifecycle (slot must be free; rm_drop_region frees the data). */
void rm_new_region(struct rm_model *m, int slot, enum rm_kind kind, rm_u128 size,
                   uint64_t alloc, uint32_t id);
void rm_drop_region(struct rm_model *m, int slot);
/* Page states (all granted) of a new RM_MOD region; its alloc must be
 * npages pages. */
void rm_mod_setup(struct rm_model *m, int slot, bool cached, bool copy);
/* Empty page table of a new RM_IOMMU region. */
void rm_iommu_setup(struct rm_model *m, int slot, unsigned int shift, uint64_t npages);

/* Setters on the current topology, mirroring the library calls. */
void rm_add_sub(struct rm_model *m, int container, int sub, uint64_t addr, int prio);
void rm_del_sub(struct rm_model *m, int sub);
void rm_set_enabled(struct rm_model *m, int slot, bool enabled);
void rm_set_address(struct rm_model *m, int slot, uint64_t addr);
void rm_set_size(struct rm_model *m, int slot, rm_u128 size);
void rm_set_alias_offset(struct rm_model *m, int slot, uint64_t off);
void rm_set_readonly(struct rm_model *m, int slot, bool ro);
void rm_set_romd(struct rm_model *m, int slot, bool romd);

/* Publish the current topology (an outermost commit). */
void rm_commit(struct rm_model *m);

/* Structure queries on the current topology. */
bool rm_is_ancestor(const struct rm_model *m, int anc, int slot);
bool rm_reaches(const struct rm_model *m, int from, int to);
bool rm_has_children(const struct rm_model *m, int slot);
bool rm_is_alias_target(const struct rm_model *m, int slot);
bool rm_terminates(enum rm_kind kind);

/* Visibility and accesses, on the committed snapshot. */
void rm_resolve(const struct rm_model *m, int root, rm_u128 addr, struct rm_hit *hit);
unsigned int rm_read_byte(const struct rm_model *m, const struct rm_hit *hit, uint8_t *val);
unsigned int rm_write_byte(struct rm_model *m, const struct rm_hit *hit, uint8_t val);
/* Would gm_as_access_valid() accept this byte of a final leaf (not an
 * IOMMU)? (No callbacks: GM_ERROR is not known.) */
bool rm_byte_valid(const struct rm_model *m, const struct rm_hit *hit, bool is_write);
/* The same for a byte of an address space, through IOMMUs. */
bool rm_valid(const struct rm_model *m, int root, rm_u128 addr, bool is_write);
/* Follow IOMMUs from @addr of @root for an access. */
void rm_translate(const struct rm_model *m, int root, rm_u128 addr, enum rm_xmode mode,
                  bool is_write, struct rm_xhit *x);
/* What the provider does with byte @off of RM_MOD region @leaf, for an
 * access (@mapping false) or a mapping held by a map or cache (true). */
enum rm_mod_outcome rm_mod_state(const struct rm_model *m, int leaf, uint64_t off,
                                 bool need_write, bool mapping);
/*
 * An access of @len bytes, byte by byte. Uncertain bytes (see RM_PG_STALE)
 * are listed in @u (which may be NULL when there can be none): a read
 * returns the memory's byte for them, a write leaves them alone, and the
 * result is what it would be if they succeeded.
 */
unsigned int rm_access(struct rm_model *m, int root, uint64_t addr, uint8_t *buf,
                       uint64_t len, bool is_write, struct rm_unc *u);

/*
 * Every address where the visible region may change: the clipped start and
 * end of every region instance reachable from @root (through all paths).
 * Sorted, unique, each < 2^64 (2^64 itself is left out). Returns the count,
 * or -1 if there were more than @max or the walk was too large.
 */
int rm_boundaries(const struct rm_model *m, int root, uint64_t *out, int max);

/* Print the current topology (for failure reports). */
void rm_dump(const struct rm_model *m, FILE *f, const char *const *names);

#endif
