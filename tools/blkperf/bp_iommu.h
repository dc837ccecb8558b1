/* SPDX-License-Identifier: MIT */
/*
 * guestmem-blkperf playing QEMU's vIOMMU (intel-iommu with a device IOTLB)
 * and a Linux guest's DMA API on top of it.
 *
 * - The guest's DMA mappings: every buffer of a request (header, each data
 *   segment, status byte, indirect table) gets an IOVA range of its own
 *   when the request is built, as dma_map_single/dma_map_sg give it; the
 *   rings get one permanent range, as dma_alloc_coherent does. IOVAs are
 *   handed out top-down below the interrupt window (0xfee00000) in
 *   power-of-two sized, size-aligned ranges, and a freed range is the first
 *   to be handed out again (Linux's per-size caches): the same IOVA then
 *   points at another buffer, which is what catches a back-end that keeps
 *   a stale translation. Device-readable buffers are mapped read-only,
 *   device-writable ones write-only, rings read-write.
 * - The IOMMU's page table: one entry per 4 KiB IOVA page, with the user
 *   address (in this process, where guest RAM is mapped) and permission.
 * - QEMU's part: each IOTLB miss the back-end sends on its channel is
 *   answered with an update for exactly the one 4 KiB page asked for, sent
 *   with NEED_REPLY and acknowledged before the miss is acknowledged. A
 *   miss for a page that is not mapped, or without the permission asked
 *   for, is answered with nothing (QEMU reports a DMA fault to the guest):
 *   it is counted as a fault and reported, but does not fail the run.
 * - Unmapping: strict mode clears the page-table entries, sends one
 *   invalidation per mapping (acknowledged) and only then frees the IOVAs;
 *   lazy mode clears the entries at once but keeps the IOVAs out of use
 *   until, every @lazy_batch completed requests, it flushes everything
 *   with the two invalidations QEMU sends for a guest's domain-wide flush
 *   (0..0xfee00000 and 0xfef00000..2^64).
 *
 * Locking: @lock guards the page table, the allocator, the flush queue and
 * the counters. A miss is answered under the connection's lock, which is
 * taken before @lock: the page-table lookup and the update it produces are
 * then one step with respect to any invalidation (which also goes through
 * the connection), so an update for an IOVA can never reach the back-end
 * after the invalidation that retired it. Unmapping never holds both.
 */
#ifndef GUESTMEM_BLKPERF_IOMMU_H
#define GUESTMEM_BLKPERF_IOMMU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bp_conn.h"

enum bp_iommu_mode { BP_IOMMU_OFF, BP_IOMMU_STRICT, BP_IOMMU_LAZY };

#define BP_IOVA_CLASSES 24u

/** struct bp_iomap - one DMA mapping. */
typedef struct bp_iomap {
    uint64_t iova;       /* device address of the mapped byte */
    uint64_t base;       /* first IOVA of the range */
    uint32_t pages;      /* range size in pages (a power of two) */
    uint32_t mapped;     /* pages with page-table entries */
} bp_iomap;

typedef struct bp_iova_stack {
    uint64_t *v;
    uint32_t len;
    uint32_t cap;
} bp_iova_stack;

/** struct bp_iommu_stats - what the IOMMU saw. */
typedef struct bp_iommu_stats {
    uint64_t misses;
    uint64_t updates;
    uint64_t invalidations;     /* messages */
    uint64_t flushes;           /* lazy flushes */
    uint64_t faults;
    uint64_t first_fault_iova;
} bp_iommu_stats;

typedef struct bp_iommu {
    pthread_mutex_t lock;
    bp_conn *conn;
    enum bp_iommu_mode mode;
    unsigned int lazy_batch;
    bool reconnect;
    uint64_t win_base;
    uint64_t win_top;
    uint64_t *pte;
    uint64_t bump;
    bp_iova_stack free_ranges[BP_IOVA_CLASSES];
    bp_iomap *fq;
    uint32_t fq_len;
    uint32_t fq_cap;
    unsigned int completions;
    bp_iommu_stats stats;
    /* the back-end channel and its thread */
    int chan;
    int pending_chan;    /* atomic: a new channel for the thread, or -1 */
    int wake_fd;
    int stop;            /* atomic */
    pthread_t thread;
    bool running;
} bp_iommu;

/**
 * bp_iommu_init() - an IOMMU with an IOVA window of @window bytes.
 * @io: the IOMMU
 * @conn: the front-end socket (updates and invalidations go there)
 * @mode: strict or lazy
 * @lazy_batch: completed requests between lazy flushes
 * @reconnect: invalidations that find the connection down are dropped
 *             (the next back-end starts with an empty IOTLB) instead of
 *             failing the run
 * @window: bytes of IOVA space (see bp_iommu_window())
 *
 * Return: 0, -ENOMEM, or -E2BIG when @window cannot be placed.
 */
int bp_iommu_init(bp_iommu *io, bp_conn *conn, enum bp_iommu_mode mode, unsigned int lazy_batch,
                  bool reconnect, uint64_t window);

/**
 * bp_iommu_window() - IOVA space needed for @requests requests in flight
 * (or waiting for a lazy flush), each with up to @maps mappings and
 * @data_bytes of data, plus @fixed bytes of rings.
 */
uint64_t bp_iommu_window(uint64_t requests, unsigned int maps, uint64_t data_bytes, uint64_t fixed);

/** bp_iommu_destroy() - free everything (the thread must be stopped). */
void bp_iommu_destroy(bp_iommu *io);

/**
 * bp_iommu_map() - give @len bytes at @hva an IOVA range.
 * @perm: VU_ACCESS_RO, _WO or _RW: what the device may do
 * @m: the mapping; @m->iova is the device address of @hva
 *
 * Return: 0, or -ENOSPC when the IOVA window is full.
 * Context: any thread.
 */
int bp_iommu_map(bp_iommu *io, const void *hva, uint32_t len, uint8_t perm, bp_iomap *m);

/**
 * bp_iommu_unmap() - retire the @n mappings of one completed request.
 *
 * Strict: invalidate each and free it. Lazy: queue them; the caller that
 * completes the lazy_batch-th request since the last flush flushes.
 *
 * Return: 0, or the negative errno of a failed invalidation (not with
 * @reconnect when the connection is down).
 * Context: any thread; sleeps for the back-end's acknowledgements.
 */
int bp_iommu_unmap(bp_iommu *io, bp_iomap *maps, unsigned int n);

/**
 * bp_iommu_flush() - invalidate and free everything the lazy queue holds.
 * Return: as bp_iommu_unmap().
 */
int bp_iommu_flush(bp_iommu *io);

/**
 * bp_iommu_prefill() - send the update for the page at @iova unasked, as
 * QEMU does for each used ring when a device starts.
 * Return: 0, -EFAULT when not mapped, or a connection error.
 */
int bp_iommu_prefill(bp_iommu *io, uint64_t iova);

/**
 * bp_iommu_start() - serve the back-end channel @chan (taken over) in a thread.
 * Return: 0 or the negative errno of eventfd()/pthread_create().
 */
int bp_iommu_start(bp_iommu *io, int chan);

/** bp_iommu_set_channel() - a new connection's back-end channel (taken over). */
void bp_iommu_set_channel(bp_iommu *io, int chan);

/** bp_iommu_stop() - stop the thread and close the channel. */
void bp_iommu_stop(bp_iommu *io);

/** bp_iommu_get_stats() - a copy of the counters. */
void bp_iommu_get_stats(bp_iommu *io, bp_iommu_stats *st);

#endif
