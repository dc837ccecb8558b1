/* SPDX-License-Identifier: MIT */
/**
 * DOC: basic types shared by every guestmem header
 *
 * Addresses are 64-bit (gm_addr). A region or address space may be exactly
 * 2^64 bytes long; every API that takes a size as uint64_t reads the value
 * GM_SIZE_2_64 (UINT64_MAX) as 2^64, like QEMU's memory_region_init().
 */
#ifndef GUESTMEM_TYPES_H
#define GUESTMEM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GM_BUILDING_LIBRARY)
#define GM_EXPORT __attribute__((visibility("default")))
#else
#define GM_EXPORT
#endif

/** typedef gm_addr - a guest physical address, an IOVA or an offset. */
typedef uint64_t gm_addr;

/** GM_SIZE_2_64 - passed as a size, means 2^64 bytes. */
#define GM_SIZE_2_64 UINT64_MAX

/**
 * typedef gm_result - result of a memory transaction (QEMU's MemTxResult).
 *
 * A bitmask: an access split into several device accesses returns the OR of
 * their results. GM_OK is zero.
 */
typedef unsigned int gm_result;

#define GM_OK 0u                  /**< success */
#define GM_ERROR (1u << 0)        /**< the device reported an error */
#define GM_DECODE_ERROR (1u << 1) /**< nothing (valid) at that address */
#define GM_ACCESS_ERROR (1u << 2) /**< refused: permissions, re-entrancy, revoked mapping */

/**
 * struct gm_attrs - transaction attributes (QEMU's MemTxAttrs).
 * @unspecified: no attributes were given (GM_ATTRS_UNSPECIFIED)
 * @secure: secure (TrustZone) transaction
 * @user: unprivileged transaction
 * @memory: the initiator knows the target is memory
 * @requester_id: PCI requester ID of the initiator
 */
typedef struct gm_attrs {
    unsigned int unspecified : 1;
    unsigned int secure : 1;
    unsigned int user : 1;
    unsigned int memory : 1;
    unsigned int requester_id : 16;
} gm_attrs;

/** GM_ATTRS_UNSPECIFIED - attributes for callers that have none. */
#define GM_ATTRS_UNSPECIFIED ((gm_attrs){ .unspecified = 1 })

/**
 * enum gm_endian - byte order of a device's registers.
 * @GM_ENDIAN_NATIVE: the system's target byte order (gm_system_new())
 * @GM_ENDIAN_LITTLE: little endian
 * @GM_ENDIAN_BIG: big endian
 */
enum gm_endian {
    GM_ENDIAN_NATIVE = 0,
    GM_ENDIAN_LITTLE = 1,
    GM_ENDIAN_BIG = 2,
};

typedef struct gm_system gm_system;
typedef struct gm_region gm_region;
typedef struct gm_as gm_as;

#ifdef __cplusplus
}
#endif

#endif
