/* SPDX-License-Identifier: MIT */
/*
 * What guestmem-blkperf knows the back-end wrote into guest RAM while the
 * dirty log was on (--log), page by page, and the check of the log
 * against it.
 *
 * Each 4 KiB page of guest RAM has a record: empty, or the first write
 * that makes its log bit required (the data of a read, a status byte, a
 * used ring entry or index, a used packed descriptor, an event field),
 * with enough to name it in a message. Every page of guest RAM belongs to
 * one queue (rings and request buffers are page-aligned allocations of
 * their queue), so each record is written only by its queue's thread, or
 * by the main thread while that thread is held; the check runs after every
 * ring has stopped.
 *
 * The check: every required page has its bit (a missing one fails the run,
 * naming the page and what it held); bits set on pages nothing required,
 * inside or outside guest RAM, are only counted (the back-end may log more
 * than it wrote: descriptor tables, headers, whole device areas).
 */
#ifndef GUESTMEM_BLKPERF_WROTE_H
#define GUESTMEM_BLKPERF_WROTE_H

#include <stdint.h>

#include "bp_log.h"
#include "bp_mem.h"

enum bp_wrote_kind {
    BP_WROTE_NONE,
    BP_WROTE_DATA,        /* data of a read */
    BP_WROTE_STATUS,      /* a request's status byte */
    BP_WROTE_USED_ELEM,   /* split: a used ring entry */
    BP_WROTE_USED_IDX,    /* split: the used index */
    BP_WROTE_USED_DESC,   /* packed: a used descriptor */
    BP_WROTE_USED_FLAGS,  /* split: the used ring's flags (changed while logging) */
    BP_WROTE_AVAIL_EVENT, /* split: avail_event (changed while logging) */
    BP_WROTE_DEVICE_EVENT, /* packed: the device event suppression area (changed) */
};

/**
 * struct bp_wrote_rec - the first required write to a page.
 * @kind: enum bp_wrote_kind
 * @queue: the queue
 * @at: byte of the request's data (data), ring position (entries,
 *      descriptors), or 0
 * @seq: the request's number in its queue (completion order, from 1)
 * @offset, @len, @write: the request (disk offset, bytes, direction)
 */
typedef struct bp_wrote_rec {
    uint8_t kind;
    uint8_t write;
    uint16_t queue;
    uint32_t len;
    uint64_t at;
    uint64_t seq;
    uint64_t offset;
} bp_wrote_rec;

/** struct bp_wrote - one record per page of guest RAM, in file order. */
typedef struct bp_wrote {
    const bp_mem *mem;
    bp_wrote_rec *page;
    uint64_t npages;
} bp_wrote;

/**
 * struct bp_log_stats - the outcome of a check.
 * @required: pages that must have their bit
 * @missing: of those, without it
 * @set: bits set in the whole log
 * @extra: bits set on pages of guest RAM nothing required
 * @outside: bits set outside guest RAM
 */
typedef struct bp_log_stats {
    uint64_t required;
    uint64_t missing;
    uint64_t set;
    uint64_t extra;
    uint64_t outside;
} bp_log_stats;

/**
 * bp_wrote_init() - empty records for the guest RAM @m (created).
 * Return: 0 or -ENOMEM.
 */
int bp_wrote_init(bp_wrote *w, const bp_mem *m);

void bp_wrote_destroy(bp_wrote *w);

/**
 * bp_wrote_mark() - the back-end wrote [@gpa, @gpa + @len): each page of it
 * keeps its first record; for data, @why->at is the byte of the request
 * at @gpa and is advanced for later pages. Addresses outside guest RAM are
 * ignored (blkperf never hands those out).
 * Context: the thread that owns the pages (see the top of this file).
 */
void bp_wrote_mark(bp_wrote *w, uint64_t gpa, uint64_t len, const bp_wrote_rec *why);

/**
 * bp_wrote_check() - compare the log with the records.
 * @st: the counts
 * @first: receives a description of the first missing page (when any)
 * @len: size of @first
 *
 * The first few missing pages are also printed as warnings.
 * Return: the number of missing pages (0: the log covers every write).
 */
uint64_t bp_wrote_check(const bp_wrote *w, const bp_log *l, bp_log_stats *st, char *first,
                        unsigned int len);

/** bp_wrote_describe() - "data of queue 0's read #12 ..." for @rec at @gpa into @buf. */
const char *bp_wrote_describe(const bp_wrote_rec *rec, uint64_t gpa, char *buf, unsigned int len);

#endif
