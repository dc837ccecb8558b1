/* SPDX-License-Identifier: MIT */
/*
 * Records of the pages the back-end wrote while logging, and the check of
 * the dirty log against them (bp_wrote.h).
 *
 * A page is found by its guest-physical address: the bank that holds it,
 * then its file offset (banks follow each other in the memfd), so record
 * i is the page at file offset i * 4 KiB.
 *
 * Glossary: w = the records; l = the log; gpa = guest-physical address.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bp_proto.h"
#include "bp_util.h"
#include "bp_wrote.h"

/* Missing pages printed as warnings besides the failure itself. */
#define REPORT_MISSING 8u

int bp_wrote_init(bp_wrote *w, const bp_mem *m)
{
    w->mem = m;
    w->npages = m->size / BP_PAGE;
    w->page = calloc(w->npages ? w->npages : 1, sizeof(*w->page));
    return w->page ? 0 : -ENOMEM;
}

void bp_wrote_destroy(bp_wrote *w)
{
    free(w->page);
    w->page = NULL;
    w->npages = 0;
}

/* The record of the page holding @gpa, or NULL outside guest RAM. */
static bp_wrote_rec *rec_of(const bp_wrote *w, uint64_t gpa)
{
    for (unsigned int i = 0; i < BP_MEM_BANKS; i++) {
        const bp_bank *b = &w->mem->bank[i];

        if (gpa >= b->gpa && gpa - b->gpa < b->size)
            return &w->page[(b->file_offset + gpa - b->gpa) / BP_PAGE];
    }
    return NULL;
}

void bp_wrote_mark(bp_wrote *w, uint64_t gpa, uint64_t len, const bp_wrote_rec *why)
{
    uint64_t end = gpa + len;

    for (uint64_t a = gpa; a < end; a = (a & ~(BP_PAGE - 1)) + BP_PAGE) {
        bp_wrote_rec *rec = rec_of(w, a);

        if (!rec || rec->kind != BP_WROTE_NONE)
            continue;
        *rec = *why;
        if (why->kind == BP_WROTE_DATA)
            rec->at = why->at + (a - gpa);
    }
}

static const char *op(const bp_wrote_rec *rec)
{
    return rec->write ? "write" : "read";
}

static const char *event_name(uint8_t kind)
{
    switch (kind) {
    case BP_WROTE_USED_FLAGS: return "used ring flags";
    case BP_WROTE_AVAIL_EVENT: return "used ring avail_event";
    default: return "device event suppression area";
    }
}

const char *bp_wrote_describe(const bp_wrote_rec *rec, uint64_t gpa, char *buf, unsigned int len)
{
    char req[96];

    snprintf(req, sizeof(req), "queue %u request %" PRIu64 " (%s of %u bytes at disk offset %"
             PRIu64 ")", rec->queue, rec->seq, op(rec), rec->len, rec->offset);
    switch (rec->kind) {
    case BP_WROTE_DATA:
        snprintf(buf, len, "guest-physical page 0x%" PRIx64 ": data of %s, at byte %" PRIu64
                 " of its data", gpa, req, rec->at);
        break;
    case BP_WROTE_STATUS:
        snprintf(buf, len, "guest-physical page 0x%" PRIx64 ": status byte of %s", gpa, req);
        break;
    case BP_WROTE_USED_ELEM:
        snprintf(buf, len, "guest-physical page 0x%" PRIx64 ": queue %u used ring, entry %" PRIu64
                 " (used for %s)", gpa, rec->queue, rec->at, req);
        break;
    case BP_WROTE_USED_IDX:
        snprintf(buf, len, "guest-physical page 0x%" PRIx64 ": queue %u used ring, the used index "
                 "(moved for %s)", gpa, rec->queue, req);
        break;
    case BP_WROTE_USED_DESC:
        snprintf(buf, len, "guest-physical page 0x%" PRIx64 ": queue %u packed ring, used "
                 "descriptor %" PRIu64 " (for %s)", gpa, rec->queue, rec->at, req);
        break;
    default:
        snprintf(buf, len, "guest-physical page 0x%" PRIx64 ": queue %u %s (changed while "
                 "logging)", gpa, rec->queue, event_name(rec->kind));
        break;
    }
    return buf;
}

/* Check one page; counts into @st. */
static void check_page(const bp_wrote *w, const bp_log *l, uint64_t i, uint64_t gpa,
                       bp_log_stats *st, char *first, unsigned int len)
{
    const bp_wrote_rec *rec = &w->page[i];
    bool set = bp_log_test(l, gpa);
    char why[256];

    if (rec->kind == BP_WROTE_NONE) {
        st->extra += set;
        return;
    }
    st->required++;
    if (set)
        return;
    if (!st->missing++)
        bp_wrote_describe(rec, gpa, first, len);
    if (st->missing <= REPORT_MISSING)
        bp_warn("dirty log: not marked: %s", bp_wrote_describe(rec, gpa, why, sizeof(why)));
}

uint64_t bp_wrote_check(const bp_wrote *w, const bp_log *l, bp_log_stats *st, char *first,
                        unsigned int len)
{
    uint64_t inside = 0;

    *st = (bp_log_stats){ .set = bp_log_count(l) };
    for (unsigned int b = 0; b < BP_MEM_BANKS; b++) {
        const bp_bank *bank = &w->mem->bank[b];

        for (uint64_t off = 0; off < bank->size; off += BP_PAGE) {
            uint64_t i = (bank->file_offset + off) / BP_PAGE;

            check_page(w, l, i, bank->gpa + off, st, first, len);
            inside += bp_log_test(l, bank->gpa + off);
        }
    }
    st->outside = st->set - inside;
    return st->missing;
}
