/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device as seen by the vhost-user transport: each queue
 * thread's requests through its I/O engine.
 *
 * A kick takes every available request, starts it (blk_request.c) and
 * submits its disk operation; completions come back through the engine's
 * fd, in the order the disk finished them, and are pushed as they come,
 * with one notification per batch (event index respected by
 * gm_vhost_queue_notify()). With the sync engine everything completes
 * within the kick. When the ring stops, every request still in flight is
 * waited for and pushed: nothing completes into a ring the front-end has
 * taken back, and the in-flight record stays exact.
 *
 * State: one blk_queue per queue thread, created by queue_start and freed
 * by queue_stop on that thread; requests come from the queue's free list.
 * Glossary: q the transport's queue, bq the device's, r a request.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "blk_request.h"

#define REAP_BATCH 64u

struct blk_queue {
    blk_device *b;
    blk_engine *engine;
    const blk_engine_ops *ops;
    unsigned int inflight;        /* submitted to the engine, not yet pushed */
    blk_req *free;
    gm_virtq_elem elem;           /* pop's scratch element */
    gm_virtq_seg segs[BLK_MAX_SEGS];
};

static blk_queue *queue_of(blk_device *b, gm_vhost_queue *q)
{
    unsigned int i = gm_vhost_queue_index(q);

    return i < BLK_MAX_QUEUES ? b->queues[i] : NULL;
}

static blk_req *req_get(blk_queue *bq)
{
    blk_req *r = bq->free;

    if (r) {
        bq->free = r->next;
        return r;
    }
    return malloc(sizeof(*r));
}

static void req_put(blk_queue *bq, blk_req *r)
{
    r->next = bq->free;
    bq->free = r;
}

/* Push a request whose disk operation ended (or that needed none). */
static void complete(blk_queue *bq, gm_vhost_queue *q, blk_req *r)
{
    uint32_t used = blk_request_finish(r);

    gm_vhost_queue_push(q, &r->elem, used);
    blk_request_release(r);
    req_put(bq, r);
}

/* Push everything the engine finished (reaping clears its fd, so nothing
 * may be left behind); with @wait, block for at least one. */
static unsigned int reap(blk_queue *bq, gm_vhost_queue *q, bool wait)
{
    blk_io *done[REAP_BATCH];
    unsigned int n, total = 0;

    do {
        n = bq->ops->reap(bq->engine, done, REAP_BATCH, wait && !total);
        for (unsigned int i = 0; i < n; i++)
            complete(bq, q, done[i]->opaque);
        bq->inflight -= n;
        total += n;
    } while (n == REAP_BATCH);
    return total;
}

/* Start @r and hand its operation to the engine (or complete it now). */
static void submit(blk_queue *bq, gm_vhost_queue *q, blk_req *r)
{
    int err;

    if (!blk_request_start(r)) {
        complete(bq, q, r);
        return;
    }
    while ((err = bq->ops->submit(bq->engine, &r->io)) == -EAGAIN) {
        bq->ops->kick(bq->engine);
        reap(bq, q, true);   /* the engine is full: make room */
    }
    if (err) {
        r->io.result = err;
        complete(bq, q, r);
        return;
    }
    bq->inflight++;
}

/* Take one popped element into a request of its own and submit it. */
static void take(blk_queue *bq, gm_vhost_queue *q)
{
    blk_device *b = bq->b;
    unsigned int qi = gm_vhost_queue_index(q);
    blk_req *r = req_get(bq);

    /* Told to stop meanwhile: the front-end answers no more misses, so a
     * request not started yet is left for whoever resumes the ring. */
    if (gm_vhost_queue_stopping(q)) {
        gm_vhost_queue_unpop(q, &bq->elem);
        if (r)
            req_put(bq, r);
        return;
    }
    if (qi < BLK_MAX_QUEUES)
        __atomic_add_fetch(&b->queue_requests[qi], 1, __ATOMIC_RELAXED);
    if (!r || blk_request_init(r, b, gm_vhost_queue_virtq(q), &bq->elem)) {
        /* Out of memory: the request still completes, with no status. */
        gm_vhost_queue_push(q, &bq->elem, 0);
        if (r)
            req_put(bq, r);
        return;
    }
    submit(bq, q, r);
}

/* Pop and submit everything available; 0, or what pop returned. */
static int take_all(blk_queue *bq, gm_vhost_queue *q)
{
    int ret;

    while ((ret = gm_vhost_queue_pop(q, &bq->elem)) == 1)
        take(bq, q);
    bq->ops->kick(bq->engine);
    reap(bq, q, false);   /* the sync engine: everything; others: what is done */
    return ret;
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --poll-us: look at the ring and the engine for a while before sleeping. */
static void poll_for_work(blk_queue *bq, gm_vhost_queue *q)
{
    gm_virtq *vq = gm_vhost_queue_virtq(q);
    uint64_t deadline = now_us() + bq->b->poll_us;

    while (now_us() < deadline && !gm_vhost_queue_stopping(q)) {
        bool found = false;

        if (gm_virtq_has_work(vq) > 0) {
            take_all(bq, q);
            found = true;
        }
        if (bq->inflight && reap(bq, q, false))
            found = true;
        if (found) {
            gm_vhost_queue_notify(q);
            deadline = now_us() + bq->b->poll_us;
        }
    }
}

static void blk_device_handle(void *opaque, gm_vhost_queue *q)
{
    blk_queue *bq = queue_of(opaque, q);
    gm_virtq *vq = gm_vhost_queue_virtq(q);
    int ret;

    if (!bq)
        return;
    do {
        ret = take_all(bq, q);
        gm_vhost_queue_notify(q);
        /* With event index, re-check after publishing avail_event. A queue
         * being stopped pops nothing although the ring has work: leave. */
    } while (ret == 0 && !gm_vhost_queue_stopping(q) && gm_virtq_enable_notification(vq) > 0);
    if (bq->b->poll_us)
        poll_for_work(bq, q);
}

static int blk_queue_start(void *opaque, gm_vhost_queue *q)
{
    blk_device *b = opaque;
    unsigned int qi = gm_vhost_queue_index(q);
    blk_queue *bq;

    if (qi >= BLK_MAX_QUEUES || !(bq = calloc(1, sizeof(*bq))))
        return -1;
    bq->b = b;
    bq->ops = b->engine ? b->engine : &blk_engine_sync;
    bq->elem = (gm_virtq_elem){ .seg = bq->segs, .seg_max = BLK_MAX_SEGS };
    if (bq->ops->open(&bq->engine, &b->disk, gm_virtq_size(gm_vhost_queue_virtq(q)))) {
        bq->ops = &blk_engine_sync;   /* fails only without memory */
        if (bq->ops->open(&bq->engine, &b->disk, 1)) {
            free(bq);
            return -1;
        }
    }
    b->queues[qi] = bq;
    return bq->ops->fd(bq->engine);
}

static void blk_queue_event(void *opaque, gm_vhost_queue *q)
{
    blk_queue *bq = queue_of(opaque, q);

    if (bq && reap(bq, q, false))
        gm_vhost_queue_notify(q);
    if (bq && bq->b->poll_us)
        poll_for_work(bq, q);
}

/* The ring stops: every request in flight finishes and is pushed first. */
static void blk_queue_stop(void *opaque, gm_vhost_queue *q)
{
    blk_device *b = opaque;
    blk_queue *bq = queue_of(b, q);

    if (!bq)
        return;
    while (bq->inflight)
        reap(bq, q, true);
    gm_vhost_queue_notify(q);
    bq->ops->close(bq->engine);
    while (bq->free) {
        blk_req *r = bq->free;

        bq->free = r->next;
        free(r);
    }
    b->queues[gm_vhost_queue_index(q)] = NULL;
    free(bq);
}

static const gm_vhost_device_ops blk_ops = {
    .get_config = blk_device_get_config,
    .handle = blk_device_handle,
    .queue_start = blk_queue_start,
    .queue_event = blk_queue_event,
    .queue_stop = blk_queue_stop,
};

const gm_vhost_device_ops *blk_device_ops(void)
{
    return &blk_ops;
}
