/* SPDX-License-Identifier: MIT */
/*
 * Parser for QEMU 7.2's `info mtree -D` text (guestmem-mtree).
 *
 * The text is a list of blocks separated by blank lines. An address-space
 * block is one or more `address-space: NAME` lines followed by the tree of
 * their shared root region; a `memory-region: NAME` block is the tree of an
 * alias target. Each tree line is one region:
 *
 *   [DETECTED OVERFLOW!] <2 spaces per level>START-END (prio P, [nv-]TYPE): NAME[ [disabled]]
 *   ...                                    (prio P, [nv-]TYPE): alias NAME @TARGET OFF-OFFEND[ [disabled]]
 *
 * The parser checks the syntax and the nesting and records every line as a
 * node; it does not decide which lines show the same region (see
 * mtree_ident.h). Nodes are stored in text order, so a parent always comes
 * before its children.
 */
#ifndef GUESTMEM_TOOLS_MTREE_PARSE_H
#define GUESTMEM_TOOLS_MTREE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtree_util.h"

/** MTREE_MAX_DEPTH - deepest nesting level accepted (top lines are level 1). */
#define MTREE_MAX_DEPTH 128

/** MTREE_MAX_LINE - longest line accepted, in bytes. */
#define MTREE_MAX_LINE 65536

/**
 * enum mtree_type - the TYPE field of a tree line (without "nv-").
 * @MTREE_RAM: "ram"
 * @MTREE_ROM: "rom"
 * @MTREE_ROMD: "romd", a ROM device in romd mode
 * @MTREE_RAMD: "ramd", a RAM device
 * @MTREE_IO: "i/o": container, MMIO, IOMMU or reservation
 */
enum mtree_type {
    MTREE_RAM,
    MTREE_ROM,
    MTREE_ROMD,
    MTREE_RAMD,
    MTREE_IO,
};

/**
 * struct mtree_node - one tree line.
 * @name: region name (for an alias: the alias's own name)
 * @target: alias target name, or NULL for a non-alias line
 * @start: printed absolute start
 * @size_m1: size - 1 (UINT64_MAX means 2^64; sizes 0 and 1 print alike and
 *           are read as 1)
 * @addr: offset in the parent (start minus the parent's start, modulo 2^64);
 *        for a block's top line, the printed start (QEMU prints a top region
 *        at its own offset in its container)
 * @alias_offset: offset of the window in the target (aliases only)
 * @prio: priority among its siblings
 * @type: TYPE field
 * @nv: "nv-" prefix
 * @disabled: " [disabled]" suffix
 * @is_alias: an alias line
 * @line: 1-based line number
 * @depth: nesting level, 1 for a block's top line
 * @block: index of the block the line belongs to
 * @parent: index of the parent node, -1 for a top line
 * @first_child: index of the first child in printed order, -1 if none
 * @next_sibling: next sibling in printed order, -1 if last
 * @prev_sibling: previous sibling in printed order, -1 if first
 * @nchildren: number of children
 * @subtree: number of nodes in the subtree, this one included
 */
struct mtree_node {
    const char *name;
    const char *target;
    uint64_t start;
    uint64_t size_m1;
    uint64_t addr;
    uint64_t alias_offset;
    int prio;
    enum mtree_type type;
    bool nv;
    bool disabled;
    bool is_alias;
    uint32_t line;
    uint32_t depth;
    int32_t block;
    int32_t parent;
    int32_t first_child;
    int32_t next_sibling;
    int32_t prev_sibling;
    uint32_t nchildren;
    uint32_t subtree;
};

/**
 * struct mtree_block - one block of the dump.
 * @is_as: an address-space block (else a memory-region block)
 * @names: address-space names (@nnames of them), or the one memory-region name
 * @name_lines: line number of each name
 * @nnames: number of names
 * @line: line of the first header
 * @root: index of the top node
 */
struct mtree_block {
    bool is_as;
    const char **names;
    uint32_t *name_lines;
    uint32_t nnames;
    uint32_t line;
    int32_t root;
};

/**
 * struct mtree_doc - a parsed dump.
 * @nodes: every tree line, in text order
 * @nnodes: number of nodes
 * @blocks: every block, in text order
 * @nblocks: number of blocks
 * @cap_nodes: allocated nodes (internal)
 * @cap_blocks: allocated blocks (internal)
 * @strings: storage of every name
 */
struct mtree_doc {
    struct mtree_node *nodes;
    size_t nnodes;
    struct mtree_block *blocks;
    size_t nblocks;
    size_t cap_nodes;
    size_t cap_blocks;
    struct mtree_arena strings;
};

/**
 * mtree_parse() - parse `info mtree -D` text.
 * @text: the text (need not be NUL-terminated; NUL bytes are an error)
 * @len: its length in bytes
 * @out: set to the document on success
 * @err: buffer for a one-line message ("line N: ...") on failure
 * @errlen: size of @err
 *
 * Trailing '\r' of each line is ignored. Alias lines are split into name and
 * target using the names of the memory-region blocks (names may contain
 * " @").
 *
 * Return: 0; -EINVAL for malformed text (message in @err); -ENOMEM.
 * Context: pure function of its input; no global state.
 */
int mtree_parse(const char *text, size_t len, struct mtree_doc **out, char *err, size_t errlen);

/** mtree_doc_free() - free a document. @doc: the document, or NULL. */
void mtree_doc_free(struct mtree_doc *doc);

/** mtree_type_name() - "ram", "rom", "romd", "ramd" or "i/o". @type: the type. */
const char *mtree_type_name(enum mtree_type type);

/**
 * mtree_size_arg() - a node's size in the form the guestmem API takes.
 * @n: the node
 * Return: the size, GM_SIZE_2_64 (UINT64_MAX) for 2^64.
 */
uint64_t mtree_size_arg(const struct mtree_node *n);

#endif
