#!/bin/sh
# Guest workload: write pseudo-random data to the disk with O_DIRECT, read it
# back and compare. Runs inside the test guest under busybox sh:
#
#   sh /workload.sh /dev/vda
#
# Parameters come from the kernel command line:
#   e2e.seed=N      generator seed (default 1)
#   e2e.chunks=N    number of writes (default 40)
#
# Data and layout are deterministic functions of (seed, chunks, disk size), so
# the host regenerates them independently (scripts/e2e/verify-image.py, which
# must stay in step with the two awk programs below):
#
#   rnd():   Park-Miller, s = s * 16807 mod (2^31 - 1); exact in awk's doubles
#            because s * 16807 < 2^46.
#   layout:  s = seed mod (2^31 - 2) + 1; slot = floor(disk / chunks / 4096) * 4096;
#            max = min(1 MiB, slot); for chunk i: e = rnd() % 12,
#            size = min(max, 512 * 2^e + (rnd() % 2^e) * 512),
#            off = i * slot + (rnd() % ((slot - size) / 512 + 1)) * 512,
#            pooloff = rnd() % 65536.
#            Sizes run from 512 B to 1 MiB, offsets are 512-aligned (not always
#            4 KiB-aligned), and chunks never overlap.
#   pool:    s = (seed + 1000003) mod (2^31 - 2) + 1; 1 MiB + 64 KiB of bytes,
#            3 bytes per step: the big-endian low 24 bits of rnd().
#   chunk i: pool[pooloff, pooloff + size).
#
# Phases (E2E-IO-START is printed as phase 1 begins, E2E-IO-END after phase 4):
#   1. write every chunk with dd oflag=direct conv=fsync (so each write is
#      followed by a flush), pinned to CPU i % nproc so that with several
#      vCPUs every request queue carries I/O;
#   2. print the manifest (one E2E-CHUNK line per chunk) between
#      E2E-MANIFEST-BEGIN and E2E-MANIFEST-END for the host;
#   3. read every chunk back with iflag=direct, from another CPU, and compare
#      its sha256 with the one recorded at write time;
#   4. drop the page cache and read every chunk back again, buffered (page
#      cache and readahead make different request sizes), and compare again.
# Exit status 0 if every comparison matched. A one-line detail (or the first
# failure) goes to $E2E_RESULT_FILE.

disk=${1:-/dev/vda}
result=${E2E_RESULT_FILE:-/dev/null}
seed=1
chunks=40
read -r cmdline </proc/cmdline
for arg in $cmdline; do
    case "$arg" in
    e2e.seed=*) seed=${arg#*=} ;;
    e2e.chunks=*) chunks=${arg#*=} ;;
    esac
done

fail() {
    echo "E2E-ERROR: $*"
    echo "$*" >"$result"
    exit 1
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# dd block size for O_DIRECT transfers of $1 bytes. Busybox dd mmaps its
# buffer (page-aligned) only when bs >= the page size and mallocs it
# otherwise; an unaligned buffer makes O_DIRECT fail with EINVAL, and busybox
# then silently clears O_DIRECT and goes on buffered. So never use bs < 4096:
# a smaller chunk is still one request of $1 bytes (a short read of the chunk
# file, or count_bytes on the disk).
dio_bs() { if [ "$1" -lt 4096 ]; then echo 4096; else echo "$1"; fi; }

disk_bytes=$(blockdev --getsize64 "$disk") || fail "blockdev $disk"
ncpu=$(nproc)
hwq=$(find /sys/block/"${disk#/dev/}"/mq -mindepth 1 -maxdepth 1 | wc -l)
pool=/tmp/pool
layout=/tmp/layout
manifest=/tmp/manifest
chunk=/tmp/chunk

awk -v seed="$seed" -v n="$chunks" -v disk="$disk_bytes" '
function rnd() { s = (s * 16807) % 2147483647; return s }
BEGIN {
    s = seed % 2147483646 + 1
    slot = int(disk / n / 4096) * 4096
    max = slot < 1048576 ? slot : 1048576
    if (slot < 512) { print "disk too small" > "/dev/stderr"; exit 1 }
    for (i = 0; i < n; i++) {
        p = 1 # 2^e; busybox awk is built without its math library
        for (e = rnd() % 12; e > 0; e--) p *= 2
        size = 512 * p + (rnd() % p) * 512
        if (size > max) size = max
        off = i * slot + (rnd() % ((slot - size) / 512 + 1)) * 512
        printf "%d %d %d %d\n", i, off, size, rnd() % 65536
    }
}' >"$layout" || fail "layout generation"

t0=$(uptime_s)
# Eight values per printf, into a file: under TCG each printf to a pipe costs
# a write(2), and this loop dominated the run before.
awk -v seed="$seed" '
BEGIN {
    s = (seed + 1000003) % 2147483646 + 1
    for (i = 0; i < 46422; i++) {
        for (j = 1; j <= 8; j++) {
            s = (s * 16807) % 2147483647
            v[j] = s % 16777216
        }
        printf "%06x%06x%06x%06x%06x%06x%06x%06x", v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]
    }
}' >"$pool.hex" || fail "pool generation"
xxd -r -p "$pool.hex" | head -c 1114112 >"$pool" || fail "pool conversion"
rm -f "$pool.hex"
pool_sum=$(sha256sum "$pool" | cut -d' ' -f1)
echo "E2E-INFO pool generated in $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN{printf "%.1f", b - a}') s, sha256 $pool_sum"

# Phase 1: write. E2E-IO-START marks the first disk I/O of the run for the
# host (run-guest.sh --kill-backend-at counts from it).
t0=$(uptime_s)
echo "E2E-IO-START uptime=$t0"
total=0
: >"$manifest"
while read -r i off size pooloff; do
    dd if="$pool" of="$chunk" bs=65536 skip="$pooloff" count="$size" \
        iflag=skip_bytes,count_bytes 2>/dev/null || fail "chunk $i: extract"
    sum=$(sha256sum "$chunk" | cut -d' ' -f1)
    # One read of the chunk file (it holds exactly $size bytes), one write.
    taskset -c $((i % ncpu)) dd if="$chunk" of="$disk" bs="$(dio_bs "$size")" count=1 \
        seek="$off" oflag=seek_bytes,direct conv=notrunc,fsync 2>/tmp/dd.err ||
        fail "chunk $i: write off=$off size=$size: $(tail -n1 /tmp/dd.err)"
    echo "E2E-CHUNK $i $off $size $pooloff $sum" >>"$manifest"
    total=$((total + size))
done <"$layout"
t1=$(uptime_s)

# Phase 2: manifest for the host.
echo "E2E-MANIFEST-BEGIN seed=$seed chunks=$chunks disk=$disk_bytes pool=$pool_sum"
cat "$manifest"
echo "E2E-MANIFEST-END"

# Phase 3: direct read-back, from a different CPU than the write.
while read -r _ i off size _ sum; do
    got=$(taskset -c $(((i + 1) % ncpu)) dd if="$disk" bs="$(dio_bs "$size")" \
        skip="$off" count="$size" iflag=skip_bytes,count_bytes,direct 2>/dev/null |
        sha256sum | cut -d' ' -f1)
    [ "$got" = "$sum" ] || fail "chunk $i: direct read-back mismatch off=$off size=$size"
done <"$manifest"
t2=$(uptime_s)

# Phase 4: buffered read-back from a cold page cache.
sync
echo 3 >/proc/sys/vm/drop_caches
while read -r _ i off size _ sum; do
    got=$(dd if="$disk" bs=65536 skip="$off" count="$size" \
        iflag=skip_bytes,count_bytes 2>/dev/null | sha256sum | cut -d' ' -f1)
    [ "$got" = "$sum" ] || fail "chunk $i: buffered read-back mismatch off=$off size=$size"
done <"$manifest"
t3=$(uptime_s)
echo "E2E-IO-END uptime=$t3"

# Interrupts per request queue: shows that every queue carried I/O.
irqs=$(awk '/virtio[0-9]+-req/ {
    t = 0
    for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) t += $i
    n = split($NF, q, ".")
    printf "%sq%s=%d", sep, q[n], t; sep = ","
}' /proc/interrupts)

echo "E2E-INFO write ${total} B in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s," \
    "direct read $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b - a}') s," \
    "buffered read $(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.1f", b - a}') s"
echo "chunks=$chunks bytes=$total cpus=$ncpu hwqueues=$hwq irqs=$irqs" >"$result"
exit 0
