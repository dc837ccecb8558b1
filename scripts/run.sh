#!/usr/bin/env bash
# The main job: set up, build, and run guestmem-vhost-blk against a real
# Linux guest in QEMU that writes and verifies data, then say what happened.
#
#   bash scripts/run.sh
#
# Steps:
#   1. scripts/setup.sh installs the build packages that are missing (apt);
#   2. meson and ninja build everything in build/;
#   3. scripts/e2e/run-guest.sh boots a Debian 12 kernel in QEMU (TCG) with
#      one vhost-user-blk disk served by build/devices/blk/guestmem-vhost-blk,
#      twice: without a vIOMMU, and behind an Intel vIOMMU in strict mode
#      (the backend then translates every guest address through IOTLB misses
#      answered by QEMU). The first run installs QEMU, busybox and cpio and
#      downloads the kernel package into build-kit/ (scripts/guest-kit.sh).
#      In the guest, a workload writes pseudo-random chunks with O_DIRECT and
#      reads them back twice; on the host, scripts/e2e/verify-image.py
#      regenerates the data from the seed and checks the image byte for byte.
#
# Works as root (or with sudo) on a fresh Debian 12 machine. Prints a short
# summary at the end; the full output of each guest run is kept in
# build/run-logs/. Exit status 0 only if every step and both runs passed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

say() { echo "run: $*"; }
fail() {
    echo "run: FAILED: $*" >&2
    exit 1
}

say "setting up (scripts/setup.sh)"
bash scripts/setup.sh || fail "scripts/setup.sh"

say "building in build/"
if [[ ! -f build/build.ninja ]]; then
    setup_log=$(mktemp)
    meson setup build >"$setup_log" 2>&1 || {
        cat "$setup_log" >&2
        rm -f "$setup_log"
        fail "meson setup build (log above)"
    }
    mv "$setup_log" build/run-setup.log
fi
ninja -C build >build/run-ninja.log 2>&1 || {
    tail -n 40 build/run-ninja.log >&2
    fail "ninja -C build (end of the log above, all of it in build/run-ninja.log)"
}
backend=$PWD/build/devices/blk/guestmem-vhost-blk
[[ -x $backend ]] || fail "$backend was not built"

logs=build/run-logs
mkdir -p "$logs"
names=(plain iommu-strict)
labels=("no vIOMMU" "Intel vIOMMU, strict")
argv=("" "--iommu strict")
status=()
for i in "${!names[@]}"; do
    say "guest run $((i + 1))/${#names[@]}: ${labels[i]} (scripts/e2e/run-guest.sh${argv[i]:+ ${argv[i]}})"
    # shellcheck disable=SC2086 # argv[i] is a list of words
    if BACKEND=guestmem GUESTMEM_VHOST_BLK=$backend \
        bash scripts/e2e/run-guest.sh ${argv[i]} >"$logs/${names[i]}.log" 2>&1; then
        status+=(PASS)
    else
        status+=(FAIL)
        say "run ${names[i]} failed; its output:"
        sed 's/^/    /' "$logs/${names[i]}.log"
    fi
done

# Summary, from the lines run-guest.sh prints (tests/e2e/README.md).
field() { # LOG KEY: the value of KEY=value on the backend's stats line
    sed -n "s/.*stats:.* $2=\([0-9]*\).*/\1/p" "$1" | tail -n1
}
kver=$(cat build-kit/kernel-version 2>/dev/null || echo unknown)
qver=$(qemu-system-x86_64 --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p')
echo
echo "== guestmem-vhost-blk against a real Linux guest =="
echo "Guest:   Debian 12 kernel $kver in QEMU ${qver:-?} (TCG, q35, 512 MiB), busybox initramfs;"
echo "         its disk is a vhost-user-blk-pci device backed by a fresh 64 MiB image"
echo "Backend: $backend (one request queue)"
passed=0
for i in "${!names[@]}"; do
    log=$logs/${names[i]}.log
    echo "${labels[i]}: ${status[i]}"
    times=$(sed -n 's/^e2e: boot \(.*\)/\1/p' "$log")
    [[ -z $times ]] || echo "    boot ${times}"
    result=$(sed -n 's/^e2e: guest result: E2E-RESULT: //p' "$log")
    if [[ $result =~ chunks=([0-9]+)\ bytes=([0-9]+) ]]; then
        echo "    guest: wrote ${BASH_REMATCH[1]} chunks, ${BASH_REMATCH[2]} bytes, with O_DIRECT; read them back direct and buffered; all matched"
    elif [[ -n $result ]]; then
        echo "    guest: $result"
    fi
    iommu=$(sed -n 's/^e2e: guest iommu: //p' "$log")
    if [[ $iommu =~ iommus=([^ ]+)\ group=([^ ]+)\ type=([^ ]+) && ${BASH_REMATCH[1]} != none ]]; then
        echo "    guest IOMMU: ${BASH_REMATCH[1]}, the disk in group ${BASH_REMATCH[2]}, domain type ${BASH_REMATCH[3]}"
    fi
    req=$(field "$log" requests)
    if [[ -n $req ]]; then
        line="    backend: $req requests served"
        misses=$(field "$log" iotlb_misses)
        if [[ -n $misses && $misses != 0 ]]; then
            line+=", $misses IOTLB misses answered by QEMU, $(field "$log" iotlb_invalidations) entries invalidated"
            line+=", $(field "$log" iotlb_timeouts) miss timeouts"
        fi
        echo "$line"
    fi
    check=$(sed -n 's/^e2e: host check: //p' "$log")
    [[ -z $check ]] || echo "    host check: $check"
    sed -n 's/^e2e: failure: /    failure: /p' "$log"
    [[ ${status[i]} == PASS ]] && passed=$((passed + 1))
done
echo "Logs:    $logs/"
if ((passed == ${#names[@]})); then
    echo "Result:  PASS ($passed of ${#names[@]} guest runs)"
    exit 0
fi
echo "Result:  FAIL ($passed of ${#names[@]} guest runs passed)"
exit 1
