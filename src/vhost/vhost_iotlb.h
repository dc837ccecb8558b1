/* SPDX-License-Identifier: MIT */
#ifndef GUESTMEM_VHOST_IOTLB_H
#define GUESTMEM_VHOST_IOTLB_H

#include <pthread.h>

#include <guestmem/guestmem.h>

#include "vhost/vhost_proto.h"

#define VU_IOTLB_MAX_ENTRIES 2048u

typedef struct vu_iotlb_entry {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
} vu_iotlb_entry;

/* Misses asked ahead of use by one vu_iotlb_prefetch() call, at most. */
#define VU_IOTLB_PREFETCH_MAX 512u

typedef struct vu_iotlb_stats {
    uint64_t misses_sent;
    uint64_t misses_prefetched;   /* of misses_sent: asked by vu_iotlb_prefetch() */
    uint64_t misses_unsent;       /* channel full or gone: the miss times out */
    uint64_t lookups;             /* translations asked of the table */
    uint64_t lookup_hits;         /* of which answered without a miss */
    uint64_t updates;
    uint64_t invalidations;       /* entries removed */
    uint64_t invalidation_msgs;   /* invalidation messages */
    uint64_t timeouts;
} vu_iotlb_stats;

/* A thread waiting for the entry of one page (on its stack, in t->waiters). */
typedef struct vu_iotlb_waiter {
    struct vu_iotlb_waiter *next;
    pthread_cond_t cond;
    uint64_t iova;
    unsigned int perm;
} vu_iotlb_waiter;

/* A miss sent and not answered yet (vhost_iotlb.c, "misses in flight"). */
typedef struct vu_iotlb_pending {
    uint64_t page;
    uint64_t sent_ms;             /* CLOCK_MONOTONIC */
    uint8_t perm;
} vu_iotlb_pending;

/* Misses in flight remembered at most (the prefetch of one chain asks up
 * to VU_IOTLB_PREFETCH_MAX; several queues may be asking at once). */
#define VU_IOTLB_PENDING_MAX 2048u

typedef struct vu_iotlb_table {
    pthread_mutex_t lock;
    pthread_cond_t senders_done;  /* senders dropped to 0 */
    vu_iotlb_waiter *waiters;     /* woken by an update covering their page */
    vu_iotlb_pending pending[VU_IOTLB_PENDING_MAX];   /* misses in flight */
    unsigned int npending;
    vu_iotlb_entry entries[VU_IOTLB_MAX_ENTRIES];   /* sorted by iova, disjoint */
    unsigned int nr;
    int backend_fd;               /* back-end channel, -1 if none */
    unsigned int senders;         /* threads sending on backend_fd without the lock */
    bool channel_broken;          /* a miss was sent in part: send no more */
    bool closing;                 /* connection going away: stop waiting */
    unsigned int miss_timeout_ms;
    gm_as *target;                /* the front-end's user addresses */
    gm_region *iommu;             /* IOMMU region translating through us */
    vu_iotlb_stats stats;
} vu_iotlb_table;

int vu_iotlb_init(vu_iotlb_table *t, gm_system *sys, gm_as *target);
void vu_iotlb_destroy(vu_iotlb_table *t);
/* Handle a front-end IOTLB_MSG; returns 0 or -EINVAL. */
int vu_iotlb_message(vu_iotlb_table *t, const vu_iotlb *msg);
/* Set or clear (-1) the back-end channel; returns once no thread is still
 * sending on the previous one, so the caller may close it. */
void vu_iotlb_set_backend_fd(vu_iotlb_table *t, int fd);
/* Drop every entry and wake waiters; later misses fail at once until a new
 * back-end channel is set (disconnect). */
void vu_iotlb_close(vu_iotlb_table *t);
/* Drop every entry (device reset); misses work on. */
void vu_iotlb_clear(vu_iotlb_table *t);
/* A queue thread starts a request (or a ring update): from now on its
 * misses wait at most one miss timeout in total. */
void vu_iotlb_request_start(const vu_iotlb_table *t);
/* Ask at once for every page of @ranges (IOVA, length, access needed:
 * GM_IOMMU_RO/WO) that the table cannot translate, then wait, within the
 * current request's bound, until all are answered. Pipelines the round
 * trips of a descriptor chain's buffers; accesses afterwards hit. Returns
 * the number of misses sent. Context: a queue thread, no lock held. */
typedef struct vu_iotlb_range {
    uint64_t iova;
    uint64_t len;
    unsigned int perm;
} vu_iotlb_range;
unsigned int vu_iotlb_prefetch(vu_iotlb_table *t, const vu_iotlb_range *ranges, unsigned int n);
/* Make the calling thread a queue's: while *@stopping (an atomic int) is
 * set, its misses fail at once and its waits end. Other queues' threads
 * go on waiting. */
void vu_iotlb_bind_thread(const int *stopping);
/* Wake every waiter to look at its queue's stopping flag again (a queue is
 * being stopped). */
void vu_iotlb_wake_all(vu_iotlb_table *t);
/* The front-end user address of @iova and how many bytes from it one entry
 * maps, asking the front-end on a miss (as an access would). Returns 0 or
 * -EFAULT (no translation in time). Context: a queue thread, no lock held. */
int vu_iotlb_translate(vu_iotlb_table *t, uint64_t iova, unsigned int perm, uint64_t *uaddr,
                       uint64_t *len);

#endif
