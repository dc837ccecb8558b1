/* SPDX-License-Identifier: MIT */
/*
 * Small shared helpers of guestmem-blkperf: the clock, the run's sticky
 * failure, warnings, and size parsing.
 *
 * Failure model: the first fatal problem anywhere (a protocol error, a
 * timeout, a wrong completion, a verify mismatch) is recorded once with
 * bp_fail(), printed at once, and makes every thread wind down; the program
 * then exits non-zero with that message. Nothing the back-end does can make
 * blkperf abort() or hang: each wait is bounded and checks bp_failed().
 */
#ifndef GUESTMEM_BLKPERF_UTIL_H
#define GUESTMEM_BLKPERF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BP_NAME "guestmem-blkperf"

/** bp_now_ns() - CLOCK_MONOTONIC in nanoseconds. */
uint64_t bp_now_ns(void);

/**
 * bp_fail() - record the run's failure (the first one wins) and print it.
 * @fmt: printf format of the message (no trailing newline)
 *
 * Context: any thread.
 */
void bp_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** bp_failed() - whether bp_fail() was called. Context: any thread. */
bool bp_failed(void);

/**
 * bp_first_error() - the first failure's message, or NULL.
 *
 * Return: a string that lives until the program exits.
 */
const char *bp_first_error(void);

/** bp_warn() - print a warning on stderr (does not fail the run). */
void bp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * bp_parse_size() - parse a byte count with an optional K, M or G suffix.
 * @s: the text
 * @out: the value
 *
 * Return: 0, or -EINVAL for text that is not a size or overflows.
 */
int bp_parse_size(const char *s, uint64_t *out);

/**
 * bp_parse_uint() - parse a decimal integer within [@min, @max].
 * Return: 0, or -EINVAL.
 */
int bp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** bp_pow2_ceil() - smallest power of two >= @v (1 for 0). */
uint64_t bp_pow2_ceil(uint64_t v);

#endif
