/* SPDX-License-Identifier: MIT */
/*
 * Rebuilding a parsed `info mtree` dump as a guestmem system
 * (guestmem-mtree): one region per printed region, one address space per
 * `address-space:` line, through the public guestmem API only.
 */
#ifndef GUESTMEM_TOOLS_MTREE_BUILD_H
#define GUESTMEM_TOOLS_MTREE_BUILD_H

#include <guestmem/guestmem.h>

#include "mtree_infer.h"
#include "mtree_parse.h"

/** MTREE_MAX_EXPANSION - most nodes a tree may have once aliases are expanded. */
#define MTREE_MAX_EXPANSION (1u << 16)

/** MTREE_MAX_RAM_REGIONS - most memory-backed regions (ram, rom, romd, ramd) built. */
#define MTREE_MAX_RAM_REGIONS 4096

/** struct mtree_model - a rebuilt system; opaque. */
struct mtree_model;

/**
 * mtree_build() - rebuild @doc in a new guestmem system.
 * @doc: the parsed dump; may be freed once this returns
 * @hints: `--terminates` list, or NULL to infer terminating regions
 * @out: set to the model on success
 * @err: message buffer ("line N: ..." when a line is to blame)
 * @errlen: its size
 *
 * RAM and ROM are anonymous MAP_NORESERVE memory, RAM devices a
 * MAP_NORESERVE buffer owned by the model, ROM devices and I/O regions have
 * no callbacks that do anything, so nothing is touched and large guests
 * cost address space only.
 *
 * An alias that shows a region containing it is built like the others (as
 * QEMU accepts it), after the regions it shows; rendering bounds the work
 * such aliases cause (docs/memory-model.md, section 3).
 *
 * Return: 0; -EINVAL for input guestmem cannot represent: nesting deeper
 * than 128 levels counting alias hops, more than MTREE_MAX_EXPANSION nodes
 * once aliases are expanded, more than MTREE_MAX_RAM_REGIONS memory-backed
 * regions, RAM of 2^64 bytes, a cycle made of aliases only, a missing alias
 * target; -ENOMEM; another negative errno when the library refuses a call
 * (message in @err in every case).
 */
int mtree_build(const struct mtree_doc *doc, const struct mtree_hints *hints,
                struct mtree_model **out, char *err, size_t errlen);

/** mtree_model_free() - destroy the system and everything in it. @m: the model, or NULL. */
void mtree_model_free(struct mtree_model *m);

/** mtree_model_system() - the system. @m: the model. Return: owned by @m. */
gm_system *mtree_model_system(const struct mtree_model *m);

/** mtree_model_as_count() - number of address spaces. @m: the model. */
size_t mtree_model_as_count(const struct mtree_model *m);

/**
 * mtree_model_as() - the @i-th address space, in the order of the dump.
 * @m: the model
 * @i: index below mtree_model_as_count()
 * Return: owned by @m.
 */
gm_as *mtree_model_as(const struct mtree_model *m, size_t i);

/**
 * mtree_model_warning() - what was left out of the rebuild, if anything.
 * @m: the model
 * @count: set to the number of warnings
 *
 * No rebuild leaves anything out today, so the count is 0; kept for
 * input the library may one day refuse region by region.
 * Return: the first warning ("line N: ..."), owned by @m, or NULL.
 */
const char *mtree_model_warning(const struct mtree_model *m, size_t *count);

/**
 * mtree_model_region_type() - the type a region was built as.
 * @m: the model
 * @mr: a region of @m
 * Return: "ram", "rom", "romd", "ramd" or "i/o" ("i/o" also for aliases'
 * own objects, which never appear in flat views); NULL for a region not
 * built by @m.
 */
const char *mtree_model_region_type(const struct mtree_model *m, const gm_region *mr);

#endif
