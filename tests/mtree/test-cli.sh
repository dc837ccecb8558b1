#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Command line of guestmem-mtree: exit statuses, messages, stdin, --lookup.
#
# usage: test-cli.sh TOOL DATADIR   (DATADIR = tests/mtree/data)

set -u
tool=$1 data=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect STATUS DESCRIPTION COMMAND...: run it, check the exit status
expect() {
    want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $what: exit $got, expected $want"
        sed 's/^/     /' "$tmp/err"
        fails=$((fails + 1))
    else
        echo "ok - $what"
    fi
}

# stderr_has TEXT: the last command's message contains TEXT
stderr_has() {
    if ! grep -qF -- "$1" "$tmp/err"; then
        echo "FAIL message lacks \"$1\":"
        sed 's/^/     /' "$tmp/err"
        fails=$((fails + 1))
    fi
}

expect 0 "--help" "$tool" --help
grep -q '^usage: guestmem-mtree' "$tmp/out" || { echo "FAIL --help text"; fails=$((fails + 1)); }
expect 2 "no FILE" "$tool"
stderr_has "expected exactly one FILE"
expect 2 "two FILEs" "$tool" "$data/small-pc.tree" "$data/small-pc.tree"
expect 2 "unknown option" "$tool" --bogus "$data/small-pc.tree"
expect 2 "--as without --lookup" "$tool" --as memory "$data/small-pc.tree"
expect 2 "-f with --lookup" "$tool" -f --lookup 0 "$data/small-pc.tree"
expect 2 "bad --lookup" "$tool" --lookup 12g "$data/small-pc.tree"
expect 2 "missing file" "$tool" "$tmp/nonexistent"
stderr_has "nonexistent"
expect 2 "missing hint file" "$tool" --terminates "$tmp/nonexistent" "$data/small-pc.tree"

printf 'address-space: x\n  0000000000000000-000000000000zzzz (prio 0, i/o): a\n' >"$tmp/bad.tree"
expect 2 "bad hex" "$tool" "$tmp/bad.tree"
stderr_has "bad.tree: line 2: bad hex"
printf 'io\n' >"$tmp/bad.hints"
expect 2 "bad hint file" "$tool" --terminates "$tmp/bad.hints" "$data/small-pc.tree"
stderr_has "bad.hints: line 1:"

expect 0 "stdin" sh -c "\"$tool\" - <\"$data/small-pc.tree\""
cmp -s "$tmp/out" "$data/small-pc.tree" || { echo "FAIL stdin tree differs"; fails=$((fails + 1)); }

expect 0 "--lookup" "$tool" --lookup f0010,0xa0000,fffffffff,70 --as memory "$data/small-pc.tree"
cat >"$tmp/want" <<'EOF'
AS memory 00000000000f0010 -> pc.ram @00000000000f0010 [00000000000f0000-00000000000fffff] (rom)
AS memory 00000000000a0000 -> vga-lowmem @0000000000000000 [00000000000a0000-00000000000bffff] (i/o)
AS memory 0000000fffffffff -> unassigned
AS memory 0000000000000070 -> pc.ram @0000000000000070 [0000000000000000-000000000009ffff] (ram)
EOF
cmp -s "$tmp/out" "$tmp/want" || { echo "FAIL --lookup output:"; cat "$tmp/out"; fails=$((fails + 1)); }

expect 0 "--lookup in every address space" "$tool" --lookup 71 "$data/small-pc.tree"
grep -q '^AS I/O 0000000000000071 -> rtc @0000000000000001 \[0000000000000071-0000000000000071\] (i/o)$' "$tmp/out" ||
    { echo "FAIL --lookup I/O:"; cat "$tmp/out"; fails=$((fails + 1)); }
[ "$(wc -l <"$tmp/out")" -eq 3 ] || { echo "FAIL --lookup: expected 3 lines"; fails=$((fails + 1)); }
expect 2 "--as unknown" "$tool" --lookup 0 --as nope "$data/small-pc.tree"
stderr_has "no address space named 'nope'"

[ $fails -eq 0 ]
