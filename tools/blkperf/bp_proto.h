/* SPDX-License-Identifier: MIT */
/*
 * Wire formats guestmem-blkperf speaks: vhost-user messages (QEMU
 * docs/interop/vhost-user.rst), virtio rings (virtio 1.1, 2.6 split and
 * 2.7 packed) and virtio-blk requests and config (virtio 1.1, 5.2).
 *
 * Written from the specifications, not from the project's back-end headers
 * (src/vhost, src/virtio): blkperf is the second, independent reading of
 * the specs, so that a layout mistake made on one side cannot hide itself
 * by being mirrored on the other.
 *
 * Everything is little-endian and the host is assumed to be little-endian
 * too (x86-64, aarch64): vhost-user uses native byte order, virtio 1.x
 * little-endian, and blkperf runs on the same host as the back-end.
 */
#ifndef GUESTMEM_BLKPERF_PROTO_H
#define GUESTMEM_BLKPERF_PROTO_H

#include <stdint.h>

/* ---- vhost-user message header ------------------------------------- */

#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_MAX_FDS 8u
#define VU_MAX_REGIONS 8u
/* Largest payload blkperf accepts from a peer (a memory table is 264). */
#define VU_MAX_PAYLOAD 4096u

typedef struct vu_header {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed)) vu_header;

/* front-end requests */
enum vu_request {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES = 2,
    VU_SET_OWNER = 3,
    VU_SET_MEM_TABLE = 5,
    VU_SET_LOG_BASE = 6,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10,
    VU_GET_VRING_BASE = 11,
    VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13,
    VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16,
    VU_GET_QUEUE_NUM = 17,
    VU_SET_VRING_ENABLE = 18,
    VU_SET_BACKEND_REQ_FD = 21,
    VU_IOTLB_MSG = 22,
    VU_GET_CONFIG = 24,
    VU_GET_INFLIGHT_FD = 31,
    VU_SET_INFLIGHT_FD = 32,
};

/* back-end requests (on the back-end channel) */
enum vu_backend_request {
    VU_BACKEND_IOTLB_MSG = 1,
};

/* protocol feature bits */
#define VU_PF_MQ 0
#define VU_PF_LOG_SHMFD 1
#define VU_PF_REPLY_ACK 3
#define VU_PF_BACKEND_REQ 5
#define VU_PF_CONFIG 9
#define VU_PF_INFLIGHT_SHMFD 12

/* SET_VRING_KICK/CALL payload: bit 8 says "no fd" */
#define VU_VRING_NOFD (1ull << 8)

/* SET_VRING_ADDR flags: log the used ring's writes (at vu_addr.log) */
#define VU_VRING_F_LOG 0

/*
 * The dirty log (vhost-user.rst, "Migration"): one bit per VU_LOG_PAGE of
 * guest-physical memory, page p in byte p / 8 at bit p % 8, from guest
 * address 0 to the end of the highest region. QEMU keeps it as an array
 * of 64-bit words (vhost_log_chunk_t), the same bits on a little-endian
 * host, and sizes it in whole words.
 */
#define VU_LOG_PAGE 4096ull

/* SET_LOG_BASE payload (VhostUserLog); the fd is the log's memfd */
typedef struct vu_log {
    uint64_t mmap_size;
    uint64_t mmap_offset;
} __attribute__((packed)) vu_log;

typedef struct vu_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} __attribute__((packed)) vu_region;

typedef struct vu_mem_table {
    uint32_t nregions;
    uint32_t padding;
    vu_region regions[VU_MAX_REGIONS];
} __attribute__((packed)) vu_mem_table;

typedef struct vu_state {
    uint32_t index;
    uint32_t num;
} __attribute__((packed)) vu_state;

/* Note the field order of the spec: descriptor, used, available, log. */
typedef struct vu_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
} __attribute__((packed)) vu_addr;

/* struct vhost_iotlb_msg, padded to 8 bytes as QEMU sends it */
typedef struct vu_iotlb {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
    uint8_t type;
    uint8_t padding[6];
} __attribute__((packed)) vu_iotlb;

#define VU_ACCESS_RO 1u
#define VU_ACCESS_WO 2u
#define VU_ACCESS_RW 3u
#define VU_IOTLB_MISS 1u
#define VU_IOTLB_UPDATE 2u
#define VU_IOTLB_INVALIDATE 3u

typedef struct vu_config_hdr {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
} __attribute__((packed)) vu_config_hdr;

/* VhostUserInflight: QEMU's struct is not packed, so it is 24 bytes. */
typedef struct vu_inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
    uint8_t padding[4];
} __attribute__((packed)) vu_inflight;

_Static_assert(sizeof(vu_header) == 12, "vhost-user header");
_Static_assert(sizeof(vu_region) == 32, "memory region");
_Static_assert(sizeof(vu_mem_table) == 8 + 8 * 32, "memory table");
_Static_assert(sizeof(vu_addr) == 40, "vring address");
_Static_assert(sizeof(vu_iotlb) == 32, "IOTLB message");
_Static_assert(sizeof(vu_inflight) == 24, "inflight description");
_Static_assert(sizeof(vu_log) == 16, "dirty log description");

/* ---- virtio feature bits -------------------------------------------- */

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_MQ 12
#define VHOST_F_LOG_ALL 26
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_IOMMU_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34

#define BIT64(n) (1ull << (n))

/*
 * Ring and request structures are naturally aligned (no packing): they are
 * accessed with atomics in shared memory, and their sizes are asserted.
 */

/* ---- virtio-blk ------------------------------------------------------ */

#define BLK_SECTOR 512u
/* The config fields blkperf reads: up to num_queues (offset 34, 2 bytes). */
#define BLK_CONFIG_LEN 60u
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SIZE_MAX 8
#define BLK_CFG_SEG_MAX 12
#define BLK_CFG_BLK_SIZE 20
#define BLK_CFG_NUM_QUEUES 34

#define BLK_T_IN 0u
#define BLK_T_OUT 1u
#define BLK_S_OK 0u
#define BLK_S_IOERR 1u
#define BLK_S_UNSUPP 2u

typedef struct blk_req_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
} blk_req_hdr;

/* ---- split virtqueue ------------------------------------------------- */

#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_DESC_F_INDIRECT 4u
#define VRING_USED_F_NO_NOTIFY 1u

typedef struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} vring_desc;

/* avail: flags, idx, ring[num], used_event; used: flags, idx, elem[num], avail_event */
typedef struct vring_used_elem {
    uint32_t id;
    uint32_t len;
} vring_used_elem;

/* ---- packed virtqueue ------------------------------------------------ */

#define VRING_PACKED_F_AVAIL (1u << 7)
#define VRING_PACKED_F_USED (1u << 15)
#define VRING_EVENT_F_ENABLE 0u
#define VRING_EVENT_F_DISABLE 1u
#define VRING_EVENT_F_DESC 2u

typedef struct vring_packed_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;
    uint16_t flags;
} vring_packed_desc;

typedef struct vring_event {
    uint16_t off_wrap;
    uint16_t flags;
} vring_event;

_Static_assert(sizeof(vring_desc) == 16, "split descriptor");
_Static_assert(sizeof(vring_packed_desc) == 16, "packed descriptor");
_Static_assert(sizeof(blk_req_hdr) == 16, "virtio-blk header");

#endif
