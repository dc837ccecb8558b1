/* SPDX-License-Identifier: MIT */
/*
 * The mapping cache: map-on-demand regions whose mappings are reused.
 *
 * Built only on the public API (a gm_mod_ops provider, like any user's):
 * the core knows nothing about it.
 *
 * Structure. Entries (one provider mapping of 1..batch pages) live in a hash
 * table of MC_BUCKETS chains guarded by MC_STRIPES spinlocks, and in one
 * CLOCK list guarded by the cache mutex. The key is (binding, first page,
 * writable). Lock order: mc->lock, then a stripe.
 *
 * Hit path: stripe lock, find, pin (pins++), mark referenced, unlock. The
 * caller copies, then unpins with one atomic decrement.
 *
 * An entry leaves the hash only under its stripe lock: evicted when it has
 * no pins (state 0 -> MC_RELEASED by CAS, so nobody else can claim it), or
 * doomed by an invalidation, which also takes a pin of its own. Pins only
 * grow under the stripe lock while the entry is hashed, so an evicted entry
 * has no users and is unmapped at once; a doomed one is released by
 * whoever drops its last pin (a CAS from MC_DOOMED decides who).
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

#define MC_BUCKETS 16384u   /* 128 KiB of heads: stays in L2 */
#define MC_STRIPES 64u
#define MC_DEFER_BATCH 16u
#define MC_MAP_RETRIES 3
#define MC_DEFAULT_BUDGET (64ull << 20)

typedef struct mc_binding {
    gm_mapcache *mc;
    const gm_mapcache_provider *p;
    void *opaque;
    gm_region *mr;                /* not referenced: the region owns us */
    uint64_t pages;               /* provider pages in the region */
    uint64_t generation;          /* bumped by every invalidation (mc->lock) */
    uint64_t failed_batch;        /* atomic: 1 + first page of the last refused batch */
    int refs;                     /* atomic: the region's + one per live mapping */
    struct mc_binding *next;
} mc_binding;

/* Everything a hit reads or writes sits in the first cache line. */
typedef struct mc_entry {
    struct mc_entry *hnext;       /* hash chain, or deferred list */
    mc_binding *b;
    uint64_t first;
    uint8_t *host;
    int state;                    /* atomic: pin count | MC_DOOMED | MC_RELEASED */
    int referenced;               /* atomic: CLOCK second chance */
    unsigned int npages;
    bool writable;
    TAILQ_ENTRY(mc_entry) clock;
} __attribute__((aligned(64))) mc_entry;

/* One atomic word, so that dropping the last pin and learning that the
 * entry was doomed is a single operation: after a decrement that does not
 * leave exactly MC_DOOMED, the dropper never touches the entry again. */
#define MC_DOOMED (1 << 30)
#define MC_RELEASED (1 << 29)
#define MC_PINS(state) ((state) & (MC_RELEASED - 1))

TAILQ_HEAD(mc_entry_list, mc_entry);

struct gm_mapcache {
    gm_mapcache_config cfg;
    pthread_mutex_t lock;
    struct mc_entry_list clock;
    mc_entry *deferred;
    unsigned int ndeferred;
    mc_binding *bindings;
    uint64_t cached_bytes;        /* bytes of entries in the clock list */
    pthread_spinlock_t stripes[MC_STRIPES];
    mc_entry *buckets[MC_BUCKETS];
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

/* The key is (binding, first page, writable, single): a single-page
 * fallback entry and a batch that starts at the same page are different
 * entries, so a lookup never gets a mapping that misses its page. */
static unsigned int bucket_of(const mc_binding *b, uint64_t first, bool writable, bool single)
{
    uint64_t h = ((uintptr_t)b >> 4) * 0x9e3779b97f4a7c15ull ^ first * 0xc2b2ae3d27d4eb4full;

    return (unsigned int)((h >> 20) ^ h ^ (writable ? 0x5bd1u : 0) ^ (single ? 0x2e7u : 0)) &
           (MC_BUCKETS - 1);
}

static bool is_single(const mc_entry *e)
{
    return e->npages == 1;
}

static pthread_spinlock_t *stripe_of(gm_mapcache *mc, unsigned int bucket)
{
    return &mc->stripes[bucket % MC_STRIPES];
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
    TAILQ_INIT(&mc->clock);
    for (unsigned int i = 0; i < MC_STRIPES; i++)
        pthread_spin_init(&mc->stripes[i], PTHREAD_PROCESS_PRIVATE);
    return mc;
}

/* ---- hash table -------------------------------------------------------- */

/* Find and pin the entry with this key; NULL if absent. */
static mc_entry *hash_pin(gm_mapcache *mc, mc_binding *b, uint64_t first, bool writable,
                          bool single)
{
    unsigned int bucket = bucket_of(b, first, writable, single);
    pthread_spinlock_t *lock = stripe_of(mc, bucket);
    mc_entry *e;

    pthread_spin_lock(lock);
    for (e = mc->buckets[bucket]; e; e = e->hnext) {
        if (e->b == b && e->first == first && e->writable == writable && is_single(e) == single) {
            __atomic_add_fetch(&e->state, 1, __ATOMIC_ACQUIRE);
            __atomic_store_n(&e->referenced, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    pthread_spin_unlock(lock);
    return e;
}

static void hash_insert(gm_mapcache *mc, mc_entry *e)
{
    unsigned int bucket = bucket_of(e->b, e->first, e->writable, is_single(e));
    pthread_spinlock_t *lock = stripe_of(mc, bucket);

    pthread_spin_lock(lock);
    e->hnext = mc->buckets[bucket];
    mc->buckets[bucket] = e;
    pthread_spin_unlock(lock);
}

/* Unlink @e from its chain. Caller holds the stripe lock. */
static void chain_unlink(gm_mapcache *mc, mc_entry *e, unsigned int bucket)
{
    for (mc_entry **pp = &mc->buckets[bucket]; *pp; pp = &(*pp)->hnext) {
        if (*pp == e) {
            *pp = e->hnext;
            return;
        }
    }
}

/* Unlink @e if it has no users; true if it was unlinked. */
static bool hash_remove_unpinned(gm_mapcache *mc, mc_entry *e)
{
    unsigned int bucket = bucket_of(e->b, e->first, e->writable, is_single(e));
    pthread_spinlock_t *lock = stripe_of(mc, bucket);
    int idle = 0;
    bool removed;

    pthread_spin_lock(lock);
    removed = __atomic_compare_exchange_n(&e->state, &idle, MC_RELEASED, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED);
    if (removed)
        chain_unlink(mc, e, bucket);
    pthread_spin_unlock(lock);
    return removed;
}

/* Unlink @e whatever its users, mark it doomed, and take a pin of our own
 * so it cannot be released under us; drop it with unpin semantics. */
static void hash_doom(gm_mapcache *mc, mc_entry *e)
{
    unsigned int bucket = bucket_of(e->b, e->first, e->writable, is_single(e));
    pthread_spinlock_t *lock = stripe_of(mc, bucket);

    pthread_spin_lock(lock);
    chain_unlink(mc, e, bucket);
    __atomic_add_fetch(&e->state, 1 + MC_DOOMED, __ATOMIC_SEQ_CST);
    pthread_spin_unlock(lock);
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
    free(e);
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

static void unmap_list(gm_mapcache *mc, mc_entry *list)
{
    while (list) {
        mc_entry *next = list->hnext;

        entry_unmap_free(mc, list);
        list = next;
    }
}

/* Queue a victim (already out of hash and clock list); returns what must be
 * unmapped now, outside mc->lock. */
static mc_entry *retire_locked(gm_mapcache *mc, mc_entry *e, mc_entry *now)
{
    STAT_SUB(mc, entries, 1);
    mc->cached_bytes -= entry_bytes(e);
    if (!mc->cfg.deferred_unmap) {
        e->hnext = now;
        return e;
    }
    e->hnext = mc->deferred;
    mc->deferred = e;
    if (++mc->ndeferred < MC_DEFER_BATCH)
        return now;
    for (e = mc->deferred; e->hnext; e = e->hnext)
        ;
    e->hnext = now;
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
            !hash_remove_unpinned(mc, e)) {
            TAILQ_INSERT_TAIL(&mc->clock, e, clock);
            continue;
        }
        STAT_ADD(mc, evictions, 1);
        now = retire_locked(mc, e, now);
    }
    return now;
}

/* ---- lookups and misses ------------------------------------------------ */

static mc_entry *entry_new(mc_binding *b, uint64_t first, unsigned int npages, bool writable,
                           void *host)
{
    mc_entry *e = aligned_alloc(64, sizeof(*e));

    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    e->b = b;
    e->first = first;
    e->npages = npages;
    e->writable = writable;
    e->host = host;
    e->state = 1;
    e->referenced = 1;
    return e;
}

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

/* Map and insert; returns the pinned entry (possibly one another thread
 * inserted first), or NULL if the provider refused. */
static mc_entry *miss(gm_mapcache *mc, mc_binding *b, uint64_t page, bool writable)
{
    for (int attempt = 0; attempt < MC_MAP_RETRIES; attempt++) {
        uint64_t generation = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE), first;
        unsigned int npages;
        void *host = provider_map(b, page, writable, &first, &npages);
        mc_entry *e, *old, *victims = NULL;

        if (!host)
            return NULL;
        e = entry_new(b, first, npages, writable, host);
        if (!e) {
            b->p->unmap_pages(b->opaque, host, first, npages);
            return NULL;
        }
        pthread_mutex_lock(&mc->lock);
        old = hash_pin(mc, b, first, writable, npages == 1);
        if (old || __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != generation) {
            pthread_mutex_unlock(&mc->lock);
            STAT_ADD(mc, bytes_mapped, entry_bytes(e));
            if (old) {
                entry_unmap_free(mc, e);
                return old;
            }
            if (attempt + 1 < MC_MAP_RETRIES) {
                entry_unmap_free(mc, e);
                continue;
            }
            /* Invalidations keep racing with us: serve this access from the
             * fresh mapping without caching it; the unpin releases it. */
            e->state = 1 + MC_DOOMED;
            return e;
        }
        hash_insert(mc, e);
        TAILQ_INSERT_TAIL(&mc->clock, e, clock);
        mc->cached_bytes += entry_bytes(e);
        STAT_ADD(mc, entries, 1);
        STAT_ADD(mc, bytes_mapped, entry_bytes(e));
        victims = evict_locked(mc, victims);
        pthread_mutex_unlock(&mc->lock);
        unmap_list(mc, victims);
        return e;
    }
    return NULL;
}

static void unpin(gm_mapcache *mc, mc_entry *e);

/* The entry keyed at @first, pinned, if it covers @page. */
static mc_entry *pin_covering(gm_mapcache *mc, mc_binding *b, uint64_t first, bool writable,
                              uint64_t page, bool single)
{
    mc_entry *e = hash_pin(mc, b, first, writable, single);

    if (e && page - e->first >= e->npages) {
        unpin(mc, e);
        e = NULL;
    }
    return e;
}

/* Cached mapping of @page for @writable: the batch, else the single page. */
static mc_entry *pin_cached(mc_binding *b, uint64_t page, bool writable)
{
    gm_mapcache *mc = b->mc;
    uint64_t batch_first = page & ~((uint64_t)mc->cfg.batch_pages - 1);
    mc_entry *e = NULL;

    if (mc->cfg.batch_pages > 1)
        e = pin_covering(mc, b, batch_first, writable, page, false);
    if (!e)
        e = pin_covering(mc, b, page, writable, page, true);
    return e;
}

/* A pinned entry covering @page for @writable access, or NULL (refused). */
static mc_entry *lookup(mc_binding *b, uint64_t page, bool writable)
{
    gm_mapcache *mc = b->mc;
    mc_entry *e = pin_cached(b, page, writable);

    if (!e && !writable)
        e = pin_cached(b, page, true);
    if (e) {
        STAT_ADD(mc, hits, 1);
        return e;
    }
    STAT_ADD(mc, misses, 1);
    return miss(mc, b, page, writable);
}

static void unpin(gm_mapcache *mc, mc_entry *e)
{
    if (drop_pin(e))
        entry_unmap_free(mc, e);
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

static gm_result mc_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                         gm_attrs attrs)
{
    mc_binding *b = opaque;

    return b->p->copy(b->opaque, offset, buf, len, is_write, attrs);
}

static void binding_destroy(void *opaque);

static const gm_mod_ops mc_ops = {
    .map = mc_map, .unmap = mc_unmap, .destroy = binding_destroy,
};

static const gm_mod_ops mc_copy_ops = {
    .map = mc_map, .unmap = mc_unmap, .copy = mc_copy, .destroy = binding_destroy,
};

/* ---- bindings (one per region) --------------------------------------- */

gm_region *gm_mapcache_region_new(gm_mapcache *mc, gm_system *sys, const char *name,
                                  uint64_t size, const gm_mapcache_provider *provider,
                                  void *opaque)
{
    mc_binding *b;
    gm_region *mr;

    if (!provider || !provider->map_pages || !provider->unmap_pages ||
        provider->page_shift < 9 || provider->page_shift > 30 ||
        (provider->prefer_copy && !provider->copy)) {
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
    mr = gm_region_new_mapped(sys, name, size, provider->prefer_copy ? &mc_copy_ops : &mc_ops,
                              b);
    if (!mr) {
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

/* Take every entry of @b overlapping [first, last] out of the cache. */
static unsigned int drop_range_locked(gm_mapcache *mc, mc_binding *b, uint64_t first,
                                      uint64_t last, mc_entry **now)
{
    mc_entry *e, *next;
    unsigned int n = 0;

    __atomic_add_fetch(&b->generation, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&b->failed_batch, 0, __ATOMIC_RELAXED);
    for (e = TAILQ_FIRST(&mc->clock); e; e = next) {
        next = TAILQ_NEXT(e, clock);
        if (e->b != b || e->first > last || e->first + e->npages - 1 < first)
            continue;
        TAILQ_REMOVE(&mc->clock, e, clock);
        mc->cached_bytes -= entry_bytes(e);
        STAT_SUB(mc, entries, 1);
        n++;
        hash_doom(mc, e);
        /* Drop our pin; whoever drops the last one releases the entry.
         * If it is not us, @e may be gone already: do not touch it. */
        if (drop_pin(e)) {
            e->hnext = *now;
            *now = e;
        }
    }
    /* Deferred unmaps still hold mappings the owner wants gone. */
    for (e = mc->deferred; e && e->hnext; e = e->hnext)
        ;
    if (e) {
        e->hnext = *now;
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
    unmap_list(mc, now);
    binding_put(b);
}

void gm_mapcache_flush(gm_mapcache *mc)
{
    mc_entry *now = NULL, *e, *next;

    pthread_mutex_lock(&mc->lock);
    for (e = TAILQ_FIRST(&mc->clock); e; e = next) {
        next = TAILQ_NEXT(e, clock);
        if (!hash_remove_unpinned(mc, e))
            continue;
        TAILQ_REMOVE(&mc->clock, e, clock);
        mc->cached_bytes -= entry_bytes(e);
        STAT_SUB(mc, entries, 1);
        e->hnext = now;
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
    for (unsigned int i = 0; i < MC_STRIPES; i++)
        pthread_spin_destroy(&mc->stripes[i]);
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
