/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests in tests/unit.
 *
 * - log_capture: a log hook that counts lines per level and keeps the last
 *   one, so a test stays quiet and can assert that a guest error was logged.
 *   Guest errors are rate-limited per system (10 per second), so a step that
 *   asserts on them uses a fresh system.
 * - fixture: a system with a log capture and one address space over a
 *   container root.
 * - sec_list: a snapshot of an address space's flat view.
 * - capture_mtree(): gm_mtree_print() into a string.
 *
 * Everything is static inline so each test program takes what it uses.
 */
#ifndef GUESTMEM_TESTS_UNIT_H
#define GUESTMEM_TESTS_UNIT_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <guestmem/guestmem.h>

#include "check.h"

typedef struct log_capture {
    unsigned int count[GM_LOG_DEBUG + 1];
    char last[512];
} log_capture;

static inline void log_capture_fn(void *opaque, enum gm_log_level level, const char *msg)
{
    log_capture *lc = opaque;

    lc->count[level]++;
    snprintf(lc->last, sizeof(lc->last), "%s", msg);
}

static inline void log_capture_reset(log_capture *lc)
{
    memset(lc, 0, sizeof(*lc));
}

typedef struct fixture {
    gm_system *sys;
    gm_region *root;
    gm_as *as;
    log_capture log;
} fixture;

/* A system (flags as gm_system_new) with one address space "memory" over a
 * container "root" of @root_size bytes. */
static inline void fixture_init_flags(fixture *f, uint64_t root_size, unsigned int flags)
{
    memset(f, 0, sizeof(*f));
    f->sys = gm_system_new(flags);
    CHECK(f->sys != NULL, "gm_system_new failed");
    gm_system_set_log(f->sys, log_capture_fn, &f->log, false);
    f->root = gm_region_new_container(f->sys, "root", root_size);
    CHECK(f->root != NULL, "root container");
    f->as = gm_as_new(f->sys, f->root, "memory");
    CHECK(f->as != NULL, "gm_as_new failed");
}

static inline void fixture_init(fixture *f, uint64_t root_size)
{
    fixture_init_flags(f, root_size, 0);
}

static inline void fixture_fini(fixture *f)
{
    gm_as_free(f->as);
    gm_region_unref(f->root);
    gm_system_free(f->sys);
}

/* Add @mr to @parent at @addr with @prio and drop the creator's reference:
 * the tree keeps it alive. Returns @mr (not referenced by the caller). */
static inline gm_region *add_owned(gm_region *parent, gm_addr addr, gm_region *mr, int prio)
{
    int ret;

    CHECK(mr != NULL, "region creation failed");
    ret = gm_region_add_subregion_overlap(parent, addr, mr, prio);
    CHECK(ret == 0, "add_subregion of '%s' returned %d", gm_region_name(mr), ret);
    gm_region_unref(mr);
    return mr;
}

#define SEC_MAX 64

typedef struct sec_list {
    gm_section s[SEC_MAX];
    int n;
} sec_list;

static inline int sec_list_add(void *opaque, const gm_section *s)
{
    sec_list *l = opaque;

    CHECK(l->n < SEC_MAX, "too many sections");
    l->s[l->n++] = *s;
    return 0;
}

static inline void sec_list_get(gm_as *as, sec_list *l)
{
    int ret;

    l->n = 0;
    ret = gm_as_for_each_section(as, sec_list_add, l);
    CHECK(ret == 0, "gm_as_for_each_section returned %d", ret);
}

/* Section @i is @mr at [@start, @start + @size) from @offset in @mr. */
static inline void check_section(const sec_list *l, int i, gm_region *mr, gm_addr start,
                                 uint64_t size, gm_addr offset)
{
    CHECK(i < l->n, "section %d missing (only %d)", i, l->n);
    CHECK(l->s[i].mr == mr, "section %d: region '%s', want '%s'", i,
          gm_region_name(l->s[i].mr), gm_region_name(mr));
    CHECK_EQ_U64(l->s[i].offset_within_address_space, start, "section start");
    CHECK_EQ_U64(l->s[i].size, size, "section size");
    CHECK_EQ_U64(l->s[i].offset_within_region, offset, "section offset_within_region");
}

/* gm_mtree_print() into a malloc'ed string (caller frees). */
static inline char *capture_mtree(gm_system *sys, unsigned int flags)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int ret;

    CHECK(out != NULL, "open_memstream");
    ret = gm_mtree_print(sys, out, flags);
    CHECK(fclose(out) == 0, "fclose");
    CHECK(ret == 0, "gm_mtree_print returned %d", ret);
    return text;
}

static inline void check_text(const char *got, const char *want)
{
    CHECK(strcmp(got, want) == 0, "text differs.\n--- got:\n%s--- want:\n%s", got, want);
}

/* A device that answers every read with zero and ignores writes. */
static inline uint64_t null_read(void *opaque, gm_addr addr, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)size;
    return 0;
}

static inline void null_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)data;
    (void)size;
}

static const gm_region_ops null_ops = {
    .read = null_read,
    .write = null_write,
    .endianness = GM_ENDIAN_LITTLE,
};

#endif
