/* SPDX-License-Identifier: MIT */
/*
 * The mapping cache: map-on-demand regions whose mappings are reused.
 *
 * Built only on the public API (a gm_mod_ops provider, like any user's):
 * the core knows nothing about it.
 *
 * Glossary: mc the cache, b a binding (the cache's side of one region),
 * e an entry (one provider mapping of 1..batch pages), page a provider page
 * number in the region, slot a page index cell. A `_locked` suffix means the
 * caller holds mc->lock.
 *
 * Structure. Each binding has a page index: a radix tree whose leaves hold
 * two slots per page, the read-only entry and the writable entry covering
 * it (a leaf covers MC_LEAF_PAGES pages; a region of up to that many pages
 * is a single leaf, bigger ones get interior levels of MC_NODE_SLOTS
 * children). Nodes are allocated when a page under them is first mapped and
 * freed with the region. Cached entries are also on one CLOCK list. Every
 * change to slots, to the CLOCK list, and every transition of an entry out
 * of the cache happens under mc->lock.
 *
 * Two hit paths, neither takes a lock.
 *
 * Reads and writes (the gm_mod_ops copy op, for pages of 4 KiB and more):
 * a CAS on the slot's word adds a reader unless the slot is empty or being
 * cleared; the caller copies from the slot's host address and drops the
 * reader. The entry is not touched, so the slot's line is the only
 * metadata a hit reads. A slot is cleared (under mc->lock) by locking out
 * new readers and waiting for the current ones, who hold the slot for one
 * memcpy only. Measured: this replaced a hash table with striped spinlocks
 * whose hits cost two to three dependent cache misses more, and a first
 * version of the index that pinned the entry on every hit, one miss more
 * (see docs/dynamic-mapping.md).
 *
 * Mappings (gm_as_map, gm_cache) and copies the slot cannot serve: load the
 * slot's entry (acquire), pin it with a CAS on its state word that fails if
 * the entry is leaving, check the entry's key, mark it referenced. The
 * user unpins with one atomic decrement.
 *
 * Entry memory is type-stable: an entry that leaves the cache is unmapped
 * and put on the cache's free list, never returned to malloc before
 * gm_mapcache_free(). A reader may load a slot just before the entry leaves
 * and is reused for another key; its CAS then either fails (the state says
 * released or doomed) or pins the reused entry, whose key no longer matches,
 * and the reader unpins it again. An entry becomes pinnable (state 1, with
 * release order) only after its fields are set and before it is stored in
 * any slot, so a successful pin sees a consistent entry.
 *
 * An entry leaves the cache under mc->lock, with its slots cleared in the
 * same critical section: evicted when it has no pins (state 0 ->
 * MC_RELEASED by CAS, so no pin can follow), or doomed by an invalidation,
 * which also takes a pin of its own. A doomed entry is released by whoever
 * drops its last pin (a CAS from MC_DOOMED decides who). So under mc->lock
 * an entry found in a slot is live and may be pinned with a plain increment.
 *
 * Stale mappings. A miss maps outside the locks. If the range was
 * invalidated meanwhile (the binding's generation moved), the new mapping
 * may predate the revocation: it is unmapped and the map retried, so an
 * invalidation is never followed by a hit on an older mapping.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <guestmem/guestmem.h>

#define MC_LEAF_BITS 9u           /* 512 pages, 1024 slots: 16 KiB */
#define MC_LEAF_PAGES (1ull << MC_LEAF_BITS)
#define MC_NODE_BITS 9u           /* 512 children: 4 KiB */
#define MC_NODE_SLOTS (1ull << MC_NODE_BITS)
#define MC_DEFER_BATCH 16u
#define MC_MAP_RETRIES 3
#define MC_DEFAULT_BUDGET (64ull << 20)

typedef struct mc_entry mc_entry;

/* A page's cell in the index. @word holds the entry (64-byte aligned) and,
 * in its low bits, the readers copying from @host (the page's address in
 * the entry's mapping) right now, and MC_SLOT_LOCKED while the slot is
 * being cleared. */
typedef struct mc_slot {
    uintptr_t word;               /* atomic */
    uint8_t *host;                /* atomic */
} mc_slot;

#define MC_SLOT_READERS 31u       /* reader count mask; full: use a pin */
#define MC_SLOT_LOCKED 32u
#define MC_SLOT_ENTRY(word) ((mc_entry *)((word) & ~(uintptr_t)63))

typedef struct mc_binding {
    gm_mapcache *mc;
    const gm_mapcache_provider *p;
    void *opaque;
    gm_region *mr;                /* not referenced: the region owns us */
    uint64_t pages;               /* provider pages in the region */
    void **root;                  /* page index: a leaf when levels is 0 */
    unsigned int levels;          /* interior levels above the leaves */
    uint64_t generation;          /* bumped by every invalidation (mc->lock) */
    uint64_t failed_batch;        /* atomic: 1 + first page of the last refused batch */
    int refs;                     /* atomic: the region's + one per live mapping */
    struct mc_binding *next;
} mc_binding;

/* Everything a hit reads or writes sits in the first cache line. */
struct mc_entry {
    int state;                    /* atomic: pin count | MC_DOOMED | MC_RELEASED */
    int referenced;               /* atomic: CLOCK second chance */
    mc_binding *b;
    uint64_t first;
    uint8_t *host;
    unsigned int npages;
    bool writable;
    struct mc_entry *next;        /* unmap, deferred or free list */
    TAILQ_ENTRY(mc_entry) clock;
} __attribute__((aligned(64)));

/* One atomic word, so that dropping the last pin and learning that the
 * entry was doomed is a single operation: after a decrement that does not
 * leave exactly MC_DOOMED, the dropper never touches the entry again.
 * MC_RELEASED: out of the cache (evicted, released, free or being filled);
 * an entry can be pinned only when neither flag is set. */
#define MC_DOOMED (1 << 30)
#define MC_RELEASED (1 << 29)

TAILQ_HEAD(mc_entry_list, mc_entry);

struct gm_mapcache {
    gm_mapcache_config cfg;
    pthread_mutex_t lock;
    struct mc_entry_list clock;
    mc_entry *deferred;
    unsigned int ndeferred;
    mc_binding *bindings;
    uint64_t cached_bytes;        /* bytes of entries in the clock list */
    pthread_mutex_t free_lock;    /* guards free_entries; taken alone */
    mc_entry *free_entries;       /* unmapped entries, reused by misses */
    gm_mapcache_stats stats;      /* relaxed atomics */
};

#define STAT_ADD(mc, field, n) __atomic_add_fetch(&(mc)->stats.field, (n), __ATOMIC_RELAXED)
#define STAT_SUB(mc, field, n) __atomic_sub_fetch(&(mc)->stats.field, (n), __ATOMIC_RELAXED)

static unsigned int page_shift(const mc_binding *b)
{
    return b->p->page_shift;
}

static uint64_t entry_bytes(const mc_entry *e)
{
    return (uint64_t)e->npages << page_shift(e->b);
}

gm_mapcache *gm_mapcache_new(const gm_mapcache_config *cfg)
{
    gm_mapcache_config c = cfg ? *cfg : (gm_mapcache_config){ MC_DEFAULT_BUDGET, 1, false };
    gm_mapcache *mc;

    if (!c.batch_pages)
        c.batch_pages = 1;
    if (c.batch_pages > 64 || (c.batch_pages & (c.batch_pages - 1))) {
        errno = EINVAL;
        return NULL;
    }
    mc = calloc(1, sizeof(*mc));
    if (!mc)
        return NULL;
    mc->cfg = c;
    pthread_mutex_init(&mc->lock, NULL);
    pthread_mutex_init(&mc->free_lock, NULL);
    TAILQ_INIT(&mc->clock);
    return mc;
}

/* ---- the page index ---------------------------------------------------- */

/* Page-number shift of the children of an interior node at @level (1 is
 * the level just above the leaves). */
static unsigned int level_shift(unsigned int level)
{
    return MC_LEAF_BITS + (level - 1) * MC_NODE_BITS;
}

static unsigned int index_levels(uint64_t pages)
{
    unsigned int levels = 0;

    while (level_shift(levels + 1) < 64 && pages > 1ull << level_shift(levels + 1))
        levels++;
    return levels;
}

/* Pages per leaf: a region that fits one leaf gets a leaf of its size. */
static uint64_t leaf_pages(const mc_binding *b)
{
    return b->levels ? MC_LEAF_PAGES : b->pages ? b->pages : 1;
}

/* Children of the root (interior levels only). */
static uint64_t root_children(const mc_binding *b)
{
    return ((b->pages - 1) >> level_shift(b->levels)) + 1;
}

static void *leaf_new(uint64_t pages)
{
    return calloc(2 * pages, sizeof(mc_slot));
}

static int index_init(mc_binding *b)
{
    b->levels = index_levels(b->pages);
    b->root = b->levels ? calloc(root_children(b), sizeof(void *)) : leaf_new(leaf_pages(b));
    return b->root ? 0 : -ENOMEM;
}

static void index_free_node(void **node, unsigned int level, uint64_t children)
{
    for (uint64_t i = 0; level && i < children; i++) {
        if (node[i])
            index_free_node(node[i], level - 1, MC_NODE_SLOTS);
    }
    free(node);
}

static void index_free(mc_binding *b)
{
    index_free_node(b->root, b->levels, b->levels ? root_children(b) : 0);
    b->root = NULL;
}

/* A leaf holds the read-only slots of its pages, then the writable ones, so
 * that read-only lookups touch half as many cache lines. */
static mc_slot *leaf_slot(const mc_binding *b, void **leaf, uint64_t page, bool writable)
{
    return (mc_slot *)leaf + (writable ? leaf_pages(b) : 0) + (page & (MC_LEAF_PAGES - 1));
}

/* The slot of (@page, @writable), or NULL if its leaf does not exist. The
 * nodes are published with release stores, so acquire loads see them
 * zeroed or filled. */
static mc_slot *slot_find(const mc_binding *b, uint64_t page, bool writable)
{
    void **node = b->root;

    for (unsigned int l = b->levels; l; l--) {
        node = __atomic_load_n(&node[(page >> level_shift(l)) & (MC_NODE_SLOTS - 1)],
                               __ATOMIC_ACQUIRE);
        if (!node)
            return NULL;
    }
    return leaf_slot(b, node, page, writable);
}

/* As slot_find(), allocating missing nodes; NULL only if out of memory. */
static mc_slot *slot_make_locked(mc_binding *b, uint64_t page, bool writable)
{
    void **node = b->root;

    for (unsigned int l = b->levels; l; l--) {
        void **cell = &node[(page >> level_shift(l)) & (MC_NODE_SLOTS - 1)];

        node = *cell;
        if (!node) {
            node = l == 1 ? leaf_new(MC_LEAF_PAGES) : calloc(MC_NODE_SLOTS, sizeof(void *));
            if (!node)
                return NULL;
            __atomic_store_n(cell, node, __ATOMIC_RELEASE);
        }
    }
    return leaf_slot(b, node, page, writable);
}

static mc_entry *slot_entry(mc_slot *slot)
{
    return MC_SLOT_ENTRY(__atomic_load_n(&slot->word, __ATOMIC_ACQUIRE));
}

/* Fill an empty slot: the host first, published by the entry. */
static void slot_set_locked(mc_slot *slot, mc_entry *e, uint8_t *host)
{
    __atomic_store_n(&slot->host, host, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->word, (uintptr_t)e, __ATOMIC_RELEASE);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Empty a slot: keep new readers out, then wait for those copying from it
 * (each only for one memcpy: they take no lock and never wait on us). */
static void slot_clear_locked(mc_slot *slot)
{
    __atomic_fetch_or(&slot->word, MC_SLOT_LOCKED, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&slot->word, __ATOMIC_ACQUIRE) & MC_SLOT_READERS)
        cpu_relax();
    __atomic_store_n(&slot->host, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->word, 0, __ATOMIC_RELEASE);
}

/* Clear every slot that still points to @e: after this, no reader copies
 * from @e's mapping without a pin on @e. */
static void index_clear_locked(mc_entry *e)
{
    for (uint64_t page = e->first; page < e->first + e->npages; page++) {
        mc_slot *slot = slot_find(e->b, page, e->writable);

        if (slot && slot_entry(slot) == e)
            slot_clear_locked(slot);
    }
}

static uint8_t *page_host(const mc_entry *e, uint64_t page)
{
    return e->host + ((page - e->first) << e->b->p->page_shift);
}

/* Make @e (mapped, state MC_RELEASED) the cached entry for @page and for
 * the pages of its range that have none, pinned once for the caller; false
 * (and @e untouched) if out of memory. */
static bool index_insert_locked(mc_entry *e, uint64_t page)
{
    mc_slot *slot = slot_make_locked(e->b, page, e->writable);

    if (!slot)
        return false;
    /* Pinnable from here: the fields are published with the state. */
    __atomic_store_n(&e->state, 1, __ATOMIC_RELEASE);
    slot_set_locked(slot, e, page_host(e, page));
    for (uint64_t p = e->first; p < e->first + e->npages; p++) {
        slot = p == page ? NULL : slot_make_locked(e->b, p, e->writable);
        if (slot && !slot_entry(slot))
            slot_set_locked(slot, e, page_host(e, p));
    }
    return true;
}

/* Pin @e unless it is leaving the cache. */
static bool pin_live(mc_entry *e)
{
    int state = __atomic_load_n(&e->state, __ATOMIC_RELAXED);

    do {
        if (state & (MC_DOOMED | MC_RELEASED))
            return false;
    } while (!__atomic_compare_exchange_n(&e->state, &state, state + 1, true, __ATOMIC_ACQUIRE,
                                          __ATOMIC_RELAXED));
    return true;
}

static void unpin(gm_mapcache *mc, mc_entry *e);

/* The cached entry for (@page, @writable), pinned, or NULL: the hit path
 * of mappings (gm_as_map, gm_cache) and of copies that the slot alone
 * cannot serve. */
static mc_entry *index_pin(mc_binding *b, uint64_t page, bool writable)
{
    mc_slot *slot = slot_find(b, page, writable);
    mc_entry *e = slot ? slot_entry(slot) : NULL;

    if (!e || !pin_live(e))
        return NULL;
    /* Evicted and reused since we loaded the slot? */
    if (e->b != b || page - e->first >= e->npages || e->writable != writable) {
        unpin(b->mc, e);
        return NULL;
    }
    if (!__atomic_load_n(&e->referenced, __ATOMIC_RELAXED))
        __atomic_store_n(&e->referenced, 1, __ATOMIC_RELAXED);
    return e;
}

/* Under mc->lock, a slot holds only live entries: pin one with a plain
 * increment (it cannot be evicted or doomed while we hold the lock). */
static mc_entry *index_pin_locked(mc_binding *b, uint64_t page, bool writable)
{
    mc_slot *slot = slot_find(b, page, writable);
    mc_entry *e = slot ? slot_entry(slot) : NULL;

    if (e)
        __atomic_add_fetch(&e->state, 1, __ATOMIC_ACQUIRE);
    return e;
}

/* The copy path's hit: count ourselves a reader of the slot and return the
 * page's host address, or NULL (empty, being cleared, or full). A slot is
 * cleared only once its readers are gone, so the mapping stays valid until
 * slot_read_end(); the entry itself is not touched. */
static uint8_t *slot_read_begin(mc_slot *slot)
{
    uintptr_t word = __atomic_load_n(&slot->word, __ATOMIC_RELAXED);

    do {
        if (!MC_SLOT_ENTRY(word) || (word & MC_SLOT_LOCKED) ||
            (word & MC_SLOT_READERS) == MC_SLOT_READERS)
            return NULL;
    } while (!__atomic_compare_exchange_n(&slot->word, &word, word + 1, true, __ATOMIC_ACQUIRE,
                                          __ATOMIC_RELAXED));
    return __atomic_load_n(&slot->host, __ATOMIC_RELAXED);
}

static void slot_read_end(mc_slot *slot)
{
    __atomic_sub_fetch(&slot->word, 1, __ATOMIC_RELEASE);
}

/* ---- entry memory ------------------------------------------------------ */

/* A free entry, state MC_RELEASED (not pinnable). */
static mc_entry *entry_get(gm_mapcache *mc)
{
    mc_entry *e;

    pthread_mutex_lock(&mc->free_lock);
    e = mc->free_entries;
    if (e)
        mc->free_entries = e->next;
    pthread_mutex_unlock(&mc->free_lock);
    if (e)
        return e;
    e = aligned_alloc(64, sizeof(*e));
    if (e) {
        memset(e, 0, sizeof(*e));
        e->state = MC_RELEASED;
    }
    return e;
}

/* Return an entry that is out of the cache and unpinnable to the free list. */
static void entry_put(gm_mapcache *mc, mc_entry *e)
{
    pthread_mutex_lock(&mc->free_lock);
    e->next = mc->free_entries;
    mc->free_entries = e;
    pthread_mutex_unlock(&mc->free_lock);
}

/* ---- releasing mappings ------------------------------------------------ */

/* Drop a reference; the last one (region freed, every mapping unmapped)
 * closes the provider and frees the binding. Mappings unmapped outside
 * mc->lock keep their binding alive this way. */
static void binding_put(mc_binding *b)
{
    if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
        return;
    if (b->p->destroy)
        b->p->destroy(b->opaque);
    free(b);
}

static void entry_unmap_free(gm_mapcache *mc, mc_entry *e)
{
    mc_binding *b = e->b;

    b->p->unmap_pages(b->opaque, e->host, e->first, e->npages);
    STAT_ADD(mc, unmaps, 1);
    STAT_SUB(mc, bytes_mapped, entry_bytes(e));
    entry_put(mc, e);
    binding_put(b);
}

/* Drop one pin; true if the caller must release the (doomed) entry. */
static bool drop_pin(mc_entry *e)
{
    int expected = MC_DOOMED;

    if (__atomic_sub_fetch(&e->state, 1, __ATOMIC_ACQ_REL) != MC_DOOMED)
        return false;
    return __atomic_compare_exchange_n(&e->state, &expected, MC_DOOMED | MC_RELEASED, false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static void unpin(gm_mapcache *mc, mc_entry *e)
{
    if (drop_pin(e))
        entry_unmap_free(mc, e);
}

static void unmap_list(gm_mapcache *mc, mc_entry *list)
{
    while (list) {
        mc_entry *next = list->next;

        entry_unmap_free(mc, list);
        list = next;
    }
}

/* Take @e out of the index if it has no users; true if it was taken. */
static bool entry_evict_locked(mc_entry *e)
{
    int idle = 0;

    if (!__atomic_compare_exchange_n(&e->state, &idle, MC_RELEASED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return false;
    index_clear_locked(e);
    return true;
}

/* Take @e out of the CLOCK list and the index whatever its users, and doom
 * it; push it on *@now if we dropped its last pin. */
static void entry_doom_locked(gm_mapcache *mc, mc_entry *e, mc_entry **now)
{
    TAILQ_REMOVE(&mc->clock, e, clock);
    mc->cached_bytes -= entry_bytes(e);
    STAT_SUB(mc, entries, 1);
    index_clear_locked(e);
    /* Our own pin keeps it from being released before we are done. */
    __atomic_add_fetch(&e->state, 1 + MC_DOOMED, __ATOMIC_SEQ_CST);
    /* Whoever drops the last pin releases the entry. If it is not us, @e
     * may be gone already: do not touch it. */
    if (drop_pin(e)) {
        e->next = *now;
        *now = e;
    }
}

/* Queue a victim (already out of index and clock list); returns what must
 * be unmapped now, outside mc->lock. */
static mc_entry *retire_locked(gm_mapcache *mc, mc_entry *e, mc_entry *now)
{
    STAT_SUB(mc, entries, 1);
    mc->cached_bytes -= entry_bytes(e);
    if (!mc->cfg.deferred_unmap) {
        e->next = now;
        return e;
    }
    e->next = mc->deferred;
    mc->deferred = e;
    if (++mc->ndeferred < MC_DEFER_BATCH)
        return now;
    for (e = mc->deferred; e->next; e = e->next)
        ;
    e->next = now;
    now = mc->deferred;
    mc->deferred = NULL;
    mc->ndeferred = 0;
    return now;
}

/* CLOCK: evict unpinned, unreferenced entries until under budget. */
static mc_entry *evict_locked(gm_mapcache *mc, mc_entry *now)
{
    uint64_t budget = mc->cfg.budget_bytes;
    uint64_t steps = 2 * __atomic_load_n(&mc->stats.entries, __ATOMIC_RELAXED) + 2;

    while (budget && mc->cached_bytes > budget && steps-- && !TAILQ_EMPTY(&mc->clock)) {
        mc_entry *e = TAILQ_FIRST(&mc->clock);

        TAILQ_REMOVE(&mc->clock, e, clock);
        if (__atomic_exchange_n(&e->referenced, 0, __ATOMIC_RELAXED) ||
            !entry_evict_locked(e)) {
            TAILQ_INSERT_TAIL(&mc->clock, e, clock);
            continue;
        }
        STAT_ADD(mc, evictions, 1);
        now = retire_locked(mc, e, now);
    }
    return now;
}

/* ---- lookups and misses ------------------------------------------------ */

static void *provider_map_counted(mc_binding *b, uint64_t first, unsigned int npages,
                                  bool writable)
{
    void *host = b->p->map_pages(b->opaque, first, npages, writable);

    if (host)
        STAT_ADD(b->mc, maps, 1);
    else
        STAT_ADD(b->mc, map_failures, 1);
    return host;
}

/* Map a batch (or the single page if the batch is refused). */
static void *provider_map(mc_binding *b, uint64_t page, bool writable, uint64_t *first,
                          unsigned int *npages)
{
    uint64_t batch = b->mc->cfg.batch_pages;
    void *host = NULL;

    *first = page & ~(batch - 1);
    *npages = (unsigned int)(batch < b->pages - *first ? batch : b->pages - *first);
    /* Don't retry a batch that was just refused for each of its pages. */
    if (*npages > 1 && __atomic_load_n(&b->failed_batch, __ATOMIC_RELAXED) != *first + 1) {
        host = provider_map_counted(b, *first, *npages, writable);
        if (!host)
            __atomic_store_n(&b->failed_batch, *first + 1, __ATOMIC_RELAXED);
    }
    if (!host) {
        *first = page;
        *npages = 1;
        host = provider_map_counted(b, page, 1, writable);
    }
    return host;
}

/* A new entry mapping @page (state MC_RELEASED: not yet pinnable), or NULL
 * if the provider refused or memory ran out. */
static mc_entry *entry_map(mc_binding *b, uint64_t page, bool writable)
{
    mc_entry *e = entry_get(b->mc);
    uint64_t first;
    unsigned int npages;
    void *host;

    if (!e)
        return NULL;
    host = provider_map(b, page, writable, &first, &npages);
    if (!host) {
        entry_put(b->mc, e);
        return NULL;
    }
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    e->b = b;
    e->first = first;
    e->npages = npages;
    e->writable = writable;
    e->host = host;
    e->referenced = 1;
    STAT_ADD(b->mc, bytes_mapped, entry_bytes(e));
    return e;
}

/* Serve one access from @e without caching it; the unpin releases it. */
static mc_entry *entry_uncached(mc_entry *e)
{
    __atomic_store_n(&e->state, 1 + MC_DOOMED, __ATOMIC_RELAXED);
    return e;
}

/* Cache @e (mapped for @page) and evict for the budget; @e is returned
 * pinned, or uncached if the index cannot grow. */
static mc_entry *entry_cache_locked(gm_mapcache *mc, mc_entry *e, uint64_t page,
                                    mc_entry **victims)
{
    if (!index_insert_locked(e, page))
        return entry_uncached(e);
    TAILQ_INSERT_TAIL(&mc->clock, e, clock);
    mc->cached_bytes += entry_bytes(e);
    STAT_ADD(mc, entries, 1);
    *victims = evict_locked(mc, *victims);
    return e;
}

/* Map and insert; returns the pinned entry (possibly one another thread
 * inserted first), or NULL if the provider refused. */
static mc_entry *miss(gm_mapcache *mc, mc_binding *b, uint64_t page, bool writable)
{
    for (int attempt = 0; attempt < MC_MAP_RETRIES; attempt++) {
        uint64_t generation = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
        mc_entry *e = entry_map(b, page, writable), *old, *victims = NULL;

        if (!e)
            return NULL;
        pthread_mutex_lock(&mc->lock);
        old = index_pin_locked(b, page, writable);
        if (!old && !writable)
            old = index_pin_locked(b, page, true);
        if (!old && __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == generation) {
            e = entry_cache_locked(mc, e, page, &victims);
            pthread_mutex_unlock(&mc->lock);
            unmap_list(mc, victims);
            return e;
        }
        pthread_mutex_unlock(&mc->lock);
        if (old || attempt + 1 < MC_MAP_RETRIES) {
            entry_unmap_free(mc, e);
            if (old)
                return old;
            continue;
        }
        /* Invalidations keep racing with us: serve this access from the
         * fresh mapping without caching it. */
        return entry_uncached(e);
    }
    return NULL;
}

/* A pinned entry covering @page for @writable access, or NULL (refused).
 * A read takes the read-only entry, else the writable one. */
static mc_entry *lookup(mc_binding *b, uint64_t page, bool writable)
{
    gm_mapcache *mc = b->mc;
    mc_entry *e = index_pin(b, page, writable);

    if (!e && !writable)
        e = index_pin(b, page, true);
    if (e) {
        STAT_ADD(mc, hits, 1);
        return e;
    }
    STAT_ADD(mc, misses, 1);
    return miss(mc, b, page, writable);
}

/* ---- gm_mod_ops ------------------------------------------------------- */

static void *mc_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write, gm_attrs attrs,
                    void **handle)
{
    mc_binding *b = opaque;
    uint64_t page = offset >> page_shift(b), end;
    mc_entry *e;

    (void)attrs;
    if (page >= b->pages)
        return NULL;
    e = lookup(b, page, is_write);
    if (!e)
        return NULL;
    end = (e->first + e->npages) << page_shift(b);
    if (*len > end - offset)
        *len = end - offset;
    *handle = e;
    return e->host + (offset - (e->first << page_shift(b)));
}

static void mc_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                     uint64_t access_len)
{
    mc_binding *b = opaque;

    (void)host;
    (void)len;
    (void)is_write;
    (void)access_len;
    unpin(b->mc, handle);
}

/* One host access for an aligned 1/2/4/8-byte ld/st (hostmem.h). */
static void page_copy(uint8_t *host, void *buf, uint64_t len, bool is_write)
{
    if (is_write)
        gm_host_write(host, buf, len);
    else
        gm_host_read(buf, host, len);
}

/* One access within @page, without pinning the entry when the page's slot
 * serves it (the measured hot path: the slot's line is the only line of
 * metadata it touches); else through a pinned entry, mapping on a miss. */
static gm_result copy_in_page(mc_binding *b, uint64_t page, uint64_t in_page, void *buf,
                              uint64_t len, bool is_write)
{
    mc_slot *slot = slot_find(b, page, is_write);
    uint8_t *host = slot ? slot_read_begin(slot) : NULL;
    mc_entry *e;

    if (!host && !is_write) {
        slot = slot_find(b, page, true);
        host = slot ? slot_read_begin(slot) : NULL;
    }
    if (host) {
        STAT_ADD(b->mc, hits, 1);
        page_copy(host + in_page, buf, len, is_write);
        slot_read_end(slot);
        return GM_OK;
    }
    e = lookup(b, page, is_write);
    if (!e)
        return GM_ACCESS_ERROR;
    page_copy(page_host(e, page) + in_page, buf, len, is_write);
    unpin(b->mc, e);
    return GM_OK;
}

/* Reads and writes (gm_mod_ops.copy): the core calls it for pieces within
 * one 4 KiB page, so with pages of at least 4 KiB this is one page. */
static gm_result mc_cached_copy(void *opaque, gm_addr offset, void *buf, uint64_t len,
                                bool is_write, gm_attrs attrs)
{
    mc_binding *b = opaque;
    uint64_t page_size = 1ull << page_shift(b);

    (void)attrs;
    while (len) {
        uint64_t page = offset >> page_shift(b), in_page = offset & (page_size - 1);
        uint64_t n = len < page_size - in_page ? len : page_size - in_page;

        if (page >= b->pages || copy_in_page(b, page, in_page, buf, n, is_write) != GM_OK)
            return GM_ACCESS_ERROR;
        offset += n;
        buf = (uint8_t *)buf + n;
        len -= n;
    }
    return GM_OK;
}

static gm_result mc_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                         gm_attrs attrs)
{
    mc_binding *b = opaque;

    return b->p->copy(b->opaque, offset, buf, len, is_write, attrs);
}

static void binding_destroy(void *opaque);

/* Pages under 4 KiB: accesses map and unmap pieces, so that a refused page
 * costs only its 4 KiB granule as documented in mapped.h, not a copy's. */
static const gm_mod_ops mc_map_ops = {
    .map = mc_map, .unmap = mc_unmap, .destroy = binding_destroy,
};

static const gm_mod_ops mc_ops = {
    .map = mc_map, .unmap = mc_unmap, .copy = mc_cached_copy, .destroy = binding_destroy,
};

static const gm_mod_ops mc_copy_ops = {
    .map = mc_map, .unmap = mc_unmap, .copy = mc_copy, .destroy = binding_destroy,
};

static const gm_mod_ops *ops_for(const gm_mapcache_provider *provider)
{
    if (provider->prefer_copy)
        return &mc_copy_ops;
    return provider->page_shift >= 12 ? &mc_ops : &mc_map_ops;
}

/* ---- bindings (one per region) --------------------------------------- */

static bool provider_valid(const gm_mapcache_provider *provider)
{
    return provider && provider->map_pages && provider->unmap_pages &&
           provider->page_shift >= 9 && provider->page_shift <= 30 &&
           (!provider->prefer_copy || provider->copy);
}

gm_region *gm_mapcache_region_new(gm_mapcache *mc, gm_system *sys, const char *name,
                                  uint64_t size, const gm_mapcache_provider *provider,
                                  void *opaque)
{
    mc_binding *b;
    gm_region *mr;

    if (!provider_valid(provider)) {
        errno = EINVAL;
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    *b = (mc_binding){ .mc = mc, .p = provider, .opaque = opaque, .refs = 1 };
    b->pages = size == GM_SIZE_2_64 ? (1ull << (64 - provider->page_shift))
                                    : (size + (1ull << provider->page_shift) - 1) >>
                                          provider->page_shift;
    mr = index_init(b) ? NULL : gm_region_new_mapped(sys, name, size, ops_for(provider), b);
    if (!mr) {
        free(b->root);
        free(b);
        return NULL;
    }
    b->mr = mr;
    pthread_mutex_lock(&mc->lock);
    b->next = mc->bindings;
    mc->bindings = b;
    pthread_mutex_unlock(&mc->lock);
    return mr;
}

/* Doom the entries of @b overlapping [first, last] found through the index:
 * each has a slot in its own range, and entries never cross a batch
 * boundary, so scanning the batches that hold the range finds them all. */
static unsigned int drop_indexed_locked(gm_mapcache *mc, mc_binding *b, uint64_t first,
                                        uint64_t last, mc_entry **now)
{
    uint64_t batch = mc->cfg.batch_pages;
    uint64_t end = last | (batch - 1);
    unsigned int n = 0;

    for (uint64_t page = first & ~(batch - 1); page <= end && page < b->pages; page++) {
        for (int w = 0; w < 2; w++) {
            mc_slot *slot = slot_find(b, page, w);
            mc_entry *e = slot ? slot_entry(slot) : NULL;

            if (e && e->first <= last && e->first + e->npages - 1 >= first) {
                entry_doom_locked(mc, e, now);
                n++;
            }
        }
    }
    return n;
}

/* Doom the entries of @b overlapping [first, last] found on the CLOCK list. */
static unsigned int drop_listed_locked(gm_mapcache *mc, mc_binding *b, uint64_t first,
                                       uint64_t last, mc_entry **now)
{
    mc_entry *e, *next;
    unsigned int n = 0;

    for (e = TAILQ_FIRST(&mc->clock); e; e = next) {
        next = TAILQ_NEXT(e, clock);
        if (e->b != b || e->first > last || e->first + e->npages - 1 < first)
            continue;
        entry_doom_locked(mc, e, now);
        n++;
    }
    return n;
}

/* Take every entry of @b overlapping [first, last] out of the cache, by
 * whichever walk is shorter: the range's slots or the whole CLOCK list. */
static unsigned int drop_range_locked(gm_mapcache *mc, mc_binding *b, uint64_t first,
                                      uint64_t last, mc_entry **now)
{
    uint64_t entries = __atomic_load_n(&mc->stats.entries, __ATOMIC_RELAXED);
    mc_entry *e;
    unsigned int n;

    __atomic_add_fetch(&b->generation, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&b->failed_batch, 0, __ATOMIC_RELAXED);
    if (last - first < entries)
        n = drop_indexed_locked(mc, b, first, last, now);
    else
        n = drop_listed_locked(mc, b, first, last, now);
    /* Deferred unmaps still hold mappings the owner wants gone. */
    for (e = mc->deferred; e && e->next; e = e->next)
        ;
    if (e) {
        e->next = *now;
        *now = mc->deferred;
        mc->deferred = NULL;
        mc->ndeferred = 0;
    }
    return n;
}

static mc_binding *binding_of_locked(gm_mapcache *mc, gm_region *mr)
{
    for (mc_binding *b = mc->bindings; b; b = b->next) {
        if (b->mr == mr)
            return b;
    }
    return NULL;
}

int gm_mapcache_invalidate(gm_mapcache *mc, gm_region *mr, gm_addr offset, uint64_t len)
{
    mc_entry *now = NULL;
    mc_binding *b;
    uint64_t first, last;
    unsigned int n;

    pthread_mutex_lock(&mc->lock);
    b = binding_of_locked(mc, mr);
    if (!b) {
        pthread_mutex_unlock(&mc->lock);
        return -EINVAL;
    }
    first = offset >> page_shift(b);
    /* A range running past 2^64 covers everything from @offset up. */
    last = !len ? first
                : len - 1 > UINT64_MAX - offset ? UINT64_MAX
                                                : (offset + (len - 1)) >> page_shift(b);
    n = drop_range_locked(mc, b, first, last, &now);
    pthread_mutex_unlock(&mc->lock);
    STAT_ADD(mc, invalidations, n);
    unmap_list(mc, now);
    return (int)n;
}

/* The region is being freed: no lookup can run on @b any more. */
static void binding_destroy(void *opaque)
{
    mc_binding *b = opaque;
    gm_mapcache *mc = b->mc;
    mc_entry *now = NULL;

    pthread_mutex_lock(&mc->lock);
    drop_range_locked(mc, b, 0, UINT64_MAX, &now);
    for (mc_binding **pp = &mc->bindings; *pp; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    pthread_mutex_unlock(&mc->lock);
    index_free(b);
    unmap_list(mc, now);
    binding_put(b);
}

void gm_mapcache_flush(gm_mapcache *mc)
{
    mc_entry *now = NULL, *e, *next;

    pthread_mutex_lock(&mc->lock);
    for (e = TAILQ_FIRST(&mc->clock); e; e = next) {
        next = TAILQ_NEXT(e, clock);
        if (!entry_evict_locked(e))
            continue;
        TAILQ_REMOVE(&mc->clock, e, clock);
        mc->cached_bytes -= entry_bytes(e);
        STAT_SUB(mc, entries, 1);
        e->next = now;
        now = e;
    }
    e = mc->deferred;
    mc->deferred = NULL;
    mc->ndeferred = 0;
    pthread_mutex_unlock(&mc->lock);
    unmap_list(mc, now);
    unmap_list(mc, e);
}

void gm_mapcache_free(gm_mapcache *mc)
{
    if (!mc)
        return;
    gm_mapcache_flush(mc);
    while (mc->free_entries) {
        mc_entry *e = mc->free_entries;

        mc->free_entries = e->next;
        free(e);
    }
    pthread_mutex_destroy(&mc->free_lock);
    pthread_mutex_destroy(&mc->lock);
    free(mc);
}

void gm_mapcache_get_stats(gm_mapcache *mc, gm_mapcache_stats *stats)
{
    stats->hits = __atomic_load_n(&mc->stats.hits, __ATOMIC_RELAXED);
    stats->misses = __atomic_load_n(&mc->stats.misses, __ATOMIC_RELAXED);
    stats->maps = __atomic_load_n(&mc->stats.maps, __ATOMIC_RELAXED);
    stats->map_failures = __atomic_load_n(&mc->stats.map_failures, __ATOMIC_RELAXED);
    stats->unmaps = __atomic_load_n(&mc->stats.unmaps, __ATOMIC_RELAXED);
    stats->evictions = __atomic_load_n(&mc->stats.evictions, __ATOMIC_RELAXED);
    stats->invalidations = __atomic_load_n(&mc->stats.invalidations, __ATOMIC_RELAXED);
    stats->bytes_mapped = __atomic_load_n(&mc->stats.bytes_mapped, __ATOMIC_RELAXED);
    stats->entries = __atomic_load_n(&mc->stats.entries, __ATOMIC_RELAXED);
}
