#!/bin/sh
# Build guestmem in release mode and run guestmem-bench with the given
# arguments (--quick, --json, --only PATTERN, --help).
#
# Builds build-release/ with scripts/build-release.sh (never the buildtype
# of a development build; build output on stderr, so that
# `scripts/bench.sh --json` prints nothing but the JSON object).
set -eu

cd "$(dirname "$0")/.."

sh scripts/build-release.sh
exec build-release/tools/bench/guestmem-bench "$@"
