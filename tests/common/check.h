/* SPDX-License-Identifier: MIT */
/*
 * Minimal assertion helpers for guestmem's test programs.
 *
 * Each test program is one meson test; a failed CHECK prints the expectation,
 * the location and a message, and exits non-zero. Checks are never compiled
 * out (unlike assert()).
 */
#ifndef GUESTMEM_TESTS_CHECK_H
#define GUESTMEM_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

#define CHECK_EQ_U64(a, b, what)                                                \
    do {                                                                        \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                        \
        CHECK(a_ == b_, "%s: got 0x%" PRIx64 ", want 0x%" PRIx64, (what), a_,   \
              b_);                                                              \
    } while (0)

/* Runs one named test step function and reports it. */
#define RUN(fn)                                                                 \
    do {                                                                        \
        fn();                                                                   \
        printf("ok - %s\n", #fn);                                               \
    } while (0)

#endif
