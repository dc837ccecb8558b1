/* SPDX-License-Identifier: MIT */
/*
 * Rendering a region tree into a flat view, exactly as QEMU 7.2 does.
 *
 * render_region() walks the tree: it adds the region's address to the base,
 * clips to the parent's window, follows an alias into its target (with the
 * base rebased so the target's offsets line up), renders subregions in list
 * order (priority order), and finally, if the region terminates, fills the
 * gaps that are still uncovered in its window. Earlier-rendered ranges win,
 * which is what gives higher priority and later-added siblings precedence.
 * A disabled region renders as if it were not there.
 *
 * After rendering, adjacent ranges of the same region with contiguous
 * offsets and identical attributes are merged (QEMU's flatview_simplify),
 * unless the region is unmergeable.
 *
 * The flat-view root of an address space skips whole-size aliases and
 * single covering children (QEMU's memory_region_get_flatview_root), so that
 * address spaces with equivalent roots render identically and share a view.
 *
 * All arithmetic is gm_u128: ranges may reach 2^64.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Signed: an alias rebases its target below zero when its offset exceeds
 * its own address (QEMU's Int128 is signed for the same reason). */
typedef __int128 gm_i128;

typedef struct render_range {
    gm_i128 start;
    gm_i128 size;
} render_range;

/*
 * An alias that shows its own ancestor recurses. Two guards keep that
 * finite and cheap:
 * - an alias reached again with the same base and clip as a visit of it
 *   still on the path is not followed: the repeat would place exactly what
 *   the visit in progress places, at the same addresses;
 * - past GM_RENDER_MAX_ALIAS_HOPS alias hops in one rendering, aliases are
 *   no longer followed (logged once); containers and terminating regions
 *   still render. Two self-aliases whose windows shrink a little at every
 *   level would otherwise double the work at each of the 128 levels.
 * Real trees follow each alias once per path to it, far below the budget.
 */
#define GM_RENDER_MAX_ALIAS_HOPS (1u << 16)

typedef struct alias_visit {
    const gm_region *alias;
    gm_i128 base;
    render_range clip;
} alias_visit;

typedef struct render_ctx {
    gm_flatview *fv;
    const char *root_name;
    alias_visit path[GM_MAX_NESTING + 1]; /* aliases being followed, outermost first */
    unsigned int path_len;
    unsigned int alias_hops;
    bool hops_logged;
    bool failed;
} render_ctx;

static gm_i128 range_end(render_range r)
{
    return r.start + r.size;
}

static bool ranges_intersect(render_range a, render_range b)
{
    return a.start < range_end(b) && b.start < range_end(a);
}

static render_range range_intersection(render_range a, render_range b)
{
    gm_i128 start = GM_MAX(a.start, b.start);
    gm_i128 end = GM_MIN(range_end(a), range_end(b));

    return (render_range){ start, end - start };
}

static bool flatview_reserve(gm_flatview *fv)
{
    gm_flat_range *ranges;
    unsigned int cap;

    if (fv->nr < fv->cap)
        return true;
    cap = fv->cap ? fv->cap * 2 : 16;
    ranges = realloc(fv->ranges, cap * sizeof(*ranges));
    if (!ranges)
        return false;
    fv->ranges = ranges;
    fv->cap = cap;
    return true;
}

static void flatview_insert(render_ctx *ctx, unsigned int pos, const gm_flat_range *fr)
{
    gm_flatview *fv = ctx->fv;

    if (!flatview_reserve(fv)) {
        ctx->failed = true;
        return;
    }
    memmove(&fv->ranges[pos + 1], &fv->ranges[pos], (fv->nr - pos) * sizeof(*fr));
    fv->ranges[pos] = *fr;
    fv->nr++;
}

/* First range that ends after @addr: ranges before it cannot overlap. */
static unsigned int first_ending_after(const gm_flatview *fv, gm_u128 addr)
{
    unsigned int lo = 0, hi = fv->nr;

    while (lo < hi) {
        unsigned int mid = lo + (hi - lo) / 2;

        if (fv->ranges[mid].start + fv->ranges[mid].size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Fill the parts of @clip not yet covered by the view with @fr's region.
 * The view is sorted and disjoint, so the walk starts at the first range
 * that can overlap (QEMU scans from 0; the result is the same). */
static void render_fill_gaps(render_ctx *ctx, gm_flat_range fr, gm_i128 base, render_range clip)
{
    gm_flatview *fv = ctx->fv;
    gm_addr offset_in_region = (gm_addr)(clip.start - base);
    /* Clipped to [0, 2^64): non-negative from here on. */
    gm_u128 cur = (gm_u128)clip.start, remain = (gm_u128)clip.size;
    unsigned int i;

    for (i = first_ending_after(fv, cur); i < fv->nr && remain && !ctx->failed; ++i) {
        gm_u128 rstart = fv->ranges[i].start, rend = rstart + fv->ranges[i].size;
        gm_u128 now;

        if (cur >= rend)
            continue;
        if (cur < rstart) {
            now = GM_MIN(remain, rstart - cur);
            fr.offset_in_region = offset_in_region;
            fr.start = cur;
            fr.size = now;
            flatview_insert(ctx, i, &fr);
            ++i;
            cur += now;
            offset_in_region += (gm_addr)now;
            remain -= now;
        }
        now = GM_MIN(cur + remain, fv->ranges[i].start + fv->ranges[i].size) - cur;
        cur += now;
        offset_in_region += (gm_addr)now;
        remain -= now;
    }
    if (remain && !ctx->failed) {
        fr.offset_in_region = offset_in_region;
        fr.start = cur;
        fr.size = remain;
        flatview_insert(ctx, i, &fr);
    }
}

/* Push @alias on the path unless one of the guards above says not to follow it. */
static bool alias_follow_begin(render_ctx *ctx, const gm_region *alias, gm_i128 base,
                               render_range clip)
{
    for (unsigned int i = 0; i < ctx->path_len; i++) {
        const alias_visit *v = &ctx->path[i];

        if (v->alias == alias && v->base == base && v->clip.start == clip.start &&
            v->clip.size == clip.size)
            return false;
    }
    if (ctx->path_len > GM_MAX_NESTING)
        return false;
    if (ctx->alias_hops == GM_RENDER_MAX_ALIAS_HOPS) {
        /* Said once, at the first alias not followed: a view with exactly
         * the budget's worth of aliases renders whole and says nothing. */
        if (!ctx->hops_logged)
            gm_log(ctx->fv->sys, GM_LOG_GUEST_ERROR,
                   "flat view of '%s': more than %u alias hops (aliases showing their own "
                   "ancestors); further aliases are not followed",
                   ctx->root_name, GM_RENDER_MAX_ALIAS_HOPS);
        ctx->hops_logged = true;
        return false;
    }
    ctx->alias_hops++;
    ctx->path[ctx->path_len++] = (alias_visit){ alias, base, clip };
    return true;
}

static void render_region(render_ctx *ctx, gm_region *mr, gm_i128 base, render_range clip,
                          bool readonly, bool nonvolatile, int depth)
{
    render_range here;
    gm_region *sub;
    gm_flat_range fr;

    if (!mr->enabled || depth > GM_MAX_NESTING)
        return;
    base += mr->addr;
    readonly |= mr->readonly;
    nonvolatile |= mr->nonvolatile;
    here = (render_range){ base, (gm_i128)mr->size };
    if (!ranges_intersect(here, clip))
        return;
    clip = range_intersection(here, clip);

    if (mr->alias) {
        if (!alias_follow_begin(ctx, mr, base, clip))
            return;
        base -= mr->alias->addr;
        base -= mr->alias_offset;
        render_region(ctx, mr->alias, base, clip, readonly, nonvolatile, depth + 1);
        ctx->path_len--;
        return;
    }
    TAILQ_FOREACH(sub, &mr->subregions, subregions_link)
        render_region(ctx, sub, base, clip, readonly, nonvolatile, depth + 1);
    if (!mr->terminates)
        return;

    memset(&fr, 0, sizeof(fr));
    fr.mr = mr;
    fr.dirty_log_mask = __atomic_load_n(&mr->dirty_log_mask, __ATOMIC_RELAXED);
    fr.romd_mode = mr->romd_mode;
    fr.readonly = readonly;
    fr.nonvolatile = nonvolatile;
    render_fill_gaps(ctx, fr, base, clip);
}

static bool can_merge(const gm_flat_range *r1, const gm_flat_range *r2)
{
    return r1->start + r1->size == r2->start && r1->mr == r2->mr && !r1->mr->unmergeable &&
           (gm_u128)r1->offset_in_region + r1->size == (gm_u128)r2->offset_in_region &&
           r1->dirty_log_mask == r2->dirty_log_mask && r1->romd_mode == r2->romd_mode &&
           r1->readonly == r2->readonly && r1->nonvolatile == r2->nonvolatile;
}

static void flatview_simplify(gm_flatview *fv)
{
    unsigned int out = 0;

    for (unsigned int i = 0; i < fv->nr; i++) {
        if (out && can_merge(&fv->ranges[out - 1], &fv->ranges[i]))
            fv->ranges[out - 1].size += fv->ranges[i].size;
        else
            fv->ranges[out++] = fv->ranges[i];
    }
    fv->nr = out;
}

gm_region *gm_flatview_root_of_locked(gm_region *mr)
{
    /* Bounded: an alias may lead back to a container that holds it. */
    for (int steps = 0; mr && mr->enabled && steps < GM_MAX_NESTING; steps++) {
        if (mr->alias) {
            if (!mr->alias_offset && mr->size >= mr->alias->size) {
                mr = mr->alias;
                continue;
            }
        } else if (!mr->terminates) {
            unsigned int found = 0;
            gm_region *child, *next = NULL;

            TAILQ_FOREACH(child, &mr->subregions, subregions_link) {
                if (!child->enabled)
                    continue;
                if (++found > 1) {
                    next = NULL;
                    break;
                }
                if (!child->addr && mr->size >= child->size)
                    next = child;
            }
            if (found == 0)
                return NULL;
            if (next) {
                mr = next;
                continue;
            }
        }
        return mr;
    }
    return NULL;
}

static void flatview_free(gm_flatview *fv)
{
    for (unsigned int i = 0; i < fv->nr; i++)
        gm_region_unref(fv->ranges[i].mr);
    gm_region_unref(fv->root);
    gm_dispatch_destroy(&fv->dispatch);
    free(fv->ranges);
    free(fv);
}

gm_flatview *gm_flatview_render_locked(gm_system *sys, gm_region *root)
{
    render_ctx ctx = { .fv = calloc(1, sizeof(gm_flatview)) };
    gm_flatview *fv = ctx.fv;

    if (!fv)
        return NULL;
    fv->sys = sys;
    fv->refcount = 1;
    /* As QEMU: the root renders at its own address (non-zero when it sits
     * in some other container), and flags of regions the flat-view root
     * shortcut skipped are not inherited. docs/memory-model.md, section 3. */
    if (root) {
        ctx.root_name = root->name ? root->name : "";
        render_region(&ctx, root, 0, (render_range){ 0, (gm_i128)GM_2_64 }, false, false, 0);
    }
    flatview_simplify(fv);
    for (unsigned int i = 0; i < fv->nr; i++)
        gm_region_ref(fv->ranges[i].mr);
    fv->root = root ? gm_region_ref(root) : NULL;
    if (ctx.failed || gm_dispatch_build(&fv->dispatch, fv->ranges, fv->nr) < 0) {
        flatview_free(fv);
        return NULL;
    }
    return fv;
}

void gm_flatview_ref(gm_flatview *fv)
{
    __atomic_add_fetch(&fv->refcount, 1, __ATOMIC_RELAXED);
}

static void flatview_free_rcu(struct rcu_head *head)
{
    gm_flatview *fv = caa_container_of(head, gm_flatview, rcu);
    gm_system *sys = fv->sys;

    flatview_free(fv);
    gm_system_deferred_done(sys);
}

void gm_flatview_unref(gm_flatview *fv)
{
    if (__atomic_sub_fetch(&fv->refcount, 1, __ATOMIC_ACQ_REL) == 0)
        gm_system_defer_free(fv->sys, &fv->rcu, flatview_free_rcu);
}

bool gm_flat_range_equal(const gm_flat_range *a, const gm_flat_range *b)
{
    return a->mr == b->mr && a->start == b->start && a->size == b->size &&
           a->offset_in_region == b->offset_in_region && a->romd_mode == b->romd_mode &&
           a->readonly == b->readonly && a->nonvolatile == b->nonvolatile;
}
