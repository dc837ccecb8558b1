/* SPDX-License-Identifier: MIT */
/*
 * Concurrency stress test: readers access memory while a writer commits
 * topology changes.
 *
 * Torn views are made detectable by construction. The address range
 * [0, LAYOUT_SIZE) always shows one "layout": a container with two RAM
 * regions side by side, each filled with a signature word carrying the
 * layout's generation and the region's index. The writer replaces the
 * layout in every iteration, always so that each published view shows one
 * complete layout (a transaction that removes one and adds the other, an
 * enable/disable swap, a move, a higher-priority overlay in one implicit
 * commit, or nested transactions). Fresh layouts are created and dropped as
 * they go, so a reader still using one after its last reference would be
 * caught by ASan. A reader therefore checks:
 *
 *   - every word it reads has the right region index for its address;
 *   - every word of one access (even one crossing the two regions) has the
 *     same generation: an access sees one flat view;
 *   - a map or a cache keeps showing what it showed when it was made, even
 *     after the writer dropped that layout.
 *
 * A probe area is churned by non-transactional add/del/move/enable, so a
 * reader may see a hole there (zeros + GM_DECODE_ERROR) but never anything
 * but a probe signature. A per-reader scratch region checks that writes land.
 * Noise regions make the views change elsewhere too.
 *
 * Usage: test_stress [SEED [ITERATIONS]] (or GM_SEED / GM_STRESS_ITERS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#include "check.h"

#define NREADERS 2
#define LAYOUT_REGION 0x4000ull
#define LAYOUT_SIZE (2 * LAYOUT_REGION)
#define PROBE_BASE 0x100000ull
#define PROBE_SIZE 0x1000ull
#define PROBE_ALT (PROBE_BASE + 0x10000)
#define SCRATCH_BASE 0x200000ull
#define NOISE_BASE 0x400000ull
#define NOISE_SPAN 0x10000ull
#define FAR 0x1000000ull
#define FAR2 0x2000000ull
#define SIG_LAYOUT 0x5347ull
#define SIG_PROBE 0x5052ull
#define NPROBES 3
#define NNOISE 4
#define DEFAULT_ITERS 8000
#define WATCHDOG_S 270

struct layout {
    gm_region *c;
    gm_region *ram[2];
    uint64_t gen;
    bool pooled;
};

struct reader {
    pthread_t thread;
    int idx;
    uint64_t rng;
    uint64_t iters;
    uint64_t holes;      /* probe reads that found nothing */
    uint64_t bounce_busy;
};

static struct {
    uint64_t seed, iters;
    gm_system *sys;
    gm_as *as;
    gm_region *root;
    atomic_bool stop;
    struct layout *cur;
    int cur_prio;
    struct layout pool[2];
    uint64_t next_gen;
    gm_region *probe[NPROBES];
    int probe_mapped;  /* index in probe[], or -1 */
    gm_region *noise[NNOISE];
    bool noise_mapped[NNOISE];
    uint64_t rng;
} W;

static void fail(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void fail(const char *who, const char *fmt, ...)
{
    va_list ap;

    flockfile(stderr);
    fprintf(stderr, "FAIL seed=%" PRIu64 " %s: ", W.seed, who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    funlockfile(stderr);
    exit(1);
}

static uint64_t next_rnd(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t wrn(uint64_t n)
{
    return n ? next_rnd(&W.rng) % n : 0;
}

static uint64_t layout_sig(uint64_t gen, unsigned int idx)
{
    return SIG_LAYOUT << 48 | gen << 8 | idx;
}

static uint64_t probe_sig(uint64_t gen)
{
    return SIG_PROBE << 48 | gen << 8;
}

/* ---- the writer's objects ---------------------------------------------- */

static gm_region *ram_with_sig(const char *name, uint64_t size, uint64_t sig)
{
    gm_region *mr = gm_region_new_ram(W.sys, name, size);
    uint64_t *p;

    CHECK(mr != NULL, "gm_region_new_ram(%s): errno %d", name, errno);
    p = gm_region_get_ram_ptr(mr);
    for (uint64_t i = 0; i < size / 8; i++)
        p[i] = sig;
    return mr;
}

static void layout_init(struct layout *l, uint64_t gen, bool pooled)
{
    l->gen = gen;
    l->pooled = pooled;
    l->c = gm_region_new_container(W.sys, "layout", LAYOUT_SIZE);
    CHECK(l->c != NULL, "gm_region_new_container");
    for (unsigned int i = 0; i < 2; i++) {
        l->ram[i] = ram_with_sig(i ? "layout.hi" : "layout.lo", LAYOUT_REGION,
                                 layout_sig(gen, i));
        CHECK(gm_region_add_subregion(l->c, i * LAYOUT_REGION, l->ram[i]) == 0, "add");
    }
}

static void layout_fini(struct layout *l)
{
    gm_region_unref(l->ram[0]);
    gm_region_unref(l->ram[1]);
    gm_region_unref(l->c);
}

static struct layout *layout_pick_next(void)
{
    struct layout *l;

    if (wrn(2)) {
        l = W.cur == &W.pool[0] ? &W.pool[1] : &W.pool[0];
        gm_region_set_enabled(l->c, true);
        return l;
    }
    l = calloc(1, sizeof(*l));
    CHECK(l != NULL, "out of memory");
    layout_init(l, W.next_gen++, false);
    return l;
}

static void layout_release(struct layout *l)
{
    if (l->pooled)
        return;
    layout_fini(l);
    free(l);
}

/* Replace the current layout by another one; every view shows one whole layout. */
static void writer_switch_layout(void)
{
    struct layout *old = W.cur, *nl = layout_pick_next();
    int prio = (int)wrn(11) - 5;

    switch (wrn(5)) {
    case 0: /* one transaction: del + add */
        gm_transaction_begin(W.sys);
        CHECK(gm_region_del_subregion(W.root, old->c) == 0, "del");
        CHECK(gm_region_add_subregion_overlap(W.root, 0, nl->c, prio) == 0, "add");
        gm_transaction_commit(W.sys);
        break;
    case 1: /* add hidden, then swap enabled states in one transaction */
        gm_region_set_enabled(nl->c, false);
        CHECK(gm_region_add_subregion_overlap(W.root, 0, nl->c, prio) == 0, "add");
        gm_transaction_begin(W.sys);
        gm_region_set_enabled(old->c, false);
        gm_region_set_enabled(nl->c, true);
        gm_transaction_commit(W.sys);
        CHECK(gm_region_del_subregion(W.root, old->c) == 0, "del");
        gm_region_set_enabled(old->c, true);
        break;
    case 2: /* add far away, then swap places in one transaction */
        CHECK(gm_region_add_subregion_overlap(W.root, FAR, nl->c, prio) == 0, "add");
        gm_transaction_begin(W.sys);
        gm_region_set_address(old->c, FAR2);
        gm_region_set_address(nl->c, 0);
        gm_transaction_commit(W.sys);
        CHECK(gm_region_del_subregion(W.root, old->c) == 0, "del");
        break;
    case 3: /* cover with a higher priority: one implicit commit */
        prio = W.cur_prio + 1;
        CHECK(gm_region_add_subregion_overlap(W.root, 0, nl->c, prio) == 0, "add");
        CHECK(gm_region_del_subregion(W.root, old->c) == 0, "del");
        break;
    default: /* nested transactions */
        gm_transaction_begin(W.sys);
        gm_transaction_begin(W.sys);
        CHECK(gm_region_del_subregion(W.root, old->c) == 0, "del");
        gm_transaction_commit(W.sys);
        CHECK(gm_region_add_subregion_overlap(W.root, 0, nl->c, prio) == 0, "add");
        gm_region_set_size(nl->c, LAYOUT_SIZE + wrn(2) * 0x1000);
        gm_transaction_commit(W.sys);
        break;
    }
    W.cur = nl;
    W.cur_prio = prio;
    layout_release(old);
}

/* Non-transactional churn of the probe area: holes are allowed there. */
static void writer_churn_probe(void)
{
    int next = (int)wrn(NPROBES);

    switch (wrn(3)) {
    case 0:
        if (W.probe_mapped >= 0) {
            CHECK(gm_region_del_subregion(W.root, W.probe[W.probe_mapped]) == 0, "del probe");
            W.probe_mapped = -1;
        } else {
            CHECK(gm_region_add_subregion(W.root, PROBE_BASE, W.probe[next]) == 0, "add probe");
            W.probe_mapped = next;
        }
        break;
    case 1:
        if (W.probe_mapped >= 0)
            gm_region_set_address(W.probe[W.probe_mapped], wrn(2) ? PROBE_BASE : PROBE_ALT);
        break;
    default:
        if (W.probe_mapped >= 0)
            gm_region_set_enabled(W.probe[W.probe_mapped],
                                  !gm_region_is_enabled(W.probe[W.probe_mapped]));
        break;
    }
}

static void writer_churn_noise(void)
{
    int i = (int)wrn(NNOISE);
    gm_region *mr = W.noise[i];

    switch (wrn(4)) {
    case 0:
        if (W.noise_mapped[i]) {
            CHECK(gm_region_del_subregion(W.root, mr) == 0, "del noise");
        } else {
            CHECK(gm_region_add_subregion_overlap(W.root, NOISE_BASE + wrn(NOISE_SPAN), mr,
                                                  (int)wrn(5) - 2) == 0, "add noise");
        }
        W.noise_mapped[i] = !W.noise_mapped[i];
        break;
    case 1:
        gm_region_set_address(mr, NOISE_BASE + wrn(NOISE_SPAN));
        break;
    case 2:
        gm_region_set_enabled(mr, !gm_region_is_enabled(mr));
        break;
    default:
        if (gm_region_is_ram(mr))
            CHECK(gm_region_set_size(mr, 1 + wrn(0x2000)) == 0, "resize noise");
        else
            CHECK(gm_region_set_size(mr, 1 + wrn(0x4000)) == 0, "resize noise");
        break;
    }
}

static uint64_t noise_read(void *opaque, gm_addr addr, unsigned int size)
{
    (void)opaque;
    (void)size;
    return addr * 0x0101010101010101ull;
}

static void noise_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)data;
    (void)size;
}

static const gm_region_ops noise_ops = {
    .read = noise_read,
    .write = noise_write,
    .endianness = GM_ENDIAN_LITTLE,
    .valid = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
    .impl = { .min_access_size = 1, .max_access_size = 8, .unaligned = true },
};

static void log_discard(void *opaque, enum gm_log_level level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

static void writer_setup(void)
{
    char name[32];

    W.sys = gm_system_new(0);
    CHECK(W.sys != NULL, "gm_system_new");
    gm_system_set_log(W.sys, log_discard, NULL, false); /* holes are expected */
    W.root = gm_region_new_container(W.sys, "system", GM_SIZE_2_64);
    W.as = gm_as_new(W.sys, W.root, "memory");
    CHECK(W.root && W.as, "root");
    W.next_gen = 1;
    layout_init(&W.pool[0], W.next_gen++, true);
    layout_init(&W.pool[1], W.next_gen++, true);
    W.cur = &W.pool[0];
    CHECK(gm_region_add_subregion(W.root, 0, W.cur->c) == 0, "add layout");
    for (int i = 0; i < NPROBES; i++) {
        snprintf(name, sizeof(name), "probe%d", i);
        W.probe[i] = ram_with_sig(name, PROBE_SIZE, probe_sig(i));
    }
    CHECK(gm_region_add_subregion(W.root, PROBE_BASE, W.probe[0]) == 0, "add probe");
    W.probe_mapped = 0;
    for (int i = 0; i < NNOISE; i++) {
        snprintf(name, sizeof(name), "noise%d", i);
        if (i % 2)
            W.noise[i] = gm_region_new_io(W.sys, name, 0x1000, &noise_ops, NULL);
        else
            W.noise[i] = gm_region_new_ram(W.sys, name, 0x2000);
        CHECK(W.noise[i] != NULL, "noise");
    }
    for (int i = 0; i < NREADERS; i++) {
        gm_region *scratch;

        snprintf(name, sizeof(name), "scratch%d", i);
        scratch = gm_region_new_ram(W.sys, name, 0x1000);
        CHECK(scratch != NULL, "scratch");
        CHECK(gm_region_add_subregion(W.root, SCRATCH_BASE + i * 0x1000ull, scratch) == 0,
              "add scratch");
        gm_region_unref(scratch); /* the root keeps it */
    }
}

static void writer_teardown(void)
{
    gm_as_free(W.as);
    if (!W.cur->pooled)
        layout_release(W.cur);
    layout_fini(&W.pool[0]);
    layout_fini(&W.pool[1]);
    for (int i = 0; i < NPROBES; i++)
        gm_region_unref(W.probe[i]);
    for (int i = 0; i < NNOISE; i++)
        gm_region_unref(W.noise[i]);
    gm_region_unref(W.root);
    gm_system_free(W.sys);
}

/* ---- readers ------------------------------------------------------------ */

struct held_map {
    uint64_t *p;
    uint64_t addr, len, gen;
    int ttl;
};

struct held_cache {
    gm_cache c;
    uint64_t addr, len, gen;
    int ttl;
};

static uint64_t rrn(struct reader *r, uint64_t n)
{
    return n ? next_rnd(&r->rng) % n : 0;
}

/*
 * Check @n words read at layout address @addr (8-aligned): right region
 * index for the address, one generation for all. Returns the generation.
 */
static uint64_t check_layout_words(struct reader *r, const char *what, const uint64_t *w,
                                   uint64_t n, uint64_t addr)
{
    char who[32];
    uint64_t gen = 0;

    snprintf(who, sizeof(who), "reader %d iter %" PRIu64, r->idx, r->iters);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a = addr + 8 * i, v = w[i];
        unsigned int idx = (unsigned int)(a / LAYOUT_REGION);

        if (v >> 48 != SIG_LAYOUT || (v & 0xff) != idx)
            fail(who, "%s: word at 0x%" PRIx64 " is 0x%016" PRIx64 ", want region %u of a "
                 "layout", what, a, v, idx);
        if (i == 0)
            gen = (v >> 8) & 0xffffffffffull;
        else if (((v >> 8) & 0xffffffffffull) != gen)
            fail(who, "%s: torn view: word at 0x%" PRIx64 " from layout %" PRIu64
                 ", word at 0x%" PRIx64 " from layout %" PRIu64, what, addr, gen, a,
                 (uint64_t)((v >> 8) & 0xffffffffffull));
    }
    return gen;
}

static void reader_read(struct reader *r)
{
    uint64_t buf[64], n, addr;
    gm_result res;

    if (rrn(r, 2)) {
        /* straddle the two regions */
        n = 2 * (1 + rrn(r, 8));
        addr = LAYOUT_REGION - 8 * (n / 2);
    } else {
        n = 1 + rrn(r, 64);
        addr = 8 * rrn(r, LAYOUT_SIZE / 8 - n + 1);
    }
    res = gm_as_read(W.as, addr, GM_ATTRS_UNSPECIFIED, buf, 8 * n);
    if (res != GM_OK)
        fail("reader", "gm_as_read(0x%" PRIx64 ", %" PRIu64 ") = 0x%x", addr, 8 * n, res);
    check_layout_words(r, "gm_as_read", buf, n, addr);
}

static void reader_ld(struct reader *r)
{
    uint64_t addr = 8 * rrn(r, LAYOUT_SIZE / 8), v = 0;
    gm_result res = gm_as_ld64_le(W.as, addr, GM_ATTRS_UNSPECIFIED, &v);

    if (res != GM_OK)
        fail("reader", "gm_as_ld64_le(0x%" PRIx64 ") = 0x%x", addr, res);
    check_layout_words(r, "gm_as_ld64_le", &v, 1, addr);
}

static void reader_lookup(struct reader *r)
{
    uint64_t addr = 8 * rrn(r, LAYOUT_SIZE / 8), v;
    gm_section s;
    const uint8_t *p;

    if (!gm_as_lookup(W.as, addr, &s))
        fail("reader", "gm_as_lookup(0x%" PRIx64 "): hole in the layout area", addr);
    p = gm_region_get_ram_ptr(s.mr);
    if (!p || addr < s.offset_within_address_space)
        fail("reader", "gm_as_lookup(0x%" PRIx64 "): bad section", addr);
    memcpy(&v, p + s.offset_within_region + (addr - s.offset_within_address_space), 8);
    check_layout_words(r, "gm_as_lookup", &v, 1, addr);
    gm_region_unref(s.mr);
}

static void reader_map(struct reader *r, struct held_map *m)
{
    if (m->p) {
        if (--m->ttl > 0)
            return;
        /* still what it was, although the layout may be long gone */
        if (check_layout_words(r, "held map", m->p, m->len / 8, m->addr) != m->gen)
            fail("reader", "held map changed generation");
        gm_as_unmap(W.as, m->p, m->len, false, 0);
        m->p = NULL;
        return;
    }
    m->addr = 8 * rrn(r, LAYOUT_SIZE / 8);
    m->len = 8 * (1 + rrn(r, 512));
    m->p = gm_as_map(W.as, m->addr, &m->len, false, GM_ATTRS_UNSPECIFIED);
    if (!m->p || m->len < 8 || m->len % 8)
        fail("reader", "gm_as_map(0x%" PRIx64 ") = %p len %" PRIu64, m->addr, (void *)m->p,
             m->len);
    m->gen = check_layout_words(r, "gm_as_map", m->p, m->len / 8, m->addr);
    m->ttl = (int)rrn(r, 20);
}

static void reader_cache(struct reader *r, struct held_cache *hc)
{
    uint64_t buf[32];
    gm_result res;
    int64_t n;

    if (hc->len) {
        res = gm_cache_read(&hc->c, 0, buf, hc->len);
        if (res != GM_OK)
            fail("reader", "held cache read: 0x%x", res);
        if (check_layout_words(r, "held cache", buf, hc->len / 8, hc->addr) != hc->gen)
            fail("reader", "held cache changed generation");
        if (--hc->ttl > 0)
            return;
        gm_cache_destroy(&hc->c);
        hc->len = 0;
        return;
    }
    hc->addr = 8 * rrn(r, LAYOUT_SIZE / 8);
    n = gm_cache_init(&hc->c, W.as, hc->addr, 8 * (1 + rrn(r, 32)), false);
    if (n < 8)
        fail("reader", "gm_cache_init(0x%" PRIx64 ") = %" PRId64, hc->addr, n);
    hc->len = (uint64_t)n & ~7ull;
    res = gm_cache_read(&hc->c, 0, buf, hc->len);
    if (res != GM_OK)
        fail("reader", "cache read: 0x%x", res);
    hc->gen = check_layout_words(r, "gm_cache_read", buf, hc->len / 8, hc->addr);
    hc->ttl = (int)rrn(r, 20);
}

static void reader_scratch(struct reader *r)
{
    uint64_t addr = SCRATCH_BASE + r->idx * 0x1000ull + 8 * rrn(r, 0x1000 / 8);
    uint64_t v = next_rnd(&r->rng), back = 0;
    uint8_t buf[64], got[64];
    gm_result res;

    if (rrn(r, 2)) {
        res = gm_as_st64_le(W.as, addr, GM_ATTRS_UNSPECIFIED, v) |
              gm_as_ld64_le(W.as, addr, GM_ATTRS_UNSPECIFIED, &back);
        if (res != GM_OK || back != v)
            fail("reader", "scratch 0x%" PRIx64 ": wrote 0x%" PRIx64 ", read 0x%" PRIx64
                 " (0x%x)", addr, v, back, res);
        return;
    }
    addr = SCRATCH_BASE + r->idx * 0x1000ull + rrn(r, 0x1000 - sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(v >> (i % 8 * 8)) ^ (uint8_t)i;
    res = gm_as_write(W.as, addr, GM_ATTRS_UNSPECIFIED, buf, sizeof(buf)) |
          gm_as_read(W.as, addr, GM_ATTRS_UNSPECIFIED, got, sizeof(got));
    if (res != GM_OK || memcmp(buf, got, sizeof(buf)) != 0)
        fail("reader", "scratch 0x%" PRIx64 ": read-back differs (0x%x)", addr, res);
}

static void reader_probe(struct reader *r)
{
    uint64_t addr = (rrn(r, 2) ? PROBE_BASE : PROBE_ALT) + 8 * rrn(r, PROBE_SIZE / 8), v = 1;
    gm_result res = gm_as_ld64_le(W.as, addr, GM_ATTRS_UNSPECIFIED, &v);

    if (res == GM_DECODE_ERROR && v == 0) {
        r->holes++;
        return;
    }
    if (res != GM_OK || v >> 48 != SIG_PROBE || (v & 0xffffffffffull) >= (NPROBES << 8))
        fail("reader", "probe 0x%" PRIx64 ": 0x%016" PRIx64 " result 0x%x", addr, v, res);
}

static void reader_noise(struct reader *r)
{
    uint8_t buf[256];
    uint64_t addr = NOISE_BASE + rrn(r, NOISE_SPAN + 0x4000), len = 1 + rrn(r, sizeof(buf));
    gm_result res;

    if (rrn(r, 4) == 0) {
        uint64_t plen = len;
        void *p = gm_as_map(W.as, addr, &plen, rrn(r, 2), GM_ATTRS_UNSPECIFIED);

        if (!p) {
            r->bounce_busy++;
            return;
        }
        gm_as_unmap(W.as, p, plen, false, 0);
        return;
    }
    if (rrn(r, 2)) {
        memset(buf, 0x77, len);
        res = gm_as_write(W.as, addr, GM_ATTRS_UNSPECIFIED, buf, len);
    } else {
        res = gm_as_read(W.as, addr, GM_ATTRS_UNSPECIFIED, buf, len);
    }
    if (res & ~GM_DECODE_ERROR)
        fail("reader", "noise access 0x%" PRIx64 "+%" PRIu64 ": 0x%x", addr, len, res);
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct held_map m = { 0 };
    struct held_cache hc = { .c = GM_CACHE_INIT };

    while (!atomic_load_explicit(&W.stop, memory_order_acquire)) {
        switch (rrn(r, 10)) {
        case 0: case 1: case 2: reader_read(r); break;
        case 3: reader_ld(r); break;
        case 4: reader_lookup(r); break;
        case 5: reader_map(r, &m); break;
        case 6: reader_cache(r, &hc); break;
        case 7: reader_scratch(r); break;
        case 8: reader_probe(r); break;
        default: reader_noise(r); break;
        }
        r->iters++;
    }
    if (m.p)
        gm_as_unmap(W.as, m.p, m.len, false, 0);
    if (hc.len)
        gm_cache_destroy(&hc.c);
    return NULL;
}

/* ---- main -------------------------------------------------------------- */

static void watchdog(int sig)
{
    static const char msg[] = "test_stress: watchdog expired (deadlock?)\n";

    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(2);
}

static uint64_t arg_or_env(int argc, char **argv, int idx, const char *env, uint64_t dflt)
{
    const char *s = argc > idx ? argv[idx] : getenv(env);

    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

int main(int argc, char **argv)
{
    struct reader readers[NREADERS];
    struct timespec t0, t1;
    uint64_t gen0;

    W.seed = arg_or_env(argc, argv, 1, "GM_SEED", (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16);
    W.iters = arg_or_env(argc, argv, 2, "GM_STRESS_ITERS", DEFAULT_ITERS);
    W.rng = W.seed;
    printf("test_stress: seed=%" PRIu64 " iterations=%" PRIu64 "\n", W.seed, W.iters);
    fflush(stdout);
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    writer_setup();
    gen0 = gm_system_generation(W.sys);
    for (int i = 0; i < NREADERS; i++) {
        readers[i] = (struct reader){ .idx = i, .rng = W.seed * 31 + (uint64_t)i + 1 };
        CHECK(pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]) == 0,
              "pthread_create");
    }
    for (uint64_t it = 0; it < W.iters; it++) {
        writer_switch_layout();
        writer_churn_probe();
        writer_churn_noise();
    }
    atomic_store_explicit(&W.stop, true, memory_order_release);
    for (int i = 0; i < NREADERS; i++)
        CHECK(pthread_join(readers[i].thread, NULL) == 0, "pthread_join");
    clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("ok - %" PRIu64 " commits in %.1f s; reader iterations %" PRIu64 " and %" PRIu64
           " (probe holes %" PRIu64 ", bounce busy %" PRIu64 ")\n",
           gm_system_generation(W.sys) - gen0,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, readers[0].iters,
           readers[1].iters, readers[0].holes + readers[1].holes,
           readers[0].bounce_busy + readers[1].bounce_busy);
    writer_teardown();
    return 0;
}
