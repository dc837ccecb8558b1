#!/usr/bin/env bash
# Compare guestmem-vhost-blk with qemu-storage-daemon's vhost-user-blk export
# (libvhost-user) on the same guest workload and the same raw image.
#
#   scripts/bench-blk.sh [options]
#
#   --quick                  a quarter of the requests per phase, one
#                            repetition (about 2 minutes)
#   --runs LIST              comma-separated BACKEND:IOMMU pairs, BACKEND
#                            qsd|guestmem, IOMMU off|strict|lazy (default:
#                            qsd:off,guestmem:off,guestmem:lazy,guestmem:strict,
#                            qsd:strict,qsd:lazy)
#   --phases LIST            comma-separated subset of seqread4k, seqwrite4k,
#                            randread4k, randwrite4k, seqread1m, seqwrite1m
#                            (default: all six)
#   --repeat N               boot each run N times, all runs once before any
#                            is repeated; every figure reported is the median
#                            over the repetitions (default 2, --quick 1)
#   --size MIB               disk image size (default 256)
#   --out DIR                results.json, results.md and the blkload binary
#                            (default build-bench-blk)
#   --kit DIR                guest kit from scripts/guest-kit.sh (default build-kit)
#   --timeout SEC            per guest (default 600)
#   --keep                   keep the work directory (logs of every run)
#   -v, --verbose            copy the guest consoles to stderr
#
# Each run boots the e2e guest (scripts/e2e/make-initramfs.sh, TCG, one
# vhost-user-blk-pci disk, one queue) with scripts/bench-blk/workload.sh as
# its workload and /bin/blkload (scripts/bench-blk/blkload.c, built static)
# added to the initramfs. The guest runs six phases, each one request at a
# time with O_DIRECT: sequential 4 KiB reads and writes (busybox dd), random
# 4 KiB reads and writes (blkload, fixed seed) and sequential 1 MiB reads and
# writes (dd). Plain runs issue 20000 4 KiB requests per phase and move
# 2 GiB per 1 MiB phase; vIOMMU runs, several times slower, a quarter and an
# eighth of that. At each phase boundary the guest stops until the host has read
# the back-end's utime+stime from /proc/PID/stat; the guest counts the
# requests it issued from /sys/block/vda/stat. The back-end CPU per request
# is the CPU time of the back-end process (all its threads) over the phase
# divided by those requests. guestmem-vhost-blk also prints its counters at
# each boundary (SIGUSR1), from which the IOTLB misses, updates and
# invalidations per request of each phase are reported.
#
# A full run (four guests twice, and the two refused runs) takes about 6
# minutes on two loaded cores.
#
# The guestmem back-end is built from this tree in release mode in
# OUT/build (set GUESTMEM_VHOST_BLK to use another binary). QEMU refuses
# qemu-storage-daemon's export behind a vIOMMU; those runs only record
# QEMU's message.
#
# Prints the markdown tables (also in OUT/results.md); OUT/results.json has
# every number. Exit status 0 when every run completed (a refused qsd vIOMMU
# run counts as completed), 1 otherwise, 2 on bad usage.
set -euo pipefail
export LC_ALL=C # a '.' in $EPOCHREALTIME

cd "$(dirname "$0")/.."
source scripts/e2e/guest-lib.sh

quick=0
runs=qsd:off,guestmem:off,guestmem:lazy,guestmem:strict,qsd:strict,qsd:lazy
repeat=
only_phases=
size_mib=256
out=build-bench-blk
kit=build-kit
timeout=600
keep=0
verbose=0

usage() {
    sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --runs) runs=$2; shift ;;
    --phases) only_phases=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --size) size_mib=$2; shift ;;
    --out) out=$2; shift ;;
    --kit) kit=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --keep) keep=1 ;;
    -v | --verbose) verbose=1 ;;
    -h | --help) usage ;;
    *) echo "bench-blk: unknown option $1" >&2; usage ;;
    esac
    shift
done
[[ -n $repeat ]] || repeat=$((quick ? 1 : 2))
[[ $repeat =~ ^[1-9][0-9]*$ && $size_mib =~ ^[0-9]+$ && $timeout =~ ^[0-9]+$ ]] || usage
((size_mib >= 64)) || { echo "bench-blk: --size must be at least 64" >&2; exit 2; }
IFS=, read -r -a run_list <<<"$runs"
for r in "${run_list[@]}"; do
    [[ $r =~ ^(qsd|guestmem):(off|strict|lazy)$ ]] || { echo "bench-blk: bad run '$r'" >&2; exit 2; }
done

# Phases: NAME:TOOL:OP:PATTERN:BS:COUNT. Sized so that a full run (six
# guests) stays under ten minutes under TCG on two loaded cores.
# The back-end CPU time comes in clock ticks (10 ms): a phase needs some
# hundreds of them for a per-request figure to within a few percent. Under
# a vIOMMU a request costs 5-50 times more, so fewer requests do.
if ((quick)); then
    n4k=5000 n1m=512
else
    n4k=20000 n1m=2048
fi
# phase_list N4K N1M: the phases, restricted to --phases.
phase_list() {
    local all sel='' p m
    all="seqread4k:dd:read:seq:4096:$1 seqwrite4k:dd:write:seq:4096:$1"
    all+=" randread4k:blkload:read:rand:4096:$1 randwrite4k:blkload:write:rand:4096:$1"
    all+=" seqread1m:dd:read:seq:1048576:$2 seqwrite1m:dd:write:seq:1048576:$2"
    [[ -n $only_phases ]] || { echo "$all"; return; }
    for p in ${only_phases//,/ }; do
        m=$(tr ' ' '\n' <<<"$all" | grep "^$p:" || true)
        [[ -n $m ]] || { echo "bench-blk: unknown phase $p" >&2; return 1; }
        sel+=${sel:+ }$m
    done
    echo "$sel"
}
# shellcheck disable=SC2034 # read through ${!v} below
phases_plain=$(phase_list "$n4k" "$n1m") || exit 2
# shellcheck disable=SC2034
phases_viommu=$(phase_list "$((n4k / 4))" "$((n1m / 8))") || exit 2
seed=20240611

log() { echo "bench-blk: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }

bash scripts/guest-kit.sh "$kit"
mkdir -p "$out"

# The back-end under test.
if [[ -z ${GUESTMEM_VHOST_BLK:-} ]]; then
    if [[ ! -f $out/build/build.ninja ]]; then
        wipe=
        [[ ! -f $out/build/meson-private/coredata.dat ]] || wipe=--wipe
        meson setup "$out/build" $wipe --buildtype=release -Dtests=false >&2
    fi
    ninja -C "$out/build" devices/blk/guestmem-vhost-blk >&2
    GUESTMEM_VHOST_BLK=$out/build/devices/blk/guestmem-vhost-blk
fi
[[ -x $GUESTMEM_VHOST_BLK ]] || { log "$GUESTMEM_VHOST_BLK is not executable"; exit 1; }
GUESTMEM_VHOST_BLK=$(realpath "$GUESTMEM_VHOST_BLK")
command -v qemu-storage-daemon >/dev/null || { log "qemu-storage-daemon missing (qemu-system-x86)"; exit 1; }

# The guest's load generator.
if [[ ! -x $out/blkload || scripts/bench-blk/blkload.c -nt $out/blkload ]]; then
    gcc -static -O2 -Wall -Wextra -o "$out/blkload" scripts/bench-blk/blkload.c
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/guestmem-bench-blk.XXXXXX")
qemu_pid='' backend_pid='' tail_pid='' all_done=0
cleanup() {
    stop_pid "$qemu_pid"
    stop_pid "$backend_pid"
    [[ -z $tail_pid ]] || kill "$tail_pid" 2>/dev/null || true
    if ((all_done && !keep)); then
        rm -rf "$work"
    else
        log "logs kept in $work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Initramfs: the e2e one with the bench workload, plus a second archive with
# /bin/blkload (the kernel unpacks concatenated archives in order). One for
# plain runs and one, with fewer requests, for vIOMMU runs.
mkdir -p "$work/extra/bin"
cp "$out/blkload" "$work/extra/bin/blkload"
(cd "$work/extra" && find . -mindepth 1 | LC_ALL=C sort |
    cpio --quiet -o -H newc --owner=0:0) | gzip -1 >"$work/extra.gz"
for kind in plain viommu; do
    v=phases_$kind
    {
        echo "BENCH_PHASES=\"${!v}\" BENCH_SEED=$seed"
        cat scripts/bench-blk/workload.sh
    } >"$work/workload-$kind.sh"
    bash scripts/e2e/make-initramfs.sh "$kit" "$work/workload-$kind.sh" "$work/base-$kind.gz"
    cat "$work/base-$kind.gz" "$work/extra.gz" >"$work/initrd-$kind.gz"
done

# One image for every run, written in full so that no back-end reads holes.
img=$work/disk.img
log "writing a ${size_mib} MiB image"
head -c "$((size_mib << 20))" /dev/urandom >"$img"

clk_tck=$(getconf CLK_TCK)
cpu_ticks() { # PID: utime+stime of the whole process, in clock ticks
    local s
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo $((${12} + ${13}))
}

alive() { # PID: running, and not a zombie waiting to be reaped
    local s
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}

# counters_dump K TAG DIR: SIGUSR1 makes guestmem-vhost-blk print its
# counters as "dump K:" (the K-th dump, one per sync); keep that line, tagged.
counters_dump() {
    local k=$1 tag=$2 d=$3 i line
    kill -USR1 "$backend_pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        line=$(grep -m1 "dump $k:" "$d/backend.log" || true)
        [[ -z $line ]] || { echo "$tag ${line#*dump $k: }" >>"$d/dumps"; return 0; }
        sleep 0.02
    done
    log "no counters dump $k from the back-end"
}

# run_one BACKEND IOMMU DIR
run_one() {
    local backend=$1 iommu=$2 d=$3 sock cmd qemu
    local t_start deadline line partial='' k tag infd confd status=ok initrd
    mkdir -p "$d"
    sock=$d/vhost.sock
    case "$backend" in
    qsd)
        cmd=(qemu-storage-daemon
            --blockdev "driver=file,node-name=f,filename=$img"
            --blockdev "driver=raw,node-name=d,file=f"
            --export "type=vhost-user-blk,id=e,addr.type=unix,addr.path=$sock,node-name=d,writable=on,num-queues=1")
        ;;
    guestmem)
        cmd=("$GUESTMEM_VHOST_BLK" --socket-path "$sock" --blk-file "$img" --num-queues 1 --once)
        [[ $iommu == off ]] || cmd+=(--iommu)
        ;;
    esac
    printf '%s\n' "${cmd[*]}" >"$d/backend.cmd"
    "${cmd[@]}" >"$d/backend.log" 2>&1 &
    backend_pid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && break
        kill -0 "$backend_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ ! -S $sock ]]; then
        log "$backend did not create its socket:"
        sed 's/^/    /' "$d/backend.log" >&2
        stop_pid "$backend_pid"
        backend_pid=
        echo "status=backend-failed" >"$d/status"
        return 1
    fi

    initrd=$work/initrd-$([[ $iommu == off ]] && echo plain || echo viommu).gz
    # The disk sits behind a PCIe root port in every mode, as for vIOMMU
    # runs (scripts/e2e/guest-lib.sh says why), so that all runs compare.
    guest_qemu_cmd "$iommu" 1 "socket,id=c0,path=$sock" vhost-user-blk-pci,chardev=c0,num-queues=1 \
        "$kit/vmlinuz" "$initrd" "" always
    printf '%s\n' "${qemu[*]}" >"$d/qemu.cmd"
    mkfifo "$d/stdin"
    exec {infd}<>"$d/stdin"
    : >"$d/console.log"
    : >"$d/samples"
    t_start=$(now)
    "${qemu[@]}" <"$d/stdin" >"$d/console.log" 2>"$d/qemu.log" &
    qemu_pid=$!
    exec {confd}< <(exec tail -n +1 -F "$d/console.log" 2>/dev/null)
    tail_pid=$!
    deadline=$((${t_start%.*} + timeout))
    while :; do
        if ((EPOCHSECONDS >= deadline)); then
            status=timeout
            log "$backend/$iommu: timeout after $timeout s"
            break
        fi
        # On a timeout read keeps the part of a line it got: carry it over.
        if IFS= read -r -t 1 -u "$confd" line; then
            line=$partial$line partial=
        elif (($? > 128)); then
            partial+=$line
            alive "$qemu_pid" || break # QEMU exited and its output is all read
            continue
        else
            break
        fi
        line=${line//$'\r'/}
        ((verbose)) && printf '%s\n' "$line" >&2
        if [[ $line =~ ^BENCH-SYNC\ ([0-9]+)\ ([^ ]+) ]]; then
            k=${BASH_REMATCH[1]} tag=${BASH_REMATCH[2]}
            echo "$k $tag $(now) $(cpu_ticks "$backend_pid" || echo -1) $(cpu_ticks "$qemu_pid" || echo -1)" >>"$d/samples"
            [[ $backend != guestmem ]] || counters_dump "$k" "$tag" "$d"
            printf '%s\n' "$k" >&"$infd"
        elif [[ $line == *E2E-RESULT:* ]]; then
            [[ $line == *"E2E-RESULT: PASS"* ]] || status=guest-failed
        fi
    done
    exec {confd}<&- {infd}>&-
    kill "$tail_pid" 2>/dev/null || true
    tail_pid=
    # The guest powers off by itself; give it a moment, then stop it.
    for ((i = 0; i < 50; i++)); do
        kill -0 "$qemu_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$qemu_pid"
    qemu_pid=
    now >"$d/t_end"
    echo "$t_start" >"$d/t_start"
    # guestmem-vhost-blk --once exits when QEMU disconnects, printing its
    # counters; qemu-storage-daemon runs until stopped.
    if [[ $backend == guestmem ]]; then
        for ((i = 0; i < 50; i++)); do
            kill -0 "$backend_pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    stop_pid "$backend_pid"
    backend_pid=
    if [[ $status == ok ]] && ! grep -q 'E2E-RESULT: PASS' "$d/console.log"; then
        status=no-result
        grep -q 'iommu_platform=true is not supported' "$d/qemu.log" && status=refused
    fi
    echo "status=$status" >"$d/status"
    [[ $status == ok || ($status == refused && $backend == qsd && $iommu != off) ]]
}

log "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) cores"
cut -d' ' -f1-3 /proc/loadavg >"$work/load-before"
failed=0
for ((rep = 1; rep <= repeat; rep++)); do
    for r in "${run_list[@]}"; do
        backend=${r%%:*} iommu=${r#*:}
        # Runs QEMU refuses need no repetition.
        if [[ $backend == qsd && $iommu != off ]] && ((rep > 1)); then continue; fi
        log "run $backend iommu=$iommu ($rep/$repeat)"
        t0=$(now)
        if run_one "$backend" "$iommu" "$work/runs/$backend-$iommu-$rep"; then
            log "  $(cat "$work/runs/$backend-$iommu-$rep/status"), $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
        else
            log "  FAILED: $(cat "$work/runs/$backend-$iommu-$rep/status"), logs in $work/runs/$backend-$iommu-$rep"
            failed=1
        fi
    done
done
cut -d' ' -f1-3 /proc/loadavg >"$work/load-after"
log "load after: $(cat "$work/load-after")"

python3 scripts/bench-blk/report.py --work "$work" --clk-tck "$clk_tck" --quick "$quick" \
    --size-mib "$size_mib" --backend "$GUESTMEM_VHOST_BLK" \
    --json "$out/results.json" --md "$out/results.md"
cat "$out/results.md"
((failed)) || all_done=1
((!failed))
