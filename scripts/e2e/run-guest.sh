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
#   --workload FILE          guest workload (default tests/e2e/workload-verify.sh)
#   --image FILE             disk image; created as 64 MiB sparse if missing
#                            (default: a fresh one in the work directory)
#   --seed N                 workload seed (default: random, printed)
#   --chunks N               writes the workload makes (default 40)
#   --timeout SEC            stop the guest and the backend SEC seconds after
#                            QEMU starts (default 300)
#   --kit DIR                guest kit from scripts/guest-kit.sh (default build-kit)
#   --keep                   keep the work directory even if the run passed
#   -v, --verbose            copy the guest console to stderr as it runs
#
# Exit status: 0 only if the guest printed "E2E-RESULT: PASS" and
# scripts/e2e/verify-image.py agrees with the image (for workloads that print a
# manifest); 1 on failure or timeout; 2 on bad usage.
#
# The backend command lines are in backend_cmd below and nowhere else; to try
# another build of the guestmem backend, set GUESTMEM_VHOST_BLK to its path.
set -euo pipefail
export LC_ALL=C # a '.' in $EPOCHREALTIME

cd "$(dirname "$0")/../.."

backend=${BACKEND:-qsd}
iommu=off
queues=1
workload=tests/e2e/workload-verify.sh
image=
seed=$((RANDOM * 32768 + RANDOM))
chunks=40
timeout=300
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
    --image) image=$2; shift ;;
    --seed) seed=$2; shift ;;
    --chunks) chunks=$2; shift ;;
    --timeout) timeout=$2; shift ;;
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
stop_pid() { # PID: TERM, then KILL after 5 s
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
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

# Backend.
backend_cmd
log "backend: ${cmd[*]}"
"${cmd[@]}" >"$work/backend.log" 2>&1 &
backend_pid=$!
for ((i = 0; i < 100; i++)); do
    [[ -S $sock ]] && break
    kill -0 "$backend_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ ! -S $sock ]]; then
    log "backend did not create $sock:"
    sed 's/^/    /' "$work/backend.log" >&2
    exit 1
fi

# Guest.
machine=q35
append="console=ttyS0 quiet panic=-1 e2e.seed=$seed e2e.chunks=$chunks"
dev=vhost-user-blk-pci,chardev=c0,num-queues=$queues
iommu_args=()
if [[ $iommu != off ]]; then
    machine=q35,kernel-irqchip=split
    iommu_args=(-device "intel-iommu,intremap=on,device-iotlb=on")
    dev+=,iommu_platform=on,ats=on,disable-legacy=on
    if [[ $iommu == strict ]]; then
        append+=" intel_iommu=on iommu.strict=1"
    else
        append+=" intel_iommu=on iommu.strict=0"
    fi
fi
qemu=(qemu-system-x86_64 -accel tcg -M "$machine" -smp "$queues"
    -m 512 -object "memory-backend-memfd,id=mem,size=512M,share=on" -numa "node,memdev=mem"
    "${iommu_args[@]}"
    -chardev "socket,id=c0,path=$sock" -device "$dev"
    -kernel "$kit/vmlinuz" -initrd "$work/initrd.gz" -append "$append"
    -nic none -nographic -no-reboot)
log "qemu: ${qemu[*]}"
: >"$console"
t_start=$(now)
"${qemu[@]}" </dev/null >"$console" 2>"$work/qemu.log" &
qemu_pid=$!
if ((verbose)); then
    tail -n +1 -f "$console" >&2 &
    tail_pid=$!
fi

# Wait for the guest, noting when it reaches each marker.
t_booted='' t_wl='' t_result='' timed_out=0
deadline=$(awk -v t="$t_start" -v d="$timeout" 'BEGIN { printf "%.0f", t + d }')
while kill -0 "$qemu_pid" 2>/dev/null; do
    t=$(now)
    if [[ -z $t_booted ]] && grep -q 'E2E-BOOTED' "$console"; then t_booted=$t; fi
    if [[ -z $t_wl ]] && grep -q 'E2E-WORKLOAD-START' "$console"; then t_wl=$t; fi
    if [[ -z $t_result ]] && grep -q 'E2E-RESULT:' "$console"; then t_result=$t; fi
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
    [[ -z $iommu_line ]] || echo "e2e: guest iommu: $iommu_line"
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
