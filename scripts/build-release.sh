#!/bin/sh
# Build guestmem in release mode in build-release/, the given ninja targets
# (default: everything), for the benchmark scripts.
#
# Uses its own build directory so that it never changes the buildtype of a
# development build. The test suite is not needed to benchmark and is left
# out of that build. Build output goes to stderr so that a benchmark's
# --json prints nothing but its JSON object.
set -eu

cd "$(dirname "$0")/.."

if [ ! -f build-release/build.ninja ]; then
    wipe=
    if [ -f build-release/meson-private/coredata.dat ]; then
        wipe=--wipe # an earlier setup failed half way
    fi
    meson setup build-release $wipe --buildtype=release -Dtests=false >&2
fi
ninja -C build-release "$@" >&2
