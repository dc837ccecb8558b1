/* SPDX-License-Identifier: MIT */
/*
 * The verify pattern and the per-sector record (bp_verify.h explains both).
 *
 * The mix is the SplitMix64 finaliser applied to seed + (word + 1) * the
 * golden ratio: cheap, and every 8-byte word of the disk differs from its
 * neighbours and from other seeds' words, so a block shifted by any number
 * of bytes does not match.
 *
 * Glossary: off = disk byte offset; sec = sector index in the region.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bp_proto.h"
#include "bp_verify.h"

static uint64_t pattern_word(uint64_t seed, uint64_t word)
{
    uint64_t z = seed + (word + 1) * 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t pattern_byte(uint64_t seed, uint64_t off)
{
    return (uint8_t)(pattern_word(seed, off >> 3) >> (8 * (off & 7)));
}

int bp_verify_init(bp_verify *v, uint64_t seed, uint64_t base, uint64_t size, bool zeroed)
{
    uint64_t words;

    memset(v, 0, sizeof(*v));
    v->seed = seed;
    v->base = base;
    v->sectors = size / BLK_SECTOR;
    v->zeroed = zeroed;
    words = (v->sectors + 63) / 64;
    v->ok = calloc(words ? words : 1, sizeof(uint64_t));
    v->tried = calloc(words ? words : 1, sizeof(uint64_t));
    if (!v->ok || !v->tried) {
        bp_verify_destroy(v);
        return -ENOMEM;
    }
    return 0;
}

void bp_verify_destroy(bp_verify *v)
{
    free(v->ok);
    free(v->tried);
    v->ok = v->tried = NULL;
}

void bp_pattern_fill(uint64_t seed, uint64_t off, uint8_t *dst, size_t len)
{
    while (len) {
        uint64_t w = pattern_word(seed, off >> 3);
        size_t skip = off & 7, n = 8 - skip < len ? 8 - skip : len;

        memcpy(dst, (const uint8_t *)&w + skip, n);   /* little-endian host */
        dst += n;
        off += n;
        len -= n;
    }
}

static void mismatch_at(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len,
                        bp_mismatch *mm)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t want = pattern_byte(seed, off + i);

        if (buf[i] != want) {
            *mm = (bp_mismatch){ off + i, want, buf[i], "the pattern" };
            return;
        }
    }
}

bool bp_pattern_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm)
{
    uint8_t tmp[512];

    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof(tmp) ? len - done : sizeof(tmp);

        bp_pattern_fill(seed, off + done, tmp, n);
        if (memcmp(tmp, buf + done, n)) {
            mismatch_at(seed, off + done, buf + done, n, mm);
            return false;
        }
        done += n;
    }
    return true;
}

static void set_bits(uint64_t *map, uint64_t first, uint64_t count)
{
    for (uint64_t s = first; s < first + count; s++)
        __atomic_fetch_or(&map[s / 64], 1ull << (s % 64), __ATOMIC_RELAXED);
}

static bool test_bit(const uint64_t *map, uint64_t s)
{
    return __atomic_load_n(&map[s / 64], __ATOMIC_RELAXED) & (1ull << (s % 64));
}

void bp_verify_mark(bp_verify *v, uint64_t off, uint64_t len, bool ok)
{
    uint64_t first = (off - v->base) / BLK_SECTOR, count = len / BLK_SECTOR;

    set_bits(v->tried, first, count);
    if (ok)
        set_bits(v->ok, first, count);
}

bool bp_verify_all_written(const bp_verify *v, uint64_t off, uint64_t len)
{
    uint64_t first = (off - v->base) / BLK_SECTOR;

    for (uint64_t s = first; s < first + len / BLK_SECTOR; s++)
        if (!test_bit(v->ok, s))
            return false;
    return true;
}

bool bp_verify_any_tried(const bp_verify *v, uint64_t off, uint64_t len)
{
    uint64_t first = (off - v->base) / BLK_SECTOR;

    for (uint64_t s = first; s < first + len / BLK_SECTOR; s++)
        if (test_bit(v->tried, s))
            return true;
    return false;
}

static bool check_zero(uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i]) {
            *mm = (bp_mismatch){ off + i, 0, buf[i], "zeros (no write reached this sector)" };
            return false;
        }
    }
    return true;
}

static bool check_pattern_or_zero(uint64_t seed, uint64_t off, const uint8_t *buf, size_t len,
                                  bp_mismatch *mm)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t want = pattern_byte(seed, off + i);

        if (buf[i] && buf[i] != want) {
            *mm = (bp_mismatch){ off + i, want, buf[i], "the pattern or zeros (a failed write)" };
            return false;
        }
    }
    return true;
}

/* One sector by its state: 1 checked, 0 nothing certain to check, -1 mismatch. */
static int check_sector(const bp_verify *v, uint64_t off, const uint8_t *buf, bp_mismatch *mm)
{
    uint64_t s = (off - v->base) / BLK_SECTOR;
    bool ok;

    if (test_bit(v->ok, s))
        ok = bp_pattern_check(v->seed, off, buf, BLK_SECTOR, mm);
    else if (!v->zeroed)
        return 0;
    else if (test_bit(v->tried, s))
        ok = check_pattern_or_zero(v->seed, off, buf, BLK_SECTOR, mm);
    else
        ok = check_zero(off, buf, BLK_SECTOR, mm);
    return ok ? 1 : -1;
}

bool bp_verify_sectors(bp_verify *v, uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm)
{
    uint64_t checked = 0;

    for (size_t done = 0; done + BLK_SECTOR <= len; done += BLK_SECTOR) {
        int r = check_sector(v, off + done, buf + done, mm);

        if (r < 0)
            return false;
        checked += r ? BLK_SECTOR : 0;
    }
    __atomic_fetch_add(&v->checked, checked, __ATOMIC_RELAXED);
    return true;
}

bool bp_verify_pattern(bp_verify *v, uint64_t off, const uint8_t *buf, size_t len, bp_mismatch *mm)
{
    if (!bp_pattern_check(v->seed, off, buf, len, mm))
        return false;
    __atomic_fetch_add(&v->checked, len, __ATOMIC_RELAXED);
    return true;
}
