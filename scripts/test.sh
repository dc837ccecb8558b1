#!/usr/bin/env bash
# Set up, build and run the whole test suite.
#
#   scripts/test.sh                 gcc build, every test
#   scripts/test.sh --sanitize      clang ASan+UBSan build, every test
#
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

if [[ "${1:-}" == --sanitize ]]; then
    dir=build-asan
    opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all)
    export CC=clang
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
    dir=build-test
    opts=()
fi

if [[ ! -d $dir ]]; then
    meson setup "$dir" "${opts[@]}" >/dev/null || exit 1
fi
ninja -C "$dir" || exit 1
meson test -C "$dir" --print-errorlogs --num-processes 2
status=$?
python3 scripts/test-summary.py "$dir/meson-logs/testlog.json"
exit $status
