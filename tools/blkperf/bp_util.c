/* SPDX-License-Identifier: MIT */
/*
 * The clock, the sticky failure of the run, and option value parsing.
 *
 * The failure message is kept in a static buffer written once under a
 * mutex; the flag that threads poll is an atomic set after the message is
 * complete, so a thread that sees it set can read the message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bp_util.h"

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[512];
static int failed;    /* atomic */

uint64_t bp_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bp_fail(const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&fail_lock);
    if (!__atomic_load_n(&failed, __ATOMIC_RELAXED)) {
        va_start(ap, fmt);
        vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s: error: %s\n", BP_NAME, fail_msg);
        __atomic_store_n(&failed, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&fail_lock);
}

bool bp_failed(void)
{
    return __atomic_load_n(&failed, __ATOMIC_ACQUIRE);
}

const char *bp_first_error(void)
{
    return bp_failed() ? fail_msg : NULL;
}

void bp_warn(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: warning: %s\n", BP_NAME, msg);
}

int bp_parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned int shift = 0;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno)
        return -EINVAL;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end || v > (UINT64_MAX >> shift))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

int bp_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

uint64_t bp_pow2_ceil(uint64_t v)
{
    uint64_t p = 1;

    while (p < v && p < (1ull << 63))
        p <<= 1;
    return p;
}
