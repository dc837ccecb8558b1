/* SPDX-License-Identifier: MIT */
/**
 * DOC: guestmem umbrella header
 *
 * Include this to get the whole public API.
 */
#ifndef GUESTMEM_GUESTMEM_H
#define GUESTMEM_GUESTMEM_H

#include <guestmem/types.h>
#include <guestmem/hostmem.h>
#include <guestmem/system.h>
#include <guestmem/region.h>
#include <guestmem/as.h>
#include <guestmem/map.h>
#include <guestmem/cache.h>
#include <guestmem/listener.h>
#include <guestmem/dirty.h>
#include <guestmem/mtree.h>
#include <guestmem/iommu.h>
#include <guestmem/mapped.h>
#include <guestmem/mapcache.h>
#include <guestmem/gnttab.h>

#endif
