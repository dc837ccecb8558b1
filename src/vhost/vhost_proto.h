/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user wire format (QEMU docs/interop/vhost-user.rst), as the
 * back-end sees it. All numbers are in host byte order. Every payload
 * struct has a fixed size that vhost_msg.c checks against the header's size
 * field before anything reads it.
 */
#ifndef GUESTMEM_VHOST_PROTO_H
#define GUESTMEM_VHOST_PROTO_H

#include <stdint.h>

enum vhost_user_request {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES = 2,
    VU_SET_OWNER = 3,
    VU_RESET_OWNER = 4,
    VU_SET_MEM_TABLE = 5,
    VU_SET_LOG_BASE = 6,
    VU_SET_LOG_FD = 7,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10,
    VU_GET_VRING_BASE = 11,
    VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13,
    VU_SET_VRING_ERR = 14,
    VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16,
    VU_GET_QUEUE_NUM = 17,
    VU_SET_VRING_ENABLE = 18,
    VU_SEND_RARP = 19,
    VU_NET_SET_MTU = 20,
    VU_SET_BACKEND_REQ_FD = 21,
    VU_IOTLB_MSG = 22,
    VU_SET_VRING_ENDIAN = 23,
    VU_GET_CONFIG = 24,
    VU_SET_CONFIG = 25,
    VU_GET_INFLIGHT_FD = 31,
    VU_SET_INFLIGHT_FD = 32,
    VU_RESET_DEVICE = 34,
    VU_VRING_KICK = 35,
    VU_GET_MAX_MEM_SLOTS = 36,
    VU_ADD_MEM_REG = 37,
    VU_REM_MEM_REG = 38,
    VU_SET_STATUS = 39,
    VU_GET_STATUS = 40,
};

enum vhost_user_backend_request {
    VU_BACKEND_IOTLB_MSG = 1,
    VU_BACKEND_CONFIG_CHANGE_MSG = 2,
};

#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)

#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_LOG_ALL 26
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_IOMMU_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29

#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_LOG_SHMFD 1
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_BACKEND_REQ 5
#define VU_PROTOCOL_F_CONFIG 9
#define VU_PROTOCOL_F_BACKEND_SEND_FD 10
#define VU_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VU_PROTOCOL_F_RESET_DEVICE 13
#define VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VU_PROTOCOL_F_STATUS 16
#define VU_PROTOCOL_F_XEN_MMAP 17

#define VU_MAX_MEM_REGIONS 8u
#define VU_MAX_FDS 8u
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)
#define VU_VRING_F_LOG 0u
#define VU_MAX_CONFIG 256u
#define VU_LOG_PAGE 4096u

#define VU_IOTLB_MISS 1
#define VU_IOTLB_UPDATE 2
#define VU_IOTLB_INVALIDATE 3
#define VU_IOTLB_ACCESS_FAIL 4

#define VU_XEN_MMAP_FOREIGN (1u << 0)
#define VU_XEN_MMAP_GRANT (1u << 1)
/* "Do not map in advance": the spec text says bit 8; rust-vmm and
 * xen-vhost-frontend send 0x8. Both are accepted. */
#define VU_XEN_MMAP_NO_ADVANCE_SPEC (1u << 8)
#define VU_XEN_MMAP_NO_ADVANCE_RUSTVMM 0x8u

typedef struct vu_header {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed)) vu_header;

typedef struct vu_vring_state {
    uint32_t index;
    uint32_t num;
} __attribute__((packed)) vu_vring_state;

typedef struct vu_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
} __attribute__((packed)) vu_vring_addr;

typedef struct vu_mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} __attribute__((packed)) vu_mem_region;

typedef struct vu_xen_mmap {
    uint32_t flags;
    uint32_t domid;
} __attribute__((packed)) vu_xen_mmap;

typedef struct vu_mem_region_xen {
    vu_mem_region region;
    vu_xen_mmap xen;
} __attribute__((packed)) vu_mem_region_xen;

typedef struct vu_mem_table {
    uint32_t nregions;
    uint32_t padding;
    vu_mem_region regions[VU_MAX_MEM_REGIONS];
} __attribute__((packed)) vu_mem_table;

typedef struct vu_mem_table_xen {
    uint32_t nregions;
    uint32_t padding;
    vu_mem_region_xen regions[VU_MAX_MEM_REGIONS];
} __attribute__((packed)) vu_mem_table_xen;

typedef struct vu_single_region {
    uint64_t padding;
    vu_mem_region region;
} __attribute__((packed)) vu_single_region;

typedef struct vu_single_region_xen {
    uint64_t padding;
    vu_mem_region_xen region;
} __attribute__((packed)) vu_single_region_xen;

typedef struct vu_log {
    uint64_t mmap_size;
    uint64_t mmap_offset;
} __attribute__((packed)) vu_log;

/* Linux's struct vhost_iotlb_msg, with its tail padding: 32 bytes. */
typedef struct vu_iotlb {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
    uint8_t type;
    uint8_t padding[6];
} __attribute__((packed)) vu_iotlb;

typedef struct vu_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VU_MAX_CONFIG];
} __attribute__((packed)) vu_config;

#define VU_CONFIG_HEADER 12u

/* QEMU's VhostUserInflight, with its tail padding: 24 bytes. */
typedef struct vu_inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
    uint32_t padding;
} __attribute__((packed)) vu_inflight;

/* The largest payload: a XEN_MMAP memory table. */
typedef union vu_payload {
    uint64_t u64;
    vu_vring_state state;
    vu_vring_addr addr;
    vu_mem_table mem;
    vu_mem_table_xen mem_xen;
    vu_single_region single;
    vu_single_region_xen single_xen;
    vu_log log;
    vu_iotlb iotlb;
    vu_config config;
    vu_inflight inflight;
} vu_payload;

typedef struct vu_msg {
    vu_header hdr;
    vu_payload payload;
    int fds[VU_MAX_FDS];
    unsigned int nfds;
} vu_msg;

_Static_assert(sizeof(vu_vring_addr) == 40, "vhost_vring_addr");
_Static_assert(sizeof(vu_iotlb) == 32, "vhost_iotlb_msg");
_Static_assert(sizeof(vu_inflight) == 24, "VhostUserInflight");
_Static_assert(sizeof(vu_single_region) == 40, "VhostUserMemRegMsg");
_Static_assert(sizeof(vu_mem_table) == 8 + 8 * 32, "VhostUserMemory");

#endif
