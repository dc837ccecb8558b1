/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the emulated grant table as a hostile granter sees it.
 *
 * Two parties share two memfds, as in a vhost-user deployment with
 * emulated grants: the guest's RAM (16 frames) and the grant table (16
 * entries). The granter creates the table; the backend attaches to it
 * (gm_gnttab_emu_attach, as src/vhost does with the front-end's fd) and
 * reaches grants through a grant region of 1024 references (more than the
 * table has) in an address space, served by the mapping cache. The input
 * interleaves what each side does:
 *
 *   granter: grant and end access through the API, raw stores into any
 *            entry field, into the table header (before and after the
 *            backend attached), into the backend's active counts (all in
 *            the shared memfd), data writes into its frames;
 *   backend: reads and writes within a grant page or across pages, maps and
 *            caches held across operations, mapping-cache invalidations and
 *            flushes.
 *
 * The backend side is checked against a shadow of the mapping cache's
 * entries (struct shadow): which mappings exist, which a lookup can hit,
 * which are pinned, and the frame each one shows. Where the shadow cannot
 * know (an access spanning pages, evictions under a budget) it stops
 * judging that page until the next invalidation or flush.
 *
 * Checked, besides "no crash, no sanitizer report":
 * - a backend access is GM_OK or GM_ACCESS_ERROR (refused reads give zeros);
 * - attach accepts a header exactly when its magic, entry count and guest
 *   frames fit the two memfds, and the backend keeps what it read then:
 *   nothing outside the table's entries or the guest's frames is ever
 *   served, and header stores after attach change nothing at all;
 * - a fresh mapping is made only of an entry that allows it (permit,
 *   grantee, read-only, in range); a cache hit only reuses a mapping the
 *   backend made and did not invalidate since, and never serves a write from
 *   a read-only mapping; what is read is the granted frame's current content
 *   and what is written lands in it;
 * - while the backend holds a grant (a pinned map or cache, or a cached
 *   mapping when nothing is evicted), end of access is refused, unless the
 *   granter tampered with that entry's in-use flags or active count;
 * - at the end, with everything released and the cache flushed, the mapping
 *   cache's counters balance and untampered entries are no longer in use.
 *
 * Input: byte 0 configures the mapping cache and an optional header store
 * made before the backend attaches; then 5-byte operations.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#define PAGE 4096u
#define NFRAMES 16u            /* guest RAM frames */
#define NENT 16u               /* table entries */
#define NREFS 1024u            /* references the grant region covers */
#define NTRACK 24u             /* references the shadow tracks (NENT and beyond) */
#define TABLE_HDR 64u          /* bytes before the entries in the table memfd */
#define BACKEND 7
#define GUEST 3
#define MAX_HELD 4
#define MAX_SHADOW 32          /* 2 per tracked reference, plus the pinned ones */
#define OP 5u

#define FUZZ_ASSERT(c) ((c) ? (void)0 : abort())

/*
 * The shadow of one mapping-cache entry (one grant page, batch 1): what
 * the backend holds, as the cache's contract says it must behave. A lookup
 * can hit only a "hashed" entry with its key (ref, writable); a read tries
 * the read-only key first, then the writable one. An invalidation unhashes
 * an entry (it stays mapped while pinned); a flush unmaps unpinned ones;
 * with a budget, unpinned entries may also go at any time.
 */
typedef struct shadow {
    bool used;
    uint32_t ref;
    bool writable;
    bool hashed;
    unsigned int pins;         /* held maps and caches on it */
    uint32_t frame;
} shadow;

typedef struct held_map {
    uint8_t *p;
    uint64_t len;
    uint32_t ref;
    uint32_t off;
    bool is_write;
    shadow *e;                 /* NULL: not known (a reference touched by a wide access) */
} held_map;

typedef struct held_cache {
    gm_cache c;
    bool live;
    uint32_t ref;
    shadow *e;
} held_cache;

typedef struct fz {
    int guest_fd;
    uint8_t *guest;            /* the granter's view of its RAM */
    gm_gnttab_emu *granter, *backend;
    uint8_t *table;            /* the granter's view of the table memfd */
    size_t table_len;
    gm_mapcache *mc;
    bool evicts;               /* a budget: cached mappings may go silently */
    uint64_t evictions;        /* the cache's eviction count, last seen */
    gm_system *sys;
    gm_region *root, *grants;
    gm_as *as;
    shadow sh[MAX_SHADOW];
    bool tampered[NTRACK];     /* in-use flags or active count stored raw */
    bool unknown[NTRACK];      /* touched by a wide access: mappings not tracked */
    bool header_tampered;      /* the entry count changed before attach: the
                                  backend's active counts are elsewhere */
    uint16_t backend_domid;    /* the header's, as the backend attached */
    uint32_t backend_frames;   /* the header's guest frames, likewise */
    uint32_t backend_nr;       /* and its entry count */
    held_map maps[MAX_HELD];
    held_cache caches[2];
    uint8_t data[3 * PAGE];
} fz;

static void bug(const char *what, uint32_t ref)
{
    fprintf(stderr, "fuzz_gnttab: %s (ref %u)\n", what, ref);
    abort();
}

static void quiet(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static gm_grant_entry_v1 *entry(fz *f, uint32_t ref)
{
    return (gm_grant_entry_v1 *)(f->table + TABLE_HDR) + ref;
}

static uint32_t *active(fz *f, uint32_t ref)
{
    return (uint32_t *)(f->table + TABLE_HDR + NENT * sizeof(gm_grant_entry_v1)) + ref;
}

/* Would a correct backend map @ref for @is_write now? The bounds and the
 * domid are the ones it attached with, whatever the header says now. */
static bool mappable(fz *f, uint32_t ref, bool is_write)
{
    gm_grant_entry_v1 e;

    if (ref >= f->backend_nr)
        return false;
    memcpy(&e, entry(f, ref), sizeof(e));
    return (e.flags & GM_GTF_TYPE_MASK) == GM_GTF_PERMIT_ACCESS &&
           !(is_write && (e.flags & GM_GTF_READONLY)) && e.domid == f->backend_domid &&
           e.frame < f->backend_frames;
}

static uint64_t maps_done(fz *f)
{
    gm_mapcache_stats st;

    gm_mapcache_get_stats(f->mc, &st);
    return st.maps;
}

static gm_addr dma(uint32_t ref, uint32_t off)
{
    return GM_GRANT_DMA_BASE + ((gm_addr)ref << 12) + off;
}

static uint32_t ref_arg(uint8_t a)
{
    return a < 0xe0 ? a % NTRACK : NTRACK + (uint32_t)(a * 37u) % (NREFS - NTRACK);
}

/* ---- setup ------------------------------------------------------------ */

static void setup_memory(fz *f, uint8_t pre_off, uint8_t pre_val)
{
    f->guest_fd = memfd_create("fuzz-gnttab-guest", MFD_CLOEXEC);
    FUZZ_ASSERT(f->guest_fd >= 0 && ftruncate(f->guest_fd, NFRAMES * PAGE) == 0);
    f->guest = mmap(NULL, NFRAMES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f->guest_fd, 0);
    FUZZ_ASSERT(f->guest != MAP_FAILED);
    for (uint32_t i = 0; i < NFRAMES * PAGE; i++)
        f->guest[i] = (uint8_t)(i / PAGE * 16 + i % 251);
    f->granter = gm_gnttab_emu_create(NENT, f->guest_fd, NFRAMES * PAGE, BACKEND);
    FUZZ_ASSERT(f->granter);
    f->table_len = TABLE_HDR + NENT * (sizeof(gm_grant_entry_v1) + sizeof(uint32_t));
    f->table = mmap(NULL, f->table_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                    gm_gnttab_emu_fd(f->granter), 0);
    FUZZ_ASSERT(f->table != MAP_FAILED);
    if (pre_off < TABLE_HDR) {
        /* A store before the backend attaches: attach must validate. */
        uint32_t nr;

        f->table[pre_off] = pre_val;
        memcpy(&nr, f->table + 8, sizeof(nr));
        f->header_tampered = nr != NENT;
    }
    memcpy(&f->backend_domid, f->table + 12, sizeof(f->backend_domid));
    f->backend = gm_gnttab_emu_attach(gm_gnttab_emu_fd(f->granter), f->guest_fd);
}

/* Must attach accept the header as the granter left it? */
static bool header_valid(fz *f)
{
    uint64_t magic, frames;
    uint32_t nr;

    memcpy(&magic, f->table, sizeof(magic));
    memcpy(&nr, f->table + 8, sizeof(nr));
    memcpy(&frames, f->table + 16, sizeof(frames));
    f->backend_frames = (uint32_t)frames;
    f->backend_nr = nr;
    return magic == 0x42415454544e4d47ull && nr && nr <= NENT && frames && frames <= NFRAMES;
}

static void setup_backend(fz *f, uint8_t cfg)
{
    gm_mapcache_config mc_cfg = { (cfg & 1) ? 2 * PAGE : 0, 1, (cfg & 2) != 0 };
    gm_grant_provider p = gm_gnttab_emu_provider_owning(f->backend);

    f->evicts = cfg & 1;
    f->mc = gm_mapcache_new(&mc_cfg);
    f->sys = gm_system_new(0);
    FUZZ_ASSERT(f->mc && f->sys);
    gm_system_set_log(f->sys, quiet, NULL, false);
    f->root = gm_region_new_container(f->sys, "dma", GM_SIZE_2_64);
    f->grants = gm_grant_region_new(f->mc, f->sys, "grants", &p, GUEST, NREFS);
    FUZZ_ASSERT(f->root && f->grants);
    FUZZ_ASSERT(gm_region_add_subregion(f->root, GM_GRANT_DMA_BASE, f->grants) == 0);
    f->as = gm_as_new(f->sys, f->root, "dma");
    FUZZ_ASSERT(f->as);
}

/* ---- the backend's accesses ------------------------------------------- */

/* ---- the shadow of the mapping cache ---------------------------------- */

static shadow *shadow_hashed(fz *f, uint32_t ref, bool writable)
{
    for (int i = 0; i < MAX_SHADOW; i++) {
        shadow *e = &f->sh[i];

        if (e->used && e->hashed && e->ref == ref && e->writable == writable)
            return e;
    }
    return NULL;
}

static void shadow_drop_if_unused(shadow *e)
{
    if (e && !e->hashed && !e->pins)
        *e = (shadow){ 0 };
}

/* A fresh mapping of @ref: it replaces any entry with its key. */
static shadow *shadow_new(fz *f, uint32_t ref, bool writable)
{
    shadow *old = shadow_hashed(f, ref, writable);

    if (old) {
        old->hashed = false;   /* evicted meanwhile: the cache mapped again */
        shadow_drop_if_unused(old);
    }
    for (int i = 0; i < MAX_SHADOW; i++) {
        if (!f->sh[i].used) {
            f->sh[i] = (shadow){ true, ref, writable, true, 0, entry(f, ref)->frame };
            return &f->sh[i];
        }
    }
    abort();   /* more than MAX_SHADOW live entries: MAX_SHADOW is too small */
}

/*
 * The entry a successful single-page access of @ref used (fresh: the
 * provider mapped during the access), or NULL when the shadow cannot know
 * (the reference was touched by a wide access). @buf/@off/@len: what a
 * read returned, to tell a read-only entry from a writable one.
 */
static shadow *entry_used(fz *f, uint32_t ref, bool is_write, bool fresh, const uint8_t *buf,
                          uint32_t off, uint32_t len)
{
    shadow *e;

    if (ref >= f->backend_nr)
        bug("a reference beyond the table was served", ref);
    if (fresh) {
        if (!mappable(f, ref, is_write))
            bug("mapped an entry that does not allow it", ref);
        return shadow_new(f, ref, is_write);
    }
    if (f->unknown[ref])
        return NULL;
    /* The cache's lookup order: a read tries the read-only key first. */
    e = is_write ? shadow_hashed(f, ref, true) : shadow_hashed(f, ref, false);
    if (!e && !is_write)
        e = shadow_hashed(f, ref, true);
    if (!e)
        bug("an access reused a mapping the backend does not have", ref);
    if (!is_write && memcmp(f->guest + e->frame * PAGE + off, buf, len) != 0)
        bug("a read through a cached mapping did not read its frame", ref);
    return e;
}

/* With a budget, unpinned entries may have been evicted: which ones, the
 * shadow cannot tell, so it forgets them and stops judging their pages
 * until the next invalidation or flush. */
static void note_evictions(fz *f)
{
    gm_mapcache_stats st;

    gm_mapcache_get_stats(f->mc, &st);
    if (st.evictions == f->evictions)
        return;
    f->evictions = st.evictions;
    for (int i = 0; i < MAX_SHADOW; i++) {
        if (f->sh[i].used && !f->sh[i].pins) {
            if (f->sh[i].ref < NTRACK)
                f->unknown[f->sh[i].ref] = true;
            f->sh[i] = (shadow){ 0 };
        }
    }
}

static void check_refused(fz *f, uint32_t ref, bool is_write, const uint8_t *buf, uint32_t len)
{
    if (mappable(f, ref, is_write))
        bug("a valid grant was refused", ref);
    for (uint32_t i = 0; !is_write && i < len; i++) {
        if (buf[i])
            bug("a refused read did not read zeros", ref);
    }
}

static void op_access(fz *f, const uint8_t *a, bool is_write)
{
    uint32_t ref = ref_arg(a[1]), off = (uint32_t)(a[2] | a[3] << 8) % PAGE;
    uint32_t len = 1 + (uint32_t)a[4] * 17u % (PAGE - off);
    uint64_t before = maps_done(f);
    shadow *e;
    gm_result r;

    memset(f->data, is_write ? a[4] ^ 0xa5 : 0xcc, len);
    r = gm_as_rw(f->as, dma(ref, off), GM_ATTRS_UNSPECIFIED, f->data, len, is_write);
    if (r == GM_ACCESS_ERROR) {
        check_refused(f, ref, is_write, f->data, len);
        return;
    }
    if (r != GM_OK)
        bug("access result neither OK nor ACCESS_ERROR", ref);
    e = entry_used(f, ref, is_write, maps_done(f) > before, f->data, off, len);
    if (e && memcmp(f->guest + e->frame * PAGE + off, f->data, len) != 0)
        bug(is_write ? "written data is not in the granted frame"
                     : "read data is not the granted frame's", ref);
}

/* Several pages at once: only the result is checked. */
static void op_access_wide(fz *f, const uint8_t *a)
{
    uint32_t ref = ref_arg(a[1]), off = (uint32_t)(a[2] | a[3] << 8) % PAGE;
    uint32_t len = 1 + (uint32_t)(a[4] & 0x7f) * 96u;
    bool is_write = a[4] & 0x80;
    gm_result r;

    memset(f->data, 0x3c, len);
    r = gm_as_rw(f->as, dma(ref, off), GM_ATTRS_UNSPECIFIED, f->data, len, is_write);
    if (r != GM_OK && r != GM_ACCESS_ERROR)
        bug("wide access result neither OK nor ACCESS_ERROR", ref);
    if (r == GM_OK && ref + (off + len - 1) / PAGE >= f->backend_nr)
        bug("a wide access beyond the table was served", ref);
    for (uint32_t k = ref; k <= ref + (off + len - 1) / PAGE && k < NTRACK; k++)
        f->unknown[k] = true;
}

static void op_map(fz *f, const uint8_t *a)
{
    held_map *m = &f->maps[a[4] % MAX_HELD];
    uint32_t ref = ref_arg(a[1]), off = (uint32_t)(a[2] | a[3] << 8) % PAGE;
    bool is_write = a[4] & 0x80;
    uint64_t len = PAGE - off, before = maps_done(f);
    uint8_t *p;

    if (m->p)
        return;
    p = gm_as_map(f->as, dma(ref, off), &len, is_write, GM_ATTRS_UNSPECIFIED);
    if (!p) {
        check_refused(f, ref, is_write, NULL, 0);
        return;
    }
    if (len != PAGE - off)
        bug("a grant page was mapped short", ref);
    *m = (held_map){ p, len, ref, off, is_write,
                     entry_used(f, ref, is_write, maps_done(f) > before, p, off,
                                (uint32_t)len) };
    if (m->e)
        m->e->pins++;
    if (m->e && memcmp(f->guest + m->e->frame * PAGE + off, p, len) != 0)
        bug("a mapping does not show the granted frame", ref);
}

static void unmap_held(fz *f, held_map *m, uint8_t fill)
{
    uint64_t alen = m->is_write ? m->len - fill % m->len : 0;

    if (m->is_write) {
        memset(m->p, fill, alen);
        for (uint64_t i = 0; m->e && i < alen; i++) {
            if (f->guest[m->e->frame * PAGE + m->off + i] != fill)
                bug("a write through a held mapping missed the granted frame", m->ref);
        }
    }
    gm_as_unmap(f->as, m->p, m->len, m->is_write, alen);
    if (m->e) {
        m->e->pins--;
        shadow_drop_if_unused(m->e);
    }
    *m = (held_map){ 0 };
}

static void op_unmap(fz *f, const uint8_t *a)
{
    held_map *m = &f->maps[a[1] % MAX_HELD];

    if (m->p)
        unmap_held(f, m, a[2]);
}

static void op_cache(fz *f, const uint8_t *a)
{
    held_cache *hc = &f->caches[a[4] & 1];
    uint32_t ref = ref_arg(a[1]), off = (uint32_t)(a[2] | a[3] << 8) % PAGE;
    bool is_write = a[4] & 0x80;
    uint64_t before = maps_done(f);
    int64_t n;

    if (hc->live) {
        gm_cache_destroy(&hc->c);
        hc->live = false;
        if (hc->e) {
            hc->e->pins--;
            shadow_drop_if_unused(hc->e);
        }
        return;
    }
    hc->c = GM_CACHE_INIT;
    n = gm_cache_init(&hc->c, f->as, dma(ref, off), PAGE - off, is_write);
    if (n < 0) {
        gm_cache_destroy(&hc->c);
        check_refused(f, ref, is_write, NULL, 0);
        return;
    }
    if (ref >= f->backend_nr)
        bug("a cache beyond the table was made", ref);
    hc->live = true;
    hc->ref = ref;
    if (gm_cache_read(&hc->c, 0, f->data, (uint64_t)n) != GM_OK)
        bug("a cached grant cannot be read", ref);
    hc->e = entry_used(f, ref, is_write, maps_done(f) > before, f->data, off, (uint32_t)n);
    if (hc->e)
        hc->e->pins++;
    if (hc->e && memcmp(f->guest + hc->e->frame * PAGE + off, f->data, (size_t)n) != 0)
        bug("a cache does not show the granted frame", ref);
}

static void op_invalidate(fz *f, const uint8_t *a)
{
    uint32_t ref = ref_arg(a[1]), n = 1 + a[2] % 8;

    FUZZ_ASSERT(gm_mapcache_invalidate(f->mc, f->grants, (gm_addr)ref * PAGE,
                                       (gm_addr)n * PAGE) >= 0);
    for (int i = 0; i < MAX_SHADOW; i++) {
        if (f->sh[i].used && f->sh[i].ref >= ref && f->sh[i].ref - ref < n) {
            f->sh[i].hashed = false;
            shadow_drop_if_unused(&f->sh[i]);
        }
    }
    for (uint32_t r = ref; r < ref + n && r < NTRACK; r++)
        f->unknown[r] = false;
}

/* Is @ref held by a map or a cache whose entry the shadow does not know? */
static bool held_unknown(fz *f, uint32_t ref)
{
    for (int k = 0; k < MAX_HELD; k++) {
        if (f->maps[k].p && f->maps[k].ref == ref && !f->maps[k].e)
            return true;
    }
    for (int k = 0; k < 2; k++) {
        if (f->caches[k].live && f->caches[k].ref == ref && !f->caches[k].e)
            return true;
    }
    return false;
}

static void op_flush(fz *f)
{
    gm_mapcache_flush(f->mc);
    /* Unpinned entries are gone, pinned ones stay (and stay hashed). */
    for (int i = 0; i < MAX_SHADOW; i++) {
        if (f->sh[i].used && !f->sh[i].pins)
            f->sh[i] = (shadow){ 0 };
    }
    for (uint32_t r = 0; r < NTRACK; r++) {
        if (!held_unknown(f, r))
            f->unknown[r] = false;
    }
}

/* ---- the granter ---------------------------------------------------------- */

static bool backend_holds(fz *f, uint32_t ref)
{
    for (int k = 0; k < MAX_HELD; k++) {
        if (f->maps[k].p && f->maps[k].ref == ref)
            return true;
    }
    for (int k = 0; k < 2; k++) {
        if (f->caches[k].live && f->caches[k].ref == ref)
            return true;
    }
    return !f->evicts && (shadow_hashed(f, ref, false) || shadow_hashed(f, ref, true));
}

static void op_end_access(fz *f, const uint8_t *a)
{
    uint32_t ref = a[1] % (NENT + 4);
    int rc = gm_gnttab_emu_end_access(f->granter, ref);

    if (rc == 0 && ref < NTRACK && !f->tampered[ref] && !f->header_tampered &&
        backend_holds(f, ref))
        bug("end of access succeeded while the backend holds the grant", ref);
}

static void op_grant(fz *f, const uint8_t *a)
{
    gm_gnttab_emu_grant(f->granter, a[1] % (NENT + 4), (a[4] & 1) ? GUEST + 1 : BACKEND,
                        a[2] % (NFRAMES + 4), a[4] & 2);
}

static void poke16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void op_poke_entry(fz *f, const uint8_t *a)
{
    uint32_t ref = a[1] % NENT;
    uint16_t v = (uint16_t)(a[3] | a[4] << 8);
    gm_grant_entry_v1 *e = entry(f, ref);

    switch (a[2] % 4) {
    case 0:
        if ((e->flags ^ v) & (GM_GTF_READING | GM_GTF_WRITING))
            f->tampered[ref] = true;
        poke16(&e->flags, v);
        break;
    case 1:
        poke16(&e->domid, v);
        break;
    case 2:
        __atomic_store_n(&e->frame, v, __ATOMIC_RELEASE);
        break;
    default:
        __atomic_store_n(&e->frame, (uint32_t)v << 16 | a[3], __ATOMIC_RELEASE);
        break;
    }
}

static void op_poke_header(fz *f, const uint8_t *a)
{
    uint32_t off = a[1] % TABLE_HDR;
    uint32_t v = (uint32_t)a[2] | (uint32_t)a[3] << 8 | (uint32_t)a[4] << 24;

    /* After attach: the backend must not notice (no checks relaxed). */
    if (a[1] & 0x80)
        memcpy(f->table + (off & ~3u), &v, sizeof(v));
    else
        f->table[off] = a[2];
}

static void op_poke_active(fz *f, const uint8_t *a)
{
    uint32_t ref = a[1] % NENT, v = (uint32_t)(a[2] | a[3] << 8 | a[4] << 16);

    __atomic_store_n(active(f, ref), v, __ATOMIC_RELAXED);
    f->tampered[ref] = true;
}

static void op_guest_write(fz *f, const uint8_t *a)
{
    uint32_t off = a[2] * 16u, len = 1 + a[4] % 64u;

    memset(f->guest + (a[1] % NFRAMES) * PAGE + off, a[3], len < PAGE - off ? len : PAGE - off);
}

/* ---- the run ------------------------------------------------------------ */

static void run_op(fz *f, const uint8_t *a)
{
    switch (a[0] % 15) {
    case 0: case 1: op_access(f, a, false); break;
    case 2: op_access(f, a, true); break;
    case 3: op_access_wide(f, a); break;
    case 4: op_map(f, a); break;
    case 5: op_unmap(f, a); break;
    case 6: op_cache(f, a); break;
    case 7: op_invalidate(f, a); break;
    case 8: op_flush(f); break;
    case 9: op_grant(f, a); break;
    case 10: op_end_access(f, a); break;
    case 11: op_poke_entry(f, a); break;
    case 12: op_poke_header(f, a); break;
    case 13: op_poke_active(f, a); break;
    default: op_guest_write(f, a); break;
    }
    note_evictions(f);
}

static void release_all(fz *f)
{
    gm_mapcache_stats st;

    for (int k = 0; k < MAX_HELD; k++) {
        if (f->maps[k].p)
            unmap_held(f, &f->maps[k], 0);
    }
    for (int k = 0; k < 2; k++) {
        if (f->caches[k].live)
            gm_cache_destroy(&f->caches[k].c);
    }
    FUZZ_ASSERT(gm_as_bounce_in_use(f->as) == 0);
    gm_mapcache_flush(f->mc);
    gm_mapcache_get_stats(f->mc, &st);
    if (st.entries || st.bytes_mapped || st.maps != st.unmaps)
        bug("mappings left after everything was released and flushed", 0);
    for (uint32_t r = 0; r < NENT && !f->header_tampered; r++) {
        if (!f->tampered[r] && ((entry(f, r)->flags & (GM_GTF_READING | GM_GTF_WRITING)) ||
                                *active(f, r)))
            bug("a grant is still in use after everything was released", r);
    }
}

static void teardown(fz *f)
{
    if (f->as)
        gm_as_free(f->as);
    gm_region_unref(f->grants);
    gm_region_unref(f->root);
    gm_system_free(f->sys);
    gm_mapcache_free(f->mc);
    munmap(f->table, f->table_len);
    gm_gnttab_emu_free(f->granter);
    munmap(f->guest, NFRAMES * PAGE);
    close(f->guest_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz *f;

    if (size < 3)
        return 0;
    f = calloc(1, sizeof(*f));
    FUZZ_ASSERT(f);
    setup_memory(f, data[1], data[2]);
    if (header_valid(f) != (f->backend != NULL))
        bug(f->backend ? "attach accepted an invalid header" : "attach refused a valid header", 0);
    if (!f->backend) {
        munmap(f->table, f->table_len);
        gm_gnttab_emu_free(f->granter);
        munmap(f->guest, NFRAMES * PAGE);
        close(f->guest_fd);
        free(f);
        return 0;
    }
    setup_backend(f, data[0]);
    for (size_t i = 3; i + OP <= size; i += OP)
        run_op(f, data + i);
    release_all(f);
    teardown(f);
    free(f);
    return 0;
}
