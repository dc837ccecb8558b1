/* SPDX-License-Identifier: MIT */
/*
 * The three facts `info mtree` leaves out, inferred for guestmem-mtree:
 * whether an "i/o" region terminates (MMIO) or is a pure container, whether
 * an alias is read-only, and the list order of equal-priority siblings.
 * The rules and their measured hit rates are in docs/mtree-tool.md.
 */
#ifndef GUESTMEM_TOOLS_MTREE_INFER_H
#define GUESTMEM_TOOLS_MTREE_INFER_H

#include "mtree_ident.h"
#include "mtree_parse.h"

/**
 * struct mtree_hints - the `--terminates` list: "NAME SIZE" pairs.
 * @set: (name, size - 1) -> line number
 * @strings: storage of the names
 */
struct mtree_hints {
    struct mtree_map set;
    struct mtree_arena strings;
};

/**
 * mtree_hints_parse() - read a hint file.
 * @text: its contents
 * @len: length in bytes
 * @out: set to the hints on success
 * @err: message buffer ("line N: ...")
 * @errlen: its size
 *
 * Each non-empty line is NAME, one space, SIZE in hex without 0x (1 to
 * 10000000000000000). NAME may contain spaces: the last space separates.
 * Return: 0, -EINVAL (message in @err) or -ENOMEM.
 */
int mtree_hints_parse(const char *text, size_t len, struct mtree_hints **out, char *err,
                      size_t errlen);

/** mtree_hints_free() - free hints. @h: the hints, or NULL. */
void mtree_hints_free(struct mtree_hints *h);

/**
 * struct mtree_infer - what the rules need to know about a whole document.
 * @doc: the document
 * @id: its identity
 * @hints: the hint list, or NULL for the heuristic alone
 * @mixed: names shared by "i/o" regions of different sizes or shapes
 *         (the hint list, keyed by name, is ambiguous for them)
 */
struct mtree_infer {
    const struct mtree_doc *doc;
    const struct mtree_ident *id;
    const struct mtree_hints *hints;
    struct mtree_map mixed;
};

/**
 * mtree_infer_init() - prepare the rules for one document.
 * @inf: filled in
 * @doc: the document
 * @id: its identity
 * @hints: hint list or NULL
 * Return: 0 or -ENOMEM. Free with mtree_infer_free() in both cases.
 */
int mtree_infer_init(struct mtree_infer *inf, const struct mtree_doc *doc,
                     const struct mtree_ident *id, const struct mtree_hints *hints);

/** mtree_infer_free() - release @inf. @inf: the rules. */
void mtree_infer_free(struct mtree_infer *inf);

/**
 * mtree_infer_terminates() - does the canonical "i/o" node @c render itself
 * into the gaps between its subregions (MMIO, IOMMU, reservation)?
 * @inf: the rules
 * @c: a canonical non-alias node of type MTREE_IO
 * Return: true for a terminating region, false for a pure container.
 */
bool mtree_infer_terminates(const struct mtree_infer *inf, int32_t c);

/**
 * mtree_infer_alias_readonly() - was this alias made read-only?
 * @n: an alias node
 * Return: true if it should render as "rom".
 */
bool mtree_infer_alias_readonly(const struct mtree_node *n);

/**
 * mtree_infer_child_order() - the subregion list order of canonical node @p.
 * @doc: the document
 * @p: the parent
 * @order: receives the @p's children, highest priority first and, within
 *         one priority, the one that wins overlaps first (room for
 *         nchildren entries)
 *
 * Adding the children to a container in reverse @order with
 * gm_region_add_subregion_overlap() reproduces this list.
 * Return: 0 or -ENOMEM.
 */
int mtree_infer_child_order(const struct mtree_doc *doc, int32_t p, int32_t *order);

#endif
