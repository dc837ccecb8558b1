#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Print how much of the QEMU `info mtree` corpus guestmem-mtree reproduces:
# flat views with the hint files (--terminates) and without them (the
# terminating-region heuristic alone), counted in cases and address spaces.
#
# usage: scripts/mtree-corpus-rate.sh [TOOL [DATADIR...]]
#   TOOL     default: build/tools/mtree/guestmem-mtree
#   DATADIR  default: tests/data/mtree
# Needs python3 (scripts/mtree-compare.py). Per-case results: run
# tests/mtree/run-corpus.sh directly.

src=$(cd "$(dirname "$0")/.." && pwd)
tool=${1:-$src/build/tools/mtree/guestmem-mtree}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- "$src/tests/data/mtree"

if [ ! -x "$tool" ]; then
    echo "mtree-corpus-rate: $tool not found; build it first (ninja -C build)" >&2
    exit 2
fi
for mode in hints nohints; do
    if [ $mode = hints ]; then label="with hints   "; else label="without hints"; fi
    sh "$src/tests/mtree/run-corpus.sh" $mode "$tool" "$src" \
        $( [ $mode = nohints ] && echo 0 0 ) "$@" |
        sed -n "s/^$mode: \(.*\) matched: \(.*\)/$label  \1: \2/p"
done
