/* SPDX-License-Identifier: MIT */
/*
 * Region identity for guestmem-mtree: which printed lines are one region,
 * and which region each alias shows.
 *
 * `info mtree` prints a region once per place it is reachable from: in the
 * tree of its address space, again as the top of its own `memory-region:`
 * block when it is an alias target, and again inside the block of every
 * alias target that contains it. Every node is mapped to one "canonical"
 * node; regions are built from canonical nodes only.
 */
#ifndef GUESTMEM_TOOLS_MTREE_IDENT_H
#define GUESTMEM_TOOLS_MTREE_IDENT_H

#include "mtree_parse.h"

/**
 * struct mtree_ident - identity of the nodes of one document.
 * @canon: per node, its canonical node (a node is canonical iff canon[i] == i)
 * @target: per canonical alias node, the canonical node it shows; -1 otherwise
 * @target_block: per canonical alias node, the memory-region block of its
 *                target, or -1 when the target was found by name in a tree
 * @as_root: per canonical node, it is the root of an address space
 * @is_target_name: per node, its name is the name of a memory-region block
 */
struct mtree_ident {
    int32_t *canon;
    int32_t *target;
    int32_t *target_block;
    bool *as_root;
    bool *is_target_name;
};

/**
 * mtree_ident_resolve() - decide region identity and alias targets.
 * @doc: the parsed dump
 * @id: filled in; free with mtree_ident_free() (also after a failure)
 * @err: message buffer ("line N: ...")
 * @errlen: its size
 *
 * Rules (docs/mtree-tool.md): a block's top is the same region as an
 * earlier-printed node with an identical printed subtree (distinct
 * address-space roots and distinct memory-region blocks stay distinct); an
 * alias names its target, which QEMU queued for printing as a
 * memory-region block the first time the alias was printed, so targets
 * with duplicate names are told apart by the order of the blocks.
 *
 * Return: 0; -EINVAL when an alias target exists nowhere; -ENOMEM.
 */
int mtree_ident_resolve(const struct mtree_doc *doc, struct mtree_ident *id, char *err,
                        size_t errlen);

/** mtree_ident_free() - free the arrays of @id. @id: the identity (zeroed after). */
void mtree_ident_free(struct mtree_ident *id);

#endif
