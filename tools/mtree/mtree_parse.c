/* SPDX-License-Identifier: MIT */
/*
 * Parser for `info mtree -D` text: lines -> blocks -> nodes.
 *
 * Why a hand-written line parser: the grammar is tiny and fixed by QEMU's
 * printf formats, and the input is untrusted (the tool is fuzzed), so every
 * field is checked in place: exact widths for the hex fields, an int range
 * for priorities, even indentation, no jump of more than one level, no NUL
 * bytes, bounded line length and nesting. Nothing recurses, so deep input
 * cannot exhaust the stack.
 *
 * Alias lines are split in two passes: "alias NAME @TARGET" is ambiguous
 * when names contain " @", so the split is chosen once all memory-region
 * block names (the possible targets) are known.
 *
 * Glossary: "top" = the first (level 1) line of a block; "level" = nesting
 * level, 1 + indentation / 2.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mtree_parse.h"

#define OVERFLOW_MARK "[DETECTED OVERFLOW!] "
#define DISABLED_MARK " [disabled]"
#define HEADER_AS "address-space: "
#define HEADER_MR "memory-region: "

/* Parser state between lines. */
struct parse_state {
    struct mtree_doc *doc;
    int32_t block;                      /* current block, -1 between blocks */
    int32_t stack[MTREE_MAX_DEPTH + 1]; /* last node seen at each level */
    uint32_t line;
    char *err;
    size_t errlen;
};

/* The fields of one region line, before it becomes a node. */
struct line_fields {
    uint32_t level;
    uint64_t start, end;
    int prio;
    bool nv;
    enum mtree_type type;
    const char *rest; /* after "): " */
    size_t rest_len;
};

static const char *const type_names[] = {
    [MTREE_RAM] = "ram", [MTREE_ROM] = "rom", [MTREE_ROMD] = "romd",
    [MTREE_RAMD] = "ramd", [MTREE_IO] = "i/o",
};

const char *mtree_type_name(enum mtree_type type)
{
    return type_names[type];
}

uint64_t mtree_size_arg(const struct mtree_node *n)
{
    return n->size_m1 == UINT64_MAX ? UINT64_MAX : n->size_m1 + 1;
}

static int perr(struct parse_state *ps, const char *what)
{
    return mtree_errf(ps->err, ps->errlen, "line %u: %s", ps->line, what);
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);

    return n >= k && memcmp(s, prefix, k) == 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 16 hex digits at @p (the caller checked that 16 bytes exist). */
static bool parse_hex16(const char *p, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 16; i++) {
        int d = hex_digit(p[i]);

        if (d < 0)
            return false;
        *v = *v << 4 | (uint64_t)d;
    }
    return true;
}

/* A decimal int with optional '-', ending at @*pos; advances @*pos. */
static bool parse_int(const char *s, size_t n, size_t *pos, int *v)
{
    bool neg = false;
    long long x = 0;
    size_t i = *pos, digits = 0;

    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        x = x * 10 + (s[i] - '0');
        if (x > (long long)INT_MAX + 1)
            return false;
    }
    if (!digits || (!neg && x > INT_MAX))
        return false;
    *v = neg ? (int)-x : (int)x;
    *pos = i;
    return true;
}

static bool expect(const char *s, size_t n, size_t *pos, const char *lit)
{
    size_t k = strlen(lit);

    if (n - *pos < k || memcmp(s + *pos, lit, k) != 0)
        return false;
    *pos += k;
    return true;
}

/* "[nv-]TYPE" up to the closing "): ". */
static bool parse_type(const char *s, size_t n, size_t *pos, struct line_fields *f)
{
    f->nv = expect(s, n, pos, "nv-");
    /* Longest names first: "romd" before "rom", "ramd" before "ram". */
    static const enum mtree_type order[] = { MTREE_ROMD, MTREE_RAMD, MTREE_ROM, MTREE_RAM, MTREE_IO };

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        size_t save = *pos;

        if (expect(s, n, pos, type_names[order[i]]) && expect(s, n, pos, "): ")) {
            f->type = order[i];
            return true;
        }
        *pos = save;
    }
    return false;
}

/* Indentation and "START-END"; sets f->level. */
static int parse_range(struct parse_state *ps, const char *s, size_t n, size_t *pos,
                       struct line_fields *f)
{
    size_t i = *pos;

    while (i < n && s[i] == ' ')
        i++;
    if ((i - *pos) % 2 || i == *pos)
        return perr(ps, "indentation must be a positive even number of spaces");
    if ((i - *pos) / 2 > MTREE_MAX_DEPTH)
        return perr(ps, "nesting deeper than 128 levels");
    f->level = (uint32_t)((i - *pos) / 2);
    if (n - i < 33 || s[i + 16] != '-')
        return perr(ps, "expected START-END (two 16-digit hex numbers)");
    if (!parse_hex16(s + i, &f->start) || !parse_hex16(s + i + 17, &f->end))
        return perr(ps, "bad hex number in START-END");
    *pos = i + 33;
    return 0;
}

/* Split one region line into fields (the name part is kept raw in f->rest). */
static int parse_fields(struct parse_state *ps, const char *s, size_t n, struct line_fields *f)
{
    size_t pos = 0;
    int ret;

    expect(s, n, &pos, OVERFLOW_MARK);
    ret = parse_range(ps, s, n, &pos, f);
    if (ret < 0)
        return ret;
    if (!expect(s, n, &pos, " (prio ") || !parse_int(s, n, &pos, &f->prio))
        return perr(ps, "expected \" (prio N, \" with N an int");
    if (!expect(s, n, &pos, ", ") || !parse_type(s, n, &pos, f))
        return perr(ps, "expected a type ([nv-]ram, rom, romd, ramd or i/o) and \"): \"");
    f->rest = s + pos;
    f->rest_len = n - pos;
    return 0;
}

/* "OFF-OFFEND" at the end of an alias line; shortens @*len to what precedes it. */
static bool parse_alias_tail(const char *rest, size_t *len, uint64_t *off, uint64_t *offend)
{
    if (*len < 34 || rest[*len - 34] != ' ' || rest[*len - 17] != '-')
        return false;
    if (!parse_hex16(rest + *len - 33, off) || !parse_hex16(rest + *len - 16, offend))
        return false;
    *len -= 34;
    return true;
}

static int set_name(struct parse_state *ps, const char **dst, const char *s, size_t n)
{
    *dst = mtree_arena_strndup(&ps->doc->strings, s, n);
    return *dst ? 0 : -ENOMEM;
}

/* Fill the name/alias part of @nd from f->rest. */
static int parse_rest(struct parse_state *ps, const struct line_fields *f, struct mtree_node *nd)
{
    const char *rest = f->rest;
    size_t len = f->rest_len;
    uint64_t off, offend;

    nd->disabled = ends_with(rest, len, DISABLED_MARK);
    if (nd->disabled)
        len -= strlen(DISABLED_MARK);
    /* "alias " + at least " @" + " OFF-OFFEND" (34 bytes); else it is a plain name. */
    if (len < 6 + 2 + 34 || !starts_with(rest, len, "alias ") ||
        !parse_alias_tail(rest, &len, &off, &offend))
        return set_name(ps, &nd->name, rest, len);
    if (offend != off + nd->size_m1)
        return perr(ps, "alias range OFF-OFFEND does not match the region size");
    nd->is_alias = true;
    nd->alias_offset = off;
    /* Keep "NAME @TARGET" whole in ->name; split_aliases() cuts it later. */
    if (!memchr(rest + 6, '@', len - 6))
        return perr(ps, "alias line without \"@TARGET\"");
    return set_name(ps, &nd->name, rest + 6, len - 6);
}

static int new_block(struct parse_state *ps, bool is_as)
{
    struct mtree_doc *doc = ps->doc;

    if (doc->nblocks >= INT32_MAX)
        return perr(ps, "too many blocks");
    if (mtree_grow(&doc->blocks, &doc->cap_blocks, doc->nblocks, sizeof(*doc->blocks)) < 0)
        return -ENOMEM;
    doc->blocks[doc->nblocks] = (struct mtree_block){ .is_as = is_as, .line = ps->line, .root = -1 };
    ps->block = (int32_t)doc->nblocks++;
    return 0;
}

static int add_block_name(struct parse_state *ps, const char *s, size_t n)
{
    struct mtree_block *b = &ps->doc->blocks[ps->block];
    const char **names;
    uint32_t *lines;

    if (b->nnames >= UINT32_MAX / 2)
        return perr(ps, "too many address-space names");
    names = realloc(b->names, (b->nnames + 1) * sizeof(*names));
    if (!names)
        return -ENOMEM;
    b->names = names;
    lines = realloc(b->name_lines, (b->nnames + 1) * sizeof(*lines));
    if (!lines)
        return -ENOMEM;
    b->name_lines = lines;
    b->name_lines[b->nnames] = ps->line;
    return set_name(ps, &b->names[b->nnames++], s, n);
}

static int header_line(struct parse_state *ps, const char *s, size_t n, bool is_as)
{
    size_t k = strlen(is_as ? HEADER_AS : HEADER_MR);
    int ret = 0;

    /* Consecutive address-space headers share the root that follows them. */
    if (!is_as || ps->block < 0 || !ps->doc->blocks[ps->block].is_as ||
        ps->doc->blocks[ps->block].root >= 0)
        ret = new_block(ps, is_as);
    return ret < 0 ? ret : add_block_name(ps, s + k, n - k);
}

/* Link @idx under its parent (or as the block's top) according to its level. */
static int attach_node(struct parse_state *ps, int32_t idx, uint32_t level)
{
    struct mtree_doc *doc = ps->doc;
    struct mtree_node *nd = &doc->nodes[idx];
    struct mtree_block *b = &doc->blocks[ps->block];

    if (level == 1) {
        if (b->root >= 0)
            return perr(ps, "a second top-level region in one block");
        b->root = idx;
        nd->addr = nd->start;
    } else {
        int32_t parent = ps->stack[level - 1], last;

        if (b->root < 0 || parent < 0 || doc->nodes[parent].depth != level - 1)
            return perr(ps, "indentation jumps more than one level deeper");
        nd->parent = parent;
        nd->addr = nd->start - doc->nodes[parent].start;
        last = doc->nodes[parent].first_child;
        if (last < 0) {
            doc->nodes[parent].first_child = idx;
        } else {
            /* The previous child at this level is the last sibling. */
            last = ps->stack[level];
            doc->nodes[last].next_sibling = idx;
            nd->prev_sibling = last;
        }
        doc->nodes[parent].nchildren++;
    }
    ps->stack[level] = idx;
    for (uint32_t l = level + 1; l <= MTREE_MAX_DEPTH; l++) {
        if (ps->stack[l] < 0)
            break;
        ps->stack[l] = -1;
    }
    return 0;
}

static int region_line(struct parse_state *ps, const char *s, size_t n)
{
    struct mtree_doc *doc = ps->doc;
    struct line_fields f = { 0 };
    struct mtree_node *nd;
    int ret;

    if (ps->block < 0)
        return perr(ps, "region line outside any address-space or memory-region block");
    ret = parse_fields(ps, s, n, &f);
    if (ret < 0)
        return ret;
    if (f.end - f.start == UINT64_MAX - 1)
        return perr(ps, "a size of 2^64-1 cannot be represented");
    if (doc->nnodes >= INT32_MAX)
        return perr(ps, "too many regions");
    if (mtree_grow(&doc->nodes, &doc->cap_nodes, doc->nnodes, sizeof(*doc->nodes)) < 0)
        return -ENOMEM;
    nd = &doc->nodes[doc->nnodes];
    *nd = (struct mtree_node){
        .start = f.start, .size_m1 = f.end - f.start, .prio = f.prio, .type = f.type,
        .nv = f.nv, .line = ps->line, .depth = f.level, .block = ps->block, .parent = -1,
        .first_child = -1, .next_sibling = -1, .prev_sibling = -1, .subtree = 1,
    };
    ret = parse_rest(ps, &f, nd);
    if (ret < 0)
        return ret;
    ret = attach_node(ps, (int32_t)doc->nnodes, f.level);
    if (ret == 0)
        doc->nnodes++;
    return ret;
}

static int parse_line(struct parse_state *ps, const char *s, size_t n)
{
    if (n && s[n - 1] == '\r')
        n--;
    if (memchr(s, '\0', n))
        return perr(ps, "NUL byte in line");
    if (n > MTREE_MAX_LINE)
        return perr(ps, "line too long");
    if (n == 0) {
        ps->block = -1;
        return 0;
    }
    if (starts_with(s, n, HEADER_AS))
        return header_line(ps, s, n, true);
    if (starts_with(s, n, HEADER_MR))
        return header_line(ps, s, n, false);
    return region_line(ps, s, n);
}

static int parse_lines(struct parse_state *ps, const char *text, size_t len)
{
    size_t pos = 0;

    for (int i = 0; i <= MTREE_MAX_DEPTH; i++)
        ps->stack[i] = -1;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        int ret;

        if (ps->line == UINT32_MAX)
            return perr(ps, "too many lines");
        ps->line++;
        ret = parse_line(ps, text + pos, n);
        if (ret < 0)
            return ret;
        pos += n + (nl ? 1 : 0);
    }
    return 0;
}

/* Every block has a top; a memory-region block's top carries the header's name. */
static int check_blocks(struct parse_state *ps)
{
    struct mtree_doc *doc = ps->doc;
    bool any_as = false;

    for (size_t i = 0; i < doc->nblocks; i++) {
        const struct mtree_block *b = &doc->blocks[i];

        ps->line = b->line;
        if (b->root < 0)
            return perr(ps, "block header without a region tree");
        any_as |= b->is_as;
    }
    if (!any_as)
        return mtree_errf(ps->err, ps->errlen, "line %u: no address-space block found",
                          ps->line ? ps->line : 1);
    return 0;
}

/* Subtree sizes: children follow their parent in text order. */
static void count_subtrees(struct mtree_doc *doc)
{
    for (size_t i = doc->nnodes; i-- > 0;) {
        int32_t p = doc->nodes[i].parent;

        if (p >= 0)
            doc->nodes[p].subtree += doc->nodes[i].subtree;
    }
}

/* Score of cutting "NAME @TARGET" at @at: 2 = TARGET names a memory-region block of the right type. */
static int split_score(const struct mtree_doc *doc, const struct mtree_map *targets,
                       const struct mtree_node *nd, const char *target)
{
    int32_t b = mtree_map_get(targets, target, 0);

    if (b < 0)
        return 0;
    return doc->nodes[doc->blocks[b].root].type == nd->type ? 2 : 1;
}

static int split_alias(struct parse_state *ps, const struct mtree_map *targets, struct mtree_node *nd)
{
    const char *s = nd->name, *best = NULL;
    int best_score = -1;
    char *name, *target;

    for (const char *p = strstr(s, " @"); p; p = strstr(p + 1, " @")) {
        int score = split_score(ps->doc, targets, nd, p + 2);

        if (score > best_score) {
            best = p;
            best_score = score;
        }
    }
    if (!best) {
        ps->line = nd->line;
        return perr(ps, "alias line without \" @TARGET\"");
    }
    name = mtree_arena_strndup(&ps->doc->strings, s, (size_t)(best - s));
    target = mtree_arena_strndup(&ps->doc->strings, best + 2, strlen(best + 2));
    if (!name || !target)
        return -ENOMEM;
    nd->name = name;
    nd->target = target;
    return 0;
}

static int split_aliases(struct parse_state *ps)
{
    struct mtree_doc *doc = ps->doc;
    struct mtree_map targets = { 0 };
    int ret = 0;

    for (size_t i = 0; i < doc->nblocks && ret == 0; i++) {
        bool created;
        int32_t *v;

        if (doc->blocks[i].is_as)
            continue;
        v = mtree_map_slot(&targets, doc->blocks[i].names[0], 0, &created);
        if (!v)
            ret = -ENOMEM;
        else if (created)
            *v = (int32_t)i;
    }
    for (size_t i = 0; i < doc->nnodes && ret == 0; i++) {
        if (doc->nodes[i].is_alias)
            ret = split_alias(ps, &targets, &doc->nodes[i]);
    }
    mtree_map_free(&targets);
    return ret;
}

static int check_mr_names(struct parse_state *ps)
{
    const struct mtree_doc *doc = ps->doc;

    for (size_t i = 0; i < doc->nblocks; i++) {
        const struct mtree_block *b = &doc->blocks[i];

        if (!b->is_as && strcmp(b->names[0], doc->nodes[b->root].name) != 0) {
            ps->line = doc->nodes[b->root].line;
            return perr(ps, "the top region's name differs from its memory-region header");
        }
    }
    return 0;
}

int mtree_parse(const char *text, size_t len, struct mtree_doc **out, char *err, size_t errlen)
{
    struct parse_state ps = { .block = -1, .err = err, .errlen = errlen };
    int ret;

    ps.doc = calloc(1, sizeof(*ps.doc));
    if (!ps.doc)
        return -ENOMEM;
    ret = parse_lines(&ps, text, len);
    if (ret == 0)
        ret = check_blocks(&ps);
    if (ret == 0)
        ret = split_aliases(&ps);
    if (ret == 0)
        ret = check_mr_names(&ps);
    if (ret < 0) {
        if (ret == -ENOMEM)
            mtree_errf(err, errlen, "out of memory");
        mtree_doc_free(ps.doc);
        return ret;
    }
    count_subtrees(ps.doc);
    *out = ps.doc;
    return 0;
}

void mtree_doc_free(struct mtree_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->nblocks; i++) {
        free(doc->blocks[i].names);
        free(doc->blocks[i].name_lines);
    }
    free(doc->blocks);
    free(doc->nodes);
    mtree_arena_free(&doc->strings);
    free(doc);
}
