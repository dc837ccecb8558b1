#!/usr/bin/env bash
# Build the initramfs of an end-to-end test guest.
#
#   scripts/e2e/make-initramfs.sh KITDIR WORKLOAD OUT.cpio.gz
#
# KITDIR is the output of scripts/guest-kit.sh (modules/*.ko, modules/order).
# WORKLOAD is a busybox sh script; it is copied in as /workload.sh and run by
# /init as `sh /workload.sh /dev/vda`.
#
# /init is scripts/e2e/guest-init.sh, which says what the guest prints.
set -euo pipefail

if (($# != 3)); then
    echo "usage: $0 KITDIR WORKLOAD OUT.cpio.gz" >&2
    exit 2
fi
kit=$1 workload=$2 out=$3

busybox=$(command -v busybox || true)
for f in "$kit/modules/order" "$workload" "$busybox" "$(dirname "$0")/guest-init.sh"; do
    [[ -f $f ]] || { echo "make-initramfs: missing $f (run scripts/guest-kit.sh)" >&2; exit 1; }
done
# ldd (libc-bin, on every Debian) fails on a statically linked program.
if ldd "$busybox" >/dev/null 2>&1; then
    echo "make-initramfs: $busybox is not static (install busybox-static)" >&2
    exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules}
cp "$busybox" "$root/bin/busybox"
# Every applet, so that a workload can use any of them.
for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
done

while read -r m; do
    [[ -n $m ]] || continue
    cp "$kit/modules/$m.ko" "$root/modules/"
done <"$kit/modules/order"
cp "$kit/modules/order" "$root/modules/order"
cp "$workload" "$root/workload.sh"

cp "$(dirname "$0")/guest-init.sh" "$root/init"
chmod 0755 "$root/init" "$root/workload.sh"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc --owner=0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
