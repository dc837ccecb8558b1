#!/usr/bin/env bash
# Assemble the guest kit for the end-to-end tests: a Debian 12 cloud kernel
# and the virtio modules a guest needs to see a vhost-user-blk disk.
#
#   scripts/guest-kit.sh [OUTDIR]        (default: build-kit/)
#
# Produces:
#   OUTDIR/vmlinuz                  the kernel (linux-image-6.1.0-*-cloud-amd64)
#   OUTDIR/modules/*.ko             virtio_ring virtio virtio_pci_legacy_dev
#                                   virtio_pci_modern_dev virtio_pci virtio_blk
#   OUTDIR/modules/order            the insmod order, one module a line
#   OUTDIR/kernel-version           e.g. 6.1.0-56-cloud-amd64
#
# Idempotent: packages already installed are not installed again, and a step
# whose output exists is skipped. Delete OUTDIR to pick up a newer kernel.
#
# The cloud kernel is used because it is small and has virtio as modules (the
# guest's init loads them itself, no udev needed) while CONFIG_INTEL_IOMMU,
# CONFIG_IRQ_REMAP and CONFIG_PCI_ATS are built in for the vIOMMU scenarios.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-build-kit}

# insmod order: each module needs the symbols of the ones before it.
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk)

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo

log() { echo "guest-kit: $*" >&2; }

have_pkg() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

apt_updated=0
apt_update_once() {
    if ((!apt_updated)); then
        $SUDO apt-get update -q >&2
        apt_updated=1
    fi
}

install_packages() {
    local want=(qemu-system-x86 qemu-utils busybox-static cpio python3)
    local missing=() p
    for p in "${want[@]}"; do
        have_pkg "$p" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
        --no-install-recommends "${missing[@]}" >&2
}

# Print the linux-image-6.1.0-*-cloud-amd64 package the metapackage depends on.
kernel_package() {
    local dep
    dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
    if [[ -z $dep ]]; then
        apt_update_once
        dep=$(apt-cache depends linux-image-cloud-amd64 |
            sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
    fi
    [[ -n $dep ]] || { log "cannot resolve linux-image-cloud-amd64"; return 1; }
    echo "$dep"
}

fetch_kernel() {
    local pkg="$1" debdir="$out/deb"
    mkdir -p "$debdir"
    if ! compgen -G "$debdir/${pkg}_*.deb" >/dev/null; then
        log "downloading $pkg"
        # apt-get download drops privileges to _apt, which may not be able to
        # write here; it then falls back to root with a warning. Download into
        # a world-writable scratch directory to keep the output quiet.
        local tmp
        tmp=$(mktemp -d)
        chmod 0777 "$tmp"
        (cd "$tmp" && apt-get download -q "$pkg" >&2)
        mv "$tmp"/"${pkg}"_*.deb "$debdir/"
        rmdir "$tmp"
    fi
    if [[ ! -d $out/root ]]; then
        log "unpacking $pkg"
        rm -rf "$out/root.tmp"
        dpkg -x "$debdir"/"${pkg}"_*.deb "$out/root.tmp"
        mv "$out/root.tmp" "$out/root"
    fi
}

# Copy one module out of the unpacked package, decompressing it if Debian
# ships it compressed (bookworm ships plain .ko; later releases use .ko.xz).
copy_module() {
    local kver="$1" name="$2" src
    src=$(find "$out/root/lib/modules/$kver/kernel" \
        \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \) | head -n1)
    [[ -n $src ]] || { log "module $name not found (built in?)"; return 1; }
    case "$src" in
    *.ko.xz) xz -dc "$src" >"$out/modules/$name.ko.tmp" ;;
    *.ko.zst) zstd -qdc "$src" >"$out/modules/$name.ko.tmp" ;;
    *) cp "$src" "$out/modules/$name.ko.tmp" ;;
    esac
    mv "$out/modules/$name.ko.tmp" "$out/modules/$name.ko"
}

install_packages

if [[ -f $out/vmlinuz && -f $out/modules/order ]]; then
    log "kit up to date in $out ($(cat "$out/kernel-version"))"
    exit 0
fi

pkg=$(kernel_package)
kver=${pkg#linux-image-}
mkdir -p "$out/modules"
fetch_kernel "$pkg"

[[ -f $out/vmlinuz ]] || cp "$out/root/boot/vmlinuz-$kver" "$out/vmlinuz"
for m in "${modules[@]}"; do
    [[ -f $out/modules/$m.ko ]] || copy_module "$kver" "$m"
done
echo "$kver" >"$out/kernel-version"
rm -rf "$out/root" # 120 MB unpacked; the .deb stays cached in $out/deb
printf '%s\n' "${modules[@]}" >"$out/modules/order.tmp"
mv "$out/modules/order.tmp" "$out/modules/order"
log "kit ready in $out ($kver)"
