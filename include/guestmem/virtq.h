/* SPDX-License-Identifier: MIT */
/**
 * DOC: split virtqueues (virtio 1.x, section 2.7) over an address space
 *
 * A gm_virtq is the device side of one split virtqueue whose descriptor
 * table, available ring and used ring live in an address space: plain RAM,
 * an IOMMU region (addresses are then IOVAs) or a map-on-demand region (Xen
 * grants). Device backends pop descriptor chains, reach the buffers through
 * gm_virtq_iov_map() (zero copy) or gm_virtq_elem_read/write() (copying),
 * push them to the used ring and ask whether the driver wants an interrupt.
 *
 * Everything read from the rings is treated as hostile. A malformed chain,
 * an available index that jumps more than the queue size, or a ring that
 * cannot be accessed breaks the queue: the call that found it returns the
 * negative errno listed in its contract, the error is reported once through
 * the queue's log hook (gm_virtq_set_log()), and every later pop, push and
 * notification call returns -EIO until the queue is freed and re-created
 * (a device reset). gm_virtq_error() tells which error broke it.
 *
 * Rings are accessed through gm_cache, which is NOT refreshed when topology
 * or IOTLB translations change: call gm_virtq_refresh() then. A ring whose
 * cache covers only part of it (a ring spanning IOMMU pages or grant pages)
 * is still fully usable: the uncovered part goes through gm_as_read/write.
 *
 * Byte order: VIRTIO_F_VERSION_1 rings, and legacy rings of little-endian
 * guests, are little endian. Legacy big-endian rings are not supported.
 *
 * Context: a gm_virtq is used by one thread at a time (normally the thread
 * that serves the queue); different queues need no coordination. Every call
 * may run concurrently with topology changes and with the driver (the guest)
 * updating the rings.
 */
#ifndef GUESTMEM_VIRTQ_H
#define GUESTMEM_VIRTQ_H

#include <sys/uio.h>
#include <guestmem/types.h>
#include <guestmem/system.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Feature bits as masks of the 64-bit feature word. Prefixed so that they
 * do not clash with <linux/virtio_*.h>, which defines bit numbers.
 */
/** GM_VIRTIO_F_INDIRECT_DESC - VIRTIO_F_INDIRECT_DESC (bit 28): indirect tables. */
#define GM_VIRTIO_F_INDIRECT_DESC (1ull << 28)
/** GM_VIRTIO_F_EVENT_IDX - VIRTIO_F_EVENT_IDX (bit 29): used_event/avail_event. */
#define GM_VIRTIO_F_EVENT_IDX (1ull << 29)
/** GM_VIRTIO_F_VERSION_1 - VIRTIO_F_VERSION_1 (bit 32): little-endian rings. */
#define GM_VIRTIO_F_VERSION_1 (1ull << 32)
/**
 * GM_VIRTIO_F_RING_PACKED - VIRTIO_F_RING_PACKED (bit 34): the packed layout.
 * gm_virtq_config's @desc_addr is then the descriptor ring (16 bytes per
 * entry, 16-aligned), @avail_addr the driver event suppression area and
 * @used_addr the device's (4 bytes each, 4-aligned); any size from 1 to
 * GM_VIRTQ_MAX_SIZE. Element heads are buffer ids.
 */
#define GM_VIRTIO_F_RING_PACKED (1ull << 34)

/** GM_VIRTQ_MAX_SIZE - largest queue size (virtio 1.x). */
#define GM_VIRTQ_MAX_SIZE 32768u
/** GM_VIRTQ_MAX_INDIRECT - most descriptors an indirect table may hold. */
#define GM_VIRTQ_MAX_INDIRECT 32768u
/** GM_VIRTQ_DEFAULT_MAX_CHAIN_BYTES - default bound on one chain's total length. */
#define GM_VIRTQ_DEFAULT_MAX_CHAIN_BYTES (1u << 30)
/** GM_VIRTQ_IOV_MAX - most iovecs one gm_virtq_iov may hold (Linux IOV_MAX). */
#define GM_VIRTQ_IOV_MAX 1024u
/** GM_VIRTQ_COPY_CHUNK - largest copy buffer gm_virtq_iov_map() allocates per iovec. */
#define GM_VIRTQ_COPY_CHUNK (64u << 10)

typedef struct gm_virtq gm_virtq;

/**
 * struct gm_virtq_config - where a queue lives and what was negotiated.
 * @size: queue size: a power of two, 1 to GM_VIRTQ_MAX_SIZE
 * @desc_addr: descriptor table (16-byte aligned)
 * @avail_addr: available ring (2-byte aligned)
 * @used_addr: used ring (4-byte aligned)
 * @features: negotiated features (GM_VIRTIO_F_*; other bits are ignored)
 * @max_chain_bytes: bound on the total length of one chain, readable plus
 *                   writable; 0 means GM_VIRTQ_DEFAULT_MAX_CHAIN_BYTES
 */
typedef struct gm_virtq_config {
    unsigned int size;
    gm_addr desc_addr;
    gm_addr avail_addr;
    gm_addr used_addr;
    uint64_t features;
    uint32_t max_chain_bytes;
} gm_virtq_config;

/**
 * struct gm_virtq_seg - one buffer of a chain.
 * @addr: guest address (an IOVA behind an IOMMU); @addr + @len does not wrap
 * @len: bytes (may be 0)
 */
typedef struct gm_virtq_seg {
    gm_addr addr;
    uint32_t len;
} gm_virtq_seg;

/**
 * struct gm_virtq_elem - one popped descriptor chain.
 * @seg: caller's array of @seg_max segments, filled by gm_virtq_pop():
 *       seg[0, out_num) are driver-written (the device reads them),
 *       seg[out_num, out_num + in_num) are device-writable
 * @seg_max: capacity of @seg, set by the caller
 * @head: descriptor index that heads the chain (the id to push)
 * @out_num: readable segments
 * @in_num: writable segments
 * @out_len: total bytes of the readable segments
 * @in_len: total bytes of the writable segments
 */
typedef struct gm_virtq_elem {
    gm_virtq_seg *seg;
    unsigned int seg_max;
    uint16_t head;
    unsigned int out_num;
    unsigned int in_num;
    uint32_t out_len;
    uint32_t in_len;
} gm_virtq_elem;

/**
 * gm_virtq_new() - create the device side of a split virtqueue.
 * @as: the address space the rings and buffers live in (not referenced: it
 *      must outlive the queue)
 * @cfg: layout and features (copied)
 * @pvq: where to store the queue
 *
 * The queue starts with last_avail_idx 0 and notifications enabled; its used
 * index is read from the used ring (a driver zeroes it; after a reconnect it
 * holds what the previous backend published). Use gm_virtq_set_last_avail_idx()
 * to resume from a saved position.
 *
 * Return: 0, -EINVAL (NULL argument, size not a power of two in
 * [1, GM_VIRTQ_MAX_SIZE], misaligned ring, ring wrapping 2^64), -ENOMEM, or
 * -EFAULT (the used ring cannot be read).
 * Context: any thread.
 */
GM_EXPORT int gm_virtq_new(gm_as *as, const gm_virtq_config *cfg, gm_virtq **pvq);

/**
 * gm_virtq_free() - destroy a queue and release its ring caches.
 * @vq: the queue, or NULL
 *
 * Elements popped and not pushed are simply forgotten; their iovecs must
 * have been unmapped with gm_virtq_iov_unmap().
 * Context: the queue's thread.
 */
GM_EXPORT void gm_virtq_free(gm_virtq *vq);

/**
 * gm_virtq_set_log() - route the queue's messages to @fn.
 * @vq: the queue
 * @fn: the sink (called with GM_LOG_GUEST_ERROR for guest errors), or NULL
 *      for the default: stderr
 * @opaque: passed to @fn
 *
 * The core's system log is internal to the library; a queue reports through
 * its own hook instead, at most once per break plus at most 10 lines per
 * second for errors that do not break it (gm_virtq_iov_map() faults).
 * Context: the queue's thread. @fn is called on the queue's thread.
 */
GM_EXPORT void gm_virtq_set_log(gm_virtq *vq, gm_log_fn fn, void *opaque);

/**
 * gm_virtq_refresh() - re-create the ring caches.
 * @vq: the queue
 *
 * Call after a topology change (gm_system_generation() moved) or an IOTLB
 * invalidation that covers the rings; the old caches keep using what was
 * mapped when they were made.
 * Return: 0, or -EFAULT when the start of a ring is not reachable now. The
 * queue stays usable either way: accesses fall back to gm_as_read/write and
 * fail (breaking the queue) only if the ring is still unreachable then.
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_refresh(gm_virtq *vq);

/** gm_virtq_size() - the queue size. */
GM_EXPORT unsigned int gm_virtq_size(const gm_virtq *vq);

/**
 * gm_virtq_get_last_avail_idx() - next available-ring index to pop.
 * @vq: the queue
 * Return: the index (packed: position | wrap counter << 15).
 */
GM_EXPORT uint16_t gm_virtq_get_last_avail_idx(const gm_virtq *vq);

/**
 * gm_virtq_set_last_avail_idx() - resume popping at @idx.
 * @vq: the queue
 * @idx: the saved position (vhost-user SET_VRING_BASE); every value is valid
 *
 * Forgets the cached available index and the event-index notification state
 * (the next gm_virtq_should_notify() returns true).
 * Context: the queue's thread.
 */
GM_EXPORT void gm_virtq_set_last_avail_idx(gm_virtq *vq, uint16_t idx);

/**
 * gm_virtq_get_base() - the queue position in vhost-user's encoding.
 * @vq: the queue
 * Return: split: last_avail_idx. Packed: bits 0-14 the next available
 * position, bit 15 its wrap counter, bits 16-30 and 31 the same for the
 * used position (what QEMU's GET_VRING_BASE expects).
 */
GM_EXPORT uint32_t gm_virtq_get_base(const gm_virtq *vq);

/**
 * gm_virtq_set_base() - resume at a saved position (vhost-user SET_VRING_BASE).
 * @vq: the queue
 * @base: split: the low 16 bits are last_avail_idx. Packed: bits 0-14 the
 *        position (out of range: 0), bit 15 the wrap counter; the used
 *        position follows (nothing is in flight after a restart).
 * As gm_virtq_set_last_avail_idx() otherwise.
 * Context: the queue's thread.
 */
GM_EXPORT void gm_virtq_set_base(gm_virtq *vq, uint32_t base);

/**
 * gm_virtq_get_used_idx() - the device's used index (next used slot).
 * @vq: the queue
 * Return: the index; last_avail_idx minus it is the number in flight
 * (packed: position | wrap counter << 15).
 */
GM_EXPORT uint16_t gm_virtq_get_used_idx(const gm_virtq *vq);

/**
 * struct gm_virtq_range - a range of the queue's address space.
 * @addr: first address
 * @len: bytes
 */
typedef struct gm_virtq_range {
    gm_addr addr;
    uint64_t len;
} gm_virtq_range;

/* Ranges gm_virtq_device_areas() fills at most. */
#define GM_VIRTQ_DEVICE_AREAS 2u

/**
 * gm_virtq_device_areas() - where the device writes the rings.
 * @vq: the queue
 * @area: filled with the ranges
 *
 * Split: the used ring (flags, index, entries and, with event index,
 * avail_event). Packed: the device event suppression area and the
 * descriptor ring (used descriptors are written back there). Every ring
 * write of pop, push and the notification calls falls inside; a device
 * that must log what it wrote (a vhost-user dirty log) logs these.
 * Return: the number of ranges filled (1 or 2).
 * Context: any thread that owns the queue.
 */
GM_EXPORT unsigned int gm_virtq_device_areas(const gm_virtq *vq,
                                             gm_virtq_range area[GM_VIRTQ_DEVICE_AREAS]);

/**
 * gm_virtq_is_broken() - did the queue stop because of a guest error?
 * @vq: the queue
 * Return: true once any call broke it.
 */
GM_EXPORT bool gm_virtq_is_broken(const gm_virtq *vq);

/**
 * gm_virtq_error() - the error that broke the queue.
 * @vq: the queue
 * Return: 0 while it works, else the negative errno first returned.
 */
GM_EXPORT int gm_virtq_error(const gm_virtq *vq);

/**
 * gm_virtq_has_work() - has the driver made chains available?
 * @vq: the queue
 *
 * Reads avail->idx with acquire semantics.
 * Return: 1 if gm_virtq_pop() has a chain to return, 0 if not, or -EIO
 * (broken), and breaking the queue: -EFAULT (available ring unreadable),
 * -EPROTO (avail->idx more than the queue size ahead of last_avail_idx).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_has_work(gm_virtq *vq);

/**
 * gm_virtq_pop() - take the next available chain.
 * @vq: the queue
 * @elem: filled in; the caller sets @elem->seg and @elem->seg_max first
 *
 * Every descriptor is validated before the chain is returned: indices and
 * next fields below the queue (or indirect table) size, chains no longer
 * than the queue size (or table), no INDIRECT together with NEXT, no
 * INDIRECT without the feature or inside an indirect table, indirect tables
 * of 1 to GM_VIRTQ_MAX_INDIRECT whole descriptors, no readable descriptor
 * after a writable one, no buffer wrapping 2^64, total length within
 * max_chain_bytes. The INDIRECT descriptor's WRITE flag is ignored (spec).
 *
 * Return: 1 and the chain in @elem; 0 when the ring is empty; -EINVAL when
 * @elem has no segment array (queue not broken); -EIO when already broken;
 * or, breaking the queue: -EFAULT (ring, descriptor or indirect table
 * unreadable), -EPROTO (avail->idx jumped), -EINVAL (bad index, bad flags,
 * bad indirect table, readable after writable), -ELOOP (chain longer than
 * the queue or table: a loop), -EOVERFLOW (buffer wraps 2^64, total length
 * above max_chain_bytes), -ENOBUFS (more segments than @elem->seg_max);
 * -EAGAIN without breaking it when the gm_virtq_set_transient() hook
 * calls a read fault passing.
 * On error last_avail_idx does not move and @elem is undefined.
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_pop(gm_virtq *vq, gm_virtq_elem *elem);

/**
 * struct gm_virtq_desc - a packed-ring descriptor as the driver wrote it.
 * @addr: buffer address
 * @len: buffer length
 * @id: buffer id (the chain's last descriptor carries it)
 * @flags: NEXT, WRITE, INDIRECT (the AVAIL/USED bits are kept as read)
 */
typedef struct gm_virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
} gm_virtq_desc;

/**
 * gm_virtq_packed_last_chain() - the ring descriptors the last successful
 * gm_virtq_pop() of a packed queue took.
 * @vq: the queue
 * @out: receives up to @max of them, in ring order
 * @max: capacity of @out
 *
 * For in-flight tracking: the device overwrites ring descriptors with used
 * ones in completion order, so a chain still in flight when the device
 * dies may be gone from the ring; a copy lets a restarted device resubmit
 * it (gm_virtq_packed_resubmit()).
 * Return: the chain's length (more than @max: not all copied); 0 for a
 * split queue or before any pop.
 * Context: the queue's thread.
 */
GM_EXPORT unsigned int gm_virtq_packed_last_chain(const gm_virtq *vq, gm_virtq_desc *out,
                                                  unsigned int max);

/**
 * gm_virtq_packed_resubmit() - take again a chain an earlier device popped
 * and did not complete, from copies of its ring descriptors.
 * @vq: a packed queue (after gm_virtq_packed_resume())
 * @chain: the descriptors, as gm_virtq_packed_last_chain() gave them
 * @n: how many (1 to the queue size)
 * @elem: filled in as by gm_virtq_pop()
 *
 * The copies come from shared memory another party could write: they must
 * form one chain (NEXT on all but the last, or a lone INDIRECT), the buffer
 * id (the last descriptor's) must be below the queue size and not in
 * flight, and what they point to is validated exactly as a pop validates
 * ring descriptors (an INDIRECT table is read from guest memory). On success
 * the id is in flight with @n descriptors: pushing it advances the used
 * position by @n.
 * Return: 1; -EINVAL (not packed, bad @n, copies that are not one chain,
 * id out of range or in flight, no segment array: the queue is not
 * broken); -EIO when broken; or, breaking the queue, the chain errors of
 * gm_virtq_pop().
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_packed_resubmit(gm_virtq *vq, const gm_virtq_desc *chain, unsigned int n,
                                       gm_virtq_elem *elem);

/**
 * gm_virtq_packed_resume() - set a packed queue's positions, with requests
 * still in flight between them.
 * @vq: a packed queue
 * @avail: next available position | wrap counter << 15
 * @used: next used position | wrap counter << 15
 *
 * Unlike gm_virtq_set_base() (nothing in flight: used follows avail), the
 * used position may trail the available one; nothing is in flight until
 * gm_virtq_packed_resubmit() takes the chains.
 * Return: 0, or -EINVAL (not packed, a position not below the size).
 * Context: the queue's thread, before it pops.
 */
GM_EXPORT int gm_virtq_packed_resume(gm_virtq *vq, uint32_t avail, uint32_t used);

/**
 * gm_virtq_packed_used_id() - whether the descriptor at a used position
 * holds a used buffer of that lap.
 * @vq: a packed queue
 * @pos: position | wrap counter << 15
 * @id: receives the buffer id written there
 * Return: 1 (used in that lap, *@id set), 0 (not), -EINVAL (not packed,
 * position out of range) or -EFAULT (the ring is unreadable).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_packed_used_id(gm_virtq *vq, uint32_t pos, uint16_t *id);

/**
 * gm_virtq_set_transient() - let @fn decide whether memory that cannot be
 * read while a chain is popped is a passing condition.
 * @vq: the queue
 * @fn: asked when a descriptor or indirect table cannot be read; true
 *      means "not the driver's fault, try again later", or NULL (the
 *      default: every fault breaks the queue)
 * @opaque: passed to @fn
 *
 * For a device whose translations can be withheld for a while (a
 * vhost-user IOTLB while the front-end waits for GET_VRING_BASE and
 * answers no miss): gm_virtq_pop(), gm_virtq_read_chain() and
 * gm_virtq_packed_resubmit() then return -EAGAIN, nothing is popped and the queue is not broken.
 * Context: the queue's thread.
 */
GM_EXPORT void gm_virtq_set_transient(gm_virtq *vq, bool (*fn)(void *opaque), void *opaque);

/**
 * gm_virtq_unpop() - give back the element gm_virtq_pop() or
 * gm_virtq_packed_resubmit() returned last.
 * @vq: the queue
 * @elem: that element, not pushed (documented misuse: any other element)
 *
 * A popped chain is available again: the next pop returns it, and
 * gm_virtq_get_base() no longer counts it as taken (a device being stopped
 * that cannot start a request leaves it to whoever resumes the queue, as
 * Linux vhost discards a descriptor on an IOTLB miss). A resubmitted one
 * is only no longer in flight: its id may be resubmitted again.
 * Context: the queue's thread.
 */
GM_EXPORT void gm_virtq_unpop(gm_virtq *vq, const gm_virtq_elem *elem);

/**
 * gm_virtq_read_chain() - read the chain at descriptor @head again.
 * @vq: the queue (split layout)
 * @head: a head the device took earlier and has not completed
 * @elem: filled in as by gm_virtq_pop(); the caller sets @elem->seg and
 *        @elem->seg_max first
 *
 * For resubmitting requests another device instance had in flight when it
 * died (vhost-user in-flight tracking): the chain is validated exactly as
 * gm_virtq_pop() does; the available ring and last_avail_idx are not
 * touched. @head comes from shared memory the driver's side can write: it
 * is checked against the queue size.
 * Return: 1 and the chain in @elem; -EINVAL (@head not below the queue
 * size, no segment array, or a packed queue; the queue is not broken);
 * -EIO when already broken; or, breaking the queue, the chain errors of
 * gm_virtq_pop().
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_read_chain(gm_virtq *vq, uint16_t head, gm_virtq_elem *elem);

/**
 * gm_virtq_push() - return chain @head to the driver.
 * @vq: the queue
 * @head: the chain's head index
 * @len: bytes the device wrote into the chain's writable buffers
 *
 * Writes the used element, then publishes used->idx with release semantics
 * (the driver sees the element, and the data written before this call,
 * once it sees the new index).
 * Return: 0; -EINVAL (@head >= size, or nothing in flight: used_idx equals
 * last_avail_idx; queue not broken); -EIO (broken); -EFAULT (used ring not
 * writable; breaks the queue).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_push(gm_virtq *vq, uint16_t head, uint32_t len);

/**
 * gm_virtq_push_elem() - gm_virtq_push() for a popped element.
 * @vq: the queue
 * @elem: the element gm_virtq_pop() returned
 * @len: bytes written, at most @elem->in_len
 * Return: as gm_virtq_push(); also -EINVAL when @len > @elem->in_len.
 */
GM_EXPORT int gm_virtq_push_elem(gm_virtq *vq, const gm_virtq_elem *elem, uint32_t len);

/**
 * gm_virtq_should_notify() - does the driver want an interrupt now?
 * @vq: the queue
 *
 * Call after pushing. Without GM_VIRTIO_F_EVENT_IDX: unless
 * VIRTQ_AVAIL_F_NO_INTERRUPT is set. With it: when the used index crossed
 * used_event since the previous call (vring_need_event(), modulo 2^16); the
 * first call after creation or gm_virtq_set_last_avail_idx() says yes.
 * A full barrier orders the used-ring stores before the read of the flags.
 * Return: true to notify; true also when the flags cannot be read (a
 * spurious interrupt is harmless); false on a broken queue.
 * Context: the queue's thread.
 */
GM_EXPORT bool gm_virtq_should_notify(gm_virtq *vq);

/**
 * gm_virtq_enable_notification() - ask the driver to kick on new chains.
 * @vq: the queue
 *
 * Clears VIRTQ_USED_F_NO_NOTIFY, or with GM_VIRTIO_F_EVENT_IDX sets
 * avail_event to the current avail->idx, then issues a full barrier and
 * re-checks the ring, so a chain added meanwhile is not missed.
 * Return: as gm_virtq_has_work() (1: work arrived, process it before
 * sleeping), plus -EFAULT (used ring not writable; breaks the queue).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_enable_notification(gm_virtq *vq);

/**
 * gm_virtq_disable_notification() - ask the driver not to kick.
 * @vq: the queue
 *
 * Without GM_VIRTIO_F_EVENT_IDX sets VIRTQ_USED_F_NO_NOTIFY. With it,
 * writes nothing (the spec keeps used->flags 0): avail_event stays behind
 * avail->idx, which suppresses kicks until re-enabled. A hint either way:
 * the driver may still kick.
 * Return: 0, -EIO (broken), -EFAULT (used ring not writable; breaks the queue).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_disable_notification(gm_virtq *vq);

/**
 * gm_virtq_elem_read() - copy from an element's readable buffers.
 * @vq: the queue
 * @elem: a popped element
 * @offset: byte offset into the concatenated readable buffers
 * @buf: destination
 * @len: bytes wanted
 * Return: bytes copied (less than @len only past the end of the buffers), or
 * -EFAULT (a buffer could not be read; the queue is not broken).
 * Context: the queue's thread (failures are reported through its log).
 */
GM_EXPORT int64_t gm_virtq_elem_read(gm_virtq *vq, const gm_virtq_elem *elem, uint64_t offset,
                                     void *buf, uint64_t len);

/**
 * gm_virtq_elem_write() - copy into an element's writable buffers.
 * @vq: the queue
 * @elem: a popped element
 * @offset: byte offset into the concatenated writable buffers
 * @buf: source
 * @len: bytes
 * Return: bytes copied (less than @len only past the end of the buffers), or
 * -EFAULT (a buffer could not be written; the queue is not broken).
 * Context: as gm_virtq_elem_read().
 */
GM_EXPORT int64_t gm_virtq_elem_write(gm_virtq *vq, const gm_virtq_elem *elem, uint64_t offset,
                                      const void *buf, uint64_t len);

/**
 * struct gm_virtq_iov - host iovecs of one element, for preadv/pwritev.
 * @iov: caller's array of @max entries, filled by gm_virtq_iov_map():
 *       iov[0, out_cnt) cover the readable buffers,
 *       iov[out_cnt, out_cnt + in_cnt) the writable ones, in chain order
 * @max: capacity of @iov, 1 to GM_VIRTQ_IOV_MAX, set by the caller
 * @out_cnt: iovecs of readable buffers
 * @in_cnt: iovecs of writable buffers
 * @copied_: private: which iovecs are copies rather than mappings
 */
typedef struct gm_virtq_iov {
    struct iovec *iov;
    unsigned int max;
    unsigned int out_cnt;
    unsigned int in_cnt;
    uint64_t copied_[GM_VIRTQ_IOV_MAX / 64];
} gm_virtq_iov;

/**
 * gm_virtq_iov_map() - map an element's buffers into host iovecs.
 * @vq: the queue
 * @elem: a popped element
 * @v: @v->iov and @v->max set by the caller; the rest is filled in
 *
 * Each buffer is mapped with gm_as_map(), which may map less than asked
 * (the end of a region, an IOMMU page, a grant page), so one buffer may take
 * several iovecs. A piece gm_as_map() refuses (bounce budget exhausted, a
 * provider that only copies) is copied instead, into a buffer of at most
 * GM_VIRTQ_COPY_CHUNK bytes per iovec: filled with gm_as_read() now for a
 * readable buffer, written back with gm_as_write() at unmap for a writable
 * one. Zero-length buffers take no iovec.
 *
 * Return: 0; -EINVAL (@v->max is 0 or above GM_VIRTQ_IOV_MAX, @v->iov NULL);
 * -E2BIG (the buffers need more than @v->max iovecs); -EFAULT (a buffer is
 * neither mappable nor readable); -ENOMEM. On error nothing stays mapped.
 * Lifetime: the iovecs are valid until gm_virtq_iov_unmap().
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_iov_map(gm_virtq *vq, const gm_virtq_elem *elem, gm_virtq_iov *v);

/**
 * gm_virtq_iov_unmap() - release what gm_virtq_iov_map() mapped.
 * @vq: the queue
 * @elem: the element @v was mapped from (unchanged since)
 * @v: the iovecs
 * @written: bytes the device wrote into the writable iovecs, from their
 *           start (e.g. what preadv returned); clamped to their total
 *
 * Writable mappings are unmapped with the part of @written that fell into
 * them as access_len (marked dirty, written back); copies are written back
 * the same way. @v is left empty.
 * Return: 0, or -EFAULT when a copy could not be written back (everything is
 * released anyway).
 * Context: the queue's thread.
 */
GM_EXPORT int gm_virtq_iov_unmap(gm_virtq *vq, const gm_virtq_elem *elem, gm_virtq_iov *v,
                                 uint64_t written);

#ifdef __cplusplus
}
#endif

#endif
