/* SPDX-License-Identifier: MIT */
/*
 * Helpers for guestmem-mtree: string arena, (string, number) hash map,
 * growable arrays, error formatting.
 *
 * Why not per-node malloc'ed strings: a dump has tens of thousands of names
 * and the parser is meant to be fuzzed; one arena makes cleanup after an
 * error in the middle of a line a single call.
 *
 * The map uses linear probing and doubles at 50% load. Lookups compare the
 * full key, so hash collisions only cost time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtree_util.h"

#define ARENA_CHUNK 65536

struct mtree_arena_chunk {
    struct mtree_arena_chunk *next;
    size_t used;
    size_t size;
    char data[];
};

struct mtree_map_slot {
    const char *str;
    uint64_t num;
    uint64_t hash;
    int32_t value;
    bool used;
};

char *mtree_arena_strndup(struct mtree_arena *a, const char *s, size_t len)
{
    struct mtree_arena_chunk *c = a->chunks;
    char *p;

    if (len >= SIZE_MAX / 2)
        return NULL;
    if (!c || c->size - c->used < len + 1) {
        size_t size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->next = a->chunks;
        c->used = 0;
        c->size = size;
        a->chunks = c;
    }
    p = c->data + c->used;
    memcpy(p, s, len);
    p[len] = '\0';
    c->used += len + 1;
    return p;
}

void mtree_arena_free(struct mtree_arena *a)
{
    while (a->chunks) {
        struct mtree_arena_chunk *next = a->chunks->next;

        free(a->chunks);
        a->chunks = next;
    }
}

uint64_t mtree_hash(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;

    /* FNV-1a, then a final avalanche in mtree_hash_u64() callers. */
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t mtree_hash_u64(uint64_t h, uint64_t v)
{
    /* splitmix64 finalizer over the combination. */
    uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t key_hash(const char *str, uint64_t num)
{
    uint64_t h = 0xcbf29ce484222325ull;

    if (str)
        h = mtree_hash(h, str, strlen(str));
    return mtree_hash_u64(h, num);
}

static bool key_equal(const struct mtree_map_slot *s, const char *str, uint64_t num, uint64_t h)
{
    if (s->hash != h || s->num != num)
        return false;
    if (!s->str || !str)
        return s->str == str;
    return strcmp(s->str, str) == 0;
}

static struct mtree_map_slot *find_slot(const struct mtree_map *m, const char *str, uint64_t num,
                                        uint64_t h)
{
    size_t mask = m->cap - 1;

    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct mtree_map_slot *s = &m->slots[i];

        if (!s->used || key_equal(s, str, num, h))
            return s;
    }
}

static int map_rehash(struct mtree_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct mtree_map old = *m;

    if (cap > SIZE_MAX / sizeof(*m->slots))
        return -ENOMEM;
    m->slots = calloc(cap, sizeof(*m->slots));
    if (!m->slots) {
        *m = old;
        return -ENOMEM;
    }
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].used)
            *find_slot(m, old.slots[i].str, old.slots[i].num, old.slots[i].hash) = old.slots[i];
    }
    free(old.slots);
    return 0;
}

int32_t mtree_map_get(const struct mtree_map *m, const char *str, uint64_t num)
{
    const struct mtree_map_slot *s;

    if (!m->cap)
        return -1;
    s = find_slot(m, str, num, key_hash(str, num));
    return s->used ? s->value : -1;
}

int32_t *mtree_map_slot(struct mtree_map *m, const char *str, uint64_t num, bool *created)
{
    uint64_t h = key_hash(str, num);
    struct mtree_map_slot *s;

    if ((m->count + 1) * 2 > m->cap && map_rehash(m) < 0)
        return NULL;
    s = find_slot(m, str, num, h);
    *created = !s->used;
    if (!s->used) {
        *s = (struct mtree_map_slot){ .str = str, .num = num, .hash = h, .value = -1, .used = true };
        m->count++;
    }
    return &s->value;
}

void mtree_map_free(struct mtree_map *m)
{
    free(m->slots);
    *m = (struct mtree_map){ 0 };
}

int mtree_grow(void *array, size_t *cap, size_t count, size_t elem)
{
    void **p = array;
    size_t ncap;
    void *n;

    if (count < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elem)
        return -ENOMEM;
    n = realloc(*p, ncap * elem);
    if (!n)
        return -ENOMEM;
    *p = n;
    *cap = ncap;
    return 0;
}

int mtree_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}
