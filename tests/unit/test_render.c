/* SPDX-License-Identifier: MIT */
/*
 * Rendering region trees into flat views, and printing them.
 *
 * Starts with the overlap example of QEMU's docs/devel/memory.rst, then
 * covers each rendering rule on its own: priorities and re-adding, disabled
 * regions, aliases (offsets, negative rebasing, chains, read-only), merging
 * of adjacent ranges, 2^64-sized spaces, zero-sized regions, transactions,
 * the errors of gm_region_add_subregion(), and the exact `info mtree` text.
 */
#include "unit.h"

#include <errno.h>

/* ---- a listener that counts begin/commit ------------------------------- */

typedef struct counting_listener {
    gm_listener l;
    int begins;
    int commits;
} counting_listener;

static void count_begin(gm_listener *l)
{
    ((counting_listener *)l)->begins++;
}

static void count_commit(gm_listener *l)
{
    ((counting_listener *)l)->commits++;
}

/* ---- steps --------------------------------------------------------------- */

static const char overlap_flat_text[] =
    "FlatView #0\n"
    " AS \"memory\", root: A\n"
    " Root memory region: A\n"
    "  0000000000000000-0000000000001fff (prio 1, i/o): C\n"
    "  0000000000002000-0000000000002fff (prio 0, i/o): D\n"
    "  0000000000003000-0000000000003fff (prio 1, i/o): C @0000000000003000\n"
    "  0000000000004000-0000000000004fff (prio 0, i/o): E\n"
    "  0000000000005000-0000000000005fff (prio 1, i/o): C @0000000000005000\n"
    "\n";

/* memory.rst: B (prio 2) over C (prio 1) gives C D C E C; 0x6000+ is a hole. */
static void test_overlap_example(void)
{
    gm_system *sys = gm_system_new(0);
    gm_region *a = gm_region_new_container(sys, "A", 0x8000);
    gm_region *b = gm_region_new_container(sys, "B", 0x4000);
    gm_region *c, *d, *e;
    gm_as *as = gm_as_new(sys, a, "memory");
    sec_list l;
    char *text;

    d = add_owned(b, 0x0, gm_region_new_io(sys, "D", 0x1000, &null_ops, NULL), 0);
    e = add_owned(b, 0x2000, gm_region_new_io(sys, "E", 0x1000, &null_ops, NULL), 0);
    c = add_owned(a, 0x0, gm_region_new_io(sys, "C", 0x6000, &null_ops, NULL), 1);
    add_owned(a, 0x2000, b, 2);

    sec_list_get(as, &l);
    CHECK(l.n == 5, "5 sections, got %d", l.n);
    check_section(&l, 0, c, 0x0000, 0x2000, 0x0000);
    check_section(&l, 1, d, 0x2000, 0x1000, 0x0000);
    check_section(&l, 2, c, 0x3000, 0x1000, 0x3000);
    check_section(&l, 3, e, 0x4000, 0x1000, 0x0000);
    check_section(&l, 4, c, 0x5000, 0x1000, 0x5000);

    text = capture_mtree(sys, GM_MTREE_FLAT);
    check_text(text, overlap_flat_text);
    free(text);

    gm_as_free(as);
    gm_region_unref(a);
    gm_system_free(sys);
}

/* Equal priorities: the last added wins; moving a region re-adds it. */
static void test_equal_priority_and_readd(void)
{
    fixture f;
    gm_region *x, *y, *z;
    sec_list l;

    fixture_init(&f, 0x10000);
    x = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "x", 0x1000), 0);
    y = add_owned(f.root, 0x800, gm_region_new_ram(f.sys, "y", 0x1000), 0);
    z = add_owned(f.root, 0x1000, gm_region_new_ram(f.sys, "z", 0x100), 1);

    sec_list_get(f.as, &l);
    CHECK(l.n == 4, "x y z y: got %d sections", l.n);
    check_section(&l, 0, x, 0x0, 0x800, 0x0);
    check_section(&l, 1, y, 0x800, 0x800, 0x0);
    check_section(&l, 2, z, 0x1000, 0x100, 0x0);
    check_section(&l, 3, y, 0x1100, 0x700, 0x900);

    /* x moves to 0x100: it becomes the latest of priority 0 and now hides
     * y where they overlap, but still not z (priority 1). */
    gm_region_set_address(x, 0x100);
    CHECK_EQ_U64(gm_region_address(x), 0x100, "x moved");
    sec_list_get(f.as, &l);
    CHECK(l.n == 3, "x z y: got %d sections", l.n);
    check_section(&l, 0, x, 0x100, 0xf00, 0x0);
    check_section(&l, 1, z, 0x1000, 0x100, 0x0);
    check_section(&l, 2, y, 0x1100, 0x700, 0x900);

    /* Setting the same address again is not a move: y added later still
     * loses to x only because x was re-added above. */
    gm_region_set_address(y, 0x800);
    sec_list_get(f.as, &l);
    CHECK(l.n == 3 && l.s[0].mr == x, "same-address set_address is a no-op");
    fixture_fini(&f);
}

/* A disabled region renders as removed: it does not hide lower siblings. */
static void test_disabled_region(void)
{
    fixture f;
    gm_region *low, *high;
    sec_list l;

    fixture_init(&f, 0x10000);
    low = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "low", 0x2000), 0);
    high = add_owned(f.root, 0x0, gm_region_new_io(f.sys, "high", 0x1000, &null_ops, NULL), 1);

    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "high low: got %d", l.n);
    check_section(&l, 0, high, 0x0, 0x1000, 0x0);
    check_section(&l, 1, low, 0x1000, 0x1000, 0x1000);

    gm_region_set_enabled(high, false);
    CHECK(!gm_region_is_enabled(high), "high disabled");
    sec_list_get(f.as, &l);
    CHECK(l.n == 1, "only low: got %d", l.n);
    check_section(&l, 0, low, 0x0, 0x2000, 0x0);

    /* Disabling a container hides its whole subtree. */
    gm_region_set_enabled(high, true);
    gm_region_set_enabled(f.root, false);
    sec_list_get(f.as, &l);
    CHECK(l.n == 0, "disabled root renders nothing: got %d", l.n);
    gm_region_set_enabled(f.root, true);
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "re-enabled: got %d", l.n);
    fixture_fini(&f);
}

/* Aliases: offsets, an offset above the alias's own address (negative
 * rebasing), a target that sits at a non-zero address in another tree,
 * chains of aliases, and read-only aliases. */
static void test_aliases(void)
{
    fixture f;
    gm_region *ram, *other, *ram2, *win, *chain, *ro;
    uint8_t *host, byte = 0x5a;
    sec_list l;
    char *text;

    fixture_init(&f, 0x40000);
    ram = gm_region_new_ram(f.sys, "ram", 0x4000);
    host = gm_region_get_ram_ptr(ram);
    for (int i = 0; i < 0x4000; i++)
        host[i] = (uint8_t)(i >> 4);
    other = gm_region_new_container(f.sys, "other", 0x10000);
    ram2 = add_owned(other, 0x5000, gm_region_new_ram(f.sys, "ram2", 0x1000), 0);

    win = add_owned(f.root, 0x8000, gm_region_new_alias(f.sys, "win", ram, 0x1000, 0x1000), 0);
    add_owned(f.root, 0x1000, gm_region_new_alias(f.sys, "neg", ram, 0x3000, 0x800), 0);
    chain = add_owned(f.root, 0x10000,
                      gm_region_new_alias(f.sys, "chain", win, 0x800, 0x800), 0);
    ro = add_owned(f.root, 0x20000, gm_region_new_alias(f.sys, "ro", ram, 0x0, 0x1000), 0);
    gm_region_set_readonly(ro, true);
    add_owned(f.root, 0x30000, gm_region_new_alias(f.sys, "far", ram2, 0x100, 0x100), 0);
    CHECK(gm_region_alias_target(win) == ram, "alias target");
    CHECK(gm_region_alias_target(chain) == win, "chained alias target");

    sec_list_get(f.as, &l);
    CHECK(l.n == 5, "5 alias sections, got %d", l.n);
    check_section(&l, 0, ram, 0x1000, 0x800, 0x3000);   /* neg */
    check_section(&l, 1, ram, 0x8000, 0x1000, 0x1000);  /* win */
    check_section(&l, 2, ram, 0x10000, 0x800, 0x1800);  /* chain -> win -> ram */
    check_section(&l, 3, ram, 0x20000, 0x1000, 0x0);    /* ro */
    check_section(&l, 4, ram2, 0x30000, 0x100, 0x100);  /* far */
    CHECK(!l.s[1].readonly && l.s[3].readonly, "only the ro alias is read-only");

    /* Data follows the rebased offsets. */
    CHECK_EQ_U64(gm_as_ld8(f.as, 0x1010, GM_ATTRS_UNSPECIFIED, &byte), GM_OK, "ld8 neg");
    CHECK_EQ_U64(byte, host[0x3010], "neg reads ram+0x3010");
    CHECK_EQ_U64(gm_as_ld8(f.as, 0x10020, GM_ATTRS_UNSPECIFIED, &byte), GM_OK, "ld8 chain");
    CHECK_EQ_U64(byte, host[0x1820], "chain reads ram+0x1820");
    CHECK_EQ_U64(gm_as_st8(f.as, 0x8004, GM_ATTRS_UNSPECIFIED, 0xee), GM_OK, "st8 win");
    CHECK_EQ_U64(host[0x1004], 0xee, "win writes ram+0x1004");

    /* A read-only alias refuses writes; its target stays writable elsewhere. */
    CHECK_EQ_U64(gm_as_st8(f.as, 0x20004, GM_ATTRS_UNSPECIFIED, 0x11), GM_DECODE_ERROR,
                 "st8 through ro alias");
    CHECK_EQ_U64(host[0x4], 0x0, "ram unchanged by the refused write");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] >= 1, "refused write logged");

    /* Flat print: the ro alias shows as rom, the offsets in the region. */
    text = capture_mtree(f.sys, GM_MTREE_FLAT);
    check_text(text,
               "FlatView #0\n"
               " AS \"memory\", root: root\n"
               " Root memory region: root\n"
               "  0000000000001000-00000000000017ff (prio 0, ram): ram @0000000000003000\n"
               "  0000000000008000-0000000000008fff (prio 0, ram): ram @0000000000001000\n"
               "  0000000000010000-00000000000107ff (prio 0, ram): ram @0000000000001800\n"
               "  0000000000020000-0000000000020fff (prio 0, rom): ram\n"
               "  0000000000030000-00000000000300ff (prio 0, ram): ram2 @0000000000000100\n"
               "\n");
    free(text);

    /* Moving an alias's window re-renders. */
    CHECK_EQ_U64(gm_region_set_alias_offset(win, 0x2000), 0, "set_alias_offset");
    sec_list_get(f.as, &l);
    check_section(&l, 1, ram, 0x8000, 0x1000, 0x2000);
    check_section(&l, 2, ram, 0x10000, 0x800, 0x2800);

    gm_region_unref(ram);
    gm_region_unref(other);
    fixture_fini(&f);
}

/* Adjacent ranges merge only when same region, contiguous offsets and the
 * same attributes, and never for an unmergeable region. */
static void test_merging(void)
{
    fixture f;
    gm_region *ram, *a2;
    sec_list l;

    fixture_init(&f, 0x10000);
    ram = gm_region_new_ram(f.sys, "ram", 0x4000);
    add_owned(f.root, 0x0, gm_region_new_alias(f.sys, "a1", ram, 0x0, 0x1000), 0);
    a2 = add_owned(f.root, 0x1000, gm_region_new_alias(f.sys, "a2", ram, 0x1000, 0x1000), 0);

    sec_list_get(f.as, &l);
    CHECK(l.n == 1, "contiguous pieces merge: got %d", l.n);
    check_section(&l, 0, ram, 0x0, 0x2000, 0x0);

    gm_region_set_unmergeable(ram, true);
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "unmergeable: got %d", l.n);
    check_section(&l, 0, ram, 0x0, 0x1000, 0x0);
    check_section(&l, 1, ram, 0x1000, 0x1000, 0x1000);
    gm_region_set_unmergeable(ram, false);

    gm_region_set_readonly(a2, true);
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "different readonly: got %d", l.n);
    CHECK(!l.s[0].readonly && l.s[1].readonly, "readonly flags");
    gm_region_set_readonly(a2, false);

    gm_region_set_nonvolatile(a2, true);
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "different nonvolatile: got %d", l.n);
    CHECK(!l.s[0].nonvolatile && l.s[1].nonvolatile, "nonvolatile flags");
    gm_region_set_nonvolatile(a2, false);

    CHECK_EQ_U64(gm_region_set_alias_offset(a2, 0x2000), 0, "set_alias_offset");
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "non-contiguous offsets: got %d", l.n);
    check_section(&l, 1, ram, 0x1000, 0x1000, 0x2000);

    gm_region_unref(ram);
    fixture_fini(&f);
}

/* A 2^64 root with a region ending exactly at 2^64. */
static void test_2_64_space(void)
{
    fixture f;
    gm_region *bg, *top;
    uint8_t *host, byte = 0;
    sec_list l;
    char *text;

    fixture_init(&f, GM_SIZE_2_64);
    CHECK_EQ_U64(gm_region_size(f.root), GM_SIZE_2_64, "root is 2^64");
    bg = add_owned(f.root, 0, gm_region_new_io(f.sys, "bg", GM_SIZE_2_64, &null_ops, NULL), -1);
    sec_list_get(f.as, &l);
    CHECK(l.n == 1, "one 2^64 section: got %d", l.n);
    check_section(&l, 0, bg, 0x0, GM_SIZE_2_64, 0x0);

    top = add_owned(f.root, 0xfffffffffffff000ull, gm_region_new_ram(f.sys, "top", 0x1000), 0);
    host = gm_region_get_ram_ptr(top);
    host[0xfff] = 0xa5;
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "bg top: got %d", l.n);
    check_section(&l, 0, bg, 0x0, 0xfffffffffffff000ull, 0x0);
    check_section(&l, 1, top, 0xfffffffffffff000ull, 0x1000, 0x0);
    CHECK_EQ_U64(gm_as_ld8(f.as, UINT64_MAX, GM_ATTRS_UNSPECIFIED, &byte), GM_OK, "last byte");
    CHECK_EQ_U64(byte, 0xa5, "last byte value");

    text = capture_mtree(f.sys, GM_MTREE_FLAT);
    check_text(text,
               "FlatView #0\n"
               " AS \"memory\", root: root\n"
               " Root memory region: root\n"
               "  0000000000000000-ffffffffffffefff (prio -1, i/o): bg\n"
               "  fffffffffffff000-ffffffffffffffff (prio 0, ram): top\n"
               "\n");
    free(text);
    text = capture_mtree(f.sys, GM_MTREE_DISABLED);
    check_text(text,
               "address-space: memory\n"
               "  0000000000000000-ffffffffffffffff (prio 0, i/o): root\n"
               "    0000000000000000-ffffffffffffffff (prio -1, i/o): bg\n"
               "    fffffffffffff000-ffffffffffffffff (prio 0, ram): top\n"
               "\n");
    free(text);
    fixture_fini(&f);
}

/* A region of size 0 renders nothing (and clips its subregions away). */
static void test_zero_size(void)
{
    fixture f;
    gm_region *empty;
    sec_list l;
    char *text;

    fixture_init(&f, 0x10000);
    add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "zero", 0, &null_ops, NULL), 0);
    empty = add_owned(f.root, 0x2000, gm_region_new_container(f.sys, "empty", 0), 0);
    add_owned(empty, 0x0, gm_region_new_ram(f.sys, "inner", 0x1000), 0);
    CHECK_EQ_U64(gm_region_size(empty), 0, "size 0");

    sec_list_get(f.as, &l);
    CHECK(l.n == 0, "nothing rendered: got %d", l.n);
    text = capture_mtree(f.sys, GM_MTREE_DISABLED);
    check_text(text,
               "address-space: memory\n"
               "  0000000000000000-000000000000ffff (prio 0, i/o): root\n"
               "    0000000000001000-0000000000001000 (prio 0, i/o): zero\n"
               "    0000000000002000-0000000000002000 (prio 0, i/o): empty\n"
               "      0000000000002000-0000000000002fff (prio 0, ram): inner\n"
               "\n");
    free(text);
    fixture_fini(&f);
}

/* Nested transactions: one re-render and one listener commit at the end. */
static void test_nested_transactions(void)
{
    fixture f;
    counting_listener cl = { .l = { .begin = count_begin, .commit = count_commit } };
    uint64_t gen;
    sec_list l;

    fixture_init(&f, 0x10000);
    CHECK_EQ_U64(gm_listener_register(&cl.l, f.as), 0, "register");
    CHECK(cl.begins == 1 && cl.commits == 1, "replay is one begin/commit");
    gen = gm_system_generation(f.sys);

    gm_transaction_begin(f.sys);
    gm_transaction_begin(f.sys);
    add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "r0", 0x1000), 0);
    gm_transaction_commit(f.sys);
    sec_list_get(f.as, &l);
    CHECK(l.n == 0, "inner commit publishes nothing: got %d", l.n);
    CHECK(cl.commits == 1, "inner commit is silent: %d", cl.commits);
    add_owned(f.root, 0x2000, gm_region_new_ram(f.sys, "r1", 0x1000), 0);
    gm_region_set_enabled(f.root, true);
    gm_transaction_commit(f.sys);

    CHECK(cl.begins == 2 && cl.commits == 2, "one begin/commit: %d/%d", cl.begins, cl.commits);
    CHECK_EQ_U64(gm_system_generation(f.sys), gen + 1, "generation");
    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "both regions after the outer commit: got %d", l.n);

    gm_listener_unregister(&cl.l);
    fixture_fini(&f);
}

/*
 * Aliases that show their own container. Through windows that do not
 * shrink, a repeat is not followed (it would place what the visit in
 * progress places): exact, nothing logged. Through windows that shrink by a
 * byte per level, two such aliases double the work at each of 128 levels:
 * rendering must end, log once, and keep the rest of the tree.
 */
static void test_self_alias_fanout(void)
{
    fixture f;
    gm_region *ram, *a, *b;
    gm_section sec;

    fixture_init(&f, 0x10000);
    ram = add_owned(f.root, 0x1000, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    gm_transaction_begin(f.sys);
    a = add_owned(f.root, 0, gm_region_new_alias(f.sys, "a", f.root, 0, 0x1000), 1);
    b = add_owned(f.root, 0, gm_region_new_alias(f.sys, "b", f.root, 0, 0x1000), 1);
    gm_transaction_commit(f.sys);
    CHECK(gm_as_lookup(f.as, 0x1800, &sec) && sec.mr == ram, "ram rendered");
    gm_region_unref(sec.mr);
    CHECK(!gm_as_lookup(f.as, 0x800, &sec), "the aliases' window shows only themselves: a hole");
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 0, "exact repeats cost nothing: '%s'", f.log.last);

    gm_transaction_begin(f.sys);
    gm_region_set_address(a, 1);
    gm_region_set_address(b, 2);
    gm_transaction_commit(f.sys);
    CHECK(gm_as_lookup(f.as, 0x1800, &sec) && sec.mr == ram, "ram still rendered");
    gm_region_unref(sec.mr);
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] >= 1 && strstr(f.log.last, "alias hops"),
          "the cut is logged: '%s'", f.log.last);

    /* One self-alias left: the window shrinks linearly, no cut. */
    log_capture_reset(&f.log);
    gm_region_del_subregion(f.root, b);
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 0, "one self-alias renders within budget");
    CHECK(gm_as_lookup(f.as, 0x1800, &sec) && sec.mr == ram, "ram after removing b");
    gm_region_unref(sec.mr);
    fixture_fini(&f);
}

/* Exactly 2^16 aliases, each followed once: the whole budget is used and
 * nothing is cut, so nothing is logged and the last alias renders. */
static void test_alias_budget_exact(void)
{
    const uint64_t n = 1u << 16;
    gm_region *ram;
    gm_section sec;
    char name[32];
    fixture f;

    fixture_init(&f, n * 0x100);
    ram = gm_region_new_ram(f.sys, "ram", 0x100);
    gm_transaction_begin(f.sys);
    for (uint64_t i = n; i-- > 0;) {
        snprintf(name, sizeof(name), "w%llu", (unsigned long long)i);
        add_owned(f.root, i * 0x100, gm_region_new_alias(f.sys, name, ram, 0, 0x100), 0);
    }
    gm_transaction_commit(f.sys);
    CHECK(f.log.count[GM_LOG_GUEST_ERROR] == 0, "nothing cut, nothing said: '%s'", f.log.last);
    CHECK(gm_as_lookup(f.as, (n - 1) * 0x100, &sec) && sec.mr == ram, "the last alias renders");
    gm_region_unref(sec.mr);
    gm_region_unref(ram);
    fixture_fini(&f);
}

/* add_subregion: -EBUSY when already placed, -EINVAL for cycles. */
static void test_add_subregion_errors(void)
{
    fixture f;
    gm_system *sys2 = gm_system_new(0);
    gm_region *child, *grand, *ram, *alias_root, *alias_child, *stranger, *placed, *loner;
    sec_list l;

    fixture_init(&f, 0x10000);
    child = add_owned(f.root, 0x1000, gm_region_new_container(f.sys, "child", 0x4000), 0);
    grand = add_owned(child, 0x0, gm_region_new_container(f.sys, "grand", 0x1000), 0);
    ram = add_owned(grand, 0x0, gm_region_new_ram(f.sys, "ram", 0x100), 0);
    placed = gm_region_new_container(f.sys, "placed", 0x10);
    loner = gm_region_new_container(f.sys, "loner", 0x10);

    /* Already in a container, here or elsewhere. */
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x8000, ram), -EBUSY, "ram already placed");
    CHECK(gm_region_container(ram) == grand, "ram still in grand");
    CHECK_EQ_U64(gm_region_add_subregion(child, 0x2000, placed), 0, "place");
    CHECK_EQ_U64(gm_region_add_subregion_overlap(child, 0x2000, placed, 3), -EBUSY,
                 "twice in the same container");

    /* Cycles through containers. */
    CHECK_EQ_U64(gm_region_add_subregion(loner, 0, loner), -EINVAL, "into itself");
    CHECK(gm_region_container(loner) == NULL, "loner not attached");
    CHECK_EQ_U64(gm_region_add_subregion(grand, 0, f.root), -EINVAL, "root under grand");
    CHECK(gm_region_container(f.root) == NULL, "root not attached");

    /* Aliases may show an ancestor of themselves, as in QEMU (arm's
     * musca-b1 does): accepted, and rendering stays finite. */
    alias_root = gm_region_new_alias(f.sys, "alias-root", f.root, 0, 0x800);
    CHECK_EQ_U64(gm_region_add_subregion(grand, 0x800, alias_root), 0, "alias of an ancestor");
    CHECK(gm_region_container(alias_root) == grand, "alias attached");
    alias_child = gm_region_new_alias(f.sys, "alias-child", child, 0, 0x100);
    CHECK_EQ_U64(gm_region_add_subregion(child, 0x3000, alias_child), 0,
                 "alias of its own container");
    {
        gm_section sec;

        /* root 0x1000+0x0+0x800 shows root[0, 0x800): a hole there. */
        CHECK(!gm_as_lookup(f.as, 0x1800, &sec), "self-alias over a hole is a hole");
        /* child 0x3000 shows child[0, 0x100): grand's ram at child+0. */
        CHECK(gm_as_lookup(f.as, 0x1000 + 0x3000, &sec) && sec.mr == ram, "self-alias shows ram");
        gm_region_unref(sec.mr);
    }
    gm_region_del_subregion(grand, alias_root);
    gm_region_del_subregion(child, alias_child);
    /* An alias of a sibling is fine. */
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x8000, alias_child), 0, "alias of sibling");

    /* Regions of another system. */
    stranger = gm_region_new_ram(sys2, "stranger", 0x100);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x9000, stranger), -EINVAL, "other system");
    CHECK_EQ_U64(gm_region_del_subregion(f.root, stranger), -ENOENT, "del other system");
    CHECK_EQ_U64(gm_region_del_subregion(f.root, ram), -ENOENT, "del non-child");

    sec_list_get(f.as, &l);
    CHECK(l.n == 2, "ram + alias-child window: got %d", l.n);
    check_section(&l, 0, ram, 0x1000, 0x100, 0x0);
    check_section(&l, 1, ram, 0x8000, 0x100, 0x0);

    gm_region_unref(placed);
    gm_region_unref(loner);
    gm_region_unref(alias_root);
    gm_region_unref(alias_child);
    gm_region_unref(stranger);
    gm_system_free(sys2);
    fixture_fini(&f);
}

/* Tree print with -D: an alias, its target under "memory-region:", and a
 * disabled region; without -D the disabled line is left out. */
static void test_tree_print(void)
{
    gm_system *sys = gm_system_new(0);
    gm_region *root = gm_region_new_container(sys, "sys", 0x10000);
    gm_region *ram = gm_region_new_ram(sys, "ram", 0x4000);
    gm_region *dev;
    gm_as *as = gm_as_new(sys, root, "memory");
    char *text;

    CHECK_EQ_U64(gm_region_add_subregion(root, 0x0, ram), 0, "add ram");
    add_owned(root, 0x8000, gm_region_new_alias(sys, "ram-hi", ram, 0x1000, 0x2000), 0);
    dev = add_owned(root, 0xc000, gm_region_new_io(sys, "dev", 0x100, &null_ops, NULL), 1);
    gm_region_set_enabled(dev, false);

    text = capture_mtree(sys, GM_MTREE_DISABLED);
    check_text(text,
               "address-space: memory\n"
               "  0000000000000000-000000000000ffff (prio 0, i/o): sys\n"
               "    0000000000000000-0000000000003fff (prio 0, ram): ram\n"
               "    0000000000008000-0000000000009fff (prio 0, ram): alias ram-hi @ram "
               "0000000000001000-0000000000002fff\n"
               "    000000000000c000-000000000000c0ff (prio 1, i/o): dev [disabled]\n"
               "\n"
               "memory-region: ram\n"
               "  0000000000000000-0000000000003fff (prio 0, ram): ram\n"
               "\n");
    free(text);

    text = capture_mtree(sys, 0);
    check_text(text,
               "address-space: memory\n"
               "  0000000000000000-000000000000ffff (prio 0, i/o): sys\n"
               "    0000000000000000-0000000000003fff (prio 0, ram): ram\n"
               "    0000000000008000-0000000000009fff (prio 0, ram): alias ram-hi @ram "
               "0000000000001000-0000000000002fff\n"
               "\n"
               "memory-region: ram\n"
               "  0000000000000000-0000000000003fff (prio 0, ram): ram\n"
               "\n");
    free(text);

    gm_as_free(as);
    gm_region_unref(ram);
    gm_region_unref(root);
    gm_system_free(sys);
}

/* An empty container renders no flat view at all. */
static void test_flat_print_empty(void)
{
    gm_system *sys = gm_system_new(0);
    gm_region *root = gm_region_new_container(sys, "empty", 0x1000);
    gm_as *as = gm_as_new(sys, root, "nothing");
    char *text = capture_mtree(sys, GM_MTREE_FLAT);

    check_text(text,
               "FlatView #0\n"
               " AS \"nothing\", root: empty\n"
               " Root memory region: (none)\n"
               "  No rendered FlatView\n"
               "\n");
    free(text);
    gm_as_free(as);
    gm_region_unref(root);
    gm_system_free(sys);
}

/* Address spaces over the same root print as one tree block (names
 * sorted, as QEMU does) and share one FlatView block (in creation order);
 * an AS over a whole-size alias shares its target's flat view, whose root
 * is the single child covering the container. */
static void test_print_shared_views(void)
{
    gm_system *sys = gm_system_new(0);
    gm_region *r = gm_region_new_container(sys, "r", 0x10000);
    gm_region *whole = gm_region_new_alias(sys, "whole", r, 0, 0x10000);
    gm_as *b, *a, *c;
    char *text;

    add_owned(r, 0x0, gm_region_new_ram(sys, "ram", 0x1000), 0);
    b = gm_as_new(sys, r, "b-as");
    a = gm_as_new(sys, r, "a-as");
    c = gm_as_new(sys, whole, "c-as");
    CHECK(a && b && c, "address spaces");

    text = capture_mtree(sys, GM_MTREE_DISABLED);
    check_text(text,
               "address-space: a-as\n"
               "address-space: b-as\n"
               "  0000000000000000-000000000000ffff (prio 0, i/o): r\n"
               "    0000000000000000-0000000000000fff (prio 0, ram): ram\n"
               "\n"
               "address-space: c-as\n"
               "  0000000000000000-000000000000ffff (prio 0, i/o): alias whole @r "
               "0000000000000000-000000000000ffff\n"
               "\n"
               "memory-region: r\n"
               "  0000000000000000-000000000000ffff (prio 0, i/o): r\n"
               "    0000000000000000-0000000000000fff (prio 0, ram): ram\n"
               "\n");
    free(text);

    text = capture_mtree(sys, GM_MTREE_FLAT);
    check_text(text,
               "FlatView #0\n"
               " AS \"b-as\", root: r\n"
               " AS \"a-as\", root: r\n"
               " AS \"c-as\", root: whole, alias r\n"
               " Root memory region: ram\n"
               "  0000000000000000-0000000000000fff (prio 0, ram): ram\n"
               "\n");
    free(text);

    gm_as_free(c);
    gm_as_free(a);
    gm_as_free(b);
    gm_region_unref(whole);
    gm_region_unref(r);
    gm_system_free(sys);
}

int main(void)
{
    RUN(test_overlap_example);
    RUN(test_equal_priority_and_readd);
    RUN(test_disabled_region);
    RUN(test_aliases);
    RUN(test_merging);
    RUN(test_2_64_space);
    RUN(test_zero_size);
    RUN(test_nested_transactions);
    RUN(test_add_subregion_errors);
    RUN(test_self_alias_fanout);
    RUN(test_alias_budget_exact);
    RUN(test_tree_print);
    RUN(test_flat_print_empty);
    RUN(test_print_shared_views);
    return 0;
}
