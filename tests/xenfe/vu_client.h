/* SPDX-License-Identifier: MIT */
/*
 * A minimal vhost-user front-end, written from the spec
 * (QEMU docs/interop/vhost-user.rst) rather than from the back-end's own
 * headers, so that a layout mistake on one side is not mirrored on the
 * other. Every wait for the back-end has a timeout: a back-end that stops
 * answering fails the test instead of hanging it.
 */
#ifndef GUESTMEM_TESTS_VU_CLIENT_H
#define GUESTMEM_TESTS_VU_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

enum {
    VUC_GET_FEATURES = 1,
    VUC_SET_FEATURES = 2,
    VUC_SET_OWNER = 3,
    VUC_SET_MEM_TABLE = 5,
    VUC_SET_VRING_NUM = 8,
    VUC_SET_VRING_ADDR = 9,
    VUC_SET_VRING_BASE = 10,
    VUC_GET_VRING_BASE = 11,
    VUC_SET_VRING_KICK = 12,
    VUC_SET_VRING_CALL = 13,
    VUC_GET_PROTOCOL_FEATURES = 15,
    VUC_SET_PROTOCOL_FEATURES = 16,
    VUC_GET_QUEUE_NUM = 17,
    VUC_SET_VRING_ENABLE = 18,
    VUC_GET_CONFIG = 24,
};

#define VUC_F_VERSION_1 32
#define VUC_F_IOMMU_PLATFORM 33
#define VUC_F_PROTOCOL_FEATURES 30

#define VUC_PF_MQ 0
#define VUC_PF_REPLY_ACK 3
#define VUC_PF_CONFIG 9
#define VUC_PF_XEN_MMAP 17

/* xen mmap flags of a memory region (XEN_MMAP) */
#define VUC_XEN_FOREIGN (1u << 0)
#define VUC_XEN_GRANT (1u << 1)
#define VUC_XEN_NO_ADVANCE_SPEC (1u << 8)   /* as the spec text says */
#define VUC_XEN_NO_ADVANCE_RUSTVMM 0x8u     /* as rust-vmm and xen-vhost-frontend send */

typedef struct vuc_region_xen {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
    uint32_t xen_flags;
    uint32_t domid;
} __attribute__((packed)) vuc_region_xen;

typedef struct vuc_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
} __attribute__((packed)) vuc_vring_addr;

typedef struct vuc_state {
    uint32_t index;
    uint32_t num;
} __attribute__((packed)) vuc_state;

_Static_assert(sizeof(vuc_region_xen) == 40, "XEN_MMAP memory region");
_Static_assert(sizeof(vuc_vring_addr) == 40, "vhost_vring_addr");

typedef struct vuc {
    int sock;
    int timeout_ms;
    uint64_t protocol_features;   /* as negotiated */
} vuc;

/* Send a request; @need_reply sets NEED_REPLY (use vuc_call to wait for it). */
int vuc_send(vuc *c, uint32_t req, bool need_reply, const void *payload, uint32_t size,
             const int *fds, unsigned int nfds);
/* Receive the reply to @req into @payload (exactly @size bytes expected). */
int vuc_recv(vuc *c, uint32_t req, void *payload, uint32_t size);
/* Receive the reply to @req with the fd it carries (*@fd = -1 if none). */
int vuc_recv_fd(vuc *c, uint32_t req, void *payload, uint32_t size, int *fd);
/* A request with a u64 reply (GET_FEATURES, ...). */
int vuc_get_u64(vuc *c, uint32_t req, uint64_t *out);
/*
 * A request without a reply of its own: with REPLY_ACK negotiated it is
 * sent with NEED_REPLY and the ack is awaited. Returns 0, the back-end's
 * non-zero ack as -EREMOTEIO, or a negative errno of the transport.
 */
int vuc_call(vuc *c, uint32_t req, const void *payload, uint32_t size, const int *fds,
             unsigned int nfds);

#endif
