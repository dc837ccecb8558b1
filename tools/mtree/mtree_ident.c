/* SPDX-License-Identifier: MIT */
/*
 * Region identity: map every printed line to one region ("canonical node")
 * and every alias to the region it shows.
 *
 * Why this is needed: `info mtree -D` prints a region at every place it can
 * be reached from (its address-space tree, its own memory-region block,
 * the blocks of the alias targets around it). Rebuilding each printed line
 * as a new region would give the right shapes but the wrong identities:
 * flat-view ranges of one region would no longer merge, and re-printing
 * would list other memory-region blocks.
 *
 * 1. Duplicates. A region's printed subtree is a function of the region, so
 *    two lines are one region only if their subtrees print identically
 *    (same names, offsets, sizes, priorities, types, flags, alias fields).
 *    Tops are matched, largest memory-region blocks first, against nodes
 *    printed elsewhere with the same subtree hash: an address-space root
 *    against non-top nodes of other address-space trees, a memory-region
 *    block against address-space roots and non-top nodes anywhere else.
 *    Distinct address-space roots (QEMU prints one block per root) and
 *    distinct memory-region blocks (one per target) are never merged. A
 *    matched top and its whole subtree then point at the match.
 *
 * 2. Alias targets. QEMU queues an alias target for printing the first
 *    time it prints an alias to it, and prints the queue in order. So when
 *    several blocks share a name, the k-th block was queued by an alias
 *    printed before block k's header and after the one that queued block
 *    k-1. The latest admissible queuing line of each block is computed
 *    backwards; walking the aliases forwards, a block is taken as new when
 *    its latest line is reached, an alias otherwise reuses what an alias
 *    sibling printed just before it showed, else takes the next block if
 *    the name fits, else the most recent queued one. Should the blocks not
 *    fit this schedule (hand-written input), each alias simply takes the
 *    first block, else the first region, of its target's name.
 *
 * Costs are linear apart from a bounded number of candidates per top
 * (MAX_CANDIDATES) and of siblings looked at per alias (MAX_SIBLINGS):
 * the input is untrusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mtree_ident.h"

#define MAX_CANDIDATES 64
#define MAX_SIBLINGS 8

/* Working state of the duplicate pass. */
struct dup_state {
    const struct mtree_doc *doc;
    struct mtree_ident *id;
    uint64_t *hash;      /* per node: hash of its printed subtree */
    int32_t *next_same;  /* per node: next non-top node with the same hash */
    int32_t *next_root;  /* per block: next AS block with the same root hash */
    bool *claimed_as;    /* per node: already the root of an AS block */
    bool *claimed_mr;    /* per node: already the top of a memory-region block */
    struct mtree_map by_hash;  /* hash -> first non-top node */
    struct mtree_map as_roots; /* hash -> first AS block */
};

/* One (target name, type) pair, with its aliases and queued blocks. */
struct key_info {
    uint32_t *pos;     /* lines of first-printed aliases with this key */
    size_t npos, cap_pos;
    int32_t *queued;   /* memory-region blocks with this key already queued */
    size_t nqueued;
    size_t nblocks;    /* memory-region blocks with this key (room in queued) */
    int32_t first;     /* the first of them */
};

/* Working state of the alias-target pass. */
struct target_state {
    const struct mtree_doc *doc;
    struct mtree_ident *id;
    struct mtree_map keys;      /* (name, type) -> key index */
    struct key_info *key;
    size_t nkeys, cap_keys;
    int32_t *mr;                /* memory-region blocks in text order */
    int32_t *mr_key;            /* per entry of mr: key index */
    int32_t *block_key;         /* per block: key index, -1 for address spaces */
    uint32_t *latest;           /* per entry of mr: latest line that may queue it */
    size_t nmr;
    int32_t *decision;          /* first-printed node of each alias region */
    size_t ndecisions;
    struct mtree_map first_block; /* name -> first memory-region block */
    struct mtree_map first_node;  /* name -> first non-alias node */
    char *err;
    size_t errlen;
};

static int32_t find(const struct mtree_ident *id, int32_t i)
{
    int32_t r = i;

    while (id->canon[r] != r)
        r = id->canon[r];
    while (id->canon[i] != r) {
        int32_t next = id->canon[i];

        id->canon[i] = r;
        i = next;
    }
    return r;
}

/* ---- subtree hashes -------------------------------------------------------- */

static uint64_t node_hash(const struct mtree_doc *doc, const uint64_t *hash, int32_t i)
{
    const struct mtree_node *n = &doc->nodes[i];
    uint64_t h = mtree_hash(0xcbf29ce484222325ull, n->name, strlen(n->name));

    h = mtree_hash_u64(h, n->addr);
    h = mtree_hash_u64(h, n->size_m1);
    h = mtree_hash_u64(h, (uint64_t)(uint32_t)n->prio);
    h = mtree_hash_u64(h, (uint64_t)n->type | (uint64_t)n->nv << 8 |
                              (uint64_t)n->disabled << 9 | (uint64_t)n->is_alias << 10);
    if (n->is_alias) {
        h = mtree_hash(h, n->target, strlen(n->target));
        h = mtree_hash_u64(h, n->alias_offset);
    }
    h = mtree_hash_u64(h, n->nchildren);
    for (int32_t c = n->first_child; c >= 0; c = doc->nodes[c].next_sibling)
        h = mtree_hash_u64(h, hash[c]);
    return h;
}

static void hash_subtrees(const struct mtree_doc *doc, uint64_t *hash)
{
    for (size_t i = doc->nnodes; i-- > 0;)
        hash[i] = node_hash(doc, hash, (int32_t)i);
}

/* Same printed line and same children hashes: the subtrees print alike. */
static bool same_subtree(const struct dup_state *ds, int32_t a, int32_t b)
{
    const struct mtree_node *x = &ds->doc->nodes[a], *y = &ds->doc->nodes[b];
    int32_t cx, cy;

    if (ds->hash[a] != ds->hash[b] || strcmp(x->name, y->name) != 0 || x->addr != y->addr ||
        x->size_m1 != y->size_m1 || x->prio != y->prio || x->type != y->type ||
        x->nv != y->nv || x->disabled != y->disabled || x->is_alias != y->is_alias ||
        x->nchildren != y->nchildren)
        return false;
    if (x->is_alias && (strcmp(x->target, y->target) != 0 || x->alias_offset != y->alias_offset))
        return false;
    for (cx = x->first_child, cy = y->first_child; cx >= 0 && cy >= 0;
         cx = ds->doc->nodes[cx].next_sibling, cy = ds->doc->nodes[cy].next_sibling) {
        if (ds->hash[cx] != ds->hash[cy])
            return false;
    }
    return true;
}

/* ---- duplicates ------------------------------------------------------------ */

static bool in_subtree(const struct mtree_doc *doc, int32_t root, int32_t i)
{
    return i >= root && (uint32_t)(i - root) < doc->nodes[root].subtree;
}

/* Make the subtree of @a (a top) an alias of the subtree of @b, pairwise. */
static void link_subtrees(struct dup_state *ds, int32_t a, int32_t b)
{
    const struct mtree_doc *doc = ds->doc;
    int32_t ca, cb;

    a = find(ds->id, a);
    b = find(ds->id, b);
    if (a == b || in_subtree(doc, a, b))
        return;
    ds->id->canon[a] = b;
    for (ca = doc->nodes[a].first_child, cb = doc->nodes[b].first_child; ca >= 0 && cb >= 0;
         ca = doc->nodes[ca].next_sibling, cb = doc->nodes[cb].next_sibling)
        link_subtrees(ds, ca, cb);
}

/* Is @cand (canonical) an acceptable match for the top of block @b? */
static bool candidate_ok(const struct dup_state *ds, int32_t b, int32_t top, int32_t cand)
{
    const struct mtree_block *blk = &ds->doc->blocks[b];

    if (cand == find(ds->id, top) || in_subtree(ds->doc, top, cand))
        return false;
    return !(blk->is_as ? ds->claimed_as[cand] : ds->claimed_mr[cand]);
}

static void claim(struct dup_state *ds, int32_t b, int32_t top, int32_t cand)
{
    if (ds->doc->blocks[b].is_as)
        ds->claimed_as[cand] = true;
    else
        ds->claimed_mr[cand] = true;
    link_subtrees(ds, top, cand);
}

/* Try the non-top nodes printed with the same subtree as the top of block @b. */
static bool match_nodes(struct dup_state *ds, int32_t b, int32_t top)
{
    const struct mtree_doc *doc = ds->doc;
    int32_t c = mtree_map_get(&ds->by_hash, NULL, ds->hash[top]);

    for (int tries = 0; c >= 0 && tries < MAX_CANDIDATES; c = ds->next_same[c], tries++) {
        int32_t cb = doc->nodes[c].block, cand;

        if (cb == b || (doc->blocks[b].is_as && !doc->blocks[cb].is_as))
            continue;
        if (!same_subtree(ds, top, c))
            continue;
        cand = find(ds->id, c);
        if (candidate_ok(ds, b, top, cand)) {
            claim(ds, b, top, cand);
            return true;
        }
    }
    return false;
}

/* A memory-region block may be the root of an address space. */
static bool match_as_roots(struct dup_state *ds, int32_t b, int32_t top)
{
    const struct mtree_doc *doc = ds->doc;
    int32_t a = mtree_map_get(&ds->as_roots, NULL, ds->hash[top]);

    for (int tries = 0; a >= 0 && tries < MAX_CANDIDATES; a = ds->next_root[a], tries++) {
        int32_t root = doc->blocks[a].root, cand;

        if (!same_subtree(ds, top, root))
            continue;
        cand = find(ds->id, root);
        if (candidate_ok(ds, b, top, cand)) {
            claim(ds, b, top, cand);
            return true;
        }
    }
    return false;
}

static int index_nodes(struct dup_state *ds)
{
    const struct mtree_doc *doc = ds->doc;
    bool created;

    /* Walk backwards and push in front, so chains run in text order. */
    for (size_t i = doc->nnodes; i-- > 0;) {
        int32_t *head;

        if (doc->nodes[i].parent < 0)
            continue;
        head = mtree_map_slot(&ds->by_hash, NULL, ds->hash[i], &created);
        if (!head)
            return -ENOMEM;
        ds->next_same[i] = *head;
        *head = (int32_t)i;
    }
    for (size_t b = doc->nblocks; b-- > 0;) {
        int32_t *head;

        if (!doc->blocks[b].is_as)
            continue;
        head = mtree_map_slot(&ds->as_roots, NULL, ds->hash[doc->blocks[b].root], &created);
        if (!head)
            return -ENOMEM;
        ds->next_root[b] = *head;
        *head = (int32_t)b;
    }
    return 0;
}

struct sized_block {
    uint32_t subtree;
    int32_t block;
};

static int cmp_subtree_desc(const void *pa, const void *pb)
{
    const struct sized_block *a = pa, *b = pb;

    if (a->subtree != b->subtree)
        return a->subtree > b->subtree ? -1 : 1;
    return a->block < b->block ? -1 : a->block > b->block;
}

/* Address-space blocks in text order, then memory-region blocks, largest first. */
static int32_t *block_order(const struct mtree_doc *doc)
{
    size_t nb = doc->nblocks ? doc->nblocks : 1, n = 0, nmr = 0;
    struct sized_block *mr = malloc(nb * sizeof(*mr));
    int32_t *order = malloc(nb * sizeof(*order));

    if (!order || !mr) {
        free(mr);
        free(order);
        return NULL;
    }
    for (size_t b = 0; b < doc->nblocks; b++) {
        if (doc->blocks[b].is_as)
            order[n++] = (int32_t)b;
        else
            mr[nmr++] = (struct sized_block){ doc->nodes[doc->blocks[b].root].subtree, (int32_t)b };
    }
    qsort(mr, nmr, sizeof(*mr), cmp_subtree_desc);
    for (size_t k = 0; k < nmr; k++)
        order[n++] = mr[k].block;
    free(mr);
    return order;
}

static int merge_duplicates(struct dup_state *ds)
{
    const struct mtree_doc *doc = ds->doc;
    int32_t *order;
    int ret;

    hash_subtrees(doc, ds->hash);
    ret = index_nodes(ds);
    if (ret < 0)
        return ret;
    order = block_order(doc);
    if (!order)
        return -ENOMEM;
    for (size_t k = 0; k < doc->nblocks; k++) {
        int32_t b = order[k], top = doc->blocks[b].root;

        if (!doc->blocks[b].is_as && match_as_roots(ds, b, top))
            continue;
        match_nodes(ds, b, top);
    }
    free(order);
    return 0;
}

static int run_duplicates(const struct mtree_doc *doc, struct mtree_ident *id)
{
    size_t n = doc->nnodes ? doc->nnodes : 1, nb = doc->nblocks ? doc->nblocks : 1;
    struct dup_state ds = {
        .doc = doc, .id = id,
        .hash = malloc(n * sizeof(uint64_t)),
        .next_same = malloc(n * sizeof(int32_t)),
        .next_root = malloc(nb * sizeof(int32_t)),
        .claimed_as = calloc(n, sizeof(bool)),
        .claimed_mr = calloc(n, sizeof(bool)),
    };
    int ret = -ENOMEM;

    if (ds.hash && ds.next_same && ds.next_root && ds.claimed_as && ds.claimed_mr)
        ret = merge_duplicates(&ds);
    free(ds.hash);
    free(ds.next_same);
    free(ds.next_root);
    free(ds.claimed_as);
    free(ds.claimed_mr);
    mtree_map_free(&ds.by_hash);
    mtree_map_free(&ds.as_roots);
    return ret;
}

/* ---- alias targets ----------------------------------------------------------- */

static int terr(struct target_state *ts, uint32_t line, const char *what, const char *name)
{
    return mtree_errf(ts->err, ts->errlen, "line %u: %s '%s'", line, what, name);
}

/* Key index of (@name, @type), created on demand; -1 when out of memory. */
static int32_t key_of(struct target_state *ts, const char *name, enum mtree_type type)
{
    bool created;
    int32_t *slot = mtree_map_slot(&ts->keys, name, (uint64_t)type, &created);

    if (!slot)
        return -1;
    if (created) {
        if (mtree_grow(&ts->key, &ts->cap_keys, ts->nkeys, sizeof(*ts->key)) < 0)
            return -1;
        ts->key[ts->nkeys] = (struct key_info){ .first = -1 };
        *slot = (int32_t)ts->nkeys++;
    }
    return *slot;
}

static int remember_first(struct mtree_map *m, const char *name, int32_t value)
{
    bool created;
    int32_t *slot = mtree_map_slot(m, name, 0, &created);

    if (!slot)
        return -ENOMEM;
    if (created)
        *slot = value;
    return 0;
}

/* Memory-region blocks in text order with their keys; name indexes. */
static int index_blocks(struct target_state *ts)
{
    const struct mtree_doc *doc = ts->doc;

    for (size_t b = 0; b < doc->nblocks; b++) {
        const struct mtree_node *top = &doc->nodes[doc->blocks[b].root];
        int32_t k;

        ts->block_key[b] = -1;
        if (doc->blocks[b].is_as)
            continue;
        k = key_of(ts, top->name, top->type);
        if (k < 0 || remember_first(&ts->first_block, top->name, (int32_t)b) < 0)
            return -ENOMEM;
        ts->block_key[b] = k;
        if (ts->key[k].nblocks++ == 0)
            ts->key[k].first = (int32_t)b;
        ts->mr[ts->nmr] = (int32_t)b;
        ts->mr_key[ts->nmr++] = k;
    }
    for (size_t i = 0; i < doc->nnodes; i++) {
        if (!doc->nodes[i].is_alias &&
            remember_first(&ts->first_node, doc->nodes[i].name, (int32_t)i) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The first-printed node of every alias region, and the lines per key. */
static int collect_decisions(struct target_state *ts)
{
    const struct mtree_doc *doc = ts->doc;

    for (size_t i = 0; i < doc->nnodes; i++) {
        const struct mtree_node *n = &doc->nodes[i];
        int32_t c, k;
        struct key_info *ki;

        if (!n->is_alias)
            continue;
        c = find(ts->id, (int32_t)i);
        if (ts->id->target_block[c] != -2)
            continue;
        ts->id->target_block[c] = -1; /* seen; decided later */
        ts->decision[ts->ndecisions++] = (int32_t)i;
        k = mtree_map_get(&ts->keys, n->target, (uint64_t)n->type);
        if (k < 0)
            continue;
        ki = &ts->key[k];
        if (mtree_grow(&ki->pos, &ki->cap_pos, ki->npos, sizeof(*ki->pos)) < 0)
            return -ENOMEM;
        ki->pos[ki->npos++] = n->line;
    }
    return 0;
}

/* Largest element of sorted @v below @lim, or 0 if none (lines start at 1). */
static uint32_t max_below(const uint32_t *v, size_t n, uint32_t lim)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v[mid] < lim)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? v[lo - 1] : 0;
}

/* Latest line that may queue each block; false if the blocks do not fit QEMU's order. */
static bool schedule_blocks(struct target_state *ts)
{
    uint32_t next = UINT32_MAX;

    for (size_t k = ts->nmr; k-- > 0;) {
        const struct key_info *ki = &ts->key[ts->mr_key[k]];
        uint32_t hdr = ts->doc->blocks[ts->mr[k]].line;
        uint32_t lim = hdr < next ? hdr : next;

        ts->latest[k] = max_below(ki->pos, ki->npos, lim);
        if (!ts->latest[k])
            return false;
        next = ts->latest[k];
    }
    return true;
}

/* A block queued for what an alias sibling printed just before @i showed. */
static int32_t sibling_choice(const struct target_state *ts, int32_t i, int32_t k)
{
    const struct mtree_doc *doc = ts->doc;
    int32_t s = doc->nodes[i].prev_sibling;

    for (int n = 0; s >= 0 && n < MAX_SIBLINGS; s = doc->nodes[s].prev_sibling, n++) {
        int32_t tb;

        if (!doc->nodes[s].is_alias)
            continue;
        tb = ts->id->target_block[find(ts->id, s)];
        if (tb >= 0 && ts->block_key[tb] == k)
            return tb;
    }
    return -1;
}

static void queue_block(struct target_state *ts, int32_t k, int32_t b)
{
    struct key_info *ki = &ts->key[k];

    /* Capacity was reserved in reserve_queues(). */
    ki->queued[ki->nqueued++] = b;
}

/* Strict pass: pick each alias's block following QEMU's queue order. */
static void assign_strict(struct target_state *ts, size_t *q, int32_t i, int32_t c)
{
    const struct mtree_node *n = &ts->doc->nodes[i];
    int32_t k = mtree_map_get(&ts->keys, n->target, (uint64_t)n->type), sib;
    bool new_ok = k >= 0 && *q < ts->nmr && ts->mr_key[*q] == k;
    const struct key_info *ki = k >= 0 ? &ts->key[k] : NULL;

    if (new_ok && n->line >= ts->latest[*q]) {
        queue_block(ts, k, ts->mr[*q]);
        ts->id->target_block[c] = ts->mr[(*q)++];
    } else if (k >= 0 && (sib = sibling_choice(ts, i, k)) >= 0) {
        ts->id->target_block[c] = sib;
    } else if (new_ok) {
        queue_block(ts, k, ts->mr[*q]);
        ts->id->target_block[c] = ts->mr[(*q)++];
    } else if (ki && ki->nqueued) {
        ts->id->target_block[c] = ki->queued[ki->nqueued - 1];
    }
}

static int reserve_queues(struct target_state *ts)
{
    for (size_t k = 0; k < ts->nkeys; k++) {
        struct key_info *ki = &ts->key[k];

        ki->queued = malloc((ki->nblocks ? ki->nblocks : 1) * sizeof(*ki->queued));
        if (!ki->queued)
            return -ENOMEM;
    }
    return 0;
}

/* Fallback: by name only. Sets target_block (or -1) and target. */
static int assign_by_name(struct target_state *ts, int32_t i, int32_t c)
{
    const struct mtree_node *n = &ts->doc->nodes[i];
    int32_t k = mtree_map_get(&ts->keys, n->target, (uint64_t)n->type);
    int32_t b = k >= 0 ? ts->key[k].first : -1, node;

    if (b < 0)
        b = mtree_map_get(&ts->first_block, n->target, 0);
    if (b >= 0) {
        ts->id->target_block[c] = b;
        return 0;
    }
    node = mtree_map_get(&ts->first_node, n->target, 0);
    if (node < 0)
        return terr(ts, n->line, "alias target not found:", n->target);
    ts->id->target[c] = find(ts->id, node);
    return 0;
}

static int assign_targets(struct target_state *ts)
{
    bool strict = schedule_blocks(ts);
    size_t q = 0;
    int ret = reserve_queues(ts);

    for (size_t d = 0; d < ts->ndecisions && ret == 0; d++) {
        int32_t i = ts->decision[d], c = find(ts->id, i);

        if (strict)
            assign_strict(ts, &q, i, c);
        if (ts->id->target_block[c] < 0)
            ret = assign_by_name(ts, i, c);
        if (ret == 0 && ts->id->target_block[c] >= 0)
            ts->id->target[c] = find(ts->id, ts->doc->blocks[ts->id->target_block[c]].root);
    }
    return ret;
}

static void free_targets(struct target_state *ts)
{
    for (size_t k = 0; k < ts->nkeys; k++) {
        free(ts->key[k].pos);
        free(ts->key[k].queued);
    }
    free(ts->key);
    free(ts->mr);
    free(ts->mr_key);
    free(ts->block_key);
    free(ts->latest);
    free(ts->decision);
    mtree_map_free(&ts->keys);
    mtree_map_free(&ts->first_block);
    mtree_map_free(&ts->first_node);
}

static int run_targets(const struct mtree_doc *doc, struct mtree_ident *id, char *err,
                       size_t errlen)
{
    size_t nb = doc->nblocks ? doc->nblocks : 1, n = doc->nnodes ? doc->nnodes : 1;
    struct target_state ts = {
        .doc = doc, .id = id, .err = err, .errlen = errlen,
        .mr = malloc(nb * sizeof(int32_t)), .mr_key = malloc(nb * sizeof(int32_t)),
        .block_key = malloc(nb * sizeof(int32_t)),
        .latest = malloc(nb * sizeof(uint32_t)), .decision = malloc(n * sizeof(int32_t)),
    };
    int ret = -ENOMEM;

    for (size_t i = 0; i < doc->nnodes; i++)
        id->target_block[i] = -2; /* not seen yet */
    if (ts.mr && ts.mr_key && ts.block_key && ts.latest && ts.decision) {
        ret = index_blocks(&ts);
        if (ret == 0)
            ret = collect_decisions(&ts);
        if (ret == 0)
            ret = assign_targets(&ts);
    }
    for (size_t i = 0; i < doc->nnodes; i++) {
        if (id->target_block[i] == -2)
            id->target_block[i] = -1;
    }
    free_targets(&ts);
    return ret;
}

/* ---- flags ------------------------------------------------------------------- */

static int mark_names(const struct mtree_doc *doc, struct mtree_ident *id)
{
    struct mtree_map names = { 0 };
    int ret = 0;

    for (size_t b = 0; b < doc->nblocks && ret == 0; b++) {
        if (doc->blocks[b].is_as)
            id->as_root[find(id, doc->blocks[b].root)] = true;
        else
            ret = remember_first(&names, doc->blocks[b].names[0], (int32_t)b);
    }
    for (size_t i = 0; i < doc->nnodes && ret == 0; i++)
        id->is_target_name[i] = mtree_map_get(&names, doc->nodes[i].name, 0) >= 0;
    mtree_map_free(&names);
    return ret;
}

int mtree_ident_resolve(const struct mtree_doc *doc, struct mtree_ident *id, char *err,
                        size_t errlen)
{
    size_t n = doc->nnodes ? doc->nnodes : 1;
    int ret;

    id->canon = malloc(n * sizeof(int32_t));
    id->target = malloc(n * sizeof(int32_t));
    id->target_block = malloc(n * sizeof(int32_t));
    id->as_root = calloc(n, sizeof(bool));
    id->is_target_name = calloc(n, sizeof(bool));
    if (!id->canon || !id->target || !id->target_block || !id->as_root || !id->is_target_name)
        return mtree_errf(err, errlen, "out of memory"), -ENOMEM;
    for (size_t i = 0; i < doc->nnodes; i++) {
        id->canon[i] = (int32_t)i;
        id->target[i] = -1;
    }
    ret = run_duplicates(doc, id);
    if (ret == 0)
        ret = run_targets(doc, id, err, errlen);
    if (ret == 0)
        ret = mark_names(doc, id);
    for (size_t i = 0; i < doc->nnodes && ret == 0; i++)
        find(id, (int32_t)i); /* flatten: canon[i] is final */
    if (ret == -ENOMEM)
        mtree_errf(err, errlen, "out of memory");
    return ret;
}

void mtree_ident_free(struct mtree_ident *id)
{
    free(id->canon);
    free(id->target);
    free(id->target_block);
    free(id->as_root);
    free(id->is_target_name);
    *id = (struct mtree_ident){ 0 };
}
