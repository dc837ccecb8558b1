/* SPDX-License-Identifier: MIT */
/*
 * guestmem-mtree: rebuild a QEMU `info mtree -D` dump with guestmem and
 * print it back (tree or flat views, in QEMU's format), or look addresses
 * up in it.
 *
 * This file is only the command line: reading files, calling the parser
 * (mtree_parse.c), the rebuild (mtree_build.c) and the library's printer,
 * and reporting errors. Exit status: 0 success, 1 system failure (memory,
 * output), 2 usage or input error (the message names the file and line).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <guestmem/guestmem.h>

#include "mtree_build.h"
#include "mtree_infer.h"
#include "mtree_parse.h"

#define PROG "guestmem-mtree"
#define MAX_INPUT (1ull << 30)
#define MAX_LOOKUPS 4096

enum { EXIT_SYSTEM = 1, EXIT_INPUT = 2 };

struct options {
    bool flat;
    const char *hints_path;
    const char *lookup;
    const char *as_name;
    const char *path;
};

struct lookups {
    uint64_t addr[MAX_LOOKUPS];
    size_t n;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [-f] [--terminates HINTS] [--lookup ADDR[,ADDR...] [--as NAME]] FILE\n"
            "\n"
            "Rebuild the memory map that QEMU printed with `info mtree -D` (FILE, or - for\n"
            "standard input) with guestmem, then print it back in QEMU's format.\n"
            "\n"
            "  -f, --flat              print the flat views (`info mtree -f`) instead of the tree\n"
            "  -t, --terminates HINTS  \"NAME SIZE\" lines (SIZE in hex) listing the i/o regions\n"
            "                          that terminate (MMIO); without it they are inferred\n"
            "  -l, --lookup ADDRS      print the flat-view section at each hex address\n"
            "                          (comma-separated) in every address space\n"
            "  -a, --as NAME           with --lookup: only the address spaces called NAME\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 success, 1 system error, 2 usage or input error.\n");
}

static int usage_error(const char *msg)
{
    fprintf(stderr, PROG ": %s\n", msg);
    fprintf(stderr, "Try '" PROG " --help'.\n");
    return EXIT_INPUT;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        { "flat", no_argument, NULL, 'f' },
        { "terminates", required_argument, NULL, 't' },
        { "lookup", required_argument, NULL, 'l' },
        { "as", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+ft:l:a:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->flat = true; break;
        case 't': o->hints_path = optarg; break;
        case 'l': o->lookup = optarg; break;
        case 'a': o->as_name = optarg; break;
        case 'h': usage(stdout); return -1;
        default: return usage_error("unknown option or missing argument");
        }
    }
    if (optind != argc - 1)
        return usage_error("expected exactly one FILE");
    if (o->as_name && !o->lookup)
        return usage_error("--as only applies to --lookup");
    if (o->flat && o->lookup)
        return usage_error("-f and --lookup cannot be combined");
    o->path = argv[optind];
    return 0;
}

/* Read all of @path ("-" = stdin). Return: 0, or an exit status after a message. */
static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    size_t cap = 0;
    char *p = NULL;

    *len = 0;
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return EXIT_INPUT;
    }
    for (;;) {
        if (*len == cap) {
            char *n = cap >= MAX_INPUT ? NULL : realloc(p, cap ? cap * 2 : 65536);

            if (!n) {
                fprintf(stderr, PROG ": %s: %s\n", path, cap >= MAX_INPUT ? "file too large" : strerror(ENOMEM));
                free(p);
                if (f != stdin)
                    fclose(f);
                return cap >= MAX_INPUT ? EXIT_INPUT : EXIT_SYSTEM;
            }
            p = n;
            cap = cap ? cap * 2 : 65536;
        }
        size_t got = fread(p + *len, 1, cap - *len, f);

        *len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, PROG ": %s: read error\n", path);
        free(p);
        p = NULL;
    }
    if (f != stdin)
        fclose(f);
    *buf = p;
    return p ? 0 : EXIT_INPUT;
}

static int parse_lookups(const char *s, struct lookups *lk)
{
    while (*s) {
        uint64_t v = 0;
        int digits = 0;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            s += 2;
        for (; *s && *s != ','; s++, digits++) {
            int d = (*s >= '0' && *s <= '9') ? *s - '0'
                  : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
                  : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;

            if (d < 0 || digits >= 16)
                return usage_error("--lookup takes hex addresses (at most 16 digits) separated by commas");
            v = v << 4 | (uint64_t)d;
        }
        if (!digits || lk->n == MAX_LOOKUPS)
            return usage_error("--lookup: empty address or too many addresses");
        lk->addr[lk->n++] = v;
        if (*s == ',' && !*++s)
            return usage_error("--lookup: trailing comma");
    }
    return 0;
}

static void print_section(const struct mtree_model *m, const gm_as *as, uint64_t addr,
                          const gm_section *s)
{
    const char *type = mtree_model_region_type(m, s->mr);
    uint64_t start = s->offset_within_address_space;
    uint64_t last = start + (s->size == GM_SIZE_2_64 ? UINT64_MAX : s->size - 1);

    printf("AS %s %016" PRIx64 " -> %s @%016" PRIx64 " [%016" PRIx64 "-%016" PRIx64 "] (%s%s)\n",
           gm_as_name(as), addr, gm_region_name(s->mr),
           s->offset_within_region + (addr - start), start, last, s->nonvolatile ? "nv-" : "",
           s->readonly ? "rom" : (type ? type : "i/o"));
}

static int run_lookups(const struct mtree_model *m, const struct options *o,
                       const struct lookups *lk)
{
    size_t matched = 0;

    for (size_t i = 0; i < mtree_model_as_count(m); i++) {
        gm_as *as = mtree_model_as(m, i);

        if (o->as_name && strcmp(gm_as_name(as), o->as_name) != 0)
            continue;
        matched++;
        for (size_t k = 0; k < lk->n; k++) {
            gm_section s;

            if (gm_as_lookup(as, lk->addr[k], &s)) {
                print_section(m, as, lk->addr[k], &s);
                gm_region_unref(s.mr);
            } else {
                printf("AS %s %016" PRIx64 " -> unassigned\n", gm_as_name(as), lk->addr[k]);
            }
        }
    }
    if (o->as_name && !matched) {
        fprintf(stderr, PROG ": no address space named '%s'\n", o->as_name);
        return EXIT_INPUT;
    }
    return 0;
}

static int load_hints(const char *path, struct mtree_hints **hints)
{
    char err[512] = "", *buf;
    size_t len;
    int ret = read_file(path, &buf, &len);

    if (ret)
        return ret;
    ret = mtree_hints_parse(buf, len, hints, err, sizeof(err));
    free(buf);
    if (ret < 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, err);
        return ret == -ENOMEM ? EXIT_SYSTEM : EXIT_INPUT;
    }
    return 0;
}

static void warn_model(const char *path, const struct mtree_model *m)
{
    size_t count;
    const char *w = mtree_model_warning(m, &count);

    if (w)
        fprintf(stderr, PROG ": %s: warning: %s%s\n", path, w,
                count > 1 ? " (and more like it)" : "");
}

static int load_model(const char *path, const struct mtree_hints *hints, struct mtree_model **m)
{
    struct mtree_doc *doc = NULL;
    char err[512] = "", *buf;
    size_t len;
    int ret = read_file(path, &buf, &len);

    if (ret)
        return ret;
    ret = mtree_parse(buf, len, &doc, err, sizeof(err));
    free(buf);
    if (ret == 0)
        ret = mtree_build(doc, hints, m, err, sizeof(err));
    mtree_doc_free(doc);
    if (ret < 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, err);
        return ret == -ENOMEM ? EXIT_SYSTEM : EXIT_INPUT;
    }
    warn_model(path, *m);
    return 0;
}

static int run(const struct options *o, const struct lookups *lk)
{
    struct mtree_hints *hints = NULL;
    struct mtree_model *m = NULL;
    int ret = o->hints_path ? load_hints(o->hints_path, &hints) : 0;

    if (ret == 0)
        ret = load_model(o->path, hints, &m);
    if (ret == 0 && o->lookup) {
        ret = run_lookups(m, o, lk);
    } else if (ret == 0) {
        unsigned int flags = o->flat ? GM_MTREE_FLAT : GM_MTREE_DISABLED;

        if (gm_mtree_print(mtree_model_system(m), stdout, flags) < 0)
            ret = EXIT_SYSTEM;
    }
    if (ret == 0 && fflush(stdout) != 0)
        ret = EXIT_SYSTEM;
    if (ret == EXIT_SYSTEM && ferror(stdout))
        fprintf(stderr, PROG ": write error\n");
    mtree_model_free(m);
    mtree_hints_free(hints);
    return ret;
}

int main(int argc, char **argv)
{
    struct options o = { 0 };
    struct lookups *lk = calloc(1, sizeof(*lk));
    int ret;

    if (!lk) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_SYSTEM;
    }
    ret = parse_options(argc, argv, &o);
    if (ret == 0 && o.lookup)
        ret = parse_lookups(o.lookup, lk);
    if (ret == 0)
        ret = run(&o, lk);
    free(lk);
    return ret < 0 ? 0 : ret;
}
