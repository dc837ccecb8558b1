/* SPDX-License-Identifier: MIT */
/**
 * DOC: guestmem umbrella header
 *
 * Include this to get the memory model and its map-on-demand, IOMMU and
 * grant parts. The layers built on it have headers of their own:
 * <guestmem/virtq.h> (virtqueues) and <guestmem/vhost.h> (vhost-user
 * back-ends), which include this one.
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
