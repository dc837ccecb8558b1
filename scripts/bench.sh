#!/bin/sh
# Build guestmem in release mode and run guestmem-bench with the given
# arguments (--quick, --json, --only PATTERN, --help).
#
# Uses its own build directory, build-release/, so it never changes the
# buildtype of a development build. The test suite is not needed to
# benchmark and is left out of that build. Build output goes to stderr so
# that `scripts/bench.sh --json` prints nothing but the JSON object.
set -eu

cd "$(dirname "$0")/.."

if [ ! -f build-release/build.ninja ]; then
    wipe=
    if [ -f build-release/meson-private/coredata.dat ]; then
        wipe=--wipe # an earlier setup failed half way
    fi
    meson setup build-release $wipe --buildtype=release -Dtests=false >&2
fi
ninja -C build-release >&2
exec build-release/tools/bench/guestmem-bench "$@"
