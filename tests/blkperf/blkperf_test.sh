#!/usr/bin/env bash
# guestmem-blkperf against real and fake back-ends.
#
#   blkperf_test.sh CASE BLKPERF VHOST_BLK FAKE_BACKEND
#
# CASE is one of:
#   split, packed   --verify against guestmem-vhost-blk on a RAM disk: 1 and 4
#                   queues, depths 1 to 128, random sizes with multi-segment
#                   and unaligned buffers, direct chains, no event index
#   file            the same kinds of runs on a file image
#   engines         every --aio engine in every --cache mode, split and packed
#   iommu           --iommu strict and lazy, split and packed, RAM disk and file
#   log             --log: dirty logging on mid-run and the rings stopped with
#                   requests in flight (every page written while logging is
#                   logged, nothing completes after GET_VRING_BASE), split and
#                   packed, every engine, with and without --iommu strict, one
#                   lazy, logging off again, several queues
#   qsd             a short --verify against qemu-storage-daemon's export
#                   (skipped when it is not installed), and what it refuses
#   reconnect       kill -9 the back-end while writes are in flight, restart it
#                   on the same socket: every write completes and reads back
#   negative        misbehaving back-ends end in a clear error, in bounded time;
#                   a corrupted image fails --verify at the corrupted offset
#   fulldisk        an image on a small tmpfs that fills up (skipped without
#                   permission to mount)
#
# Every check prints "ok - ..." or "not ok - ..."; the first failure ends
# the case with status 1. No check depends on timing: timeouts are only
# there to turn a hang into a failure.
set -uo pipefail
case_name=$1 blkperf=$2 vhost_blk=$3 fake=$4
# The full-disk case mounts a tmpfs in a mount namespace of its own, so the
# mount goes away with the test whatever happens.
if [[ $case_name == fulldisk && ${BLKPERF_IN_NS:-} != 1 ]]; then
    if ! unshare --mount --propagation private true 2>/dev/null; then
        echo "no permission to create a mount namespace (unshare --mount): skipped"
        exit 77
    fi
    BLKPERF_IN_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/blkperf-test.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    umount "$dir/small" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
# A run may not take longer than this (a hang becomes a failure).
LIMIT=${BLKPERF_TEST_LIMIT:-120}

fail() { echo "not ok - $*"; exit 1; }

# json_check JSON PYTHON-EXPRESSION [SHOW]: the expression over j (the
# parsed object) holds; when it does, SHOW (another expression) is printed.
json_check() {
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); ok=eval(sys.argv[2]); ok and len(sys.argv) > 3 and print(eval(sys.argv[3])); sys.exit(0 if ok else 1)' "$@"
}

# run NAME EXPECT BLKPERF-ARGS... : run blkperf with --json; EXPECT is a
# python expression over j that must hold, besides j["ok"] and no I/O
# errors (unless allow_errors=1). With show=EXPR, the ok line ends with
# the value of that python expression over j.
run() {
    local name=$1 expect=$2 out rc shown clean="j['errors'] == 0"
    shift 2
    [[ ${allow_errors:-} == 1 ]] && clean=True
    out=$(timeout "$LIMIT" "$blkperf" --json --quiet "$@" 2>"$dir/stderr")
    rc=$?
    if ((rc != 0)) || ! shown=$(json_check "$out" "j['ok'] and $clean and ($expect)" ${show:+"$show"}); then
        echo "# rc=$rc: $blkperf $*"
        echo "# $out"
        sed 's/^/# /' "$dir/stderr" | tail -20
        fail "$name"
    fi
    echo "ok - $name${shown:+: $shown}"
}

# expect_error NAME MESSAGE BLKPERF-ARGS...: blkperf fails, saying MESSAGE.
expect_error() {
    local name=$1 msg=$2 rc
    shift 2
    timeout "$LIMIT" "$blkperf" --quiet "$@" >"$dir/stdout" 2>"$dir/stderr"
    rc=$?
    if ((rc == 124)); then
        fail "$name: blkperf did not exit within $LIMIT s"
    fi
    if ((rc == 0)) || ! grep -qF -- "$msg" "$dir/stderr"; then
        echo "# rc=$rc, wanted an error with: $msg"
        sed 's/^/# /' "$dir/stderr" | tail -20
        fail "$name"
    fi
    echo "ok - $name (exit $rc: $(grep -m1 'error:' "$dir/stderr" | cut -c1-150))"
}

# The back-end for --spawn: guestmem-vhost-blk on $dir/sock with extra arguments.
gm() { echo "$vhost_blk --socket-path $dir/sock $*"; }

verified='j["verified_bytes"] > 0'

# The same matrix on split or packed rings ($1: "" or --packed), RAM disk.
ram_matrix() {
    local ring=$1 tag=${1:-split}
    tag=${tag#--}
    run "$tag: randrw, depth 1, verify" "$verified and j['reads'] > 0 and j['writes'] > 0" \
        --socket "$dir/sock" $ring --rw randrw --iodepth 1 --size 4M --verify --spawn -- $(gm)
    run "$tag: randrw, 4 queues x depth 128, verify" "$verified and j['queues'] == 4" \
        --socket "$dir/sock" $ring --rw randrw --queues 4 --iodepth 128 --size 16M --verify \
        --spawn -- $(gm --num-queues 4)
    run "$tag: randwrite, 512-128K, 4+ unaligned segments, depth 16, verify-zeroed" \
        "$verified and j['ios'] == 1500" \
        --socket "$dir/sock" $ring --rw randwrite --bs-range 512-128k --segments 4 --unaligned \
        --iodepth 16 --ios 1500 --size 16M --verify-zeroed --spawn -- $(gm)
    run "$tag: read, 4K-64K, 3+ segments, direct chains, no event idx, depth 32, verify" \
        "$verified and not j['indirect'] and not j['event_idx']" \
        --socket "$dir/sock" $ring --rw read --bs-range 4k-64k --segments 3 --no-indirect \
        --no-event-idx --iodepth 32 --size 8M --verify --spawn -- $(gm)
    run "$tag: randrw 70% reads, 64K in 2 segments, 2 queues x depth 64, verify" \
        "$verified and j['ios'] == 1000" \
        --socket "$dir/sock" $ring --rw randrw --rwmixread 70 --bs 64k --segments 2 --queues 2 \
        --iodepth 64 --ios 1000 --size 16M --verify --spawn -- $(gm --num-queues 2)
}

case_split() { ram_matrix ""; }
case_packed() {
    ram_matrix --packed
    run "packed: a ring of 200 (not a power of two), in-flight region, depth 64, verify" \
        "$verified" \
        --socket "$dir/sock" --packed --queue-size 200 --rw randrw --iodepth 64 --ios 1000 \
        --size 8M --verify --spawn -- $(gm)
}

# Every I/O engine in every cache mode, split and packed, on a file image.
case_engines() {
    local img=$dir/disk.img aio cache modes=(writeback none directsync)
    truncate -s 32M "$img" || fail "cannot create $img"
    if ! dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
        echo "# $dir does not take O_DIRECT: cache modes none and directsync left out"
        modes=(writeback)
    fi
    for aio in io_uring threads sync; do
        for cache in "${modes[@]}"; do
            run "engines: --aio $aio --cache $cache, 2 queues x depth 32, 512-64K unaligned, verify" \
                "$verified and j['ios'] == 600" \
                --socket "$dir/sock" --rw randrw --queues 2 --iodepth 32 --bs-range 512-64k \
                --segments 2 --unaligned --ios 600 --size 16M --verify \
                --spawn -- $(gm --blk-file "$img" --num-queues 2 --aio $aio --cache $cache)
            run "engines: --aio $aio --cache $cache, packed, depth 128, 4K, verify" \
                "$verified and j['ios'] == 1000" \
                --socket "$dir/sock" --packed --rw randrw --iodepth 128 --bs 4k --ios 1000 \
                --size 16M --verify --spawn -- $(gm --blk-file "$img" --aio $aio --cache $cache)
        done
    done
}

case_file() {
    local img=$dir/disk.img
    truncate -s 32M "$img" || fail "cannot create $img"
    run "file: sequential write, depth 32, verify-zeroed" "$verified and j['writes'] == 8192" \
        --socket "$dir/sock" --rw write --iodepth 32 --verify-zeroed --spawn -- $(gm --blk-file "$img")
    run "file: randrw, 2 queues x depth 32, verify (split)" "$verified" \
        --socket "$dir/sock" --rw randrw --queues 2 --iodepth 32 --verify \
        --spawn -- $(gm --blk-file "$img" --num-queues 2)
    run "file: randwrite, 512-96K unaligned, depth 8, verify (packed)" "$verified and j['ios'] == 1000" \
        --socket "$dir/sock" --packed --rw randwrite --bs-range 512-96k --segments 2 --unaligned \
        --iodepth 8 --ios 1000 --verify --spawn -- $(gm --blk-file "$img")
    run "file: --verify-only reads back what the earlier runs wrote" "$verified and j['writes'] == 0" \
        --socket "$dir/sock" --rw randread --iodepth 16 --ios 2000 --verify-only \
        --spawn -- $(gm --blk-file "$img")
}

case_iommu() {
    # No fault: the back-end never asks for an IOVA the driver does not map
    # (a miss repeated after its request completed would be one).
    local img=$dir/disk.img iotlb='j["iotlb"]["misses"] > 0 and j["iotlb"]["faults"] == 0 and j["iotlb"]["updates"] >= j["iotlb"]["misses"]'
    truncate -s 16M "$img" || fail "cannot create $img"
    run "iommu strict, split, 512-64K unaligned segments, depth 8, verify" \
        "$verified and $iotlb and j['iotlb']['invalidations'] >= 3 * j['ios']" \
        --socket "$dir/sock" --iommu strict --rw randwrite --bs-range 512-64k --segments 3 \
        --unaligned --iodepth 8 --ios 500 --size 4M --verify --spawn -- $(gm --iommu)
    run "iommu strict, packed, 4 queues x depth 32, randrw, verify" "$verified and $iotlb" \
        --socket "$dir/sock" --iommu strict --packed --rw randrw --queues 4 --iodepth 32 --ios 800 \
        --size 4M --verify --spawn -- $(gm --iommu --num-queues 4)
    run "iommu lazy, split, depth 32, lazy batch 64, file image, verify" \
        "$verified and $iotlb and j['iotlb']['flushes'] > 0" \
        --socket "$dir/sock" --iommu lazy --lazy-batch 64 --rw randrw --iodepth 32 --ios 1000 \
        --size 4M --verify --spawn -- $(gm --iommu --blk-file "$img")
    run "iommu lazy, packed, direct chains, 2 queues, verify" "$verified and $iotlb" \
        --socket "$dir/sock" --iommu lazy --packed --no-indirect --rw randwrite --queues 2 \
        --iodepth 16 --ios 600 --size 4M --verify --spawn -- $(gm --iommu --num-queues 2)
}

# --log on a file image (O_DIRECT where the file system takes it, so that
# the back-end still has requests to finish when the rings stop). With
# --ios the events come at fixed shares of the requests (the job waits at
# each until it is done) and the queues hold right after a kick at the
# stop: requests are in flight when the rings stop, and every window holds
# completions to check, whatever the machine's load.
case_log() {
    local img=$dir/disk.img cache=writeback aio ring tag
    local logged='j["log"]["checked"] and j["log"]["pages_missing"] == 0 and j["log"]["pages_required"] > 0 and j["log"]["requests_checked"] > 0 and len(j["stop_ms"]) == j["queues"] and sum(j["stop_inflight"]) > 0'
    local clean='j["iotlb"]["faults"] == 0'
    local show='"stop %.3f ms (%s in flight, %s drained), %d requests checked, %d across the switch, %d pages" % (j["stop_ms_max"], j["stop_inflight"], j["stop_drained"], j["log"]["requests_checked"], j["log"]["requests_across"], j["log"]["pages_required"])'
    truncate -s 32M "$img" || fail "cannot create $img"
    if dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
        cache=none
    else
        echo "# $dir does not take O_DIRECT: --cache writeback (requests complete faster)"
    fi
    for aio in io_uring threads sync; do
        for ring in "" --packed; do
            tag=${ring:+packed}
            tag=${tag:-split}
            show=$show run "log: --aio $aio, $tag, depth 32, randrw, verify" \
                "$verified and $logged" \
                --socket "$dir/sock" $ring --rw randrw --iodepth 32 --ios 1000 --size 2M --verify \
                --log --spawn -- $(gm --blk-file "$img" --cache $cache --aio $aio)
            show=$show run "log: --aio $aio, $tag, --iommu strict, depth 32, randrw, verify" \
                "$verified and $logged and $clean" \
                --socket "$dir/sock" $ring --iommu strict --rw randrw --iodepth 32 --ios 600 \
                --size 2M --verify --log --spawn -- $(gm --blk-file "$img" --cache $cache --aio $aio --iommu)
        done
    done
    # A lazy flush (every IOVA invalidated, rings included) inside the logging
    # window: the back-end logs what it cannot translate any more only by
    # asking again. Logging from 300 requests made available, the stop at
    # 900 (at most 932 by then), lazy flushes at 500 and 1000 completions:
    # none just before the stop (docs/vhost-user-blk.md, "Dirty logging and
    # the stop, tested", says why).
    show=$show run "log: --iommu lazy, a flush while logging, 4K-64K reads, depth 32, verify" \
        "$verified and $logged and $clean and j['iotlb']['flushes'] >= 2" \
        --socket "$dir/sock" --iommu lazy --lazy-batch 500 --rw randread --bs-range 4k-64k \
        --segments 2 --iodepth 32 --ios 1200 --size 4M --verify --log --spawn -- $(gm --iommu)
    show=$show run "log-off: logging off at half-time, 2 queues, packed, unaligned, verify" \
        "$verified and $logged and j['log']['off_s'] > j['log']['on_s']" \
        --socket "$dir/sock" --packed --queues 2 --rw randrw --bs-range 512-64k --segments 3 \
        --unaligned --iodepth 32 --ios 1000 --size 2M --verify --log-off \
        --spawn -- $(gm --blk-file "$img" --cache $cache --num-queues 2)
}

case_qsd() {
    local img=$dir/disk.img qsd
    qsd=$(command -v qemu-storage-daemon) || { echo "qemu-storage-daemon not installed: skipped"; exit 77; }
    truncate -s 16M "$img" || fail "cannot create $img"
    qsd_cmd() {
        echo "$qsd --blockdev driver=file,node-name=f,filename=$img --blockdev driver=raw,node-name=d,file=f" \
             "--export type=vhost-user-blk,id=e,addr.type=unix,addr.path=$dir/sock,node-name=d,writable=on${1:-}"
    }
    run "qsd: randrw, depth 1, verify" "$verified" \
        --socket "$dir/sock" --rw randrw --iodepth 1 --size 4M --verify --spawn -- $(qsd_cmd)
    run "qsd: randrw, 2 queues x depth 32, verify" "$verified and j['queues'] == 2" \
        --socket "$dir/sock" --rw randrw --queues 2 --iodepth 32 --verify \
        --spawn -- $(qsd_cmd ,num-queues=2)
    run "qsd: randwrite, 512-64K, 4+ unaligned segments, depth 8, verify" "$verified" \
        --socket "$dir/sock" --rw randwrite --bs-range 512-64k --segments 4 --unaligned \
        --iodepth 8 --ios 500 --size 4M --verify --spawn -- $(qsd_cmd)
    expect_error "qsd: --packed is refused before any ring is set up" "VIRTIO_F_RING_PACKED" \
        --socket "$dir/sock" --packed --spawn -- $(qsd_cmd)
    expect_error "qsd: --iommu is refused (no VIRTIO_F_IOMMU_PLATFORM)" "VIRTIO_F_IOMMU_PLATFORM" \
        --socket "$dir/sock" --iommu strict --spawn -- $(qsd_cmd)
}

# Start guestmem-vhost-blk on $dir/sock in the background with "$@"; sets bpid.
start_gm() {
    $vhost_blk --socket-path "$dir/sock" "$@" 2>>"$dir/backend.log" &
    bpid=$!
    pids+=("$bpid")
}

allocated() { echo $(( $(stat -c %b "$1") * 512 )); }

# One reconnect run: sequential writes over a fresh image at depth, the
# back-end killed once a little of the image is written, restarted at once.
# Returns 2 when the kill came too late to be "while writes are in flight".
reconnect_once() {
    local name=$1 mb=$2 depth=$3 img=$dir/disk.img out rc killed_at
    shift 3
    rm -f "$img" "$dir/sock"
    : >"$dir/backend.log"
    truncate -s "${mb}M" "$img"
    start_gm --blk-file "$img" "$@"
    timeout "$LIMIT" "$blkperf" --json --quiet --socket "$dir/sock" --connect-wait-ms 30000 \
        --timeout-ms 30000 --reconnect --rw write --iodepth "$depth" --verify-zeroed \
        ${BP_IOMMU:+--iommu $BP_IOMMU} ${BP_PACKED:+--packed} >"$dir/out" 2>"$dir/stderr" &
    local bp=$!
    pids+=("$bp")
    until (( $(allocated "$img") >= 1 << 20 )) || ! kill -0 "$bp" 2>/dev/null; do
        sleep 0.005
    done
    killed_at=$(allocated "$img")
    kill -9 "$bpid"
    wait "$bpid" 2>/dev/null
    start_gm --blk-file "$img" "$@"
    wait "$bp"
    rc=$?
    out=$(cat "$dir/out")
    kill "$bpid" 2>/dev/null
    wait "$bpid" 2>/dev/null
    if ((rc == 0)) && json_check "$out" "j['reconnects'] == 0"; then
        return 2    # finished before the kill: not what this test is about
    fi
    if ((killed_at >= mb << 19)); then
        return 2
    fi
    if ((rc != 0)) || ! json_check "$out" "j['ok'] and j['reconnects'] == 1 and j['errors'] == 0 \
            and j['writes'] == $mb * 256 and j['verified_bytes'] == $mb << 20"; then
        echo "# rc=$rc: $out"
        sed 's/^/# /' "$dir/stderr" "$dir/backend.log" | tail -30
        fail "$name"
    fi
    echo "ok - $name (killed with $((killed_at >> 10)) KiB of $mb MiB written;" \
        "$(grep -c 'resubmitting' "$dir/backend.log") resubmission(s) logged)"
}

reconnect_retrying() {
    local tries
    for tries in 1 2 3; do
        reconnect_once "$@"
        case $? in
        0) return 0 ;;
        2) echo "# the run outpaced the kill, again with a larger image"; set -- "$1" $(($2 * 4)) "${@:3}" ;;
        *) exit 1 ;;
        esac
    done
    fail "$1: could not kill the back-end while writes were in flight"
}

case_reconnect() {
    reconnect_retrying "reconnect: kill -9 during sequential writes at depth 64, every write read back" 128 64
    BP_IOMMU=strict reconnect_retrying \
        "reconnect with --iommu strict: new back-end channel, depth 16, every write read back" 16 16 --iommu
    BP_PACKED=1 reconnect_retrying \
        "reconnect, packed rings: the in-flight chains are resubmitted from their saved copies, depth 64, every write read back" 128 64
}

case_negative() {
    local m msg
    for m in close:"GET_FEATURES: the back-end closed the connection" \
             mute:"GET_FEATURES: no reply within" \
             badreply:"GET_FEATURES: malformed reply" \
             badconfig:"GET_CONFIG: malformed reply" \
             stall:"the back-end has not used it" \
             nosignal:"without signalling the call eventfd" \
             badid:"which is not in flight" \
             badlen:"writable bytes" \
             nostatus:"did not write the status byte" \
             die:"exited with status"; do
        expect_error "fake back-end '${m%%:*}'" "${m#*:}" \
            --socket "$dir/fsock" --timeout-ms 1000 --ios 100 --spawn -- "$fake" "$dir/fsock" "${m%%:*}"
    done
    expect_error "nothing listening on the socket" "cannot connect" \
        --socket "$dir/nothing" --connect-wait-ms 200

    # A stopped back-end: requests time out (or, on a machine so loaded that
    # the stop lands before the rings run, the negotiation does).
    : >"$dir/backend.log"
    start_gm
    timeout "$LIMIT" "$blkperf" --quiet --socket "$dir/sock" --timeout-ms 1000 --runtime 60 \
        --iodepth 4 >/dev/null 2>"$dir/stderr" &
    local bp=$!
    until grep -q "front-end connected" "$dir/backend.log" || ! kill -0 "$bp" 2>/dev/null; do
        sleep 0.05
    done
    sleep 0.3
    kill -STOP "$bpid"
    wait "$bp"
    local rc=$?
    kill -CONT "$bpid"
    ((rc != 0 && rc != 124)) && grep -Eq "not completed after|no reply within" "$dir/stderr" ||
        { sed 's/^/# /' "$dir/stderr"; fail "SIGSTOP'ed back-end: rc=$rc"; }
    echo "ok - SIGSTOP'ed back-end: $(grep -m1 'error:' "$dir/stderr" | cut -c1-150)"
    kill "$bpid"; wait "$bpid" 2>/dev/null

    # --verify must see one corrupted byte, and name its offset.
    local img=$dir/disk.img
    truncate -s 8M "$img"
    run "write the pattern over an 8 MiB image" "$verified" \
        --socket "$dir/sock" --rw write --bs 64k --iodepth 8 --verify --seed 5 --spawn -- $(gm --blk-file "$img")
    printf '\x5a' | dd of="$img" bs=1 seek=5000001 conv=notrunc status=none
    expect_error "a corrupted byte fails --verify at its offset" "disk offset 5000001 " \
        --socket "$dir/sock" --rw read --bs 64k --iodepth 8 --verify-only --seed 5 \
        --spawn -- $(gm --blk-file "$img")
    expect_error "the same image with another seed fails --verify-only" "verify: disk offset" \
        --socket "$dir/sock" --rw randread --iodepth 8 --verify-only --seed 6 --spawn -- $(gm --blk-file "$img")
}

case_fulldisk() {
    mkdir "$dir/small"
    if ! mount -t tmpfs -o size=4m tmpfs "$dir/small" 2>"$dir/mount.err"; then
        echo "cannot mount a tmpfs ($(cat "$dir/mount.err")): skipped"
        exit 77
    fi
    truncate -s 8M "$dir/small/disk.img"
    # 4096 random 4 KiB writes over 8 MiB: the first ~1000 distinct blocks fill
    # the 4 MiB tmpfs, writes to new blocks then fail, rewrites of written
    # blocks still succeed; the read-back checks every sector: written ones
    # hold the pattern, failed ones the pattern or zeros, untouched ones zeros.
    allow_errors=1 run "full tmpfs: writes past it fail with IOERR, later requests are served, the image holds the successful writes" \
        "j['errors'] > 0 and j['ok_after_error'] > 0 and j['writes'] == 4096 and $verified" \
        --socket "$dir/sock" --rw randwrite --iodepth 8 --ios 4096 --continue-on-error \
        --verify-zeroed --spawn -- $(gm --blk-file "$dir/small/disk.img")
}

"case_$case_name"
