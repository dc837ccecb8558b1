/* SPDX-License-Identifier: MIT */
/*
 * --log: a live migration's share of the back-end's work, played during
 * the measured phase while the queues keep requests in flight, the way
 * QEMU 7.2 does it:
 *
 *   at 25 % of the phase  logging on: SET_LOG_BASE, SET_FEATURES with
 *                         VHOST_F_LOG_ALL, SET_VRING_ADDR with the log flag
 *   at 50 % (--log-off)   logging off again: SET_FEATURES and SET_VRING_ADDR
 *                         without it
 *   at 75 %               the VM stops: the queue threads are held (no
 *                         request made available or taken back, those in
 *                         flight stay so), SET_VRING_ENABLE 0 on every ring,
 *                         GET_VRING_BASE on each, timed
 *
 * After the stop, each reply must be the state of a ring whose every taken
 * request was used (completed before the reply, never after); blkperf
 * takes back what was used, checks that nothing more appears, and checks
 * the dirty log against what the back-end wrote while logging was on
 * (bp_logwin.h says which writes those are, bp_wrote.h how they are
 * checked). Then the rings start again where GET_VRING_BASE said, without
 * logging, as on a migration that was called off, and the phase goes on:
 * requests left available are taken by the restarted rings.
 *
 * The phase's progress is its share of --runtime, of --ios, or of the one
 * pass over the region. With --ios the job also waits at a gate a little
 * past each event's share until the event is done, so however late the
 * main thread is, about the same number of requests is made available
 * between two events; and at the stop's gate each queue thread holds right
 * after its kick, so the rings stop with requests in flight. A phase that ends before an
 * event is due gets the events then (the stop with nothing in flight); one
 * that ends before logging could start fails the run.
 *
 * Glossary: r = the run; ph = the measured phase; q = a queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>

#include "bp_run.h"
#include "bp_util.h"

enum { STEP_NONE, STEP_ON, STEP_OFF, STEP_STOP };

/* The share of the phase, in percent, at which each step comes. */
static const unsigned int step_pct[] = { [STEP_ON] = 25, [STEP_OFF] = 50, [STEP_STOP] = 75 };

/* Time the back-end gets to (wrongly) use more after GET_VRING_BASE replied. */
#define SETTLE_MS 10

int bp_logrun_setup(bp_run *r)
{
    int err;

    if (!r->o->log)
        return 0;
    err = bp_wrote_init(&r->logwin.wrote, &r->mem);
    if (err) {
        bp_fail("--log: %s", strerror(-err));
        return err;
    }
    r->logwin_on = true;
    r->env.logwin = &r->logwin;
    r->res.log.on_s = r->res.log.off_s = r->res.log.stop_s = -1;
    return 0;
}

void bp_logrun_teardown(bp_run *r)
{
    if (r->logwin_on)
        bp_wrote_destroy(&r->logwin.wrote);
    bp_log_destroy(&r->log);
}

static int next_step(const bp_run *r)
{
    if (r->log_step == STEP_NONE)
        return STEP_ON;
    if (r->log_step == STEP_ON)
        return r->o->log_off ? STEP_OFF : STEP_STOP;
    return r->log_step == STEP_OFF ? STEP_STOP : STEP_NONE;
}

bool bp_logrun_pending(const bp_run *r)
{
    return r->logwin_on && next_step(r) != STEP_NONE && !bp_failed();
}

/* With --ios: the requests made available before @step comes. */
static uint64_t step_count(const bp_phase *ph, int step)
{
    uint64_t n = ph->job.ios, pct = step_pct[step];

    return n / 100 * pct + (n % 100 * pct + 99) / 100;   /* ceil(n * pct / 100) */
}

static bool step_due(const bp_run *r, const bp_phase *ph, int step, double elapsed)
{
    if (r->o->runtime > 0)
        return elapsed * 100 >= step_pct[step] * r->o->runtime;
    if (ph->job.ios)
        return __atomic_load_n(&ph->job.issued, __ATOMIC_RELAXED) >= step_count(ph, step);
    if (ph->job.once)
        return __atomic_load_n(&ph->job.seq_next, __ATOMIC_RELAXED) / step_pct[step] * 100 >=
               ph->job.size;
    return false;
}

/*
 * The gate of the next step (none without --ios, or when all is done): a
 * queue's depth per queue past the step's share, so that a main thread on
 * time finds the queues full, and a late one the same requests made
 * available between two steps.
 */
static void set_gate(bp_run *r, bp_phase *ph)
{
    int next = next_step(r);
    uint64_t gate = 0;

    if (r->o->runtime > 0 || !ph->job.ios)
        return;
    if (next != STEP_NONE)
        gate = step_count(ph, next) + (uint64_t)r->o->iodepth * r->nq;
    __atomic_store_n(&ph->gate_holds, next == STEP_STOP, __ATOMIC_RELEASE);
    bp_job_set_gate(&ph->job, gate < ph->job.ios ? gate : ph->job.ios);
    for (unsigned int i = 0; i < r->nq; i++)
        bp_queue_wake(&r->q[i]);
}

void bp_logrun_begin(bp_run *r, bp_phase *ph)
{
    if (r->logwin_on)
        set_gate(r, ph);
}

/* QEMU's log_guest_addr: the used ring's guest-physical address, or its IOVA. */
static uint64_t used_log_addr(const bp_run *r, const bp_vq *vq)
{
    return r->io_on ? vq->dev_addr : vq->ring_gpa + (vq->dev_addr - vq->desc_addr);
}

static int log_on(bp_run *r)
{
    uint64_t addr[BP_MAX_QUEUES];
    int err = bp_log_create(&r->log, &r->mem);

    if (err) {
        bp_fail("--log: cannot create the dirty log: %s", strerror(-err));
        return err;
    }
    for (unsigned int i = 0; i < r->nq; i++)
        addr[i] = used_log_addr(r, r->vqs[i]);
    err = bp_dev_log_start(&r->dev, &r->want, r->vqs, addr, r->log.fd, r->log.size);
    if (err)
        return err;
    bp_logwin_set(&r->logwin, BP_LOG_ON);
    /* Sleeping queues see the window open now: more of what is in flight
     * is then checked as completed after the switch. */
    for (unsigned int i = 0; i < r->nq; i++)
        bp_queue_wake(&r->q[i]);
    return 0;
}

/* The window closes before the message goes out (see bp_logwin.h). */
static int log_off(bp_run *r)
{
    bp_logwin_set(&r->logwin, BP_LOG_CLOSED);
    return bp_dev_log_stop(&r->dev, &r->want, r->vqs);
}

static void hold_queues(bp_run *r, bp_phase *ph)
{
    bp_hold_ask(&ph->hold);
    for (unsigned int i = 0; i < r->nq; i++)
        bp_queue_wake(&r->q[i]);
    bp_hold_wait(&ph->hold, r->nq);
}

static int stop_failed(unsigned int i, uint32_t base, uint32_t end, uint16_t inflight, int err)
{
    if (err == -ERANGE)
        bp_fail("GET_VRING_BASE: queue %u: the back-end says base 0x%x, beyond what the driver "
                "made available", i, base);
    else
        bp_fail("GET_VRING_BASE: queue %u: the back-end says base 0x%x but the used side ends at "
                "0x%x: it replied before completing every request it took (%u were in flight at "
                "the stop)", i, base, end, inflight);
    return err;
}

/* GET_VRING_BASE of ring @i, timed and checked; @end receives where its used side ends. */
static int stop_ring(bp_run *r, unsigned int i, uint32_t *end)
{
    bp_ring *ring = &r->q[i].vq.ring;
    bp_log_result *res = &r->res.log;
    uint16_t before, after;
    uint32_t base;
    int err;

    bp_ring_used_end(ring, &before);
    err = bp_dev_get_base_timed(&r->dev, i, &base, &res->stop_ns[i]);
    if (err)
        return err;
    *end = bp_ring_used_end(ring, &after);
    res->stop_unused[i] = (uint16_t)(res->stop_inflight[i] - before);
    res->stop_drained[i] = (uint16_t)(after - before);
    err = bp_ring_check_stopped(ring, base);
    if (err)
        return stop_failed(i, base, *end, res->stop_inflight[i], err);
    r->vqs[i]->resume = true;
    r->vqs[i]->resume_base = base;
    return 0;
}

/* Take back what was used; nothing more may come after the replies. */
static int take_back(bp_run *r, const uint32_t *end)
{
    for (unsigned int i = 0; i < r->nq && !bp_failed(); i++)
        bp_queue_reap_held(&r->q[i]);
    poll(NULL, 0, SETTLE_MS);
    for (unsigned int i = 0; i < r->nq && !bp_failed(); i++) {
        uint16_t n;

        if (bp_ring_used_end(&r->q[i].vq.ring, &n) != end[i] || n) {
            bp_fail("queue %u: the back-end used buffers after its GET_VRING_BASE reply (the used "
                    "side moved from 0x%x to 0x%x)", i, end[i],
                    bp_ring_used_end(&r->q[i].vq.ring, &n));
            return -EPROTO;
        }
    }
    return bp_failed() ? -ECANCELED : 0;
}

static void check_log(bp_run *r)
{
    bp_log_result *res = &r->res.log;
    char first[256];
    uint64_t missing;

    for (unsigned int i = 0; i < r->nq; i++) {
        bp_qlog *ql = &r->q[i].log;

        bp_qlog_stop(ql, &r->logwin, &r->q[i].vq.ring);
        res->reqs.checked += ql->stats.checked;
        res->reqs.across += ql->stats.across;
        res->reqs.exempt += ql->stats.exempt;
    }
    missing = bp_wrote_check(&r->logwin.wrote, &r->log, &res->pages, first, sizeof(first));
    res->checked = true;
    if (missing)
        bp_fail("dirty log: %" PRIu64 " of the %" PRIu64 " pages the back-end wrote while logging "
                "are not marked; the first: %s", missing, res->pages.required, first);
}

static int restart(bp_run *r)
{
    int err = bp_dev_start(&r->dev, &r->want, &r->mem, r->vqs, r->io_on ? &r->io : NULL, true);

    for (unsigned int i = 0; i < r->nq && !err; i++)
        bp_queue_kick(&r->q[i]);
    return err;
}

/* The VM stops, the rings are checked and started again; @running: queue threads run. */
static void stop_and_check(bp_run *r, bp_phase *ph, bool running)
{
    uint32_t end[BP_MAX_QUEUES];
    int err;

    if (running)
        hold_queues(r, ph);
    r->res.log.queues = r->nq;
    for (unsigned int i = 0; i < r->nq; i++)
        r->res.log.stop_inflight[i] = r->q[i].vq.ring.inflight;
    err = bp_dev_disable_rings(&r->dev, &r->want);
    for (unsigned int i = 0; i < r->nq && !err; i++)
        err = stop_ring(r, i, &end[i]);
    err = err ? err : take_back(r, end);
    if (!err)
        check_log(r);
    bp_logwin_set(&r->logwin, BP_LOG_DONE);
    if (!err && !bp_failed())
        restart(r);
    set_gate(r, ph);
    if (running)
        bp_hold_release(&ph->hold);
}

static void do_step(bp_run *r, bp_phase *ph, int step, double elapsed, bool running)
{
    r->log_step = step;
    switch (step) {
    case STEP_ON:
        r->res.log.on_s = elapsed;
        log_on(r);
        set_gate(r, ph);
        break;
    case STEP_OFF:
        r->res.log.off_s = elapsed;
        log_off(r);
        set_gate(r, ph);
        break;
    default:
        r->res.log.stop_s = elapsed;
        stop_and_check(r, ph, running);
        break;
    }
}

void bp_logrun_tick(bp_run *r, bp_phase *ph, double elapsed)
{
    int step;

    if (!bp_logrun_pending(r) || bp_interrupted())
        return;
    step = next_step(r);
    if (step_due(r, ph, step, elapsed))
        do_step(r, ph, step, elapsed, true);
}

void bp_logrun_finish(bp_run *r, bp_phase *ph, double elapsed)
{
    if (bp_logrun_pending(r) && !bp_interrupted() && r->log_step == STEP_NONE) {
        bp_fail("--log: the measured phase ended before logging could start; make it longer "
                "(--runtime, --ios or --size)");
        return;
    }
    while (bp_logrun_pending(r) && !bp_interrupted())
        do_step(r, ph, next_step(r), elapsed, false);
}
