/* SPDX-License-Identifier: MIT */
/*
 * Log-linear histogram and counters (bp_stats.h).
 *
 * Bucket of v >= 64: e = floor(log2 v) (6..63), sub = the 5 bits after the
 * leading one; index 64 + (e - 6) * 32 + sub. Its values are
 * [2^e + sub * 2^(e-5), 2^e + (sub + 1) * 2^(e-5)).
 */
#define _GNU_SOURCE
#include <string.h>

#include "bp_stats.h"

unsigned int bp_hist_bucket(uint64_t v)
{
    unsigned int e;

    if (v < BP_HIST_LINEAR)
        return (unsigned int)v;
    e = 63u - (unsigned int)__builtin_clzll(v);
    return BP_HIST_LINEAR + (e - 6u) * BP_HIST_SUB +
           (unsigned int)((v >> (e - BP_HIST_SUB_BITS)) & (BP_HIST_SUB - 1));
}

uint64_t bp_hist_bucket_low(unsigned int i)
{
    unsigned int e, sub;

    if (i < BP_HIST_LINEAR)
        return i;
    e = (i - BP_HIST_LINEAR) / BP_HIST_SUB + 6u;
    sub = (i - BP_HIST_LINEAR) % BP_HIST_SUB;
    return (1ull << e) + ((uint64_t)sub << (e - BP_HIST_SUB_BITS));
}

static uint64_t bucket_width(unsigned int i)
{
    if (i < BP_HIST_LINEAR)
        return 1;
    return 1ull << ((i - BP_HIST_LINEAR) / BP_HIST_SUB + 6u - BP_HIST_SUB_BITS);
}

void bp_hist_init(bp_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void bp_hist_add(bp_hist *h, uint64_t v)
{
    h->b[bp_hist_bucket(v)]++;
    h->count++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void bp_hist_merge(bp_hist *dst, const bp_hist *src)
{
    for (unsigned int i = 0; i < BP_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

uint64_t bp_hist_percentile(const bp_hist *h, double pct)
{
    uint64_t rank, seen = 0;

    if (!h->count)
        return 0;
    rank = (uint64_t)(pct / 100.0 * (double)h->count + 0.5);
    rank = clamp(rank, 1, h->count);
    for (unsigned int i = 0; i < BP_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank)
            return clamp(bp_hist_bucket_low(i) + bucket_width(i) / 2, h->min, h->max);
    }
    return h->max;
}

void bp_stats_init(bp_stats *s)
{
    memset(s, 0, sizeof(*s));
    bp_hist_init(&s->lat);
}

void bp_stats_merge(bp_stats *dst, const bp_stats *src)
{
    bp_hist_merge(&dst->lat, &src->lat);
    dst->reads += src->reads;
    dst->writes += src->writes;
    dst->bytes += src->bytes;
    dst->errors += src->errors;
    dst->ok_after_error += src->ok_after_error;
}
