/* SPDX-License-Identifier: MIT */
/*
 * The access matrix: every access path against every kind of region, with
 * the expected outcome of each cell written out in one table (cells[] below).
 *
 * A row is { kind, path, result, behaviour }. The result is the gm_result the
 * path must return (for map, valid, lookup and the flat-view paths it is
 * GM_OK and the behaviour says what must happen). Behaviour flags:
 *
 *   DATA    every byte of the access happened: reads return the backing
 *           memory, writes land in it
 *   ZERO    nothing happened: reads return zeros, writes are dropped
 *   HALF    (straddling accesses) the 4 bytes before the cell happened, the
 *           4 bytes at the cell did not
 *   DIRTY   the written bytes' pages are dirty in the logging region (the RAM
 *           region, the IOMMU's target RAM, the map-on-demand or the grant
 *           region); without it no page of any logged region may be dirty
 *   LOG     at least one guest error was logged; without it (and without
 *           LOGANY) none may be. LOGANY: not checked
 *   VALID / INVALID        gm_as_access_valid() returns true / false
 *   DIRECT  gm_as_map() returned a pointer into the backing memory itself
 *   MAPPED  ... a separate live mapping of it (a grant mapping)
 *   BOUNCE  ... a bounce buffer: a copy, written back at unmap
 *   NOMAP   ... NULL with *plen == 0
 *   NOCACHE gm_cache_init() returned -EFAULT
 *   SECT / NOSECT          the address is / is not in a flat-view section; with
 *           SECT the section must be the kind's region with the right offsets,
 *           and RO / ROMD give its readonly and romd_mode flags
 *
 * After every cell, all backing memory (RAM, ROM, device registers, provider
 * memory, the guest's grant frames) is compared with a snapshot taken before
 * it plus the expected writes, so a write landing anywhere else fails the
 * cell; every logged region's dirty bitmap is compared page by page.
 *
 * The kinds. Each cell runs on a fresh system, so nothing (the guest-error
 * rate limit, mapping caches, the IOTLB) carries over from one cell to the
 * next; cells run in GM_MATRIX_JOBS worker processes (default 4, 1 runs
 * them in this process) and are reported in table order.
 *
 *   ram, rom, ram-device, rom-device in romd mode and in I/O mode, i/o
 *   (little-endian ops over a register file, valid and impl 1-8, aligned),
 *   reservation, alias and read-only alias of the RAM, read-only aliases of
 *   the RAM device and of the I/O region, a hole (an empty container): each
 *   at the start of its own 64 KiB window, with a 4 KiB plain RAM "pad" right
 *   below it, so a straddling access crosses from the pad's section into the
 *   kind's.
 *
 *   map-on-demand (a fake provider mapping at most one 4 KiB page per call;
 *   page 5 is refused, page 3 is read-only), the same with a copy op (which
 *   refuses a whole call touching a refused page), IOMMU (IOVA page p ->
 *   target RAM page p ^ 1; page 5 unmapped, page 3 read-only), read-only
 *   aliases of the map-on-demand and IOMMU regions, and a grant region
 *   (emulated grant table over a memfd: ref 1 rw, ref 3 read-only, ref 5 not
 *   granted, ref 7 revoked after gm_mapcache_invalidate()): the cell is at
 *   the page named, and a straddling access starts in the page before it,
 *   which is always accessible.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <guestmem/guestmem.h>

#include "check.h"

#define PAGE 0x1000u
#define REGION 0x10000u            /* every kind's region: 16 pages */
#define NPAGES (REGION / PAGE)
#define SIMPLE_BASE 0x100000ull    /* window i of a simple kind: SIMPLE_BASE + i * 0x20000 */
#define SIMPLE_STRIDE 0x20000ull
#define MOD_BASE 0x300000ull
#define CMOD_BASE 0x320000ull
#define ROALIAS_MOD_BASE 0x340000ull
#define IOMMU_BASE 0x360000ull
#define ROALIAS_IOMMU_BASE 0x380000ull
#define ALIAS_OFF 0x8000u          /* the alias shows ram[0x8000, 0x10000) */
#define ROALIAS_OFF 0x4000u        /* the read-only alias shows ram[0x4000, 0x8000) */
#define BACKEND 7
#define GUEST 3
#define GUEST_PAGES 64u

enum kind {
    K_RAM, K_ROM, K_RAMD, K_ROMD, K_ROMDEV, K_IO, K_RESV, K_ALIAS, K_ROALIAS,
    K_ROALIAS_RAMD, K_ROALIAS_IO, K_HOLE,
    K_MOD, K_MOD_REFUSED, K_MOD_RO,
    K_CMOD, K_CMOD_REFUSED, K_CMOD_RO,
    K_ROALIAS_MOD,
    K_IOMMU, K_IOMMU_FAULT, K_IOMMU_RO,
    K_ROALIAS_IOMMU,
    K_GNT_RW, K_GNT_RO, K_GNT_NONE, K_GNT_REVOKED,
    NKINDS
};

#define NSIMPLE (K_HOLE + 1)

static const char *const kind_names[NKINDS] = {
    [K_RAM] = "ram", [K_ROM] = "rom", [K_RAMD] = "ram-device",
    [K_ROMD] = "rom-device(romd)", [K_ROMDEV] = "rom-device(i/o)", [K_IO] = "i/o",
    [K_RESV] = "reservation", [K_ALIAS] = "alias", [K_ROALIAS] = "read-only-alias",
    [K_ROALIAS_RAMD] = "read-only-alias(ram-device)", [K_ROALIAS_IO] = "read-only-alias(i/o)",
    [K_HOLE] = "hole", [K_MOD] = "map-on-demand", [K_MOD_REFUSED] = "map-on-demand(refused)",
    [K_MOD_RO] = "map-on-demand(read-only)", [K_CMOD] = "map-on-demand+copy",
    [K_CMOD_REFUSED] = "map-on-demand+copy(refused)",
    [K_CMOD_RO] = "map-on-demand+copy(read-only)",
    [K_ROALIAS_MOD] = "read-only-alias(map-on-demand)", [K_IOMMU] = "iommu",
    [K_IOMMU_FAULT] = "iommu(unmapped)", [K_IOMMU_RO] = "iommu(read-only)",
    [K_ROALIAS_IOMMU] = "read-only-alias(iommu)",
    [K_GNT_RW] = "grant(rw)", [K_GNT_RO] = "grant(read-only)",
    [K_GNT_NONE] = "grant(not-granted)", [K_GNT_REVOKED] = "grant(revoked)",
};

enum path {
    P_READ, P_WRITE, P_RW_READ, P_RW_WRITE, P_FILL,
    P_LD8, P_LD16_LE, P_LD16_BE, P_LD32_LE, P_LD32_BE, P_LD64_LE, P_LD64_BE,
    P_ST8, P_ST16_LE, P_ST16_BE, P_ST32_LE, P_ST32_BE, P_ST64_LE, P_ST64_BE,
    P_STRADDLE_READ, P_STRADDLE_WRITE, P_STRADDLE_LD64, P_STRADDLE_ST64,
    P_VALID_READ, P_VALID_WRITE, P_MAP_READ, P_MAP_WRITE, P_CACHE_READ, P_CACHE_WRITE,
    P_LOOKUP, P_SECTIONS, P_LISTENER,
    NPATHS
};

static const char *const path_names[NPATHS] = {
    [P_READ] = "gm_as_read", [P_WRITE] = "gm_as_write", [P_RW_READ] = "gm_as_rw(read)",
    [P_RW_WRITE] = "gm_as_rw(write)", [P_FILL] = "gm_as_fill", [P_LD8] = "gm_as_ld8",
    [P_LD16_LE] = "gm_as_ld16_le", [P_LD16_BE] = "gm_as_ld16_be",
    [P_LD32_LE] = "gm_as_ld32_le", [P_LD32_BE] = "gm_as_ld32_be",
    [P_LD64_LE] = "gm_as_ld64_le", [P_LD64_BE] = "gm_as_ld64_be", [P_ST8] = "gm_as_st8",
    [P_ST16_LE] = "gm_as_st16_le", [P_ST16_BE] = "gm_as_st16_be",
    [P_ST32_LE] = "gm_as_st32_le", [P_ST32_BE] = "gm_as_st32_be",
    [P_ST64_LE] = "gm_as_st64_le", [P_ST64_BE] = "gm_as_st64_be",
    [P_STRADDLE_READ] = "straddling gm_as_read", [P_STRADDLE_WRITE] = "straddling gm_as_write",
    [P_STRADDLE_LD64] = "straddling gm_as_ld64_le",
    [P_STRADDLE_ST64] = "straddling gm_as_st64_le",
    [P_VALID_READ] = "gm_as_access_valid(read)", [P_VALID_WRITE] = "gm_as_access_valid(write)",
    [P_MAP_READ] = "gm_as_map(read)", [P_MAP_WRITE] = "gm_as_map(write)",
    [P_CACHE_READ] = "gm_cache(read)", [P_CACHE_WRITE] = "gm_cache(write)",
    [P_LOOKUP] = "gm_as_lookup", [P_SECTIONS] = "gm_as_for_each_section",
    [P_LISTENER] = "listener region_add",
};

#define OK GM_OK
#define DEC GM_DECODE_ERROR
#define ACC GM_ACCESS_ERROR

enum {
    DATA = 1u << 0, ZERO = 1u << 1, HALF = 1u << 2, DIRTY = 1u << 3,
    LOG = 1u << 4, LOGANY = 1u << 5, VALID = 1u << 6, INVALID = 1u << 7,
    DIRECT = 1u << 8, MAPPED = 1u << 9, BOUNCE = 1u << 10, NOMAP = 1u << 11,
    NOCACHE = 1u << 12, SECT = 1u << 13, NOSECT = 1u << 14, RO = 1u << 15, ROMD = 1u << 16,
};

typedef struct cell {
    enum kind kind;
    enum path path;
    gm_result res;
    unsigned int how;
} cell;

/*
 * The contract, one row per cell, grouped by kind. Where rows differ from
 * their neighbours:
 *
 * - Writes refused by a read-only path (ROM, read-only aliases) are
 *   GM_DECODE_ERROR (region.h: gm_region_new_rom; mapped.h: "A write through
 *   a read-only alias is GM_DECODE_ERROR, as for ROM"), whatever is behind
 *   the alias except I/O ops, which still get the write (docs/memory-model.md
 *   4.3). Map-on-demand, IOMMU and grant refusals are GM_ACCESS_ERROR
 *   (mapped.h, iommu.h), up to the end of the refused 4 KiB page: a
 *   straddling access still does the accessible half (as.h: "other pieces of
 *   the same access still happen"), and a written half is dirty.
 * - RAM devices and I/O are never mapped directly (map.h: "anything else
 *   gets a bounce buffer"); a ROM device in romd mode is mapped directly for
 *   reading only. Writes to ROM devices go to their ops: nothing is dirty.
 * - A reservation is in the flat view (lookup finds it, a cache can be
 *   initialized on it) but every access is GM_DECODE_ERROR; a hole has no
 *   section and gm_cache_init() fails with -EFAULT ("not backed").
 * - A cache for writing over a read-only path is initialized and its stores
 *   fail as the path's writes do ("as for ROM"); where the provider or the
 *   IOMMU refuses the write mapping itself, gm_cache_init() fails.
 * - gm_as_access_valid() makes no provider callbacks, so it cannot know
 *   which map-on-demand or grant pages the provider will refuse: it is true
 *   for them (mapped.h: "may still refuse at access time"). An IOMMU is
 *   asked for its translation, so refused IOVAs are invalid.
 * - Guest-error logging is not checked (LOGANY) where the core asks an
 *   IOMMU from a query (access_valid) or a cache init fails: neither is
 *   covered by a logging rule. Every refused access is logged
 *   (docs/memory-model.md 4.3: "Guest-triggerable failures are logged").
 */
static const cell cells[] = {
    /* RAM (logged) */
    { K_RAM,         P_READ,           OK,  DATA },
    { K_RAM,         P_WRITE,          OK,  DATA | DIRTY },
    { K_RAM,         P_RW_READ,        OK,  DATA },
    { K_RAM,         P_RW_WRITE,       OK,  DATA | DIRTY },
    { K_RAM,         P_FILL,           OK,  DATA | DIRTY },
    { K_RAM,         P_LD8,            OK,  DATA },
    { K_RAM,         P_LD16_LE,        OK,  DATA },
    { K_RAM,         P_LD16_BE,        OK,  DATA },
    { K_RAM,         P_LD32_LE,        OK,  DATA },
    { K_RAM,         P_LD32_BE,        OK,  DATA },
    { K_RAM,         P_LD64_LE,        OK,  DATA },
    { K_RAM,         P_LD64_BE,        OK,  DATA },
    { K_RAM,         P_ST8,            OK,  DATA | DIRTY },
    { K_RAM,         P_ST16_LE,        OK,  DATA | DIRTY },
    { K_RAM,         P_ST16_BE,        OK,  DATA | DIRTY },
    { K_RAM,         P_ST32_LE,        OK,  DATA | DIRTY },
    { K_RAM,         P_ST32_BE,        OK,  DATA | DIRTY },
    { K_RAM,         P_ST64_LE,        OK,  DATA | DIRTY },
    { K_RAM,         P_ST64_BE,        OK,  DATA | DIRTY },
    { K_RAM,         P_STRADDLE_READ,  OK,  DATA },
    { K_RAM,         P_STRADDLE_WRITE, OK,  DATA | DIRTY },
    { K_RAM,         P_STRADDLE_LD64,  OK,  DATA },
    { K_RAM,         P_STRADDLE_ST64,  OK,  DATA | DIRTY },
    { K_RAM,         P_VALID_READ,     OK,  VALID },
    { K_RAM,         P_VALID_WRITE,    OK,  VALID },
    { K_RAM,         P_MAP_READ,       OK,  DIRECT },
    { K_RAM,         P_MAP_WRITE,      OK,  DIRECT | DIRTY },
    { K_RAM,         P_CACHE_READ,     OK,  DATA },
    { K_RAM,         P_CACHE_WRITE,    OK,  DATA | DIRTY },
    { K_RAM,         P_LOOKUP,         OK,  SECT },
    { K_RAM,         P_SECTIONS,       OK,  SECT },
    { K_RAM,         P_LISTENER,       OK,  SECT },

    /* ROM (logged): writes refused with GM_DECODE_ERROR */
    { K_ROM,         P_READ,           OK,  DATA },
    { K_ROM,         P_WRITE,          DEC, ZERO | LOG },
    { K_ROM,         P_RW_READ,        OK,  DATA },
    { K_ROM,         P_RW_WRITE,       DEC, ZERO | LOG },
    { K_ROM,         P_FILL,           DEC, ZERO | LOG },
    { K_ROM,         P_LD8,            OK,  DATA },
    { K_ROM,         P_LD16_LE,        OK,  DATA },
    { K_ROM,         P_LD16_BE,        OK,  DATA },
    { K_ROM,         P_LD32_LE,        OK,  DATA },
    { K_ROM,         P_LD32_BE,        OK,  DATA },
    { K_ROM,         P_LD64_LE,        OK,  DATA },
    { K_ROM,         P_LD64_BE,        OK,  DATA },
    { K_ROM,         P_ST8,            DEC, ZERO | LOG },
    { K_ROM,         P_ST16_LE,        DEC, ZERO | LOG },
    { K_ROM,         P_ST16_BE,        DEC, ZERO | LOG },
    { K_ROM,         P_ST32_LE,        DEC, ZERO | LOG },
    { K_ROM,         P_ST32_BE,        DEC, ZERO | LOG },
    { K_ROM,         P_ST64_LE,        DEC, ZERO | LOG },
    { K_ROM,         P_ST64_BE,        DEC, ZERO | LOG },
    { K_ROM,         P_STRADDLE_READ,  OK,  DATA },
    { K_ROM,         P_STRADDLE_WRITE, DEC, HALF | LOG },
    { K_ROM,         P_STRADDLE_LD64,  OK,  DATA },
    { K_ROM,         P_STRADDLE_ST64,  DEC, HALF | LOG },
    { K_ROM,         P_VALID_READ,     OK,  VALID },
    { K_ROM,         P_VALID_WRITE,    OK,  INVALID },
    { K_ROM,         P_MAP_READ,       OK,  DIRECT },
    { K_ROM,         P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_ROM,         P_CACHE_READ,     OK,  DATA },
    { K_ROM,         P_CACHE_WRITE,    DEC, ZERO | LOG },
    { K_ROM,         P_LOOKUP,         OK,  SECT | RO },
    { K_ROM,         P_SECTIONS,       OK,  SECT | RO },
    { K_ROM,         P_LISTENER,       OK,  SECT | RO },

    /* RAM device: exact-size host accesses, never mapped directly, cannot log */
    { K_RAMD,        P_READ,           OK,  DATA },
    { K_RAMD,        P_WRITE,          OK,  DATA },
    { K_RAMD,        P_RW_READ,        OK,  DATA },
    { K_RAMD,        P_RW_WRITE,       OK,  DATA },
    { K_RAMD,        P_FILL,           OK,  DATA },
    { K_RAMD,        P_LD8,            OK,  DATA },
    { K_RAMD,        P_LD16_LE,        OK,  DATA },
    { K_RAMD,        P_LD16_BE,        OK,  DATA },
    { K_RAMD,        P_LD32_LE,        OK,  DATA },
    { K_RAMD,        P_LD32_BE,        OK,  DATA },
    { K_RAMD,        P_LD64_LE,        OK,  DATA },
    { K_RAMD,        P_LD64_BE,        OK,  DATA },
    { K_RAMD,        P_ST8,            OK,  DATA },
    { K_RAMD,        P_ST16_LE,        OK,  DATA },
    { K_RAMD,        P_ST16_BE,        OK,  DATA },
    { K_RAMD,        P_ST32_LE,        OK,  DATA },
    { K_RAMD,        P_ST32_BE,        OK,  DATA },
    { K_RAMD,        P_ST64_LE,        OK,  DATA },
    { K_RAMD,        P_ST64_BE,        OK,  DATA },
    { K_RAMD,        P_STRADDLE_READ,  OK,  DATA },
    { K_RAMD,        P_STRADDLE_WRITE, OK,  DATA },
    { K_RAMD,        P_STRADDLE_LD64,  OK,  DATA },
    { K_RAMD,        P_STRADDLE_ST64,  OK,  DATA },
    { K_RAMD,        P_VALID_READ,     OK,  VALID },
    { K_RAMD,        P_VALID_WRITE,    OK,  VALID },
    { K_RAMD,        P_MAP_READ,       OK,  BOUNCE },
    { K_RAMD,        P_MAP_WRITE,      OK,  BOUNCE },
    { K_RAMD,        P_CACHE_READ,     OK,  DATA },
    { K_RAMD,        P_CACHE_WRITE,    OK,  DATA },
    { K_RAMD,        P_LOOKUP,         OK,  SECT },
    { K_RAMD,        P_SECTIONS,       OK,  SECT },
    { K_RAMD,        P_LISTENER,       OK,  SECT },

    /* ROM device in romd mode: reads from its RAM, writes to its ops */
    { K_ROMD,        P_READ,           OK,  DATA },
    { K_ROMD,        P_WRITE,          OK,  DATA },
    { K_ROMD,        P_RW_READ,        OK,  DATA },
    { K_ROMD,        P_RW_WRITE,       OK,  DATA },
    { K_ROMD,        P_FILL,           OK,  DATA },
    { K_ROMD,        P_LD8,            OK,  DATA },
    { K_ROMD,        P_LD16_LE,        OK,  DATA },
    { K_ROMD,        P_LD16_BE,        OK,  DATA },
    { K_ROMD,        P_LD32_LE,        OK,  DATA },
    { K_ROMD,        P_LD32_BE,        OK,  DATA },
    { K_ROMD,        P_LD64_LE,        OK,  DATA },
    { K_ROMD,        P_LD64_BE,        OK,  DATA },
    { K_ROMD,        P_ST8,            OK,  DATA },
    { K_ROMD,        P_ST16_LE,        OK,  DATA },
    { K_ROMD,        P_ST16_BE,        OK,  DATA },
    { K_ROMD,        P_ST32_LE,        OK,  DATA },
    { K_ROMD,        P_ST32_BE,        OK,  DATA },
    { K_ROMD,        P_ST64_LE,        OK,  DATA },
    { K_ROMD,        P_ST64_BE,        OK,  DATA },
    { K_ROMD,        P_STRADDLE_READ,  OK,  DATA },
    { K_ROMD,        P_STRADDLE_WRITE, OK,  DATA },
    { K_ROMD,        P_STRADDLE_LD64,  OK,  DATA },
    { K_ROMD,        P_STRADDLE_ST64,  OK,  DATA },
    { K_ROMD,        P_VALID_READ,     OK,  VALID },
    { K_ROMD,        P_VALID_WRITE,    OK,  VALID },
    { K_ROMD,        P_MAP_READ,       OK,  DIRECT },
    { K_ROMD,        P_MAP_WRITE,      OK,  BOUNCE },
    { K_ROMD,        P_CACHE_READ,     OK,  DATA },
    { K_ROMD,        P_CACHE_WRITE,    OK,  DATA },
    { K_ROMD,        P_LOOKUP,         OK,  SECT | ROMD },
    { K_ROMD,        P_SECTIONS,       OK,  SECT | ROMD },
    { K_ROMD,        P_LISTENER,       OK,  SECT | ROMD },

    /* ROM device in I/O mode: reads and writes to its ops */
    { K_ROMDEV,      P_READ,           OK,  DATA },
    { K_ROMDEV,      P_WRITE,          OK,  DATA },
    { K_ROMDEV,      P_RW_READ,        OK,  DATA },
    { K_ROMDEV,      P_RW_WRITE,       OK,  DATA },
    { K_ROMDEV,      P_FILL,           OK,  DATA },
    { K_ROMDEV,      P_LD8,            OK,  DATA },
    { K_ROMDEV,      P_LD16_LE,        OK,  DATA },
    { K_ROMDEV,      P_LD16_BE,        OK,  DATA },
    { K_ROMDEV,      P_LD32_LE,        OK,  DATA },
    { K_ROMDEV,      P_LD32_BE,        OK,  DATA },
    { K_ROMDEV,      P_LD64_LE,        OK,  DATA },
    { K_ROMDEV,      P_LD64_BE,        OK,  DATA },
    { K_ROMDEV,      P_ST8,            OK,  DATA },
    { K_ROMDEV,      P_ST16_LE,        OK,  DATA },
    { K_ROMDEV,      P_ST16_BE,        OK,  DATA },
    { K_ROMDEV,      P_ST32_LE,        OK,  DATA },
    { K_ROMDEV,      P_ST32_BE,        OK,  DATA },
    { K_ROMDEV,      P_ST64_LE,        OK,  DATA },
    { K_ROMDEV,      P_ST64_BE,        OK,  DATA },
    { K_ROMDEV,      P_STRADDLE_READ,  OK,  DATA },
    { K_ROMDEV,      P_STRADDLE_WRITE, OK,  DATA },
    { K_ROMDEV,      P_STRADDLE_LD64,  OK,  DATA },
    { K_ROMDEV,      P_STRADDLE_ST64,  OK,  DATA },
    { K_ROMDEV,      P_VALID_READ,     OK,  VALID },
    { K_ROMDEV,      P_VALID_WRITE,    OK,  VALID },
    { K_ROMDEV,      P_MAP_READ,       OK,  BOUNCE },
    { K_ROMDEV,      P_MAP_WRITE,      OK,  BOUNCE },
    { K_ROMDEV,      P_CACHE_READ,     OK,  DATA },
    { K_ROMDEV,      P_CACHE_WRITE,    OK,  DATA },
    { K_ROMDEV,      P_LOOKUP,         OK,  SECT },
    { K_ROMDEV,      P_SECTIONS,       OK,  SECT },
    { K_ROMDEV,      P_LISTENER,       OK,  SECT },

    /* I/O: ops over a register file, valid and impl 1-8 */
    { K_IO,          P_READ,           OK,  DATA },
    { K_IO,          P_WRITE,          OK,  DATA },
    { K_IO,          P_RW_READ,        OK,  DATA },
    { K_IO,          P_RW_WRITE,       OK,  DATA },
    { K_IO,          P_FILL,           OK,  DATA },
    { K_IO,          P_LD8,            OK,  DATA },
    { K_IO,          P_LD16_LE,        OK,  DATA },
    { K_IO,          P_LD16_BE,        OK,  DATA },
    { K_IO,          P_LD32_LE,        OK,  DATA },
    { K_IO,          P_LD32_BE,        OK,  DATA },
    { K_IO,          P_LD64_LE,        OK,  DATA },
    { K_IO,          P_LD64_BE,        OK,  DATA },
    { K_IO,          P_ST8,            OK,  DATA },
    { K_IO,          P_ST16_LE,        OK,  DATA },
    { K_IO,          P_ST16_BE,        OK,  DATA },
    { K_IO,          P_ST32_LE,        OK,  DATA },
    { K_IO,          P_ST32_BE,        OK,  DATA },
    { K_IO,          P_ST64_LE,        OK,  DATA },
    { K_IO,          P_ST64_BE,        OK,  DATA },
    { K_IO,          P_STRADDLE_READ,  OK,  DATA },
    { K_IO,          P_STRADDLE_WRITE, OK,  DATA },
    { K_IO,          P_STRADDLE_LD64,  OK,  DATA },
    { K_IO,          P_STRADDLE_ST64,  OK,  DATA },
    { K_IO,          P_VALID_READ,     OK,  VALID },
    { K_IO,          P_VALID_WRITE,    OK,  VALID },
    { K_IO,          P_MAP_READ,       OK,  BOUNCE },
    { K_IO,          P_MAP_WRITE,      OK,  BOUNCE },
    { K_IO,          P_CACHE_READ,     OK,  DATA },
    { K_IO,          P_CACHE_WRITE,    OK,  DATA },
    { K_IO,          P_LOOKUP,         OK,  SECT },
    { K_IO,          P_SECTIONS,       OK,  SECT },
    { K_IO,          P_LISTENER,       OK,  SECT },

    /* reservation: in the flat view, every access GM_DECODE_ERROR */
    { K_RESV,        P_READ,           DEC, ZERO | LOG },
    { K_RESV,        P_WRITE,          DEC, ZERO | LOG },
    { K_RESV,        P_RW_READ,        DEC, ZERO | LOG },
    { K_RESV,        P_RW_WRITE,       DEC, ZERO | LOG },
    { K_RESV,        P_FILL,           DEC, ZERO | LOG },
    { K_RESV,        P_LD8,            DEC, ZERO | LOG },
    { K_RESV,        P_LD16_LE,        DEC, ZERO | LOG },
    { K_RESV,        P_LD16_BE,        DEC, ZERO | LOG },
    { K_RESV,        P_LD32_LE,        DEC, ZERO | LOG },
    { K_RESV,        P_LD32_BE,        DEC, ZERO | LOG },
    { K_RESV,        P_LD64_LE,        DEC, ZERO | LOG },
    { K_RESV,        P_LD64_BE,        DEC, ZERO | LOG },
    { K_RESV,        P_ST8,            DEC, ZERO | LOG },
    { K_RESV,        P_ST16_LE,        DEC, ZERO | LOG },
    { K_RESV,        P_ST16_BE,        DEC, ZERO | LOG },
    { K_RESV,        P_ST32_LE,        DEC, ZERO | LOG },
    { K_RESV,        P_ST32_BE,        DEC, ZERO | LOG },
    { K_RESV,        P_ST64_LE,        DEC, ZERO | LOG },
    { K_RESV,        P_ST64_BE,        DEC, ZERO | LOG },
    { K_RESV,        P_STRADDLE_READ,  DEC, HALF | LOG },
    { K_RESV,        P_STRADDLE_WRITE, DEC, HALF | LOG },
    { K_RESV,        P_STRADDLE_LD64,  DEC, HALF | LOG },
    { K_RESV,        P_STRADDLE_ST64,  DEC, HALF | LOG },
    { K_RESV,        P_VALID_READ,     OK,  INVALID },
    { K_RESV,        P_VALID_WRITE,    OK,  INVALID },
    { K_RESV,        P_MAP_READ,       OK,  NOMAP | LOG },
    { K_RESV,        P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_RESV,        P_CACHE_READ,     DEC, ZERO | LOG },
    { K_RESV,        P_CACHE_WRITE,    DEC, ZERO | LOG },
    { K_RESV,        P_LOOKUP,         OK,  SECT },
    { K_RESV,        P_SECTIONS,       OK,  SECT },
    { K_RESV,        P_LISTENER,       OK,  SECT },

    /* alias of ram[0x8000, 0x10000) */
    { K_ALIAS,       P_READ,           OK,  DATA },
    { K_ALIAS,       P_WRITE,          OK,  DATA | DIRTY },
    { K_ALIAS,       P_RW_READ,        OK,  DATA },
    { K_ALIAS,       P_RW_WRITE,       OK,  DATA | DIRTY },
    { K_ALIAS,       P_FILL,           OK,  DATA | DIRTY },
    { K_ALIAS,       P_LD8,            OK,  DATA },
    { K_ALIAS,       P_LD16_LE,        OK,  DATA },
    { K_ALIAS,       P_LD16_BE,        OK,  DATA },
    { K_ALIAS,       P_LD32_LE,        OK,  DATA },
    { K_ALIAS,       P_LD32_BE,        OK,  DATA },
    { K_ALIAS,       P_LD64_LE,        OK,  DATA },
    { K_ALIAS,       P_LD64_BE,        OK,  DATA },
    { K_ALIAS,       P_ST8,            OK,  DATA | DIRTY },
    { K_ALIAS,       P_ST16_LE,        OK,  DATA | DIRTY },
    { K_ALIAS,       P_ST16_BE,        OK,  DATA | DIRTY },
    { K_ALIAS,       P_ST32_LE,        OK,  DATA | DIRTY },
    { K_ALIAS,       P_ST32_BE,        OK,  DATA | DIRTY },
    { K_ALIAS,       P_ST64_LE,        OK,  DATA | DIRTY },
    { K_ALIAS,       P_ST64_BE,        OK,  DATA | DIRTY },
    { K_ALIAS,       P_STRADDLE_READ,  OK,  DATA },
    { K_ALIAS,       P_STRADDLE_WRITE, OK,  DATA | DIRTY },
    { K_ALIAS,       P_STRADDLE_LD64,  OK,  DATA },
    { K_ALIAS,       P_STRADDLE_ST64,  OK,  DATA | DIRTY },
    { K_ALIAS,       P_VALID_READ,     OK,  VALID },
    { K_ALIAS,       P_VALID_WRITE,    OK,  VALID },
    { K_ALIAS,       P_MAP_READ,       OK,  DIRECT },
    { K_ALIAS,       P_MAP_WRITE,      OK,  DIRECT | DIRTY },
    { K_ALIAS,       P_CACHE_READ,     OK,  DATA },
    { K_ALIAS,       P_CACHE_WRITE,    OK,  DATA | DIRTY },
    { K_ALIAS,       P_LOOKUP,         OK,  SECT },
    { K_ALIAS,       P_SECTIONS,       OK,  SECT },
    { K_ALIAS,       P_LISTENER,       OK,  SECT },

    /* read-only alias of ram[0x4000, 0x8000): as ROM */
    { K_ROALIAS,     P_READ,           OK,  DATA },
    { K_ROALIAS,     P_WRITE,          DEC, ZERO | LOG },
    { K_ROALIAS,     P_RW_READ,        OK,  DATA },
    { K_ROALIAS,     P_RW_WRITE,       DEC, ZERO | LOG },
    { K_ROALIAS,     P_FILL,           DEC, ZERO | LOG },
    { K_ROALIAS,     P_LD8,            OK,  DATA },
    { K_ROALIAS,     P_LD16_LE,        OK,  DATA },
    { K_ROALIAS,     P_LD16_BE,        OK,  DATA },
    { K_ROALIAS,     P_LD32_LE,        OK,  DATA },
    { K_ROALIAS,     P_LD32_BE,        OK,  DATA },
    { K_ROALIAS,     P_LD64_LE,        OK,  DATA },
    { K_ROALIAS,     P_LD64_BE,        OK,  DATA },
    { K_ROALIAS,     P_ST8,            DEC, ZERO | LOG },
    { K_ROALIAS,     P_ST16_LE,        DEC, ZERO | LOG },
    { K_ROALIAS,     P_ST16_BE,        DEC, ZERO | LOG },
    { K_ROALIAS,     P_ST32_LE,        DEC, ZERO | LOG },
    { K_ROALIAS,     P_ST32_BE,        DEC, ZERO | LOG },
    { K_ROALIAS,     P_ST64_LE,        DEC, ZERO | LOG },
    { K_ROALIAS,     P_ST64_BE,        DEC, ZERO | LOG },
    { K_ROALIAS,     P_STRADDLE_READ,  OK,  DATA },
    { K_ROALIAS,     P_STRADDLE_WRITE, DEC, HALF | LOG },
    { K_ROALIAS,     P_STRADDLE_LD64,  OK,  DATA },
    { K_ROALIAS,     P_STRADDLE_ST64,  DEC, HALF | LOG },
    { K_ROALIAS,     P_VALID_READ,     OK,  VALID },
    { K_ROALIAS,     P_VALID_WRITE,    OK,  INVALID },
    { K_ROALIAS,     P_MAP_READ,       OK,  DIRECT },
    { K_ROALIAS,     P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_ROALIAS,     P_CACHE_READ,     OK,  DATA },
    { K_ROALIAS,     P_CACHE_WRITE,    DEC, ZERO | LOG },
    { K_ROALIAS,     P_LOOKUP,         OK,  SECT | RO },
    { K_ROALIAS,     P_SECTIONS,       OK,  SECT | RO },
    { K_ROALIAS,     P_LISTENER,       OK,  SECT | RO },

    /* read-only alias of the RAM device: host memory behind a read-only path, as ROM */
    { K_ROALIAS_RAMD, P_READ,           OK,  DATA },
    { K_ROALIAS_RAMD, P_WRITE,          DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_RW_READ,        OK,  DATA },
    { K_ROALIAS_RAMD, P_RW_WRITE,       DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_FILL,           DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_LD8,            OK,  DATA },
    { K_ROALIAS_RAMD, P_LD16_LE,        OK,  DATA },
    { K_ROALIAS_RAMD, P_LD16_BE,        OK,  DATA },
    { K_ROALIAS_RAMD, P_LD32_LE,        OK,  DATA },
    { K_ROALIAS_RAMD, P_LD32_BE,        OK,  DATA },
    { K_ROALIAS_RAMD, P_LD64_LE,        OK,  DATA },
    { K_ROALIAS_RAMD, P_LD64_BE,        OK,  DATA },
    { K_ROALIAS_RAMD, P_ST8,            DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_ST16_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_ST16_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_ST32_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_ST32_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_ST64_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_ST64_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_STRADDLE_READ,  OK,  DATA },
    { K_ROALIAS_RAMD, P_STRADDLE_WRITE, DEC, HALF | LOG },
    { K_ROALIAS_RAMD, P_STRADDLE_LD64,  OK,  DATA },
    { K_ROALIAS_RAMD, P_STRADDLE_ST64,  DEC, HALF | LOG },
    { K_ROALIAS_RAMD, P_VALID_READ,     OK,  VALID },
    { K_ROALIAS_RAMD, P_VALID_WRITE,    OK,  INVALID },
    { K_ROALIAS_RAMD, P_MAP_READ,       OK,  BOUNCE },
    { K_ROALIAS_RAMD, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_ROALIAS_RAMD, P_CACHE_READ,     OK,  DATA },
    { K_ROALIAS_RAMD, P_CACHE_WRITE,    DEC, ZERO | LOG },
    { K_ROALIAS_RAMD, P_LOOKUP,         OK,  SECT | RO },
    { K_ROALIAS_RAMD, P_SECTIONS,       OK,  SECT | RO },
    { K_ROALIAS_RAMD, P_LISTENER,       OK,  SECT | RO },

    /* read-only alias of the I/O region: writes still reach the ops (docs/memory-model.md 4.3) */
    { K_ROALIAS_IO,  P_READ,           OK,  DATA },
    { K_ROALIAS_IO,  P_WRITE,          OK,  DATA },
    { K_ROALIAS_IO,  P_RW_READ,        OK,  DATA },
    { K_ROALIAS_IO,  P_RW_WRITE,       OK,  DATA },
    { K_ROALIAS_IO,  P_FILL,           OK,  DATA },
    { K_ROALIAS_IO,  P_LD8,            OK,  DATA },
    { K_ROALIAS_IO,  P_LD16_LE,        OK,  DATA },
    { K_ROALIAS_IO,  P_LD16_BE,        OK,  DATA },
    { K_ROALIAS_IO,  P_LD32_LE,        OK,  DATA },
    { K_ROALIAS_IO,  P_LD32_BE,        OK,  DATA },
    { K_ROALIAS_IO,  P_LD64_LE,        OK,  DATA },
    { K_ROALIAS_IO,  P_LD64_BE,        OK,  DATA },
    { K_ROALIAS_IO,  P_ST8,            OK,  DATA },
    { K_ROALIAS_IO,  P_ST16_LE,        OK,  DATA },
    { K_ROALIAS_IO,  P_ST16_BE,        OK,  DATA },
    { K_ROALIAS_IO,  P_ST32_LE,        OK,  DATA },
    { K_ROALIAS_IO,  P_ST32_BE,        OK,  DATA },
    { K_ROALIAS_IO,  P_ST64_LE,        OK,  DATA },
    { K_ROALIAS_IO,  P_ST64_BE,        OK,  DATA },
    { K_ROALIAS_IO,  P_STRADDLE_READ,  OK,  DATA },
    { K_ROALIAS_IO,  P_STRADDLE_WRITE, OK,  DATA },
    { K_ROALIAS_IO,  P_STRADDLE_LD64,  OK,  DATA },
    { K_ROALIAS_IO,  P_STRADDLE_ST64,  OK,  DATA },
    { K_ROALIAS_IO,  P_VALID_READ,     OK,  VALID },
    { K_ROALIAS_IO,  P_VALID_WRITE,    OK,  VALID },
    { K_ROALIAS_IO,  P_MAP_READ,       OK,  BOUNCE },
    { K_ROALIAS_IO,  P_MAP_WRITE,      OK,  BOUNCE },
    { K_ROALIAS_IO,  P_CACHE_READ,     OK,  DATA },
    { K_ROALIAS_IO,  P_CACHE_WRITE,    OK,  DATA },
    { K_ROALIAS_IO,  P_LOOKUP,         OK,  SECT | RO },
    { K_ROALIAS_IO,  P_SECTIONS,       OK,  SECT | RO },
    { K_ROALIAS_IO,  P_LISTENER,       OK,  SECT | RO },

    /* hole: an empty container */
    { K_HOLE,        P_READ,           DEC, ZERO | LOG },
    { K_HOLE,        P_WRITE,          DEC, ZERO | LOG },
    { K_HOLE,        P_RW_READ,        DEC, ZERO | LOG },
    { K_HOLE,        P_RW_WRITE,       DEC, ZERO | LOG },
    { K_HOLE,        P_FILL,           DEC, ZERO | LOG },
    { K_HOLE,        P_LD8,            DEC, ZERO | LOG },
    { K_HOLE,        P_LD16_LE,        DEC, ZERO | LOG },
    { K_HOLE,        P_LD16_BE,        DEC, ZERO | LOG },
    { K_HOLE,        P_LD32_LE,        DEC, ZERO | LOG },
    { K_HOLE,        P_LD32_BE,        DEC, ZERO | LOG },
    { K_HOLE,        P_LD64_LE,        DEC, ZERO | LOG },
    { K_HOLE,        P_LD64_BE,        DEC, ZERO | LOG },
    { K_HOLE,        P_ST8,            DEC, ZERO | LOG },
    { K_HOLE,        P_ST16_LE,        DEC, ZERO | LOG },
    { K_HOLE,        P_ST16_BE,        DEC, ZERO | LOG },
    { K_HOLE,        P_ST32_LE,        DEC, ZERO | LOG },
    { K_HOLE,        P_ST32_BE,        DEC, ZERO | LOG },
    { K_HOLE,        P_ST64_LE,        DEC, ZERO | LOG },
    { K_HOLE,        P_ST64_BE,        DEC, ZERO | LOG },
    { K_HOLE,        P_STRADDLE_READ,  DEC, HALF | LOG },
    { K_HOLE,        P_STRADDLE_WRITE, DEC, HALF | LOG },
    { K_HOLE,        P_STRADDLE_LD64,  DEC, HALF | LOG },
    { K_HOLE,        P_STRADDLE_ST64,  DEC, HALF | LOG },
    { K_HOLE,        P_VALID_READ,     OK,  INVALID },
    { K_HOLE,        P_VALID_WRITE,    OK,  INVALID },
    { K_HOLE,        P_MAP_READ,       OK,  NOMAP | LOG },
    { K_HOLE,        P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_HOLE,        P_CACHE_READ,     OK,  NOCACHE | LOGANY },
    { K_HOLE,        P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_HOLE,        P_LOOKUP,         OK,  NOSECT },
    { K_HOLE,        P_SECTIONS,       OK,  NOSECT },
    { K_HOLE,        P_LISTENER,       OK,  NOSECT },

    /* map-on-demand, page 7 (logged) */
    { K_MOD,         P_READ,           OK,  DATA },
    { K_MOD,         P_WRITE,          OK,  DATA | DIRTY },
    { K_MOD,         P_RW_READ,        OK,  DATA },
    { K_MOD,         P_RW_WRITE,       OK,  DATA | DIRTY },
    { K_MOD,         P_FILL,           OK,  DATA | DIRTY },
    { K_MOD,         P_LD8,            OK,  DATA },
    { K_MOD,         P_LD16_LE,        OK,  DATA },
    { K_MOD,         P_LD16_BE,        OK,  DATA },
    { K_MOD,         P_LD32_LE,        OK,  DATA },
    { K_MOD,         P_LD32_BE,        OK,  DATA },
    { K_MOD,         P_LD64_LE,        OK,  DATA },
    { K_MOD,         P_LD64_BE,        OK,  DATA },
    { K_MOD,         P_ST8,            OK,  DATA | DIRTY },
    { K_MOD,         P_ST16_LE,        OK,  DATA | DIRTY },
    { K_MOD,         P_ST16_BE,        OK,  DATA | DIRTY },
    { K_MOD,         P_ST32_LE,        OK,  DATA | DIRTY },
    { K_MOD,         P_ST32_BE,        OK,  DATA | DIRTY },
    { K_MOD,         P_ST64_LE,        OK,  DATA | DIRTY },
    { K_MOD,         P_ST64_BE,        OK,  DATA | DIRTY },
    { K_MOD,         P_STRADDLE_READ,  OK,  DATA },
    { K_MOD,         P_STRADDLE_WRITE, OK,  DATA | DIRTY },
    { K_MOD,         P_STRADDLE_LD64,  OK,  DATA },
    { K_MOD,         P_STRADDLE_ST64,  OK,  DATA | DIRTY },
    { K_MOD,         P_VALID_READ,     OK,  VALID },
    { K_MOD,         P_VALID_WRITE,    OK,  VALID },
    { K_MOD,         P_MAP_READ,       OK,  DIRECT },
    { K_MOD,         P_MAP_WRITE,      OK,  DIRECT | DIRTY },
    { K_MOD,         P_CACHE_READ,     OK,  DATA },
    { K_MOD,         P_CACHE_WRITE,    OK,  DATA | DIRTY },
    { K_MOD,         P_LOOKUP,         OK,  SECT },
    { K_MOD,         P_SECTIONS,       OK,  SECT },
    { K_MOD,         P_LISTENER,       OK,  SECT },

    /* map-on-demand, page 5: the provider refuses every mapping */
    { K_MOD_REFUSED, P_READ,           ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_WRITE,          ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_RW_READ,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_RW_WRITE,       ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_FILL,           ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD8,            ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD16_LE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD16_BE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD32_LE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD32_BE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD64_LE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_LD64_BE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST8,            ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST16_LE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST16_BE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST32_LE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST32_BE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST64_LE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_ST64_BE,        ACC, ZERO | LOG },
    { K_MOD_REFUSED, P_STRADDLE_READ,  ACC, HALF | LOG },
    { K_MOD_REFUSED, P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_MOD_REFUSED, P_STRADDLE_LD64,  ACC, HALF | LOG },
    { K_MOD_REFUSED, P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_MOD_REFUSED, P_VALID_READ,     OK,  VALID },
    { K_MOD_REFUSED, P_VALID_WRITE,    OK,  VALID },
    { K_MOD_REFUSED, P_MAP_READ,       OK,  NOMAP | LOG },
    { K_MOD_REFUSED, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_MOD_REFUSED, P_CACHE_READ,     OK,  NOCACHE | LOGANY },
    { K_MOD_REFUSED, P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_MOD_REFUSED, P_LOOKUP,         OK,  SECT },
    { K_MOD_REFUSED, P_SECTIONS,       OK,  SECT },
    { K_MOD_REFUSED, P_LISTENER,       OK,  SECT },

    /* map-on-demand, page 3: the provider refuses write mappings */
    { K_MOD_RO,      P_READ,           OK,  DATA },
    { K_MOD_RO,      P_WRITE,          ACC, ZERO | LOG },
    { K_MOD_RO,      P_RW_READ,        OK,  DATA },
    { K_MOD_RO,      P_RW_WRITE,       ACC, ZERO | LOG },
    { K_MOD_RO,      P_FILL,           ACC, ZERO | LOG },
    { K_MOD_RO,      P_LD8,            OK,  DATA },
    { K_MOD_RO,      P_LD16_LE,        OK,  DATA },
    { K_MOD_RO,      P_LD16_BE,        OK,  DATA },
    { K_MOD_RO,      P_LD32_LE,        OK,  DATA },
    { K_MOD_RO,      P_LD32_BE,        OK,  DATA },
    { K_MOD_RO,      P_LD64_LE,        OK,  DATA },
    { K_MOD_RO,      P_LD64_BE,        OK,  DATA },
    { K_MOD_RO,      P_ST8,            ACC, ZERO | LOG },
    { K_MOD_RO,      P_ST16_LE,        ACC, ZERO | LOG },
    { K_MOD_RO,      P_ST16_BE,        ACC, ZERO | LOG },
    { K_MOD_RO,      P_ST32_LE,        ACC, ZERO | LOG },
    { K_MOD_RO,      P_ST32_BE,        ACC, ZERO | LOG },
    { K_MOD_RO,      P_ST64_LE,        ACC, ZERO | LOG },
    { K_MOD_RO,      P_ST64_BE,        ACC, ZERO | LOG },
    { K_MOD_RO,      P_STRADDLE_READ,  OK,  DATA },
    { K_MOD_RO,      P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_MOD_RO,      P_STRADDLE_LD64,  OK,  DATA },
    { K_MOD_RO,      P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_MOD_RO,      P_VALID_READ,     OK,  VALID },
    { K_MOD_RO,      P_VALID_WRITE,    OK,  VALID },
    { K_MOD_RO,      P_MAP_READ,       OK,  DIRECT },
    { K_MOD_RO,      P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_MOD_RO,      P_CACHE_READ,     OK,  DATA },
    { K_MOD_RO,      P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_MOD_RO,      P_LOOKUP,         OK,  SECT },
    { K_MOD_RO,      P_SECTIONS,       OK,  SECT },
    { K_MOD_RO,      P_LISTENER,       OK,  SECT },

    /* map-on-demand with a copy op, page 7 (logged): rw and ld/st use copy */
    { K_CMOD,        P_READ,           OK,  DATA },
    { K_CMOD,        P_WRITE,          OK,  DATA | DIRTY },
    { K_CMOD,        P_RW_READ,        OK,  DATA },
    { K_CMOD,        P_RW_WRITE,       OK,  DATA | DIRTY },
    { K_CMOD,        P_FILL,           OK,  DATA | DIRTY },
    { K_CMOD,        P_LD8,            OK,  DATA },
    { K_CMOD,        P_LD16_LE,        OK,  DATA },
    { K_CMOD,        P_LD16_BE,        OK,  DATA },
    { K_CMOD,        P_LD32_LE,        OK,  DATA },
    { K_CMOD,        P_LD32_BE,        OK,  DATA },
    { K_CMOD,        P_LD64_LE,        OK,  DATA },
    { K_CMOD,        P_LD64_BE,        OK,  DATA },
    { K_CMOD,        P_ST8,            OK,  DATA | DIRTY },
    { K_CMOD,        P_ST16_LE,        OK,  DATA | DIRTY },
    { K_CMOD,        P_ST16_BE,        OK,  DATA | DIRTY },
    { K_CMOD,        P_ST32_LE,        OK,  DATA | DIRTY },
    { K_CMOD,        P_ST32_BE,        OK,  DATA | DIRTY },
    { K_CMOD,        P_ST64_LE,        OK,  DATA | DIRTY },
    { K_CMOD,        P_ST64_BE,        OK,  DATA | DIRTY },
    { K_CMOD,        P_STRADDLE_READ,  OK,  DATA },
    { K_CMOD,        P_STRADDLE_WRITE, OK,  DATA | DIRTY },
    { K_CMOD,        P_STRADDLE_LD64,  OK,  DATA },
    { K_CMOD,        P_STRADDLE_ST64,  OK,  DATA | DIRTY },
    { K_CMOD,        P_VALID_READ,     OK,  VALID },
    { K_CMOD,        P_VALID_WRITE,    OK,  VALID },
    { K_CMOD,        P_MAP_READ,       OK,  DIRECT },
    { K_CMOD,        P_MAP_WRITE,      OK,  DIRECT | DIRTY },
    { K_CMOD,        P_CACHE_READ,     OK,  DATA },
    { K_CMOD,        P_CACHE_WRITE,    OK,  DATA | DIRTY },
    { K_CMOD,        P_LOOKUP,         OK,  SECT },
    { K_CMOD,        P_SECTIONS,       OK,  SECT },
    { K_CMOD,        P_LISTENER,       OK,  SECT },

    /* ... page 5: copy refused; the refusal is per 4 KiB page as with map */
    { K_CMOD_REFUSED, P_READ,           ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_WRITE,          ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_RW_READ,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_RW_WRITE,       ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_FILL,           ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD8,            ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD16_LE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD16_BE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD32_LE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD32_BE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD64_LE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_LD64_BE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST8,            ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST16_LE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST16_BE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST32_LE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST32_BE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST64_LE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_ST64_BE,        ACC, ZERO | LOG },
    { K_CMOD_REFUSED, P_STRADDLE_READ,  ACC, HALF | LOG },
    { K_CMOD_REFUSED, P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_CMOD_REFUSED, P_STRADDLE_LD64,  ACC, HALF | LOG },
    { K_CMOD_REFUSED, P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_CMOD_REFUSED, P_VALID_READ,     OK,  VALID },
    { K_CMOD_REFUSED, P_VALID_WRITE,    OK,  VALID },
    { K_CMOD_REFUSED, P_MAP_READ,       OK,  NOMAP | LOG },
    { K_CMOD_REFUSED, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_CMOD_REFUSED, P_CACHE_READ,     OK,  NOCACHE | LOGANY },
    { K_CMOD_REFUSED, P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_CMOD_REFUSED, P_LOOKUP,         OK,  SECT },
    { K_CMOD_REFUSED, P_SECTIONS,       OK,  SECT },
    { K_CMOD_REFUSED, P_LISTENER,       OK,  SECT },

    /* ... page 3: copy refused for writes */
    { K_CMOD_RO,     P_READ,           OK,  DATA },
    { K_CMOD_RO,     P_WRITE,          ACC, ZERO | LOG },
    { K_CMOD_RO,     P_RW_READ,        OK,  DATA },
    { K_CMOD_RO,     P_RW_WRITE,       ACC, ZERO | LOG },
    { K_CMOD_RO,     P_FILL,           ACC, ZERO | LOG },
    { K_CMOD_RO,     P_LD8,            OK,  DATA },
    { K_CMOD_RO,     P_LD16_LE,        OK,  DATA },
    { K_CMOD_RO,     P_LD16_BE,        OK,  DATA },
    { K_CMOD_RO,     P_LD32_LE,        OK,  DATA },
    { K_CMOD_RO,     P_LD32_BE,        OK,  DATA },
    { K_CMOD_RO,     P_LD64_LE,        OK,  DATA },
    { K_CMOD_RO,     P_LD64_BE,        OK,  DATA },
    { K_CMOD_RO,     P_ST8,            ACC, ZERO | LOG },
    { K_CMOD_RO,     P_ST16_LE,        ACC, ZERO | LOG },
    { K_CMOD_RO,     P_ST16_BE,        ACC, ZERO | LOG },
    { K_CMOD_RO,     P_ST32_LE,        ACC, ZERO | LOG },
    { K_CMOD_RO,     P_ST32_BE,        ACC, ZERO | LOG },
    { K_CMOD_RO,     P_ST64_LE,        ACC, ZERO | LOG },
    { K_CMOD_RO,     P_ST64_BE,        ACC, ZERO | LOG },
    { K_CMOD_RO,     P_STRADDLE_READ,  OK,  DATA },
    { K_CMOD_RO,     P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_CMOD_RO,     P_STRADDLE_LD64,  OK,  DATA },
    { K_CMOD_RO,     P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_CMOD_RO,     P_VALID_READ,     OK,  VALID },
    { K_CMOD_RO,     P_VALID_WRITE,    OK,  VALID },
    { K_CMOD_RO,     P_MAP_READ,       OK,  DIRECT },
    { K_CMOD_RO,     P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_CMOD_RO,     P_CACHE_READ,     OK,  DATA },
    { K_CMOD_RO,     P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_CMOD_RO,     P_LOOKUP,         OK,  SECT },
    { K_CMOD_RO,     P_SECTIONS,       OK,  SECT },
    { K_CMOD_RO,     P_LISTENER,       OK,  SECT },

    /* read-only alias of the map-on-demand region, page 7: as ROM (mapped.h) */
    { K_ROALIAS_MOD, P_READ,           OK,  DATA },
    { K_ROALIAS_MOD, P_WRITE,          DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_RW_READ,        OK,  DATA },
    { K_ROALIAS_MOD, P_RW_WRITE,       DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_FILL,           DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_LD8,            OK,  DATA },
    { K_ROALIAS_MOD, P_LD16_LE,        OK,  DATA },
    { K_ROALIAS_MOD, P_LD16_BE,        OK,  DATA },
    { K_ROALIAS_MOD, P_LD32_LE,        OK,  DATA },
    { K_ROALIAS_MOD, P_LD32_BE,        OK,  DATA },
    { K_ROALIAS_MOD, P_LD64_LE,        OK,  DATA },
    { K_ROALIAS_MOD, P_LD64_BE,        OK,  DATA },
    { K_ROALIAS_MOD, P_ST8,            DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_ST16_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_ST16_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_ST32_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_ST32_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_ST64_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_ST64_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_STRADDLE_READ,  OK,  DATA },
    { K_ROALIAS_MOD, P_STRADDLE_WRITE, DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_STRADDLE_LD64,  OK,  DATA },
    { K_ROALIAS_MOD, P_STRADDLE_ST64,  DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_VALID_READ,     OK,  VALID },
    { K_ROALIAS_MOD, P_VALID_WRITE,    OK,  INVALID },
    { K_ROALIAS_MOD, P_MAP_READ,       OK,  DIRECT },
    { K_ROALIAS_MOD, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_ROALIAS_MOD, P_CACHE_READ,     OK,  DATA },
    { K_ROALIAS_MOD, P_CACHE_WRITE,    DEC, ZERO | LOG },
    { K_ROALIAS_MOD, P_LOOKUP,         OK,  SECT | RO },
    { K_ROALIAS_MOD, P_SECTIONS,       OK,  SECT | RO },
    { K_ROALIAS_MOD, P_LISTENER,       OK,  SECT | RO },

    /* IOMMU, IOVA page 7 -> target RAM page 6 (target logged) */
    { K_IOMMU,       P_READ,           OK,  DATA },
    { K_IOMMU,       P_WRITE,          OK,  DATA | DIRTY },
    { K_IOMMU,       P_RW_READ,        OK,  DATA },
    { K_IOMMU,       P_RW_WRITE,       OK,  DATA | DIRTY },
    { K_IOMMU,       P_FILL,           OK,  DATA | DIRTY },
    { K_IOMMU,       P_LD8,            OK,  DATA },
    { K_IOMMU,       P_LD16_LE,        OK,  DATA },
    { K_IOMMU,       P_LD16_BE,        OK,  DATA },
    { K_IOMMU,       P_LD32_LE,        OK,  DATA },
    { K_IOMMU,       P_LD32_BE,        OK,  DATA },
    { K_IOMMU,       P_LD64_LE,        OK,  DATA },
    { K_IOMMU,       P_LD64_BE,        OK,  DATA },
    { K_IOMMU,       P_ST8,            OK,  DATA | DIRTY },
    { K_IOMMU,       P_ST16_LE,        OK,  DATA | DIRTY },
    { K_IOMMU,       P_ST16_BE,        OK,  DATA | DIRTY },
    { K_IOMMU,       P_ST32_LE,        OK,  DATA | DIRTY },
    { K_IOMMU,       P_ST32_BE,        OK,  DATA | DIRTY },
    { K_IOMMU,       P_ST64_LE,        OK,  DATA | DIRTY },
    { K_IOMMU,       P_ST64_BE,        OK,  DATA | DIRTY },
    { K_IOMMU,       P_STRADDLE_READ,  OK,  DATA },
    { K_IOMMU,       P_STRADDLE_WRITE, OK,  DATA | DIRTY },
    { K_IOMMU,       P_STRADDLE_LD64,  OK,  DATA },
    { K_IOMMU,       P_STRADDLE_ST64,  OK,  DATA | DIRTY },
    { K_IOMMU,       P_VALID_READ,     OK,  VALID },
    { K_IOMMU,       P_VALID_WRITE,    OK,  VALID },
    { K_IOMMU,       P_MAP_READ,       OK,  DIRECT },
    { K_IOMMU,       P_MAP_WRITE,      OK,  DIRECT | DIRTY },
    { K_IOMMU,       P_CACHE_READ,     OK,  DATA },
    { K_IOMMU,       P_CACHE_WRITE,    OK,  DATA | DIRTY },
    { K_IOMMU,       P_LOOKUP,         OK,  SECT },
    { K_IOMMU,       P_SECTIONS,       OK,  SECT },
    { K_IOMMU,       P_LISTENER,       OK,  SECT },

    /* IOMMU, IOVA page 5: no translation */
    { K_IOMMU_FAULT, P_READ,           ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_WRITE,          ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_RW_READ,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_RW_WRITE,       ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_FILL,           ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD8,            ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD16_LE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD16_BE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD32_LE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD32_BE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD64_LE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_LD64_BE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST8,            ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST16_LE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST16_BE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST32_LE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST32_BE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST64_LE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_ST64_BE,        ACC, ZERO | LOG },
    { K_IOMMU_FAULT, P_STRADDLE_READ,  ACC, HALF | LOG },
    { K_IOMMU_FAULT, P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_IOMMU_FAULT, P_STRADDLE_LD64,  ACC, HALF | LOG },
    { K_IOMMU_FAULT, P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_IOMMU_FAULT, P_VALID_READ,     OK,  INVALID | LOGANY },
    { K_IOMMU_FAULT, P_VALID_WRITE,    OK,  INVALID | LOGANY },
    { K_IOMMU_FAULT, P_MAP_READ,       OK,  NOMAP | LOG },
    { K_IOMMU_FAULT, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_IOMMU_FAULT, P_CACHE_READ,     OK,  NOCACHE | LOGANY },
    { K_IOMMU_FAULT, P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_IOMMU_FAULT, P_LOOKUP,         OK,  SECT },
    { K_IOMMU_FAULT, P_SECTIONS,       OK,  SECT },
    { K_IOMMU_FAULT, P_LISTENER,       OK,  SECT },

    /* IOMMU, IOVA page 3: read-only translation */
    { K_IOMMU_RO,    P_READ,           OK,  DATA },
    { K_IOMMU_RO,    P_WRITE,          ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_RW_READ,        OK,  DATA },
    { K_IOMMU_RO,    P_RW_WRITE,       ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_FILL,           ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_LD8,            OK,  DATA },
    { K_IOMMU_RO,    P_LD16_LE,        OK,  DATA },
    { K_IOMMU_RO,    P_LD16_BE,        OK,  DATA },
    { K_IOMMU_RO,    P_LD32_LE,        OK,  DATA },
    { K_IOMMU_RO,    P_LD32_BE,        OK,  DATA },
    { K_IOMMU_RO,    P_LD64_LE,        OK,  DATA },
    { K_IOMMU_RO,    P_LD64_BE,        OK,  DATA },
    { K_IOMMU_RO,    P_ST8,            ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_ST16_LE,        ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_ST16_BE,        ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_ST32_LE,        ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_ST32_BE,        ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_ST64_LE,        ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_ST64_BE,        ACC, ZERO | LOG },
    { K_IOMMU_RO,    P_STRADDLE_READ,  OK,  DATA },
    { K_IOMMU_RO,    P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_IOMMU_RO,    P_STRADDLE_LD64,  OK,  DATA },
    { K_IOMMU_RO,    P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_IOMMU_RO,    P_VALID_READ,     OK,  VALID },
    { K_IOMMU_RO,    P_VALID_WRITE,    OK,  INVALID | LOGANY },
    { K_IOMMU_RO,    P_MAP_READ,       OK,  DIRECT },
    { K_IOMMU_RO,    P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_IOMMU_RO,    P_CACHE_READ,     OK,  DATA },
    { K_IOMMU_RO,    P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_IOMMU_RO,    P_LOOKUP,         OK,  SECT },
    { K_IOMMU_RO,    P_SECTIONS,       OK,  SECT },
    { K_IOMMU_RO,    P_LISTENER,       OK,  SECT },

    /* read-only alias of the IOMMU region, IOVA page 7: as ROM */
    { K_ROALIAS_IOMMU, P_READ,           OK,  DATA },
    { K_ROALIAS_IOMMU, P_WRITE,          DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_RW_READ,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_RW_WRITE,       DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_FILL,           DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_LD8,            OK,  DATA },
    { K_ROALIAS_IOMMU, P_LD16_LE,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_LD16_BE,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_LD32_LE,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_LD32_BE,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_LD64_LE,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_LD64_BE,        OK,  DATA },
    { K_ROALIAS_IOMMU, P_ST8,            DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_ST16_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_ST16_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_ST32_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_ST32_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_ST64_LE,        DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_ST64_BE,        DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_STRADDLE_READ,  OK,  DATA },
    { K_ROALIAS_IOMMU, P_STRADDLE_WRITE, DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_STRADDLE_LD64,  OK,  DATA },
    { K_ROALIAS_IOMMU, P_STRADDLE_ST64,  DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_VALID_READ,     OK,  VALID },
    { K_ROALIAS_IOMMU, P_VALID_WRITE,    OK,  INVALID },
    { K_ROALIAS_IOMMU, P_MAP_READ,       OK,  DIRECT },
    { K_ROALIAS_IOMMU, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_ROALIAS_IOMMU, P_CACHE_READ,     OK,  DATA },
    { K_ROALIAS_IOMMU, P_CACHE_WRITE,    DEC, ZERO | LOG },
    { K_ROALIAS_IOMMU, P_LOOKUP,         OK,  SECT | RO },
    { K_ROALIAS_IOMMU, P_SECTIONS,       OK,  SECT | RO },
    { K_ROALIAS_IOMMU, P_LISTENER,       OK,  SECT | RO },

    /* grant ref 1, granted read-write (grant region logged) */
    { K_GNT_RW,      P_READ,           OK,  DATA },
    { K_GNT_RW,      P_WRITE,          OK,  DATA | DIRTY },
    { K_GNT_RW,      P_RW_READ,        OK,  DATA },
    { K_GNT_RW,      P_RW_WRITE,       OK,  DATA | DIRTY },
    { K_GNT_RW,      P_FILL,           OK,  DATA | DIRTY },
    { K_GNT_RW,      P_LD8,            OK,  DATA },
    { K_GNT_RW,      P_LD16_LE,        OK,  DATA },
    { K_GNT_RW,      P_LD16_BE,        OK,  DATA },
    { K_GNT_RW,      P_LD32_LE,        OK,  DATA },
    { K_GNT_RW,      P_LD32_BE,        OK,  DATA },
    { K_GNT_RW,      P_LD64_LE,        OK,  DATA },
    { K_GNT_RW,      P_LD64_BE,        OK,  DATA },
    { K_GNT_RW,      P_ST8,            OK,  DATA | DIRTY },
    { K_GNT_RW,      P_ST16_LE,        OK,  DATA | DIRTY },
    { K_GNT_RW,      P_ST16_BE,        OK,  DATA | DIRTY },
    { K_GNT_RW,      P_ST32_LE,        OK,  DATA | DIRTY },
    { K_GNT_RW,      P_ST32_BE,        OK,  DATA | DIRTY },
    { K_GNT_RW,      P_ST64_LE,        OK,  DATA | DIRTY },
    { K_GNT_RW,      P_ST64_BE,        OK,  DATA | DIRTY },
    { K_GNT_RW,      P_STRADDLE_READ,  OK,  DATA },
    { K_GNT_RW,      P_STRADDLE_WRITE, OK,  DATA | DIRTY },
    { K_GNT_RW,      P_STRADDLE_LD64,  OK,  DATA },
    { K_GNT_RW,      P_STRADDLE_ST64,  OK,  DATA | DIRTY },
    { K_GNT_RW,      P_VALID_READ,     OK,  VALID },
    { K_GNT_RW,      P_VALID_WRITE,    OK,  VALID },
    { K_GNT_RW,      P_MAP_READ,       OK,  MAPPED },
    { K_GNT_RW,      P_MAP_WRITE,      OK,  MAPPED | DIRTY },
    { K_GNT_RW,      P_CACHE_READ,     OK,  DATA },
    { K_GNT_RW,      P_CACHE_WRITE,    OK,  DATA | DIRTY },
    { K_GNT_RW,      P_LOOKUP,         OK,  SECT },
    { K_GNT_RW,      P_SECTIONS,       OK,  SECT },
    { K_GNT_RW,      P_LISTENER,       OK,  SECT },

    /* grant ref 3, granted read-only */
    { K_GNT_RO,      P_READ,           OK,  DATA },
    { K_GNT_RO,      P_WRITE,          ACC, ZERO | LOG },
    { K_GNT_RO,      P_RW_READ,        OK,  DATA },
    { K_GNT_RO,      P_RW_WRITE,       ACC, ZERO | LOG },
    { K_GNT_RO,      P_FILL,           ACC, ZERO | LOG },
    { K_GNT_RO,      P_LD8,            OK,  DATA },
    { K_GNT_RO,      P_LD16_LE,        OK,  DATA },
    { K_GNT_RO,      P_LD16_BE,        OK,  DATA },
    { K_GNT_RO,      P_LD32_LE,        OK,  DATA },
    { K_GNT_RO,      P_LD32_BE,        OK,  DATA },
    { K_GNT_RO,      P_LD64_LE,        OK,  DATA },
    { K_GNT_RO,      P_LD64_BE,        OK,  DATA },
    { K_GNT_RO,      P_ST8,            ACC, ZERO | LOG },
    { K_GNT_RO,      P_ST16_LE,        ACC, ZERO | LOG },
    { K_GNT_RO,      P_ST16_BE,        ACC, ZERO | LOG },
    { K_GNT_RO,      P_ST32_LE,        ACC, ZERO | LOG },
    { K_GNT_RO,      P_ST32_BE,        ACC, ZERO | LOG },
    { K_GNT_RO,      P_ST64_LE,        ACC, ZERO | LOG },
    { K_GNT_RO,      P_ST64_BE,        ACC, ZERO | LOG },
    { K_GNT_RO,      P_STRADDLE_READ,  OK,  DATA },
    { K_GNT_RO,      P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_GNT_RO,      P_STRADDLE_LD64,  OK,  DATA },
    { K_GNT_RO,      P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_GNT_RO,      P_VALID_READ,     OK,  VALID },
    { K_GNT_RO,      P_VALID_WRITE,    OK,  VALID },
    { K_GNT_RO,      P_MAP_READ,       OK,  MAPPED },
    { K_GNT_RO,      P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_GNT_RO,      P_CACHE_READ,     OK,  DATA },
    { K_GNT_RO,      P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_GNT_RO,      P_LOOKUP,         OK,  SECT },
    { K_GNT_RO,      P_SECTIONS,       OK,  SECT },
    { K_GNT_RO,      P_LISTENER,       OK,  SECT },

    /* grant ref 5, never granted */
    { K_GNT_NONE,    P_READ,           ACC, ZERO | LOG },
    { K_GNT_NONE,    P_WRITE,          ACC, ZERO | LOG },
    { K_GNT_NONE,    P_RW_READ,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_RW_WRITE,       ACC, ZERO | LOG },
    { K_GNT_NONE,    P_FILL,           ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD8,            ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD16_LE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD16_BE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD32_LE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD32_BE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD64_LE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_LD64_BE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST8,            ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST16_LE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST16_BE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST32_LE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST32_BE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST64_LE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_ST64_BE,        ACC, ZERO | LOG },
    { K_GNT_NONE,    P_STRADDLE_READ,  ACC, HALF | LOG },
    { K_GNT_NONE,    P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_GNT_NONE,    P_STRADDLE_LD64,  ACC, HALF | LOG },
    { K_GNT_NONE,    P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_GNT_NONE,    P_VALID_READ,     OK,  VALID },
    { K_GNT_NONE,    P_VALID_WRITE,    OK,  VALID },
    { K_GNT_NONE,    P_MAP_READ,       OK,  NOMAP | LOG },
    { K_GNT_NONE,    P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_GNT_NONE,    P_CACHE_READ,     OK,  NOCACHE | LOGANY },
    { K_GNT_NONE,    P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_GNT_NONE,    P_LOOKUP,         OK,  SECT },
    { K_GNT_NONE,    P_SECTIONS,       OK,  SECT },
    { K_GNT_NONE,    P_LISTENER,       OK,  SECT },

    /* grant ref 7, revoked after gm_mapcache_invalidate() */
    { K_GNT_REVOKED, P_READ,           ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_WRITE,          ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_RW_READ,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_RW_WRITE,       ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_FILL,           ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD8,            ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD16_LE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD16_BE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD32_LE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD32_BE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD64_LE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_LD64_BE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST8,            ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST16_LE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST16_BE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST32_LE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST32_BE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST64_LE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_ST64_BE,        ACC, ZERO | LOG },
    { K_GNT_REVOKED, P_STRADDLE_READ,  ACC, HALF | LOG },
    { K_GNT_REVOKED, P_STRADDLE_WRITE, ACC, HALF | DIRTY | LOG },
    { K_GNT_REVOKED, P_STRADDLE_LD64,  ACC, HALF | LOG },
    { K_GNT_REVOKED, P_STRADDLE_ST64,  ACC, HALF | DIRTY | LOG },
    { K_GNT_REVOKED, P_VALID_READ,     OK,  VALID },
    { K_GNT_REVOKED, P_VALID_WRITE,    OK,  VALID },
    { K_GNT_REVOKED, P_MAP_READ,       OK,  NOMAP | LOG },
    { K_GNT_REVOKED, P_MAP_WRITE,      OK,  NOMAP | LOG },
    { K_GNT_REVOKED, P_CACHE_READ,     OK,  NOCACHE | LOGANY },
    { K_GNT_REVOKED, P_CACHE_WRITE,    OK,  NOCACHE | LOGANY },
    { K_GNT_REVOKED, P_LOOKUP,         OK,  SECT },
    { K_GNT_REVOKED, P_SECTIONS,       OK,  SECT },
    { K_GNT_REVOKED, P_LISTENER,       OK,  SECT },
};

#define NCELLS (sizeof(cells) / sizeof(cells[0]))

/* ---- region implementations ------------------------------------------------ */

/* I/O and ROM-device registers: a byte array, little-endian values. */
typedef struct regfile {
    uint8_t bytes[REGION];
} regfile;

static uint64_t reg_read(void *opaque, gm_addr addr, unsigned int size)
{
    regfile *r = opaque;
    uint64_t v = 0;

    CHECK(addr + size <= REGION, "register read in range");
    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)r->bytes[addr + i] << (8 * i);
    return v;
}

static void reg_write(void *opaque, gm_addr addr, uint64_t data, unsigned int size)
{
    regfile *r = opaque;

    CHECK(addr + size <= REGION, "register write in range");
    for (unsigned int i = 0; i < size; i++)
        r->bytes[addr + i] = (uint8_t)(data >> (8 * i));
}

static const gm_region_ops reg_ops = {
    .read = reg_read,
    .write = reg_write,
    .endianness = GM_ENDIAN_LITTLE,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

/* Map-on-demand provider: at most one page per map; page 5 refused, page 3
 * read-only. */
typedef struct fake_mod {
    uint8_t mem[REGION];
    int live;
} fake_mod;

static void *mod_map(void *opaque, gm_addr offset, uint64_t *len, bool is_write, gm_attrs attrs,
                     void **handle)
{
    fake_mod *f = opaque;
    unsigned int page = (unsigned int)(offset / PAGE);

    (void)attrs;
    if (page >= NPAGES || page == 5 || (is_write && page == 3))
        return NULL;
    if (*len > PAGE - offset % PAGE)
        *len = PAGE - offset % PAGE;
    *handle = f;
    f->live++;
    return f->mem + offset;
}

static void mod_unmap(void *opaque, void *handle, void *host, uint64_t len, bool is_write,
                      uint64_t access_len)
{
    fake_mod *f = opaque;

    (void)is_write;
    CHECK(handle == f && host && len && access_len <= len, "unmap gets what map returned");
    f->live--;
}

/* The copy op: all or nothing, refused when the range touches a refused page. */
static gm_result mod_copy(void *opaque, gm_addr offset, void *buf, uint64_t len, bool is_write,
                          gm_attrs attrs)
{
    fake_mod *f = opaque;

    (void)attrs;
    if (!len || offset + len > REGION)
        return GM_ACCESS_ERROR;
    for (uint64_t page = offset / PAGE; page <= (offset + len - 1) / PAGE; page++) {
        if (page == 5 || (is_write && page == 3))
            return GM_ACCESS_ERROR;
    }
    memcpy(is_write ? f->mem + offset : buf, is_write ? buf : f->mem + offset, len);
    return GM_OK;
}

static const gm_mod_ops mod_ops = { .map = mod_map, .unmap = mod_unmap };
static const gm_mod_ops cmod_ops = { .map = mod_map, .unmap = mod_unmap, .copy = mod_copy };

/* IOMMU: IOVA page p -> target page p ^ 1; page 5 unmapped, page 3 read-only. */
typedef struct fake_iommu {
    gm_as *target;
} fake_iommu;

static gm_iotlb_entry iommu_translate(void *opaque, gm_addr addr, enum gm_iommu_perm flag,
                                      int iommu_idx)
{
    fake_iommu *f = opaque;
    unsigned int page = (unsigned int)(addr / PAGE);

    (void)flag;
    (void)iommu_idx;
    if (page >= NPAGES || page == 5)
        return (gm_iotlb_entry){ 0 };
    return (gm_iotlb_entry){ .target_as = f->target, .iova = addr & ~(gm_addr)(PAGE - 1),
                             .translated_addr = (gm_addr)(page ^ 1) * PAGE,
                             .addr_mask = PAGE - 1,
                             .perm = page == 3 ? GM_IOMMU_RO : GM_IOMMU_RW };
}

static const gm_iommu_ops iommu_ops = { .translate = iommu_translate };

/* Grant refs 0..7 of the grant region: frame, or -1 when not granted. Ref 7
 * is granted, used, dropped from the mapping cache and revoked at setup. */
static const int grant_frame[8] = { 20, 9, 30, 11, 13, -1, 40, 15 };
static const bool grant_ro[8] = { [3] = true };

/* ---- the fixture ----------------------------------------------------------- */

typedef struct backing {
    const char *name;
    uint8_t *p;
    size_t len;
    uint8_t *snap;
} backing;

typedef struct fixture {
    gm_system *sys;
    gm_region *root, *memroot;
    gm_region *ram, *rom, *ramd, *romd, *romdev, *io, *resv, *alias, *roalias, *empty;
    gm_region *roalias_ramd, *roalias_io, *roalias_mod, *roalias_iommu;
    gm_region *pads[NSIMPLE];
    gm_region *mod, *cmod, *dma, *iommu, *grants;
    gm_as *as, *mem;
    uint8_t *ramd_host;
    regfile romd_regs, romdev_regs, io_regs;
    fake_mod f, cf;
    fake_iommu fi;
    int guest_fd;
    uint8_t *guest;
    gm_gnttab_emu *gt;
    gm_grant_provider prov;
    gm_mapcache *mc;
    unsigned int guest_errors, errors;
    char last_log[256];
    backing b[32];
    unsigned int nb;
    gm_region *logged[8];
    unsigned int nlogged;
} fixture;

static void log_hook(void *opaque, enum gm_log_level level, const char *msg)
{
    fixture *fx = opaque;

    if (level == GM_LOG_GUEST_ERROR)
        fx->guest_errors++;
    else if (level == GM_LOG_ERROR)
        fx->errors++;
    snprintf(fx->last_log, sizeof(fx->last_log), "%s", msg);
}

static gm_addr simple_base(enum kind k)
{
    return SIMPLE_BASE + (gm_addr)k * SIMPLE_STRIDE;
}

static gm_addr grant_addr(unsigned int ref)
{
    return GM_GRANT_DMA_BASE + (gm_addr)ref * PAGE;
}

/* What backs a kind that is not a simple one. */
enum family { F_SIMPLE, F_MOD, F_CMOD, F_IOMMU, F_GRANT };

static enum family family(enum kind k)
{
    if (k < NSIMPLE)
        return F_SIMPLE;
    if (k <= K_MOD_RO || k == K_ROALIAS_MOD)
        return F_MOD;
    if (k <= K_CMOD_RO)
        return F_CMOD;
    if (k <= K_ROALIAS_IOMMU)
        return F_IOMMU;
    return F_GRANT;
}

/* Page of the cell inside a map-on-demand, IOMMU or grant region. */
static unsigned int cell_page(enum kind k)
{
    switch (k) {
    case K_MOD: case K_CMOD: case K_ROALIAS_MOD: case K_IOMMU: case K_ROALIAS_IOMMU:
    case K_GNT_REVOKED:
        return 7;
    case K_MOD_REFUSED: case K_CMOD_REFUSED: case K_IOMMU_FAULT: case K_GNT_NONE:
        return 5;
    case K_MOD_RO: case K_CMOD_RO: case K_IOMMU_RO: case K_GNT_RO:
        return 3;
    case K_GNT_RW:
        return 1;
    default:
        return 0;
    }
}

static gm_addr cell_addr(enum kind k)
{
    gm_addr page = cell_page(k) * PAGE;

    switch (k) {
    case K_ROALIAS_MOD: return ROALIAS_MOD_BASE + page;
    case K_ROALIAS_IOMMU: return ROALIAS_IOMMU_BASE + page;
    default: break;
    }
    switch (family(k)) {
    case F_SIMPLE: return simple_base(k);
    case F_MOD: return MOD_BASE + page;
    case F_CMOD: return CMOD_BASE + page;
    case F_IOMMU: return IOMMU_BASE + page;
    default: return grant_addr(cell_page(k));
    }
}

static void add_backing(fixture *fx, const char *name, void *p, size_t len)
{
    backing *b = &fx->b[fx->nb];

    CHECK(fx->nb < sizeof(fx->b) / sizeof(fx->b[0]), "backing slots");
    b->name = name;
    b->p = p;
    b->len = len;
    /* Never zero, and below 0x80: written bytes (0xc1...) always differ. */
    for (size_t i = 0; i < len; i++)
        b->p[i] = (uint8_t)((i * 13 + fx->nb * 29) % 127 + 1);
    fx->nb++;
}

static void add_logged(fixture *fx, gm_region *mr)
{
    CHECK(gm_region_set_log(mr, GM_DIRTY_USER, true) == 0, "log %s", gm_region_name(mr));
    fx->logged[fx->nlogged++] = mr;
}

static void add(gm_region *parent, gm_addr addr, gm_region *mr)
{
    CHECK(mr != NULL, "region created");
    CHECK(gm_region_add_subregion(parent, addr, mr) == 0, "add %s", gm_region_name(mr));
}

static fixture *fixture_new(void)
{
    gm_mapcache_config cfg = { 0, 1, false };
    fixture *fx = calloc(1, sizeof(*fx));
    static char pad_names[NSIMPLE][16];
    uint8_t b;

    CHECK(fx != NULL, "fixture");
    fx->sys = gm_system_new(0);
    CHECK(fx->sys != NULL, "system");
    gm_system_set_log(fx->sys, log_hook, fx, false);
    fx->root = gm_region_new_container(fx->sys, "dma-root", GM_SIZE_2_64);
    fx->memroot = gm_region_new_container(fx->sys, "memory-root", GM_SIZE_2_64);

    fx->ram = gm_region_new_ram(fx->sys, "ram", REGION);
    fx->rom = gm_region_new_rom(fx->sys, "rom", REGION);
    fx->ramd_host = aligned_alloc(PAGE, REGION);
    CHECK(fx->ramd_host != NULL, "ram device memory");
    fx->ramd = gm_region_new_ram_device_ptr(fx->sys, "ramd", REGION, fx->ramd_host);
    fx->romd = gm_region_new_rom_device(fx->sys, "romd", REGION, &reg_ops, &fx->romd_regs);
    fx->romdev = gm_region_new_rom_device(fx->sys, "romdev", REGION, &reg_ops,
                                          &fx->romdev_regs);
    CHECK(fx->romdev && gm_region_set_romd(fx->romdev, false) == 0, "romdev in i/o mode");
    fx->io = gm_region_new_io(fx->sys, "io", REGION, &reg_ops, &fx->io_regs);
    fx->resv = gm_region_new_reservation(fx->sys, "resv", REGION);
    fx->alias = gm_region_new_alias(fx->sys, "ram-alias", fx->ram, ALIAS_OFF, REGION - ALIAS_OFF);
    fx->roalias = gm_region_new_alias(fx->sys, "ram-ro-alias", fx->ram, ROALIAS_OFF, 0x4000);
    CHECK(fx->roalias != NULL, "read-only alias");
    gm_region_set_readonly(fx->roalias, true);
    fx->empty = gm_region_new_container(fx->sys, "empty", REGION);
    fx->roalias_ramd = gm_region_new_alias(fx->sys, "ramd-ro-alias", fx->ramd, 0, REGION);
    fx->roalias_io = gm_region_new_alias(fx->sys, "io-ro-alias", fx->io, 0, REGION);
    CHECK(fx->roalias_ramd && fx->roalias_io, "read-only aliases");
    gm_region_set_readonly(fx->roalias_ramd, true);
    gm_region_set_readonly(fx->roalias_io, true);

    add(fx->root, simple_base(K_RAM), fx->ram);
    add(fx->root, simple_base(K_ROM), fx->rom);
    add(fx->root, simple_base(K_RAMD), fx->ramd);
    add(fx->root, simple_base(K_ROMD), fx->romd);
    add(fx->root, simple_base(K_ROMDEV), fx->romdev);
    add(fx->root, simple_base(K_IO), fx->io);
    add(fx->root, simple_base(K_RESV), fx->resv);
    add(fx->root, simple_base(K_ALIAS), fx->alias);
    add(fx->root, simple_base(K_ROALIAS), fx->roalias);
    add(fx->root, simple_base(K_ROALIAS_RAMD), fx->roalias_ramd);
    add(fx->root, simple_base(K_ROALIAS_IO), fx->roalias_io);
    add(fx->root, simple_base(K_HOLE), fx->empty);
    for (int k = 0; k < NSIMPLE; k++) {
        snprintf(pad_names[k], sizeof(pad_names[k]), "pad-%d", k);
        fx->pads[k] = gm_region_new_ram(fx->sys, pad_names[k], PAGE);
        add(fx->root, simple_base((enum kind)k) - PAGE, fx->pads[k]);
    }

    fx->mod = gm_region_new_mapped(fx->sys, "mod", REGION, &mod_ops, &fx->f);
    add(fx->root, MOD_BASE, fx->mod);
    fx->cmod = gm_region_new_mapped(fx->sys, "mod-copy", REGION, &cmod_ops, &fx->cf);
    add(fx->root, CMOD_BASE, fx->cmod);
    fx->roalias_mod = gm_region_new_alias(fx->sys, "mod-ro-alias", fx->mod, 0, REGION);
    CHECK(fx->roalias_mod != NULL, "read-only alias of the map-on-demand region");
    gm_region_set_readonly(fx->roalias_mod, true);
    add(fx->root, ROALIAS_MOD_BASE, fx->roalias_mod);

    fx->dma = gm_region_new_ram(fx->sys, "dma-ram", REGION);
    add(fx->memroot, 0, fx->dma);
    fx->mem = gm_as_new(fx->sys, fx->memroot, "memory");
    fx->fi.target = fx->mem;
    fx->iommu = gm_region_new_iommu(fx->sys, "iommu", REGION, &iommu_ops, &fx->fi);
    add(fx->root, IOMMU_BASE, fx->iommu);
    fx->roalias_iommu = gm_region_new_alias(fx->sys, "iommu-ro-alias", fx->iommu, 0, REGION);
    CHECK(fx->roalias_iommu != NULL, "read-only alias of the IOMMU region");
    gm_region_set_readonly(fx->roalias_iommu, true);
    add(fx->root, ROALIAS_IOMMU_BASE, fx->roalias_iommu);

    fx->guest_fd = memfd_create("guest-ram", 0);
    CHECK(fx->guest_fd >= 0 && ftruncate(fx->guest_fd, GUEST_PAGES * PAGE) == 0, "guest ram");
    fx->guest = mmap(NULL, GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fx->guest_fd,
                     0);
    CHECK(fx->guest != MAP_FAILED, "map guest ram");
    fx->gt = gm_gnttab_emu_create(16, fx->guest_fd, GUEST_PAGES * PAGE, BACKEND);
    CHECK(fx->gt != NULL, "grant table");
    fx->prov = gm_gnttab_emu_provider(fx->gt);
    fx->mc = gm_mapcache_new(&cfg);
    CHECK(fx->mc != NULL, "mapping cache");
    fx->grants = gm_grant_region_new(fx->mc, fx->sys, "grants", &fx->prov, GUEST, NPAGES);
    add(fx->root, GM_GRANT_DMA_BASE, fx->grants);

    fx->as = gm_as_new(fx->sys, fx->root, "dma");
    CHECK(fx->as && fx->mem, "address spaces");

    add_backing(fx, "ram", gm_region_get_ram_ptr(fx->ram), REGION);
    add_backing(fx, "rom", gm_region_get_ram_ptr(fx->rom), REGION);
    add_backing(fx, "ram-device", fx->ramd_host, REGION);
    add_backing(fx, "romd memory", gm_region_get_ram_ptr(fx->romd), REGION);
    add_backing(fx, "romd registers", fx->romd_regs.bytes, REGION);
    add_backing(fx, "romdev memory", gm_region_get_ram_ptr(fx->romdev), REGION);
    add_backing(fx, "romdev registers", fx->romdev_regs.bytes, REGION);
    add_backing(fx, "i/o registers", fx->io_regs.bytes, REGION);
    add_backing(fx, "map-on-demand memory", fx->f.mem, REGION);
    add_backing(fx, "map-on-demand+copy memory", fx->cf.mem, REGION);
    add_backing(fx, "iommu target ram", gm_region_get_ram_ptr(fx->dma), REGION);
    add_backing(fx, "guest grant frames", fx->guest, GUEST_PAGES * PAGE);
    for (int k = 0; k < NSIMPLE; k++)
        add_backing(fx, pad_names[k], gm_region_get_ram_ptr(fx->pads[k]), PAGE);

    add_logged(fx, fx->ram);
    add_logged(fx, fx->rom);
    add_logged(fx, fx->romd);
    add_logged(fx, fx->romdev);
    add_logged(fx, fx->dma);
    add_logged(fx, fx->mod);
    add_logged(fx, fx->cmod);
    add_logged(fx, fx->grants);

    for (gm_grant_ref r = 0; r < 8; r++) {
        if (grant_frame[r] >= 0)
            CHECK(gm_gnttab_emu_grant(fx->gt, r, BACKEND, (uint32_t)grant_frame[r],
                                      grant_ro[r]) == 0, "grant ref %u", r);
    }
    /* Ref 7: used (so the mapping cache holds it), dropped, then revoked. */
    CHECK(gm_as_ld8(fx->as, grant_addr(7), GM_ATTRS_UNSPECIFIED, &b) == GM_OK, "use ref 7");
    CHECK(gm_mapcache_invalidate(fx->mc, fx->grants, 7 * PAGE, PAGE) == 1, "drop ref 7");
    CHECK(gm_gnttab_emu_end_access(fx->gt, 7) == 0, "revoke ref 7");

    for (unsigned int i = 0; i < fx->nb; i++) {
        fx->b[i].snap = malloc(fx->b[i].len);
        CHECK(fx->b[i].snap != NULL, "snapshot");
        memcpy(fx->b[i].snap, fx->b[i].p, fx->b[i].len);
    }
    for (unsigned int i = 0; i < fx->nlogged; i++)
        gm_region_reset_dirty(fx->logged[i], 0, REGION, GM_DIRTY_USER);
    fx->guest_errors = fx->errors = 0;
    return fx;
}

static void fixture_free(fixture *fx)
{
    gm_region *const regions[] = {
        fx->ram, fx->rom, fx->ramd, fx->romd, fx->romdev, fx->io, fx->resv, fx->alias,
        fx->roalias, fx->empty, fx->roalias_ramd, fx->roalias_io, fx->roalias_mod,
        fx->roalias_iommu, fx->mod, fx->cmod, fx->dma, fx->iommu, fx->grants, fx->root,
        fx->memroot,
    };

    gm_as_free(fx->as);
    gm_as_free(fx->mem);
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
        gm_region_unref(regions[i]);
    for (int k = 0; k < NSIMPLE; k++)
        gm_region_unref(fx->pads[k]);
    gm_system_free(fx->sys);
    gm_mapcache_free(fx->mc);
    CHECK(fx->f.live == 0 && fx->cf.live == 0, "map-on-demand: %d + %d mappings left",
          fx->f.live, fx->cf.live);
    for (gm_grant_ref r = 0; r < 16; r++) {
        gm_grant_entry_v1 e;

        CHECK(gm_gnttab_emu_entry(fx->gt, r, &e) == 0, "entry");
        CHECK(!(e.flags & (GM_GTF_READING | GM_GTF_WRITING)), "ref %u left mapped", r);
    }
    gm_gnttab_emu_free(fx->gt);
    munmap(fx->guest, GUEST_PAGES * PAGE);
    close(fx->guest_fd);
    free(fx->ramd_host);
    for (unsigned int i = 0; i < fx->nb; i++)
        free(fx->b[i].snap);
    free(fx);
}

/* ---- where each byte of a cell lives ----------------------------------------- */

/* Byte @d of an access relative to the cell address: where reads come from,
 * where writes land, and which logged region (if any) must see it dirty. */
typedef struct loc {
    uint8_t *rd;
    uint8_t *wr;
    gm_region *dmr;
    gm_addr doff;
} loc;

static loc byte_loc(fixture *fx, enum kind k, int d)
{
    loc l = { 0 };
    uint8_t *p = NULL;

    if (k < NSIMPLE && d < 0) {
        l.rd = l.wr = (uint8_t *)gm_region_get_ram_ptr(fx->pads[k]) + PAGE + d;
        return l;
    }
    if (k < NSIMPLE) {
        switch (k) {
        case K_RAM:
            l.rd = l.wr = (uint8_t *)gm_region_get_ram_ptr(fx->ram) + d;
            l.dmr = fx->ram;
            l.doff = (gm_addr)d;
            break;
        case K_ROM:
            l.rd = l.wr = (uint8_t *)gm_region_get_ram_ptr(fx->rom) + d;
            l.dmr = fx->rom;
            l.doff = (gm_addr)d;
            break;
        case K_RAMD:
            l.rd = l.wr = fx->ramd_host + d;
            break;
        case K_ROMD:
            l.rd = (uint8_t *)gm_region_get_ram_ptr(fx->romd) + d;
            l.wr = fx->romd_regs.bytes + d;
            break;
        case K_ROMDEV:
            l.rd = l.wr = fx->romdev_regs.bytes + d;
            break;
        case K_IO:
        case K_ROALIAS_IO:
            l.rd = l.wr = fx->io_regs.bytes + d;
            break;
        case K_ROALIAS_RAMD:
            l.rd = l.wr = fx->ramd_host + d;
            break;
        case K_ALIAS:
        case K_ROALIAS: {
            gm_addr off = (k == K_ALIAS ? ALIAS_OFF : ROALIAS_OFF) + (gm_addr)d;

            l.rd = l.wr = (uint8_t *)gm_region_get_ram_ptr(fx->ram) + off;
            l.dmr = fx->ram;
            l.doff = off;
            break;
        }
        default: /* reservation, hole: no memory */
            break;
        }
        return l;
    }

    unsigned int page = cell_page(k) - (d < 0 ? 1 : 0);
    gm_addr in = d < 0 ? (gm_addr)(PAGE + d) : (gm_addr)d;

    if (family(k) == F_MOD || family(k) == F_CMOD) {
        bool copy = family(k) == F_CMOD;

        p = (copy ? fx->cf.mem : fx->f.mem) + page * PAGE + in;
        l.dmr = copy ? fx->cmod : fx->mod;
        l.doff = page * PAGE + in;
    } else if (family(k) == F_IOMMU) {
        p = (uint8_t *)gm_region_get_ram_ptr(fx->dma) + (page ^ 1) * PAGE + in;
        l.dmr = fx->dma;
        l.doff = (page ^ 1) * PAGE + in;
    } else {
        if (grant_frame[page] >= 0)
            p = fx->guest + (size_t)grant_frame[page] * PAGE + in;
        l.dmr = fx->grants;
        l.doff = page * PAGE + in;
    }
    l.rd = l.wr = p;
    return l;
}

/* The section a kind's cell must be in. */
typedef struct want_section {
    gm_region *mr;
    gm_addr owr;
    gm_addr oas;
    uint64_t size;
    uint8_t log_mask;
} want_section;

static want_section kind_section(fixture *fx, enum kind k)
{
    const uint8_t user = 1u << GM_DIRTY_USER;

    switch (k) {
    case K_RAM: return (want_section){ fx->ram, 0, simple_base(k), REGION, user };
    case K_ROM: return (want_section){ fx->rom, 0, simple_base(k), REGION, user };
    case K_RAMD: return (want_section){ fx->ramd, 0, simple_base(k), REGION, 0 };
    case K_ROMD: return (want_section){ fx->romd, 0, simple_base(k), REGION, user };
    case K_ROMDEV: return (want_section){ fx->romdev, 0, simple_base(k), REGION, user };
    case K_IO: return (want_section){ fx->io, 0, simple_base(k), REGION, 0 };
    case K_RESV: return (want_section){ fx->resv, 0, simple_base(k), REGION, 0 };
    case K_ALIAS:
        return (want_section){ fx->ram, ALIAS_OFF, simple_base(k), REGION - ALIAS_OFF, user };
    case K_ROALIAS: return (want_section){ fx->ram, ROALIAS_OFF, simple_base(k), 0x4000, user };
    case K_ROALIAS_RAMD: return (want_section){ fx->ramd, 0, simple_base(k), REGION, 0 };
    case K_ROALIAS_IO: return (want_section){ fx->io, 0, simple_base(k), REGION, 0 };
    case K_HOLE: return (want_section){ 0 };
    case K_MOD: case K_MOD_REFUSED: case K_MOD_RO:
        return (want_section){ fx->mod, 0, MOD_BASE, REGION, user };
    case K_CMOD: case K_CMOD_REFUSED: case K_CMOD_RO:
        return (want_section){ fx->cmod, 0, CMOD_BASE, REGION, user };
    case K_ROALIAS_MOD: return (want_section){ fx->mod, 0, ROALIAS_MOD_BASE, REGION, user };
    case K_IOMMU: case K_IOMMU_FAULT: case K_IOMMU_RO:
        return (want_section){ fx->iommu, 0, IOMMU_BASE, REGION, 0 };
    case K_ROALIAS_IOMMU: return (want_section){ fx->iommu, 0, ROALIAS_IOMMU_BASE, REGION, 0 };
    default:
        return (want_section){ fx->grants, 0, GM_GRANT_DMA_BASE, REGION, user };
    }
}

/* ---- running one cell ----------------------------------------------------------- */

static char failure[512];

#define EXPECT(cond, ...)                                                       \
    do {                                                                        \
        if (!(cond) && !failure[0]) {                                           \
            int n_ = snprintf(failure, sizeof(failure), "line %d: ", __LINE__); \
            snprintf(failure + n_, sizeof(failure) - (size_t)n_, __VA_ARGS__);  \
        }                                                                       \
    } while (0)

/* What a path did, in memory order, relative to the cell address. */
typedef struct outcome {
    gm_result res;
    bool accessed;          /* an access whose bytes are checked */
    bool is_write;
    int start;              /* first byte, relative to the cell */
    unsigned int n;         /* bytes */
    uint8_t rbuf[16];       /* read: what came back */
    uint8_t wbuf[16];       /* write: what was sent */
} outcome;

static const uint8_t wdata[16] = { 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8,
                                   0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0 };

static uint64_t bytes_value(const uint8_t *b, unsigned int n, bool big)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * (big ? n - 1 - i : i));
    return v;
}

static void value_bytes(uint64_t v, uint8_t *b, unsigned int n, bool big)
{
    for (unsigned int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (big ? n - 1 - i : i)));
}

/* Bytes of the access that must have happened, per the row. */
static bool byte_happens(unsigned int how, int d)
{
    if (how & (DATA | DIRECT | MAPPED | BOUNCE))
        return true;
    if (how & HALF)
        return d < 0;
    return false;
}

static backing *backing_of(fixture *fx, const uint8_t *p, size_t *off)
{
    for (unsigned int i = 0; i < fx->nb; i++) {
        if (p >= fx->b[i].p && p < fx->b[i].p + fx->b[i].len) {
            *off = (size_t)(p - fx->b[i].p);
            return &fx->b[i];
        }
    }
    return NULL;
}

static void run_load(fixture *fx, gm_addr a, enum path p, outcome *o)
{
    gm_attrs at = GM_ATTRS_UNSPECIFIED;
    uint8_t v8 = 0x5a;
    uint16_t v16 = 0x5a5a;
    uint32_t v32 = 0x5a5a5a5a;
    uint64_t v64 = 0x5a5a5a5a5a5a5a5aull;

    o->accessed = true;
    switch (p) {
    case P_LD8: o->n = 1; o->res = gm_as_ld8(fx->as, a, at, &v8); o->rbuf[0] = v8; break;
    case P_LD16_LE: case P_LD16_BE:
        o->n = 2;
        o->res = p == P_LD16_LE ? gm_as_ld16_le(fx->as, a, at, &v16)
                                : gm_as_ld16_be(fx->as, a, at, &v16);
        value_bytes(v16, o->rbuf, 2, p == P_LD16_BE);
        break;
    case P_LD32_LE: case P_LD32_BE:
        o->n = 4;
        o->res = p == P_LD32_LE ? gm_as_ld32_le(fx->as, a, at, &v32)
                                : gm_as_ld32_be(fx->as, a, at, &v32);
        value_bytes(v32, o->rbuf, 4, p == P_LD32_BE);
        break;
    default:
        o->n = 8;
        o->res = p == P_LD64_BE ? gm_as_ld64_be(fx->as, a, at, &v64)
                                : gm_as_ld64_le(fx->as, a, at, &v64);
        value_bytes(v64, o->rbuf, 8, p == P_LD64_BE);
        break;
    }
}

static void run_store(fixture *fx, gm_addr a, enum path p, outcome *o)
{
    gm_attrs at = GM_ATTRS_UNSPECIFIED;
    bool big = p == P_ST16_BE || p == P_ST32_BE || p == P_ST64_BE;

    o->accessed = o->is_write = true;
    o->n = p == P_ST8 ? 1 : p <= P_ST16_BE ? 2 : p <= P_ST32_BE ? 4 : 8;
    memcpy(o->wbuf, wdata, o->n);
    switch (p) {
    case P_ST8: o->res = gm_as_st8(fx->as, a, at, wdata[0]); break;
    case P_ST16_LE: o->res = gm_as_st16_le(fx->as, a, at, (uint16_t)bytes_value(wdata, 2, big)); break;
    case P_ST16_BE: o->res = gm_as_st16_be(fx->as, a, at, (uint16_t)bytes_value(wdata, 2, big)); break;
    case P_ST32_LE: o->res = gm_as_st32_le(fx->as, a, at, (uint32_t)bytes_value(wdata, 4, big)); break;
    case P_ST32_BE: o->res = gm_as_st32_be(fx->as, a, at, (uint32_t)bytes_value(wdata, 4, big)); break;
    case P_ST64_LE: o->res = gm_as_st64_le(fx->as, a, at, bytes_value(wdata, 8, big)); break;
    default: o->res = gm_as_st64_be(fx->as, a, at, bytes_value(wdata, 8, big)); break;
    }
}

/* gm_as_map + unmap: what the pointer is, and that data moves as promised. */
static void run_map(fixture *fx, const cell *c, gm_addr a, outcome *o)
{
    bool is_write = c->path == P_MAP_WRITE;
    uint64_t len = 16;
    loc l0 = byte_loc(fx, c->kind, 0);
    uint8_t *host = is_write ? l0.wr : l0.rd;
    uint8_t *p = gm_as_map(fx->as, a, &len, is_write, GM_ATTRS_UNSPECIFIED);

    if (c->how & NOMAP) {
        EXPECT(p == NULL && len == 0, "map: want NULL/0, got %p/%llu", (void *)p,
               (unsigned long long)len);
        if (p)
            gm_as_unmap(fx->as, p, len, is_write, 0);
        return;
    }
    EXPECT(p != NULL && len == 16, "map: want 16 bytes, got %p/%llu (log: %s)", (void *)p,
           (unsigned long long)len, fx->last_log);
    if (!p)
        return;
    if (c->how & DIRECT)
        EXPECT(p == host, "map: want the backing pointer %p, got %p", (void *)host, (void *)p);
    else
        EXPECT(p != host, "map: want a separate buffer, got the backing pointer");
    o->accessed = true;
    o->is_write = is_write;
    o->n = 16;
    if (!is_write) {
        uint8_t before = p[0];

        memcpy(o->rbuf, p, 16);
        /* Live mapping or copy? Change the backing under it and look. */
        *host ^= 0x80;
        if (c->how & BOUNCE)
            EXPECT(p[0] == before, "map(read): bounce buffer changed with the backing");
        else
            EXPECT(p[0] == (uint8_t)(before ^ 0x80), "map(read): mapping does not follow the backing");
        *host ^= 0x80;
        gm_as_unmap(fx->as, p, len, false, 0);
        return;
    }
    memcpy(o->wbuf, wdata, 16);
    memcpy(p, wdata, 16);
    if (c->how & BOUNCE)
        EXPECT(host[0] != wdata[0], "map(write): bounce buffer written through before unmap");
    else
        EXPECT(memcmp(host, wdata, 16) == 0, "map(write): mapping not live before unmap");
    gm_as_unmap(fx->as, p, len, true, 16);
}

/* gm_cache_init + loads or stores of 15 bytes at offsets 0, 8, 12, 14 + destroy. */
static void run_cache(fixture *fx, const cell *c, gm_addr a, outcome *o)
{
    bool is_write = c->path == P_CACHE_WRITE;
    gm_cache cache = GM_CACHE_INIT;
    int64_t got = gm_cache_init(&cache, fx->as, a, 16, is_write);

    if (c->how & NOCACHE) {
        EXPECT(got == -EFAULT, "cache init: want -EFAULT, got %lld", (long long)got);
        gm_cache_destroy(&cache);
        return;
    }
    EXPECT(got == 16, "cache init: want 16, got %lld (log: %s)", (long long)got, fx->last_log);
    if (got != 16) {
        gm_cache_destroy(&cache);
        return;
    }
    o->accessed = true;
    o->is_write = is_write;
    o->n = 15;
    if (is_write) {
        memcpy(o->wbuf, wdata, 15);
        o->res = gm_cache_st64_le(&cache, 0, bytes_value(wdata, 8, false));
        o->res |= gm_cache_st32_be(&cache, 8, (uint32_t)bytes_value(wdata + 8, 4, true));
        o->res |= gm_cache_st16_le(&cache, 12, (uint16_t)bytes_value(wdata + 12, 2, false));
        o->res |= gm_cache_st8(&cache, 14, wdata[14]);
    } else {
        uint64_t v64 = 0;
        uint32_t v32 = 0;
        uint16_t v16 = 0;
        uint8_t v8 = 0;

        o->res = gm_cache_ld64_le(&cache, 0, &v64);
        o->res |= gm_cache_ld32_be(&cache, 8, &v32);
        o->res |= gm_cache_ld16_le(&cache, 12, &v16);
        o->res |= gm_cache_ld8(&cache, 14, &v8);
        value_bytes(v64, o->rbuf, 8, false);
        value_bytes(v32, o->rbuf + 8, 4, true);
        value_bytes(v16, o->rbuf + 12, 2, false);
        o->rbuf[14] = v8;
    }
    gm_cache_destroy(&cache);
}

typedef struct rec_listener {
    gm_listener l;               /* first: the callbacks get &l */
    gm_section s[64];
    unsigned int n;
} rec_listener;

static void rec_add(gm_listener *l, const gm_section *s)
{
    rec_listener *r = (rec_listener *)l;

    CHECK(r->n < 64, "sections recorded");
    r->s[r->n++] = *s;
}

typedef struct find_ctx {
    gm_addr addr;
    gm_section s;
    int found;
} find_ctx;

static bool section_has(const gm_section *s, gm_addr a)
{
    return a >= s->offset_within_address_space &&
           (s->size == GM_SIZE_2_64 || a - s->offset_within_address_space < s->size);
}

static int find_section(void *opaque, const gm_section *s)
{
    find_ctx *f = opaque;

    if (section_has(s, f->addr)) {
        f->s = *s;
        f->found++;
    }
    return 0;
}

static void check_section(fixture *fx, const cell *c, bool found, const gm_section *s)
{
    want_section w = kind_section(fx, c->kind);

    if (c->how & NOSECT) {
        EXPECT(!found, "want no section, got one of '%s'", found ? gm_region_name(s->mr) : "");
        return;
    }
    EXPECT(found, "want a section");
    if (!found)
        return;
    EXPECT(s->mr == w.mr, "section of '%s', want '%s'", gm_region_name(s->mr),
           gm_region_name(w.mr));
    EXPECT(s->offset_within_region == w.owr && s->offset_within_address_space == w.oas &&
               s->size == w.size,
           "section {owr 0x%llx, oas 0x%llx, size 0x%llx}, want {0x%llx, 0x%llx, 0x%llx}",
           (unsigned long long)s->offset_within_region,
           (unsigned long long)s->offset_within_address_space, (unsigned long long)s->size,
           (unsigned long long)w.owr, (unsigned long long)w.oas, (unsigned long long)w.size);
    EXPECT(s->readonly == !!(c->how & RO), "section readonly %d", s->readonly);
    EXPECT(s->romd_mode == !!(c->how & ROMD), "section romd_mode %d", s->romd_mode);
    EXPECT(s->dirty_log_mask == w.log_mask, "section dirty_log_mask 0x%x, want 0x%x",
           s->dirty_log_mask, w.log_mask);
}

static void run_path(fixture *fx, const cell *c, outcome *o)
{
    gm_attrs at = GM_ATTRS_UNSPECIFIED;
    gm_addr a = cell_addr(c->kind);
    enum path p = c->path;

    switch (p) {
    case P_READ: case P_RW_READ:
        o->accessed = true;
        o->n = 8;
        memset(o->rbuf, 0x5a, 8);
        o->res = p == P_READ ? gm_as_read(fx->as, a, at, o->rbuf, 8)
                             : gm_as_rw(fx->as, a, at, o->rbuf, 8, false);
        break;
    case P_WRITE: case P_RW_WRITE: case P_FILL:
        o->accessed = o->is_write = true;
        o->n = 8;
        if (p == P_FILL) {
            memset(o->wbuf, wdata[5], 8);
            o->res = gm_as_fill(fx->as, a, at, wdata[5], 8);
        } else {
            memcpy(o->wbuf, wdata, 8);
            o->res = p == P_WRITE ? gm_as_write(fx->as, a, at, o->wbuf, 8)
                                  : gm_as_rw(fx->as, a, at, o->wbuf, 8, true);
        }
        break;
    case P_LD8: case P_LD16_LE: case P_LD16_BE: case P_LD32_LE: case P_LD32_BE:
    case P_LD64_LE: case P_LD64_BE:
        run_load(fx, a, p, o);
        break;
    case P_ST8: case P_ST16_LE: case P_ST16_BE: case P_ST32_LE: case P_ST32_BE:
    case P_ST64_LE: case P_ST64_BE:
        run_store(fx, a, p, o);
        break;
    case P_STRADDLE_READ: case P_STRADDLE_LD64: {
        uint64_t v = 0x5a5a5a5a5a5a5a5aull;

        o->accessed = true;
        o->start = -4;
        o->n = 8;
        memset(o->rbuf, 0x5a, 8);
        if (p == P_STRADDLE_READ) {
            o->res = gm_as_read(fx->as, a - 4, at, o->rbuf, 8);
        } else {
            o->res = gm_as_ld64_le(fx->as, a - 4, at, &v);
            value_bytes(v, o->rbuf, 8, false);
        }
        break;
    }
    case P_STRADDLE_WRITE: case P_STRADDLE_ST64:
        o->accessed = o->is_write = true;
        o->start = -4;
        o->n = 8;
        memcpy(o->wbuf, wdata, 8);
        o->res = p == P_STRADDLE_WRITE ? gm_as_write(fx->as, a - 4, at, wdata, 8)
                                       : gm_as_st64_le(fx->as, a - 4, at,
                                                       bytes_value(wdata, 8, false));
        break;
    case P_VALID_READ: case P_VALID_WRITE: {
        bool v = gm_as_access_valid(fx->as, a, 8, p == P_VALID_WRITE, at);

        EXPECT(v == !!(c->how & VALID), "access_valid returned %s", v ? "true" : "false");
        EXPECT(!!(c->how & VALID) != !!(c->how & INVALID), "table: VALID or INVALID");
        break;
    }
    case P_MAP_READ: case P_MAP_WRITE:
        run_map(fx, c, a, o);
        break;
    case P_CACHE_READ: case P_CACHE_WRITE:
        run_cache(fx, c, a, o);
        break;
    case P_LOOKUP: {
        gm_section s;
        bool found = gm_as_lookup(fx->as, a, &s);

        check_section(fx, c, found, &s);
        if (found)
            gm_region_unref(s.mr);
        break;
    }
    case P_SECTIONS: {
        find_ctx f = { .addr = a };

        EXPECT(gm_as_for_each_section(fx->as, find_section, &f) == 0, "walk returned non-zero");
        EXPECT(f.found <= 1, "%d sections contain the address", f.found);
        check_section(fx, c, f.found == 1, &f.s);
        break;
    }
    case P_LISTENER: {
        rec_listener *r = calloc(1, sizeof(*r));
        int found = 0;
        gm_section s = { 0 };

        CHECK(r != NULL, "listener");
        r->l.region_add = rec_add;
        r->l.name = "matrix";
        CHECK(gm_listener_register(&r->l, fx->as) == 0, "register listener");
        gm_listener_unregister(&r->l);
        for (unsigned int i = 0; i < r->n; i++) {
            if (section_has(&r->s[i], a)) {
                s = r->s[i];
                found++;
            }
        }
        EXPECT(found <= 1, "%d sections contain the address", found);
        check_section(fx, c, found == 1, &s);
        free(r);
        break;
    }
    default:
        break;
    }
}

/* Compare every backing with its snapshot plus the writes the row expects,
 * and every logged region's dirty bitmap with the pages those writes touched. */
static void check_effects(fixture *fx, const cell *c, const outcome *o)
{
    bool dirty_want[8][NPAGES] = { { false } };
    bool any_dirty = false;

    if (o->accessed && o->is_write) {
        for (unsigned int i = 0; i < o->n; i++) {
            int d = o->start + (int)i;
            loc l = byte_loc(fx, c->kind, d);
            backing *b;
            size_t off;

            if (!byte_happens(c->how, d))
                continue;
            b = l.wr ? backing_of(fx, l.wr, &off) : NULL;
            CHECK(b != NULL, "table: %s x %s writes where there is no memory",
                  path_names[c->path], kind_names[c->kind]);
            b->snap[off] = o->wbuf[i];
            if ((c->how & DIRTY) && l.dmr) {
                for (unsigned int r = 0; r < fx->nlogged; r++) {
                    if (fx->logged[r] == l.dmr) {
                        dirty_want[r][l.doff / PAGE] = true;
                        any_dirty = true;
                    }
                }
            }
        }
    }
    EXPECT(!(c->how & DIRTY) || any_dirty, "table: DIRTY but no logged byte written");
    for (unsigned int i = 0; i < fx->nb; i++) {
        backing *b = &fx->b[i];

        if (memcmp(b->p, b->snap, b->len) == 0)
            continue;
        for (size_t j = 0; j < b->len; j++) {
            if (b->p[j] != b->snap[j]) {
                EXPECT(false, "%s[0x%zx] is 0x%02x, want 0x%02x", b->name, j, b->p[j],
                       b->snap[j]);
                break;
            }
        }
    }
    for (unsigned int r = 0; r < fx->nlogged; r++) {
        for (unsigned int pg = 0; pg < NPAGES; pg++) {
            bool got = gm_region_get_dirty(fx->logged[r], pg * PAGE, PAGE, GM_DIRTY_USER);

            EXPECT(got == dirty_want[r][pg], "%s page %u dirty=%d, want %d",
                   gm_region_name(fx->logged[r]), pg, got, dirty_want[r][pg]);
        }
    }
}

static void check_reads(fixture *fx, const cell *c, const outcome *o)
{
    if (!o->accessed || o->is_write)
        return;
    for (unsigned int i = 0; i < o->n; i++) {
        int d = o->start + (int)i;
        loc l = byte_loc(fx, c->kind, d);
        uint8_t want = 0;
        size_t off;

        if (byte_happens(c->how, d)) {
            backing *b = l.rd ? backing_of(fx, l.rd, &off) : NULL;

            CHECK(b != NULL, "table: %s x %s reads where there is no memory",
                  path_names[c->path], kind_names[c->kind]);
            want = b->snap[off];
        }
        if (o->rbuf[i] != want) {
            EXPECT(false, "read byte %d is 0x%02x, want 0x%02x", d, o->rbuf[i], want);
            break;
        }
    }
}

/* Runs one cell; on failure, @why says what went wrong first. */
static bool run_cell(const cell *c, char *why, size_t whylen)
{
    fixture *fx = fixture_new();
    outcome o;

    memset(&o, 0, sizeof(o));
    failure[0] = 0;
    run_path(fx, c, &o);
    if (o.accessed)
        EXPECT(o.res == c->res, "result 0x%x, want 0x%x", o.res, c->res);
    else
        EXPECT(c->res == GM_OK, "table: result given for a path without one");
    check_reads(fx, c, &o);
    check_effects(fx, c, &o);
    if (!(c->how & LOGANY)) {
        if (c->how & LOG)
            EXPECT(fx->guest_errors > 0, "no guest error logged");
        else
            EXPECT(fx->guest_errors == 0, "%u guest errors logged, last: %s", fx->guest_errors,
                   fx->last_log);
    }
    EXPECT(fx->errors == 0, "%u errors logged, last: %s", fx->errors, fx->last_log);
    fixture_free(fx);
    snprintf(why, whylen, "%s", failure);
    return !failure[0];
}

/* One verdict per cell, shared with the worker processes. */
typedef struct verdict {
    int state;               /* 0: not run, 1: ok, 2: failed */
    char why[512];
} verdict;

static void run_slice(verdict *v, unsigned int first, unsigned int step)
{
    for (unsigned int i = first; i < NCELLS; i += step) {
        bool ok = run_cell(&cells[i], v[i].why, sizeof(v[i].why));

        __atomic_store_n(&v[i].state, ok ? 1 : 2, __ATOMIC_RELEASE);
    }
}

int main(void)
{
    static unsigned char seen[NKINDS][NPATHS];
    const char *env = getenv("GM_MATRIX_JOBS");
    unsigned int jobs = env ? (unsigned int)atoi(env) : 4, passed = 0, failed = 0;
    bool workers_ok = true;
    verdict *v;

    /* The table covers every kind x path exactly once. */
    for (size_t i = 0; i < NCELLS; i++)
        seen[cells[i].kind][cells[i].path]++;
    for (int k = 0; k < NKINDS; k++) {
        for (int p = 0; p < NPATHS; p++)
            CHECK(seen[k][p] == 1, "table has %u rows for %s x %s", seen[k][p], path_names[p],
                  kind_names[k]);
    }
    v = mmap(NULL, NCELLS * sizeof(*v), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
             0);
    CHECK(v != MAP_FAILED, "verdicts");
    if (jobs <= 1) {
        run_slice(v, 0, 1);
    } else {
        pid_t pids[64];

        jobs = jobs > 64 ? 64 : jobs;
        fflush(stdout);
        for (unsigned int w = 0; w < jobs; w++) {
            pids[w] = fork();
            CHECK(pids[w] >= 0, "fork");
            if (pids[w] == 0) {
                run_slice(v, w, jobs);
                exit(0);    /* not _exit: LeakSanitizer checks the worker */
            }
        }
        for (unsigned int w = 0; w < jobs; w++) {
            int status;

            CHECK(waitpid(pids[w], &status, 0) == pids[w], "wait for worker");
            if (!WIFEXITED(status) || WEXITSTATUS(status)) {
                printf("# worker %u: %s %d\n", w, WIFEXITED(status) ? "exit status" : "signal",
                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                workers_ok = false;
            }
        }
    }
    for (size_t i = 0; i < NCELLS; i++) {
        const cell *c = &cells[i];
        int state = __atomic_load_n(&v[i].state, __ATOMIC_ACQUIRE);

        if (state == 1) {
            printf("ok - %s x %s\n", path_names[c->path], kind_names[c->kind]);
            passed++;
        } else {
            printf("not ok - %s x %s: %s\n", path_names[c->path], kind_names[c->kind],
                   state ? v[i].why : "not run (its worker died)");
            failed++;
        }
    }
    printf("# %u cells: %u ok, %u failed\n", (unsigned int)NCELLS, passed, failed);
    munmap(v, NCELLS * sizeof(*v));
    return failed || !workers_ok ? 1 : 0;
}
