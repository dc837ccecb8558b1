/* SPDX-License-Identifier: MIT */
/**
 * DOC: copies to and from the host memory behind guest memory
 *
 * Single-copy atomicity. A copy of 1, 2, 4 or 8 bytes whose host address
 * is a multiple of its size is ONE host access of that size: a relaxed
 * atomic load or store, also volatile, that the compiler may neither split,
 * merge nor drop. A concurrent store (by the guest, a driver or another
 * thread) is seen whole or not at all. QEMU's ld/st on RAM behave the same,
 * and virtio drivers and device models rely on it for ring indices, flags
 * and shared structures.
 *
 * memcpy() promises nothing of the kind: the C standard leaves the size of
 * its accesses open, compilers expand short copies into several moves, and
 * some C libraries copy short tails one byte at a time. So every path of
 * the library that moves guest data to or from host memory (RAM, RAM
 * devices, map-on-demand mappings, the mapping cache, caches) goes through
 * gm_host_read() and gm_host_write(). A map-on-demand provider's copy op
 * should use them too (mapped.h).
 *
 * Any other copy (another length, or a host address not aligned to the
 * length) is a plain memcpy(): it may be split into accesses of any size,
 * so a concurrent store can be seen in part.
 */
#ifndef GUESTMEM_HOSTMEM_H
#define GUESTMEM_HOSTMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * gm_host_single() - whether a copy of @len bytes at @host is one access.
 * @host: host address of guest memory
 * @len: bytes
 *
 * Return: true when @len is 1, 2, 4 or 8 and @host is a multiple of @len:
 * gm_host_read() and gm_host_write() then make one host access of that size.
 * Context: any.
 */
static inline bool gm_host_single(const volatile void *host, uint64_t len)
{
    /* Bits 1, 2, 4 and 8 of 0x116: a copy longer than 8 bytes (the common
     * case of a variable length) costs one compare. */
    return len <= 8 && ((0x116u >> len) & 1) && !((uintptr_t)host & (len - 1));
}

/* One relaxed, volatile store (@is_write) or load of a @type at @host,
 * the value moved from or to @buf with memcpy (the caller's memory). */
#define GM_HOST_ACCESS_(type, host, buf, is_write)                                 \
    do {                                                                           \
        type v_;                                                                   \
        if (is_write) {                                                            \
            memcpy(&v_, (buf), sizeof(v_));                                        \
            __atomic_store_n((volatile type *)(host), v_, __ATOMIC_RELAXED);       \
        } else {                                                                   \
            v_ = __atomic_load_n((const volatile type *)(host), __ATOMIC_RELAXED); \
            memcpy((buf), &v_, sizeof(v_));                                        \
        }                                                                          \
    } while (0)

/* Both directions of gm_host_read/gm_host_write; @host is only loaded from
 * unless @is_write, and @buf only read from when @is_write. */
static inline void gm_host_copy_(void *host, void *buf, uint64_t len, bool is_write)
{
    if (!gm_host_single(host, len))
        memcpy(is_write ? host : buf, is_write ? buf : host, len);
    else if (len == 8)
        GM_HOST_ACCESS_(uint64_t, host, buf, is_write);
    else if (len == 4)
        GM_HOST_ACCESS_(uint32_t, host, buf, is_write);
    else if (len == 2)
        GM_HOST_ACCESS_(uint16_t, host, buf, is_write);
    else
        GM_HOST_ACCESS_(uint8_t, host, buf, is_write);
}

/**
 * gm_host_read() - copy @len bytes of guest memory at @host into @buf.
 * @buf: destination (the caller's memory)
 * @host: host address of guest memory (RAM, a mapping)
 * @len: bytes
 *
 * One host load of @len bytes when gm_host_single(@host, @len); otherwise
 * memcpy(). The bytes land in @buf in memory order.
 * Return: nothing.
 * Context: any; takes no lock.
 */
static inline void gm_host_read(void *buf, const void *host, uint64_t len)
{
    gm_host_copy_((void *)(uintptr_t)host, buf, len, false);
}

/**
 * gm_host_write() - copy @len bytes from @buf into guest memory at @host.
 * @host: host address of guest memory (RAM, a mapping)
 * @buf: source (the caller's memory)
 * @len: bytes
 *
 * One host store of @len bytes when gm_host_single(@host, @len); otherwise
 * memcpy(). Dirty tracking is the caller's business.
 * Return: nothing.
 * Context: any; takes no lock.
 */
static inline void gm_host_write(void *host, const void *buf, uint64_t len)
{
    gm_host_copy_(host, (void *)(uintptr_t)buf, len, true);
}

#ifdef __cplusplus
}
#endif

#endif
