/* SPDX-License-Identifier: MIT */
/*
 * Request generation: sizes, offsets and directions (bp_workload.h).
 *
 * Random offsets are uniform over the aligned positions where the request
 * fits in the region. Sequential offsets come from one shared cursor
 * advanced with compare-and-swap; at the end of the region it wraps to the
 * start, or, for a one-pass job, the last request is cut to what is left
 * and the job ends.
 *
 * The generator is xoshiro256** (Blackman and Vigna), seeded through
 * SplitMix64.
 */
#define _GNU_SOURCE
#include "bp_workload.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void bp_rng_seed(bp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

uint64_t bp_rng_next(bp_rng *r)
{
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t bp_rng_below(bp_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)bp_rng_next(r) * n) >> 64);
}

const char *bp_rw_name(enum bp_rw rw)
{
    static const char *const names[] = { "read", "write", "randread", "randwrite", "randrw" };

    return names[rw];
}

bool bp_rw_writes(enum bp_rw rw)
{
    return rw == BP_RW_WRITE || rw == BP_RW_RANDWRITE || rw == BP_RW_RANDRW;
}

static uint32_t pick_len(const bp_job *j, bp_rng *rng)
{
    uint32_t steps = (j->bs_max - j->bs_min) / j->align;

    return j->bs_min + (steps ? (uint32_t)bp_rng_below(rng, steps + 1ull) : 0) * j->align;
}

static bool pick_write(const bp_job *j, bp_rng *rng)
{
    switch (j->rw) {
    case BP_RW_WRITE:
    case BP_RW_RANDWRITE:
        return true;
    case BP_RW_RANDRW:
        return bp_rng_below(rng, 100) >= j->rwmixread;
    default:
        return false;
    }
}

/* Claim the next sequential range; false when a one-pass job has covered the region. */
static bool seq_claim(bp_job *j, uint32_t *len, uint64_t *off)
{
    uint64_t cur = __atomic_load_n(&j->seq_next, __ATOMIC_RELAXED), start, next;

    do {
        uint32_t n = *len;

        if (j->once && cur >= j->size)
            return false;
        if (j->once && n > j->size - cur)
            n = (uint32_t)(j->size - cur);
        /* Wrap by claiming from 0; cur stays what the exchange compares with. */
        start = !j->once && n > j->size - cur ? 0 : cur;
        *len = n;
        next = start + n;
    } while (!__atomic_compare_exchange_n(&j->seq_next, &cur, next, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    *off = start;
    return true;
}

bool bp_job_next(bp_job *j, bp_rng *rng, bp_io *io)
{
    uint64_t rel;

    if (__atomic_load_n(&j->stop, __ATOMIC_RELAXED))
        return false;
    if (j->ios && __atomic_fetch_add(&j->issued, 1, __ATOMIC_RELAXED) >= j->ios)
        return false;
    io->len = pick_len(j, rng);
    io->write = pick_write(j, rng);
    if (j->rw == BP_RW_READ || j->rw == BP_RW_WRITE) {
        if (!seq_claim(j, &io->len, &rel))
            return false;
    } else {
        rel = bp_rng_below(rng, (j->size - io->len) / j->align + 1) * j->align;
    }
    io->offset = j->offset + rel;
    return true;
}

void bp_job_stop(bp_job *j)
{
    __atomic_store_n(&j->stop, 1, __ATOMIC_RELAXED);
}
