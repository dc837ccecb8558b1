/* SPDX-License-Identifier: MIT */
/*
 * A queue thread: the virtio-blk driver loop (bp_queue.h).
 *
 *   submit while slots are free  → kick if the ring asks
 *   re-arm the used notification → if something is already used, reap it
 *   else sleep on the call eventfd (100 ms at most) → reap after a call
 *
 * Reaping only after a call, or when re-arming finds work, is what a guest
 * driver does: a back-end that uses buffers without signalling leaves
 * requests waiting until the timeout, which then says so.
 *
 * Glossary: q = queue; s = slot; u = a used buffer taken from the ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bp_queue.h"
#include "bp_util.h"

#define TICK_MS 100
#define SCAN_NS (100ull * 1000000ull)

int bp_queue_init(bp_queue *q, unsigned int index, uint16_t depth, const bp_queue_env *env)
{
    memset(q, 0, sizeof(*q));
    q->index = index;
    q->depth = depth;
    q->env = env;
    q->vq.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->vq.call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->vq.kick_fd < 0 || q->vq.call_fd < 0 || q->wake_fd < 0)
        return -errno;
    q->slots = calloc(depth, sizeof(*q->slots));
    q->free_slots = calloc(depth, sizeof(*q->free_slots));
    q->scratch = malloc(env->req.bs_max);
    if (!q->slots || !q->free_slots || !q->scratch)
        return -ENOMEM;
    for (uint16_t i = 0; i < depth; i++) {
        q->slots[i].id = i;
        q->free_slots[i] = (uint16_t)(depth - 1 - i);
    }
    q->nfree = depth;
    bp_rng_seed(&q->rng, env->seed * 0x100000001b3ull + index);
    bp_stats_init(&q->stats);
    return 0;
}

void bp_queue_destroy(bp_queue *q)
{
    bp_ring_destroy(&q->vq.ring);
    if (q->vq.kick_fd >= 0)
        close(q->vq.kick_fd);
    if (q->vq.call_fd >= 0)
        close(q->vq.call_fd);
    if (q->wake_fd >= 0)
        close(q->wake_fd);
    free(q->slots);
    free(q->free_slots);
    free(q->scratch);
    q->slots = NULL;
    q->free_slots = NULL;
    q->scratch = NULL;
}

/* The ring's addresses for SET_VRING_ADDR: an IOVA range with a vIOMMU, else user addresses. */
static int ring_addresses(bp_queue *q, uint8_t *mem, bp_ring_layout l)
{
    uint64_t base = (uintptr_t)mem;
    bp_iomap m;

    if (q->env->io) {
        int err = bp_iommu_map(q->env->io, mem, (uint32_t)l.bytes, VU_ACCESS_RW, &m);

        if (err)
            return err;
        base = m.iova;
    }
    q->vq.desc_addr = base;
    q->vq.drv_addr = base + l.drv_off;
    q->vq.dev_addr = base + l.dev_off;
    return 0;
}

int bp_queue_alloc(bp_queue *q, bp_mem *m, uint16_t num, bool packed, bool event_idx)
{
    bp_ring_layout l = bp_ring_layout_of(packed, num);
    uint64_t gpa;
    uint8_t *mem = bp_mem_alloc(m, 0, l.bytes, BP_PAGE, &gpa);
    int err;

    for (uint16_t i = 0; i < q->depth; i++)
        bp_slot_alloc(&q->slots[i], m, (q->index + i) % BP_MEM_BANKS, &q->env->req);
    if (!m->base)
        return 0;
    if (!mem || !q->slots[q->depth - 1].data)
        return -ENOMEM;
    q->vq.ring_gpa = gpa;
    bp_qlog_init(&q->log, q->index, gpa);
    err = bp_ring_init(&q->vq.ring, packed, num, q->depth, event_idx, mem);
    return err ? err : ring_addresses(q, mem, l);
}

void bp_queue_kick(bp_queue *q)
{
    uint64_t one = 1;

    if (write(q->vq.kick_fd, &one, sizeof(one)) < 0)
        bp_fail("queue %u: cannot write the kick eventfd: %s", q->index, strerror(errno));
}

void bp_queue_wake(bp_queue *q)
{
    uint64_t one = 1;

    if (write(q->wake_fd, &one, sizeof(one)) < 0)
        bp_warn("queue %u: cannot wake its thread", q->index);
}

static const char *op_name(const bp_io *io)
{
    return io->write ? "write" : "read";
}

/* Build and make one request available. Return: 0 or a negative errno (reported). */
static int submit_one(bp_queue *q, const bp_io *io)
{
    bp_slot *s = &q->slots[q->free_slots[--q->nfree]];
    bp_buf bufs[BP_MAX_SEGS + 2];
    bp_table table;
    bp_phase *ph = q->phase;
    int n;

    bp_slot_prepare(s, &q->env->req, &q->rng, io);
    if (io->write && ph->verify)
        bp_slot_fill(s, q->env->seed);
    s->check = !io->write && ph->check == BP_CHECK_INLINE &&
               bp_verify_all_written(ph->verify, io->offset, io->len);
    s->log_before = q->env->logwin && !bp_logwin_started(q->env->logwin);
    n = bp_slot_buffers(s, &q->env->req, q->env->io, bufs, &table);
    if (n < 0) {
        bp_fail("queue %u: no IOVA space left for a %u-byte request (%s)", q->index, io->len,
                strerror(-n));
        return n;
    }
    s->submit_ns = bp_now_ns();
    bp_ring_add(&q->vq.ring, s->id, bufs, (unsigned int)n, q->env->req.indirect ? &table : NULL);
    return 0;
}

/* Submit while slots are free. Return: whether the job may still produce requests. */
static bool submit(bp_queue *q)
{
    unsigned int descs = bp_req_descs(&q->env->req), added = 0;
    bool more = true;
    bp_io io;

    while (q->nfree && bp_ring_has_room(&q->vq.ring, descs) && !bp_failed()) {
        if (bp_job_gated(&q->phase->job))
            break;    /* the main thread moves the gate and wakes us */
        if (!bp_job_next(&q->phase->job, &q->rng, &io)) {
            more = false;
            break;
        }
        if (submit_one(q, &io))
            return false;
        added++;
    }
    if (added && bp_ring_kick_needed(&q->vq.ring))
        bp_queue_kick(q);
    return more;
}

static void verify_failed(const bp_queue *q, const bp_slot *s, const bp_mismatch *mm)
{
    bp_fail("verify: disk offset %" PRIu64 " (0x%" PRIx64 "): expected %s, byte 0x%02x, got 0x%02x "
            "(queue %u, read of %u bytes at offset %" PRIu64 ")", mm->offset, mm->offset, mm->want,
            mm->expected, mm->got, q->index, s->io.len, s->io.offset);
}

static void check_read(bp_queue *q, bp_slot *s)
{
    bp_phase *ph = q->phase;
    bp_mismatch mm;
    bool ok = true;

    if (ph->check == BP_CHECK_NONE || (ph->check == BP_CHECK_INLINE && !s->check))
        return;
    bp_slot_gather(s, q->scratch);
    if (ph->check == BP_CHECK_INLINE)
        ok = bp_verify_pattern(ph->verify, s->io.offset, q->scratch, s->io.len, &mm);
    else
        ok = bp_verify_sectors(ph->verify, s->io.offset, q->scratch, s->io.len, &mm);
    if (!ok)
        verify_failed(q, s, &mm);
}

static void count(bp_queue *q, const bp_slot *s, uint64_t now, bool ok)
{
    bp_stats *st = &q->stats;

    bp_hist_add(&st->lat, now - s->submit_ns);
    if (s->io.write)
        st->writes++;
    else
        st->reads++;
    if (ok) {
        st->bytes += s->io.len;
        st->ok_after_error += q->saw_error;
    } else {
        st->errors++;
        q->saw_error = true;
    }
    __atomic_store_n(&st->done_ios, st->reads + st->writes, __ATOMIC_RELAXED);
    __atomic_store_n(&st->done_bytes, st->bytes, __ATOMIC_RELAXED);
}

static const char *status_name(uint8_t status)
{
    switch (status) {
    case BLK_S_IOERR: return "IOERR";
    case BLK_S_UNSUPP: return "UNSUPP";
    case 0xff: return "the device did not write the status byte";
    default: return "not a virtio-blk status";
    }
}

/* A request that did not complete with OK: an I/O error is allowed with --continue-on-error. */
static void failed_status(bp_queue *q, const bp_slot *s, uint8_t status)
{
    bool ioerr = status == BLK_S_IOERR || status == BLK_S_UNSUPP;

    if (ioerr && q->env->continue_on_error)
        return;
    bp_fail("queue %u: %s of %u bytes at offset %" PRIu64 " failed: status %u (%s)", q->index,
            op_name(&s->io), s->io.len, s->io.offset, status,
            status_name(status));
}

static void complete(bp_queue *q, const bp_used *u)
{
    bp_slot *s = &q->slots[u->slot];
    uint64_t now = bp_now_ns();
    uint32_t writable = (s->io.write ? 0 : s->io.len) + 1;
    uint8_t status = bp_slot_status(s);
    int err = bp_slot_unmap(s, q->env->io);

    if (err)
        bp_fail("queue %u: IOTLB invalidation failed: %s", q->index, strerror(-err));
    if (u->len > writable)
        bp_fail("queue %u: the back-end used %u bytes of a %s at offset %" PRIu64 " that has %u "
                "writable bytes", q->index, u->len, op_name(&s->io), s->io.offset, writable);
    count(q, s, now, status == BLK_S_OK);
    if (s->io.write && q->phase->verify)
        bp_verify_mark(q->phase->verify, s->io.offset, s->io.len, status == BLK_S_OK);
    if (status != BLK_S_OK)
        failed_status(q, s, status);
    else if (!s->io.write)
        check_read(q, s);
    if (q->env->logwin)
        bp_qlog_complete(&q->log, q->env->logwin, &q->vq.ring, s, u, s->log_before);
    s->submit_ns = 0;
    q->free_slots[q->nfree++] = s->id;
}

static void reap(bp_queue *q)
{
    bp_used u;
    int r;

    while (!bp_failed() && (r = bp_ring_get_used(&q->vq.ring, &u)) > 0)
        complete(q, &u);
    if (r == -EPROTO)
        bp_fail("queue %u: the back-end used buffer id %u, which is not in flight", q->index,
                u.raw_id);
    else if (r == -ERANGE)
        bp_fail("queue %u: the used index moved by %u with %u requests in flight", q->index,
                u.raw_id, q->vq.ring.inflight);
}

void bp_queue_reap_held(bp_queue *q)
{
    reap(q);
}

/* Sleep until the call eventfd fires (true), a tick passes or the main
 * thread wakes the thread (false). */
static bool wait_call(bp_queue *q)
{
    struct pollfd pfd[2] = { { q->vq.call_fd, POLLIN, 0 }, { q->wake_fd, POLLIN, 0 } };
    uint64_t v;

    if (poll(pfd, 2, TICK_MS) <= 0)
        return false;
    if (pfd[1].revents && read(q->wake_fd, &v, sizeof(v)) < 0)
        v = 0;    /* drained already: nothing to do */
    if (!pfd[0].revents || read(q->vq.call_fd, &v, sizeof(v)) < 0)
        return false;
    return true;
}

/* The request in flight the longest (in-flight slots have a submit time). */
static const bp_slot *oldest(const bp_queue *q)
{
    const bp_slot *o = NULL;

    for (uint16_t i = 0; i < q->depth; i++) {
        const bp_slot *s = &q->slots[i];

        if (s->submit_ns && (!o || s->submit_ns < o->submit_ns))
            o = s;
    }
    return o;
}

static void check_timeouts(bp_queue *q, uint64_t now)
{
    const bp_slot *s;

    q->last_scan_ns = now;
    if (!q->vq.ring.inflight || !(s = oldest(q)) || now - s->submit_ns < q->env->timeout_ns)
        return;
    bp_fail("queue %u: %s of %u bytes at offset %" PRIu64 " not completed after %" PRIu64
            " ms; %s", q->index, op_name(&s->io), s->io.len, s->io.offset,
            (now - s->submit_ns) / 1000000,
            bp_ring_enable_cb(&q->vq.ring)
                ? "the back-end used requests without signalling the call eventfd"
                : "the back-end has not used it");
}

static bool at_stop_gate(const bp_phase *ph)
{
    return __atomic_load_n(&ph->gate_holds, __ATOMIC_ACQUIRE) && bp_job_gated(&ph->job);
}

/*
 * Once re-armed with nothing used, only a call wakes the driver up: ticks
 * without one check the timeouts but do not look at the ring, so a device
 * that stops signalling is found out instead of being polled around.
 */
static void run(bp_queue *q)
{
    bool armed = false;

    for (;;) {
        bool more;
        uint64_t now;

        if (q->env->logwin)
            bp_qlog_observe(&q->log, q->env->logwin, &q->vq.ring);
        more = submit(q);
        /* Held right after a kick, with everything just made available in
         * flight, as a VM stops after its last kick. */
        if (bp_hold_point(&q->phase->hold, at_stop_gate(q->phase)))
            armed = false;    /* the rings may have restarted: look again */
        if (bp_failed() || (!more && !q->vq.ring.inflight))
            return;
        if (!armed && !bp_ring_enable_cb(&q->vq.ring))
            armed = true;
        if (!armed || wait_call(q)) {
            reap(q);
            armed = false;
        }
        now = bp_now_ns();
        if (now - q->last_scan_ns >= SCAN_NS)
            check_timeouts(q, now);
    }
}

static void *queue_thread(void *arg)
{
    bp_queue *q = arg;
    uint64_t one = 1;

    q->last_scan_ns = bp_now_ns();
    run(q);
    bp_hold_leave(&q->phase->hold);
    __atomic_fetch_sub(&q->phase->running, 1, __ATOMIC_RELEASE);
    if (write(q->phase->done_fd, &one, sizeof(one)) < 0)
        bp_warn("queue %u: cannot signal its end", q->index);
    return NULL;
}

int bp_queue_start(bp_queue *q, bp_phase *phase)
{
    int err;

    q->phase = phase;
    q->saw_error = false;
    bp_stats_init(&q->stats);
    err = pthread_create(&q->thread, NULL, queue_thread, q);
    q->running = !err;
    return -err;
}

void bp_queue_join(bp_queue *q)
{
    if (q->running)
        pthread_join(q->thread, NULL);
    q->running = false;
}
