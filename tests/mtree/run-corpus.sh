#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run guestmem-mtree over every case of one or more dump directories.
#
# usage: run-corpus.sh MODE TOOL SRCDIR [MIN_CASES MIN_AS] DATADIR...
#
# MODE
#   hints      `TOOL -f --terminates X.hints X.tree` must print the flat views
#              of X.flat (compared per address space by
#              scripts/mtree-compare.py); every case must match. Prints the
#              number of cases and address spaces that match.
#   roundtrip  `TOOL X.tree` must print X.tree again (tests/mtree/tree-compare.py:
#              exact, except that the order of blocks, which QEMU takes from
#              a hash table, is ignored); every case must match.
#   nohints    `TOOL -f X.tree`: prints how many cases and address spaces
#              match X.flat; fails only below MIN_CASES cases or MIN_AS
#              address spaces (summed over all directories).
# SRCDIR is the source tree (for the compare scripts and known-failures.txt).
#
# Cases listed in tests/mtree/known-failures.txt for MODE are expected to
# fail (a guestmem limitation, explained there): they are reported as XFAIL,
# and as an error (XPASS) once they pass, so that the list stays current.
# Meson cannot glob at configure time, hence this loop.

set -u

mode=$1 tool=$2 src=$3
shift 3
min_cases=0 min_as=0
if [ "$mode" = nohints ]; then
    min_cases=$1 min_as=$2
    shift 2
fi

compare="$src/scripts/mtree-compare.py"
treecmp="$src/tests/mtree/tree-compare.py"
known="$src/tests/mtree/known-failures.txt"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

is_known() {
    grep -q "^$mode $1 " "$known" 2>/dev/null
}

cases=0 ok=0 bad=0 as_ok=0 as_total=0

run_case() {
    # $1 = path without extension; sets $tmp/out and returns the compare status
    case "$mode" in
    hints)
        "$tool" -f --terminates "$1.hints" "$1.tree" >"$tmp/out" 2>"$tmp/err" || return 2
        python3 "$compare" --stats "$1.flat" "$tmp/out" >"$tmp/diff" 2>&1 ;;
    roundtrip)
        "$tool" "$1.tree" >"$tmp/out" 2>"$tmp/err" || return 2
        python3 "$treecmp" "$1.tree" "$tmp/out" >"$tmp/diff" 2>&1 ;;
    nohints)
        "$tool" -f "$1.tree" >"$tmp/out" 2>"$tmp/err" || return 2
        python3 "$compare" --stats "$1.flat" "$tmp/out" >"$tmp/diff" 2>&1 ;;
    esac
}

count_as() {
    # address spaces matched: N/M  (last lines of --stats)
    line=$(grep '^address spaces matched:' "$tmp/diff" | tail -n 1)
    n=${line##*: }
    as_ok=$((as_ok + ${n%/*}))
    as_total=$((as_total + ${n#*/}))
}

for dir in "$@"; do
    for tree in "$dir"/*.tree; do
        [ -e "$tree" ] || continue
        base=${tree%.tree}
        name=$(basename "$base")
        [ -e "$base.flat" ] || continue
        [ "$mode" = hints ] && [ ! -e "$base.hints" ] && continue
        cases=$((cases + 1))
        run_case "$base"
        status=$?
        [ "$mode" != roundtrip ] && [ $status -ne 2 ] && count_as
        if [ $status -eq 0 ]; then
            ok=$((ok + 1))
            if is_known "$name"; then
                echo "XPASS $name (remove it from known-failures.txt)"
                bad=$((bad + 1))
            else
                echo "ok    $name"
            fi
        elif is_known "$name"; then
            echo "XFAIL $name"
        elif [ "$mode" = nohints ]; then
            echo "miss  $name"
        else
            echo "FAIL  $name"
            cat "$tmp/err" "$tmp/diff" 2>/dev/null | head -n 20 | sed 's/^/      /'
            bad=$((bad + 1))
        fi
    done
done

echo "$mode: cases matched: $ok/$cases"
[ "$mode" != roundtrip ] && echo "$mode: address spaces matched: $as_ok/$as_total"
if [ "$mode" = nohints ]; then
    if [ $ok -lt "$min_cases" ] || [ $as_ok -lt "$min_as" ]; then
        echo "$mode: below the floor ($min_cases cases, $min_as address spaces)"
        exit 1
    fi
    exit 0
fi
[ $cases -gt 0 ] || { echo "no cases found"; exit 1; }
[ $bad -eq 0 ]
