/* SPDX-License-Identifier: MIT */
/*
 * Logging: one hook per system, default stderr.
 *
 * Guest- and peer-triggered messages (GM_LOG_GUEST_ERROR) are rate-limited
 * so that a hostile guest cannot flood the log: at most GM_LOG_BURST lines
 * per one-second window; the number suppressed is reported with the next
 * line that gets through. The hook is called with no library lock held (the
 * log state's own mutex is released first).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core/internal.h"

#define GM_LOG_BURST 10u
#define GM_LOG_WINDOW_NS 1000000000ull

static const char *const level_names[] = {
    [GM_LOG_ERROR] = "error",
    [GM_LOG_GUEST_ERROR] = "guest error",
    [GM_LOG_WARNING] = "warning",
    [GM_LOG_DEBUG] = "debug",
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void gm_log_init(gm_log_state *st)
{
    pthread_mutex_init(&st->lock, NULL);
    st->fn = NULL;
    st->opaque = NULL;
    st->debug = false;
    st->window_start_ns = 0;
    st->in_window = 0;
    st->suppressed = 0;
}

void gm_log_destroy(gm_log_state *st)
{
    pthread_mutex_destroy(&st->lock);
}

/* Decide under the lock whether a guest error may be printed; returns the
 * number suppressed since the last printed one, or -1 to drop this one. */
static long rate_limit_locked(gm_log_state *st)
{
    uint64_t now = now_ns();
    long suppressed;

    if (now - st->window_start_ns >= GM_LOG_WINDOW_NS) {
        st->window_start_ns = now;
        st->in_window = 0;
    }
    if (st->in_window >= GM_LOG_BURST) {
        st->suppressed++;
        return -1;
    }
    st->in_window++;
    suppressed = (long)st->suppressed;
    st->suppressed = 0;
    return suppressed;
}

void gm_log(gm_system *sys, enum gm_log_level level, const char *fmt, ...)
{
    gm_log_state *st = &sys->log;
    char msg[512];
    long suppressed = 0;
    gm_log_fn fn;
    void *opaque;
    va_list ap;

    pthread_mutex_lock(&st->lock);
    if (level == GM_LOG_DEBUG && !st->debug) {
        pthread_mutex_unlock(&st->lock);
        return;
    }
    if (level == GM_LOG_GUEST_ERROR)
        suppressed = rate_limit_locked(st);
    fn = st->fn;
    opaque = st->opaque;
    pthread_mutex_unlock(&st->lock);
    if (suppressed < 0)
        return;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (suppressed > 0) {
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof(msg) - used, " (%ld similar messages suppressed)",
                 suppressed);
    }
    if (fn)
        fn(opaque, level, msg);
    else
        fprintf(stderr, "guestmem: %s: %s\n", level_names[level], msg);
}

void gm_system_set_log(gm_system *sys, gm_log_fn fn, void *opaque, bool debug)
{
    pthread_mutex_lock(&sys->log.lock);
    sys->log.fn = fn;
    sys->log.opaque = opaque;
    sys->log.debug = debug;
    pthread_mutex_unlock(&sys->log.lock);
}
