#!/usr/bin/env bash
# Measure guestmem-vhost-blk, qemu-storage-daemon and the host's own fio side
# by side on one image file, without a VM: both back-ends are driven by
# guestmem-blkperf (docs/blkperf.md), fio reads and writes the file itself.
#
#   scripts/bench-blkperf.sh [options]
#
#   --quick              a smoke pass: 1 s per run, one repetition, depths 1
#                        and 32, one queue (about 2 minutes)
#   --runtime SEC        seconds per run (default 2)
#   --repeat N           repetitions; every figure is the median over them,
#                        with the spread (min-max) beside it (default 3)
#   --depths LIST        requests in flight per queue (default 1,8,32,128)
#   --queues LIST        queue counts (fio: jobs) (default 1,2)
#   --workloads LIST     randread4k, randwrite4k, seqread64k (default: all)
#   --storage LIST       page (the image in the page cache: guestmem
#                        --cache writeback, qsd cache.direct=off, fio
#                        --direct=0) and direct (O_DIRECT on the disk:
#                        --cache none, cache.direct=on, --direct=1)
#                        (default: both)
#   --extras LIST        more rows in the 4 KiB random read cells of one
#                        queue at depths 1 and 32: guestmem's threads and
#                        sync engines, its vIOMMU modes strict and lazy
#                        (blkperf --iommu), and fio-batch (fio submitting and
#                        reaping up to the whole depth per system call)
#                        (default: all five; none)
#   --size MIB           image size (default 1024)
#   --dir DIR            where the image goes; never tmpfs (default /var/tmp)
#   --out DIR            results.md, results.json (default build-bench-blkperf)
#   --plot FILE          the PNG plot (default OUT/bench-blkperf.png)
#   --json               print the JSON object instead of the tables
#   --keep               keep the work directory (every run's output)
#
# Contenders, in this order in every cell (storage x workload x queues x
# depth) of every repetition, each for the same fixed time:
#   guestmem   guestmem-vhost-blk --aio io_uring --cache writeback|none
#   qsd        qemu-storage-daemon, file blockdev aio=io_uring,
#              cache.direct=off|on, raw node, vhost-user-blk export
#   fio        fio --ioengine=io_uring --direct=0|1 on the image, one job per
#              queue, --iodepth per job (the physical limit; no back-end)
# then the extras. One repetition runs every cell once before any cell is
# repeated, so that the machine's load drifts over all contenders alike.
# Each back-end is started by blkperf (--spawn) and stopped after its run.
# A 64 KiB sequential read on two queues is one stream shared by both
# queues in blkperf; fio reads one half of the image per job.
#
# Page-cache runs: before them in each repetition the image is dropped from
# the page cache and written again in 4 KiB writes, so that it is cached in
# 4 KiB pages every time (read back by readahead, after O_DIRECT writes or
# after the machine's proactive reclaim took it out, it would come back in
# 2 MiB folios, into which ext4 writes 4 KiB at a tenth of the rate: every
# contender alike, fio included); it is written back (fsync) after each
# random-write cell, so that no run pays for another's dirty pages. Back-end CPU per I/O is the back-end process's
# utime + stime (all its threads, io_uring workers included) over the run,
# from blkperf; fio has no back-end.
#
# A full run (48 cells of 3 contenders and 20 extra runs per repetition,
# 492 runs of 2 s in all) takes about 20 minutes. The machine, its load
# average before, during and after, and the versions head the output. The
# ratios the goals are set on are computed within the run (medians of the
# same repetitions) and printed as MET or MISSED.
#
# Builds build-release/ (as scripts/bench.sh does; GUESTMEM_VHOST_BLK and
# GUESTMEM_BLKPERF select other binaries). Needs fio, qemu-storage-daemon
# and gnuplot (`scripts/setup.sh bench` installs them; without gnuplot
# there is no plot). Exit status 0 when every run completed (a missed goal
# is not a failure), 1 otherwise, 2 on bad usage.
set -uo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.." || exit 1
cmdline="scripts/bench-blkperf.sh${*:+ $*}"

runtime='' repeat='' depths='' queues='' quick=0
workloads=randread4k,randwrite4k,seqread64k
storages=page,direct
extras=threads,sync,strict,lazy,fio-batch
size_mib=1024
dir=/var/tmp
out=build-bench-blkperf
plot=''
json=0
keep=0

usage() {
    sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

while (($#)); do
    case "$1" in
    --quick) quick=1 ;;
    --runtime) runtime=${2-}; shift ;;
    --repeat) repeat=${2-}; shift ;;
    --depths) depths=${2-}; shift ;;
    --queues) queues=${2-}; shift ;;
    --workloads) workloads=${2-}; shift ;;
    --storage) storages=${2-}; shift ;;
    --extras) extras=${2-}; shift ;;
    --size) size_mib=${2-}; shift ;;
    --dir) dir=${2-}; shift ;;
    --out) out=${2-}; shift ;;
    --plot) plot=${2-}; shift ;;
    --json) json=1 ;;
    --keep) keep=1 ;;
    -h | --help) usage ;;
    *) echo "bench-blkperf: unknown option $1" >&2; usage ;;
    esac
    shift
done
if ((quick)); then
    : "${runtime:=1}" "${repeat:=1}" "${depths:=1,32}" "${queues:=1}"
else
    : "${runtime:=2}" "${repeat:=3}" "${depths:=1,8,32,128}" "${queues:=1,2}"
fi
[[ $extras == none ]] && extras=''
[[ -n $plot ]] || plot=$out/bench-blkperf.png

# check_list NAME LIST REGEX: every comma-separated item of LIST matches.
check_list() {
    local item
    [[ -n $2 || $1 == extras ]] || { echo "bench-blkperf: empty --$1" >&2; exit 2; }
    for item in ${2//,/ }; do
        [[ $item =~ ^($3)$ ]] || { echo "bench-blkperf: bad --$1 item '$item'" >&2; exit 2; }
    done
}
check_list depths "$depths" '[1-9][0-9]{0,2}'
check_list queues "$queues" '[1-8]'
check_list workloads "$workloads" 'randread4k|randwrite4k|seqread64k'
check_list storage "$storages" 'page|direct'
check_list extras "$extras" 'threads|sync|strict|lazy|fio-batch'
[[ $runtime =~ ^[1-9][0-9]*$ && $repeat =~ ^[1-9][0-9]*$ && $size_mib =~ ^[1-9][0-9]*$ ]] || usage
((size_mib >= 64)) || { echo "bench-blkperf: --size must be at least 64" >&2; exit 2; }

log() { echo "bench-blkperf: $*" >&2; }

# Tools: fio and gnuplot come with `scripts/setup.sh bench`.
missing=()
for t in fio qemu-storage-daemon gnuplot; do
    command -v "$t" >/dev/null || missing+=("$t")
done
if ((${#missing[@]})); then
    log "missing ${missing[*]}: running scripts/setup.sh bench"
    bash scripts/setup.sh bench >&2 || { log "scripts/setup.sh bench failed"; exit 1; }
fi
for t in fio qemu-storage-daemon; do
    command -v "$t" >/dev/null || { log "$t is still missing"; exit 1; }
done

# The binaries under test, from a release build.
if [[ -z ${GUESTMEM_VHOST_BLK:-} || -z ${GUESTMEM_BLKPERF:-} ]]; then
    bash scripts/build-release.sh devices/blk/guestmem-vhost-blk tools/blkperf/guestmem-blkperf ||
        exit 1
fi
blk=$(realpath "${GUESTMEM_VHOST_BLK:-build-release/devices/blk/guestmem-vhost-blk}")
blkperf=$(realpath "${GUESTMEM_BLKPERF:-build-release/tools/blkperf/guestmem-blkperf}")
[[ -x $blk && -x $blkperf ]] || { log "$blk or $blkperf is not executable"; exit 1; }

# The image: on a real disk, so that O_DIRECT reaches it.
mkdir -p "$dir" "$out" || exit 1
fstype=$(stat -f -c %T "$dir")
if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
    log "$dir is on $fstype: the image must be on a disk (--dir)"
    exit 2
fi
work=$(mktemp -d "$dir/guestmem-bench-blkperf.XXXXXX") || exit 1
img=$work/disk.img
all_done=0
cleanup() {
    rm -f "$img"
    if ((all_done && !keep)); then
        rm -rf "$work"
    else
        log "run outputs kept in $work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "writing a $size_mib MiB image in $work"
{ head -c "$((size_mib << 20))" /dev/urandom >"$img" && sync "$img"; } || { log "cannot write $img"; exit 1; }

# The machine, for the report.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
{
    printf 'cpu=%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    printf 'cores=%s\n' "$(nproc)"
    printf 'kernel=%s\n' "$(uname -sr)"
    printf 'fs=%s\n' "$(findmnt -n -o FSTYPE,SOURCE -T "$img" | tr -s ' ')"
    printf 'dir=%s\n' "$dir"
    printf 'qsd=%s\n' "$(qemu-storage-daemon --version | head -n1)"
    printf 'fio=%s\n' "$(fio --version)"
    printf 'commit=%s\n' "$(git describe --always --dirty 2>/dev/null || echo unknown)"
    printf 'load_before=%s\n' "$(loadavg)"
    printf 'runtime=%s\nrepeat=%s\nsize_mib=%s\nquick=%s\n' "$runtime" "$repeat" "$size_mib" "$quick"
    printf 'command=%s\n' "$cmdline"
} >"$work/meta"

# workload_args NAME: blkperf's --rw and --bs, which fio takes as they are.
workload_args() {
    case "$1" in
    randread4k) echo randread 4k ;;
    randwrite4k) echo randwrite 4k ;;
    seqread64k) echo read 64k ;;
    esac
}

# backend_cmd CONTENDER STORAGE QUEUES SOCK: the back-end's command line in
# the array cmd, and blkperf's extra options in the array extra.
backend_cmd() {
    local contender=$1 storage=$2 q=$3 sock=$4 cache=none direct=on
    [[ $storage == direct ]] || cache=writeback direct=off
    extra=()
    case "$contender" in
    qsd)
        cmd=(qemu-storage-daemon
            --blockdev "driver=file,node-name=f,filename=$img,aio=io_uring,cache.direct=$direct"
            --blockdev "driver=raw,node-name=d,file=f"
            --export "type=vhost-user-blk,id=e,addr.type=unix,addr.path=$sock,node-name=d,writable=on,num-queues=$q")
        ;;
    guestmem*)
        cmd=("$blk" --socket-path "$sock" --blk-file "$img" --cache "$cache" --num-queues "$q")
        case "$contender" in
        guestmem-threads) cmd+=(--aio threads) ;;
        guestmem-sync) cmd+=(--aio sync) ;;
        guestmem-strict | guestmem-lazy)
            cmd+=(--aio io_uring --iommu)
            extra=(--iommu "${contender#guestmem-}")
            ;;
        *) cmd+=(--aio io_uring) ;;
        esac
        ;;
    esac
}

# run_blkperf CONTENDER STORAGE WORKLOAD QUEUES DEPTH SEED BASE: one run,
# the JSON object in BASE.json, standard error (blkperf's and the
# back-end's) in BASE.log.
run_blkperf() {
    local contender=$1 storage=$2 q=$4 depth=$5 seed=$6 base=$7 rw bs sock=$work/vhost.sock
    read -r rw bs < <(workload_args "$3")
    backend_cmd "$contender" "$storage" "$q" "$sock"
    printf '%s\n' "${cmd[*]}" >"$base.cmd"
    timeout -k 5 "$((runtime + 60))" "$blkperf" --socket "$sock" --rw "$rw" --bs "$bs" --iodepth "$depth" --queues "$q" \
        --runtime "$runtime" --seed "$seed" --json --quiet "${extra[@]}" \
        --spawn -- "${cmd[@]}" >"$base.json" 2>"$base.log"
}

# run_fio CONTENDER STORAGE WORKLOAD QUEUES DEPTH SEED BASE: the host's own
# fio on the image, JSON in BASE.json. --invalidate=0 keeps the page cache
# as it is. fio submits each I/O with a system call of its own by default;
# fio-batch submits and reaps up to the whole depth at once.
run_fio() {
    local storage=$2 q=$4 depth=$5 seed=$6 base=$7 rw bs direct=1 args
    read -r rw bs < <(workload_args "$3")
    [[ $storage == direct ]] || direct=0
    args=(--name=bench "--filename=$img" --ioengine=io_uring "--direct=$direct" --invalidate=0
        "--rw=$rw" "--bs=$bs" "--iodepth=$depth" "--numjobs=$q" --group_reporting
        --time_based "--runtime=$runtime" --norandommap "--randseed=$seed"
        --lat_percentiles=1 --output-format=json "--output=$base.json")
    # Sequential: one half of the image per job, as blkperf's queues share one stream.
    [[ $rw != read ]] || args+=("--size=$((size_mib / q))M" "--offset_increment=$((size_mib / q))M")
    [[ $1 != fio-batch ]] || args+=("--iodepth_batch_submit=$depth" "--iodepth_batch_complete_max=$depth")
    printf 'fio %s\n' "${args[*]}" >"$base.cmd"
    timeout -k 5 "$((runtime + 60))" fio "${args[@]}" >"$base.log" 2>&1
}

# contenders WORKLOAD QUEUES DEPTH: who runs in a cell, in order.
contenders() {
    local c=(guestmem qsd fio) x
    if [[ $1 == randread4k && $2 == 1 && ($3 == 1 || $3 == 32) ]]; then
        for x in ${extras//,/ }; do
            [[ $x == fio-batch ]] && c+=("$x") || c+=("guestmem-$x")
        done
    fi
    echo "${c[@]}"
}

# Count the runs, for the progress lines and the time estimate.
total=0
for w in ${workloads//,/ }; do
    for q in ${queues//,/ }; do
        for depth in ${depths//,/ }; do
            total=$((total + $(contenders "$w" "$q" "$depth" | wc -w)))
        done
    done
done
total=$((total * repeat * $(wc -w <<<"${storages//,/ }")))
log "$total runs of $runtime s: about $(((total * (runtime * 10 + 5) / 10 + 59) / 60)) minutes; load $(loadavg)"

# cache_in_pages: the image in the page cache, in 4 KiB pages (see the top).
cache_in_pages() {
    sync "$img" && dd if="$img" iflag=nocache count=0 status=none &&
        head -c "$((size_mib << 20))" /dev/urandom |
        dd of="$img" bs=4k iflag=fullblock conv=notrunc,fdatasync status=none
}

: >"$work/index"
n=0 failed=0
for ((rep = 1; rep <= repeat; rep++)); do
    echo "rep $rep $(loadavg)" >>"$work/load"
    for storage in ${storages//,/ }; do
        if [[ $storage == page ]] && ! cache_in_pages; then
            log "cannot rewrite $img"
            exit 1
        fi
        for w in ${workloads//,/ }; do
            for q in ${queues//,/ }; do
                for depth in ${depths//,/ }; do
                    for c in $(contenders "$w" "$q" "$depth"); do
                        n=$((n + 1))
                        key=$storage-$w-q$q-d$depth-$c-$rep
                        base=$work/$key
                        seed=$((rep * 100000 + n))
                        if [[ $c == fio* ]]; then
                            run_fio "$c" "$storage" "$w" "$q" "$depth" "$seed" "$base"
                        else
                            run_blkperf "$c" "$storage" "$w" "$q" "$depth" "$seed" "$base"
                        fi
                        st=$?
                        printf '%s %s %s %s %s %s %s %s\n' "$storage" "$w" "$q" "$depth" "$c" "$rep" \
                            "$st" "$key" >>"$work/index"
                        if ((st)); then
                            failed=1
                            log "[$n/$total] $key FAILED (status $st): $(tail -n 2 "$base.log" | tr '\n' ' ')"
                        else
                            log "[$n/$total] $key"
                        fi
                    done
                    # Write the dirty pages back before anyone runs again.
                    [[ $storage != page || $w != randwrite4k ]] || sync "$img"
                done
            done
        done
    done
done
echo "after $(loadavg)" >>"$work/load"
log "load after: $(loadavg)"

report=(python3 scripts/bench-blkperf/report.py --work "$work" --json "$out/results.json"
    --md "$out/results.md" --plot "$plot")
"${report[@]}" || { log "report failed"; exit 1; }
if ((json)); then
    cat "$out/results.json"
else
    cat "$out/results.md"
fi
((failed)) || all_done=1
((!failed))
