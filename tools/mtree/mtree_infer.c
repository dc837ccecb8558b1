/* SPDX-License-Identifier: MIT */
/*
 * Inference rules for what `info mtree` does not print.
 *
 * 1. Terminating "i/o" regions. With a hint list, a region terminates iff
 *    its (name, size) is listed, except for names carried by "i/o" regions
 *    of different sizes or shapes (leaf / has subregions): the list is
 *    derived by name from QEMU's flat views, so for those it may list a
 *    container because of its namesake, and the heuristic decides. The
 *    heuristic, in order:
 *      - a region named "io" (QEMU's I/O port space) terminates;
 *      - a region named "...window..." whose only subregion covers it
 *        terminates (a bus window catching unassigned accesses), and that
 *        subregion is a container (the bus address space);
 *      - a leaf terminates unless it looks like an empty bus: a name token
 *        "bus" or "container", a PCI/ISA/LPC memory or I/O space (token
 *        pci*, isa or lpc, last token mem/memory/mmio/io/pci, no "cfg" or
 *        "conf", at least 64 KiB, and an alias target or at least 4 GiB),
 *        or a 2^64 size; names containing "iommu" always terminate;
 *      - a region with subregions is a container if it is the root of an
 *        address space or only reachable through aliases; it terminates if
 *        a smaller subregion is named "NAME-suffix" (rtc / rtc-index), or
 *        if it is at most 64 KiB and no subregion starts at its offset 0
 *        (registers of its own come first);
 *      - anything else is a container.
 * 2. Read-only aliases: an alias printed as "ram" whose name contains "rom"
 *    (QEMU's PAM "pam-rom" windows) was set read-only.
 * 3. Sibling order: within one priority, a smaller region was added later
 *    (it wins overlaps), and of equal sizes the one at the higher address;
 *    siblings printed at the same address and priority keep their printed
 *    order, which is their list order.
 *
 * Names are compared as tokens split at '-', '_', '.', '@' and ' ', case
 * insensitively. No rule names a particular machine.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtree_infer.h"

#define SMALL_MMIO 0x10000ull     /* "at most 64 KiB" (size - 1 compared) */
#define MAX_TOKEN 64

/* ---- hint files ------------------------------------------------------------ */

/* SIZE field: hex, 1 .. 2^64; returns false if malformed. */
static bool parse_hint_size(const char *s, size_t n, uint64_t *size_m1)
{
    uint64_t v = 0;

    if (n == 17 && s[0] == '1' && strspn(s + 1, "0") >= 16) {
        *size_m1 = UINT64_MAX;
        return true;
    }
    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)s[i]);

        if (!isxdigit((unsigned char)c))
            return false;
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (v == 0)
        return false;
    *size_m1 = v - 1;
    return true;
}

static int hint_line(struct mtree_hints *h, const char *s, size_t n, uint32_t line, char *err,
                     size_t errlen)
{
    const char *sp;
    uint64_t size_m1;
    char *name;
    bool created;
    int32_t *slot;

    if (n && s[n - 1] == '\r')
        n--;
    if (n == 0)
        return 0;
    if (memchr(s, '\0', n))
        return mtree_errf(err, errlen, "line %u: NUL byte in line", line);
    sp = s + n;
    while (sp > s && sp[-1] != ' ')
        sp--;
    if (sp == s)
        return mtree_errf(err, errlen, "line %u: expected \"NAME SIZE\"", line);
    if (!parse_hint_size(sp, (size_t)(s + n - sp), &size_m1))
        return mtree_errf(err, errlen, "line %u: SIZE must be hex without 0x, 1 to 10000000000000000", line);
    name = mtree_arena_strndup(&h->strings, s, (size_t)(sp - 1 - s));
    slot = name ? mtree_map_slot(&h->set, name, size_m1, &created) : NULL;
    if (!slot)
        return -ENOMEM;
    *slot = (int32_t)line;
    return 0;
}

int mtree_hints_parse(const char *text, size_t len, struct mtree_hints **out, char *err,
                      size_t errlen)
{
    struct mtree_hints *h = calloc(1, sizeof(*h));
    size_t pos = 0;
    uint32_t line = 0;
    int ret = 0;

    if (!h)
        return -ENOMEM;
    while (pos < len && ret == 0) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

        if (line == UINT32_MAX)
            ret = mtree_errf(err, errlen, "too many lines");
        else
            ret = hint_line(h, text + pos, n, ++line, err, errlen);
        pos += n + (nl ? 1 : 0);
    }
    if (ret < 0) {
        if (ret == -ENOMEM)
            mtree_errf(err, errlen, "out of memory");
        mtree_hints_free(h);
        return ret;
    }
    *out = h;
    return 0;
}

void mtree_hints_free(struct mtree_hints *h)
{
    if (!h)
        return;
    mtree_map_free(&h->set);
    mtree_arena_free(&h->strings);
    free(h);
}

/* ---- name tokens ------------------------------------------------------------- */

static bool is_sep(char c)
{
    return c == '-' || c == '_' || c == '.' || c == '@' || c == ' ';
}

/* Next token of @*s (lowercased into @tok); false at the end. */
static bool next_token(const char **s, char tok[MAX_TOKEN])
{
    const char *p = *s;
    size_t n = 0;

    while (*p && is_sep(*p))
        p++;
    if (!*p)
        return false;
    for (; *p && !is_sep(*p); p++) {
        if (n + 1 < MAX_TOKEN)
            tok[n++] = (char)tolower((unsigned char)*p);
    }
    tok[n] = '\0';
    *s = p;
    return true;
}

static bool has_token(const char *name, const char *word)
{
    char tok[MAX_TOKEN];

    while (next_token(&name, tok)) {
        if (strcmp(tok, word) == 0)
            return true;
    }
    return false;
}

static bool contains_ci(const char *s, const char *word)
{
    size_t n = strlen(word);

    for (; *s; s++) {
        if (strncasecmp(s, word, n) == 0)
            return true;
    }
    return false;
}

static bool in_list(const char *tok, const char *const *list)
{
    for (; *list; list++) {
        if (strcmp(tok, *list) == 0)
            return true;
    }
    return false;
}

/* A PCI/ISA/LPC memory or I/O space name: "pci0-mem", "pci_bridge_io", ... */
static bool bus_space_name(const char *name)
{
    static const char *const spaces[] = { "mem", "memory", "mmio", "io", "pci", NULL };
    char tok[MAX_TOKEN], last[MAX_TOKEN] = "";
    bool bus = false;

    while (next_token(&name, tok)) {
        if (strstr(tok, "cfg") || strstr(tok, "conf"))
            return false;
        bus |= strncmp(tok, "pci", 3) == 0 || strcmp(tok, "isa") == 0 || strcmp(tok, "lpc") == 0;
        memcpy(last, tok, sizeof(last));
    }
    return bus && in_list(last, spaces);
}

/* ---- terminating regions ------------------------------------------------------ */

static const struct mtree_node *node(const struct mtree_infer *inf, int32_t i)
{
    return &inf->doc->nodes[i];
}

/* @p is a window: named "...window...", one non-alias subregion covering it. */
static bool is_window(const struct mtree_infer *inf, int32_t p)
{
    const struct mtree_node *n, *c;

    if (p < 0)
        return false;
    n = node(inf, p);
    if (n->nchildren != 1 || !contains_ci(n->name, "window"))
        return false;
    c = node(inf, n->first_child);
    return !c->is_alias && c->addr == 0 && c->size_m1 == n->size_m1;
}

static bool leaf_terminates(const struct mtree_infer *inf, int32_t c)
{
    const struct mtree_node *n = node(inf, c);

    if (contains_ci(n->name, "iommu"))
        return true;
    if (has_token(n->name, "bus") || has_token(n->name, "container"))
        return false;
    if (bus_space_name(n->name) && n->size_m1 >= SMALL_MMIO - 1 &&
        (inf->id->is_target_name[c] || n->size_m1 >= UINT32_MAX))
        return false;
    return n->size_m1 != UINT64_MAX;
}

/* A subregion "NAME-suffix" smaller than the region (rtc / rtc-index). */
static bool has_suffixed_child(const struct mtree_infer *inf, int32_t p)
{
    const struct mtree_node *n = node(inf, p);
    size_t len = strlen(n->name);

    for (int32_t c = n->first_child; c >= 0; c = node(inf, c)->next_sibling) {
        const struct mtree_node *k = node(inf, c);

        if (!k->is_alias && k->size_m1 < n->size_m1 && strncmp(k->name, n->name, len) == 0 &&
            k->name[len] == '-')
            return true;
    }
    return false;
}

static bool no_child_at_zero(const struct mtree_infer *inf, int32_t p)
{
    for (int32_t c = node(inf, p)->first_child; c >= 0; c = node(inf, c)->next_sibling) {
        if (node(inf, c)->addr == 0)
            return false;
    }
    return true;
}

static bool parent_terminates(const struct mtree_infer *inf, int32_t c)
{
    const struct mtree_node *n = node(inf, c);

    if (inf->id->as_root[c] || (n->parent < 0 && inf->id->is_target_name[c]))
        return false;
    if (has_suffixed_child(inf, c))
        return true;
    return n->size_m1 < SMALL_MMIO && no_child_at_zero(inf, c);
}

static bool heuristic_terminates(const struct mtree_infer *inf, int32_t c)
{
    const struct mtree_node *n = node(inf, c);

    if (strcmp(n->name, "io") == 0)
        return true;
    if (is_window(inf, n->parent))
        return false;
    if (is_window(inf, c))
        return true;
    return n->nchildren ? parent_terminates(inf, c) : leaf_terminates(inf, c);
}

bool mtree_infer_terminates(const struct mtree_infer *inf, int32_t c)
{
    const struct mtree_node *n = node(inf, c);

    if (inf->hints && mtree_map_get(&inf->mixed, n->name, 0) < 0)
        return mtree_map_get(&inf->hints->set, n->name, n->size_m1) >= 0;
    return heuristic_terminates(inf, c);
}

/* Names carried by canonical "i/o" regions of more than one (size, shape). */
static int find_mixed_names(struct mtree_infer *inf)
{
    const struct mtree_doc *doc = inf->doc;
    struct mtree_map first = { 0 };
    int ret = 0;

    for (size_t i = 0; i < doc->nnodes && ret == 0; i++) {
        const struct mtree_node *n = &doc->nodes[i];
        const struct mtree_node *f;
        bool created;
        int32_t *slot;

        if (inf->id->canon[i] != (int32_t)i || n->is_alias || n->type != MTREE_IO)
            continue;
        slot = mtree_map_slot(&first, n->name, 0, &created);
        if (!slot) {
            ret = -ENOMEM;
            break;
        }
        if (created)
            *slot = (int32_t)i;
        f = &doc->nodes[*slot];
        if (f->size_m1 != n->size_m1 || !f->nchildren != !n->nchildren) {
            int32_t *m = mtree_map_slot(&inf->mixed, n->name, 0, &created);

            if (!m)
                ret = -ENOMEM;
            else
                *m = 1;
        }
    }
    mtree_map_free(&first);
    return ret;
}

int mtree_infer_init(struct mtree_infer *inf, const struct mtree_doc *doc,
                     const struct mtree_ident *id, const struct mtree_hints *hints)
{
    *inf = (struct mtree_infer){ .doc = doc, .id = id, .hints = hints };
    return hints ? find_mixed_names(inf) : 0;
}

void mtree_infer_free(struct mtree_infer *inf)
{
    mtree_map_free(&inf->mixed);
}

/* ---- read-only aliases --------------------------------------------------------- */

bool mtree_infer_alias_readonly(const struct mtree_node *n)
{
    return n->is_alias && n->type == MTREE_RAM && contains_ci(n->name, "rom");
}

/* ---- sibling order ----------------------------------------------------------- */

/* A run of siblings printed at one address and priority; its order is fixed. */
struct chain {
    size_t head, end; /* indices into the children array */
};

struct merge {
    const struct mtree_doc *doc;
    const int32_t *kids;
    struct chain *heap;
    size_t n;
};

/* Does chain @a's head win over (go before) chain @b's head? */
static bool head_before(const struct merge *m, const struct chain *a, const struct chain *b)
{
    const struct mtree_node *x = &m->doc->nodes[m->kids[a->head]];
    const struct mtree_node *y = &m->doc->nodes[m->kids[b->head]];

    if (x->size_m1 != y->size_m1)
        return x->size_m1 < y->size_m1;
    return x->addr > y->addr;
}

static void sift_down(struct merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        struct chain t;

        if (l < m->n && head_before(m, &m->heap[l], &m->heap[best]))
            best = l;
        if (r < m->n && head_before(m, &m->heap[r], &m->heap[best]))
            best = r;
        if (best == i)
            return;
        t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* Merge the chains of one priority (kids[from..to), sorted by address) into @out. */
static void merge_priority(struct merge *m, size_t from, size_t to, int32_t *out)
{
    const struct mtree_doc *doc = m->doc;

    m->n = 0;
    for (size_t i = from; i < to;) {
        size_t j = i + 1;

        while (j < to && doc->nodes[m->kids[j]].addr == doc->nodes[m->kids[i]].addr)
            j++;
        m->heap[m->n++] = (struct chain){ i, j };
        i = j;
    }
    for (size_t i = m->n / 2; i-- > 0;)
        sift_down(m, i);
    while (m->n) {
        struct chain *top = &m->heap[0];

        *out++ = m->kids[top->head++];
        if (top->head == top->end)
            m->heap[0] = m->heap[--m->n];
        sift_down(m, 0);
    }
}

struct prio_key {
    int prio;
    size_t pos;
    int32_t node;
};

static int cmp_prio_desc(const void *pa, const void *pb)
{
    const struct prio_key *a = pa, *b = pb;

    if (a->prio != b->prio)
        return a->prio > b->prio ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Stable sort of the printed children by descending priority. */
static int sort_by_priority(const struct mtree_doc *doc, int32_t *kids, size_t n)
{
    struct prio_key *v = malloc((n ? n : 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = (struct prio_key){ doc->nodes[kids[i]].prio, i, kids[i] };
    qsort(v, n, sizeof(*v), cmp_prio_desc);
    for (size_t i = 0; i < n; i++)
        kids[i] = v[i].node;
    free(v);
    return 0;
}

int mtree_infer_child_order(const struct mtree_doc *doc, int32_t p, int32_t *order)
{
    size_t n = doc->nodes[p].nchildren, k = 0;
    int32_t *kids = malloc((n ? n : 1) * sizeof(*kids));
    struct merge m = { .doc = doc, .kids = kids, .heap = malloc((n ? n : 1) * sizeof(*m.heap)) };
    int ret = -ENOMEM;

    for (int32_t c = doc->nodes[p].first_child; kids && c >= 0 && k < n;
         c = doc->nodes[c].next_sibling)
        kids[k++] = c;
    if (kids && m.heap)
        ret = sort_by_priority(doc, kids, k);
    for (size_t i = 0; ret == 0 && i < k;) {
        size_t j = i + 1;

        while (j < k && doc->nodes[kids[j]].prio == doc->nodes[kids[i]].prio)
            j++;
        merge_priority(&m, i, j, order + i);
        i = j;
    }
    free(kids);
    free(m.heap);
    return ret;
}
