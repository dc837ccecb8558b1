/* SPDX-License-Identifier: MIT */
/**
 * DOC: printing memory trees and flat views in QEMU's `info mtree` format
 */
#ifndef GUESTMEM_MTREE_H
#define GUESTMEM_MTREE_H

#include <stdio.h>
#include <guestmem/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** GM_MTREE_FLAT - print flat views (`info mtree -f`) instead of trees. */
#define GM_MTREE_FLAT (1u << 0)
/** GM_MTREE_DISABLED - print disabled regions with " [disabled]" (`-D`). */
#define GM_MTREE_DISABLED (1u << 1)

/**
 * gm_mtree_print() - print every address space of @sys as QEMU 7.2 does.
 * @sys: the system
 * @out: where to print
 * @flags: GM_MTREE_FLAT, GM_MTREE_DISABLED
 *
 * Trees: address spaces sharing a root are printed together (their
 * "address-space:" lines sorted by name, as QEMU does; groups in creation
 * order), then every alias target under "memory-region:". Flat views:
 * address spaces sharing a flat view are printed in one "FlatView #N" block.
 * Return: 0, or -EIO if writing failed.
 * Context: takes the writer lock.
 */
GM_EXPORT int gm_mtree_print(gm_system *sys, FILE *out, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif
