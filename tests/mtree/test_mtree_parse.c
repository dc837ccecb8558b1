/* SPDX-License-Identifier: MIT */
/*
 * Parser and rebuild of guestmem-mtree on malformed and hostile input.
 *
 * Every malformed text must be refused with -EINVAL and a message naming
 * the line, never crash, hang or leak. The generated cases stress the
 * places where a naive parser recurses or goes quadratic: deep nesting
 * (through indentation and through alias chains), wide trees, alias cycles,
 * and random mutations of valid dumps (fixed seed, reproducible).
 *
 * Usage: test_mtree_parse DATADIR   (tests/mtree/data, for the mutations)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mtree_build.h"
#include "mtree_ident.h"
#include "mtree_infer.h"
#include "mtree_parse.h"

#define TOP "address-space: memory\n"
#define ROOT "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n"

static const char *datadir = ".";

/* Grow @buf by @n bytes of @s, keeping it NUL-terminated. */
static char *append(char *buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        buf = realloc(buf, *cap);
        CHECK(buf != NULL, "out of memory");
    }
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
    return buf;
}

/* Parse and build @text; returns 0 or the negative errno, message in @err. */
static int parse_build(const char *text, size_t len, char *err, size_t errlen, size_t *warnings)
{
    struct mtree_doc *doc = NULL;
    struct mtree_model *m = NULL;
    int ret = mtree_parse(text, len, &doc, err, errlen);

    *warnings = 0;
    if (ret == 0)
        ret = mtree_build(doc, NULL, &m, err, errlen);
    if (ret == 0)
        mtree_model_warning(m, warnings);
    mtree_model_free(m);
    mtree_doc_free(doc);
    return ret;
}

static void expect_error(const char *what, const char *text, size_t len, const char *needle)
{
    char err[512] = "";
    size_t warnings;
    int ret = parse_build(text, len, err, sizeof(err), &warnings);

    CHECK(ret == -EINVAL, "%s: expected -EINVAL, got %d (%s)", what, ret, err);
    CHECK(strstr(err, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, needle);
    printf("ok - %s: %s\n", what, err);
}

static void expect_ok(const char *what, const char *text, size_t len, size_t warnings_expected)
{
    char err[512] = "";
    size_t warnings;
    int ret = parse_build(text, len, err, sizeof(err), &warnings);

    CHECK(ret == 0, "%s: expected success, got %d (%s)", what, ret, err);
    CHECK(warnings == warnings_expected, "%s: %zu warnings, expected %zu", what, warnings,
          warnings_expected);
    printf("ok - %s\n", what);
}

#define ERR(what, text, needle) expect_error(what, text, strlen(text), needle)

/* One malformed line at a time; each must name its line. */
static void test_malformed_lines(void)
{
    ERR("empty file", "", "no address-space block");
    ERR("blank lines only", "\n\n\n", "no address-space block");
    ERR("header without tree", TOP "\n", "line 1: block header without a region tree");
    ERR("region outside a block", ROOT, "line 1: region line outside");
    ERR("truncated line", TOP "  0000000000000000-00000000000", "line 2: expected START-END");
    ERR("truncated after range", TOP "  0000000000000000-ffffffffffffffff (pri", "line 2: expected \" (prio");
    ERR("bad hex", TOP "  00000000000g0000-ffffffffffffffff (prio 0, i/o): x\n", "line 2: bad hex");
    ERR("short hex", TOP "  000000000000000-ffffffffffffffff (prio 0, i/o): x\n", "line 2:");
    ERR("prio overflow", TOP "  0000000000000000-ffffffffffffffff (prio 2147483648, i/o): x\n",
        "line 2: expected \" (prio N");
    ERR("prio missing", TOP "  0000000000000000-ffffffffffffffff (prio , i/o): x\n", "line 2:");
    ERR("bad type", TOP "  0000000000000000-ffffffffffffffff (prio 0, mmio): x\n", "line 2: expected a type");
    ERR("odd indentation", TOP "   0000000000000000-ffffffffffffffff (prio 0, i/o): x\n",
        "line 2: indentation");
    ERR("no indentation", TOP "0000000000000000-ffffffffffffffff (prio 0, i/o): x\n", "line 2: indentation");
    ERR("indentation jump", TOP ROOT "      0000000000000000-0000000000000fff (prio 0, ram): r\n",
        "line 3: indentation jumps");
    ERR("second top", TOP ROOT ROOT, "line 3: a second top-level region");
    expect_error("NUL byte", TOP "  0000000000000000-ffffffffffffffff (prio 0, i/o): a\0b\n",
                 sizeof(TOP "  0000000000000000-ffffffffffffffff (prio 0, i/o): a\0b\n") - 1,
                 "line 2: NUL byte");
    ERR("size 2^64-1", TOP "  0000000000000000-fffffffffffffffe (prio 0, i/o): x\n", "line 2: a size of 2^64-1");
    ERR("alias range mismatch",
        TOP ROOT "    0000000000000000-0000000000000fff (prio 0, ram): alias a @r 0000000000000000-0000000000001fff\n",
        "line 3: alias range");
    ERR("header name mismatch",
        TOP ROOT "\nmemory-region: r\n  0000000000000000-0000000000000fff (prio 0, ram): other\n",
        "line 5: the top region's name differs");
}

static void test_semantic_errors(void)
{
    ERR("missing alias target",
        TOP ROOT "    0000000000000000-0000000000000fff (prio 0, ram): alias a @nowhere 0000000000000000-0000000000000fff\n",
        "line 3: alias target not found: 'nowhere'");
    ERR("RAM of 2^64 bytes", TOP "  0000000000000000-ffffffffffffffff (prio 0, ram): huge\n",
        "line 2: 'huge': RAM or ROM of 2^64 bytes");
    ERR("alias cycle",
        TOP "  0000000000000000-0000000000000fff (prio 0, ram): alias a @b 0000000000000000-0000000000000fff\n"
        "\nmemory-region: b\n  0000000000000000-0000000000000fff (prio 0, ram): alias b @a 0000000000000000-0000000000000fff\n"
        "\nmemory-region: a\n  0000000000000000-0000000000000fff (prio 0, ram): alias a @b 0000000000000000-0000000000000fff\n",
        "alias cycle");
}

/* Too many RAM regions, and memory-region blocks out of QEMU's queue order. */
static void test_limits_and_order(void)
{
    char line[200], *buf = NULL;
    size_t len = 0, cap = 0;

    buf = append(buf, &len, &cap, TOP ROOT, strlen(TOP ROOT));
    for (int i = 0; i <= MTREE_MAX_RAM_REGIONS; i++) {
        int k = snprintf(line, sizeof(line), "    %016x-%016x (prio 0, ram): r%d\n", i * 4096,
                         i * 4096 + 4095, i);
        buf = append(buf, &len, &cap, line, (size_t)k);
    }
    expect_error("4097 RAM regions", buf, len, "more than 4096 RAM");
    free(buf);

    /* Blocks listed in the reverse of the order their aliases queue them. */
    const char *text =
        TOP ROOT "    0000000000000000-0000000000000fff (prio 0, ram): alias x @a 0000000000000000-0000000000000fff\n"
        "    0000000000001000-0000000000001fff (prio 0, ram): alias y @b 0000000000000000-0000000000000fff\n"
        "\nmemory-region: b\n  0000000000000000-0000000000000fff (prio 0, ram): b\n"
        "\nmemory-region: a\n  0000000000000000-0000000000000fff (prio 0, ram): a\n";
    expect_ok("memory-region blocks out of order", text, strlen(text), 0);
}

/* A container with an alias onto itself is valid QEMU; guestmem builds it too. */
static void test_self_alias(void)
{
    const char *text =
        TOP ROOT "    0000000000000000-0000000000000fff (prio 0, ram): ram\n"
        "    0000000000001000-0000000000001fff (prio 0, ram): alias mirror @system 0000000000000000-0000000000000fff\n"
        "\nmemory-region: system\n" ROOT "    0000000000000000-0000000000000fff (prio 0, ram): ram\n"
        "    0000000000001000-0000000000001fff (prio 0, ram): alias mirror @system 0000000000000000-0000000000000fff\n";

    expect_ok("self-referential alias", text, strlen(text), 0);
}


/* Nesting one level past the limit, and a single absurdly indented line. */
static void test_deep_indentation(void)
{
    char line[600], *buf = NULL;
    size_t len = 0, cap = 0;

    buf = append(buf, &len, &cap, TOP, strlen(TOP));
    for (int level = 1; level <= MTREE_MAX_DEPTH + 1; level++) {
        int n = snprintf(line, sizeof(line), "%*s0000000000000000-0000000000000fff (prio 0, i/o): l%d\n",
                         2 * level, "", level);
        buf = append(buf, &len, &cap, line, (size_t)n);
    }
    expect_error("129 levels", buf, len, "line 130: nesting deeper than 128 levels");
    free(buf);

    len = cap = 0;
    buf = append(NULL, &len, &cap, TOP, strlen(TOP));
    for (int i = 0; i < 1000000; i++)
        buf = append(buf, &len, &cap, " ", 1);
    buf = append(buf, &len, &cap, ROOT, strlen(ROOT));
    expect_error("10^6 spaces of indentation", buf, len, "line 2: line too long");
    free(buf);
}

/* 10^5 levels of nesting through a chain of aliases, each the top of its block. */
static void test_deep_alias_chain(void)
{
    const int n = 100000;
    char line[300], *buf = NULL;
    size_t len = 0, cap = 0;

    buf = append(buf, &len, &cap, TOP, strlen(TOP));
    for (int i = 0; i < n; i++) {
        int k;

        if (i) {
            k = snprintf(line, sizeof(line), "memory-region: a%d\n", i);
            buf = append(buf, &len, &cap, line, (size_t)k);
        }
        k = snprintf(line, sizeof(line),
                     "  0000000000000000-0000000000000fff (prio 0, ram): alias a%d @a%d "
                     "0000000000000000-0000000000000fff\n\n", i, i + 1);
        buf = append(buf, &len, &cap, line, (size_t)k);
    }
    snprintf(line, sizeof(line), "memory-region: a%d\n  0000000000000000-0000000000000fff (prio 0, ram): a%d\n",
             n, n);
    buf = append(buf, &len, &cap, line, strlen(line));
    expect_error("10^5 chained aliases", buf, len, "nesting deeper than 128 levels counting alias hops");
    free(buf);
}

static char *wide_tree(int n, size_t *len)
{
    char line[200], *buf = NULL;
    size_t cap = 0;

    *len = 0;
    buf = append(buf, len, &cap, TOP ROOT, strlen(TOP ROOT));
    for (int i = 0; i < n; i++) {
        int k = snprintf(line, sizeof(line), "    %016x-%016x (prio %d, i/o): dev%d\n", i * 16,
                         i * 16 + 15, i % 7, i);
        buf = append(buf, len, &cap, line, (size_t)k);
    }
    return buf;
}

/*
 * 10^5 siblings: parsing, identity and ordering must stay linear-ish. The
 * full rebuild is run on 2 * 10^4 only: rendering a flat view is quadratic
 * in the number of ranges, in guestmem as in QEMU.
 */
static void test_wide_tree(void)
{
    struct mtree_ident id = { 0 };
    struct mtree_doc *doc = NULL;
    char err[512] = "";
    size_t len;
    char *buf = wide_tree(100000, &len);
    int32_t *order;

    CHECK(mtree_parse(buf, len, &doc, err, sizeof(err)) == 0, "10^5 siblings: %s", err);
    CHECK(mtree_ident_resolve(doc, &id, err, sizeof(err)) == 0, "10^5 siblings: %s", err);
    order = malloc(doc->nodes[0].nchildren * sizeof(*order));
    CHECK(order && mtree_infer_child_order(doc, 0, order) == 0, "10^5 siblings: child order");
    CHECK(doc->nodes[order[0]].prio == 6, "highest priority first");
    free(order);
    mtree_ident_free(&id);
    mtree_doc_free(doc);
    free(buf);
    printf("ok - 10^5 siblings parsed and ordered\n");

    buf = wide_tree(20000, &len);
    expect_ok("2 * 10^4 siblings rebuilt", buf, len, 0);
    free(buf);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    char chunk[4096];
    size_t n;

    CHECK(f != NULL, "cannot open %s", path);
    *len = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf = append(buf, len, &cap, chunk, n);
    fclose(f);
    return buf;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/*
 * Random edits of a valid dump: any outcome but a crash is fine. Only every
 * fifth mutant is rebuilt: each rebuild waits for an RCU grace period when
 * its system is freed, which dominates the run time.
 */
static void mutate_once(const char *orig, size_t len, uint64_t *seed, bool build)
{
    char *buf = malloc(len + 64), err[512];
    size_t n = len, warnings;
    int edits = 1 + (int)(rng_next(seed) % 4);

    CHECK(buf != NULL, "out of memory");
    memcpy(buf, orig, len);
    for (int e = 0; e < edits && n > 0; e++) {
        size_t pos = rng_next(seed) % n;
        static const char alphabet[] = " \n-@0f9a()[],:/ipxmrdv";

        switch (rng_next(seed) % 4) {
        case 0: buf[pos] = alphabet[rng_next(seed) % (sizeof(alphabet) - 1)]; break;
        case 1: memmove(buf + pos, buf + pos + 1, n - pos - 1); n--; break;
        case 2: n = pos; break;
        default: buf[pos] = (char)(rng_next(seed) & 0xff); break;
        }
    }
    if (build) {
        parse_build(buf, n, err, sizeof(err), &warnings);
    } else {
        struct mtree_doc *doc = NULL;
        struct mtree_ident id = { 0 };

        if (mtree_parse(buf, n, &doc, err, sizeof(err)) == 0)
            mtree_ident_resolve(doc, &id, err, sizeof(err));
        mtree_ident_free(&id);
        mtree_doc_free(doc);
    }
    free(buf);
}

static void test_mutations(void)
{
    static const char *files[] = { "small-pc.tree", "memory-rst.tree" };
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[4096];
        size_t len;
        char *text;

        snprintf(path, sizeof(path), "%s/%s", datadir, files[f]);
        text = read_all(path, &len);
        for (int i = 0; i < 3000; i++)
            mutate_once(text, len, &seed, i % 5 == 0);
        free(text);
    }
    printf("ok - 6000 random mutations without a crash\n");
}

static void test_hints(void)
{
    struct mtree_hints *h = NULL;
    char err[256] = "";

    const char *ok = "io 10000\nbus master 10000000000000000\n\n";

    CHECK(mtree_hints_parse(ok, strlen(ok), &h, err, sizeof(err)) == 0, "valid hints refused: %s", err);
    mtree_hints_free(h);
    CHECK(mtree_hints_parse("io\n", 3, &h, err, sizeof(err)) == -EINVAL && strstr(err, "line 1"),
          "hint without size accepted");
    CHECK(mtree_hints_parse("a 0\n", 4, &h, err, sizeof(err)) == -EINVAL, "size 0 accepted");
    CHECK(mtree_hints_parse("a 0x10\n", 7, &h, err, sizeof(err)) == -EINVAL, "0x prefix accepted");
    CHECK(mtree_hints_parse("x 1\na 20000000000000000\n", 24, &h, err, sizeof(err)) == -EINVAL &&
          strstr(err, "line 2"), "size above 2^64 accepted");
    printf("ok - hint files\n");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* keep "ok" lines and failures in order */
    if (argc > 1)
        datadir = argv[1];
    RUN(test_malformed_lines);
    RUN(test_semantic_errors);
    RUN(test_self_alias);
    RUN(test_limits_and_order);
    RUN(test_deep_indentation);
    RUN(test_deep_alias_chain);
    RUN(test_wide_tree);
    RUN(test_hints);
    RUN(test_mutations);
    return 0;
}
