/* SPDX-License-Identifier: MIT */
/*
 * The phases of a run and the main thread's watch over them (bp_run.h).
 *
 * While queue threads work, the main thread wakes every 100 ms or when a
 * thread ends, and checks: the spawned back-end is alive, the front-end
 * socket has not been closed (with --reconnect it then reconnects, else
 * the run fails), the runtime is not over, no signal asked to stop. Once a
 * second it samples the back-end's CPU time (a killed back-end's last
 * sample then still counts) and, on a terminal, rewrites the status line.
 *
 * Glossary: r = run; ph = phase.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bp_run.h"
#include "bp_util.h"

#define TICK_MS 100
#define LOG_TICK_MS 1
#define SECOND_NS 1000000000ull

typedef struct watch {
    uint64_t start_ns;
    uint64_t last_ns;
    uint64_t last_ios;
    uint64_t last_bytes;
    bool status;
} watch;

static void sample_cpu(bp_run *r)
{
    int64_t v = bp_proc_cpu_ns(r->dev.peer_pid);

    if (v >= 0)
        r->cpu_last = v;
}

static bool socket_closed(const bp_run *r)
{
    struct pollfd pfd = { r->dev.conn.fd, POLLRDHUP, 0 };

    if (r->dev.conn.fd < 0)
        return true;
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void reconnect(bp_run *r)
{
    fprintf(stderr, "%s: the back-end (pid %d) closed the connection; reconnecting\n", BP_NAME,
            (int)r->dev.peer_pid);
    r->cpu_acc += r->cpu_last - r->cpu_base;
    if (bp_setup_reconnect(r))
        return;
    r->res.reconnects++;
    bp_proc_name(r->dev.peer_pid, r->res.peer_name, sizeof(r->res.peer_name));
    r->res.peer_pid = r->dev.peer_pid;
    r->cpu_base = r->cpu_last = bp_proc_cpu_ns(r->dev.peer_pid);
    fprintf(stderr, "%s: reconnected to the back-end (pid %d)\n", BP_NAME, (int)r->dev.peer_pid);
}

static void check_backend(bp_run *r)
{
    char why[64];

    if (r->spawn.pid && !bp_spawn_alive(&r->spawn)) {
        bp_fail("the back-end (pid %d) %s", (int)r->spawn.pid,
                bp_spawn_describe(&r->spawn, why, sizeof(why)));
        return;
    }
    if (!socket_closed(r))
        return;
    if (r->o->reconnect)
        reconnect(r);
    else
        bp_fail("the back-end closed the connection");
}

static void totals(const bp_run *r, uint64_t *ios, uint64_t *bytes)
{
    *ios = *bytes = 0;
    for (unsigned int i = 0; i < r->nq; i++) {
        *ios += __atomic_load_n(&r->q[i].stats.done_ios, __ATOMIC_RELAXED);
        *bytes += __atomic_load_n(&r->q[i].stats.done_bytes, __ATOMIC_RELAXED);
    }
}

/* Once a second: CPU sample and the status line. */
static void each_second(bp_run *r, watch *w, uint64_t now)
{
    uint64_t ios, bytes;
    double dt = (double)(now - w->last_ns) / 1e9;

    if (now - w->last_ns < SECOND_NS)
        return;
    sample_cpu(r);
    totals(r, &ios, &bytes);
    if (w->status)
        bp_status_line(stdout, (double)(now - w->start_ns) / 1e9, (double)(ios - w->last_ios) / dt,
                       (double)(bytes - w->last_bytes) / dt / 1e6);
    w->last_ns = now;
    w->last_ios = ios;
    w->last_bytes = bytes;
}

static void wait_tick(bp_run *r, int ms)
{
    struct pollfd pfd = { r->done_fd, POLLIN, 0 };
    uint64_t v;

    if (poll(&pfd, 1, ms) > 0 && read(r->done_fd, &v, sizeof(v)) < 0)
        v = 0;    /* drained by someone else: nothing to do */
}

/* The measured phase of --log ticks often while a migration event is due. */
static void watch_phase(bp_run *r, bp_phase *ph, watch *w, bool measured)
{
    double runtime = measured ? r->o->runtime : 0;

    while (__atomic_load_n(&ph->running, __ATOMIC_ACQUIRE)) {
        bool events = measured && bp_logrun_pending(r);
        uint64_t now;

        wait_tick(r, events ? LOG_TICK_MS : TICK_MS);
        now = bp_now_ns();
        if (bp_interrupted() || bp_failed() ||
            (runtime > 0 && (double)(now - w->start_ns) >= runtime * 1e9))
            bp_job_stop(&ph->job);
        if (!bp_failed())
            check_backend(r);
        if (events)
            bp_logrun_tick(r, ph, (double)(bp_now_ns() - w->start_ns) / 1e9);
        each_second(r, w, now);
    }
}

/* Run @ph on every queue. Return: its duration in seconds. */
static double run_phase(bp_run *r, bp_phase *ph, bool measured)
{
    watch w = { .status = measured && !r->o->json && !r->o->quiet && isatty(STDOUT_FILENO) };
    unsigned int started = 0;

    ph->done_fd = r->done_fd;
    bp_hold_init(&ph->hold);
    __atomic_store_n(&ph->running, r->nq, __ATOMIC_RELEASE);
    w.start_ns = w.last_ns = bp_now_ns();
    for (; started < r->nq; started++) {
        int err = bp_queue_start(&r->q[started], ph);

        if (err) {
            bp_fail("cannot start queue thread %u: %s", started, strerror(-err));
            bp_job_stop(&ph->job);
            __atomic_fetch_sub(&ph->running, r->nq - started, __ATOMIC_RELEASE);
            break;
        }
    }
    watch_phase(r, ph, &w, measured);
    for (unsigned int i = 0; i < started; i++)
        bp_queue_join(&r->q[i]);
    bp_hold_destroy(&ph->hold);
    if (w.status)
        bp_status_clear(stdout);
    return (double)(bp_now_ns() - w.start_ns) / 1e9;
}

/* A one-pass sequential job over the region in chunks. */
static void sequential_pass(const bp_run *r, bp_phase *ph, bool write, enum bp_check check)
{
    memset(ph, 0, sizeof(*ph));
    ph->job = r->region;
    ph->job.rw = write ? BP_RW_WRITE : BP_RW_READ;
    ph->job.bs_min = ph->job.bs_max = r->chunk;
    ph->job.once = true;
    ph->verify = (bp_verify *)&r->verify;
    ph->check = check;
}

static void measured_job(const bp_run *r, bp_phase *ph)
{
    const bp_options *o = r->o;
    bool seq = o->rw == BP_RW_READ || o->rw == BP_RW_WRITE;
    uint64_t avg = ((uint64_t)o->bs_min + o->bs_max) / 2;

    memset(ph, 0, sizeof(*ph));
    ph->job = r->region;
    ph->job.ios = o->ios;
    if (!o->ios && !o->runtime) {
        ph->job.once = seq;
        ph->job.ios = seq ? 0 : (r->region.size / avg ? r->region.size / avg : 1);
    }
    ph->verify = r->verify_on ? (bp_verify *)&r->verify : NULL;
    ph->check = r->verify_on ? BP_CHECK_INLINE : BP_CHECK_NONE;
}

static void measured_phase(bp_run *r)
{
    bp_phase ph;

    measured_job(r, &ph);
    bp_logrun_begin(r, &ph);
    sample_cpu(r);
    r->cpu_base = r->cpu_last;
    r->cpu_acc = 0;
    r->res.seconds = run_phase(r, &ph, true);
    bp_logrun_finish(r, &ph, r->res.seconds);
    sample_cpu(r);
    r->res.cpu_ns = -1;
    if (r->dev.peer_pid > 0 && r->cpu_base >= 0)
        r->res.cpu_ns = r->cpu_acc + r->cpu_last - r->cpu_base;
    bp_stats_init(&r->res.total);
    for (unsigned int i = 0; i < r->nq; i++)
        bp_stats_merge(&r->res.total, &r->q[i].stats);
}

static void run_phases(bp_run *r)
{
    const bp_options *o = r->o;
    bool wrote = bp_rw_writes(o->rw);
    bp_phase ph;

    if (r->verify_on && !wrote && !o->verify_only) {
        sequential_pass(r, &ph, true, BP_CHECK_NONE);
        run_phase(r, &ph, false);
    }
    if (bp_failed() || bp_interrupted())
        return;
    measured_phase(r);
    if (r->verify_on && (wrote || o->verify_zeroed) && !bp_failed() && !bp_interrupted()) {
        sequential_pass(r, &ph, false, BP_CHECK_READBACK);
        run_phase(r, &ph, false);
    }
}

static void fill_result(bp_run *r)
{
    bp_result *res = &r->res;

    if (res->peer_pid != r->dev.peer_pid || !res->peer_name[0])
        bp_proc_name(r->dev.peer_pid, res->peer_name, sizeof(res->peer_name));
    res->peer_pid = r->dev.peer_pid;
    res->queue_size = r->want.queue_size;
    res->event_idx = r->dev.acked & BIT64(VIRTIO_F_EVENT_IDX);
    res->indirect = r->dev.acked & BIT64(VIRTIO_F_INDIRECT_DESC);
    res->verified_bytes = r->verify_on ? __atomic_load_n(&r->verify.checked, __ATOMIC_RELAXED) : 0;
}

/*
 * Faults are reported, not fatal: QEMU too only logs a DMA fault in the
 * guest and answers nothing, and a request that really needed the page
 * fails on its own (the back-end's miss times out and it reports an error).
 */
static void report_faults(const bp_run *r)
{
    if (r->res.iommu.faults)
        bp_warn("the back-end asked for %llu IOVAs the guest had not mapped for it (first 0x%llx)",
                (unsigned long long)r->res.iommu.faults,
                (unsigned long long)r->res.iommu.first_fault_iova);
}

int bp_run_main(const bp_options *o)
{
    bp_run r = { .o = o, .done_fd = -1, .chan = -1 };
    bool ran = false;

    r.res.cpu_ns = -1;
    bp_mem_init(&r.mem);    /* teardown may come before set-up reached it */
    bp_log_init(&r.log);
    if (!bp_setup(&r)) {
        fill_result(&r);
        run_phases(&r);
        ran = true;
    }
    bp_teardown(&r);
    report_faults(&r);
    fill_result(&r);
    r.res.error = bp_first_error();
    if (o->json)
        bp_report_json(stdout, o, &r.res);
    else if (ran)
        bp_report_table(stdout, o, &r.res);
    return bp_failed() ? 1 : 0;
}
