#!/usr/bin/env bash
# Install the Debian 12 packages guestmem needs. Idempotent: packages that
# are already installed are not fetched again.
#
#   scripts/setup.sh            build + test toolchain (default)
#   scripts/setup.sh corpus     + the QEMU builds used to regenerate tests/data/mtree
#   scripts/setup.sh bench      + fio and gnuplot for scripts/bench-blkperf.sh
#
# Why each package is needed: docs/dependencies.md.
set -euo pipefail

base=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev liburcu-dev libxen-dev liburing-dev python3
      qemu-system-x86 qemu-utils busybox-static cpio systemd
      libvirt-daemon-system libvirt-daemon-system-sysv libvirt-daemon-driver-qemu libvirt-clients)
extra=()
case "${1:-}" in
corpus) mapfile -t extra < <(grep -v '^#' "$(dirname "$0")/corpus-packages.txt") ;;
bench) extra=(fio gnuplot-nox) ;;
esac

want=("${base[@]}" "${extra[@]}")
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
