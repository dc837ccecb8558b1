/* SPDX-License-Identifier: MIT */
/*
 * Shared definitions of guestmem-bench: run configuration, timing and
 * statistics helpers, the fixtures several metrics build on, and one entry
 * point per metric.
 *
 * Glossary (as in the library): sys the gm_system, mr a region, as an address
 * space, addr a guest address, len a byte count. A "sample" is one timed run
 * of a loop; a metric reports the median of cfg->reps samples taken after one
 * untimed warm-up sample, and their spread (smallest and largest). A sample
 * that is itself made of many short timed pieces (a "chunk": a pass, or a
 * pair of passes for a ratio) reports the median of its chunks, so that a
 * chunk during which a neighbour took the core is left out instead of
 * averaged in (bench_median()).
 *
 * Every metric entry point returns its value, or NAN when its fixture could
 * not be built (the reason is printed on stderr). Nothing here keeps state
 * between calls: each metric builds and tears down its own memory system.
 */
#ifndef GUESTMEM_BENCH_H
#define GUESTMEM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <guestmem/guestmem.h>

/**
 * struct bench_cfg - how hard to measure.
 * @quick: short loops and small sizes, for smoke testing
 * @reps: timed samples per metric (the median is reported)
 * @notes: detail lines (bench_note()) will be printed, so measurements that
 *         only feed them are worth making
 */
struct bench_cfg {
    bool quick;
    unsigned int reps;
    bool notes;
};

/** bench_pick() - @full for a normal run, @quick under --quick. */
static inline uint64_t bench_pick(const struct bench_cfg *cfg, uint64_t full, uint64_t quick)
{
    return cfg->quick ? quick : full;
}

/** bench_now_ns() - CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Compiler barriers. bench_keep() makes the compiler believe @v is read and
 * changed, so a loop that accumulates into it can neither be deleted nor
 * vectorized; bench_clobber() makes it believe all memory was read, so stores
 * into buffers nobody reads afterwards are kept.
 */
#define bench_keep(v) __asm__ volatile("" : "+r"(v))
#define bench_clobber() __asm__ volatile("" ::: "memory")

/**
 * typedef bench_sample_fn - time one run of a loop.
 * @ctx: the metric's fixture
 * Return: the sample (ns per operation, or a ratio), or NAN on failure.
 */
typedef double (*bench_sample_fn)(void *ctx);

/**
 * bench_median_of() - warm up once, then take cfg->reps samples.
 * @cfg: configuration
 * @fn: the sampler
 * @ctx: passed to @fn
 *
 * The smallest and largest sample become the spread of the metric being
 * measured (bench_spread()); a metric that calls this more than once (to
 * add a comparison in a note) reports the spread of its first call, so it
 * measures its own value first.
 * Return: the median sample, or NAN if any sample failed.
 */
double bench_median_of(const struct bench_cfg *cfg, bench_sample_fn fn, void *ctx);

/**
 * bench_median() - the median of @n values (@n > 0); sorts @v.
 * Return: the middle value, or the mean of the two middle ones.
 */
double bench_median(double *v, size_t n);

/**
 * typedef bench_pass_fn - time one pass (or chunk) of a loop.
 * @ctx: the metric's fixture
 * Return: nanoseconds.
 */
typedef uint64_t (*bench_pass_fn)(void *ctx);

/**
 * bench_pair_ratios() - @n pairs of passes, @num and @den, in alternating
 * order (neither always follows the other); the median of the pairs'
 * ratios, time of @num / time of @den.
 * @n: pairs, at most BENCH_MAX_PAIRS (more are cut)
 * Return: the median ratio.
 */
double bench_pair_ratios(unsigned int n, bench_pass_fn num, bench_pass_fn den, void *ctx);

/** BENCH_MAX_PAIRS - most pairs bench_pair_ratios() takes. */
#define BENCH_MAX_PAIRS 1024u

/**
 * bench_spread() - record the spread (smallest and largest sample) of the
 * metric being measured, unless one is recorded already; printed beside its
 * median, in the table and in --json. Called by bench_median_of(); a metric
 * that never calls it has no spread.
 */
void bench_spread(double min, double max);

/** bench_rng_next() - xorshift64*: a fast generator whose state is the caller's. */
static inline uint64_t bench_rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/** bench_fail() - print "guestmem-bench: @what: @why" on stderr. Return: NAN. */
double bench_fail(const char *what, const char *why);

/**
 * bench_map_loop() - time @iters gm_as_map() + gm_as_unmap() pairs for
 * reading, over consecutive @len-byte blocks of the first @span bytes of @as.
 * @what, @why: the bench_fail() message when a map fails or comes back short
 * Return: nanoseconds per pair, or NAN.
 */
double bench_map_loop(gm_as *as, uint64_t span, uint64_t len, uint64_t iters, const char *what,
                      const char *why);

/**
 * struct bench_as - a memory system with one address space over a container.
 * @sys: the system
 * @root: the container (the fixture's reference)
 * @as: the address space over @root
 */
struct bench_as {
    gm_system *sys;
    gm_region *root;
    gm_as *as;
};

/**
 * bench_as_init() - build an empty system and address space.
 * @b: filled in
 * @size: size of the root container
 * Return: 0, or -ENOMEM (a message has been printed).
 */
int bench_as_init(struct bench_as *b, uint64_t size);

/** bench_as_fini() - tear down what bench_as_init() built (and every subregion). */
void bench_as_fini(struct bench_as *b);

/**
 * bench_as_add() - map @mr at @addr in the root and drop the caller's reference.
 * @b: the fixture
 * @addr: offset in the root
 * @mr: a new region, or NULL (treated as a failed constructor)
 * Return: @mr (now referenced only by the root), or NULL.
 */
gm_region *bench_as_add(struct bench_as *b, gm_addr addr, gm_region *mr);

/**
 * bench_as_add_ram_array() - map @n windows of @page bytes back to back, all
 * onto the same RAM page.
 * @b: the fixture
 * @n: number of windows; window i sits at i * @page
 * @page: bytes per window
 * @mrs: if not NULL, receives the windows (not referenced)
 *
 * Each window is an alias of its own onto offset 0 of one RAM region, so the
 * view has @n flat ranges that cannot merge (their offsets in the region are
 * not contiguous), while every access lands on the same host page and stays
 * in L1: what grows with @n is the flat view, not the data. (Distinct RAM
 * regions cannot share host memory, and 65536 of them would cost 65536
 * mappings.) All windows are added in one transaction: one render.
 * Return: 0, or -ENOMEM.
 */
int bench_as_add_ram_array(struct bench_as *b, uint64_t n, uint64_t page, gm_region **mrs);

/** bench_alloc() - @len bytes of page-aligned memory, already faulted in, or NULL. */
void *bench_alloc(size_t len);

/** bench_free() - release bench_alloc() memory. */
void bench_free(void *p, size_t len);

/**
 * bench_note() - attach a line of detail (counters, hit rates) to the metric
 * being measured. The table output prints it indented under the metric's
 * line; --json drops it. Lines longer than 160 bytes are cut.
 */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Dynamic mappings (bench_grant.c, bench_iommu.c): guest RAM in a memfd,
 * reached as plain RAM, through grants or through an IOMMU, all read with
 * the same pre-drawn random 4 KiB pages.
 */

/** BENCH_GUEST_PAGE - bytes per access and per grant/IOMMU page. */
#define BENCH_GUEST_PAGE 4096u

/** BENCH_GUEST_SIZE - the working set: 64 MiB of guest RAM (16384 pages). */
#define BENCH_GUEST_SIZE (64u << 20)

/** BENCH_GUEST_NR_ADDRS - random page numbers drawn once per fixture (a power of two). */
#define BENCH_GUEST_NR_ADDRS (1u << 16)

/**
 * struct bench_guest - guest RAM and the access pattern every metric replays.
 * @fd: memfd of BENCH_GUEST_SIZE bytes, every page filled with a non-zero
 *      byte of its own (so each page has its own frame)
 * @pages: pages of guest RAM
 * @addrs: BENCH_GUEST_NR_ADDRS random page numbers below @pages
 * @cursor: where the next sample continues in @addrs
 * @iters: accesses per sample
 * @buf: the BENCH_GUEST_PAGE destination of every read
 */
struct bench_guest {
    int fd;
    uint64_t pages;
    uint32_t *addrs;
    uint64_t cursor;
    uint64_t iters;
    uint8_t *buf;
};

/**
 * bench_guest_init() - create guest RAM and draw the access pattern.
 * @g: filled in
 * @iters: accesses per sample
 * Return: 0, or -ENOMEM / -errno (a message has been printed).
 */
int bench_guest_init(struct bench_guest *g, uint64_t iters);

/** bench_guest_fini() - release what bench_guest_init() made. */
void bench_guest_fini(struct bench_guest *g);

/**
 * bench_guest_read_pages() - gm_as_read() BENCH_GUEST_PAGE bytes at
 * @base + page * BENCH_GUEST_PAGE for @n pages of @pages, starting at index
 * @start and wrapping with @mask (a power of two minus one).
 * Return: mean ns per read, or NAN (message printed) if any read failed.
 */
double bench_guest_read_pages(struct bench_guest *g, gm_as *as, gm_addr base,
                              const uint32_t *pages, uint64_t mask, uint64_t start, uint64_t n);

/**
 * bench_guest_sample() - one sample: @g->iters reads of the random pattern
 * (continuing where the previous sample stopped).
 * Return: mean ns per read, or NAN.
 */
double bench_guest_sample(struct bench_guest *g, gm_as *as, gm_addr base);

/* Metrics. @arg is the metric's parameter from the registry in main.c. */
double bench_lookup_ns(const struct bench_cfg *cfg, uint64_t nr_sections);
double bench_lookup_stream_ns(const struct bench_cfg *cfg, uint64_t nr_sections);
double bench_lookup_ref_ns(const struct bench_cfg *cfg, uint64_t nr_sections);
double bench_read8_ns(const struct bench_cfg *cfg, uint64_t nr_sections);
double bench_read_vs_memcpy(const struct bench_cfg *cfg, uint64_t len);
double bench_write_vs_memcpy(const struct bench_cfg *cfg, uint64_t len);
double bench_read_hot_vs_memcpy(const struct bench_cfg *cfg, uint64_t len);
double bench_write_hot_vs_memcpy(const struct bench_cfg *cfg, uint64_t len);
double bench_cached_ld4_vs_raw(const struct bench_cfg *cfg, uint64_t ring_len);
double bench_map_unmap_ram_ns(const struct bench_cfg *cfg, uint64_t len);
double bench_bounce_map_unmap_ns(const struct bench_cfg *cfg, uint64_t len);
double bench_mmio_ld4_ns(const struct bench_cfg *cfg, uint64_t unused);
double bench_commit_us(const struct bench_cfg *cfg, uint64_t nr_regions);
double bench_ram_direct_ns(const struct bench_cfg *cfg, uint64_t unused);
double bench_grant_naive_ns(const struct bench_cfg *cfg, uint64_t unused);
double bench_grant_cached_ns(const struct bench_cfg *cfg, uint64_t unused);
double bench_grant_batch_ns(const struct bench_cfg *cfg, uint64_t batch_pages);
double bench_iommu_iotlb_hit_ns(const struct bench_cfg *cfg, uint64_t unused);
/* @arg: guest bytes, | BENCH_VHOST_LOG to log dirty pages (bench_vhost_log.c). */
#define BENCH_VHOST_LOG (1ull << 63)
double bench_vhost_log_req_us(const struct bench_cfg *cfg, uint64_t arg);

#endif
