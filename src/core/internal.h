/* SPDX-License-Identifier: MIT */
/*
 * Internal definitions shared by the files of src/core.
 *
 * Glossary (used in every file of the core):
 *   sys   the gm_system         mr    a region          as   an address space
 *   fv    a flat view           fr    a flat range      xlat offset in a region
 *   addr  a guest address       len   a byte count      attrs transaction attrs
 *
 * Lock naming: a function whose name ends in _locked must be called with the
 * system's writer lock (sys->lock) held. Functions ending in _rcu must be
 * called inside an RCU read-side critical section. Nothing else needs a lock.
 *
 * Sizes: flat-view arithmetic is done in gm_u128 so that a 2^64-byte space
 * and its end address are representable, as QEMU does with Int128.
 */
#ifndef GUESTMEM_CORE_INTERNAL_H
#define GUESTMEM_CORE_INTERNAL_H

#include <pthread.h>
#include <sys/queue.h>
#include <urcu-bp.h>
#include <urcu/rcuhlist.h>

#include <guestmem/guestmem.h>

typedef unsigned __int128 gm_u128;

#define GM_2_64 ((gm_u128)1 << 64)

#ifdef NDEBUG
#define GM_NEVER(cond) (cond)
#else
#include <assert.h>
/* A "cannot happen" check that protects memory safety: aborts in debug
 * builds, takes the recovery path in release builds (SQLite's NEVER()). */
#define GM_NEVER(cond) ((cond) ? (assert(!(#cond)), 1) : 0)
#endif

/* Deepest walk of a region tree (containers and alias hops). */
#define GM_MAX_NESTING 128

#define GM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- regions ---------------------------------------------------------- */

enum gm_region_kind {
    GM_KIND_CONTAINER,
    GM_KIND_RAM,        /* RAM and ROM (readonly) */
    GM_KIND_RAM_DEVICE, /* "ramd": host memory, exact-size accesses */
    GM_KIND_ROM_DEVICE, /* RAM reads in romd mode, ops writes */
    GM_KIND_IO,         /* ops; NULL ops = reservation */
    GM_KIND_ALIAS,
    GM_KIND_IOMMU,      /* translate callbacks; a leaf in flat views */
    GM_KIND_MAPPED,     /* map-on-demand: map/unmap/copy callbacks */
};

typedef struct gm_iommu_state gm_iommu_state;

enum gm_ram_backing {
    GM_RAM_NONE,
    GM_RAM_ANON,  /* mmap(MAP_ANONYMOUS), unmapped at free */
    GM_RAM_FD,    /* mmap of a dup'ed fd, unmapped and closed at free */
    GM_RAM_PTR,   /* caller's memory, left alone */
};

TAILQ_HEAD(gm_region_list, gm_region);

struct gm_region {
    gm_system *sys;
    char *name;
    enum gm_region_kind kind;
    int refcount;                 /* atomic */

    /* Topology: changed only under sys->lock. */
    gm_u128 size;
    gm_addr addr;
    int priority;
    bool enabled;
    bool readonly;
    bool nonvolatile;
    bool unmergeable;
    bool terminates;
    bool romd_mode;
    gm_region *container;
    struct gm_region_list subregions;
    TAILQ_ENTRY(gm_region) subregions_link;
    gm_region *alias;
    gm_addr alias_offset;

    /* Fixed at creation: read by lock-free readers. */
    const gm_region_ops *ops;
    void *opaque;
    gm_reentrancy_guard *guard;
    bool guard_disabled;
    gm_iommu_state *iommu;        /* GM_KIND_IOMMU only */
    const gm_mod_ops *mod_ops;    /* GM_KIND_MAPPED only */
    uint8_t *ram;
    uint64_t ram_len;             /* bytes of host memory behind ram */
    uint64_t log_len;             /* bytes covered by dirty bitmaps (0: cannot log) */
    enum gm_ram_backing backing;
    int fd;
    uint64_t fd_offset;

    /* Dirty tracking. */
    uint8_t log_mask;             /* clients asked for by gm_region_set_log (locked) */
    uint8_t dirty_log_mask;       /* atomic: log_mask + global migration */
    unsigned long *dirty[GM_DIRTY_NUM];

    struct rcu_head rcu;
    TAILQ_ENTRY(gm_region) all_link;   /* sys->all_regions, under regions_lock */
    bool listed;
};

void gm_region_free_rcu_(struct rcu_head *head);
/* Free every region still alive (reference cycles through self-referencing
 * aliases, or leaked references) when the system goes away. */
void gm_region_release_all(gm_system *sys);
bool gm_region_ref_unless_zero(gm_region *mr);
const char *gm_region_type_string(const gm_region *mr);
uint8_t gm_region_dirty_mask(const gm_region *mr);
bool gm_region_is_rom(const gm_region *mr);
/* true if the tree rooted at @mr contains @needle (following aliases) */
bool gm_region_reaches_locked(const gm_region *mr, const gm_region *needle);
void gm_region_changed_locked(gm_region *mr);

/* ---- flat views ------------------------------------------------------- */

typedef struct gm_flat_range {
    gm_region *mr;
    gm_u128 start;
    gm_u128 size;
    gm_addr offset_in_region;
    uint8_t dirty_log_mask;
    bool romd_mode;
    bool readonly;
    bool nonvolatile;
} gm_flat_range;

/*
 * What a lookup reads of flat range i: its bounds, the section that
 * gm_as_lookup_rcu() returns, and what the RAM fast paths need, in one
 * 64-byte, line-aligned entry, so a lookup that ends in a range touches one
 * cache line of it. @host_bias and @direct are fixed at render time from the
 * range, exactly as gm_range_is_direct() decides.
 */
#define GM_KEY_DIRECT_READ 1u   /* reads may copy from host memory */
#define GM_KEY_DIRECT_WRITE 2u  /* writes may copy to host memory (and mark dirty) */

typedef struct gm_dispatch_key {
    gm_section section;           /* its offset_within_address_space is the start */
    gm_addr last;                 /* inclusive: a range may end at 2^64 */
    uintptr_t host_bias;          /* direct: host address = host_bias + addr */
    unsigned int direct;          /* GM_KEY_DIRECT_* */
} __attribute__((aligned(64))) gm_dispatch_key;

static inline gm_addr gm_key_start(const gm_dispatch_key *k)
{
    return k->section.offset_within_address_space;
}

/* @addr lies in @k's range. */
static inline bool gm_key_contains(const gm_dispatch_key *k, gm_addr addr)
{
    return addr - gm_key_start(k) <= k->last - gm_key_start(k);
}

#define GM_DISPATCH_BITS 9u
#define GM_DISPATCH_SLOTS (1u << GM_DISPATCH_BITS)
#define GM_DISPATCH_MAX_RANGES 0x7fffffffu

/* A trie slot: a node pointer (bit 0 clear) or a leaf naming the run of
 * ranges that meet the slot: first << 32 | count << 1 | 1. */
typedef uint64_t gm_dispatch_entry;

/* A trie node (dispatch.c) covers [prefix, prefix + 2^(shift + 9)); slot i
 * covers 2^shift bytes from prefix + i * 2^shift. Addresses outside the
 * node (possible only below a compressed chain) have no range. */
typedef struct gm_dispatch_node {
    gm_addr prefix;
    gm_addr prefix_mask;
    unsigned int shift;
    gm_dispatch_entry slot[GM_DISPATCH_SLOTS];
} gm_dispatch_node;

/* The lookup structure of one flat view (dispatch.c), built with it and
 * never changed: readers need no lock. */
typedef struct gm_dispatch {
    uint64_t id;                  /* unique for the process's lifetime, never 0 */
    unsigned int nr;
    gm_dispatch_key *keys;        /* one per range, same index */
    gm_dispatch_node *root;
    gm_dispatch_node **nodes;     /* every node, for freeing */
    size_t nnodes;
    size_t capnodes;
} gm_dispatch;

typedef struct gm_flatview {
    struct rcu_head rcu;
    gm_system *sys;
    int refcount;                 /* atomic; address spaces hold one each */
    gm_region *root;              /* flat-view root (referenced), or NULL */
    unsigned int nr;
    unsigned int cap;
    gm_flat_range *ranges;
    gm_dispatch dispatch;
} gm_flatview;

gm_flatview *gm_flatview_render_locked(gm_system *sys, gm_region *root);
gm_region *gm_flatview_root_of_locked(gm_region *mr);
void gm_flatview_ref(gm_flatview *fv);
void gm_flatview_unref(gm_flatview *fv);
bool gm_flat_range_equal(const gm_flat_range *a, const gm_flat_range *b);
static inline gm_addr gm_flat_range_last(const gm_flat_range *fr)
{
    return (gm_addr)(fr->start + fr->size - 1);
}
static inline void gm_section_from_range(gm_section *s, const gm_flat_range *fr)
{
    s->mr = fr->mr;
    s->offset_within_region = fr->offset_in_region;
    s->offset_within_address_space = (gm_addr)fr->start;
    s->size = fr->size >= GM_2_64 ? GM_SIZE_2_64 : (uint64_t)fr->size;
    s->readonly = fr->readonly;
    s->nonvolatile = fr->nonvolatile;
    s->romd_mode = fr->romd_mode;
    s->dirty_log_mask = fr->dirty_log_mask;
}

/* ---- dispatch --------------------------------------------------------- */

/* Build @d over @ranges (sorted, disjoint); 0 or -ENOMEM. */
int gm_dispatch_build(gm_dispatch *d, const gm_flat_range *ranges, unsigned int nr);
void gm_dispatch_destroy(gm_dispatch *d);
/* Index of the first range starting above @addr (nr if none). */
unsigned int gm_dispatch_next_index(const gm_flatview *fv, gm_addr addr);

/*
 * The most recently used range, per thread (QEMU keeps one per address
 * space, mru_section): the dispatch id and key of the last range the
 * thread found. It names a range only of the dispatch whose id it holds;
 * ids are never reused, so an entry left over from a freed flat view can
 * only fail to match, never name a range of another view. Thread-local: a
 * miss writes the thread's own entry, so readers of one view on several
 * threads share no written cache line. One entry, at a fixed offset from
 * the thread pointer, the cheapest to check; a thread that uses two views
 * in turn misses it, which costs what a lookup without it costs plus one
 * store (docs/performance.md).
 */
typedef struct gm_mru_slot {
    uint64_t id;
    const struct gm_dispatch_key *key;  /* in the keys of dispatch @id */
} gm_mru_slot;

extern __thread gm_mru_slot gm_dispatch_mru_ __attribute__((tls_model("initial-exec")));

/* The key of the range of the run [first, first + count) that may contain
 * @addr: a binary search, for the slots of 4 KiB that meet several ranges. */
const gm_dispatch_key *gm_dispatch_search_run(const gm_dispatch *d, unsigned int first,
                                              unsigned int count, gm_addr addr);

/*
 * The key of the range containing @addr, or NULL: first the thread's most
 * recently used range of @d, a compare; then the trie, which makes the key
 * found the most recently used one. Inline, trie walk included: a miss
 * makes no call (docs/performance.md).
 */
static inline const gm_dispatch_key *gm_dispatch_find(const gm_dispatch *d, gm_addr addr)
{
    gm_mru_slot *slot = &gm_dispatch_mru_;
    const gm_dispatch_node *n = d->root;
    const gm_dispatch_key *k = slot->key;
    unsigned int first, count;
    gm_dispatch_entry e;

    /* @k is looked at only when the id says it is one of @d's keys. */
    if (slot->id == d->id && gm_key_contains(k, addr))
        return k;
    for (;;) {
        if ((addr & n->prefix_mask) != n->prefix)
            return NULL;
        e = n->slot[(addr >> n->shift) & (GM_DISPATCH_SLOTS - 1)];
        if (e & 1)
            break;
        n = (const gm_dispatch_node *)(uintptr_t)e;
    }
    first = (unsigned int)(e >> 32);
    count = (unsigned int)(e >> 1) & GM_DISPATCH_MAX_RANGES;
    if (!count)
        return NULL;
    k = count == 1 ? &d->keys[first] : gm_dispatch_search_run(d, first, count, addr);
    if (!gm_key_contains(k, addr))
        return NULL;
    *slot = (gm_mru_slot){ d->id, k };
    return k;
}

/* The range containing @addr, or NULL. */
static inline const gm_flat_range *gm_dispatch_lookup(const gm_flatview *fv, gm_addr addr)
{
    const gm_dispatch_key *k = gm_dispatch_find(&fv->dispatch, addr);

    return k ? &fv->ranges[k - fv->dispatch.keys] : NULL;
}


/* ---- address spaces --------------------------------------------------- */

struct gm_bounce;
struct gm_map_client;

struct gm_as {
    gm_system *sys;
    char *name;
    gm_region *root;
    gm_flatview *current;         /* RCU-published */
    TAILQ_ENTRY(gm_as) link;

    pthread_mutex_t map_lock;     /* bounce budget and map clients */
    uint64_t bounce_budget;
    uint64_t bounce_in_use;
    struct gm_map_client *map_clients;
};

static inline gm_flatview *gm_as_view_rcu(gm_as *as)
{
    return rcu_dereference(as->current);
}

/* Free bounce buffers and map clients left at destruction. */
void gm_map_release_all(gm_as *as);
/* Give back @len bytes of bounce budget and wake the map clients. */
void gm_map_budget_return(gm_as *as, uint64_t len);

/* ---- the system ------------------------------------------------------- */

TAILQ_HEAD(gm_as_list, gm_as);

#define GM_MOD_BUCKETS 256u

typedef struct gm_host_entry {
    uintptr_t start;
    uint64_t len;
    gm_region *mr;
} gm_host_entry;

typedef struct gm_hostmap {
    struct rcu_head rcu;
    gm_system *sys;
    unsigned int nr;
    gm_host_entry entries[];
} gm_hostmap;

typedef struct gm_log_state {
    pthread_mutex_t lock;
    gm_log_fn fn;
    void *opaque;
    bool debug;
    uint64_t window_start_ns;
    unsigned int in_window;
    unsigned long suppressed;
} gm_log_state;

struct gm_system {
    pthread_mutex_t lock;         /* writer lock, recursive */
    int transaction_depth;
    bool update_pending;
    bool big_endian;
    bool global_dirty;
    uint64_t generation;          /* atomic */
    unsigned long pending_frees;  /* atomic: call_rcu callbacks not yet run */
    struct gm_as_list address_spaces;
    gm_listener *listeners;       /* ascending priority */

    pthread_mutex_t regions_lock; /* all_regions */
    struct gm_region_list all_regions;

    pthread_mutex_t bounce_lock;  /* bounces */
    struct gm_bounce *bounces;    /* every mapped bounce buffer */

    pthread_mutex_t mod_lock;     /* mod_buckets */
    struct gm_mod_record *mod_buckets[GM_MOD_BUCKETS]; /* live map-on-demand maps */

    pthread_mutex_t host_lock;    /* writers of hostmap */
    gm_hostmap *hostmap;          /* RCU-published */

    gm_log_state log;
};

void gm_system_lock(gm_system *sys);
void gm_system_unlock(gm_system *sys);
/* Mark topology changed; re-render at the outermost commit. */
void gm_system_update_locked(gm_system *sys);
/* Free through call_rcu, counted so gm_system_free() can wait for it. The
 * callback must end with gm_system_deferred_done(). */
void gm_system_defer_free(gm_system *sys, struct rcu_head *head,
                          void (*fn)(struct rcu_head *head));
void gm_system_deferred_done(gm_system *sys);
void gm_system_drain_frees(gm_system *sys);
/* Render and publish @as's view right now (used when @as is created). */
void gm_as_render_locked(gm_as *as);

int gm_hostmap_add(gm_system *sys, gm_region *mr);
void gm_hostmap_del(gm_system *sys, gm_region *mr);
void gm_hostmap_free(gm_system *sys);
/* Calls @fn for every RAM region (holding the host lock). */
void gm_hostmap_for_each(gm_system *sys, void (*fn)(gm_region *mr, void *opaque), void *opaque);

/* ---- listeners -------------------------------------------------------- */

void gm_listeners_begin_locked(gm_system *sys);
void gm_listeners_commit_locked(gm_system *sys);
void gm_listeners_update_locked(gm_as *as, const gm_flatview *old, const gm_flatview *new_fv);
void gm_listeners_global_log_locked(gm_system *sys, bool start);

/* ---- accesses --------------------------------------------------------- */

/* A write through this range must be refused: a read-only view of memory
 * (I/O and ROM device callbacks still receive writes, as in QEMU). */
bool gm_range_refuses_write(const gm_flat_range *fr);
/* Refuse an access: zeros for reads, GM_DECODE_ERROR, a guest-error line. */
gm_result gm_region_refuse(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t len,
                           bool is_write);
/* A refused translation or mapping fails its piece up to the end of its
 * 4 KiB page: zeros for reads; returns the bytes failed (caller ORs
 * GM_ACCESS_ERROR). */
uint64_t gm_refuse_to_page_end(gm_addr xlat, uint8_t *buf, uint64_t len, bool is_write);
/* Direct host access allowed for this range and direction? */
bool gm_range_is_direct(const gm_flat_range *fr, bool is_write);
/* Copy @len bytes to or from the host memory of direct RAM @mr at @xlat,
 * marking written bytes dirty: one host access for an aligned 1/2/4/8-byte
 * piece (guestmem/hostmem.h), so loads and stores never tear. */
void gm_ram_rw(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t len, bool is_write);
/* Access @len bytes at @xlat of a non-direct region (splitting as needed). */
gm_result gm_region_access(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t len,
                           bool is_write, gm_attrs attrs);
/* One access of exactly @size (1, 2, 4, 8) bytes, validated as a whole. */
gm_result gm_region_access_piece(gm_region *mr, gm_addr xlat, uint8_t *buf, unsigned int size,
                                 bool is_write, gm_attrs attrs);
bool gm_region_piece_valid(gm_region *mr, gm_addr xlat, unsigned int size, bool is_write,
                           gm_attrs attrs);
unsigned int gm_region_piece_size(const gm_region *mr, uint64_t len, gm_addr xlat);
gm_result gm_flatview_rw_rcu(gm_flatview *fv, gm_addr addr, gm_attrs attrs, uint8_t *buf,
                             uint64_t len, bool is_write);
/* The same, @depth IOMMUs deep. */
gm_result gm_flatview_rw_depth_rcu(gm_flatview *fv, gm_addr addr, gm_attrs attrs, uint8_t *buf,
                                   uint64_t len, bool is_write, int depth);
void gm_mark_dirty(gm_region *mr, gm_addr xlat, uint64_t len);

/*
 * The RAM fast path of gm_as_rw() and of the ld/st family. If all of
 * [@addr, @addr + @len) lies in one range whose memory may be copied in this
 * direction, copy it (one host access for an aligned 1/2/4/8-byte piece,
 * guestmem/hostmem.h), mark written bytes dirty, and return true; otherwise
 * touch nothing and return false, and the caller takes its general path.
 * What it costs on top of the copy, measured (docs/performance.md): the
 * lookup (a compare on an MRU hit), one flag test, one bounds compare and,
 * for a write, one load of the region's live dirty-log mask. The mask is
 * read after the store and not taken from the flat view: logging may start
 * before the view that says so is published, and a write must not slip
 * through that window unmarked.
 * Context: inside an RCU read-side section that keeps @fv.
 */
static inline bool gm_view_direct_rcu(const gm_flatview *fv, gm_addr addr, void *buf,
                                      uint64_t len, bool is_write)
{
    const gm_dispatch_key *k = gm_dispatch_find(&fv->dispatch, addr);
    unsigned int need = is_write ? GM_KEY_DIRECT_WRITE : GM_KEY_DIRECT_READ;
    uint8_t *host;
    gm_region *mr;

    /* len - 1 wraps for len == 0, which the general path handles. */
    if (!k || !(k->direct & need) || len - 1 > k->last - addr)
        return false;
    host = (uint8_t *)(k->host_bias + addr);
    if (!is_write) {
        gm_host_read(buf, host, len);
        return true;
    }
    gm_host_write(host, buf, len);
    mr = k->section.mr;
    if (__atomic_load_n(&mr->dirty_log_mask, __ATOMIC_ACQUIRE))
        gm_mark_dirty(mr, (gm_addr)(host - mr->ram), len);
    return true;
}

/*
 * The RAM fast path of one access through @as, in an RCU read-side section
 * of its own: true if done, false if nothing was done and the caller must
 * take its general path (which takes its own section and flat view; an
 * access still sees one view). Always inlined, so that a constant @len (the
 * ld/st family) makes the copy a single move; the general path is a
 * separate call after the section, so the caller can make it a tail call.
 */
static inline __attribute__((always_inline)) bool gm_as_direct(gm_as *as, gm_addr addr,
                                                               void *buf, uint64_t len,
                                                               bool is_write)
{
    bool done;

    rcu_read_lock();
    done = gm_view_direct_rcu(gm_as_view_rcu(as), addr, buf, len, is_write);
    rcu_read_unlock();
    return __builtin_expect(done, 1);
}

/* ---- dirty tracking --------------------------------------------------- */

/* A new RAM region starts logging for migration if global tracking is on.
 * Called with sys->lock held. */
int gm_dirty_adopt_global(gm_region *mr);

/* ---- IOMMU ----------------------------------------------------------- */

void gm_iommu_state_free(gm_iommu_state *st);
/* The IOMMU index for @attrs (0 when out of range). */
int gm_iommu_index(gm_region *mr, gm_attrs attrs);
/* Translate @xlat of IOMMU @mr for one access; returns the bytes left in the
 * IOMMU page with target_as and target_addr set, or 0 (logged) when refused. */
uint64_t gm_iommu_step(gm_region *mr, gm_addr xlat, bool is_write, gm_attrs attrs, int depth,
                       gm_as **target_as, gm_addr *target_addr);
/* Bytes a refused translation fails: to the end of its 4 KiB page. */
uint64_t gm_iommu_fault_len(gm_addr xlat);

/* ---- map-on-demand ---------------------------------------------------- */

gm_result gm_mod_rw(gm_region *mr, gm_addr xlat, uint8_t *buf, uint64_t l, bool is_write,
                    gm_attrs attrs);
void *gm_mod_map(gm_region *mr, gm_addr xlat, uint64_t *plen, bool is_write, gm_attrs attrs);
/* Unmap a gm_mod_map() mapping; false if @host is not one. */
bool gm_mod_unmap(gm_system *sys, void *host, uint64_t len, bool is_write, uint64_t access_len);
void gm_mod_release_all(gm_system *sys);

/* ---- logging ---------------------------------------------------------- */

void gm_log_init(gm_log_state *st);
void gm_log_destroy(gm_log_state *st);
#define gm_log_guest(sys, ...) gm_log((sys), GM_LOG_GUEST_ERROR, __VA_ARGS__)

#endif
