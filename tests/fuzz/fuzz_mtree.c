/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: guestmem-mtree's reader of QEMU `info mtree -D` dumps.
 *
 * The input is a dump, optionally preceded by a `--terminates` hint file
 * and a NUL byte (dumps never contain NUL, so the split is unambiguous).
 * Steps, as the tool runs them: parse the hints, parse the dump, rebuild it
 * as a guestmem system (mtree_build), print its trees and flat views, and
 * look up a few addresses in every address space.
 *
 * Checked beyond "no crash, no leak, no sanitizer report":
 * - a refused input comes with a message (the tool prints it to the user);
 * - what guestmem prints for a rebuilt system parses again: the printer and
 *   the parser agree on the format.
 * Inputs are bounded by the parser (MTREE_MAX_LINE, MTREE_MAX_DEPTH) and by
 * the rebuild (MTREE_MAX_EXPANSION nodes, MTREE_MAX_RAM_REGIONS memory
 * regions, anonymous MAP_NORESERVE memory), so large sizes cost address
 * space only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <guestmem/guestmem.h>

#include "mtree_build.h"
#include "mtree_infer.h"
#include "mtree_parse.h"

#define FUZZ_ASSERT(c) ((c) ? (void)0 : abort())

/* Print @m's trees (with disabled regions) or flat views into memory. */
static char *print_model(struct mtree_model *m, unsigned int flags, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);

    FUZZ_ASSERT(out != NULL);
    FUZZ_ASSERT(gm_mtree_print(mtree_model_system(m), out, flags) == 0);
    FUZZ_ASSERT(fclose(out) == 0);
    return buf;
}

/* The printed tree must be a dump the parser accepts. */
static void check_reprint(struct mtree_model *m)
{
    struct mtree_doc *doc = NULL;
    char err[256] = "";
    size_t len;
    char *text = print_model(m, GM_MTREE_DISABLED, &len);
    int ret = mtree_parse(text, len, &doc, err, sizeof(err));

    if (ret == -EINVAL) {
        fprintf(stderr, "fuzz_mtree: guestmem's own output does not parse: %s\n%s", err, text);
        abort();
    }
    mtree_doc_free(doc);
    free(text);
    free(print_model(m, GM_MTREE_FLAT, &len));
}

/* Look up the start, the end and some inner addresses of every address space. */
static void lookups(struct mtree_model *m, const uint8_t *data, size_t size)
{
    uint64_t addrs[4] = { 0, UINT64_MAX, 0, 0 };

    for (size_t i = 0; i < size && i < 16; i++)
        addrs[2 + i / 8] = addrs[2 + i / 8] << 8 | data[i];
    for (size_t i = 0; i < mtree_model_as_count(m); i++) {
        for (unsigned int k = 0; k < 4; k++) {
            gm_section s;

            if (gm_as_lookup(mtree_model_as(m, i), addrs[k], &s))
                gm_region_unref(s.mr);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    const char *text = (const char *)data;
    struct mtree_hints *hints = NULL;
    struct mtree_model *m = NULL;
    struct mtree_doc *doc = NULL;
    char err[256] = "";
    int ret = 0;

    if (nul) {
        ret = mtree_hints_parse(text, (size_t)(nul - data), &hints, err, sizeof(err));
        FUZZ_ASSERT(ret == 0 || ret == -ENOMEM || (ret == -EINVAL && err[0]));
        text = (const char *)nul + 1;
        size -= (size_t)(nul - data) + 1;
    }
    if (ret == 0)
        ret = mtree_parse(text, size, &doc, err, sizeof(err));
    FUZZ_ASSERT(ret == 0 || ret == -ENOMEM || (ret == -EINVAL && err[0]));
    if (ret == 0)
        ret = mtree_build(doc, hints, &m, err, sizeof(err));
    FUZZ_ASSERT(ret == 0 || err[0]);
    mtree_doc_free(doc);
    if (ret == 0) {
        size_t warnings;

        mtree_model_warning(m, &warnings);
        check_reprint(m);
        lookups(m, data, size);
    }
    mtree_model_free(m);
    mtree_hints_free(hints);
    return 0;
}
