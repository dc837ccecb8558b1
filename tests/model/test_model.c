/* SPDX-License-Identifier: MIT */
/*
 * Model-based randomized test of region trees, flat views and accesses.
 *
 * Each epoch builds a random memory system (two address spaces: "sys", a
 * 2^64 root, and "dev", a smaller one) from every region kind the API has,
 * then applies random operations: topology changes (alone, or batched in
 * nested transactions), accesses of every flavour, lookups, flat-view walks,
 * maps and caches. Every observable result - data and gm_result bits - is
 * compared with refmodel.c, which evaluates each byte directly from the tree.
 * Periodically the whole content of every RAM and device region is compared
 * with the model's copy, so stray writes are caught even where nobody reads.
 *
 * Usage: test_model [SEED [OPS]]   (or GM_SEED / GM_OPS in the environment)
 * The seed is printed first; a failure prints the seed, the operation number
 * and the operation, then the expected and actual values, and exits 1.
 * GM_MODEL_TRACE=1 prints every operation; GM_MODEL_MTREE=1 also prints the
 * library's flat views on failure; GM_MODEL_SKIP steers around known bugs
 * (see skipping()).
 *
 * Random trees rarely hit some shapes, so epochs also plant a few: "dev"
 * made of a single whole-region alias (QEMU's flat-view root shortcut), and
 * read-only aliases laid in place over their own RAM (adjacent ranges of
 * one region that must not merge); maps aim at such seams on purpose.
 *
 * I/O regions accept 1..8-byte accesses anywhere (valid.unaligned), and their
 * callbacks treat every byte independently (little- or big-endian), so the
 * result of an access does not depend on how the core splits it; the
 * callbacks check that the split respects impl.
 *
 * Map-on-demand regions have a provider like a grant table: a memfd whose
 * 4 KiB pages are each granted read-write, read-only or not at all, mapped
 * with mmap between guard pages (so a pointer past a mapping, a write
 * through a read mapping or a use after unmap faults). Plain providers
 * (gm_region_new_mapped, some with a copy op) map at most the rest of one
 * page; others are served through one of two mapping caches per epoch
 * (small budget, batches of 1, 4 or 16 pages, deferred unmaps or not).
 * Grants change at random; a revocation is followed by
 * gm_mapcache_invalidate() at once or later, and until then the model
 * accepts either outcome for that page (rm_access() lists such bytes).
 * Every mapping is counted: plain providers must have none left after each
 * operation, a mapping cache's counters must match its providers' live
 * mappings, gm_mapcache_flush() must leave none, and at the end of the epoch
 * every provider is destroyed once with nothing mapped.
 *
 * IOMMU regions (4, 8 or 64 KiB pages) translate through a page table kept
 * here and in the model, into "sys" or "dev" with random permissions, often
 * onto other IOMMUs (nesting) or onto themselves (loops, which the nesting
 * limit must stop); "dev" itself is sometimes an IOMMU. Page-table changes
 * are always followed by gm_iommu_notify(UNMAP) or
 * gm_iommu_invalidate_all(), so the model can be exact; notifiers, IOTLB
 * statistics and gm_iommu_translate() are checked too. Maps and caches are
 * checked to show one run of one region (no further than an IOMMU page or a
 * grant mapping) and to keep working when the page under them is revoked
 * or retranslated while they are held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#include "check.h"
#include "ldst_helpers.h"
#include "refmodel.h"

#define SLOT_SYS 0
#define SLOT_DEV 1
#define MAX_POINTS 16384
#define MAX_LEN 512
#define WINDOW 0x100000ull  /* where most regions are placed */
#define IO_CAP 0x10000ull   /* device memory of an I/O region */
#define EPOCH_OPS 12000
#define DEFAULT_OPS 200000

/* Device state behind the callbacks of an I/O or ROM device region. */
struct dev {
    gm_region_ops ops;
    enum rm_kind kind;
    enum rm_io_flavor flavor;
    uint32_t id;
    uint8_t *mem;        /* RM_IO: device memory; RM_ROMD: the region's RAM */
    uint64_t cap;
    uint64_t reg_writes;
    bool big_endian;
    unsigned int impl_max;
};

/* One live mapping of a map-on-demand provider: pages of the backing memfd
 * mapped between two inaccessible guard pages, read-only unless writable. */
struct live_map {
    struct live_map *next;
    uint8_t *reserve;   /* guard, pages, guard */
    uint8_t *host;      /* the pages */
    uint8_t *ret;       /* plain provider: what map returned */
    uint64_t ret_len;   /* plain provider: the length it granted */
    uint64_t first;
    unsigned int npages;
    bool writable;
};

/*
 * The provider of a map-on-demand region, like a grant table: a memfd of
 * npages pages, each granted read-write, read-only or not at all. Plain
 * providers (gm_region_new_mapped) map at most the rest of one page per
 * call; mapping-cache providers map runs of pages. Every mapping is a real
 * mmap of the memfd, so a use after unmap, a write through a read mapping
 * or a pointer past the mapping faults.
 */
struct prov {
    gm_mod_ops ops;
    gm_mapcache_provider mcp;
    int slot;
    char name[40];
    int mc;             /* mapping cache (index in T.mc), -1: plain provider */
    int fd;
    uint8_t *view;      /* the test's own mapping of the backing */
    uint64_t npages;
    uint8_t grant[64];  /* RM_PG_REFUSED | RM_PG_RO per page */
    struct live_map *live;
    long nlive;
    uint64_t live_bytes;
    int destroyed;      /* atomic */
    bool released;      /* its region was dropped by the test */
};

/* An IOMMU region's translation table (the model keeps its own copy). */
struct iommu_pte {
    int as;             /* -1: no translation */
    uint64_t taddr;
    unsigned int perm;
    unsigned int none_style; /* how "no translation" is said */
};

struct iommu {
    gm_iommu_ops ops;
    int slot;
    char name[40];
    unsigned int shift;
    uint64_t npages;
    struct iommu_pte *pte;
    unsigned long misses, faults; /* translate calls, and those that gave no access */
    gm_iommu_notifier nt;
    bool has_nt;
    unsigned long nt_got, nt_want;
    const gm_iotlb_entry *nt_entry; /* what the current notify passes */
};

struct slot {
    gm_region *mr;
    struct dev *dev;
    struct prov *prov;
    struct iommu *io;
    void *host;   /* caller-owned memory (RAM over a pointer, RAM device) */
    int memfd;    /* RAM from a memfd, -1 otherwise */
    char name[40];
};

struct sections {
    gm_section *v;
    size_t n, cap;
};

static struct {
    uint64_t seed, rng, opno, nops;
    char op[640];
    bool trace;
    gm_system *sys;
    gm_as *as[2];
    struct rm_model m;
    struct slot s[RM_MAX_REGIONS];
    const char *names[RM_MAX_REGIONS];
    int depth;
    uint64_t points[2][MAX_POINTS];
    int npoints[2];
    uint64_t seams[2][MAX_POINTS]; /* one region on both sides, not one range */
    int nseams[2];
    unsigned int points_gen[2];
    uint32_t next_id;
    uint64_t generation;
    bool check_attrs;
    const char *skip;  /* GM_MODEL_SKIP: known library bugs to steer around */
    void *graveyard[4096]; /* freed at the end of the epoch */
    int ngraves;
    gm_attrs attrs;
    struct sections secs;
    unsigned long stats[32];
    unsigned long hits[RM_ALIAS + 2]; /* accesses by kind of first byte */
    /* map-on-demand and IOMMU regions of the epoch, live or dropped */
    gm_mapcache *mc[2];
    gm_mapcache_config mccfg[2];
    struct prov **provs;
    int nprovs, capprovs;
    struct iommu **iommus;
    int niommus, capiommus;
    pthread_mutex_t plock;     /* provider state (unmaps come from RCU callbacks too) */
    unsigned long prov_calls;  /* map, map_pages and copy calls (atomic) */
    unsigned long log_errors;  /* GM_LOG_ERROR messages (atomic) */
    struct rm_unc unc;
} T;

enum { ST_ACCESS, ST_LOOKUP, ST_SECTIONS, ST_MAP, ST_CACHE, ST_TOPO, ST_TXN, ST_RECREATE,
       ST_MEMCHECK, ST_TOPO_ERR, ST_EPOCH, ST_GRANT, ST_INVAL, ST_IOMMU, ST_XLATE,
       ST_X1, ST_X2, ST_XLIMIT, ST_MODACC, ST_UNC, ST_MIDREVOKE, ST_MAPX, ST_MAPMOD };

static const char *const kind_name[] = {
    [RM_CONTAINER] = "cont", [RM_RAM] = "ram", [RM_ROM] = "rom", [RM_RAMD] = "ramd",
    [RM_ROMD] = "romd", [RM_IO] = "io", [RM_RESV] = "resv", [RM_MOD] = "mod",
    [RM_IOMMU] = "iommu", [RM_ALIAS] = "alias",
};

/* ---- failure reporting ------------------------------------------------- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\nMISMATCH seed=%" PRIu64 " op=%" PRIu64 ": %s\n  ", T.seed, T.opno, T.op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    rm_dump(&T.m, stderr, T.names);
    if (getenv("GM_MODEL_MTREE") && T.sys)
        gm_mtree_print(T.sys, stderr, GM_MTREE_FLAT | GM_MTREE_DISABLED);
    fprintf(stderr, "replay: GM_SEED=%" PRIu64 " GM_OPS=%" PRIu64 " test_model\n", T.seed,
            T.opno);
    exit(1);
}

static void opdesc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void opdesc(const char *fmt, ...)
{
    va_list ap;
    int n;

    T.opno++;
    n = snprintf(T.op, sizeof(T.op), "%s", T.depth ? "[txn] " : "");
    va_start(ap, fmt);
    vsnprintf(T.op + n, sizeof(T.op) - n, fmt, ap);
    va_end(ap);
    if (T.trace)
        fprintf(stderr, "%" PRIu64 ": %s\n", T.opno, T.op);
}

/* ---- deterministic randomness (splitmix64) ----------------------------- */

static uint64_t rnd(void)
{
    uint64_t z = (T.rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rn(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
    return rn(100) < pct;
}

static void rnd_fill(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd();
}

/* ---- helpers ----------------------------------------------------------- */

static uint64_t api_size(rm_u128 size)
{
    return size == RM_2_64 ? GM_SIZE_2_64 : (uint64_t)size;
}

static rm_u128 model_size(uint64_t size)
{
    return size == GM_SIZE_2_64 ? RM_2_64 : size;
}

static const char *hit_str(const struct rm_hit *h, char *buf, size_t len)
{
    if (h->leaf == RM_NONE)
        snprintf(buf, len, "unassigned");
    else
        snprintf(buf, len, "%s+0x%" PRIx64 "%s", T.names[h->leaf], h->off,
                 h->readonly ? " ro" : "");
    return buf;
}

static int slot_of(const gm_region *mr)
{
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (T.m.cur[i].exists && T.s[i].mr == mr)
            return i;
    return RM_NONE;
}

static const char *mr_name(const gm_region *mr)
{
    int i = slot_of(mr);

    return i == RM_NONE ? (mr ? "?foreign?" : "NULL") : T.names[i];
}

static int pick_slot_where(bool (*pred)(int))
{
    int cand[RM_MAX_REGIONS], n = 0;

    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (T.m.cur[i].exists && pred(i))
            cand[n++] = i;
    return n ? cand[rn(n)] : RM_NONE;
}

static enum rm_kind kind_of(int i)
{
    return T.m.r[i].kind;
}

static bool is_root(int i)
{
    return i == SLOT_SYS || i == SLOT_DEV;
}

static void log_sink(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    if (level == GM_LOG_ERROR)
        __atomic_add_fetch(&T.log_errors, 1, __ATOMIC_RELAXED);
    if (T.trace)
        fprintf(stderr, "  log %d: %s\n", (int)level, msg);
}

static void model_commit(void)
{
    uint64_t g = gm_system_generation(T.sys);

    rm_commit(&T.m);
    if (g < T.generation)
        fail("gm_system_generation went backwards: %" PRIu64 " -> %" PRIu64, T.generation, g);
    T.generation = g;
}

/* ---- device callbacks -------------------------------------------------- */

static uint8_t dev_get(struct dev *d, uint64_t off)
{
    if (d->kind == RM_ROMD) {
        if (off >= d->cap)
            fail("rom device %u read callback past its RAM: off 0x%" PRIx64, d->id, off);
        return (uint8_t)~d->mem[off];
    }
    if (d->flavor == RM_IO_REG || off >= d->cap)
        return rm_pattern(d->id, off);
    return d->mem[off];
}

static void dev_put(struct dev *d, uint64_t off, uint8_t b)
{
    if (d->kind == RM_ROMD) {
        if (off >= d->cap)
            fail("rom device %u write callback past its RAM: off 0x%" PRIx64, d->id, off);
        d->mem[off] = b ^ 0x5a;
        return;
    }
    if (d->flavor == RM_IO_REG) {
        d->reg_writes++;
        return;
    }
    if (d->flavor == RM_IO_ERR && rm_err_off(d->id, off))
        return;
    if (off < d->cap)
        d->mem[off] = b;
}

static void dev_check(struct dev *d, gm_addr addr, unsigned int size, const char *what)
{
    unsigned int max = d->impl_max ? d->impl_max : 4;

    if (size != 1 && size != 2 && size != 4 && size != 8)
        fail("%s callback of device %u: size %u", what, d->id, size);
    if (size > max)
        fail("%s callback of device %u: size %u > impl.max_access_size %u", what, d->id, size,
             max);
    if (!d->ops.impl.unaligned && (addr & (size - 1)))
        fail("%s callback of device %u: unaligned addr 0x%" PRIx64 " size %u without "
             "impl.unaligned", what, d->id, addr, size);
    if (addr + (size - 1) < addr)
        fail("%s callback of device %u: addr 0x%" PRIx64 " size %u wraps", what, d->id, addr,
             size);
}

static void dev_check_attrs(struct dev *d, gm_attrs attrs)
{
    if (!T.check_attrs)
        return;
    if (attrs.unspecified != T.attrs.unspecified || attrs.secure != T.attrs.secure ||
        attrs.user != T.attrs.user || attrs.requester_id != T.attrs.requester_id)
        fail("device %u got attrs {unspec %u secure %u user %u rid %u}, access had "
             "{unspec %u secure %u user %u rid %u}", d->id, attrs.unspecified, attrs.secure,
             attrs.user, attrs.requester_id, T.attrs.unspecified, T.attrs.secure, T.attrs.user,
             T.attrs.requester_id);
}

static uint64_t dev_load(struct dev *d, gm_addr addr, unsigned int size)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++) {
        uint64_t b = dev_get(d, addr + i);

        if (d->big_endian)
            v = v << 8 | b;
        else
            v |= b << (8 * i);
    }
    return v;
}

static void dev_store(struct dev *d, gm_addr addr, uint64_t data, unsigned int size)
{
    for (unsigned int i = 0; i < size; i++) {
        unsigned int shift = d->big_endian ? 8 * (size - 1 - i) : 8 * i;

        dev_put(d, addr + i, (uint8_t)(data >> shift));
    }
}

static bool dev_piece_err(struct dev *d, gm_addr addr, unsigned int size)
{
    if (d->kind != RM_IO || d->flavor != RM_IO_ERR)
        return false;
    for (unsigned int i = 0; i < size; i++)
        if (rm_err_off(d->id, addr + i))
            return true;
    return false;
}

static uint64_t cb_read(void *opaque, gm_addr addr, unsigned int size)
{
    struct dev *d = opaque;

    dev_check(d, addr, size, "read");
    return dev_load(d, addr, size);
}

static void cb_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    struct dev *d = opaque;

    dev_check(d, addr, size, "write");
    dev_store(d, addr, data, size);
}

static gm_result cb_read_attrs(void *opaque, gm_addr addr, uint64_t *data, unsigned int size,
                               gm_attrs attrs)
{
    struct dev *d = opaque;

    dev_check(d, addr, size, "read_with_attrs");
    dev_check_attrs(d, attrs);
    *data = dev_load(d, addr, size);
    return dev_piece_err(d, addr, size) ? GM_ERROR : GM_OK;
}

static gm_result cb_write_attrs(void *opaque, gm_addr addr, uint64_t data, unsigned int size,
                                gm_attrs attrs)
{
    struct dev *d = opaque;

    dev_check(d, addr, size, "write_with_attrs");
    dev_check_attrs(d, attrs);
    dev_store(d, addr, data, size);
    return dev_piece_err(d, addr, size) ? GM_ERROR : GM_OK;
}

static struct dev *dev_new(enum rm_kind kind, enum rm_io_flavor flavor, uint32_t id,
                           uint64_t cap)
{
    static const unsigned int impl_max[] = { 0, 1, 2, 4, 8, 8 };
    struct dev *d = calloc(1, sizeof(*d));

    CHECK(d != NULL, "out of memory");
    d->kind = kind;
    d->flavor = flavor;
    d->id = id;
    d->cap = cap;
    if (kind == RM_IO && flavor != RM_IO_REG) {
        d->mem = calloc(1, cap);
        CHECK(d->mem != NULL, "out of memory");
    }
    switch (rn(3)) {
    case 0: d->ops.endianness = GM_ENDIAN_NATIVE; break; /* little: system is LE */
    case 1: d->ops.endianness = GM_ENDIAN_LITTLE; break;
    default: d->ops.endianness = GM_ENDIAN_BIG; d->big_endian = true; break;
    }
    d->ops.valid.min_access_size = rn(2);
    d->ops.valid.max_access_size = chance(25) ? 0 : 8;
    d->ops.valid.unaligned = true;
    d->ops.impl.min_access_size = rn(2);
    d->ops.impl.max_access_size = impl_max[rn(6)];
    /* Without impl.unaligned the core widens unaligned pieces to aligned
     * calls (zeros in the other lanes of a write): not per-byte, so not here. */
    d->ops.impl.unaligned = true;
    d->impl_max = d->ops.impl.max_access_size;
    if (flavor == RM_IO_ERR || chance(50)) {
        d->ops.read_with_attrs = cb_read_attrs;
        d->ops.write_with_attrs = cb_write_attrs;
    } else {
        d->ops.read = cb_read;
        d->ops.write = cb_write;
    }
    return d;
}

/* ---- map-on-demand providers ------------------------------------------- */

#define PAGE 0x1000ull
#define MOD_MAX_PAGES 64

static void plock(void) { pthread_mutex_lock(&T.plock); }
static void punlock(void) { pthread_mutex_unlock(&T.plock); }

/* May pages [first, first + n) be mapped (for writing)? Caller holds plock. */
static bool prov_grants(const struct prov *p, uint64_t first, uint64_t n, bool writable)
{
    if (first >= p->npages || n > p->npages - first)
        return false;
    for (uint64_t i = first; i < first + n; i++)
        if ((p->grant[i] & RM_PG_REFUSED) || (writable && (p->grant[i] & RM_PG_RO)))
            return false;
    return true;
}

static struct live_map *live_map_new(struct prov *p, uint64_t first, unsigned int n,
                                     bool writable)
{
    struct live_map *lm = calloc(1, sizeof(*lm));
    size_t span = (size_t)(n + 2) * PAGE;

    CHECK(lm != NULL, "out of memory");
    lm->reserve = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(lm->reserve != MAP_FAILED, "mmap: errno %d", errno);
    lm->host = mmap(lm->reserve + PAGE, (size_t)n * PAGE,
                    PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED, p->fd,
                    (off_t)(first * PAGE));
    CHECK(lm->host == lm->reserve + PAGE, "mmap of the backing: errno %d", errno);
    lm->first = first;
    lm->npages = n;
    lm->writable = writable;
    lm->next = p->live;
    p->live = lm;
    p->nlive++;
    p->live_bytes += (uint64_t)n * PAGE;
    return lm;
}

static void live_map_free(struct prov *p, struct live_map *lm)
{
    for (struct live_map **pp = &p->live; *pp; pp = &(*pp)->next) {
        if (*pp == lm) {
            *pp = lm->next;
            p->nlive--;
            p->live_bytes -= (uint64_t)lm->npages * PAGE;
            munmap(lm->reserve, (size_t)(lm->npages + 2) * PAGE);
            free(lm);
            return;
        }
    }
    fail("%s: unmap of a mapping that is not live", p->name);
}

/* The live mapping containing host byte @h, or NULL. Caller holds plock. */
static struct live_map *live_map_at(const struct prov *p, const uint8_t *h)
{
    for (struct live_map *lm = p->live; lm; lm = lm->next)
        if (h >= lm->host && h < lm->host + (uint64_t)lm->npages * PAGE)
            return lm;
    return NULL;
}

/* Does a live mapping of @p overlap pages [first, last]? */
static bool live_overlaps(const struct prov *p, uint64_t first, uint64_t last)
{
    bool hit = false;

    plock();
    for (struct live_map *lm = p->live; lm && !hit; lm = lm->next)
        hit = lm->first <= last && first <= lm->first + lm->npages - 1;
    punlock();
    return hit;
}

static void *prov_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write, gm_attrs attrs,
                      void **handle)
{
    struct prov *p = opaque;
    uint64_t page = offset / PAGE, in = offset % PAGE;
    struct live_map *lm;

    (void)attrs;
    __atomic_add_fetch(&T.prov_calls, 1, __ATOMIC_RELAXED);
    if (!*len)
        fail("%s: map of 0 bytes at 0x%" PRIx64, p->name, offset);
    plock();
    if (!prov_grants(p, page, 1, is_write)) {
        punlock();
        return NULL;
    }
    lm = live_map_new(p, page, 1, is_write);
    if (*len > PAGE - in)
        *len = PAGE - in; /* one grant page at most */
    lm->ret = lm->host + in;
    lm->ret_len = *len;
    punlock();
    *handle = lm;
    return lm->ret;
}

static void prov_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                       uint64_t access_len)
{
    struct prov *p = opaque;
    struct live_map *lm = handle;

    plock();
    if (!live_map_at(p, host) || live_map_at(p, host) != lm)
        fail("%s: unmap of %p with a handle that does not map it", p->name, host);
    if (host != lm->ret || !len || len > lm->ret_len || access_len > len)
        fail("%s: unmap(%p, len %" PRIu64 ", access_len %" PRIu64 ") of a mapping of %p, "
             "%" PRIu64 " bytes", p->name, host, len, access_len, (void *)lm->ret, lm->ret_len);
    if (access_len && (!is_write || !lm->writable))
        fail("%s: unmap reports %" PRIu64 " bytes written to a %s mapping", p->name, access_len,
             lm->writable ? "writable (unmapped as read)" : "read-only");
    live_map_free(p, lm);
    punlock();
}

static void *prov_map_pages(void *opaque, uint64_t first, unsigned int npages, bool writable)
{
    struct prov *p = opaque;
    struct live_map *lm = NULL;

    __atomic_add_fetch(&T.prov_calls, 1, __ATOMIC_RELAXED);
    if (!npages || first >= p->npages || npages > p->npages - first)
        fail("%s: map_pages(%" PRIu64 ", %u) beyond the region's %" PRIu64 " pages", p->name,
             first, npages, p->npages);
    plock();
    if (prov_grants(p, first, npages, writable))
        lm = live_map_new(p, first, npages, writable);
    punlock();
    return lm ? lm->host : NULL;
}

static void prov_unmap_pages(void *opaque, void *host, uint64_t first, unsigned int npages)
{
    struct prov *p = opaque;
    struct live_map *lm;

    plock();
    lm = live_map_at(p, host);
    if (!lm || lm->host != host || lm->first != first || lm->npages != npages)
        fail("%s: unmap_pages(%p, %" PRIu64 ", %u) matches no mapping", p->name, host, first,
             npages);
    live_map_free(p, lm);
    punlock();
}

/* A grant copy: one page at most, as the core promises. */
static gm_result prov_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                           gm_attrs attrs)
{
    struct prov *p = opaque;
    uint64_t page = offset / PAGE;
    bool ok;

    (void)attrs;
    __atomic_add_fetch(&T.prov_calls, 1, __ATOMIC_RELAXED);
    if (!len || offset % PAGE + len > PAGE)
        fail("%s: copy of %" PRIu64 " bytes at 0x%" PRIx64 " is not within one page", p->name,
             len, offset);
    plock();
    ok = prov_grants(p, page, 1, is_write);
    punlock();
    if (!ok)
        return GM_ACCESS_ERROR;
    if (is_write)
        memcpy(p->view + offset, buf, len);
    else
        memcpy(buf, p->view + offset, len);
    return GM_OK;
}

static void prov_destroy(void *opaque)
{
    struct prov *p = opaque;
    long live;

    plock();
    live = p->nlive;
    punlock();
    if (live)
        fail("%s: destroyed with %ld mappings live", p->name, live);
    __atomic_add_fetch(&p->destroyed, 1, __ATOMIC_RELEASE);
}

/* Change the grant of pages [first, first + n) (provider and model) and
 * return whether anything allowed before is refused now. */
static bool prov_set_grant(int slot, uint64_t first, uint64_t n, unsigned int st)
{
    struct prov *p = T.s[slot].prov;
    bool revoked = false;

    plock();
    for (uint64_t i = first; i < first + n && i < p->npages; i++) {
        unsigned int old = p->grant[i];

        if (((st & RM_PG_REFUSED) && !(old & RM_PG_REFUSED)) ||
            ((st & RM_PG_RO) && !(old & (RM_PG_RO | RM_PG_REFUSED))))
            revoked = true;
        p->grant[i] = (uint8_t)st;
        T.m.r[slot].pg[i] = (uint8_t)(st | (T.m.r[slot].pg[i] & RM_PG_STALE));
    }
    punlock();
    return revoked;
}

/* ---- IOMMU regions ------------------------------------------------------- */

static gm_iotlb_entry iommu_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                      int iommu_idx)
{
    struct iommu *io = opaque;
    gm_iotlb_entry e = { 0 };
    uint64_t page = addr >> io->shift;

    io->misses++;
    if (iommu_idx != 0 || (flag != GM_IOMMU_RO && flag != GM_IOMMU_WO && flag != GM_IOMMU_RW))
        fail("%s: translate(0x%" PRIx64 ", flag %d, idx %d)", io->name, addr, flag, iommu_idx);
    if (io->slot >= 0 && T.s[io->slot].io == io) {
        rm_u128 size = T.m.cur[io->slot].size > T.m.snap.t[io->slot].size
                           ? T.m.cur[io->slot].size : T.m.snap.t[io->slot].size;

        if (addr >= size)
            fail("%s: translate(0x%" PRIx64 ") past the region's end", io->name, addr);
    }
    e.addr_mask = (1ull << io->shift) - 1;
    e.iova = addr & ~e.addr_mask;
    if (page < io->npages && io->pte[page].as >= 0) {
        e.target_as = T.as[io->pte[page].as];
        e.translated_addr = io->pte[page].taddr;
        e.perm = (enum gm_iommu_perm)io->pte[page].perm;
    } else {
        switch (page < io->npages ? io->pte[page].none_style : 0) {
        case 0: e.target_as = T.as[0]; e.perm = GM_IOMMU_NONE; break;
        case 1: e.target_as = NULL; e.perm = GM_IOMMU_RW; break;
        default: e.target_as = NULL; e.perm = GM_IOMMU_NONE; break;
        }
    }
    if (!e.target_as || ((unsigned int)e.perm & flag) != (unsigned int)flag)
        io->faults++;
    return e;
}

static void iommu_notified(gm_iommu_notifier *n, enum gm_iommu_event event,
                           const gm_iotlb_entry *entry)
{
    struct iommu *io = (struct iommu *)((char *)n - offsetof(struct iommu, nt));

    io->nt_got++;
    if (!io->nt_entry || entry->iova != io->nt_entry->iova ||
        entry->addr_mask != io->nt_entry->addr_mask || !(n->events & (unsigned int)event))
        fail("%s: notifier called with event %d for 0x%" PRIx64 "/0x%" PRIx64, io->name, event,
             entry->iova, entry->addr_mask);
}

/* Notify @event for [iova & ~mask, | mask], counting the notifier calls due. */
static void iommu_notify(int slot, enum gm_iommu_event event, gm_addr iova, gm_addr mask)
{
    struct iommu *io = T.s[slot].io;
    gm_iotlb_entry e = { .target_as = T.as[0], .iova = iova, .addr_mask = mask };
    gm_addr first = iova & ~mask, last = first + mask;
    int rc;

    if (io->has_nt && (io->nt.events & (unsigned int)event) && io->nt.start <= last &&
        first <= io->nt.last)
        io->nt_want++;
    io->nt_entry = &e;
    rc = gm_iommu_notify(T.s[slot].mr, 0, event, &e);
    io->nt_entry = NULL;
    if (rc != 0)
        fail("gm_iommu_notify(%s, %d, 0x%" PRIx64 "/0x%" PRIx64 ") = %d", T.names[slot], event,
             iova, mask, rc);
    if (io->nt_got != io->nt_want)
        fail("%s: notifier called %lu times, want %lu", io->name, io->nt_got, io->nt_want);
}

/* Set one page table entry (test and model). */
static void iommu_set_pte(int slot, uint64_t page, int as, uint64_t taddr, unsigned int perm)
{
    struct iommu *io = T.s[slot].io;
    struct rm_pte *mp = &T.m.r[slot].pte[page];

    io->pte[page].as = as;
    io->pte[page].taddr = taddr;
    io->pte[page].perm = perm;
    io->pte[page].none_style = (unsigned int)rn(3);
    mp->as = as < 0 || !perm ? RM_NONE : as;
    mp->taddr = taddr;
    mp->perm = perm;
}

/* ---- region creation --------------------------------------------------- */

static uint64_t pick_ram_size(void)
{
    switch (rn(3)) {
    case 0: return (1 + rn(16)) * 0x1000;
    case 1: return 1 + rn(0x10000);
    default: return 1 + rn(64);
    }
}

static uint64_t pick_region_size(void)
{
    switch (rn(10)) {
    case 0: case 1: case 2: return (1 + rn(16)) * 0x1000;
    case 3: case 4: return 1 + rn(0x10000);
    case 5: case 6: return 1 + rn(0x400);
    case 7: case 8: return (1 + rn(16)) * 0x100;
    default: return 1 + rn(0x40000);
    }
}

static uint64_t pick_container_size(void)
{
    return chance(50) ? (1 + rn(64)) * 0x1000 : 0x100 + rn(0x40000);
}

static void fill_ram(int i, uint8_t *host)
{
    rnd_fill(T.m.r[i].bytes, T.m.r[i].alloc);
    memcpy(host, T.m.r[i].bytes, T.m.r[i].alloc);
}

static gm_region *create_ram(int i, uint64_t size, uint32_t id)
{
    struct slot *sl = &T.s[i];
    gm_region *mr = NULL;

    rm_new_region(&T.m, i, RM_RAM, size, size, id);
    switch (rn(5)) {
    case 0:
        sl->host = malloc(size);
        CHECK(sl->host != NULL, "out of memory");
        fill_ram(i, sl->host);
        mr = gm_region_new_ram_ptr(T.sys, sl->name, size, sl->host);
        break;
    case 1:
        sl->memfd = memfd_create("gm-model", MFD_CLOEXEC);
        CHECK(sl->memfd >= 0, "memfd_create: errno %d", errno);
        CHECK(ftruncate(sl->memfd, (off_t)size) == 0, "ftruncate: errno %d", errno);
        mr = gm_region_new_ram_from_fd(T.sys, sl->name, size, sl->memfd, 0, true);
        break;
    default:
        mr = gm_region_new_ram(T.sys, sl->name, size);
        if (mr && chance(50))
            fill_ram(i, gm_region_get_ram_ptr(mr));
        break;
    }
    return mr;
}

static gm_region *create_alias(int i, uint32_t id, int target)
{
    rm_u128 tsize;
    uint64_t span, off, size;

    while (target == RM_NONE || target == i || !T.m.cur[target].exists)
        target = (int)rn(RM_MAX_REGIONS);
    tsize = T.m.cur[target].size;
    span = tsize > WINDOW ? WINDOW : (uint64_t)tsize;
    off = chance(85) ? rn(span + 1) : rn(span + 0x1000);
    if (chance(30))
        off &= ~0xfffull;
    size = chance(70) ? 1 + rn(span) : 1 + rn(span + 0x2000);
    rm_new_region(&T.m, i, RM_ALIAS, chance(3) ? RM_2_64 : size, 0, id);
    T.m.r[i].target = target;
    T.m.cur[i].alias_offset = off;
    return gm_region_new_alias(T.sys, T.s[i].name, T.s[target].mr, off,
                               api_size(T.m.cur[i].size));
}

static gm_region *create_device(int i, enum rm_kind kind, rm_u128 size, uint32_t id)
{
    struct slot *sl = &T.s[i];
    enum rm_io_flavor flavor = kind == RM_IO ? (enum rm_io_flavor)rn(3) : RM_IO_MEM;
    uint64_t cap = kind == RM_ROMD ? (uint64_t)size : IO_CAP;
    gm_region *mr;

    if (kind == RM_IO && size < IO_CAP)
        cap = (uint64_t)size;
    rm_new_region(&T.m, i, kind, size, cap, id);
    T.m.r[i].flavor = flavor;
    sl->dev = dev_new(kind, flavor, id, cap);
    if (kind == RM_ROMD) {
        mr = gm_region_new_rom_device(T.sys, sl->name, (uint64_t)size, &sl->dev->ops, sl->dev);
        if (mr) {
            sl->dev->mem = gm_region_get_ram_ptr(mr);
            CHECK(sl->dev->mem != NULL, "rom device without RAM");
            fill_ram(i, sl->dev->mem);
        }
        return mr;
    }
    if (flavor != RM_IO_REG)
        fill_ram(i, sl->dev->mem);
    return gm_region_new_io(T.sys, sl->name, api_size(size), &sl->dev->ops, sl->dev);
}

static uint64_t pick_addr(int a, uint64_t len);
static void ensure_points(int a);

static void epoch_add(void ***v, int *n, int *cap, void *x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = realloc(*v, (size_t)*cap * sizeof(**v));
        CHECK(*v != NULL, "out of memory");
    }
    (*v)[(*n)++] = x;
}

/* A map-on-demand region: a plain provider (maybe with a copy op) or one
 * served through one of the epoch's mapping caches. */
static gm_region *create_mod(int i, uint32_t id)
{
    struct slot *sl = &T.s[i];
    struct prov *p = calloc(1, sizeof(*p));
    uint64_t size, npages;
    bool cached = chance(60), copy = chance(35), huge = !cached && chance(4);
    gm_region *mr;

    CHECK(p != NULL, "out of memory");
    switch (rn(3)) {
    case 0: size = (1 + rn(MOD_MAX_PAGES)) * PAGE; break;
    case 1: size = 1 + rn(MOD_MAX_PAGES * PAGE); break;
    default: size = 1 + rn(3 * PAGE); break;
    }
    npages = (size + PAGE - 1) / PAGE;
    p->slot = i;
    p->mc = cached ? (int)rn(2) : -1;
    p->npages = npages;
    snprintf(p->name, sizeof(p->name), "%s", sl->name);
    p->fd = memfd_create("gm-model-mod", MFD_CLOEXEC);
    CHECK(p->fd >= 0 && ftruncate(p->fd, (off_t)(npages * PAGE)) == 0, "memfd: errno %d", errno);
    p->view = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    CHECK(p->view != MAP_FAILED, "mmap: errno %d", errno);
    rm_new_region(&T.m, i, RM_MOD, huge ? RM_2_64 : size, npages * PAGE, id);
    rm_mod_setup(&T.m, i, cached, false);
    fill_ram(i, p->view);
    for (uint64_t k = 0; k < npages; k++) {
        unsigned int r = rn(100);

        p->grant[k] = r < 76 ? 0 : r < 90 ? RM_PG_RO : RM_PG_REFUSED;
        T.m.r[i].pg[k] = p->grant[k];
    }
    epoch_add((void ***)&T.provs, &T.nprovs, &T.capprovs, p);
    sl->prov = p;
    if (cached) {
        p->mcp.map_pages = prov_map_pages;
        p->mcp.unmap_pages = prov_unmap_pages;
        p->mcp.copy = copy ? prov_copy : NULL;
        p->mcp.destroy = prov_destroy;
        p->mcp.page_shift = RM_PAGE_SHIFT;
        p->mcp.prefer_copy = copy && chance(70);
        T.m.r[i].mod_copy = p->mcp.prefer_copy;
        mr = gm_mapcache_region_new(T.mc[p->mc], T.sys, sl->name, size, &p->mcp, p);
    } else {
        p->ops.map = prov_map;
        p->ops.unmap = prov_unmap;
        p->ops.copy = copy ? prov_copy : NULL;
        p->ops.destroy = chance(80) ? prov_destroy : NULL;
        T.m.r[i].mod_copy = copy;
        mr = gm_region_new_mapped(T.sys, sl->name, huge ? GM_SIZE_2_64 : size, &p->ops, p);
    }
    if (!mr)
        p->destroyed = 1; /* nothing to destroy */
    return mr;
}

/* A page-aligned translation target in address space @as: mostly where
 * something is mapped (often another IOMMU, or this one: nesting and loops). */
static uint64_t pick_target(int as, unsigned int shift, bool *at_iommu)
{
    uint64_t mask = (1ull << shift) - 1, t;
    unsigned int r = rn(100);

    *at_iommu = false;
    if (r < 35) {
        /* where an IOMMU shows */
        ensure_points(as);
        for (int tries = 0; tries < 12 && T.npoints[as] > 0; tries++) {
            struct rm_hit h;
            int k = (int)rn(T.npoints[as]);

            t = T.points[as][k];
            rm_resolve(&T.m, as, t, &h);
            if (h.leaf != RM_NONE && kind_of(h.leaf) == RM_IOMMU) {
                *at_iommu = true;
                return t & ~mask;
            }
        }
    }
    if (r < 75)
        t = pick_addr(as, 1);
    else if (r < 88)
        t = rn(WINDOW);
    else if (r < 95)
        t = (uint64_t)0 - ((1 + rn(4)) << shift);
    else
        t = rnd();
    return t & ~mask;
}

static unsigned int pick_perm(void)
{
    unsigned int r = rn(100);

    return r < 8 ? GM_IOMMU_NONE : r < 30 ? GM_IOMMU_RO : r < 42 ? GM_IOMMU_WO : GM_IOMMU_RW;
}

/* A random translation for @page of IOMMU @i (or none). */
static void iommu_randomize(int i, uint64_t page)
{
    struct iommu *io = T.s[i].io;

    if (chance(12))
        iommu_set_pte(i, page, -1, 0, 0);
    else {
        int as = chance(65) ? 0 : 1;
        bool at_iommu;
        uint64_t taddr = pick_target(as, io->shift, &at_iommu);
        unsigned int perm = pick_perm();

        /* chains of IOMMUs mostly let accesses through: nesting and loops */
        if (at_iommu && chance(70))
            perm = GM_IOMMU_RW;
        iommu_set_pte(i, page, as, taddr, perm);
    }
}

static gm_region *create_iommu(int i, rm_u128 size, uint32_t id)
{
    struct slot *sl = &T.s[i];
    struct iommu *io = calloc(1, sizeof(*io));
    unsigned int r = rn(100), shift = r < 75 ? 12 : r < 85 ? 13 : 16;
    gm_iommu_config io_cfg;
    uint64_t npages;
    gm_region *mr;

    CHECK(io != NULL, "out of memory");
    if (!size) {
        r = rn(100);
        size = r < 60 ? (1 + rn(64)) << shift : r < 85 ? 1 + rn(64ull << shift) : RM_2_64;
    }
    npages = size >= ((rm_u128)256 << shift) ? 256 : (uint64_t)((size + (1ull << shift) - 1) >> shift);
    io->slot = i;
    io->shift = shift;
    io->npages = npages;
    io->pte = calloc(npages ? npages : 1, sizeof(*io->pte));
    CHECK(io->pte != NULL, "out of memory");
    snprintf(io->name, sizeof(io->name), "%s", sl->name);
    io->ops.translate = iommu_translate;
    epoch_add((void ***)&T.iommus, &T.niommus, &T.capiommus, io);
    sl->io = io;
    rm_new_region(&T.m, i, RM_IOMMU, size, 0, id);
    rm_iommu_setup(&T.m, i, shift, npages);
    for (uint64_t k = 0; k < npages; k++)
        iommu_randomize(i, k);
    /* One region in three gets a tiny IOTLB (1 to 16 slots), where fills,
     * collisions and invalidations meet on the same slots; the others the
     * default for their size. Chosen from @i, not drawn, so that the
     * random sequence of a seed stays the same. */
    io_cfg.iotlb_slots = i % 3 ? 0 : 1u << (i % 5);
    mr = gm_region_new_iommu_config(T.sys, sl->name, api_size(size), &io->ops, io, &io_cfg);
    if (mr && chance(50)) {
        uint64_t span = (uint64_t)(size > ((rm_u128)npages << shift) ? (rm_u128)npages << shift : size);

        io->nt.notify = iommu_notified;
        io->nt.events = chance(70) ? GM_IOMMU_UNMAP : GM_IOMMU_UNMAP | GM_IOMMU_MAP;
        io->nt.start = rn(span);
        io->nt.last = io->nt.start + rn(span - io->nt.start);
        if (gm_iommu_register_notifier(mr, &io->nt) != 0)
            fail("gm_iommu_register_notifier(%s) failed", sl->name);
        if (gm_iommu_register_notifier(mr, &io->nt) != -EBUSY)
            fail("registering a notifier twice did not give -EBUSY");
        io->has_nt = true;
    }
    return mr;
}

/* Create a region of @kind in the free slot @i; @size 0 picks one; @target
 * is an alias's target (RM_NONE: random). */
static void slot_create_at(int i, enum rm_kind kind, rm_u128 size, int target)
{
    struct slot *sl = &T.s[i];
    uint32_t id = ++T.next_id;
    gm_region *mr = NULL;

    memset(sl, 0, sizeof(*sl));
    sl->memfd = -1;
    snprintf(sl->name, sizeof(sl->name), "%s%d.%u", kind_name[kind], i, id);
    T.names[i] = sl->name;
    switch (kind) {
    case RM_CONTAINER:
        if (!size)
            size = chance(2) ? RM_2_64 : pick_container_size();
        rm_new_region(&T.m, i, kind, size, 0, id);
        mr = gm_region_new_container(T.sys, sl->name, api_size(size));
        break;
    case RM_RAM:
        mr = create_ram(i, pick_ram_size(), id);
        break;
    case RM_ROM:
        size = pick_ram_size();
        rm_new_region(&T.m, i, kind, size, (uint64_t)size, id);
        mr = gm_region_new_rom(T.sys, sl->name, (uint64_t)size);
        if (mr)
            fill_ram(i, gm_region_get_ram_ptr(mr));
        break;
    case RM_RAMD:
        size = pick_ram_size();
        rm_new_region(&T.m, i, kind, size, (uint64_t)size, id);
        sl->host = malloc((size_t)size);
        CHECK(sl->host != NULL, "out of memory");
        fill_ram(i, sl->host);
        mr = gm_region_new_ram_device_ptr(T.sys, sl->name, (uint64_t)size, sl->host);
        break;
    case RM_ROMD:
        mr = create_device(i, kind, pick_ram_size(), id);
        break;
    case RM_IO:
        if (!size)
            size = chance(2) ? RM_2_64 : pick_region_size();
        mr = create_device(i, kind, size, id);
        break;
    case RM_RESV:
        size = chance(2) ? RM_2_64 : pick_region_size();
        rm_new_region(&T.m, i, kind, size, 0, id);
        if (chance(50))
            mr = gm_region_new_reservation(T.sys, sl->name, api_size(size));
        else
            mr = gm_region_new_io(T.sys, sl->name, api_size(size), NULL, NULL);
        break;
    case RM_MOD:
        mr = create_mod(i, id);
        break;
    case RM_IOMMU:
        mr = create_iommu(i, size, id);
        break;
    case RM_ALIAS:
        mr = create_alias(i, id, target);
        if (mr && chance(25)) {
            gm_region_set_readonly(mr, true);
            rm_set_readonly(&T.m, i, true);
        }
        break;
    }
    if (!mr)
        fail("creating %s failed: errno %d", sl->name, errno);
    sl->mr = mr;
}

static void slot_create(int i, enum rm_kind kind, rm_u128 size)
{
    slot_create_at(i, kind, size, RM_NONE);
}

static enum rm_kind pick_kind(bool allow_alias)
{
    unsigned int r = rn(100);

    if (r < 14) return RM_CONTAINER;
    if (r < 34) return RM_RAM;
    if (r < 38) return RM_ROM;
    if (r < 42) return RM_RAMD;
    if (r < 46) return RM_ROMD;
    if (r < 58) return RM_IO;
    if (r < 62) return RM_RESV;
    if (r < 71) return RM_MOD;
    if (r < 77) return RM_IOMMU;
    return allow_alias ? RM_ALIAS : RM_CONTAINER;
}

/* Memory a region may use until it is really freed (after a grace period). */
static void bury(void *p)
{
    if (!p)
        return;
    if (T.ngraves == (int)(sizeof(T.graveyard) / sizeof(T.graveyard[0])))
        fail("graveyard full");
    T.graveyard[T.ngraves++] = p;
}

/*
 * Forget a slot. Device state and caller-owned RAM may still be used by the
 * region until its deferred free, which the API does not report: they are
 * freed after gm_system_free() only.
 */
static void slot_release(int i)
{
    struct slot *sl = &T.s[i];

    if (sl->dev) {
        if (sl->dev->kind == RM_IO)
            bury(sl->dev->mem);
        bury(sl->dev);
    }
    /* providers and IOMMUs stay on the epoch's lists until gm_system_free() */
    if (sl->prov)
        sl->prov->released = true;
    if (sl->io)
        sl->io->slot = -1;
    bury(sl->host);
    if (sl->memfd >= 0)
        close(sl->memfd);
    memset(sl, 0, sizeof(*sl));
    sl->memfd = -1;
    T.names[i] = NULL;
}

/* ---- address picking --------------------------------------------------- */

static void ensure_points(int a)
{
    if (T.points_gen[a] == T.m.generation && T.npoints[a] >= 0)
        return;
    T.npoints[a] = rm_boundaries(&T.m, a == 0 ? SLOT_SYS : SLOT_DEV, T.points[a], MAX_POINTS);
    T.points_gen[a] = T.m.generation;
    T.nseams[a] = 0;
    for (int i = 0; i < T.npoints[a]; i++) {
        struct rm_hit l, r;
        uint64_t p = T.points[a][i];

        if (!p)
            continue;
        rm_resolve(&T.m, a, p - 1, &l);
        rm_resolve(&T.m, a, p, &r);
        if (l.leaf != RM_NONE && l.leaf == r.leaf &&
            (l.readonly != r.readonly || l.off + 1 != r.off))
            T.seams[a][T.nseams[a]++] = p;
    }
}

/*
 * Mostly near the model's boundaries: pick a piece between two consecutive
 * boundaries (small pieces as often as large ones), then its start, its end,
 * or somewhere inside, so accesses often straddle region edges.
 */
static uint64_t pick_addr(int a, uint64_t len)
{
    unsigned int r = rn(100);

    ensure_points(a);
    if (r < 10 && T.nseams[a] > 0)
        return T.seams[a][rn(T.nseams[a])] - rn(len + 1);
    if (r < 70 && T.npoints[a] > 0) {
        int i = (int)rn(T.npoints[a]);
        uint64_t p, span;
        struct rm_hit h;

        /* prefer pieces where something is mapped */
        for (int tries = 0; tries < 4 && chance(70); tries++) {
            rm_resolve(&T.m, a, T.points[a][i], &h);
            if (h.leaf != RM_NONE)
                break;
            i = (int)rn(T.npoints[a]);
        }
        p = T.points[a][i];
        span = i + 1 < T.npoints[a] ? T.points[a][i + 1] - p : 0 - p;

        switch (rn(4)) {
        case 0: return p - rn(len + 1);
        case 1: return p + span - rn(len + 8);
        default: return p + rn(span);
        }
    }
    if (r < 85)
        return rn(WINDOW + 0x2000);
    if (r < 93)
        return (uint64_t)0 - 1 - rn(0x2000 + len);
    if (r < 96)
        return rnd();
    return rn(0x200000);
}

/*
 * Triage aid: GM_MODEL_SKIP is a comma-separated list of known library bugs
 * the run steers around, so that a long run can look for further ones:
 *   top-dev          device accesses that reach the last byte below 2^64
 *   alias-sub-cycle  adding a region below its descendant under an alias
 *   map-2-64         maps at address 0 (a flat range of 2^64 bytes)
 *   root-alias       do not build the "dev" root as one whole-region alias
 *   fill-wrap        gm_as_fill() of more than 512 bytes across 2^64
 *   iommu-range      maps and caches through an IOMMU that run past the end
 *                    of the IOMMU's flat range (asks only for what stays in it)
 *   mc-batch         mapping caches that map batches of pages (batch_pages 1)
 *   cache-ro-iommu   cache stores through a read-only view of an IOMMU
 *   mc-destroy-race  a mapping-cache region freed (on the RCU thread) while
 *                    the test thread unmaps entries it took from the cache:
 *                    wait for the free (gm_system_drain) after dropping one
 */
static bool skipping(const char *tag)
{
    return T.skip && strstr(T.skip, tag);
}

static uint64_t dodge(int a, uint64_t addr, uint64_t len)
{
    struct rm_hit h;

    if (!skipping("top-dev") || !len || (rm_u128)addr + len < RM_2_64)
        return addr;
    rm_resolve(&T.m, a, RM_2_64 - 1, &h);
    if (h.leaf == RM_NONE || kind_of(h.leaf) == RM_RAM || kind_of(h.leaf) == RM_ROM ||
        kind_of(h.leaf) == RM_RESV)
        return addr;
    return (uint64_t)0 - 1 - len;
}

static uint64_t pick_len(void)
{
    unsigned int r = rn(100);

    if (r < 50)
        return 1 + rn(8);
    if (r < 85)
        return 1 + rn(64);
    return 1 + rn(MAX_LEN);
}

static int pick_as(void)
{
    return chance(75) ? 0 : 1;
}

static gm_attrs pick_attrs(void)
{
    gm_attrs at = GM_ATTRS_UNSPECIFIED;

    if (chance(50)) {
        at.unspecified = 0;
        at.secure = rn(2);
        at.user = rn(2);
        at.requester_id = rn(0x10000);
    }
    return at;
}

static uint64_t pick_offset(int c)
{
    rm_u128 size = T.m.cur[c].size;
    uint64_t span = size > WINDOW ? WINDOW : (uint64_t)size;
    uint64_t off;

    switch (rn(20)) {
    case 0: case 1: case 2:
        /* straddle or sit at the end */
        return (uint64_t)(size - 1 - rn(span < 0x3000 ? span : 0x3000));
    case 3:
        return rnd();
    default:
        off = rn(span + 1);
        if (chance(40))
            off &= chance(50) ? ~0xfffull : ~0xffull;
        return off;
    }
}

static int pick_prio(void)
{
    static const int extreme[] = { INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1, -1, 1 };
    unsigned int r = rn(100);

    if (r < 20)
        return 0;
    if (r < 75)
        return (int)rn(5) - 2;
    if (r < 92)
        return (int)rn(201) - 100;
    return extreme[rn(6)];
}

/* ---- comparisons ------------------------------------------------------- */

static void compare_access(const char *what, uint64_t addr, gm_result got, unsigned int want,
                           const uint8_t *lib, const uint8_t *exp, uint64_t len, int root)
{
    uint64_t bad = len;
    char hb[96];

    for (uint64_t i = 0; i < len && lib && exp; i++) {
        if (lib[i] != exp[i]) {
            bad = i;
            break;
        }
    }
    if (got == want && bad == len)
        return;
    fprintf(stderr, "\n%s: result got 0x%x want 0x%x\n", what, got, want);
    for (uint64_t i = bad == len ? 0 : (bad > 8 ? bad - 8 : 0); i < len && i < bad + 24; i++) {
        struct rm_hit h;

        rm_resolve(&T.m, root, (rm_u128)addr + i, &h);
        fprintf(stderr, "  addr 0x%016" PRIx64 " lib %02x model %02x  %s%s\n", addr + i,
                lib ? lib[i] : 0, exp ? exp[i] : 0, hit_str(&h, hb, sizeof(hb)),
                lib && exp && lib[i] != exp[i] ? "  <--" : "");
    }
    if (bad < len)
        fail("%s: data differs first at byte %" PRIu64 " (addr 0x%" PRIx64 ")", what, bad,
             addr + bad);
    fail("%s: result got 0x%x want 0x%x", what, got, want);
}

static const char *xhit_str(const struct rm_xhit *x, char *buf, size_t len);

/*
 * Uncertain bytes (stale pages of a mapping cache, see refmodel.h) of a read
 * just compared: each may be the memory's byte or a refused zero. Adjusts
 * @exp and returns the result to expect.
 */
static unsigned int settle_read(const uint8_t *lib, uint8_t *exp, gm_result got, unsigned int want)
{
    const struct rm_unc *u = &T.unc;
    bool dropped = false;

    if (!u->n)
        return want;
    T.stats[ST_UNC]++;
    for (int k = 0; k < u->n; k++) {
        uint32_t i = u->e[k].i;

        if (lib[i] != exp[i] && lib[i] == 0) {
            exp[i] = 0;
            dropped = true;
        }
    }
    if (got == (want | GM_ACCESS_ERROR))
        return got;
    return dropped ? want | GM_ACCESS_ERROR : want;
}

/*
 * The same after a write (@buf: the bytes written): each uncertain byte of
 * the backing is either what it was or what was written; the model takes
 * what the provider's memory holds.
 */
static unsigned int settle_write(const uint8_t *buf, gm_result got, unsigned int want)
{
    const struct rm_unc *u = &T.unc;
    bool dropped = false;

    if (!u->n)
        return want;
    T.stats[ST_UNC]++;
    for (int k = 0; k < u->n; k++) {
        int leaf = u->e[k].leaf;
        uint64_t off = u->e[k].off;
        uint8_t v = T.s[leaf].prov->view[off], *mb = &T.m.r[leaf].bytes[off];
        bool written = false;

        for (int j = 0; j < u->n && !written; j++)
            written = u->e[j].leaf == leaf && u->e[j].off == off && buf[u->e[j].i] == v;
        if (!written && v != *mb)
            fail("write to a stale page: %s+0x%" PRIx64 " holds 0x%02x, neither the old 0x%02x "
                 "nor the written 0x%02x", T.names[leaf], off, v, *mb, buf[u->e[k].i]);
        if (!written)
            dropped = true;
        *mb = v;
    }
    if (got == (want | GM_ACCESS_ERROR))
        return got;
    return dropped ? want | GM_ACCESS_ERROR : want;
}

/* Model read of @len bytes at @addr of @a compared with what the library read. */
static void check_read(const char *what, int a, uint64_t addr, gm_result got, const uint8_t *lib,
                       uint64_t len)
{
    static uint8_t exp[4 * MAX_LEN];
    unsigned int e = rm_access(&T.m, a, addr, exp, len, false, &T.unc);

    e = settle_read(lib, exp, got, e);
    if (got != e) {
        /* which bytes disagree: read them one at a time (reads have no side
         * effects on the test's devices) */
        for (uint64_t i = 0; i < len; i++) {
            uint8_t b1, m1;
            gm_result r1 = gm_as_read(T.as[a], addr + i, GM_ATTRS_UNSPECIFIED, &b1, 1);
            unsigned int e1 = rm_access(&T.m, a, addr + i, &m1, 1, false, &T.unc);
            struct rm_xhit x;
            char xb[200];

            if (r1 == e1)
                continue;
            rm_translate(&T.m, a, (rm_u128)addr + i, RM_X_ACCESS, false, &x);
            fprintf(stderr, "  byte %" PRIu64 " alone: result 0x%x, model 0x%x: %s\n", i, r1, e1,
                    xhit_str(&x, xb, sizeof(xb)));
        }
    }
    compare_access(what, addr, got, e, lib, exp, len, a);
}

/* Model write of @buf, after the library's, compared by result. The provider
 * must not have been called if no byte could reach one. */
static void check_write(const char *what, int a, uint64_t addr, gm_result got,
                        const uint8_t *buf, uint64_t len, unsigned long calls_before)
{
    static uint8_t exp[4 * MAX_LEN];
    unsigned int e;

    memcpy(exp, buf, len);
    e = rm_access(&T.m, a, addr, exp, len, true, &T.unc);
    e = settle_write(buf, got, e);
    if (!T.unc.reach && __atomic_load_n(&T.prov_calls, __ATOMIC_RELAXED) != calls_before)
        fail("%s: a map-on-demand provider was called, but no byte reaches one", what);
    compare_access(what, addr, got, e, NULL, NULL, len, a);
}

static unsigned long prov_calls(void)
{
    return __atomic_load_n(&T.prov_calls, __ATOMIC_RELAXED);
}

static void readback(int a, uint64_t addr, uint64_t len)
{
    uint8_t lib[MAX_LEN];
    gm_result r;

    memset(lib, 0xcc, len);
    r = gm_as_read(T.as[a], addr, GM_ATTRS_UNSPECIFIED, lib, len);
    check_read("read-back", a, addr, r, lib, len);
}

/* ---- accesses ---------------------------------------------------------- */

static const char *const as_name[] = { "sys", "dev" };

static void op_access(void)
{
    int a = pick_as();
    gm_as *as = T.as[a];
    unsigned int r = rn(100);
    gm_attrs at = pick_attrs();
    uint8_t lib[MAX_LEN], exp[MAX_LEN];
    uint64_t len = pick_len(), addr = pick_addr(a, len);
    unsigned long calls;
    gm_result res;

    T.stats[ST_ACCESS]++;
    addr = dodge(a, addr, MAX_LEN);
    {
        struct rm_hit h;
        struct rm_xhit x;

        rm_resolve(&T.m, a, addr, &h);
        T.hits[h.leaf == RM_NONE ? RM_ALIAS + 1 : (int)kind_of(h.leaf)]++;
        rm_translate(&T.m, a, addr, RM_X_ACCESS, false, &x);
        T.stats[ST_X1] += x.depth >= 1;
        T.stats[ST_X2] += x.depth >= 2;
        T.stats[ST_XLIMIT] += x.fault && x.depth >= RM_IOMMU_MAX_NESTING;
        T.stats[ST_MODACC] += !x.fault && x.hit.leaf != RM_NONE && kind_of(x.hit.leaf) == RM_MOD;
    }
    T.attrs = at;
    calls = prov_calls();
    if (r < 28) {
        if (chance(2))
            len = 0;
        opdesc("read %s addr=0x%" PRIx64 " len=%" PRIu64, as_name[a], addr, len);
        memset(lib, 0xcc, len);
        T.check_attrs = true;
        res = gm_as_read(as, addr, at, lib, len);
        T.check_attrs = false;
        check_read("gm_as_read", a, addr, res, lib, len);
    } else if (r < 46) {
        rnd_fill(lib, len);
        opdesc("write %s addr=0x%" PRIx64 " len=%" PRIu64 " first=%02x", as_name[a], addr, len,
               lib[0]);
        T.check_attrs = true;
        res = chance(20) ? gm_as_rw(as, addr, at, lib, len, true)
                         : gm_as_write(as, addr, at, lib, len);
        T.check_attrs = false;
        check_write("gm_as_write", a, addr, res, lib, len, calls);
        readback(a, addr, len);
    } else if (r < 50) {
        uint8_t c = (uint8_t)rnd(), big[4 * MAX_LEN];

        if (chance(25)) {
            /* longer than one internal chunk, often across 2^64 */
            len = MAX_LEN + rn(3 * MAX_LEN);
            addr = chance(50) ? (uint64_t)0 - rn(len + 16) : pick_addr(a, len);
            addr = dodge(a, addr, len);
            if (skipping("fill-wrap") && (rm_u128)addr + len > RM_2_64)
                len = MAX_LEN;
        }
        opdesc("fill %s addr=0x%" PRIx64 " len=%" PRIu64 " c=%02x", as_name[a], addr, len, c);
        memset(big, c, len);
        T.check_attrs = true;
        res = gm_as_fill(as, addr, at, c, len);
        T.check_attrs = false;
        check_write("gm_as_fill", a, addr, res, big, len, calls);
        for (uint64_t off = 0; off < len; off += MAX_LEN)
            readback(a, addr + off, len - off < MAX_LEN ? len - off : MAX_LEN);
    } else if (r < 92) {
        unsigned int size = 1u << rn(4), e;
        bool be = size > 1 && chance(50), st = r >= 72;
        uint64_t val = rnd(), want;
        char what[48];

        if (chance(50))
            addr = dodge(a, pick_addr(a, size), size);
        snprintf(what, sizeof(what), "gm_as_%s%u%s", st ? "st" : "ld", size * 8,
                 size == 1 ? "" : be ? "_be" : "_le");
        if (st) {
            if (size < 8)
                val &= (1ull << (size * 8)) - 1;
            opdesc("%s %s addr=0x%" PRIx64 " val=0x%" PRIx64, what, as_name[a], addr, val);
            T.check_attrs = true;
            res = lib_st(as, addr, at, size, be, val);
            T.check_attrs = false;
            decompose(exp, val, size, be);
            check_write(what, a, addr, res, exp, size, calls);
            readback(a, addr, size);
        } else {
            opdesc("%s %s addr=0x%" PRIx64, what, as_name[a], addr);
            T.check_attrs = true;
            res = lib_ld(as, addr, at, size, be, &val);
            T.check_attrs = false;
            decompose(lib, val, size, be);
            e = rm_access(&T.m, a, addr, exp, size, false, &T.unc);
            e = settle_read(lib, exp, res, e);
            want = compose(exp, size, be);
            if (val != want || res != e) {
                fprintf(stderr, "\n%s: value got 0x%" PRIx64 " want 0x%" PRIx64 "\n", what, val,
                        want);
                compare_access(what, addr, res, e, lib, exp, size, a);
                fail("%s: value got 0x%" PRIx64 " want 0x%" PRIx64, what, val, want);
            }
        }
    } else {
        bool is_write = chance(50), want = true, got;

        opdesc("access_valid %s addr=0x%" PRIx64 " len=%" PRIu64 " %s", as_name[a], addr, len,
               is_write ? "write" : "read");
        got = gm_as_access_valid(as, addr, len, is_write, at);
        for (uint64_t i = 0; i < len && want; i++)
            want = rm_valid(&T.m, a, (rm_u128)addr + i, is_write);
        if (got != want)
            fail("gm_as_access_valid: got %d want %d", got, want);
    }
}

/* ---- lookups and flat-view walks ---------------------------------------- */

/* End of a section; a size of UINT64_MAX at address 0 is ambiguous (2^64 or
 * 2^64 - 1): @next_start decides. */
static rm_u128 sec_end(const gm_section *s, rm_u128 next_start)
{
    if (s->size == GM_SIZE_2_64 && s->offset_within_address_space == 0)
        return next_start < RM_2_64 ? next_start : RM_2_64;
    return (rm_u128)s->offset_within_address_space + s->size;
}

static void check_section_at(const char *what, const gm_section *s, rm_u128 end, uint64_t addr,
                             int a)
{
    struct rm_hit h;
    char hb[96];
    int leaf;

    rm_resolve(&T.m, a, addr, &h);
    if (!s) {
        if (h.leaf != RM_NONE)
            fail("%s %s: addr 0x%" PRIx64 " has no section, model has %s", what, as_name[a],
                 addr, hit_str(&h, hb, sizeof(hb)));
        return;
    }
    leaf = slot_of(s->mr);
    if (addr < s->offset_within_address_space || addr >= end)
        fail("%s %s: addr 0x%" PRIx64 " outside returned section [0x%" PRIx64 ", +0x%" PRIx64
             ")", what, as_name[a], addr, s->offset_within_address_space, s->size);
    if (h.leaf == RM_NONE || leaf != h.leaf ||
        s->offset_within_region + (addr - s->offset_within_address_space) != h.off ||
        s->readonly != h.readonly ||
        (leaf != RM_NONE && kind_of(leaf) == RM_ROMD &&
         s->romd_mode != T.m.snap.t[leaf].romd))
        fail("%s %s: addr 0x%" PRIx64 ": section {%s, region off 0x%" PRIx64 ", as 0x%" PRIx64
             ", size 0x%" PRIx64 ", ro %d, romd %d} -> %s+0x%" PRIx64 ", model has %s",
             what, as_name[a], addr, mr_name(s->mr), s->offset_within_region,
             s->offset_within_address_space, s->size, s->readonly, s->romd_mode,
             mr_name(s->mr),
             s->offset_within_region + (addr - s->offset_within_address_space),
             hit_str(&h, hb, sizeof(hb)));
}

static void lookup_at(int a, uint64_t addr, const char *what)
{
    gm_section s;
    bool found;

    memset(&s, 0xa5, sizeof(s));
    found = gm_as_lookup(T.as[a], addr, &s);
    check_section_at(what, found ? &s : NULL,
                     found ? sec_end(&s, RM_2_64) : 0, addr, a);
    if (found)
        gm_region_unref(s.mr);
}

static void op_lookup(void)
{
    int a = pick_as();
    uint64_t addr = pick_addr(a, 1);

    T.stats[ST_LOOKUP]++;
    opdesc("lookup %s addr=0x%" PRIx64, as_name[a], addr);
    lookup_at(a, addr, "gm_as_lookup");
}

static int collect_section(void *opaque, const gm_section *s)
{
    struct sections *v = opaque;

    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->v = realloc(v->v, v->cap * sizeof(*v->v));
        CHECK(v->v != NULL, "out of memory");
    }
    v->v[v->n++] = *s;
    return 0;
}

/* Index of the section containing @addr, or -1. */
static int find_section(const struct sections *v, const rm_u128 *ends, uint64_t addr)
{
    size_t lo = 0, hi = v->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (addr < v->v[mid].offset_within_address_space)
            hi = mid;
        else if (addr >= ends[mid])
            lo = mid + 1;
        else
            return (int)mid;
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void check_point(const struct sections *v, const rm_u128 *ends, uint64_t p, int a)
{
    int i = find_section(v, ends, p);

    check_section_at("gm_as_for_each_section", i < 0 ? NULL : &v->v[i], i < 0 ? 0 : ends[i], p,
                     a);
}

/*
 * The flat view is piecewise linear with breakpoints at the model's region
 * boundaries and at section edges; checking every breakpoint checks every
 * byte. A random byte inside each piece is also checked, to validate the
 * model's boundary list itself.
 */
static void check_sections(int a)
{
    struct sections *v = &T.secs;
    static rm_u128 ends[1 << 16];
    static uint64_t pts[MAX_POINTS + 2 * (1 << 16)];
    int rc, np;

    v->n = 0;
    rc = gm_as_for_each_section(T.as[a], collect_section, v);
    if (rc != 0)
        fail("gm_as_for_each_section returned %d", rc);
    if (v->n > (1 << 16))
        fail("gm_as_for_each_section: %zu sections", v->n);
    for (size_t i = 0; i < v->n; i++) {
        const gm_section *s = &v->v[i];
        rm_u128 next = i + 1 < v->n ? v->v[i + 1].offset_within_address_space : RM_2_64;

        ends[i] = sec_end(s, next);
        if (slot_of(s->mr) == RM_NONE || s->size == 0)
            fail("section %zu: region %p (%s), size 0x%" PRIx64, i, (void *)s->mr,
                 mr_name(s->mr), s->size);
        if (ends[i] > RM_2_64 || (i > 0 && s->offset_within_address_space < ends[i - 1]))
            fail("section %zu [0x%" PRIx64 " +0x%" PRIx64 "] overlaps or is out of order",
                 i, s->offset_within_address_space, s->size);
        if (kind_of(slot_of(s->mr)) == RM_ALIAS || kind_of(slot_of(s->mr)) == RM_CONTAINER)
            fail("section %zu is served by %s", i, mr_name(s->mr));
    }
    ensure_points(a);
    if (T.npoints[a] < 0)
        return; /* tree too large to enumerate: skip */
    memcpy(pts, T.points[a], T.npoints[a] * sizeof(*pts));
    np = T.npoints[a];
    for (size_t i = 0; i < v->n; i++) {
        pts[np++] = v->v[i].offset_within_address_space;
        if (ends[i] < RM_2_64)
            pts[np++] = (uint64_t)ends[i];
    }
    qsort(pts, np, sizeof(*pts), cmp_u64);
    for (int i = 0; i < np; i++) {
        int j = i + 1;
        uint64_t next, span;

        if (i > 0 && pts[i] == pts[i - 1])
            continue;
        while (j < np && pts[j] == pts[i])
            j++;
        next = j < np ? pts[j] : 0; /* 0: the piece runs up to 2^64 */
        span = next - pts[i];
        check_point(v, ends, pts[i], a);
        if (span > 1) {
            check_point(v, ends, pts[i] + span - 1, a);
            check_point(v, ends, pts[i] + 1 + rn(span - 1), a);
        }
    }
}

static void op_sections(void)
{
    int a = pick_as();

    T.stats[ST_SECTIONS]++;
    opdesc("for_each_section %s", as_name[a]);
    check_sections(a);
}

/* ---- maps and caches --------------------------------------------------- */

static bool leaf_is_ram(int leaf)
{
    enum rm_kind k = kind_of(leaf);

    return k == RM_RAM || k == RM_ROM;
}

static const char *xhit_str(const struct rm_xhit *x, char *buf, size_t len)
{
    char hb[96];

    if (x->fault)
        snprintf(buf, len, "refused (0x%x) at %s after %d IOMMUs", x->fault,
                 hit_str(&x->hit, hb, sizeof(hb)), x->depth);
    else
        snprintf(buf, len, "%s (%s 0x%" PRIx64 " after %d IOMMUs%s)",
                 hit_str(&x->hit, hb, sizeof(hb)), as_name[x->root], x->addr, x->depth,
                 x->ro_crossed ? ", read-only view crossed" : "");
    return buf;
}

static bool is_point(int a, uint64_t addr)
{
    int lo = 0, hi = T.npoints[a];

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (T.points[a][mid] == addr)
            return true;
        if (T.points[a][mid] < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/*
 * A map or cache of @n bytes at @addr of @a shows one run of one region:
 * every byte must land where byte 0 did, plus its index (with the same
 * read-only flag if @same_ro: a direct read mapping may run on into a
 * read-only view of the same RAM). Checked at every model boundary of the
 * address spaces involved and at samples in between.
 */
static void check_one_target(const char *what, int a, uint64_t addr, uint64_t n,
                             enum rm_xmode mode, bool is_write, bool same_ro,
                             const struct rm_xhit *x0)
{
    char b0[200], b1[200];

    ensure_points(a);
    ensure_points(x0->root);
    for (uint64_t i = 1; i < n; i++) {
        struct rm_xhit x;

        if (i >= 128 && n - i > 128 && i % 97 && !(T.npoints[a] > 0 && is_point(a, addr + i)) &&
            !(T.npoints[x0->root] > 0 && is_point(x0->root, x0->addr + i)))
            continue;
        rm_translate(&T.m, a, (rm_u128)addr + i, mode, is_write, &x);
        if (x.fault || x.hit.leaf != x0->hit.leaf || x.hit.off != x0->hit.off + i ||
            (same_ro && x.hit.readonly != x0->hit.readonly) || x.ro_crossed != x0->ro_crossed ||
            x.root != x0->root)
            fail("%s: %" PRIu64 " bytes, but byte %" PRIu64 " is at %s, byte 0 at %s", what, n, i,
                 xhit_str(&x, b1, sizeof(b1)), xhit_str(x0, b0, sizeof(b0)));
    }
}

/* A map-on-demand mapping handed out by map or cache: inside one live
 * provider mapping of @leaf at the right offset, writable if asked. */
static void check_mod_mapping(const char *what, int leaf, uint64_t off, const uint8_t *p,
                              uint64_t n, bool writable)
{
    struct prov *pv = T.s[leaf].prov;
    struct live_map *lm;

    plock();
    lm = live_map_at(pv, p);
    if (!lm || (uint64_t)(p - lm->host) != off - lm->first * PAGE ||
        n > (uint64_t)lm->npages * PAGE - (uint64_t)(p - lm->host) || (writable && !lm->writable))
        fail("%s: %p (+%" PRIu64 ") is not a %s mapping of %s+0x%" PRIx64 " by its provider%s",
             what, (const void *)p, n, writable ? "writable" : "read", T.names[leaf], off,
             lm ? "" : " (no live mapping there)");
    if (pv->mc < 0 && n > PAGE - off % PAGE)
        fail("%s: %" PRIu64 " bytes at %s+0x%" PRIx64 " run past the grant page", what, n,
             T.names[leaf], off);
    punlock();
}

/* Refuse @page of map-on-demand region @leaf (invalidating a mapping cache). */
static void revoke_now(int leaf, uint64_t page)
{
    struct prov *p = T.s[leaf].prov;

    T.stats[ST_MIDREVOKE]++;
    opdesc("revoke %s page %" PRIu64 "%s", T.names[leaf], page, p->mc >= 0 ? " and invalidate" : "");
    prov_set_grant(leaf, page, 1, RM_PG_REFUSED);
    if (p->mc >= 0) {
        int rc = gm_mapcache_invalidate(T.mc[p->mc], T.s[leaf].mr, page * PAGE, PAGE);

        if (rc < 0)
            fail("gm_mapcache_invalidate(%s) = %d", T.names[leaf], rc);
        T.m.r[leaf].pg[page] &= (uint8_t)~RM_PG_STALE;
    }
}

/* After the last user of @page of a cached provider let go: unmapped. */
static void check_revoked_unmapped(int leaf, uint64_t page)
{
    struct prov *p = T.s[leaf].prov;

    if (p->mc >= 0 && live_overlaps(p, page, page))
        fail("%s: page %" PRIu64 " still mapped after invalidation and unpin", T.names[leaf], page);
}

/* Change the translation of the first IOMMU on the way to @addr of @a. */
static void retranslate_now(int a, uint64_t addr)
{
    struct rm_hit h;
    struct iommu *io;
    uint64_t page;

    rm_resolve(&T.m, a, addr, &h);
    if (h.leaf == RM_NONE || kind_of(h.leaf) != RM_IOMMU)
        return;
    io = T.s[h.leaf].io;
    page = h.off >> io->shift;
    if (page >= io->npages)
        return;
    opdesc("retranslate %s page %" PRIu64, T.names[h.leaf], page);
    iommu_randomize(h.leaf, page);
    iommu_notify(h.leaf, GM_IOMMU_UNMAP, page << io->shift, (1ull << io->shift) - 1);
}

/* Bytes from @addr of @a that land where byte 0 does, plus their index
 * (every byte is checked: only for GM_MODEL_SKIP=iommu-range). */
static uint64_t same_target_run(int a, uint64_t addr, uint64_t n, enum rm_xmode mode,
                                bool is_write, const struct rm_xhit *x0)
{
    for (uint64_t i = 1; i < n; i++) {
        struct rm_xhit x;

        rm_translate(&T.m, a, (rm_u128)addr + i, mode, is_write, &x);
        if (x.fault || x.hit.leaf != x0->hit.leaf || x.hit.off != x0->hit.off + i ||
            x.hit.readonly != x0->hit.readonly || x.ro_crossed != x0->ro_crossed ||
            x.root != x0->root)
            return i;
    }
    return n;
}

static void check_bounce_budgets(void)
{
    for (int k = 0; k < 2; k++)
        if (gm_as_bounce_in_use(T.as[k]) != 0)
            fail("bounce budget of %s in use after unmap: %" PRIu64, as_name[k],
                 gm_as_bounce_in_use(T.as[k]));
}

static void op_map(void)
{
    int a = pick_as(), leaf, revoked = -1;
    uint64_t req = 1 + rn(chance(80) ? 256 : 8192), addr = pick_addr(a, req), plen = req, off0 = 0;
    bool is_write = chance(40), direct, mod;
    enum rm_mod_outcome mst = RM_MOD_OK;
    unsigned long calls;
    uint8_t *p, *ram, *exp;
    struct rm_xhit x0;
    char xb[200];

    T.stats[ST_MAP]++;
    ensure_points(a);
    if (T.nseams[a] > 0 && chance(30)) {
        /* across a seam: one region on both sides, maybe differing flags */
        addr = T.seams[a][rn(T.nseams[a])] - 1 - rn(req < 64 ? req : 64);
        plen = req = req + 64;
    }
    addr = dodge(a, addr, req);
    if (addr == 0 && skipping("map-2-64"))
        addr = 1;
    opdesc("map %s addr=0x%" PRIx64 " len=%" PRIu64 " %s", as_name[a], addr, req,
           is_write ? "write" : "read");
    rm_translate(&T.m, a, addr, RM_X_ACCESS, is_write, &x0);
    if (x0.depth && !x0.fault && skipping("iommu-range"))
        plen = req = same_target_run(a, addr, req, RM_X_ACCESS, is_write, &x0);
    leaf = x0.fault ? RM_NONE : x0.hit.leaf;
    mod = leaf != RM_NONE && kind_of(leaf) == RM_MOD;
    if (mod) {
        off0 = x0.hit.off;
        mst = rm_mod_state(&T.m, leaf, off0, is_write, true);
    }
    T.stats[ST_MAPX] += x0.depth > 0;
    T.stats[ST_MAPMOD] += mod;
    calls = prov_calls();
    p = gm_as_map(T.as[a], addr, &plen, is_write, GM_ATTRS_UNSPECIFIED);
    if ((!mod || (is_write && x0.hit.readonly)) && prov_calls() != calls)
        fail("gm_as_map: a map-on-demand provider was called for %s",
             xhit_str(&x0, xb, sizeof(xb)));
    if (!p) {
        if (plen != 0)
            fail("gm_as_map: NULL with plen %" PRIu64, plen);
        if (leaf == RM_NONE || !rm_byte_valid(&T.m, &x0.hit, is_write) ||
            (mod && mst != RM_MOD_OK))
            return;
        fail("gm_as_map: NULL, model has %s", xhit_str(&x0, xb, sizeof(xb)));
    }
    if (leaf == RM_NONE)
        fail("gm_as_map: mapped %" PRIu64 " bytes, model has %s", plen,
             xhit_str(&x0, xb, sizeof(xb)));
    if (mod && mst == RM_MOD_REFUSED)
        fail("gm_as_map: mapped %s, which the provider refuses", xhit_str(&x0, xb, sizeof(xb)));
    if (plen < 1 || plen > req)
        fail("gm_as_map: plen %" PRIu64 " for %" PRIu64 " requested", plen, req);
    if (plen > x0.clip)
        fail("gm_as_map: %" PRIu64 " bytes mapped through an IOMMU page with %" PRIu64 " left",
             plen, (uint64_t)x0.clip);
    ram = gm_region_get_ram_ptr(T.s[leaf].mr);
    direct = ram && p == ram + x0.hit.off;
    if (leaf_is_ram(leaf) && !(is_write && x0.hit.readonly) && !direct)
        fail("gm_as_map: RAM %s not mapped directly (%p)", xhit_str(&x0, xb, sizeof(xb)),
             (void *)p);
    check_one_target("gm_as_map", a, addr, plen, RM_X_ACCESS, is_write, is_write || !direct, &x0);
    if (mod)
        check_mod_mapping("gm_as_map", leaf, off0, p, plen, is_write);
    /* Revocation and invalidation do not take an existing mapping away. */
    if (mod && chance(20)) {
        revoked = (int)(off0 / PAGE);
        revoke_now(leaf, (uint64_t)revoked);
    } else if (x0.depth && chance(20)) {
        retranslate_now(a, addr);
    }
    exp = malloc(plen);
    CHECK(exp != NULL, "out of memory");
    if (!is_write) {
        if (mod)
            memcpy(exp, T.m.r[leaf].bytes + off0, plen);
        else
            rm_access(&T.m, x0.root, x0.addr, exp, plen, false, NULL);
        compare_access("gm_as_map (read)", addr, 0, 0, p, exp, plen, a);
        gm_as_unmap(T.as[a], p, plen, false, 0);
    } else {
        uint64_t alen = chance(20) ? rn(plen + 1) : plen;

        rnd_fill(exp, alen);
        memcpy(p, exp, alen);
        gm_as_unmap(T.as[a], p, plen, true, alen);
        if (mod)
            memcpy(T.m.r[leaf].bytes + off0, exp, alen);
        else
            rm_access(&T.m, x0.root, x0.addr, exp, alen, true, NULL);
        readback(a, addr, plen < MAX_LEN ? plen : MAX_LEN);
    }
    free(exp);
    if (revoked >= 0)
        check_revoked_unmapped(leaf, (uint64_t)revoked);
    check_bounce_budgets();
}

/* What a cache access at @off should do, from what the cache found at init. */
struct cache_model {
    struct rm_xhit x0;
    bool is_write;
    bool mod;
    bool map_write;   /* map-on-demand: the mapping is writable */
};

static unsigned int cache_expect(const struct cache_model *cm, uint64_t off, uint8_t *buf,
                                 uint64_t l, bool is_write)
{
    const struct rm_xhit *x = &cm->x0;

    if (cm->mod) {
        uint8_t *mb = T.m.r[x->hit.leaf].bytes + x->hit.off + off;

        if (!is_write) {
            memcpy(buf, mb, l);
            return GM_OK;
        }
        if (!cm->map_write)
            return GM_DECODE_ERROR;
        memcpy(mb, buf, l);
        return GM_OK;
    }
    /* A read-only view crossed on the way: stores refused, like gm_as_write. */
    if (is_write && x->ro_crossed)
        return GM_DECODE_ERROR;
    return rm_access(&T.m, x->root, x->addr + off, buf, l, is_write, NULL);
}

static void op_cache(void)
{
    int a = pick_as(), leaf, revoked = -1;
    uint64_t len = 1 + rn(chance(70) ? 64 : MAX_LEN), addr = pick_addr(a, len);
    bool is_write = chance(40), changed = false;
    gm_cache c = GM_CACHE_INIT;
    struct cache_model cm = { .is_write = is_write };
    enum rm_mod_outcome mst = RM_MOD_OK;
    uint8_t lib[MAX_LEN], exp[MAX_LEN];
    unsigned long calls;
    char xb[200];
    int64_t n;

    T.stats[ST_CACHE]++;
    addr = dodge(a, addr, len);
    opdesc("cache %s addr=0x%" PRIx64 " len=%" PRIu64 " %s", as_name[a], addr, len,
           is_write ? "write" : "read");
    rm_translate(&T.m, a, addr, RM_X_CACHE, is_write, &cm.x0);
    if (cm.x0.depth && !cm.x0.fault && skipping("iommu-range"))
        len = same_target_run(a, addr, len, RM_X_CACHE, is_write, &cm.x0);
    leaf = cm.x0.fault ? RM_NONE : cm.x0.hit.leaf;
    cm.mod = leaf != RM_NONE && kind_of(leaf) == RM_MOD;
    if (cm.mod) {
        cm.map_write = is_write && !cm.x0.hit.readonly && !cm.x0.ro_crossed;
        mst = rm_mod_state(&T.m, leaf, cm.x0.hit.off, cm.map_write, true);
    }
    T.stats[ST_MAPX] += cm.x0.depth > 0;
    T.stats[ST_MAPMOD] += cm.mod;
    calls = prov_calls();
    n = gm_cache_init(&c, T.as[a], addr, len, is_write);
    if (!cm.mod && prov_calls() != calls)
        fail("gm_cache_init: a map-on-demand provider was called for %s",
             xhit_str(&cm.x0, xb, sizeof(xb)));
    if (n < 0) {
        gm_cache_destroy(&c);
        if (n != -EFAULT)
            fail("gm_cache_init: %" PRId64, n);
        if (leaf == RM_NONE || kind_of(leaf) == RM_RESV || (cm.mod && mst != RM_MOD_OK))
            return;
        fail("gm_cache_init: -EFAULT, model has %s", xhit_str(&cm.x0, xb, sizeof(xb)));
    }
    if (leaf == RM_NONE)
        fail("gm_cache_init: %" PRId64 " bytes, model has %s", n,
             xhit_str(&cm.x0, xb, sizeof(xb)));
    if (cm.mod && mst == RM_MOD_REFUSED)
        fail("gm_cache_init: %" PRId64 " bytes of %s, which the provider refuses", n,
             xhit_str(&cm.x0, xb, sizeof(xb)));
    if (n < 1 || (uint64_t)n > len)
        fail("gm_cache_init: %" PRId64 " for %" PRIu64 " requested", n, len);
    if ((uint64_t)n > cm.x0.clip)
        fail("gm_cache_init: %" PRId64 " bytes through an IOMMU page with %" PRIu64 " left", n,
             (uint64_t)cm.x0.clip);
    check_one_target("gm_cache_init", a, addr, (uint64_t)n, RM_X_CACHE, is_write, true, &cm.x0);
    if (cm.mod) {
        check_mod_mapping("gm_cache_init", leaf, cm.x0.hit.off, c.ptr, (uint64_t)n, cm.map_write);
        if (chance(25)) {
            revoked = (int)(cm.x0.hit.off / PAGE);
            revoke_now(leaf, (uint64_t)revoked);
            changed = true;
        }
    } else if (cm.x0.depth && chance(25)) {
        retranslate_now(a, addr);
        changed = true;
    }
    for (int k = 0; k < 4; k++) {
        uint64_t off = rn(n), l = 1 + rn(n - off);
        gm_result r;
        unsigned int e;
        char what[64];

        if (is_write && chance(50) &&
            !(cm.x0.ro_crossed && !cm.mod && skipping("cache-ro-iommu"))) {
            rnd_fill(lib, l);
            memcpy(exp, lib, l);
            snprintf(what, sizeof(what), "gm_cache_write off %" PRIu64 " len %" PRIu64, off, l);
            r = gm_cache_write(&c, off, lib, l);
            e = cache_expect(&cm, off, exp, l, true);
            compare_access(what, addr + off, r, e, NULL, NULL, l, a);
            if (!changed)
                readback(a, addr + off, l);
        } else {
            snprintf(what, sizeof(what), "gm_cache_read off %" PRIu64 " len %" PRIu64, off, l);
            memset(lib, 0xcc, l);
            r = gm_cache_read(&c, off, lib, l);
            e = cache_expect(&cm, off, exp, l, false);
            compare_access(what, addr + off, r, e, lib, exp, l, a);
        }
    }
    if (n >= 4) {
        uint32_t v = 0;
        gm_result r = gm_cache_ld32_le(&c, 0, &v);
        unsigned int e = cache_expect(&cm, 0, exp, 4, false);

        if (r != e || v != compose(exp, 4, false))
            fail("gm_cache_ld32_le: 0x%x/0x%x want 0x%" PRIx64 "/0x%x", v, r,
                 compose(exp, 4, false), e);
    }
    if (!is_write) {
        gm_result r = gm_cache_write(&c, 0, lib, 1);

        if (!(r & GM_ACCESS_ERROR))
            fail("gm_cache_write on a read cache: 0x%x", r);
        if (!changed)
            readback(a, addr, 1);
    }
    if ((uint64_t)n < len && !(gm_cache_read(&c, n, lib, 1) & GM_DECODE_ERROR))
        fail("gm_cache_read past the %" PRId64 " cached bytes did not fail", n);
    gm_cache_destroy(&c);
    if (revoked >= 0)
        check_revoked_unmapped(leaf, (uint64_t)revoked);
}

/* ---- topology ---------------------------------------------------------- */

static bool pred_unmapped(int i) { return !is_root(i) && T.m.cur[i].parent == RM_NONE; }
static bool pred_mapped(int i) { return T.m.cur[i].parent != RM_NONE; }
static bool pred_not_root(int i) { return !is_root(i); }
static bool pred_alias(int i) { return kind_of(i) == RM_ALIAS; }
static bool pred_romd(int i) { return kind_of(i) == RM_ROMD; }
static bool pred_ro_target(int i)
{
    return kind_of(i) == RM_ALIAS || (kind_of(i) == RM_CONTAINER && !is_root(i));
}

/* Does @i hang (through its containers) from an address space root? */
static bool attached(int i)
{
    while (T.m.cur[i].parent != RM_NONE)
        i = T.m.cur[i].parent;
    return is_root(i);
}

static int pick_container_for(int sub)
{
    if (kind_of(sub) == RM_ALIAS && chance(30)) {
        int c = T.m.cur[T.m.r[sub].target].parent;

        if (c != RM_NONE && !rm_reaches(&T.m, sub, c))
            return c;
    }
    for (int tries = 0; tries < 20; tries++) {
        int c;
        unsigned int r = rn(100);

        if (r < 30)
            c = SLOT_SYS;
        else if (r < 45)
            c = SLOT_DEV;
        else
            c = (int)rn(RM_MAX_REGIONS);
        if (!T.m.cur[c].exists || c == sub || (!attached(c) && chance(90)))
            continue;
        if (kind_of(c) != RM_CONTAINER && !chance(kind_of(c) == RM_ALIAS ? 5 : 25))
            continue;
        if (rm_reaches(&T.m, sub, c))
            continue;
        return c;
    }
    return RM_NONE;
}

/* Right after or before a random child of @c (adjacent ranges merge or not). */
static bool pick_adjacent(int c, int s, uint64_t *off)
{
    int sib[RM_MAX_REGIONS], n = 0, x;

    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (T.m.cur[i].exists && T.m.cur[i].parent == c && i != s)
            sib[n++] = i;
    if (!n)
        return false;
    x = sib[rn(n)];
    if (chance(50))
        *off = T.m.cur[x].addr + (uint64_t)T.m.cur[x].size;
    else
        *off = T.m.cur[x].addr - (uint64_t)T.m.cur[s].size;
    return true;
}

static void apply_add(int c, int s)
{
    uint64_t off = pick_offset(c);
    bool plain = chance(15);
    int prio = plain ? 0 : pick_prio(), rc;

    if (chance(25))
        pick_adjacent(c, s, &off);
    if (kind_of(s) == RM_ALIAS && T.m.cur[T.m.r[s].target].parent == c && chance(60)) {
        const struct rm_topo *t = &T.m.cur[T.m.r[s].target];

        /* over its own target: in place (contiguous offsets) or next to it */
        if (chance(65)) {
            off = t->addr + T.m.cur[s].alias_offset;
            if (!plain && chance(70))
                prio = t->prio == INT_MAX ? INT_MAX : t->prio + (int)rn(2);
        } else
            off = chance(50) ? t->addr + (uint64_t)t->size : t->addr - (uint64_t)T.m.cur[s].size;
    }
    /* large regions mostly stay in the background */
    if (!plain && T.m.cur[s].size > WINDOW / 4 && chance(80))
        prio = -1 - (int)rn(4);

    opdesc("add %s into %s at 0x%" PRIx64 " prio %d%s", T.names[s], T.names[c], off, prio,
           plain ? " (plain)" : "");
    rc = plain ? gm_region_add_subregion(T.s[c].mr, off, T.s[s].mr)
               : gm_region_add_subregion_overlap(T.s[c].mr, off, T.s[s].mr, prio);
    if (rc != 0)
        fail("add_subregion returned %d", rc);
    rm_add_sub(&T.m, c, s, off, prio);
}

static void op_add(void)
{
    int s = pick_slot_where(pred_unmapped), c;

    if (s == RM_NONE)
        return;
    c = pick_container_for(s);
    if (c != RM_NONE)
        apply_add(c, s);
}

/* Is one of @i's ancestors an alias (whose subregions are not rendered)? */
static bool below_alias(int i)
{
    for (int p = T.m.cur[i].parent; p != RM_NONE; p = T.m.cur[p].parent)
        if (kind_of(p) == RM_ALIAS)
            return true;
    return false;
}

/* Expected failures of add/del, each alone in its call. */
static void op_topology_error(void)
{
    int s, c, rc, want;

    T.stats[ST_TOPO_ERR]++;
    switch (rn(4)) {
    case 0: /* already mapped */
        s = pick_slot_where(pred_mapped);
        if (s == RM_NONE || (c = pick_container_for(s)) == RM_NONE)
            return;
        opdesc("add mapped %s into %s (want -EBUSY)", T.names[s], T.names[c]);
        rc = gm_region_add_subregion(T.s[c].mr, 0, T.s[s].mr);
        want = -EBUSY;
        break;
    case 1: /* into itself */
        s = pick_slot_where(pred_unmapped);
        if (s == RM_NONE)
            s = SLOT_DEV;
        opdesc("add %s into itself (want -EINVAL)", T.names[s]);
        rc = gm_region_add_subregion_overlap(T.s[s].mr, 0, T.s[s].mr, 1);
        want = -EINVAL;
        break;
    case 2: /* into one of its descendants: try the roots */
        s = chance(50) ? SLOT_SYS : SLOT_DEV;
        c = pick_slot_where(pred_mapped);
        if (c == RM_NONE || !rm_is_ancestor(&T.m, s, c))
            return;
        if (skipping("alias-sub-cycle") && below_alias(c))
            return;
        opdesc("add %s into its descendant %s (want -EINVAL)", T.names[s], T.names[c]);
        rc = gm_region_add_subregion(T.s[c].mr, 0x1000, T.s[s].mr);
        want = -EINVAL;
        break;
    default: /* delete from the wrong parent */
        s = (int)rn(RM_MAX_REGIONS);
        c = (int)rn(RM_MAX_REGIONS);
        if (!T.m.cur[s].exists || !T.m.cur[c].exists || T.m.cur[s].parent == c)
            return;
        opdesc("del %s from non-parent %s (want -ENOENT)", T.names[s], T.names[c]);
        rc = gm_region_del_subregion(T.s[c].mr, T.s[s].mr);
        want = -ENOENT;
        break;
    }
    if (rc != want)
        fail("got %d, want %d", rc, want);
}

static void op_resize(void)
{
    int s = pick_slot_where(pred_not_root), rc, want = 0;
    enum rm_kind k;
    rm_u128 size;

    if (s == RM_NONE)
        return;
    k = kind_of(s);
    if (k == RM_RAM || k == RM_ROM || k == RM_RAMD || k == RM_ROMD) {
        uint64_t alloc = T.m.r[s].alloc;

        size = chance(20) ? alloc : 1 + rn(alloc);
        if (k != RM_ROMD && chance(25)) {
            size = chance(10) ? RM_2_64 : alloc + 1 + (chance(30) ? 0 : rn(0x10000));
            want = -EINVAL;
        }
    } else {
        size = chance(2) ? RM_2_64 : chance(2) ? 0 : pick_region_size();
    }
    opdesc("set_size %s 0x%" PRIx64 "%s (want %d)", T.names[s], (uint64_t)size,
           size == RM_2_64 ? " (2^64)" : "", want);
    rc = gm_region_set_size(T.s[s].mr, api_size(size));
    if (rc != want)
        fail("gm_region_set_size returned %d, want %d", rc, want);
    if (rc == 0)
        rm_set_size(&T.m, s, size);
}

static void op_topology(bool in_txn)
{
    unsigned int r = rn(100);
    int s;

    T.stats[ST_TOPO]++;
    if (r < 24) {
        op_add();
    } else if (r < 38) {
        s = pick_slot_where(pred_mapped);
        if (s == RM_NONE)
            return;
        opdesc("del %s from %s", T.names[s], T.names[T.m.cur[s].parent]);
        if (gm_region_del_subregion(T.s[T.m.cur[s].parent].mr, T.s[s].mr) != 0)
            fail("del_subregion failed");
        rm_del_sub(&T.m, s);
    } else if (r < 52) {
        bool en;

        s = chance(3) ? SLOT_DEV : pick_slot_where(pred_not_root);
        if (s == RM_NONE)
            return;
        en = chance(T.m.cur[s].enabled ? 70 : 85); /* mostly enabled */
        opdesc("set_enabled %s %d", T.names[s], en);
        gm_region_set_enabled(T.s[s].mr, en);
        rm_set_enabled(&T.m, s, en);
    } else if (r < 68) {
        uint64_t addr;

        s = chance(90) ? pick_slot_where(pred_mapped) : pick_slot_where(pred_not_root);
        if (s == RM_NONE)
            return;
        addr = chance(10) ? T.m.cur[s].addr
               : pick_offset(T.m.cur[s].parent == RM_NONE ? SLOT_SYS : T.m.cur[s].parent);
        if (T.m.cur[s].parent != RM_NONE && chance(20))
            pick_adjacent(T.m.cur[s].parent, s, &addr);
        opdesc("set_address %s 0x%" PRIx64 " (was 0x%" PRIx64 ")", T.names[s], addr,
               T.m.cur[s].addr);
        gm_region_set_address(T.s[s].mr, addr);
        rm_set_address(&T.m, s, addr);
    } else if (r < 78) {
        op_resize();
    } else if (r < 87) {
        uint64_t off;
        int rc, want = 0;

        s = chance(92) ? pick_slot_where(pred_alias) : pick_slot_where(pred_not_root);
        if (s == RM_NONE)
            return;
        off = chance(95) ? rn(WINDOW) : rnd();
        if (chance(30))
            off &= ~0xfffull;
        if (kind_of(s) != RM_ALIAS)
            want = -EINVAL;
        opdesc("set_alias_offset %s 0x%" PRIx64 " (want %d)", T.names[s], off, want);
        rc = gm_region_set_alias_offset(T.s[s].mr, off);
        if (rc != want)
            fail("gm_region_set_alias_offset returned %d, want %d", rc, want);
        if (!rc)
            rm_set_alias_offset(&T.m, s, off);
    } else if (r < 94) {
        bool ro;

        s = pick_slot_where(pred_ro_target);
        if (s == RM_NONE)
            return;
        ro = chance(60);
        opdesc("set_readonly %s %d", T.names[s], ro);
        gm_region_set_readonly(T.s[s].mr, ro);
        rm_set_readonly(&T.m, s, ro);
    } else if (!in_txn) {
        /* romd mode is read by QEMU at access time: only outside transactions */
        int rc, want = 0;
        bool romd = chance(50);

        s = chance(85) ? pick_slot_where(pred_romd) : pick_slot_where(pred_not_root);
        if (s == RM_NONE)
            return;
        if (kind_of(s) != RM_ROMD)
            want = -EINVAL;
        opdesc("set_romd %s %d (want %d)", T.names[s], romd, want);
        rc = gm_region_set_romd(T.s[s].mr, romd);
        if (rc != want)
            fail("gm_region_set_romd returned %d, want %d", rc, want);
        if (!rc)
            rm_set_romd(&T.m, s, romd);
    } else {
        op_topology_error();
    }
}

/* Register banks count written bytes: compare after every operation. */
static void check_reg_writes(void)
{
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        const struct rm_region *r = &T.m.r[i];

        if (T.m.cur[i].exists && r->kind == RM_IO && r->flavor == RM_IO_REG &&
            T.s[i].dev->reg_writes != r->reg_writes)
            fail("%s: device saw %" PRIu64 " bytes written, model %" PRIu64, T.names[i],
                 T.s[i].dev->reg_writes, r->reg_writes);
    }
}

/* ---- grants, mapping caches and IOMMU page tables ----------------------- */

static bool pred_mod(int i) { return kind_of(i) == RM_MOD; }
static bool pred_cached(int i) { return kind_of(i) == RM_MOD && T.s[i].prov->mc >= 0; }
static bool pred_iommu(int i) { return kind_of(i) == RM_IOMMU; }

/* Invalidate pages [first, last] of a cached region and check that nothing
 * there stays mapped (nothing is pinned between operations). */
static void mc_invalidate(int s, uint64_t off, uint64_t len)
{
    struct prov *p = T.s[s].prov;
    uint64_t first = off / PAGE, last = len ? (off + (len - 1)) / PAGE : first;
    int rc;

    if (len && off + (len - 1) < off)
        last = UINT64_MAX / PAGE;
    rc = gm_mapcache_invalidate(T.mc[p->mc], T.s[s].mr, off, len);
    if (rc < 0)
        fail("gm_mapcache_invalidate(%s, 0x%" PRIx64 ", 0x%" PRIx64 ") = %d", T.names[s], off,
             len, rc);
    if (live_overlaps(p, first, last))
        fail("%s: pages %" PRIu64 "..%" PRIu64 " still mapped after gm_mapcache_invalidate",
             T.names[s], first, last);
    if (!len)
        return; /* the model does not count on a zero-length range */
    for (uint64_t k = first; k <= last && k < p->npages; k++)
        T.m.r[s].pg[k] &= (uint8_t)~RM_PG_STALE;
}

/* The provider grants, makes read-only or refuses a few pages. A revocation
 * is invalidated in the mapping cache at once or later; until then the
 * pages are stale. */
static void op_grant(void)
{
    int s = pick_slot_where(pred_mod);
    struct prov *p;
    uint64_t first, n;
    unsigned int st, r = rn(100);
    bool revoked, now;

    if (s == RM_NONE)
        return;
    T.stats[ST_GRANT]++;
    p = T.s[s].prov;
    first = rn(p->npages);
    n = chance(70) ? 1 : 1 + rn(p->npages - first);
    st = r < 40 ? 0 : r < 70 ? RM_PG_RO : RM_PG_REFUSED;
    now = chance(55);
    opdesc("grant %s pages %" PRIu64 "..%" PRIu64 ": %s%s", T.names[s], first, first + n - 1,
           st == 0 ? "read-write" : st == RM_PG_RO ? "read-only" : "refused",
           p->mc < 0 ? "" : now ? ", invalidate" : ", no invalidation yet");
    revoked = prov_set_grant(s, first, n, st);
    if (p->mc < 0 || !revoked)
        return;
    if (now) {
        mc_invalidate(s, first * PAGE, n * PAGE);
        return;
    }
    for (uint64_t k = first; k < first + n; k++)
        T.m.r[s].pg[k] |= RM_PG_STALE;
}

static void op_mc_invalidate(void)
{
    int s = pick_slot_where(pred_cached), rc;
    uint64_t off, len;
    struct prov *p;

    T.stats[ST_INVAL]++;
    if (s == RM_NONE || chance(4)) {
        /* a region this cache does not serve */
        int k = (int)rn(2), o = pick_slot_where(pred_not_root);

        if (o == RM_NONE || (kind_of(o) == RM_MOD && T.s[o].prov->mc == k))
            return;
        opdesc("gm_mapcache_invalidate(cache %d, %s) (want -EINVAL)", k, T.names[o]);
        rc = gm_mapcache_invalidate(T.mc[k], T.s[o].mr, 0, PAGE);
        if (rc != -EINVAL)
            fail("got %d", rc);
        return;
    }
    p = T.s[s].prov;
    switch (rn(4)) {
    case 0:
        off = 0;
        len = p->npages * PAGE;
        break;
    case 1:
        off = rn(p->npages) * PAGE;
        len = (1 + rn(4)) * PAGE;
        break;
    case 2:
        off = rn(p->npages * PAGE);
        len = chance(5) ? 0 : 1 + rn(3 * PAGE);
        break;
    default:
        off = rn(p->npages * PAGE);
        len = chance(50) ? UINT64_MAX : (uint64_t)0 - off;
        break;
    }
    opdesc("gm_mapcache_invalidate(%s, 0x%" PRIx64 ", 0x%" PRIx64 ")", T.names[s], off, len);
    mc_invalidate(s, off, len);
}

static void op_mc_flush(void)
{
    int k = (int)rn(2);

    T.stats[ST_INVAL]++;
    opdesc("gm_mapcache_flush(cache %d)", k);
    gm_mapcache_flush(T.mc[k]);
    for (int i = 0; i < T.nprovs; i++) {
        struct prov *p = T.provs[i];
        long live;

        if (p->mc != k || p->released)
            continue;
        plock();
        live = p->nlive;
        punlock();
        if (live)
            fail("%s: %ld mappings live after gm_mapcache_flush", p->name, live);
    }
}

static void seed_iommu_loop(void);

/* Change a few translations of an IOMMU, then tell the IOTLB. */
static void op_iommu_change(void)
{
    int s = pick_slot_where(pred_iommu);
    struct iommu *io;
    uint64_t lo = UINT64_MAX, hi = 0, pmask;
    int n = chance(70) ? 1 : 2 + (int)rn(3);
    unsigned int r = rn(100);

    if (s == RM_NONE)
        return;
    T.stats[ST_IOMMU]++;
    if (chance(10) && !T.depth) {
        seed_iommu_loop();
        return;
    }
    io = T.s[s].io;
    if (!io->npages)
        return;
    pmask = (1ull << io->shift) - 1;
    for (int k = 0; k < n; k++) {
        uint64_t page = rn(io->npages);

        if (k && chance(50) && lo + 1 < io->npages)
            page = lo + 1; /* neighbours */
        opdesc("translation of %s page %" PRIu64 " changes", T.names[s], page);
        iommu_randomize(s, page);
        lo = page < lo ? page : lo;
        hi = page > hi ? page : hi;
        if (r < 55)
            /* each page on its own, sometimes naming an address inside it */
            iommu_notify(s, GM_IOMMU_UNMAP, (page << io->shift) | (chance(30) ? rn(pmask + 1) : 0),
                         pmask);
    }
    if (r < 55) {
        /* done */
    } else if (r < 80) {
        /* one notification for a power-of-two block covering them all */
        uint64_t mask = pmask;

        while (((lo << io->shift) & ~mask) + mask < (hi << io->shift) + pmask)
            mask = mask << 1 | 1;
        opdesc("notify UNMAP %s 0x%" PRIx64 "/0x%" PRIx64, T.names[s], lo << io->shift, mask);
        iommu_notify(s, GM_IOMMU_UNMAP, lo << io->shift, mask);
    } else if (r < 92) {
        opdesc("gm_iommu_invalidate_all %s", T.names[s]);
        gm_iommu_invalidate_all(T.s[s].mr);
    } else {
        opdesc("notify UNMAP %s everything", T.names[s]);
        iommu_notify(s, GM_IOMMU_UNMAP, 0, UINT64_MAX);
    }
    if (chance(15)) {
        opdesc("notify MAP %s page %" PRIu64, T.names[s], lo);
        iommu_notify(s, GM_IOMMU_MAP, lo << io->shift, pmask);
    }
}

/* gm_iommu_translate against the page table; and the API's error cases. */
static void op_iommu_translate(void)
{
    int s = pick_slot_where(pred_iommu), rc, want;
    static const enum gm_iommu_perm flags[] = { GM_IOMMU_RO, GM_IOMMU_WO, GM_IOMMU_RW };
    enum gm_iommu_perm flag = flags[rn(3)];
    gm_iotlb_entry e;
    struct iommu *io;
    const struct rm_pte *pte = NULL;
    uint64_t iova, page, mask;
    rm_u128 size;

    T.stats[ST_XLATE]++;
    if (s == RM_NONE || chance(5)) {
        int o = pick_slot_where(pred_not_root);

        if (o == RM_NONE || kind_of(o) == RM_IOMMU)
            return;
        opdesc("IOMMU calls on %s (want -EINVAL)", T.names[o]);
        e = (gm_iotlb_entry){ .addr_mask = 0xfff };
        if (gm_iommu_translate(T.s[o].mr, 0, GM_IOMMU_RO, 0, &e) != -EINVAL ||
            gm_iommu_notify(T.s[o].mr, 0, GM_IOMMU_UNMAP, &e) != -EINVAL)
            fail("IOMMU calls on a region that is not an IOMMU did not give -EINVAL");
        if (s != RM_NONE) {
            e.addr_mask = 0x1001;
            if (gm_iommu_notify(T.s[s].mr, 0, GM_IOMMU_UNMAP, &e) != -EINVAL)
                fail("gm_iommu_notify with mask 0x1001 did not give -EINVAL");
            e.addr_mask = 0xfff;
            if (gm_iommu_notify(T.s[s].mr, 0, (enum gm_iommu_event)3, &e) != -EINVAL)
                fail("gm_iommu_notify with event 3 did not give -EINVAL");
        }
        return;
    }
    io = T.s[s].io;
    size = T.m.cur[s].size < T.m.snap.t[s].size ? T.m.cur[s].size : T.m.snap.t[s].size;
    if (!size)
        return;
    if (size > ((rm_u128)(io->npages + 2) << io->shift))
        size = (rm_u128)(io->npages + 2) << io->shift;
    iova = rn((uint64_t)size);
    page = iova >> io->shift;
    mask = (1ull << io->shift) - 1;
    if (page < io->npages && T.m.r[s].pte[page].as != RM_NONE)
        pte = &T.m.r[s].pte[page];
    want = pte && (pte->perm & (unsigned int)flag) == (unsigned int)flag ? 0 : -EACCES;
    opdesc("gm_iommu_translate %s 0x%" PRIx64 " flag %d (want %d)", T.names[s], iova, flag, want);
    memset(&e, 0xa5, sizeof(e));
    rc = gm_iommu_translate(T.s[s].mr, iova, flag, 0, &e);
    if (rc != want)
        fail("gm_iommu_translate returned %d, want %d", rc, want);
    if (!rc && (e.target_as != T.as[pte->as] || e.iova != (iova & ~mask) ||
                e.translated_addr != pte->taddr || e.addr_mask != mask ||
                (unsigned int)e.perm != pte->perm))
        fail("gm_iommu_translate: {%s, iova 0x%" PRIx64 ", 0x%" PRIx64 ", mask 0x%" PRIx64
             ", perm %d}, want {%s, 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ", %u}",
             e.target_as == T.as[0] ? "sys" : e.target_as == T.as[1] ? "dev" : "?", e.iova,
             e.translated_addr, e.addr_mask, e.perm, as_name[pte->as], iova & ~mask, pte->taddr,
             mask, pte->perm);
    if (rc && e.perm != GM_IOMMU_NONE)
        fail("gm_iommu_translate refused with perm %d", e.perm);
}

/*
 * After every operation nothing is pinned: plain providers have no mapping
 * live; a mapping cache's counters match its providers' live mappings (when
 * no dropped region of it awaits its deferred free, which runs on another
 * thread); IOTLB misses and faults match the translate calls.
 */
static void check_providers(void)
{
    for (int i = 0; i < T.nprovs; i++) {
        struct prov *p = T.provs[i];
        long live;

        if (p->mc >= 0)
            continue;
        plock();
        live = p->nlive;
        punlock();
        if (live)
            fail("%s: %ld mappings still live after the operation", p->name, live);
    }
    for (int k = 0; k < 2; k++) {
        gm_mapcache_stats st;
        long live = 0;
        uint64_t bytes = 0, slack;
        bool settled = true;

        for (int i = 0; i < T.nprovs && settled; i++)
            if (T.provs[i]->mc == k && T.provs[i]->released &&
                !__atomic_load_n(&T.provs[i]->destroyed, __ATOMIC_ACQUIRE))
                settled = false;
        if (!settled)
            continue;
        plock();
        for (int i = 0; i < T.nprovs; i++) {
            if (T.provs[i]->mc == k) {
                live += T.provs[i]->nlive;
                bytes += T.provs[i]->live_bytes;
            }
        }
        punlock();
        gm_mapcache_get_stats(T.mc[k], &st);
        if ((uint64_t)live != st.maps - st.unmaps || bytes != st.bytes_mapped)
            fail("mapping cache %d: providers have %ld mappings, %" PRIu64 " bytes; stats say "
                 "%" PRIu64 " maps - %" PRIu64 " unmaps, %" PRIu64 " bytes", k, live, bytes,
                 st.maps, st.unmaps, st.bytes_mapped);
        slack = (2 + 16) * (uint64_t)T.mccfg[k].batch_pages * PAGE;
        if (st.bytes_mapped > T.mccfg[k].budget_bytes + slack)
            fail("mapping cache %d: %" PRIu64 " bytes mapped, budget %" PRIu64, k,
                 st.bytes_mapped, T.mccfg[k].budget_bytes);
    }
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        struct iommu *io = T.s[i].io;
        gm_iommu_stats st;

        if (!T.m.cur[i].exists || !io)
            continue;
        gm_iommu_get_stats(T.s[i].mr, &st);
        if (st.misses != io->misses || st.faults != io->faults)
            fail("%s: IOTLB stats say %" PRIu64 " misses, %" PRIu64 " faults; translate was "
                 "called %lu times, %lu without access", io->name, st.misses, st.faults,
                 io->misses, io->faults);
    }
    if (__atomic_load_n(&T.log_errors, __ATOMIC_RELAXED))
        fail("the library logged %lu errors (GM_LOG_ERROR)", T.log_errors);
}

static void op_transaction(void)
{
    int steps = 2 + (int)rn(12);

    T.stats[ST_TXN]++;
    opdesc("transaction_begin");
    gm_transaction_begin(T.sys);
    T.depth = 1;
    for (int k = 0; k < steps; k++) {
        unsigned int r = rn(100);

        if (r < 55) {
            op_topology(true);
        } else if (r < 78) {
            op_access();
        } else if (r < 83) {
            op_lookup();
        } else if (r < 86) {
            op_sections();
        } else if (r < 88) {
            op_map();
        } else if (r < 90) {
            if (chance(50))
                op_grant();
            else
                op_iommu_change();
        } else if (r < 94 && T.depth < 4) {
            opdesc("transaction_begin (nested, depth %d)", T.depth + 1);
            gm_transaction_begin(T.sys);
            T.depth++;
        } else if (T.depth > 1) {
            opdesc("transaction_commit (nested, depth %d)", T.depth);
            gm_transaction_commit(T.sys);
            T.depth--;
        }
        check_reg_writes();
    }
    while (T.depth > 0) {
        opdesc("transaction_commit (depth %d)", T.depth);
        T.depth--;
        gm_transaction_commit(T.sys);
    }
    model_commit();
    if (chance(30))
        op_sections();
}

/* Replace an unused region (unmapped, childless, not an alias target) by a new one. */
static void op_recreate(void)
{
    int s;
    enum rm_kind k;

    T.stats[ST_RECREATE]++;
    for (int tries = 0; tries < 10; tries++) {
        s = pick_slot_where(pred_unmapped);
        if (s == RM_NONE || rm_has_children(&T.m, s) || rm_is_alias_target(&T.m, s))
            continue;
        k = pick_kind(true);
        opdesc("recreate %s as a new %s", T.names[s], kind_name[k]);
        gm_region_unref(T.s[s].mr);
        if (T.s[s].prov && T.s[s].prov->mc >= 0 && skipping("mc-destroy-race"))
            gm_system_drain(T.sys);
        slot_release(s);
        rm_drop_region(&T.m, s);
        slot_create(s, k, 0);
        model_commit();
        return;
    }
}

/* Compare the whole content of every RAM and device region with the model. */
static void op_memcheck(void)
{
    T.stats[ST_MEMCHECK]++;
    opdesc("memcheck");
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        struct rm_region *r = &T.m.r[i];
        struct slot *sl = &T.s[i];
        const uint8_t *p = NULL;

        if (!T.m.cur[i].exists)
            continue;
        switch (r->kind) {
        case RM_RAM: case RM_ROM: case RM_RAMD: case RM_ROMD: {
            uint64_t k = rn(r->alloc), off = ~0ull;
            gm_region *found;

            p = gm_region_get_ram_ptr(sl->mr);
            if (!p || (sl->host && p != sl->host))
                fail("gm_region_get_ram_ptr(%s) = %p (host %p)", sl->name, (void *)p, sl->host);
            found = gm_region_from_host(T.sys, p + k, &off);
            if (found != sl->mr || off != k)
                fail("gm_region_from_host(%s + 0x%" PRIx64 ") = %s + 0x%" PRIx64, sl->name, k,
                     mr_name(found), off);
            gm_region_unref(found);
            break;
        }
        case RM_MOD:
            if (gm_region_get_ram_ptr(sl->mr) != NULL)
                fail("gm_region_get_ram_ptr(%s) is not NULL", sl->name);
            p = sl->prov->view;
            break;
        case RM_IO:
            if (r->flavor == RM_IO_REG) {
                if (sl->dev->reg_writes != r->reg_writes)
                    fail("%s: device saw %" PRIu64 " bytes written, model %" PRIu64, sl->name,
                         sl->dev->reg_writes, r->reg_writes);
            } else {
                p = sl->dev->mem;
            }
            break;
        default:
            if (gm_region_get_ram_ptr(sl->mr) != NULL)
                fail("gm_region_get_ram_ptr(%s) is not NULL", sl->name);
            break;
        }
        if (p && memcmp(p, r->bytes, r->alloc) != 0) {
            uint64_t j = 0;

            while (p[j] == r->bytes[j])
                j++;
            fail("content of %s differs at offset 0x%" PRIx64 ": 0x%02x, model 0x%02x",
                 sl->name, j, p[j], r->bytes[j]);
        }
        if (sl->memfd >= 0) {
            uint8_t buf[256];
            uint64_t off = rn(r->alloc), l = r->alloc - off < 256 ? r->alloc - off : 256;

            if (pread(sl->memfd, buf, l, (off_t)off) != (ssize_t)l ||
                memcmp(buf, r->bytes + off, l) != 0)
                fail("memfd of %s differs from the model at 0x%" PRIx64, sl->name, off);
        }
    }
}

/* Region getters against the current topology. */
static void check_getters(void)
{
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        const struct rm_topo *t = &T.m.cur[i];
        gm_region *mr = T.s[i].mr;
        gm_region *parent = t->parent == RM_NONE ? NULL : T.s[t->parent].mr;
        gm_region *target = T.m.r[i].target == RM_NONE ? NULL : T.s[T.m.r[i].target].mr;

        if (!t->exists)
            continue;
        if (model_size(gm_region_size(mr)) != t->size || gm_region_container(mr) != parent ||
            gm_region_is_enabled(mr) != t->enabled || gm_region_alias_target(mr) != target ||
            (parent && (gm_region_address(mr) != t->addr || gm_region_priority(mr) != t->prio)))
            fail("getters of %s: size 0x%" PRIx64 " container %s enabled %d target %s addr "
                 "0x%" PRIx64 " prio %d", T.names[i], gm_region_size(mr),
                 mr_name(gm_region_container(mr)), gm_region_is_enabled(mr),
                 mr_name(gm_region_alias_target(mr)), gm_region_address(mr),
                 gm_region_priority(mr));
        if (gm_region_is_ram(mr) != (T.m.r[i].kind == RM_RAM || T.m.r[i].kind == RM_ROM ||
                                     T.m.r[i].kind == RM_RAMD))
            fail("gm_region_is_ram(%s) = %d", T.names[i], gm_region_is_ram(mr));
        if (strcmp(gm_region_name(mr), T.names[i]) != 0)
            fail("gm_region_name(%s) = %s", T.names[i], gm_region_name(mr));
    }
}

/* ---- epochs ------------------------------------------------------------ */

static void check_constructor_errors(void)
{
    opdesc("constructor errors");
    errno = 0;
    if (gm_region_new_ram(T.sys, "bad", 0) != NULL || errno != EINVAL)
        fail("gm_region_new_ram(size 0): want NULL/EINVAL, errno %d", errno);
    errno = 0;
    if (gm_region_new_ram(T.sys, "bad", GM_SIZE_2_64) != NULL || errno != EINVAL)
        fail("gm_region_new_ram(2^64): want NULL/EINVAL, errno %d", errno);
    errno = 0;
    if (gm_region_new_alias(T.sys, "bad", NULL, 0, 1) != NULL || errno != EINVAL)
        fail("gm_region_new_alias(NULL target): want NULL/EINVAL, errno %d", errno);
}

/*
 * Make "dev" show exactly one alias, at 0, of a whole region: the shape for
 * which QEMU renders the alias's target directly as the flat-view root
 * (memory_region_get_flatview_root). The target keeps its own place in
 * "sys", so its address must not leak into "dev".
 */
static void seed_root_alias(void)
{
    int x = RM_NONE, target;

    for (int i = 2; i < RM_MAX_REGIONS && x == RM_NONE; i++)
        if (T.m.cur[i].exists && kind_of(i) == RM_ALIAS && !rm_reaches(&T.m, i, SLOT_DEV) &&
            !rm_has_children(&T.m, i))
            x = i;
    if (x == RM_NONE)
        return;
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        if (T.m.cur[i].exists && (T.m.cur[i].parent == SLOT_DEV ||
                                  (i == x && T.m.cur[i].parent != RM_NONE))) {
            opdesc("del %s from %s", T.names[i], T.names[T.m.cur[i].parent]);
            CHECK(gm_region_del_subregion(T.s[T.m.cur[i].parent].mr, T.s[i].mr) == 0, "del");
            rm_del_sub(&T.m, i);
        }
    }
    target = T.m.r[x].target;
    opdesc("alias %s: whole %s at 0 of dev", T.names[x], T.names[target]);
    CHECK(gm_region_set_alias_offset(T.s[x].mr, 0) == 0, "set_alias_offset");
    rm_set_alias_offset(&T.m, x, 0);
    CHECK(gm_region_set_size(T.s[x].mr, api_size(T.m.cur[target].size)) == 0, "set_size");
    rm_set_size(&T.m, x, T.m.cur[target].size);
    gm_region_set_enabled(T.s[x].mr, true);
    rm_set_enabled(&T.m, x, true);
    apply_add(SLOT_DEV, x);
    gm_region_set_address(T.s[x].mr, 0);
    rm_set_address(&T.m, x, 0);
}

/*
 * Cover part of a mapped RAM region with a read-only alias of itself, in
 * place: two adjacent flat ranges of one region with contiguous offsets
 * that differ only in read-only (they must not merge, and a writable direct
 * map must not extend into the read-only one).
 */
static void seed_ro_overlay(void)
{
    int r = RM_NONE, x = RM_NONE, prio;
    uint64_t size, off, len;

    for (int i = 2; i < RM_MAX_REGIONS; i++) {
        if (!T.m.cur[i].exists && x == RM_NONE)
            x = i;
        if (T.m.cur[i].exists && attached(i) && T.m.cur[i].size < RM_2_64 &&
            (kind_of(i) == RM_RAM || kind_of(i) == RM_MOD || kind_of(i) == RM_IOMMU) &&
            (r == RM_NONE || chance(30)))
            r = i;
    }
    if (r == RM_NONE || x == RM_NONE)
        return;
    size = (uint64_t)T.m.cur[r].size;
    off = rn(size);
    len = 1 + rn(size - off);
    slot_create_at(x, RM_ALIAS, 0, r);
    CHECK(gm_region_set_alias_offset(T.s[x].mr, off) == 0 &&
          gm_region_set_size(T.s[x].mr, len) == 0, "alias setup");
    rm_set_alias_offset(&T.m, x, off);
    rm_set_size(&T.m, x, len);
    gm_region_set_readonly(T.s[x].mr, true);
    rm_set_readonly(&T.m, x, true);
    prio = T.m.cur[r].prio == INT_MAX ? INT_MAX : T.m.cur[r].prio + 1;
    opdesc("read-only alias %s of %s+0x%" PRIx64 " in place", T.names[x], T.names[r], off);
    CHECK(gm_region_add_subregion_overlap(T.s[T.m.cur[r].parent].mr, T.m.cur[r].addr + off,
                                          T.s[x].mr, prio) == 0, "add");
    rm_add_sub(&T.m, T.m.cur[r].parent, x, T.m.cur[r].addr + off, prio);
}

/* Where IOMMU @i shows in address space @a: an address and its offset there. */
static bool iommu_visible(int i, int a, uint64_t *addr, uint64_t *off)
{
    ensure_points(a);
    for (int k = 0; k < T.npoints[a]; k++) {
        struct rm_hit h;

        rm_resolve(&T.m, a, T.points[a][k], &h);
        if (h.leaf == i && h.off < ((rm_u128)T.s[i].io->npages << T.s[i].io->shift)) {
            *addr = T.points[a][k];
            *off = h.off;
            return true;
        }
    }
    return false;
}

/*
 * Make an IOMMU translate one of its pages onto itself: an endless loop
 * that the nesting limit must stop. Moves the IOMMU so that its pages are
 * aligned in the address space, then points the page at itself.
 */
static void seed_iommu_loop(void)
{
    int i = pick_slot_where(pred_iommu), a;
    uint64_t p, off, pmask, delta;
    struct iommu *io;

    if (i == RM_NONE || is_root(i) || T.m.cur[i].parent == RM_NONE || !attached(i))
        return;
    io = T.s[i].io;
    pmask = (1ull << io->shift) - 1;
    a = chance(50) ? 0 : 1;
    if (!iommu_visible(i, a, &p, &off) && !iommu_visible(i, a = !a, &p, &off))
        return;
    delta = (pmask + 1 - ((p - off) & pmask)) & pmask;
    if (delta) {
        opdesc("set_address %s 0x%" PRIx64 " (align its pages)", T.names[i],
               T.m.cur[i].addr + delta);
        gm_region_set_address(T.s[i].mr, T.m.cur[i].addr + delta);
        rm_set_address(&T.m, i, T.m.cur[i].addr + delta);
        model_commit();
        if (!iommu_visible(i, a, &p, &off) || ((p - off) & pmask))
            return;
    }
    opdesc("%s page %" PRIu64 " translates to itself (%s 0x%" PRIx64 ")", T.names[i],
           off >> io->shift, as_name[a], p - (off & pmask));
    iommu_set_pte(i, off >> io->shift, a, p - (off & pmask), GM_IOMMU_RW);
    iommu_notify(i, GM_IOMMU_UNMAP, off & ~pmask, pmask);
}

static void epoch_start(void)
{
    int n = 12 + (int)rn(RM_MAX_REGIONS - 12 + 1), order[RM_MAX_REGIONS];

    T.stats[ST_EPOCH]++;
    opdesc("epoch start: %d regions", n);
    rm_init(&T.m);
    T.sys = gm_system_new(0);
    CHECK(T.sys != NULL, "gm_system_new");
    gm_system_set_log(T.sys, log_sink, NULL, false);
    T.generation = gm_system_generation(T.sys);
    for (int k = 0; k < 2; k++) {
        static const unsigned int batch[] = { 1, 4, 16 };

        /* a small budget, so that entries get evicted */
        T.mccfg[k].batch_pages = batch[rn(3)];
        if (skipping("mc-batch"))
            T.mccfg[k].batch_pages = 1;
        T.mccfg[k].budget_bytes = (T.mccfg[k].batch_pages + rn(24)) * PAGE;
        T.mccfg[k].deferred_unmap = chance(50);
        T.mc[k] = gm_mapcache_new(&T.mccfg[k]);
        CHECK(T.mc[k] != NULL, "gm_mapcache_new");
    }
    if (chance(15))
        slot_create(SLOT_SYS, RM_IO, RM_2_64);
    else
        slot_create(SLOT_SYS, RM_CONTAINER, RM_2_64);
    /* "dev" is sometimes a device's DMA space: an IOMMU at its root */
    {
        enum rm_kind k = chance(15) ? RM_IOMMU : RM_CONTAINER;

        slot_create(SLOT_DEV, k, 0x1000 + rn(0x100000));
    }
    for (int i = 2; i < n; i++)
        slot_create(i, pick_kind(i > 4), 0);
    T.as[0] = gm_as_new(T.sys, T.s[SLOT_SYS].mr, "sys");
    T.as[1] = gm_as_new(T.sys, T.s[SLOT_DEV].mr, "dev");
    CHECK(T.as[0] && T.as[1], "gm_as_new");
    check_constructor_errors();
    model_commit();

    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rn(i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }
    gm_transaction_begin(T.sys);
    T.depth = 1;
    for (int i = 0; i < 2 * n; i++) {
        int s = order[i % n], c;

        /* containers first, so that most regions end up attached */
        if (is_root(s) || chance(10) || (i < n) != (kind_of(s) == RM_CONTAINER))
            continue;
        c = pick_container_for(s);
        if (c == RM_NONE)
            continue;
        apply_add(c, s);
        if (chance(8)) {
            gm_region_set_enabled(T.s[s].mr, false);
            rm_set_enabled(&T.m, s, false);
        }
    }
    if (chance(25) && !skipping("root-alias"))
        seed_root_alias();
    for (int k = (int)rn(4); k > 0; k--)
        seed_ro_overlay();
    T.depth = 0;
    gm_transaction_commit(T.sys);
    model_commit();
    opdesc("epoch start: commit, then walk both flat views");
    check_sections(0);
    check_sections(1);
    /* Translations made before the trees existed aimed blindly: aim again. */
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        if (!T.m.cur[i].exists || kind_of(i) != RM_IOMMU)
            continue;
        opdesc("new page table for %s", T.names[i]);
        for (uint64_t k = 0; k < T.s[i].io->npages; k++)
            if (chance(60))
                iommu_randomize(i, k);
        gm_iommu_invalidate_all(T.s[i].mr);
    }
    if (chance(60))
        seed_iommu_loop();
}

static void epoch_end(void)
{
    opdesc("epoch end");
    op_memcheck();
    check_getters();
    check_sections(0);
    check_sections(1);
    gm_as_free(T.as[0]);
    gm_as_free(T.as[1]);
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (T.m.cur[i].exists)
            gm_region_unref(T.s[i].mr);
    gm_system_free(T.sys);
    T.sys = NULL;
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        slot_release(i);
    for (int k = 0; k < 2; k++) {
        gm_mapcache_free(T.mc[k]);
        T.mc[k] = NULL;
    }
    /* Every mapping unmapped, every provider destroyed exactly once. */
    for (int i = 0; i < T.nprovs; i++) {
        struct prov *p = T.provs[i];
        bool has_destroy = p->mc >= 0 || p->ops.destroy;

        if (p->nlive)
            fail("%s: %ld mappings live after gm_system_free", p->name, p->nlive);
        if (has_destroy && p->destroyed != 1)
            fail("%s: destroy called %d times", p->name, p->destroyed);
        munmap(p->view, p->npages * PAGE);
        close(p->fd);
        free(p);
    }
    T.nprovs = 0;
    for (int i = 0; i < T.niommus; i++) {
        free(T.iommus[i]->pte);
        free(T.iommus[i]);
    }
    T.niommus = 0;
    if (__atomic_load_n(&T.log_errors, __ATOMIC_RELAXED))
        fail("the library logged %lu errors (GM_LOG_ERROR)", T.log_errors);
    while (T.ngraves)
        free(T.graveyard[--T.ngraves]);
    rm_free(&T.m);
    T.npoints[0] = T.npoints[1] = -1;
}

static void step(void)
{
    unsigned int r = rn(1000);

    if (r < 400) {
        op_access();
    } else if (r < 445) {
        op_lookup();
    } else if (r < 460) {
        op_sections();
    } else if (r < 500) {
        op_map();
    } else if (r < 535) {
        op_cache();
    } else if (r < 560) {
        op_grant();
    } else if (r < 572) {
        op_mc_invalidate();
    } else if (r < 575) {
        op_mc_flush();
    } else if (r < 600) {
        op_iommu_change();
    } else if (r < 610) {
        op_iommu_translate();
    } else if (r < 820) {
        op_topology(false);
        model_commit();
    } else if (r < 845) {
        op_topology_error();
    } else if (r < 965) {
        op_transaction();
    } else if (r < 980) {
        op_recreate();
    } else if (r < 990) {
        op_memcheck();
    } else {
        opdesc("getters");
        check_getters();
    }
    check_reg_writes();
    check_providers();
}

static uint64_t arg_or_env(int argc, char **argv, int idx, const char *env, uint64_t dflt)
{
    const char *s = argc > idx ? argv[idx] : getenv(env);

    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    uint64_t epoch_end_op = 0;

    T.seed = arg_or_env(argc, argv, 1, "GM_SEED", (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16);
    T.nops = arg_or_env(argc, argv, 2, "GM_OPS", DEFAULT_OPS);
    T.trace = getenv("GM_MODEL_TRACE") != NULL;
    T.skip = getenv("GM_MODEL_SKIP");
    T.rng = T.seed;
    T.npoints[0] = T.npoints[1] = -1;
    pthread_mutex_init(&T.plock, NULL);
    printf("test_model: seed=%" PRIu64 " ops=%" PRIu64 "\n", T.seed, T.nops);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    while (T.opno < T.nops) {
        if (!T.sys || T.opno >= epoch_end_op) {
            if (T.sys)
                epoch_end();
            epoch_start();
            epoch_end_op = T.opno + EPOCH_OPS / 2 + rn(EPOCH_OPS);
        }
        step();
    }
    epoch_end();
    free(T.secs.v);
    free(T.provs);
    free(T.iommus);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("ok - %" PRIu64 " operations in %.1f s: %lu accesses, %lu lookups, %lu flat-view "
           "walks, %lu maps, %lu caches, %lu topology changes, %lu error checks, "
           "%lu transactions, %lu recreations, %lu memchecks, %lu epochs\n",
           T.opno, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           T.stats[ST_ACCESS], T.stats[ST_LOOKUP], T.stats[ST_SECTIONS], T.stats[ST_MAP],
           T.stats[ST_CACHE], T.stats[ST_TOPO], T.stats[ST_TOPO_ERR], T.stats[ST_TXN],
           T.stats[ST_RECREATE], T.stats[ST_MEMCHECK], T.stats[ST_EPOCH]);
    printf("accesses starting in: unassigned %lu", T.hits[RM_ALIAS + 1]);
    for (int k = RM_RAM; k < RM_ALIAS; k++)
        printf(", %s %lu", kind_name[k], T.hits[k]);
    printf("\n");
    printf("through IOMMUs: %lu accesses (%lu nested, %lu stopped by the nesting limit), "
           "%lu reaching map-on-demand memory; %lu grant changes, %lu mapping-cache "
           "invalidations/flushes, %lu page-table changes, %lu translate calls, %lu accesses "
           "with stale pages; maps and caches: %lu through IOMMUs, %lu of map-on-demand "
           "memory, %lu revoked while held\n",
           T.stats[ST_X1], T.stats[ST_X2], T.stats[ST_XLIMIT], T.stats[ST_MODACC],
           T.stats[ST_GRANT], T.stats[ST_INVAL], T.stats[ST_IOMMU], T.stats[ST_XLATE],
           T.stats[ST_UNC], T.stats[ST_MAPX], T.stats[ST_MAPMOD], T.stats[ST_MIDREVOKE]);
    return 0;
}
