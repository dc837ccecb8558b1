/* SPDX-License-Identifier: MIT */
/*
 * Breaking a queue and reporting guest errors.
 *
 * The core's rate-limited system log is internal to the library, and a
 * layer above the core uses only the public API (DESIGN.md), so a queue has
 * its own hook (gm_virtq_set_log(), same gm_log_fn type as the system's, so
 * an application can point both at one sink). Every guest error is also a
 * negative errno returned by the call that found it.
 *
 * Flood control: a breaking error is reported once, because a broken queue
 * does no more work until it is re-created; errors that leave the queue
 * working (a buffer that cannot be mapped) are limited to VIRTQ_LOG_BURST
 * lines per second, with the count of dropped lines on the next one.
 *
 * Locking: none; the queue's thread only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "virtio/virtq_int.h"

#define VIRTQ_LOG_BURST 10u
#define VIRTQ_LOG_WINDOW_NS 1000000000ull

static uint64_t log_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void log_emit(gm_virtq *vq, const char *msg)
{
    if (vq->log_fn)
        vq->log_fn(vq->log_opaque, GM_LOG_GUEST_ERROR, msg);
    else
        fprintf(stderr, "guestmem: guest error: %s\n", msg);
}

static void log_vformat(gm_virtq *vq, unsigned long dropped, const char *fmt, va_list ap)
{
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "virtq (size %u): ", vq->size);

    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    if (dropped) {
        size_t used = strlen(msg);

        snprintf(msg + used, sizeof(msg) - used, " (%lu similar suppressed)", dropped);
    }
    log_emit(vq, msg);
}

int virtq_break(gm_virtq *vq, int err, const char *fmt, ...)
{
    va_list ap;

    if (vq->error)
        return err;
    vq->error = err;
    va_start(ap, fmt);
    log_vformat(vq, 0, fmt, ap);
    va_end(ap);
    return err;
}

/* Admit one line to the current window; false when over the burst. */
static bool log_admit(gm_virtq *vq)
{
    uint64_t now = log_now_ns();

    if (now - vq->log_window_ns >= VIRTQ_LOG_WINDOW_NS) {
        vq->log_window_ns = now;
        vq->log_in_window = 0;
    }
    if (vq->log_in_window >= VIRTQ_LOG_BURST) {
        vq->log_suppressed++;
        return false;
    }
    vq->log_in_window++;
    return true;
}

void virtq_report(gm_virtq *vq, const char *fmt, ...)
{
    unsigned long dropped;
    va_list ap;

    if (!log_admit(vq))
        return;
    dropped = vq->log_suppressed;
    vq->log_suppressed = 0;
    va_start(ap, fmt);
    log_vformat(vq, dropped, fmt, ap);
    va_end(ap);
}
