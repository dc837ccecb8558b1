/* SPDX-License-Identifier: MIT */
/**
 * DOC: vhost-user back-ends on guestmem
 *
 * gm_vhost_dev implements the back-end side of the vhost-user protocol
 * (QEMU docs/interop/vhost-user.rst) for one virtio device: feature and
 * protocol negotiation, the memory table (SET_MEM_TABLE or ADD/REM_MEM_REG,
 * including XEN_MMAP foreign and grant regions), vrings with one thread per
 * queue, the device IOTLB for VIRTIO_F_IOMMU_PLATFORM (misses sent on the
 * back-end channel), the dirty log (SET_LOG_BASE), in-flight tracking
 * (GET/SET_INFLIGHT_FD) for reconnection, config space and REPLY_ACK.
 *
 * Guest memory is a guestmem address space: buffers are reached with
 * gm_as_map/unmap (zero copy) or gm_as_read/write, whatever the memory is —
 * plain shared memory, IOVAs behind the IOTLB, or Xen grants.
 *
 * Everything the front-end sends is validated; a malformed message closes
 * the connection (gm_vhost_dev_run() returns), never the process.
 */
#ifndef GUESTMEM_VHOST_H
#define GUESTMEM_VHOST_H

#include <guestmem/virtq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gm_vhost_dev gm_vhost_dev;
typedef struct gm_vhost_queue gm_vhost_queue;

/**
 * enum gm_vhost_grants - how XEN_MMAP grant regions are served.
 * @GM_VHOST_GRANTS_NONE: refuse them
 * @GM_VHOST_GRANTS_EMULATED: the region's fd is an emulated grant table
 *      (gnttab.h); the guest RAM is the last foreign-mapping region
 * @GM_VHOST_GRANTS_XEN: libxengnttab
 */
enum gm_vhost_grants {
    GM_VHOST_GRANTS_NONE,
    GM_VHOST_GRANTS_EMULATED,
    GM_VHOST_GRANTS_XEN,
};

/**
 * struct gm_vhost_device_ops - the virtio device behind the protocol.
 * @features: device feature bits offered (device-specific bits and
 *            ring features such as event index); the transport adds
 *            VERSION_1, PROTOCOL_FEATURES and, if configured, IOMMU_PLATFORM
 * @get_config: fill @len bytes of config space from @offset; return 0 or -errno
 * @handle: called on the queue's own thread when the queue was kicked (or
 *          has in-flight requests to resubmit); pop, process, push. A
 *          synchronous device pushes before it returns; an asynchronous one
 *          submits and pushes from @queue_event
 * @reset: optional; the device was reset (connection closed or RESET_DEVICE)
 * @queue_start: optional; the ring of @q is set up and its thread starts
 *          serving it (before the first @handle). Return an fd the thread
 *          polls besides the kick fd (an asynchronous engine's completion
 *          eventfd: readable calls @queue_event), or -1
 * @queue_event: optional (required with an fd from @queue_start); the fd
 *          is readable: complete (push, notify) what finished
 * @queue_stop: optional; the ring is stopping (GET_VRING_BASE, a new kick
 *          fd, RESET_DEVICE, the end of the connection), after the last
 *          @handle and @queue_event: every request taken from @q must be
 *          pushed (or its failure pushed) before this returns, and nothing
 *          of the device may touch the ring or its buffers afterwards
 * All queue callbacks run on the queue's own thread, one at a time.
 */
typedef struct gm_vhost_device_ops {
    uint64_t features;
    int (*get_config)(void *opaque, uint8_t *config, uint32_t offset, uint32_t len);
    void (*handle)(void *opaque, gm_vhost_queue *q);
    void (*reset)(void *opaque);
    int (*queue_start)(void *opaque, gm_vhost_queue *q);
    void (*queue_event)(void *opaque, gm_vhost_queue *q);
    void (*queue_stop)(void *opaque, gm_vhost_queue *q);
} gm_vhost_device_ops;

/**
 * struct gm_vhost_config - transport parameters.
 * @num_queues: queues offered (1 .. 64)
 * @config_size: bytes of device config space (<= 256)
 * @offer_iommu: offer VIRTIO_F_IOMMU_PLATFORM (needs the back-end channel)
 * @grants: XEN_MMAP grant regions
 * @iotlb_miss_timeout_ms: how long a queue waits for an IOTLB update (0: 2000)
 * @require_sealed: refuse guest memory fds that are not sealed against
 *                  shrinking (F_SEAL_SHRINK), instead of accepting them with
 *                  a logged warning. A front-end that truncates an unsealed
 *                  file it sent makes the back-end's next access to it raise
 *                  SIGBUS: set this where front-ends are not trusted with
 *                  the process (QEMU's memory-backend-memfd is sealed by
 *                  default; files on hugetlbfs or /dev/shm cannot be). The
 *                  dirty log and in-flight fds must always be sealed.
 */
typedef struct gm_vhost_config {
    unsigned int num_queues;
    uint32_t config_size;
    bool offer_iommu;
    enum gm_vhost_grants grants;
    unsigned int iotlb_miss_timeout_ms;
    bool require_sealed;
} gm_vhost_config;

/**
 * struct gm_vhost_stats - counters since the device was created.
 * @messages: front-end messages handled
 * @requests: elements popped (including resubmitted ones)
 * @resubmitted: in-flight elements resubmitted after a reconnect
 * @iotlb_misses: IOTLB misses sent to the front-end
 * @iotlb_updates: IOTLB updates received
 * @iotlb_invalidations: IOTLB entries invalidated
 * @iotlb_timeouts: misses that got no update in time
 * @notifications: call eventfd signals sent
 * @iotlb_prefetched: of @iotlb_misses, those gm_vhost_queue_prefetch() sent
 *                    ahead of use
 * @iotlb_unsent: misses that could not be sent (channel full or gone)
 * @iotlb_invalidation_msgs: invalidation messages received
 * @iotlb_lookups: translations the IOTLB table was asked for (the core's
 *                 IOTLB cache missed)
 * @iotlb_lookup_hits: of @iotlb_lookups, those answered without a miss
 * @iotlb_cache_hits: translations served by the core's IOTLB cache
 * @iotlb_cache_flushes: entries the core's IOTLB cache dropped
 * @map_hits: grant mapping cache lookups served by a cached mapping
 * @map_misses: grant mapping cache lookups that had to map
 * @map_unmaps: grant mappings unmapped
 * @map_bytes: bytes currently mapped by the grant mapping cache
 * @log_pages: dirty-log bits set while the front-end logged (VHOST_F_LOG_ALL),
 *             a page written twice counting twice
 */
typedef struct gm_vhost_stats {
    uint64_t messages;
    uint64_t requests;
    uint64_t resubmitted;
    uint64_t iotlb_misses;
    uint64_t iotlb_updates;
    uint64_t iotlb_invalidations;
    uint64_t iotlb_timeouts;
    uint64_t notifications;
    uint64_t iotlb_prefetched;
    uint64_t iotlb_unsent;
    uint64_t iotlb_invalidation_msgs;
    uint64_t iotlb_lookups;
    uint64_t iotlb_lookup_hits;
    uint64_t iotlb_cache_hits;
    uint64_t iotlb_cache_flushes;
    uint64_t map_hits;
    uint64_t map_misses;
    uint64_t map_unmaps;
    uint64_t map_bytes;
    uint64_t log_pages;
} gm_vhost_stats;

/**
 * gm_vhost_dev_new() - create a device.
 * @cfg: transport parameters (copied)
 * @ops: the device (must outlive it)
 * @opaque: passed to @ops
 * Return: the device, or NULL with errno EINVAL or ENOMEM.
 */
GM_EXPORT gm_vhost_dev *gm_vhost_dev_new(const gm_vhost_config *cfg,
                                         const gm_vhost_device_ops *ops, void *opaque);

/**
 * gm_vhost_dev_free() - free a device that is not running.
 * @dev: the device, or NULL
 */
GM_EXPORT void gm_vhost_dev_free(gm_vhost_dev *dev);

/**
 * gm_vhost_dev_run() - serve one front-end connection until it ends.
 * @dev: the device
 * @conn: a connected socket (owned by the call; closed on return)
 *
 * Runs the message loop on the calling thread; queue threads are started
 * and stopped as the front-end asks. On return nothing of the connection is
 * left in the process: queues stopped, their fds closed, the memory table,
 * grant tables, IOTLB entries, dirty log and in-flight area unmapped and
 * their fds closed, features forgotten. In-flight state survives in the
 * shared in-flight memory, which the front-end keeps and hands to the next
 * connection (SET_INFLIGHT_FD).
 * Return: 0 when the front-end closed the connection, or the negative errno
 * of the protocol error that made the device close it.
 */
GM_EXPORT int gm_vhost_dev_run(gm_vhost_dev *dev, int conn);

/**
 * gm_vhost_listen() - create a listening Unix socket.
 * @path: socket path (an existing socket file there is replaced)
 * Return: the listening fd, or a negative errno (as gm_vhost_listen_as()).
 */
GM_EXPORT int gm_vhost_listen(const char *path);

/**
 * struct gm_vhost_socket_opts - who may connect to a listening socket.
 * @mode: permission bits of the socket file (connecting needs write
 *        permission), or 0 for what the process's umask gives
 * @gid: group of the socket file, or -1 to keep the process's
 */
typedef struct gm_vhost_socket_opts {
    unsigned int mode;
    long gid;
} gm_vhost_socket_opts;

/**
 * gm_vhost_listen_as() - create a listening Unix socket with its owner and
 * permissions already set.
 * @path: socket path; an existing socket file there is replaced, anything
 *        else is left alone (-EEXIST)
 * @opts: mode and group, or NULL for gm_vhost_listen()'s defaults
 *
 * The socket is bound at a temporary name beside @path, given its mode and
 * group, and renamed over @path: a front-end never finds the path with
 * other permissions (a QEMU running as another user, with reconnect on,
 * would otherwise fail and retry until a chown came).
 * Return: the listening fd, or a negative errno: -ENAMETOOLONG, -EEXIST,
 * -EPERM (the group cannot be set), or what socket, bind, chmod, rename or
 * listen returned.
 * Context: any thread.
 */
GM_EXPORT int gm_vhost_listen_as(const char *path, const gm_vhost_socket_opts *opts);

/** gm_vhost_dev_get_stats() - read the counters. */
GM_EXPORT void gm_vhost_dev_get_stats(gm_vhost_dev *dev, gm_vhost_stats *stats);

/** gm_vhost_dev_system() - the guestmem system holding the guest memory. */
GM_EXPORT gm_system *gm_vhost_dev_system(gm_vhost_dev *dev);

/**
 * gm_vhost_queue_pop() - next request: first what an earlier back-end left
 * in flight (in-flight tracking, oldest first), then the available ring.
 * @q: the queue (queue thread only)
 * @elem: filled in; behind a vIOMMU the translations of all its buffers
 *        are asked for at once before it is returned
 *        (gm_vhost_queue_prefetch()), so the device's accesses hit
 * Return: 1 with an element, 0 when empty or while the queue is being
 * stopped (a chain that cannot be read because the queue is being stopped
 * is left available), or a negative errno when the queue is broken (it
 * then stays stopped until the front-end restarts it).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_vhost_queue_pop(gm_vhost_queue *q, gm_virtq_elem *elem);

/**
 * gm_vhost_queue_unpop() - give back the request gm_vhost_queue_pop()
 * returned last, before starting it.
 * @q: the queue
 * @elem: that element (documented misuse: any other)
 *
 * For a device told to stop (gm_vhost_queue_stopping()) right after it
 * took a request: behind a vIOMMU the request's buffers may not be
 * translatable until the front-end has the ring back, so the request is
 * left available (and no longer in flight) for whoever resumes the ring,
 * and GET_VRING_BASE does not count it as taken.
 * Context: the queue's thread.
 */
GM_EXPORT void gm_vhost_queue_unpop(gm_vhost_queue *q, const gm_virtq_elem *elem);

/**
 * gm_vhost_queue_push() - complete a request and record it done in-flight-wise.
 * @q: the queue
 * @elem: the popped element (requests may complete in any order)
 * @written: bytes written into its device-writable buffers
 *
 * With VHOST_F_LOG_ALL, logs the pages of @elem's writable buffers and of
 * the ring's device area. Works while the queue is stopping (a device
 * draining its requests in @queue_stop).
 * Return: 0 or a negative errno.
 * Context: the queue's thread.
 */
GM_EXPORT int gm_vhost_queue_push(gm_vhost_queue *q, const gm_virtq_elem *elem,
                                  uint32_t written);

/**
 * gm_vhost_queue_notify() - signal the guest if the ring asks for it.
 * @q: the queue
 */
GM_EXPORT void gm_vhost_queue_notify(gm_vhost_queue *q);

/**
 * gm_vhost_queue_prefetch() - ask for the translations of a chain's buffers
 * all at once.
 * @q: the queue (queue thread only)
 * @elem: an element just popped
 *
 * With VIRTIO_F_IOMMU_PLATFORM, sends one IOTLB miss for every page of
 * @elem's buffers that the IOTLB cannot translate with the access the
 * descriptor allows (read for driver-written, write for device-writable
 * buffers), all before waiting, then waits for the answers: one round trip
 * to the front-end for the whole chain instead of one per page, and the
 * accesses that follow hit. The wait is bounded by the request's miss
 * timeout and ends early when the queue is being stopped or an
 * invalidation arrives; whatever is still missing is then asked for by
 * the access that needs it. At most 512 pages are asked for per call.
 * Without an IOMMU, does nothing.
 * gm_vhost_queue_pop() calls it for every element it returns; a device
 * calls it itself only for an element it rewrote.
 * Return: the number of misses sent.
 * Context: the queue's thread, between gm_vhost_queue_pop() and the
 * accesses to @elem's buffers.
 */
GM_EXPORT unsigned int gm_vhost_queue_prefetch(gm_vhost_queue *q, const gm_virtq_elem *elem);

/**
 * gm_vhost_queue_stopping() - whether the front-end is stopping the queue.
 * @q: the queue
 *
 * gm_vhost_queue_pop() returns 0 while the queue is being stopped (as if
 * empty), although the ring may still hold chains: a device that loops
 * while the ring has work must also stop when this says so.
 * Return: true from the moment GET_VRING_BASE (or a reset) asks the queue
 * to stop until it restarts.
 * Context: any thread.
 */
GM_EXPORT bool gm_vhost_queue_stopping(const gm_vhost_queue *q);

/** gm_vhost_queue_as() - the address space the queue's buffers live in. */
GM_EXPORT gm_as *gm_vhost_queue_as(gm_vhost_queue *q);

/** gm_vhost_queue_index() - the queue's index. */
GM_EXPORT unsigned int gm_vhost_queue_index(const gm_vhost_queue *q);

/** gm_vhost_queue_virtq() - the ring itself. */
GM_EXPORT gm_virtq *gm_vhost_queue_virtq(gm_vhost_queue *q);

#ifdef __cplusplus
}
#endif

#endif
