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
#   layout:  s = seed mod (2^31 - 2) + 1; slot = floor(span / chunks / 4096) * 4096;
#            max = min(1 MiB, slot); for chunk i: e = rnd() % 12,
#            size = min(max, 512 * 2^e + (rnd() % 2^e) * 512),
#            off = i * slot + (rnd() % ((slot - size) / 512 + 1)) * 512,
#            pooloff = rnd() % 65536.
#            Sizes run from 512 B to 1 MiB, offsets are 512-aligned (not always
#            4 KiB-aligned), and chunks never overlap.
#   pool:    s = (seed + 1000003) mod (2^31 - 2) + 1; 1 MiB + 64 KiB of bytes,
#            3 bytes per step: the big-endian low 24 bits of rnd().
#   chunk i: pool[pooloff, pooloff + size).
#   span:    the disk's size, less its last 4 KiB (the control block) with
#            e2e.loop=1.
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
#      cache and readahead make different request sizes), and compare again;
#   5. only with e2e.loop=1 (the live-migration test, which migrates the
#      guest meanwhile): rounds, each printing E2E-ROUND N. Round N rewrites
#      the chunks i with i % 4 == N % 4, each with the other of two data
#      (its own, or the pool at pooloff + 32771), checks each with a direct
#      read, reads them through the page cache (the device fills the cache
#      pages, and they stay there), then reads every chunk back with iflag=direct in two streams
#      at once, one per CPU. The host writes to the control block (the
#      disk's last 4 KiB): E2E-MIGR once the guest is on the destination,
#      and the next round checks every chunk as the page cache holds it
#      (pages the source's device wrote reach the destination only if the
#      back-end logged them dirty) and prints E2E-CACHE-CHECKED; E2E-STOP
#      ends the rounds. Every chunk then gets its own data back, the control
#      block is zeroed (a fresh image ends all zero outside the chunks) and
#      the guest prints E2E-LOOP-END rounds=N.
# Exit status 0 if every comparison matched. A one-line detail (or the first
# failure) goes to $E2E_RESULT_FILE.

disk=${1:-/dev/vda}
result=${E2E_RESULT_FILE:-/dev/null}
seed=1
chunks=40
loop=0
read -r cmdline </proc/cmdline
for arg in $cmdline; do
    case "$arg" in
    e2e.seed=*) seed=${arg#*=} ;;
    e2e.chunks=*) chunks=${arg#*=} ;;
    e2e.loop=*) loop=${arg#*=} ;;
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
span=$disk_bytes
ctl=$((disk_bytes - 4096))
[ "$loop" = 1 ] && span=$ctl
ncpu=$(nproc)
hwq=$(find /sys/block/"${disk#/dev/}"/mq -mindepth 1 -maxdepth 1 | wc -l)
pool=/tmp/pool
layout=/tmp/layout
manifest=/tmp/manifest
chunk=/tmp/chunk

awk -v seed="$seed" -v n="$chunks" -v disk="$span" '
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
echo "E2E-MANIFEST-BEGIN seed=$seed chunks=$chunks disk=$disk_bytes span=$span pool=$pool_sum"
cat "$manifest"
echo "E2E-MANIFEST-END"

# sha256 of SIZE bytes at OFF of the disk, read with O_DIRECT on CPU C.
direct_sum() { # OFF SIZE C
    taskset -c "$3" dd if="$disk" bs="$(dio_bs "$2")" skip="$1" count="$2" \
        iflag=skip_bytes,count_bytes,direct 2>/dev/null | sha256sum | cut -d' ' -f1
}

# Read back with O_DIRECT the chunks i of LIST (default: the manifest) with
# i % STEP == FIRST, on CPU (i + 1) % ncpu (not the one that wrote them);
# WHAT names the pass.
read_back_direct() { # WHAT FIRST STEP [LIST]
    while read -r _ i off size _ sum; do
        [ $((i % $3)) -eq "$2" ] || continue
        [ "$(direct_sum "$off" "$size" $(((i + 1) % ncpu)))" = "$sum" ] ||
            fail "chunk $i: ${1:+$1 }direct read-back mismatch off=$off size=$size"
    done <"${4:-$manifest}"
}

# Phase 3: direct read-back, from a different CPU than the write.
read_back_direct "" 0 1
t2=$(uptime_s)

# Read back every chunk of LIST (default: the manifest) through the page
# cache; WHAT names the pass.
read_back_buffered() { # WHAT [LIST]
    while read -r _ i off size _ sum; do
        got=$(dd if="$disk" bs=65536 skip="$off" count="$size" \
            iflag=skip_bytes,count_bytes 2>/dev/null | sha256sum | cut -d' ' -f1)
        [ "$got" = "$sum" ] || fail "chunk $i: ${1:+$1 }buffered read-back mismatch off=$off size=$size"
    done <"${2:-$manifest}"
}

drop_caches() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
}

# Phase 4: buffered read-back from a cold page cache.
drop_caches
read_back_buffered ""
t3=$(uptime_s)

# Write SIZE bytes of the pool from POOLOFF at OFF with O_DIRECT and a flush,
# on CPU C, and check a direct read of them from the other CPU.
write_checked() { # OFF SIZE POOLOFF C WHAT
    dd if="$pool" of="$chunk" bs=65536 skip="$3" count="$2" \
        iflag=skip_bytes,count_bytes 2>/dev/null || fail "$5: extract"
    want=$(sha256sum "$chunk" | cut -d' ' -f1)
    taskset -c "$4" dd if="$chunk" of="$disk" bs="$(dio_bs "$2")" count=1 seek="$1" \
        oflag=seek_bytes,direct conv=notrunc,fsync 2>/dev/null || fail "$5: write off=$1 size=$2"
    [ "$(direct_sum "$1" "$2" $((($4 + 1) % ncpu)))" = "$want" ] ||
        fail "$5: read back differs from what was written (off=$1 size=$2)"
}

# The control block's first 8 bytes.
control() {
    dd if="$disk" bs=4096 skip="$ctl" count=4096 iflag=skip_bytes,count_bytes,direct 2>/dev/null |
        head -c 8
}

# Rewrite chunk K of $current with the data at POOLOFF, check it, record it.
rewrite_chunk() { # K POOLOFF WHAT
    set -- "$1" "$2" "$3" $(sed -n "$(($1 + 1))p" "$current")
    write_checked "$6" "$7" "$2" $(($1 % ncpu)) "$3: chunk $1"
    awk -v k="$1" -v p="$2" -v s="$want" '$2 == k { $5 = p; $6 = s } { print }' \
        "$current" >"$current.new" && mv "$current.new" "$current"
}

# Phase 5: rounds until the host says stop (e2e.loop=1 only). $current
# holds what each chunk holds now (the manifest's format).
current=/tmp/current
cp "$manifest" "$current"
round=0 cache_checked=0
while [ "$loop" = 1 ]; do
    round=$((round + 1))
    echo "E2E-ROUND $round uptime=$(uptime_s)"
    : >/tmp/these
    for k in $(awk -v r=$((round % 4)) '$2 % 4 == r { print $2 }' "$current"); do
        set -- $(sed -n "$((k + 1))p" "$current")
        rewrite_chunk "$k" $((($5 + 32771) % 65536)) "round $round"
        sed -n "$((k + 1))p" "$current" >>/tmp/these
    done
    # Into the page cache, by the device; read from there once migrated.
    read_back_buffered "round $round" /tmp/these
    read_back_direct "round $round" 0 2 "$current" &
    even=$!
    read_back_direct "round $round" 1 2 "$current" || exit 1
    wait "$even" || exit 1
    case "$(control)" in
    E2E-MIGR)
        if [ "$cache_checked" = 0 ]; then
            read_back_buffered "page cache filled before the migration:" "$current"
            cache_checked=1
            echo "E2E-CACHE-CHECKED round=$round"
        fi ;;
    E2E-STOP) break ;;
    esac
done
if [ "$loop" = 1 ]; then
    # Every chunk back to the manifest's data, for the host's check.
    while read -r _ i _ _ pooloff _; do
        set -- $(sed -n "$((i + 1))p" "$manifest")
        [ "$pooloff" = "$5" ] || rewrite_chunk "$i" "$5" "restore"
    done <"$current"
    read_back_direct "restored" 0 1
    dd if=/dev/zero of="$disk" bs=4096 count=1 seek="$ctl" oflag=seek_bytes,direct conv=notrunc,fsync \
        2>/dev/null || fail "clearing the control block"
    echo "E2E-LOOP-END rounds=$round"
fi
t4=$(uptime_s)
echo "E2E-IO-END uptime=$t4"

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
