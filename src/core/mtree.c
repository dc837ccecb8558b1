/* SPDX-License-Identifier: MIT */
/*
 * Printing trees and flat views in the format of QEMU 7.2's `info mtree`.
 *
 * Trees: address spaces with the same root print as one block (their
 * "address-space:" lines sorted by name), then every alias target is printed
 * under "memory-region:" — the queue of targets grows while printing, so
 * targets reached only through other targets are printed too. Subregions
 * print sorted by address, then by descending priority, stable otherwise,
 * exactly like QEMU's insertion into its print queue. QEMU orders blocks by
 * hash-table iteration; guestmem uses creation order.
 *
 * Flat views: address spaces with the same flat-view root share one view in
 * QEMU and print as one "FlatView #N" block.
 *
 * The walk is bounded by GM_MAX_NESTING like every other tree walk.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#define MTREE_INDENT "  "

typedef struct mtree_ctx {
    FILE *out;
    bool disabled;
    const gm_region **aliases;   /* print queue of alias targets */
    size_t naliases;
    size_t capaliases;
    bool failed;
} mtree_ctx;

static uint64_t mr_size_last(gm_u128 size)
{
    return size ? (uint64_t)(size - 1) : 0;
}

static void queue_alias(mtree_ctx *ctx, const gm_region *target)
{
    const gm_region **grown;

    for (size_t i = 0; i < ctx->naliases; i++) {
        if (ctx->aliases[i] == target)
            return;
    }
    if (ctx->naliases == ctx->capaliases) {
        size_t cap = ctx->capaliases ? ctx->capaliases * 2 : 16;

        grown = realloc(ctx->aliases, cap * sizeof(*grown));
        if (!grown) {
            ctx->failed = true;
            return;
        }
        ctx->aliases = grown;
        ctx->capaliases = cap;
    }
    ctx->aliases[ctx->naliases++] = target;
}

static void print_region_line(mtree_ctx *ctx, const gm_region *mr, unsigned int level,
                              uint64_t start, uint64_t end)
{
    for (unsigned int i = 0; i < level; i++)
        fputs(MTREE_INDENT, ctx->out);
    fprintf(ctx->out, "%016" PRIx64 "-%016" PRIx64 " (prio %d, %s%s): ", start, end,
            mr->priority, mr->nonvolatile ? "nv-" : "", gm_region_type_string(mr));
    if (mr->alias)
        fprintf(ctx->out, "alias %s @%s %016" PRIx64 "-%016" PRIx64, mr->name, mr->alias->name,
                mr->alias_offset, mr->alias_offset + mr_size_last(mr->size));
    else
        fputs(mr->name, ctx->out);
    fprintf(ctx->out, "%s\n", mr->enabled ? "" : " [disabled]");
}

/* Subregions in print order: address ascending, priority descending, stable. */
static const gm_region **sorted_subregions(const gm_region *mr, size_t *n)
{
    const gm_region **v, *sub;
    size_t count = 0;

    TAILQ_FOREACH(sub, &mr->subregions, subregions_link)
        count++;
    v = malloc((count ? count : 1) * sizeof(*v));
    if (!v)
        return NULL;
    count = 0;
    TAILQ_FOREACH(sub, &mr->subregions, subregions_link) {
        size_t pos = count;

        for (size_t i = 0; i < count; i++) {
            if (sub->addr < v[i]->addr ||
                (sub->addr == v[i]->addr && sub->priority > v[i]->priority)) {
                pos = i;
                break;
            }
        }
        memmove(&v[pos + 1], &v[pos], (count - pos) * sizeof(*v));
        v[pos] = sub;
        count++;
    }
    *n = count;
    return v;
}

static void print_mr(mtree_ctx *ctx, const gm_region *mr, unsigned int level, uint64_t base)
{
    uint64_t start = base + mr->addr, end = start + mr_size_last(mr->size);
    const gm_region **subs;
    size_t n = 0;

    if (level > GM_MAX_NESTING + 1)
        return;
    if (start < base || end < start)
        fputs("[DETECTED OVERFLOW!] ", ctx->out);
    if (mr->alias)
        queue_alias(ctx, mr->alias);
    if (mr->enabled || ctx->disabled)
        print_region_line(ctx, mr, level, start, end);
    subs = sorted_subregions(mr, &n);
    if (!subs) {
        ctx->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        print_mr(ctx, subs[i], level + 1, start);
    free(subs);
}

static int compare_as_names(const void *a, const void *b)
{
    const gm_as *x = *(const gm_as *const *)a, *y = *(const gm_as *const *)b;

    return strcmp(x->name, y->name);
}

/* Address spaces of @sys in creation order, as a NULL-free array. */
static gm_as **collect_as_locked(gm_system *sys, size_t *n)
{
    size_t count = 0, i = 0;
    gm_as **v, *as;

    TAILQ_FOREACH(as, &sys->address_spaces, link)
        count++;
    v = malloc((count ? count : 1) * sizeof(*v));
    if (!v)
        return NULL;
    TAILQ_FOREACH(as, &sys->address_spaces, link)
        v[i++] = as;
    *n = count;
    return v;
}

/* Print the group of address spaces sharing @all[first]'s root. */
static void print_root_group(mtree_ctx *ctx, gm_as **all, size_t n, size_t first, bool *done)
{
    gm_as **group = malloc(n * sizeof(*group));
    size_t g = 0;

    if (!group) {
        ctx->failed = true;
        return;
    }
    for (size_t i = first; i < n; i++) {
        if (!done[i] && all[i]->root == all[first]->root) {
            group[g++] = all[i];
            done[i] = true;
        }
    }
    /* qsort is not stable: break name ties by creation order. */
    for (size_t i = 1; i < g; i++) {
        for (size_t j = i; j > 0 && compare_as_names(&group[j - 1], &group[j]) > 0; j--) {
            gm_as *t = group[j];
            group[j] = group[j - 1];
            group[j - 1] = t;
        }
    }
    for (size_t i = 0; i < g; i++)
        fprintf(ctx->out, "address-space: %s\n", group[i]->name);
    print_mr(ctx, all[first]->root, 1, 0);
    fputc('\n', ctx->out);
    free(group);
}

static void print_trees_locked(mtree_ctx *ctx, gm_as **all, size_t n)
{
    bool *done = calloc(n ? n : 1, sizeof(*done));

    if (!done) {
        ctx->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!done[i])
            print_root_group(ctx, all, n, i, done);
    }
    free(done);
    for (size_t i = 0; i < ctx->naliases; i++) {
        fprintf(ctx->out, "memory-region: %s\n", ctx->aliases[i]->name);
        print_mr(ctx, ctx->aliases[i], 1, 0);
        fputc('\n', ctx->out);
    }
}

static void print_flat_range(FILE *out, const gm_flat_range *fr)
{
    const gm_region *mr = fr->mr;
    uint64_t start = (uint64_t)fr->start;

    fprintf(out, MTREE_INDENT "%016" PRIx64 "-%016" PRIx64 " (prio %d, %s%s): %s", start,
            start + mr_size_last(fr->size), mr->priority, fr->nonvolatile ? "nv-" : "",
            fr->readonly ? "rom" : gm_region_type_string(mr), mr->name);
    if (fr->offset_in_region)
        fprintf(out, " @%016" PRIx64, fr->offset_in_region);
    fputc('\n', out);
}

static void print_flat_block(FILE *out, int number, gm_as **all, size_t n, size_t first,
                             bool *done)
{
    const gm_flatview *fv = all[first]->current;

    fprintf(out, "FlatView #%d\n", number);
    for (size_t i = first; i < n; i++) {
        if (done[i] || all[i]->current->root != fv->root)
            continue;
        done[i] = true;
        fprintf(out, " AS \"%s\", root: %s", all[i]->name, all[i]->root->name);
        if (all[i]->root->alias)
            fprintf(out, ", alias %s", all[i]->root->alias->name);
        fputc('\n', out);
    }
    fprintf(out, " Root memory region: %s\n", fv->root ? fv->root->name : "(none)");
    if (!fv->nr)
        fputs(MTREE_INDENT "No rendered FlatView\n", out);
    for (unsigned int i = 0; i < fv->nr; i++)
        print_flat_range(out, &fv->ranges[i]);
    fputc('\n', out);
}

static bool print_flat_locked(FILE *out, gm_as **all, size_t n)
{
    bool *done = calloc(n ? n : 1, sizeof(*done));
    int number = 0;

    if (!done)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!done[i])
            print_flat_block(out, number++, all, n, i, done);
    }
    free(done);
    return true;
}

int gm_mtree_print(gm_system *sys, FILE *out, unsigned int flags)
{
    mtree_ctx ctx = { .out = out, .disabled = flags & GM_MTREE_DISABLED };
    size_t n = 0;
    gm_as **all;

    gm_system_lock(sys);
    all = collect_as_locked(sys, &n);
    if (!all) {
        ctx.failed = true;
    } else if (flags & GM_MTREE_FLAT) {
        ctx.failed = !print_flat_locked(out, all, n);
    } else {
        print_trees_locked(&ctx, all, n);
    }
    gm_system_unlock(sys);
    free(all);
    free(ctx.aliases);
    return ctx.failed || ferror(out) ? -EIO : 0;
}
