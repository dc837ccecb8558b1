/* SPDX-License-Identifier: MIT */
/*
 * Reference model for test_model.c: see refmodel.h for the rules it encodes.
 *
 * Nothing here is clever on purpose. Visibility is evaluated one byte at a
 * time by walking the tree; the only derived data is the sorted subregion
 * list of each region, rebuilt from (priority, insertion time) at every
 * commit.
 */
#include <stdlib.h>
#include <string.h>

#include <guestmem/iommu.h>
#include <guestmem/types.h>

#include "refmodel.h"

/* Visits allowed in one boundary walk before rm_boundaries() gives up. */
#define RM_WALK_BUDGET 200000

uint8_t rm_pattern(uint32_t id, uint64_t off)
{
    uint64_t x = off * 0x9e3779b97f4a7c15ull ^ ((uint64_t)id << 32 | id);

    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint8_t)x;
}

bool rm_err_off(uint32_t id, uint64_t off)
{
    return ((off >> 4) + id) % 7 == 3;
}

bool rm_terminates(enum rm_kind kind)
{
    return kind != RM_CONTAINER && kind != RM_ALIAS;
}

void rm_init(struct rm_model *m)
{
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        m->cur[i].parent = RM_NONE;
        m->r[i].target = RM_NONE;
    }
    rm_commit(m);
}

static void rm_region_free(struct rm_region *r)
{
    free(r->bytes);
    free(r->pg);
    free(r->pte);
}

void rm_free(struct rm_model *m)
{
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        rm_region_free(&m->r[i]);
    memset(m, 0, sizeof(*m));
}

void rm_new_region(struct rm_model *m, int slot, enum rm_kind kind, rm_u128 size,
                   uint64_t alloc, uint32_t id)
{
    struct rm_region *r = &m->r[slot];
    struct rm_topo *t = &m->cur[slot];

    rm_region_free(r);
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->id = id;
    r->target = RM_NONE;
    r->alloc = alloc;
    if (alloc) {
        r->bytes = calloc(1, alloc);
        if (!r->bytes)
            abort();
    }
    memset(t, 0, sizeof(*t));
    t->exists = true;
    t->enabled = true;
    t->parent = RM_NONE;
    t->size = size;
    t->readonly = kind == RM_ROM;
    t->romd = true;
}

void rm_mod_setup(struct rm_model *m, int slot, bool cached, bool copy)
{
    struct rm_region *r = &m->r[slot];

    r->npages = r->alloc >> RM_PAGE_SHIFT;
    r->pg = calloc(r->npages ? r->npages : 1, 1);
    if (!r->pg)
        abort();
    r->mod_cached = cached;
    r->mod_copy = copy;
}

void rm_iommu_setup(struct rm_model *m, int slot, unsigned int shift, uint64_t npages)
{
    struct rm_region *r = &m->r[slot];

    r->io_shift = shift;
    r->io_npages = npages;
    r->pte = calloc(npages ? npages : 1, sizeof(*r->pte));
    if (!r->pte)
        abort();
    for (uint64_t i = 0; i < npages; i++)
        r->pte[i].as = RM_NONE;
}

void rm_drop_region(struct rm_model *m, int slot)
{
    rm_region_free(&m->r[slot]);
    memset(&m->r[slot], 0, sizeof(m->r[slot]));
    m->r[slot].target = RM_NONE;
    memset(&m->cur[slot], 0, sizeof(m->cur[slot]));
    m->cur[slot].parent = RM_NONE;
}

void rm_add_sub(struct rm_model *m, int container, int sub, uint64_t addr, int prio)
{
    struct rm_topo *t = &m->cur[sub];

    t->parent = container;
    t->addr = addr;
    t->prio = prio;
    t->seq = ++m->seq;
}

void rm_del_sub(struct rm_model *m, int sub)
{
    m->cur[sub].parent = RM_NONE;
}

void rm_set_enabled(struct rm_model *m, int slot, bool enabled)
{
    m->cur[slot].enabled = enabled;
}

/* QEMU re-adds a moved region (memory_region_readd_subregion): it becomes
 * the newest among its equal-priority siblings. Only when the address changes. */
void rm_set_address(struct rm_model *m, int slot, uint64_t addr)
{
    struct rm_topo *t = &m->cur[slot];

    if (t->addr == addr)
        return;
    t->addr = addr;
    if (t->parent != RM_NONE)
        t->seq = ++m->seq;
}

void rm_set_size(struct rm_model *m, int slot, rm_u128 size)
{
    m->cur[slot].size = size;
}

void rm_set_alias_offset(struct rm_model *m, int slot, uint64_t off)
{
    m->cur[slot].alias_offset = off;
}

void rm_set_readonly(struct rm_model *m, int slot, bool ro)
{
    m->cur[slot].readonly = ro;
}

void rm_set_romd(struct rm_model *m, int slot, bool romd)
{
    m->cur[slot].romd = romd;
}

/* List order: descending priority, then the later insertion first. */
static bool rm_before(const struct rm_topo *a, const struct rm_topo *b)
{
    if (a->prio != b->prio)
        return a->prio > b->prio;
    return a->seq > b->seq;
}

void rm_commit(struct rm_model *m)
{
    struct rm_snap *s = &m->snap;

    memcpy(s->t, m->cur, sizeof(s->t));
    memset(s->nchild, 0, sizeof(s->nchild));
    for (int i = 0; i < RM_MAX_REGIONS; i++) {
        int p = s->t[i].parent;
        int n;

        if (!s->t[i].exists || p == RM_NONE)
            continue;
        /* insertion sort into the parent's list */
        n = s->nchild[p]++;
        while (n > 0 && rm_before(&s->t[i], &s->t[s->child[p][n - 1]])) {
            s->child[p][n] = s->child[p][n - 1];
            n--;
        }
        s->child[p][n] = i;
    }
    m->generation++;
}

bool rm_is_ancestor(const struct rm_model *m, int anc, int slot)
{
    for (int p = m->cur[slot].parent; p != RM_NONE; p = m->cur[p].parent)
        if (p == anc)
            return true;
    return false;
}

/* Is @to reachable from @from along subregion and alias-target edges? */
bool rm_reaches(const struct rm_model *m, int from, int to)
{
    int stack[RM_MAX_REGIONS * 2];
    bool seen[RM_MAX_REGIONS] = { false };
    int sp = 0;

    stack[sp++] = from;
    while (sp) {
        int x = stack[--sp];

        if (x == to)
            return true;
        if (seen[x])
            continue;
        seen[x] = true;
        if (m->r[x].target != RM_NONE && !seen[m->r[x].target])
            stack[sp++] = m->r[x].target;
        for (int i = 0; i < RM_MAX_REGIONS; i++)
            if (m->cur[i].exists && m->cur[i].parent == x && !seen[i])
                stack[sp++] = i;
    }
    return false;
}

bool rm_has_children(const struct rm_model *m, int slot)
{
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (m->cur[i].exists && m->cur[i].parent == slot)
            return true;
    return false;
}

bool rm_is_alias_target(const struct rm_model *m, int slot)
{
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (m->cur[i].exists && m->r[i].kind == RM_ALIAS && m->r[i].target == slot)
            return true;
    return false;
}

/* Byte at offset @off of region @r, seen through a path with readonly @ro. */
static bool rm_resolve_in(const struct rm_model *m, int r, rm_u128 off, bool ro,
                          struct rm_hit *hit)
{
    const struct rm_snap *s = &m->snap;
    const struct rm_topo *t = &s->t[r];

    if (!t->exists || !t->enabled || off >= t->size)
        return false;
    ro |= t->readonly;
    if (m->r[r].kind == RM_ALIAS)
        return rm_resolve_in(m, m->r[r].target, off + t->alias_offset, ro, hit);
    for (int i = 0; i < s->nchild[r]; i++) {
        const struct rm_topo *c = &s->t[s->child[r][i]];

        if (!c->enabled || off < c->addr)
            continue;
        if (rm_resolve_in(m, s->child[r][i], off - c->addr, ro, hit))
            return true;
    }
    if (!rm_terminates(m->r[r].kind))
        return false;
    hit->leaf = r;
    hit->off = (uint64_t)off;
    hit->readonly = ro;
    return true;
}

/* QEMU's memory_region_get_flatview_root: skip whole-size aliases (offset
 * 0) and single covering children at address 0. The view then renders the
 * chosen region at its own address, and flags of skipped regions are lost:
 * QEMU's quirks, which guestmem reproduces on purpose. */
static bool rm_single_covering_child(const struct rm_model *m, int r, int *child, int *found)
{
    const struct rm_snap *s = &m->snap;

    *child = RM_NONE;
    *found = 0;
    for (int i = 0; i < s->nchild[r]; i++) {
        int c = s->child[r][i];

        if (!s->t[c].enabled)
            continue;
        if (++*found > 1) {
            *child = RM_NONE;
            return false;
        }
        if (!s->t[c].addr && s->t[r].size >= s->t[c].size)
            *child = c;
    }
    return *child != RM_NONE;
}

static int rm_flatview_root(const struct rm_model *m, int r)
{
    const struct rm_snap *s = &m->snap;

    for (int steps = 0; steps < 256; steps++) {
        const struct rm_topo *t = &s->t[r];
        int child, found;

        if (!t->exists || !t->enabled)
            return RM_NONE;
        if (m->r[r].kind == RM_ALIAS) {
            int tg = m->r[r].target;

            if (t->alias_offset || t->size < s->t[tg].size)
                return r;
            r = tg;
            continue;
        }
        if (rm_terminates(m->r[r].kind))
            return r;
        if (rm_single_covering_child(m, r, &child, &found)) {
            r = child;
            continue;
        }
        return found ? r : RM_NONE;
    }
    return r;
}

void rm_resolve(const struct rm_model *m, int root, rm_u128 addr, struct rm_hit *hit)
{
    int eff = rm_flatview_root(m, root);
    rm_u128 base = eff == RM_NONE ? 0 : m->snap.t[eff].addr;

    hit->leaf = RM_NONE;
    hit->off = 0;
    hit->readonly = false;
    if (eff == RM_NONE || addr >= RM_2_64 || addr < base ||
        !rm_resolve_in(m, eff, addr - base, false, hit))
        hit->leaf = RM_NONE;
}

/*
 * A read-only path refuses writes to RAM (and ROM) only. Writes to devices
 * (I/O, ROM device, RAM device) still reach them, as in QEMU, where
 * read-only only decides whether RAM may be written directly.
 */
/* A read-only view refuses writes to memory (RAM, ROM, RAM devices);
 * I/O and ROM-device callbacks still receive them, as in QEMU. */
static bool rm_ro_refuses(enum rm_kind kind)
{
    return kind == RM_RAM || kind == RM_ROM || kind == RM_RAMD || kind == RM_MOD ||
           kind == RM_IOMMU;
}

enum rm_mod_outcome rm_mod_state(const struct rm_model *m, int leaf, uint64_t off,
                                 bool need_write, bool mapping)
{
    const struct rm_region *r = &m->r[leaf];
    uint64_t page = off >> RM_PAGE_SHIFT;
    unsigned int st;

    if (page >= r->npages)
        return RM_MOD_REFUSED; /* past the backing: never granted */
    st = r->pg[page];
    if (!(st & RM_PG_REFUSED) && !(need_write && (st & RM_PG_RO)))
        return RM_MOD_OK;
    /* A revoked page may still be served by a cached mapping; accesses of
     * a copy provider do not use mappings. */
    if ((st & RM_PG_STALE) && r->mod_cached && (mapping || !r->mod_copy))
        return RM_MOD_MAYBE;
    return RM_MOD_REFUSED;
}

void rm_translate(const struct rm_model *m, int root, rm_u128 addr, enum rm_xmode mode,
                  bool is_write, struct rm_xhit *x)
{
    memset(x, 0, sizeof(*x));
    x->clip = RM_2_64;
    for (;;) {
        const struct rm_region *r;
        const struct rm_pte *pte = NULL;
        uint64_t page, within, psize;
        bool need_write = is_write;

        x->root = root;
        x->addr = (uint64_t)addr;
        rm_resolve(m, root, addr, &x->hit);
        if (x->hit.leaf == RM_NONE || m->r[x->hit.leaf].kind != RM_IOMMU)
            return;
        r = &m->r[x->hit.leaf];
        if (is_write && x->hit.readonly) {
            if (mode != RM_X_CACHE) {
                x->fault = GM_DECODE_ERROR;
                return;
            }
            x->ro_crossed = true;
        }
        if (x->ro_crossed)
            need_write = false;
        if (x->depth >= RM_IOMMU_MAX_NESTING) {
            x->fault = GM_ACCESS_ERROR;
            return;
        }
        page = x->hit.off >> r->io_shift;
        if (page < r->io_npages)
            pte = &r->pte[page];
        if (!pte || pte->as == RM_NONE ||
            !(pte->perm & (need_write ? GM_IOMMU_WO : GM_IOMMU_RO))) {
            x->fault = GM_ACCESS_ERROR;
            return;
        }
        psize = 1ull << r->io_shift;
        within = x->hit.off & (psize - 1);
        if (psize - within < x->clip)
            x->clip = psize - within;
        root = pte->as;
        addr = pte->taddr + within;
        x->depth++;
    }
}

bool rm_valid(const struct rm_model *m, int root, rm_u128 addr, bool is_write)
{
    struct rm_xhit x;

    rm_translate(m, root, addr, RM_X_ACCESS, is_write, &x);
    return !x.fault && rm_byte_valid(m, &x.hit, is_write);
}

unsigned int rm_read_byte(const struct rm_model *m, const struct rm_hit *hit, uint8_t *val)
{
    const struct rm_region *r;

    *val = 0;
    if (hit->leaf == RM_NONE)
        return GM_DECODE_ERROR;
    r = &m->r[hit->leaf];
    switch (r->kind) {
    case RM_RAM:
    case RM_ROM:
    case RM_RAMD:
        *val = r->bytes[hit->off];
        return GM_OK;
    case RM_ROMD:
        /* I/O mode: the test's read callback returns the inverted byte */
        *val = m->snap.t[hit->leaf].romd ? r->bytes[hit->off] : (uint8_t)~r->bytes[hit->off];
        return GM_OK;
    case RM_IO:
        if (r->flavor == RM_IO_REG || hit->off >= r->alloc)
            *val = rm_pattern(r->id, hit->off);
        else
            *val = r->bytes[hit->off];
        if (r->flavor == RM_IO_ERR && rm_err_off(r->id, hit->off))
            return GM_ERROR;
        return GM_OK;
    case RM_RESV:
        return GM_DECODE_ERROR;
    case RM_MOD:
        if (rm_mod_state(m, hit->leaf, hit->off, false, false) == RM_MOD_REFUSED)
            return GM_ACCESS_ERROR;
        *val = r->bytes[hit->off];
        return GM_OK;
    default:
        abort();
    }
}

unsigned int rm_write_byte(struct rm_model *m, const struct rm_hit *hit, uint8_t val)
{
    struct rm_region *r;

    if (hit->leaf == RM_NONE)
        return GM_DECODE_ERROR;
    r = &m->r[hit->leaf];
    if (hit->readonly && rm_ro_refuses(r->kind))
        return GM_DECODE_ERROR;
    switch (r->kind) {
    case RM_RAM:
    case RM_RAMD:
        r->bytes[hit->off] = val;
        return GM_OK;
    case RM_ROM:
    case RM_RESV:
        return GM_DECODE_ERROR;
    case RM_ROMD:
        /* the test's write callback programs the inverted-ish byte */
        r->bytes[hit->off] = val ^ 0x5a;
        return GM_OK;
    case RM_IO:
        if (r->flavor == RM_IO_REG) {
            r->reg_writes++;
            return GM_OK;
        }
        if (r->flavor == RM_IO_ERR && rm_err_off(r->id, hit->off))
            return GM_ERROR;
        if (hit->off < r->alloc)
            r->bytes[hit->off] = val;
        return GM_OK;
    case RM_MOD:
        if (rm_mod_state(m, hit->leaf, hit->off, true, false) == RM_MOD_REFUSED)
            return GM_ACCESS_ERROR;
        r->bytes[hit->off] = val;
        return GM_OK;
    default:
        abort();
    }
}

bool rm_byte_valid(const struct rm_model *m, const struct rm_hit *hit, bool is_write)
{
    enum rm_kind kind;

    if (hit->leaf == RM_NONE)
        return false;
    kind = m->r[hit->leaf].kind;
    if (kind == RM_RESV)
        return false;
    if (!is_write)
        return true;
    if (kind == RM_ROM)
        return false;
    return !hit->readonly || !rm_ro_refuses(kind);
}

unsigned int rm_access(struct rm_model *m, int root, uint64_t addr, uint8_t *buf,
                       uint64_t len, bool is_write, struct rm_unc *u)
{
    unsigned int res = GM_OK;
    struct rm_xhit x;

    if (u) {
        u->n = 0;
        u->reach = 0;
    }
    for (uint64_t i = 0; i < len; i++) {
        const struct rm_hit *hit = &x.hit;

        rm_translate(m, root, (rm_u128)addr + i, RM_X_ACCESS, is_write, &x);
        if (x.fault) {
            if (!is_write)
                buf[i] = 0;
            res |= x.fault;
            continue;
        }
        if (hit->leaf != RM_NONE && m->r[hit->leaf].kind == RM_MOD &&
            !(is_write && hit->readonly)) {
            enum rm_mod_outcome o = rm_mod_state(m, hit->leaf, hit->off, is_write, false);

            if (u)
                u->reach++;
            if (o == RM_MOD_MAYBE) {
                if (u && u->n < RM_UNC_MAX) {
                    u->e[u->n].i = (uint32_t)i;
                    u->e[u->n].leaf = hit->leaf;
                    u->e[u->n].off = hit->off;
                    u->n++;
                } else if (u) {
                    abort();
                }
                if (!is_write)
                    buf[i] = m->r[hit->leaf].bytes[hit->off];
                continue;
            }
        }
        if (is_write)
            res |= rm_write_byte(m, hit, buf[i]);
        else
            res |= rm_read_byte(m, hit, &buf[i]);
    }
    return res;
}

/* ---- boundaries -------------------------------------------------------- */

struct rm_walk {
    const struct rm_model *m;
    uint64_t *out;
    int n;
    int max;
    long budget;
    bool overflow;
};

static void rm_walk_add(struct rm_walk *w, rm_i128 x)
{
    if (x < 0 || x >= (rm_i128)RM_2_64)
        return;
    if (w->n >= w->max) {
        w->overflow = true;
        return;
    }
    w->out[w->n++] = (uint64_t)x;
}

/* Region @r whose offset 0 is at absolute address @start, clipped to [lo, hi). */
static void rm_walk(struct rm_walk *w, int r, rm_i128 start, rm_i128 lo, rm_i128 hi)
{
    const struct rm_snap *s = &w->m->snap;
    const struct rm_topo *t = &s->t[r];
    rm_i128 a, b;

    if (w->overflow || --w->budget < 0) {
        w->overflow = true;
        return;
    }
    if (!t->exists || !t->enabled)
        return;
    a = start > lo ? start : lo;
    b = start + (rm_i128)t->size < hi ? start + (rm_i128)t->size : hi;
    if (a >= b)
        return;
    rm_walk_add(w, a);
    rm_walk_add(w, b);
    if (w->m->r[r].kind == RM_ALIAS) {
        rm_walk(w, w->m->r[r].target, start - (rm_i128)t->alias_offset, a, b);
        return;
    }
    for (int i = 0; i < s->nchild[r]; i++) {
        int c = s->child[r][i];

        rm_walk(w, c, start + (rm_i128)s->t[c].addr, a, b);
    }
}

static int rm_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int rm_boundaries(const struct rm_model *m, int root, uint64_t *out, int max)
{
    struct rm_walk w = { .m = m, .out = out, .max = max, .budget = RM_WALK_BUDGET };
    int n = 0;

    int eff = rm_flatview_root(m, root);

    rm_walk_add(&w, 0);
    if (eff != RM_NONE)
        rm_walk(&w, eff, (rm_i128)m->snap.t[eff].addr, 0, (rm_i128)RM_2_64);
    if (w.overflow)
        return -1;
    qsort(out, w.n, sizeof(*out), rm_cmp_u64);
    for (int i = 0; i < w.n; i++)
        if (n == 0 || out[n - 1] != out[i])
            out[n++] = out[i];
    return n;
}

/* ---- printing ---------------------------------------------------------- */

static const char *const rm_kind_names[] = {
    [RM_CONTAINER] = "container", [RM_RAM] = "ram",  [RM_ROM] = "rom",
    [RM_RAMD] = "ramd",           [RM_ROMD] = "romd", [RM_IO] = "io",
    [RM_RESV] = "reservation",    [RM_MOD] = "mapped",   [RM_IOMMU] = "iommu",
    [RM_ALIAS] = "alias",
};

static void rm_print_size(FILE *f, rm_u128 size)
{
    if (size == RM_2_64)
        fprintf(f, "2^64");
    else
        fprintf(f, "0x%llx", (unsigned long long)size);
}

static void rm_dump_one(const struct rm_model *m, FILE *f, const char *const *names, int r,
                        int depth, const struct rm_snap *s)
{
    const struct rm_topo *t = &s->t[r];
    const struct rm_region *rg = &m->r[r];

    fprintf(f, "%*s[%d] %s %s @0x%llx size ", depth * 2, "", r, names ? names[r] : "",
            rm_kind_names[rg->kind], (unsigned long long)t->addr);
    rm_print_size(f, t->size);
    fprintf(f, " prio %d seq %llu%s%s", t->prio, (unsigned long long)t->seq,
            t->enabled ? "" : " DISABLED", t->readonly ? " RO" : "");
    if (rg->kind == RM_ALIAS)
        fprintf(f, " -> [%d] +0x%llx", rg->target, (unsigned long long)t->alias_offset);
    if (rg->kind == RM_IO)
        fprintf(f, " flavor %d id %u cap 0x%llx", rg->flavor, rg->id,
                (unsigned long long)rg->alloc);
    if (rg->kind == RM_ROMD)
        fprintf(f, " romd %d", t->romd);
    if (rg->kind == RM_MOD) {
        fprintf(f, " pages %llu%s%s:", (unsigned long long)rg->npages,
                rg->mod_cached ? " cached" : "", rg->mod_copy ? " copy" : "");
        /* - granted, r read-only, x refused; capitals: stale */
        for (uint64_t p = 0; p < rg->npages && p < 64; p++) {
            unsigned int st = rg->pg[p];
            char c = st & RM_PG_REFUSED ? 'x' : st & RM_PG_RO ? 'r' : '-';

            fputc(st & RM_PG_STALE ? (c == '-' ? 'S' : c - 32) : c, f);
        }
    }
    if (rg->kind == RM_IOMMU) {
        fprintf(f, " page 0x%llx:", 1ull << rg->io_shift);
        for (uint64_t p = 0; p < rg->io_npages && p < 256; p++)
            if (rg->pte[p].as != RM_NONE && rg->pte[p].perm)
                fprintf(f, " %llu->%s:0x%llx/%u", (unsigned long long)p,
                        rg->pte[p].as ? "dev" : "sys", (unsigned long long)rg->pte[p].taddr,
                        rg->pte[p].perm);
    }
    fputc('\n', f);
    for (int i = 0; i < s->nchild[r]; i++)
        rm_dump_one(m, f, names, s->child[r][i], depth + 1, s);
}

void rm_dump(const struct rm_model *m, FILE *f, const char *const *names)
{
    const struct rm_snap *s = &m->snap;

    fprintf(f, "model (committed topology):\n");
    for (int i = 0; i < RM_MAX_REGIONS; i++)
        if (s->t[i].exists && s->t[i].parent == RM_NONE)
            rm_dump_one(m, f, names, i, 0, s);
}
