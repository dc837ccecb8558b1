/* SPDX-License-Identifier: MIT */
/*
 * The guestmem side of scripts/bench-vm-memory.sh.
 *
 * Usage: guestmem-side NREG
 *
 * The workload, the same in src/main.rs (vm-memory):
 * - NREG RAM regions of 256 MiB / NREG bytes each, region i at guest
 *   address i * 2 * size: every region followed by a gap of its own size.
 *   Every page is written before timing (no page faults, no zero page).
 * - For each row, NR_ACCESSES (2^21) guest addresses drawn from xorshift64*
 *   with a seed per row: a random region, and in it a random multiple of the
 *   access size (4096 for 4 KiB reads, 8 for u64 loads, 1 for lookups).
 * - Each row runs over the first NR_ACCESSES / 8 addresses untimed, then
 *   over all of them timed, and prints "ROW NS": mean ns per access.
 *
 * Rows: memcpy_4k (memcpy from the region's host memory: the physical
 * limit of read_4k), read_4k (gm_as_read), load_u64 (a plain load through
 * a host pointer: the limit of ld_u64), ld_u64 (gm_as_ld64_le), lookup
 * (gm_as_lookup_rcu in its own RCU read-side section, as a caller without
 * a section of its own would do), lookup_held (gm_as_lookup_rcu in the
 * caller's section, one per 64 lookups, as a device holds one across a
 * request). The limits look up the host address of each access in a table
 * made before timing, so they pay one table load per access, as the other
 * rows pay one address load.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <guestmem/guestmem.h>

#define TOTAL (256ull << 20)
#define NR_ACCESSES (1u << 21)
#define WARMUP (NR_ACCESSES / 8)
#define PAGE 4096u

/* Makes the compiler believe all memory was read: the copy is kept. */
#define CLOBBER() __asm__ volatile("" ::: "memory")

struct world {
    uint64_t nreg;
    uint64_t size;
    gm_system *sys;
    gm_region *root;
    gm_as *as;
    uint8_t **host;   /* host memory of each region */
    uint64_t *addrs;  /* the row's guest addresses */
    uint8_t **ptrs;   /* the same as host pointers */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void die(const char *what)
{
    fprintf(stderr, "guestmem-side: %s\n", what);
    exit(1);
}

/* The row's addresses, as src/main.rs draws them, and their host pointers. */
static void draw(struct world *w, uint64_t align, uint64_t seed)
{
    uint64_t state = 0x9e3779b97f4a7c15ull ^ seed;

    for (uint64_t i = 0; i < NR_ACCESSES; i++) {
        uint64_t x = rng_next(&state);
        uint64_t region = (x >> 32) % w->nreg;
        uint64_t offset = ((x & 0xffffffffu) % (w->size / align)) * align;

        w->addrs[i] = region * 2 * w->size + offset;
        w->ptrs[i] = w->host[region] + offset;
    }
}

static void build(struct world *w)
{
    w->sys = gm_system_new(0);
    w->root = w->sys ? gm_region_new_container(w->sys, "root", 2 * TOTAL) : NULL;
    w->as = w->root ? gm_as_new(w->sys, w->root, "bench") : NULL;
    w->host = calloc(w->nreg, sizeof(*w->host));
    w->addrs = malloc(NR_ACCESSES * sizeof(*w->addrs));
    w->ptrs = malloc(NR_ACCESSES * sizeof(*w->ptrs));
    if (!w->as || !w->host || !w->addrs || !w->ptrs)
        die("cannot create the memory system");
    gm_transaction_begin(w->sys);
    for (uint64_t i = 0; i < w->nreg; i++) {
        gm_region *mr = gm_region_new_ram(w->sys, "ram", w->size);

        if (!mr || gm_region_add_subregion(w->root, i * 2 * w->size, mr) < 0)
            die("cannot add a RAM region");
        w->host[i] = gm_region_get_ram_ptr(mr);
        memset(w->host[i], 0x5a, w->size);
        gm_region_unref(mr);
    }
    gm_transaction_commit(w->sys);
}

/* One row: warm up, then time; the loops differ only in their bodies. */
#define TIME_ROW(name, body)                                         \
    do {                                                             \
        uint64_t acc_ = 0, t0_;                                      \
        for (uint64_t i = 0; i < WARMUP; i++) {                      \
            body;                                                    \
        }                                                            \
        t0_ = now_ns();                                              \
        for (uint64_t i = 0; i < NR_ACCESSES; i++) {                 \
            body;                                                    \
        }                                                            \
        printf("%s %.2f\n", (name), (double)(now_ns() - t0_) / NR_ACCESSES); \
        sink += acc_;                                                \
    } while (0)

int main(int argc, char **argv)
{
    struct world w = { 0 };
    static uint8_t buf[PAGE];
    gm_result res = GM_OK;
    uint64_t sink = 0;

    w.nreg = argc == 2 ? strtoull(argv[1], NULL, 0) : 0;
    if (w.nreg < 1 || w.nreg > 65536 || (TOTAL / w.nreg) % PAGE) {
        fprintf(stderr, "usage: guestmem-side NREG (a divisor of 65536)\n");
        return 2;
    }
    w.size = TOTAL / w.nreg;
    build(&w);

    draw(&w, PAGE, 1);
    TIME_ROW("memcpy_4k", {
        memcpy(buf, w.ptrs[i], PAGE);
        CLOBBER();
        acc_ += buf[w.addrs[i] % PAGE];
    });
    TIME_ROW("read_4k", {
        res |= gm_as_read(w.as, w.addrs[i], GM_ATTRS_UNSPECIFIED, buf, PAGE);
        acc_ += buf[w.addrs[i] % PAGE];
    });

    draw(&w, 8, 2);
    TIME_ROW("load_u64", {
        uint64_t v;

        memcpy(&v, w.ptrs[i], 8);
        acc_ += v;
    });
    TIME_ROW("ld_u64", {
        uint64_t v;

        res |= gm_as_ld64_le(w.as, w.addrs[i], GM_ATTRS_UNSPECIFIED, &v);
        acc_ += v;
    });

    draw(&w, 1, 3);
    TIME_ROW("lookup", {
        gm_section s;

        gm_rcu_read_lock();
        if (gm_as_lookup_rcu(w.as, w.addrs[i], &s))
            acc_ += s.offset_within_address_space;
        else
            res |= GM_DECODE_ERROR;
        gm_rcu_read_unlock();
    });

    TIME_ROW("lookup_held", {
        gm_section s;

        if (i % 64 == 0)
            gm_rcu_read_lock();
        if (gm_as_lookup_rcu(w.as, w.addrs[i], &s))
            acc_ += s.offset_within_address_space;
        else
            res |= GM_DECODE_ERROR;
        if (i % 64 == 63)
            gm_rcu_read_unlock();
    });

    if (res != GM_OK)
        die("an access failed");
    fprintf(stderr, "checksum %" PRIx64 "\n", sink);
    gm_as_free(w.as);
    gm_region_unref(w.root);
    gm_system_free(w.sys);
    return 0;
}
