/* SPDX-License-Identifier: MIT */
/*
 * Rebuild a parsed dump as a guestmem system.
 *
 * Order of work, and why:
 *  1. identity (mtree_ident.c): which lines are one region, what each alias
 *     shows;
 *  2. a depth-first walk over "contains" and "shows" edges finds alias
 *     cycles and measures every tree with aliases expanded: the library's
 *     own walks follow aliases, so a dump whose expansion explodes (alias
 *     fan-out) or is too deep is refused here with a line number instead
 *     of being handed to them; the walk's post-order creates every alias
 *     after the region it shows;
 *  3. subregions are added parent by parent, top-down, each parent's
 *     children in reverse list order (mtree_infer_child_order()), so that
 *     gm_region_add_subregion_overlap() reproduces QEMU's list;
 *  4. a region printed only as a memory-region top at a non-zero address or
 *     priority is placed in an unprinted holder container to keep them;
 *  5. address spaces in the order of the dump, so that re-printing lists
 *     the blocks in the same order.
 * All of it runs in one transaction: one flat-view rendering at the end.
 *
 * Memory: RAM and ROM come from the library (anonymous MAP_NORESERVE),
 * RAM devices from a MAP_NORESERVE buffer kept in the model until the
 * system is gone. Nothing is ever written, so no page is touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mtree_build.h"
#include "mtree_ident.h"

struct ramd_buf {
    void *p;
    size_t len;
};

struct mtree_model {
    gm_system *sys;
    gm_region **mr;        /* per node: the region of a canonical node, else NULL */
    enum mtree_type *type; /* per node */
    size_t nnodes;
    gm_region **holders;
    size_t nholders, cap_holders;
    gm_as **as;
    size_t nas, cap_as;
    bool *deferred;         /* per node: an alias created late (see defer_alias()) */
    size_t nwarnings;
    char warning[512];     /* the first warning */
    struct ramd_buf *ramd;
    size_t nramd, cap_ramd;
};

struct build_state {
    const struct mtree_doc *doc;
    struct mtree_ident id;
    struct mtree_infer inf;
    struct mtree_model *m;
    int32_t *post;         /* canonical nodes, each after what it contains and shows */
    size_t npost;
    char *err;
    size_t errlen;
};

/* A ROM device needs callbacks; nothing ever calls them (no guest runs). */
static uint64_t romd_read(void *opaque, gm_addr addr, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)size;
    return 0;
}

static void romd_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    (void)opaque;
    (void)addr;
    (void)data;
    (void)size;
}

static const gm_region_ops romd_ops = {
    .read = romd_read,
    .write = romd_write,
    .endianness = GM_ENDIAN_LITTLE,
};

static int berr(struct build_state *bs, int32_t i, const char *what)
{
    const struct mtree_node *n = &bs->doc->nodes[i];

    return mtree_errf(bs->err, bs->errlen, "line %u: '%s': %s", n->line, n->name, what);
}

static int berr_errno(struct build_state *bs, int32_t i, const char *what, int e)
{
    const struct mtree_node *n = &bs->doc->nodes[i];

    mtree_errf(bs->err, bs->errlen, "line %u: '%s': %s: %s", n->line, n->name, what, strerror(e));
    return e == ENOMEM ? -ENOMEM : -(e ? e : EINVAL);
}

/* ---- step 2: cycles, expansion, creation order -------------------------------- */

/* One pending visit: @node reached through @alias's target edge (-1: a child edge). */
struct visit {
    int32_t node;
    int32_t alias;
};

struct walk {
    uint8_t *color;      /* 0 unseen, 1 on the current path, 2 done */
    uint32_t *size;      /* nodes once aliases are expanded, saturating */
    uint32_t *depth;     /* levels once aliases are expanded */
    struct visit *stack; /* node >= 0: enter it; node < 0: leave ~node */
    size_t top;
};

static void push_successors(struct build_state *bs, struct walk *w, int32_t x)
{
    const struct mtree_doc *doc = bs->doc;

    w->stack[w->top++] = (struct visit){ ~x, -1 };
    for (int32_t c = doc->nodes[x].first_child; c >= 0; c = doc->nodes[c].next_sibling)
        w->stack[w->top++] = (struct visit){ bs->id.canon[c], -1 };
    if (bs->id.target[x] >= 0)
        w->stack[w->top++] = (struct visit){ bs->id.target[x], x };
}

static void add_successor(struct walk *w, int32_t x, int32_t s)
{
    uint64_t sum = (uint64_t)w->size[x] + w->size[s];

    w->size[x] = sum > MTREE_MAX_EXPANSION + 1ull ? MTREE_MAX_EXPANSION + 1 : (uint32_t)sum;
    if (w->depth[s] + 1 > w->depth[x])
        w->depth[x] = w->depth[s] + 1;
}

static int leave_node(struct build_state *bs, struct walk *w, int32_t x)
{
    const struct mtree_doc *doc = bs->doc;

    w->size[x] = 1;
    w->depth[x] = 1;
    for (int32_t c = doc->nodes[x].first_child; c >= 0; c = doc->nodes[c].next_sibling)
        add_successor(w, x, bs->id.canon[c]);
    if (bs->id.target[x] >= 0 && !bs->m->deferred[x])
        add_successor(w, x, bs->id.target[x]);
    if (w->size[x] > MTREE_MAX_EXPANSION)
        return berr(bs, x, "too many regions once aliases are expanded");
    if (w->depth[x] > MTREE_MAX_DEPTH)
        return berr(bs, x, "nesting deeper than 128 levels counting alias hops");
    w->color[x] = 2;
    bs->post[bs->npost++] = x;
    return 0;
}

/* Does following alias targets from @t come back to @alias without containment? */
static bool pure_alias_cycle(const struct build_state *bs, int32_t t, int32_t alias)
{
    for (int steps = 0; t >= 0 && steps <= MTREE_MAX_DEPTH; steps++) {
        if (t == alias)
            return true;
        t = bs->id.target[t];
    }
    return false;
}

/*
 * An alias that shows a region containing it. QEMU and guestmem accept it
 * (rendering clips the window, so the recursion ends), but it cannot be
 * created in post order: its target is not finished when it is reached.
 * Defer it: it is created once every other region exists, and added with
 * the others afterwards, so sibling order is kept. A cycle of aliases alone
 * is meaningless (QEMU would recurse forever) and is an input error.
 */
static int defer_alias(struct build_state *bs, int32_t alias)
{
    if (pure_alias_cycle(bs, bs->id.target[alias], alias))
        return berr(bs, alias, "alias cycle: the aliases show each other");
    bs->m->deferred[alias] = true;
    return 0;
}

static int walk_from(struct build_state *bs, struct walk *w, int32_t start)
{
    w->top = 0;
    w->stack[w->top++] = (struct visit){ start, -1 };
    while (w->top) {
        struct visit v = w->stack[--w->top];
        int ret = 0;

        if (v.node < 0)
            ret = leave_node(bs, w, ~v.node);
        else if (w->color[v.node] == 1)
            ret = v.alias >= 0 ? defer_alias(bs, v.alias) : berr(bs, v.node, "region nested inside itself");
        else if (w->color[v.node] == 0) {
            w->color[v.node] = 1;
            push_successors(bs, w, v.node);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int check_graph(struct build_state *bs)
{
    size_t n = bs->doc->nnodes ? bs->doc->nnodes : 1;
    struct walk w = {
        .color = calloc(n, 1), .size = calloc(n, sizeof(uint32_t)),
        .depth = calloc(n, sizeof(uint32_t)), .stack = malloc((3 * n + 4) * sizeof(struct visit)),
    };
    int ret = -ENOMEM;

    bs->post = malloc(n * sizeof(int32_t));
    if (w.color && w.size && w.depth && w.stack && bs->post) {
        ret = 0;
        for (size_t i = 0; i < bs->doc->nnodes && ret == 0; i++) {
            if (bs->id.canon[i] == (int32_t)i && !w.color[i])
                ret = walk_from(bs, &w, (int32_t)i);
        }
    }
    free(w.color);
    free(w.size);
    free(w.depth);
    free(w.stack);
    return ret;
}

/* ---- region creation ------------------------------------------------------------ */

static gm_region *new_ramd(struct build_state *bs, int32_t i, uint64_t size)
{
    struct mtree_model *m = bs->m;
    void *p;

    if (size == GM_SIZE_2_64 || size > SIZE_MAX / 2) {
        errno = EINVAL;
        return NULL;
    }
    if (mtree_grow(&m->ramd, &m->cap_ramd, m->nramd, sizeof(*m->ramd)) < 0) {
        errno = ENOMEM;
        return NULL;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    m->ramd[m->nramd++] = (struct ramd_buf){ p, size };
    return gm_region_new_ram_device_ptr(m->sys, bs->doc->nodes[i].name, size, p);
}

static gm_region *new_region(struct build_state *bs, int32_t i)
{
    const struct mtree_node *n = &bs->doc->nodes[i];
    gm_system *sys = bs->m->sys;
    uint64_t size = mtree_size_arg(n);

    if (n->is_alias)
        return gm_region_new_alias(sys, n->name, bs->m->mr[bs->id.target[i]], n->alias_offset,
                                   size);
    switch (n->type) {
    case MTREE_RAM:
        return gm_region_new_ram(sys, n->name, size);
    case MTREE_ROM:
        return gm_region_new_rom(sys, n->name, size);
    case MTREE_ROMD:
        return gm_region_new_rom_device(sys, n->name, size, &romd_ops, NULL);
    case MTREE_RAMD:
        return new_ramd(bs, i, size);
    case MTREE_IO:
        break;
    }
    if (mtree_infer_terminates(&bs->inf, i))
        return gm_region_new_io(sys, n->name, size, NULL, NULL);
    return gm_region_new_container(sys, n->name, size);
}

static int create_region(struct build_state *bs, int32_t i)
{
    const struct mtree_node *n = &bs->doc->nodes[i];
    gm_region *mr;

    if (n->size_m1 == UINT64_MAX && n->type != MTREE_IO && !n->is_alias)
        return berr(bs, i, "RAM or ROM of 2^64 bytes cannot be allocated");
    errno = 0;
    mr = new_region(bs, i);
    if (!mr)
        return berr_errno(bs, i, "cannot create the region", errno);
    bs->m->mr[i] = mr;
    if (n->disabled)
        gm_region_set_enabled(mr, false);
    if (n->nv)
        gm_region_set_nonvolatile(mr, true);
    if (mtree_infer_alias_readonly(n))
        gm_region_set_readonly(mr, true);
    return 0;
}

/* ---- subregions ------------------------------------------------------------------ */

static int add_children(struct build_state *bs, int32_t p, int32_t *order)
{
    const struct mtree_doc *doc = bs->doc;
    int ret = mtree_infer_child_order(doc, p, order);

    for (size_t k = doc->nodes[p].nchildren; ret == 0 && k-- > 0;) {
        int32_t ch = order[k], c = bs->id.canon[ch];

        ret = gm_region_add_subregion_overlap(bs->m->mr[p], doc->nodes[ch].addr, bs->m->mr[c],
                                              doc->nodes[ch].prio);
        if (ret < 0)
            return berr_errno(bs, ch, "cannot add the subregion", -ret);
    }
    return ret;
}

static int add_all_children(struct build_state *bs)
{
    const struct mtree_doc *doc = bs->doc;
    int32_t *order = malloc((doc->nnodes ? doc->nnodes : 1) * sizeof(*order));
    int ret = order ? 0 : -ENOMEM;

    for (size_t i = 0; i < doc->nnodes && ret == 0; i++) {
        if (bs->id.canon[i] == (int32_t)i && doc->nodes[i].nchildren)
            ret = add_children(bs, (int32_t)i, order);
    }
    free(order);
    return ret;
}

/* A top printed at a non-zero address or priority keeps them in a holder. */
static int hold_top(struct build_state *bs, int32_t i)
{
    const struct mtree_node *n = &bs->doc->nodes[i];
    struct mtree_model *m = bs->m;
    gm_region *holder;
    int ret;

    if (mtree_grow(&m->holders, &m->cap_holders, m->nholders, sizeof(*m->holders)) < 0)
        return -ENOMEM;
    holder = gm_region_new_container(m->sys, "mtree-holder", GM_SIZE_2_64);
    if (!holder)
        return berr_errno(bs, i, "cannot create a holder container", errno);
    m->holders[m->nholders++] = holder;
    ret = gm_region_add_subregion_overlap(holder, n->addr, m->mr[i], n->prio);
    return ret < 0 ? berr_errno(bs, i, "cannot place the region", -ret) : 0;
}

static int hold_tops(struct build_state *bs)
{
    const struct mtree_doc *doc = bs->doc;
    int ret = 0;

    for (size_t i = 0; i < doc->nnodes && ret == 0; i++) {
        const struct mtree_node *n = &doc->nodes[i];

        if (bs->id.canon[i] == (int32_t)i && n->parent < 0 && !gm_region_container(bs->m->mr[i]) &&
            (n->addr || n->prio))
            ret = hold_top(bs, (int32_t)i);
    }
    return ret;
}

/* ---- address spaces ---------------------------------------------------------------- */

static int create_spaces(struct build_state *bs)
{
    const struct mtree_doc *doc = bs->doc;
    struct mtree_model *m = bs->m;

    for (size_t b = 0; b < doc->nblocks; b++) {
        const struct mtree_block *blk = &doc->blocks[b];
        gm_region *root = m->mr[bs->id.canon[blk->root]];

        for (uint32_t k = 0; blk->is_as && k < blk->nnames; k++) {
            gm_as *as;

            if (mtree_grow(&m->as, &m->cap_as, m->nas, sizeof(*m->as)) < 0)
                return -ENOMEM;
            as = gm_as_new(m->sys, root, blk->names[k]);
            if (!as)
                return mtree_errf(bs->err, bs->errlen, "line %u: cannot create address space '%s': %s",
                                  blk->name_lines[k], blk->names[k], strerror(errno));
            m->as[m->nas++] = as;
        }
    }
    return 0;
}

/* ---- driver --------------------------------------------------------------------------- */

/*
 * guestmem copies its host map (host pointer -> RAM region) on every RAM
 * region created or freed and frees the old copy after a grace period, so
 * N RAM regions cost O(N^2) memory in flight: refuse absurd counts.
 */
static int check_ram_count(struct build_state *bs)
{
    const struct mtree_doc *doc = bs->doc;
    size_t count = 0;

    for (size_t i = 0; i < doc->nnodes; i++) {
        const struct mtree_node *n = &doc->nodes[i];

        if (bs->id.canon[i] != (int32_t)i || n->is_alias || n->type == MTREE_IO)
            continue;
        if (++count > MTREE_MAX_RAM_REGIONS)
            return berr(bs, (int32_t)i, "more than 4096 RAM, ROM and RAM-device regions");
    }
    return 0;
}

/* Deferred aliases, once their targets exist (a deferred alias may target
 * another one: repeat while that makes progress). */
static int create_deferred(struct build_state *bs)
{
    bool progress = true;
    int ret = 0;

    while (progress && ret == 0) {
        progress = false;
        for (size_t k = 0; k < bs->npost && ret == 0; k++) {
            int32_t i = bs->post[k];

            if (!bs->m->deferred[i] || bs->m->mr[i] || !bs->m->mr[bs->id.target[i]])
                continue;
            ret = create_region(bs, i);
            progress = true;
        }
    }
    for (size_t k = 0; k < bs->npost && ret == 0; k++) {
        if (!bs->m->mr[bs->post[k]])
            ret = berr(bs, bs->post[k], "alias target never created");
    }
    return ret;
}

static int build_all(struct build_state *bs)
{
    int ret = check_ram_count(bs);

    if (ret == 0)
        ret = check_graph(bs);

    for (size_t k = 0; k < bs->npost && ret == 0; k++) {
        if (!bs->m->deferred[bs->post[k]])
            ret = create_region(bs, bs->post[k]);
    }
    if (ret == 0)
        ret = create_deferred(bs);
    if (ret == 0)
        ret = add_all_children(bs);
    if (ret == 0)
        ret = hold_tops(bs);
    if (ret == 0)
        ret = create_spaces(bs);
    return ret;
}

static struct mtree_model *model_new(size_t nnodes)
{
    struct mtree_model *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->nnodes = nnodes;
    m->mr = calloc(nnodes ? nnodes : 1, sizeof(*m->mr));
    m->type = calloc(nnodes ? nnodes : 1, sizeof(*m->type));
    m->deferred = calloc(nnodes ? nnodes : 1, sizeof(*m->deferred));
    m->sys = gm_system_new(0);
    if (!m->mr || !m->type || !m->deferred || !m->sys) {
        mtree_model_free(m);
        return NULL;
    }
    return m;
}

int mtree_build(const struct mtree_doc *doc, const struct mtree_hints *hints,
                struct mtree_model **out, char *err, size_t errlen)
{
    struct build_state bs = { .doc = doc, .err = err, .errlen = errlen };
    int ret;

    bs.m = model_new(doc->nnodes);
    if (!bs.m)
        return mtree_errf(err, errlen, "out of memory"), -ENOMEM;
    for (size_t i = 0; i < doc->nnodes; i++)
        bs.m->type[i] = doc->nodes[i].is_alias ? MTREE_IO : doc->nodes[i].type;
    ret = mtree_ident_resolve(doc, &bs.id, err, errlen);
    if (ret == 0)
        ret = mtree_infer_init(&bs.inf, doc, &bs.id, hints);
    if (ret == 0) {
        gm_transaction_begin(bs.m->sys);
        ret = build_all(&bs);
        gm_transaction_commit(bs.m->sys);
    }
    if (ret == -ENOMEM)
        mtree_errf(err, errlen, "out of memory");
    mtree_infer_free(&bs.inf);
    mtree_ident_free(&bs.id);
    free(bs.post);
    if (ret < 0) {
        mtree_model_free(bs.m);
        return ret;
    }
    *out = bs.m;
    return 0;
}

void mtree_model_free(struct mtree_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nas; i++)
        gm_as_free(m->as[i]);
    for (size_t i = 0; i < m->nnodes; i++)
        gm_region_unref(m->mr[i]);
    for (size_t i = 0; i < m->nholders; i++)
        gm_region_unref(m->holders[i]);
    gm_system_free(m->sys);
    /* After gm_system_free(): no region can refer to the buffers any more. */
    for (size_t i = 0; i < m->nramd; i++)
        munmap(m->ramd[i].p, m->ramd[i].len);
    free(m->ramd);
    free(m->as);
    free(m->holders);
    free(m->mr);
    free(m->type);
    free(m->deferred);
    free(m);
}

gm_system *mtree_model_system(const struct mtree_model *m)
{
    return m->sys;
}

size_t mtree_model_as_count(const struct mtree_model *m)
{
    return m->nas;
}

gm_as *mtree_model_as(const struct mtree_model *m, size_t i)
{
    return m->as[i];
}

const char *mtree_model_warning(const struct mtree_model *m, size_t *count)
{
    *count = m->nwarnings;
    return m->nwarnings ? m->warning : NULL;
}

const char *mtree_model_region_type(const struct mtree_model *m, const gm_region *mr)
{
    for (size_t i = 0; i < m->nnodes; i++) {
        if (m->mr[i] == mr)
            return mtree_type_name(m->type[i]);
    }
    return NULL;
}
