#!/usr/bin/env bash
# Boot a Linux guest whose disk is a vhost-user-blk device served by a backend
# under test, run a workload in it, and check the disk image afterwards.
#
#   scripts/e2e/run-guest.sh [options]
#
#   --backend qsd|guestmem   backend to start (default: $BACKEND, else qsd)
#   --iommu off|strict|lazy  vIOMMU: none, or intel-iommu with strict or lazy
#                            invalidation in the guest (default off)
#   --queues N               virtqueues of the device and of the backend; the
#                            guest gets N vCPUs so that every queue is used
#                            (default 1)
#   --packed                 the device offers packed virtqueues (packed=on) and
#                            the guest must use them (default: split)
#   --workload FILE          guest workload (default tests/e2e/workload-verify.sh)
#   --image FILE             disk image; created as 64 MiB sparse if missing
#                            (default: a fresh one in the work directory)
#   --seed N                 workload seed (default: random, printed)
#   --chunks N               writes the workload makes (default 40)
#   --timeout SEC            stop the guest and the backend SEC seconds after
#                            QEMU starts (default 300)
#   --kill-backend-at SEC    reconnect test: SEC seconds (fractions allowed)
#                            after the guest starts its I/O (the workload's
#                            E2E-IO-START line), kill the backend with SIGKILL,
#                            if possible while it serves a request, and start
#                            it again on the same socket and image; QEMU's
#                            chardev gets reconnect=1 (default: off)
#   --kit DIR                guest kit from scripts/guest-kit.sh (default build-kit)
#   --keep                   keep the work directory even if the run passed
#   -v, --verbose            copy the guest console to stderr as it runs
#
# Exit status: 0 only if the guest printed "E2E-RESULT: PASS" and
# scripts/e2e/verify-image.py agrees with the image (for workloads that print a
# manifest); 1 on failure or timeout; 2 on bad usage. With --kill-backend-at,
# the run also fails if the backend was not killed before the guest's I/O
# ended (E2E-IO-END), if the restarted backend exits by itself, and, for
# guestmem, if QEMU did not reconnect to it or it resubmitted a different
# number of requests than its inflight area held at the kill.
#
# The backend command lines are in backend_cmd below and nowhere else; to try
# another build of the guestmem backend, set GUESTMEM_VHOST_BLK to its path.
set -euo pipefail
export LC_ALL=C # a '.' in $EPOCHREALTIME

cd "$(dirname "$0")/../.."
source scripts/e2e/guest-lib.sh

backend=${BACKEND:-qsd}
iommu=off
queues=1
packed=
workload=tests/e2e/workload-verify.sh
image=
seed=$((RANDOM * 32768 + RANDOM))
chunks=40
timeout=300
kill_at=
kit=build-kit
keep=0
verbose=0
GUESTMEM_VHOST_BLK=${GUESTMEM_VHOST_BLK:-build/devices/blk/guestmem-vhost-blk}

usage() {
    sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --backend) backend=$2; shift ;;
    --iommu) iommu=$2; shift ;;
    --queues) queues=$2; shift ;;
    --workload) workload=$2; shift ;;
    --packed) packed=1 ;;
    --image) image=$2; shift ;;
    --seed) seed=$2; shift ;;
    --chunks) chunks=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --kill-backend-at) kill_at=$2; shift ;;
    --kit) kit=$2; shift ;;
    --keep) keep=1 ;;
    -v | --verbose) verbose=1 ;;
    -h | --help) usage ;;
    *) echo "run-guest: unknown option $1" >&2; usage ;;
    esac
    shift
done
case "$backend" in qsd | guestmem) ;; *) echo "run-guest: --backend qsd|guestmem" >&2; exit 2 ;; esac
case "$iommu" in off | strict | lazy) ;; *) echo "run-guest: --iommu off|strict|lazy" >&2; exit 2 ;; esac
for n in "$queues" "$seed" "$chunks" "$timeout"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "run-guest: not a number: $n" >&2; exit 2; }
done
((queues >= 1)) || { echo "run-guest: --queues must be at least 1" >&2; exit 2; }
[[ -z $kill_at || $kill_at =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
    { echo "run-guest: --kill-backend-at takes seconds, e.g. 1.5" >&2; exit 2; }

# The backend under test, listening on $sock and serving $img.
backend_cmd() {
    case "$backend" in
    qsd)
        cmd=(qemu-storage-daemon
            --blockdev "driver=file,node-name=f,filename=$img"
            --blockdev "driver=raw,node-name=d,file=f"
            --export "type=vhost-user-blk,id=e,addr.type=unix,addr.path=$sock,node-name=d,writable=on,num-queues=$queues")
        ;;
    guestmem)
        cmd=("$GUESTMEM_VHOST_BLK" --socket-path "$sock" --blk-file "$img" --num-queues "$queues")
        [[ $iommu == off ]] || cmd+=(--iommu)
        ;;
    esac
}

log() { echo "run-guest: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

if [[ $backend == guestmem && ! -x $GUESTMEM_VHOST_BLK ]]; then
    echo "run-guest: $GUESTMEM_VHOST_BLK not built (set GUESTMEM_VHOST_BLK to another path)" >&2
    exit 1
fi
bash scripts/guest-kit.sh "$kit"

work=$(mktemp -d "${TMPDIR:-/tmp}/guestmem-e2e.XXXXXX")
sock=$work/vhost.sock
console=$work/console.log
fresh=0
if [[ -z $image ]]; then
    image=$work/disk.img
fi
if [[ ! -e $image ]]; then
    truncate -s 64M "$image"
    fresh=1
fi
img=$(realpath "$image")

qemu_pid=
backend_pid=
passed=0
cleanup() {
    stop_pid "$qemu_pid"
    stop_pid "$backend_pid"
    [[ -n ${tail_pid:-} ]] && kill "$tail_pid" 2>/dev/null
    rm -f "$sock"
    if ((passed && !keep)); then
        rm -rf "$work"
    else
        log "logs kept in $work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash scripts/e2e/make-initramfs.sh "$kit" "$workload" "$work/initrd.gz"

# Backend. Its output goes to backend.log; a restarted backend appends to it.
: >"$work/backend.log"
start_backend() {
    backend_cmd
    log "backend: ${cmd[*]}"
    "${cmd[@]}" >>"$work/backend.log" 2>&1 &
    backend_pid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && break
        kill -0 "$backend_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ ! -S $sock ]]; then
        log "backend did not create $sock:"
        sed 's/^/    /' "$work/backend.log" >&2
        return 1
    fi
}
start_backend || exit 1

# Guest.
dev=vhost-user-blk-pci,chardev=c0,num-queues=$queues
[[ -z $packed ]] || dev+=,packed=on
chardev=socket,id=c0,path=$sock
[[ -z $kill_at ]] || chardev+=,reconnect=1
guest_qemu_cmd "$iommu" "$queues" "$chardev" "$dev" "$kit/vmlinuz" "$work/initrd.gz" \
    "e2e.seed=$seed e2e.chunks=$chunks"
log "qemu: ${qemu[*]}"
: >"$console"
t_start=$(now)
"${qemu[@]}" </dev/null >"$console" 2>"$work/qemu.log" &
qemu_pid=$!
if ((verbose)); then
    tail -n +1 -f "$console" >&2 &
    tail_pid=$!
fi

# --kill-backend-at: SIGKILL the backend, then start it again on the same
# socket and image. QEMU reconnects by itself (reconnect=1).
t_killed='' t_restarted='' t_reconnected='' kill_note='' kill_during='' connects_before=0
inflight_at_kill=
usec() { echo "${1/./}"; } # $EPOCHREALTIME has six decimals
# Set disk_syscall if a thread of process $1 is inside a disk read, write or
# flush (x86_64 numbers: preadv 295, pwritev 296, fdatasync 75, fsync 74).
disk_syscall=
in_disk_syscall() {
    local f n
    for f in /proc/"$1"/task/*/syscall; do
        read -r n _ <"$f" 2>/dev/null || continue
        case $n in
        295) disk_syscall=preadv; return 0 ;;
        296) disk_syscall=pwritev; return 0 ;;
        75) disk_syscall=fdatasync; return 0 ;;
        74) disk_syscall=fsync; return 0 ;;
        esac
    done
    return 1
}
kill_and_restart() {
    local give_up next_look=0
    if ! kill -0 "$backend_pid" 2>/dev/null; then
        t_killed=$(now)
        kill_note="the backend had already exited when it was to be killed"
        return
    fi
    # Kill in the middle of a request if one comes within 1 s: a backend
    # thread blocked in a disk syscall has taken a request from the ring and
    # not completed it, so the restarted backend must resubmit it. The kernel
    # names the syscall only for a thread that sleeps in it, so in practice
    # this catches the flush (fdatasync, about a millisecond here) that
    # follows each write of the workload; the loop looks every few tens of
    # microseconds. After 1 s it kills wherever the backend is: a loaded
    # host can stretch the workload's writes past a longer wait, and the
    # reads that follow rarely sleep in a syscall.
    give_up=$((${EPOCHREALTIME/./} + 1000000))
    while ((${EPOCHREALTIME/./} < give_up)); do
        if in_disk_syscall "$backend_pid"; then
            # At once: the syscall may have a few hundred microseconds left.
            kill -KILL "$backend_pid" 2>/dev/null || true
            kill_during=$disk_syscall
            break
        fi
        if ((${EPOCHREALTIME/./} >= next_look)); then
            grep -q 'E2E-IO-END' "$console" && break
            next_look=$((${EPOCHREALTIME/./} + 100000))
        fi
    done
    if [[ -z $kill_during ]]; then
        if grep -q 'E2E-IO-END' "$console"; then
            t_killed=$(now)
            kill_note="the guest's I/O ended before the backend was killed (lower --kill-backend-at)"
            return
        fi
        kill -KILL "$backend_pid" 2>/dev/null || true
    fi
    t_killed=$(now)
    log "killed the backend (pid $backend_pid) with SIGKILL${kill_during:+ inside $kill_during}"
    wait "$backend_pid" 2>/dev/null || true
    backend_pid=
    # What the killed guestmem backend had in flight, from its shared inflight
    # area; QEMU holds the memfd and hands it to the next backend.
    local f
    for f in /proc/"$qemu_pid"/fd/*; do
        [[ $(readlink "$f" 2>/dev/null) == */memfd:guestmem-inflight* ]] || continue
        inflight_at_kill=$(python3 scripts/e2e/inflight.py "$f" 2>/dev/null) || inflight_at_kill=
        break
    done
    connects_before=$(grep -c 'front-end connected' "$work/backend.log" || true)
    echo "run-guest: backend killed with SIGKILL${kill_during:+ inside $kill_during}, restarting it" >>"$work/backend.log"
    rm -f "$sock"
    if start_backend; then
        t_restarted=$(now)
    else
        kill_note="the backend did not start again"
    fi
}

# Wait for the guest, noting when it reaches each marker.
t_booted='' t_wl='' t_io='' t_result='' timed_out=0
deadline=$(awk -v t="$t_start" -v d="$timeout" 'BEGIN { printf "%.0f", t + d }')
kill_after_us=
[[ -z $kill_at ]] || kill_after_us=$(awk -v s="$kill_at" 'BEGIN { printf "%.0f", s * 1000000 }')
while kill -0 "$qemu_pid" 2>/dev/null; do
    t=$(now)
    if [[ -z $t_booted ]] && grep -q 'E2E-BOOTED' "$console"; then t_booted=$t; fi
    if [[ -z $t_wl ]] && grep -q 'E2E-WORKLOAD-START' "$console"; then t_wl=$t; fi
    if [[ -z $t_io ]] && grep -q 'E2E-IO-START' "$console"; then t_io=$t; fi
    if [[ -z $t_result ]] && grep -q 'E2E-RESULT:' "$console"; then t_result=$t; fi
    if [[ -n $kill_after_us && -z $t_killed && -n $t_io ]] &&
        (($(usec "$t") - $(usec "$t_io") >= kill_after_us)); then
        kill_and_restart
        t=$(now)
    fi
    if [[ -n $t_restarted && -z $t_reconnected ]] &&
        (($(grep -c 'front-end connected' "$work/backend.log" || true) > connects_before)); then
        t_reconnected=$t
    fi
    if ((${t%.*} >= deadline)); then
        timed_out=1
        log "timeout after ${timeout} s, stopping the guest"
        break
    fi
    sleep 0.1
done
stop_pid "$qemu_pid"
qemu_rc=0
wait "$qemu_pid" 2>/dev/null || qemu_rc=$?
qemu_pid=
t_end=$(now)
[[ -n $t_booted ]] || ! grep -q 'E2E-BOOTED' "$console" || t_booted=$t_end
[[ -n $t_wl ]] || ! grep -q 'E2E-WORKLOAD-START' "$console" || t_wl=$t_end
[[ -n $t_result ]] || ! grep -q 'E2E-RESULT:' "$console" || t_result=$t_end
[[ -n $t_io ]] || ! grep -q 'E2E-IO-START' "$console" || t_io=$t_end

# A backend that died by itself during the run is a failure.
backend_note=running
if ! kill -0 "$backend_pid" 2>/dev/null; then
    backend_rc=0
    wait "$backend_pid" 2>/dev/null || backend_rc=$?
    backend_pid=
    backend_note="exited by itself with status $backend_rc"
fi
stop_pid "$backend_pid"
backend_pid=

# Verdict.
result_line=$(grep -a 'E2E-RESULT:' "$console" | tail -n1 | tr -d '\r' || true)
reasons=()
if [[ $result_line != *"E2E-RESULT: PASS"* ]]; then
    if ((timed_out)); then
        reasons+=("timeout after $timeout s")
    elif [[ -n $result_line ]]; then
        reasons+=("guest: ${result_line#*E2E-RESULT: }")
    elif [[ -z $t_booted ]]; then
        reasons+=("QEMU exited (status $qemu_rc) before the guest booted")
    else
        reasons+=("guest printed no result (QEMU status $qemu_rc)")
    fi
fi
[[ $backend_note == running || $backend_note == *"status 0" ]] ||
    reasons+=("backend $backend_note")
if [[ -n $kill_at ]]; then
    if [[ -n $kill_note ]]; then
        reasons+=("--kill-backend-at: $kill_note")
    elif [[ -z $t_killed ]]; then
        reasons+=("--kill-backend-at $kill_at: the backend was not killed (the workload printed no E2E-IO-START)")
    elif [[ $backend == guestmem && -z $t_reconnected ]]; then
        reasons+=("--kill-backend-at: QEMU did not reconnect to the restarted backend")
    fi
    # The restarted guestmem backend must resubmit exactly what the inflight
    # area held at the kill.
    resubmitted=$(sed -n 's/.*resubmitting \([0-9]*\) in-flight.*/\1/p' "$work/backend.log" |
        awk '{ n += $1 } END { print n + 0 }')
    if [[ $backend == guestmem && -n $t_restarted && -n $inflight_at_kill ]] &&
        ((resubmitted != ${inflight_at_kill%% *})); then
        reasons+=("--kill-backend-at: ${inflight_at_kill%% *} requests in flight at the kill (${inflight_at_kill#* }), the restarted backend resubmitted $resubmitted")
    fi
fi
# The guest must see the IOMMU setup asked for: strict invalidation gives a
# DMA domain, lazy a DMA-FQ (flush queue) one.
iommu_line=$(grep -a 'E2E-IOMMU' "$console" | tail -n1 | tr -d '\r' || true)
iommu_line=${iommu_line#*E2E-IOMMU }
if [[ -n $iommu_line ]]; then
    case "$iommu" in
    off) want='iommus=none' ;;
    strict) want='type=DMA' ;;
    lazy) want='type=DMA-FQ' ;;
    esac
    [[ " $iommu_line " == *" $want "* ]] ||
        reasons+=("guest IOMMU setup is '$iommu_line', expected $want")
fi
# Behind a vIOMMU the back-end must never ask for a translation the guest's
# IOMMU refuses: QEMU answers such a miss with nothing, so the back-end's
# iotlb_timeouts counts exactly its DMA faults. The guest may still log one
# fault per ring stop (the firmware's ring, once Linux turns the IOMMU on):
# QEMU 7.2's own vhost_virtqueue_stop() reads used->idx after
# GET_VRING_BASE (docs/vhost-user-blk.md, section 6).
dmar_faults=$(grep -ac 'DMAR: \[DMA' "$console" || true)
if [[ $backend == guestmem && $iommu != off ]]; then
    timeouts=$(grep -a 'stats:' "$work/backend.log" | sed -n 's/.* iotlb_timeouts=\([0-9]*\).*/\1/p' |
        awk '{ n += $1 } END { print n + 0 }')
    ((timeouts == 0)) ||
        reasons+=("the back-end asked for $timeouts translations the vIOMMU refused (DMA faults)")
fi
# The ring layout the guest negotiated must be the one asked for.
virtio_line=$(grep -a 'E2E-VIRTIO' "$console" | tail -n1 | tr -d '\r' || true)
if [[ -n $virtio_line && $virtio_line != *"packed=${packed:-0}"* ]]; then
    reasons+=("guest ring layout: '${virtio_line#*E2E-VIRTIO }', expected packed=${packed:-0}")
fi
# Workloads that report the request queues they saw (workload-verify.sh does)
# must have used every queue asked for.
if [[ $result_line =~ hwqueues=([0-9]+) ]] && ((BASH_REMATCH[1] != queues)); then
    reasons+=("guest saw ${BASH_REMATCH[1]} request queues, expected $queues")
fi
if [[ $result_line =~ irqs=([^ ]+) ]]; then
    for q in ${BASH_REMATCH[1]//,/ }; do
        [[ $q != *=0 ]] || reasons+=("request queue ${q%=*} had no completions")
    done
fi

verify_line="not run (no manifest)"
if grep -q 'E2E-MANIFEST-END' "$console"; then
    vargs=(--console "$console" --image "$img" --seed "$seed")
    ((fresh)) && vargs+=(--expect-zero-elsewhere)
    if verify_line=$(python3 scripts/e2e/verify-image.py "${vargs[@]}" 2>"$work/verify.log"); then
        :
    else
        reasons+=("host verification failed")
        verify_line="$verify_line (details in $work/verify.log)"
    fi
fi
((${#reasons[@]})) || passed=1

summary() {
    local b=- w=-
    [[ -z $t_booted ]] || b="$(elapsed "$t_start" "$t_booted") s"
    [[ -z $t_wl || -z $t_result ]] || w="$(elapsed "$t_wl" "$t_result") s"
    echo "e2e: backend=$backend iommu=$iommu queues=$queues seed=$seed image=$([[ $fresh == 1 ]] && echo fresh || echo "$img")"
    echo "e2e: boot $b, workload $w, total $(elapsed "$t_start" "$t_end") s"
    if [[ -n $t_killed && -z $kill_note ]]; then
        local k
        k="e2e: backend killed (SIGKILL) $(elapsed "$t_io" "$t_killed") s into the guest's I/O"
        if [[ -n $kill_during ]]; then
            k+=", inside $kill_during"
        else
            k+=", between requests"
        fi
        [[ -z $t_restarted ]] || k+=", restarted in $(elapsed "$t_killed" "$t_restarted") s"
        [[ -z $t_reconnected ]] || k+=", QEMU reconnected $(elapsed "$t_killed" "$t_reconnected") s after the kill"
        echo "$k"
        [[ -z $inflight_at_kill ]] ||
            echo "e2e: in flight at the kill (inflight area): ${inflight_at_kill%% *} (${inflight_at_kill#* }); resubmitted by the restarted backend: $resubmitted"
    fi
    # The backend's own report: statistics, resubmitted requests, errors.
    grep -aE 'stats:|resubmit|warning|error|killed' "$work/backend.log" | head -n 20 |
        sed -e 's/^guestmem-vhost-blk: //' -e 's/^run-guest: //' -e 's/^/e2e: backend: /' || true
    [[ -z $iommu_line ]] || echo "e2e: guest iommu: $iommu_line, DMA faults logged: $dmar_faults"
    [[ -z $virtio_line ]] || echo "e2e: guest virtio: ${virtio_line#*E2E-VIRTIO }"
    grep -a 'E2E-INFO' "$console" | tr -d '\r' | sed 's/^.*E2E-INFO /e2e: guest: /' || true
    echo "e2e: guest result: ${result_line:-none}"
    echo "e2e: host check: ${verify_line#verify-image: }"
    if ((passed)); then
        echo "e2e: RESULT PASS"
    else
        local r
        for r in "${reasons[@]}"; do echo "e2e: failure: $r"; done
        echo "e2e: last console lines:"
        # Without SeaBIOS's terminal escapes.
        tail -n 15 "$console" | tr -d '\r' |
            sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' -e 's/^/    /'
        if [[ -s $work/qemu.log ]]; then
            echo "e2e: QEMU stderr:"
            sed 's/^/    /' "$work/qemu.log"
        fi
        echo "e2e: RESULT FAIL"
    fi
}
summary
((passed))
