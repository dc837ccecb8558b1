#!/usr/bin/env python3
"""Compare two `info mtree -D` texts block by block.

Usage: tree-compare.py EXPECTED ACTUAL

Blocks are separated by blank lines. QEMU 7.2 prints the address-space
blocks in hash-table order and the memory-region blocks in the order their
aliases are met while printing, so two dumps of one machine may list the
same blocks in another order: blocks are compared as multisets, the lines
inside a block exactly.

Exit status: 0 when both hold the same blocks, 1 otherwise (the first
differing blocks are printed), 2 on usage or read errors.
"""

import collections
import difflib
import sys


def blocks(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    out, cur = [], []
    for line in text.split("\n"):
        if line:
            cur.append(line)
        elif cur:
            out.append(tuple(cur))
            cur = []
    if cur:
        out.append(tuple(cur))
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: tree-compare.py EXPECTED ACTUAL\n")
        return 2
    try:
        exp, act = blocks(argv[1]), blocks(argv[2])
    except OSError as e:
        sys.stderr.write("tree-compare: %s\n" % e)
        return 2
    missing = collections.Counter(exp) - collections.Counter(act)
    extra = collections.Counter(act) - collections.Counter(exp)
    if not missing and not extra:
        if exp != act:
            print("same blocks, other order")
        return 0
    for block in list(missing)[:1]:
        header = block[0]
        other = [b for b in extra if b[0] == header]
        print("--- block %r differs" % header)
        diff = difflib.unified_diff(list(block), list(other[0]) if other else [],
                                    fromfile=argv[1], tofile=argv[2], n=1, lineterm="")
        for line in list(diff)[:20]:
            print(line)
    print("%d block(s) missing, %d unexpected" % (sum(missing.values()), sum(extra.values())))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
