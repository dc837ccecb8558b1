#!/usr/bin/env bash
# guestmem-vhost-blk as operators run it: socket permissions, signals,
# socket activation, the IOMMU feature offered by default.
#
#   blk_process_test.sh CASE VHOST_BLK BLKPERF
#
# CASE is one of:
#   socket-perms   --socket-mode and --socket-group are on the socket when it
#                  appears, and again when a restarted back-end replaces it
#   sigterm        SIGTERM while requests are in flight: every request taken is
#                  finished, the totals are printed, the exit status is 0
#   activation     started by systemd-socket-activate (LISTEN_FDS) with no
#                  socket option: serves a --verify run (skipped without it)
#   iommu-default  VIRTIO_F_IOMMU_PLATFORM is offered without --iommu (a vIOMMU
#                  front-end works), not with --no-iommu, and a front-end that
#                  does not ack it sends no IOTLB traffic
#
# Every check prints "ok - ..." or "not ok - ..."; the first failure ends the
# case with status 1. Timeouts only turn a hang into a failure.
set -uo pipefail
case_name=$1 vhost_blk=$2 blkperf=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/blk-process.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "not ok - $*"; [[ -s $dir/backend.log ]] && sed 's/^/# /' "$dir/backend.log" | tail -20; exit 1; }
ok() { echo "ok - $*"; }

# Start the back-end in the background with "$@"; sets bpid; waits until it
# serves (its banner: the socket at $dir/sock is then in place, a stale
# one already replaced).
start_backend() {
    local before
    before=$(grep -c 'guestmem-vhost-blk: serving' "$dir/backend.log" 2>/dev/null)
    "$vhost_blk" "$@" 2>>"$dir/backend.log" &
    bpid=$!
    pids+=("$bpid")
    for ((i = 0; i < 200; i++)); do
        (($(grep -c 'guestmem-vhost-blk: serving' "$dir/backend.log") > ${before:-0})) &&
            [[ -S $dir/sock ]] && return 0
        kill -0 "$bpid" 2>/dev/null || break
        sleep 0.05
    done
    fail "the back-end did not start serving"
}

case_socket_perms() {
    local group want
    group=$(getent group | awk -F: '$3 != 0 { print $1; exit }')
    [[ -n $group ]] || { echo "no group other than root: skipped"; exit 77; }
    start_backend --socket-path "$dir/sock" --socket-mode 0660 --socket-group "$group"
    want="srw-rw---- root:$group"
    [[ "$(stat -c '%A %U:%G' "$dir/sock")" == "$want" ]] ||
        fail "socket is '$(stat -c '%A %U:%G' "$dir/sock")', want '$want'"
    ok "the socket appears as $want"
    kill -9 "$bpid"; wait "$bpid" 2>/dev/null
    start_backend --socket-path "$dir/sock" --socket-mode 0620 --socket-group "$group"
    want="srw--w---- root:$group"
    [[ "$(stat -c '%A %U:%G' "$dir/sock")" == "$want" ]] ||
        fail "restarted: socket is '$(stat -c '%A %U:%G' "$dir/sock")', want '$want'"
    ok "a restarted back-end replaces the stale socket, as $want"
    : >"$dir/file"
    "$vhost_blk" --socket-path "$dir/file" --once 2>"$dir/refused.log" &&
        fail "a regular file at the socket path was replaced"
    [[ -f $dir/file && ! -S $dir/file ]] || fail "the regular file at the socket path changed"
    ok "a regular file at the socket path is left alone ($(grep -o 'cannot listen.*' "$dir/refused.log"))"
}

case_sigterm() {
    local rc img=$dir/disk.img stats
    truncate -s 64M "$img"
    start_backend --socket-path "$dir/sock" --blk-file "$img" --num-queues 2
    timeout 60 "$blkperf" --socket "$dir/sock" --rw randwrite --bs 64k --queues 2 --iodepth 32 \
        --runtime 20 --quiet >/dev/null 2>&1 &
    pids+=($!)
    sleep 1.5
    kill -TERM "$bpid"
    timeout 30 tail --pid="$bpid" -f /dev/null
    wait "$bpid"
    rc=$?
    ((rc == 0)) || fail "exit status $rc after SIGTERM"
    grep -q 'SIGTERM: finishing the requests in flight' "$dir/backend.log" || fail "no SIGTERM line"
    grep -Eq '^guestmem-vhost-blk: [0-9]+ requests, [0-9]+ errors$' "$dir/backend.log" ||
        fail "no totals line"
    stats=$(grep 'stats:' "$dir/backend.log" | tail -n1)
    [[ $stats =~ \ requests=([0-9]+) ]] || fail "no stats line"
    local taken=${BASH_REMATCH[1]}
    [[ $stats =~ device_requests=([0-9]+) ]] || fail "no device_requests"
    ((taken > 0 && taken == BASH_REMATCH[1])) ||
        fail "taken $taken requests, finished ${BASH_REMATCH[1]}"
    ok "SIGTERM with requests in flight: exit 0, all $taken requests taken were finished, totals printed"
}

case_activation() {
    command -v systemd-socket-activate >/dev/null ||
        { echo "systemd-socket-activate not installed: skipped"; exit 77; }
    systemd-socket-activate -l "$dir/sock" -- "$vhost_blk" --ram-size 16M 2>>"$dir/backend.log" &
    bpid=$!
    pids+=("$bpid")
    for ((i = 0; i < 100; i++)); do [[ -S $dir/sock ]] && break; sleep 0.05; done
    timeout 60 "$blkperf" --socket "$dir/sock" --rw randrw --iodepth 8 --ios 500 --verify \
        --quiet >"$dir/out" 2>&1 || { cat "$dir/out"; fail "a --verify run on the activated socket"; }
    grep -q 'serving RAM disk' "$dir/backend.log" || fail "the back-end did not start"
    ok "started with LISTEN_FDS and no socket option: a --verify run passes"
}

case_iommu_default() {
    local out
    start_backend --socket-path "$dir/sock" --ram-size 16M
    out=$(timeout 60 "$blkperf" --socket "$dir/sock" --rw randread --iodepth 4 --ios 200 --json \
        --quiet --iommu strict) || fail "a vIOMMU front-end against the default back-end"
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j["iotlb"]["misses"] > 0 else 1)' "$out" ||
        fail "no IOTLB traffic with the vIOMMU: $out"
    ok "IOMMU_PLATFORM is offered without --iommu"
    kill "$bpid"; wait "$bpid" 2>/dev/null
    : >"$dir/backend.log"
    start_backend --socket-path "$dir/sock" --ram-size 16M
    timeout 60 "$blkperf" --socket "$dir/sock" --rw randread --iodepth 4 --ios 200 --quiet \
        >/dev/null 2>&1 || fail "a front-end without a vIOMMU"
    kill "$bpid"; wait "$bpid" 2>/dev/null
    grep -q 'iotlb_misses=0 ' "$dir/backend.log" || fail "IOTLB traffic without a vIOMMU"
    ok "a front-end that does not ack it: no IOTLB traffic"
    : >"$dir/backend.log"
    start_backend --socket-path "$dir/sock" --ram-size 16M --no-iommu
    timeout 60 "$blkperf" --socket "$dir/sock" --iommu strict --ios 10 --quiet >"$dir/out" 2>&1 &&
        fail "--no-iommu still offered it"
    grep -q 'VIRTIO_F_IOMMU_PLATFORM' "$dir/out" || fail "--no-iommu: $(cat "$dir/out")"
    ok "--no-iommu: not offered"
}

"case_${case_name//-/_}"
