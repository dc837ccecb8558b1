/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the guestmem-mtree sources: a string arena, a hash
 * map keyed by (string, number) pairs, growable arrays and error formatting.
 * Internal to tools/mtree; nothing here is part of the guestmem API.
 */
#ifndef GUESTMEM_TOOLS_MTREE_UTIL_H
#define GUESTMEM_TOOLS_MTREE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * struct mtree_arena - bump allocator for strings that live as long as a document.
 * @chunks: singly linked list of chunks, newest first
 *
 * Pointers it returns stay valid until mtree_arena_free(); nothing is freed
 * one by one.
 */
struct mtree_arena {
    struct mtree_arena_chunk *chunks;
};

/**
 * mtree_arena_strndup() - copy @len bytes of @s into the arena, NUL-terminated.
 * @a: the arena
 * @s: the bytes (need not be NUL-terminated)
 * @len: how many
 *
 * Return: the copy, or NULL when out of memory.
 */
char *mtree_arena_strndup(struct mtree_arena *a, const char *s, size_t len);

/** mtree_arena_free() - release every string of @a. @a: the arena. */
void mtree_arena_free(struct mtree_arena *a);

/**
 * struct mtree_map - open-addressing hash map from (string, number) to int32.
 * @slots: the table
 * @cap: number of slots, a power of two (0 before the first insertion)
 * @count: used slots
 *
 * Keys are not copied: their strings must outlive the map. A NULL string is
 * a valid key part (for number-only keys).
 */
struct mtree_map {
    struct mtree_map_slot *slots;
    size_t cap;
    size_t count;
};

/**
 * mtree_map_get() - look a key up.
 * @m: the map
 * @str: string part of the key, or NULL
 * @num: number part of the key
 *
 * Return: the value, or -1 if the key is absent.
 */
int32_t mtree_map_get(const struct mtree_map *m, const char *str, uint64_t num);

/**
 * mtree_map_slot() - find or create the value slot of a key.
 * @m: the map
 * @str: string part of the key, or NULL
 * @num: number part of the key
 * @created: set to true when the key was not there (its value is then -1)
 *
 * Return: a pointer to the value, valid until the next insertion, or NULL
 * when out of memory.
 */
int32_t *mtree_map_slot(struct mtree_map *m, const char *str, uint64_t num, bool *created);

/** mtree_map_free() - release the table. @m: the map. */
void mtree_map_free(struct mtree_map *m);

/**
 * mtree_hash() - mix @len bytes into a 64-bit hash.
 * @h: running hash (start with any constant)
 * @p: the bytes
 * @len: how many
 * Return: the new hash.
 */
uint64_t mtree_hash(uint64_t h, const void *p, size_t len);

/** mtree_hash_u64() - mix one number into a running hash. @h: hash. @v: value. Return: new hash. */
uint64_t mtree_hash_u64(uint64_t h, uint64_t v);

/**
 * mtree_grow() - make room for one more element in a growable array.
 * @array: address of the array pointer
 * @cap: address of its capacity in elements
 * @count: elements in use
 * @elem: element size
 *
 * Return: 0, or -ENOMEM (the array is left as it was).
 */
int mtree_grow(void *array, size_t *cap, size_t count, size_t elem);

/**
 * mtree_errf() - format an error message into a caller's buffer.
 * @err: the buffer (may be NULL when @errlen is 0)
 * @errlen: its size
 * @fmt: printf format
 *
 * Return: -EINVAL, so that callers can write `return mtree_errf(...)`.
 */
int mtree_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
