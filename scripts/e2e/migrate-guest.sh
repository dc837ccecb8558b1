#!/usr/bin/env bash
# Live-migrate a test guest whose disk is a vhost-user-blk device, while it
# has reads and writes in flight, from one QEMU and back-end to another QEMU
# and back-end on the same image; the guest verifies its data on both sides
# and the host checks the image.
#
#   scripts/e2e/migrate-guest.sh [options]
#
#   --backend guestmem|qsd|builtin
#                            back-end (default: $BACKEND, else guestmem);
#                            builtin: QEMU's own virtio-blk-pci on the image
#                            (file.locking=off), no vhost-user: the reference
#   --aio ENGINE             guestmem-vhost-blk's --aio (default: its own)
#   --queues N               virtqueues and vCPUs (default 1)
#   --packed                 packed virtqueues (packed=on)
#   --rounds-after N         rounds the guest must finish on the destination
#                            before the host tells it to stop (default 2)
#   --seed N, --chunks N     workload seed (default random) and chunks (20)
#   --timeout SEC            give up SEC seconds after the QEMUs start (300)
#   --kit DIR                guest kit (default build-kit)
#   --keep, -v               keep the work directory; copy the consoles to
#                            stderr as they grow
#
# The guest runs tests/e2e/workload-verify.sh with e2e.loop=1: after writing
# and verifying its chunks it runs rounds, each rewriting one chunk with
# other data, reading it into the page cache (the device writes those
# pages) and reading every chunk back in two streams. The host migrates it
# over a Unix socket once round 2 has begun (QMP migrate, max-bandwidth
# 1 GiB/s), then writes E2E-MIGR into the disk's last 4 KiB: the guest,
# now on the destination, checks every chunk as its page cache holds it
# (cache pages the source's device filled during the migration arrive only
# if the back-end logged them). After --rounds-after more rounds the host
# writes E2E-STOP there and the guest restores and verifies its data. Each
# back-end is a process of its own on the same image: two
# guestmem-vhost-blk processes need nothing more (the back-end takes no
# image lock); qemu-storage-daemon needs locking=off.
#
# Prints one line
#   migrate: PASS|FAIL backend=... aio=... queues=N packed=0|1 downtime_ms=D
#            total_ms=T rounds_src=A rounds_dst=B log_pages=L [reasons]
# (log_pages: the dirty-log bits the source guestmem back-end set; "-" for
# qsd). Exit status 0 on PASS, 1 on FAIL, 2 on bad usage. Fails when: the
# guest did not print E2E-RESULT: PASS on the destination (any data it read
# was not what it wrote) or its ring layout or queue count is not the one
# asked for, the migration did
# not complete, the guest did not run rounds on both sides, a guestmem
# source back-end set no dirty-log bit, a back-end exited by itself or not
# cleanly on SIGTERM, or the image check (scripts/e2e/verify-image.py) fails.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/../.."
source scripts/e2e/guest-lib.sh

backend=${BACKEND:-guestmem}
aio=
queues=1
packed=
rounds_after=2
seed=$((RANDOM * 32768 + RANDOM))
chunks=20
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
    --aio) aio=$2; shift ;;
    --queues) queues=$2; shift ;;
    --packed) packed=1 ;;
    --rounds-after) rounds_after=$2; shift ;;
    --seed) seed=$2; shift ;;
    --chunks) chunks=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --kit) kit=$2; shift ;;
    --keep) keep=1 ;;
    -v | --verbose) verbose=1 ;;
    -h | --help) usage ;;
    *) echo "migrate-guest: unknown option $1" >&2; usage ;;
    esac
    shift
done
case "$backend" in qsd | guestmem | builtin) ;; *) echo "migrate-guest: --backend guestmem|qsd|builtin" >&2; exit 2 ;; esac
for n in "$queues" "$rounds_after" "$seed" "$chunks" "$timeout"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "migrate-guest: not a number: $n" >&2; exit 2; }
done
((queues >= 1 && rounds_after >= 1)) || { echo "migrate-guest: --queues and --rounds-after start at 1" >&2; exit 2; }
if [[ $backend == guestmem && ! -x $GUESTMEM_VHOST_BLK ]]; then
    echo "migrate-guest: $GUESTMEM_VHOST_BLK not built (set GUESTMEM_VHOST_BLK)" >&2
    exit 1
fi

log() { echo "migrate-guest: $*" >&2; }
qmp() { python3 scripts/e2e/qmp.py "$@"; }

bash scripts/guest-kit.sh "$kit"
work=$(mktemp -d "${TMPDIR:-/tmp}/guestmem-migrate.XXXXXX")
img=$work/disk.img
truncate -s 64M "$img"
bash scripts/e2e/make-initramfs.sh "$kit" tests/e2e/workload-verify.sh "$work/initrd.gz"

pids=() passed=0
cleanup() {
    local p
    for p in "${pids[@]}"; do stop_pid "$p"; done
    [[ -n ${tail_pid:-} ]] && kill "$tail_pid" 2>/dev/null
    if ((passed && !keep)); then rm -rf "$work"; else log "logs kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_backend SIDE: a back-end on $work/SIDE.sock; its pid in bpid_SIDE.
start_backend() {
    local side=$1 sock=$work/$1.sock cmd pid
    case "$backend" in
    builtin) return 0 ;;
    qsd)
        cmd=(qemu-storage-daemon
            --blockdev "driver=file,node-name=f,filename=$img,locking=off"
            --blockdev "driver=raw,node-name=d,file=f"
            --export "type=vhost-user-blk,id=e,addr.type=unix,addr.path=$sock,node-name=d,writable=on,num-queues=$queues") ;;
    guestmem)
        cmd=("$GUESTMEM_VHOST_BLK" --socket-path "$sock" --blk-file "$img" --num-queues "$queues")
        [[ -z $aio ]] || cmd+=(--aio "$aio") ;;
    esac
    log "$side back-end: ${cmd[*]}"
    "${cmd[@]}" >"$work/backend-$side.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    printf -v "bpid_$side" %s "$pid"
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    log "the $side back-end did not create its socket:"
    sed 's/^/    /' "$work/backend-$side.log" >&2
    exit 1
}

# start_qemu SIDE [EXTRA...]: the guest's QEMU on SIDE's back-end, its
# console in console-SIDE.log, QMP on qmp-SIDE.sock; its pid in qpid_SIDE.
# init_on_alloc=0: Debian's kernel zeroes every page it allocates, and QEMU
# then sends the page again for that CPU write, whatever the back-end logs;
# without it, a page-cache page the device fills is dirty only in the log.
start_qemu() {
    local side=$1 dev=vhost-user-blk-pci,chardev=c0 chardev=socket,id=c0,path=$work/$1.sock drive=()
    shift
    if [[ $backend == builtin ]]; then
        dev=virtio-blk-pci,drive=d0 chardev=
        drive=(-drive "file=$img,format=raw,if=none,id=d0,file.locking=off")
    fi
    dev+=,num-queues=$queues
    [[ -z $packed ]] || dev+=,packed=on
    guest_qemu_cmd off "$queues" "$chardev" "$dev" "$kit/vmlinuz" \
        "$work/initrd.gz" "init_on_alloc=0 e2e.seed=$seed e2e.chunks=$chunks e2e.loop=1"
    qemu+=("${drive[@]}" -qmp "unix:$work/qmp-$side.sock,server=on,wait=off" "$@")
    log "$side qemu: ${qemu[*]}"
    : >"$work/console-$side.log"
    "${qemu[@]}" </dev/null >"$work/console-$side.log" 2>"$work/qemu-$side.log" &
    pids+=($!)
    printf -v "qpid_$side" %s "$!"
    if ((verbose)); then
        tail -n +1 -f "$work/console-$side.log" >&2 &
        tail_pid=$!
    fi
}

deadline=$((SECONDS + timeout))
# wait_for FILE PATTERN [COUNT]: until FILE has COUNT lines matching PATTERN.
wait_for() {
    local n=${3:-1}
    while (($(grep -ac "$2" "$1" 2>/dev/null || true) < n)); do
        ((SECONDS < deadline)) || return 1
        grep -aq 'E2E-RESULT:' "$1" 2>/dev/null && return 1
        sleep 0.1
    done
}

reasons=()
downtime=- total=- rounds_src=0 rounds_dst=0 log_pages=-
verdict() {
    local r=FAIL
    ((${#reasons[@]})) || { r=PASS; passed=1; }
    echo "migrate: $r backend=$backend aio=${aio:-default} queues=$queues packed=${packed:-0}" \
        "downtime_ms=$downtime total_ms=$total rounds_src=$rounds_src rounds_dst=$rounds_dst" \
        "log_pages=$log_pages${reasons[*]:+ (${reasons[*]})}"
    ((passed)) || exit 1
    exit 0
}
fail() { reasons+=("$*"); verdict; }

start_backend src
start_backend dst
start_qemu dst -incoming "unix:$work/migrate.sock"
start_qemu src
wait_for "$work/console-src.log" 'E2E-ROUND 2 ' || fail "the guest did not reach round 2 on the source"

qmp "$work/qmp-src.sock" migrate-set-parameters '{"max-bandwidth": 1073741824}' >/dev/null ||
    fail "migrate-set-parameters"
qmp "$work/qmp-src.sock" migrate "{\"uri\": \"unix:$work/migrate.sock\"}" >/dev/null || fail "migrate"
while :; do
    info=$(qmp "$work/qmp-src.sock" query-migrate) || fail "query-migrate"
    status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("status", ""))' "$info")
    case "$status" in
    completed) break ;;
    failed | cancelled) fail "migration $status: $info" ;;
    esac
    ((SECONDS < deadline)) || fail "migration not completed in time ($status)"
    sleep 0.1
done
echo "$info" >"$work/query-migrate.json"
read -r downtime total < <(python3 -c 'import json,sys; i = json.loads(sys.argv[1]); print(i.get("downtime", "-"), i.get("total-time", "-"))' "$info")
rounds_src=$(grep -ac 'E2E-ROUND ' "$work/console-src.log" || true)
log "migrated: downtime ${downtime} ms, total ${total} ms, after ${rounds_src} rounds on the source"
qmp "$work/qmp-src.sock" quit >/dev/null || true
wait "$qpid_src" 2>/dev/null || true

# control WORD: the first bytes of the control block (the disk's last 4 KiB).
control() {
    printf %s "$1" | dd of="$img" bs=1 seek=$(($(stat -c %s "$img") - 4096)) conv=notrunc,fsync status=none
}
guest_error() { grep -a 'E2E-ERROR\|E2E-RESULT' "$work/console-dst.log" | head -n 2 | tr -d '\r' | tr '\n' ' '; }
control E2E-MIGR
wait_for "$work/console-dst.log" 'E2E-CACHE-CHECKED' ||
    fail "the guest did not check its page cache on the destination: $(guest_error)"
before=$(grep -ac 'E2E-ROUND ' "$work/console-dst.log" || true)
wait_for "$work/console-dst.log" 'E2E-ROUND ' $((before + rounds_after)) ||
    fail "the guest did not run $rounds_after more rounds on the destination: $(guest_error)"
control E2E-STOP
wait_for "$work/console-dst.log" 'E2E-RESULT:' || true
rounds_dst=$(grep -ac 'E2E-ROUND ' "$work/console-dst.log" || true)
result=$(grep -a 'E2E-RESULT:' "$work/console-dst.log" | tail -n 1 | tr -d '\r' || true)
[[ $result == *"E2E-RESULT: PASS"* ]] || reasons+=("guest: ${result:-no result}")
grep -aq "E2E-VIRTIO packed=${packed:-0}" "$work/console-src.log" ||
    reasons+=("the guest did not negotiate packed=${packed:-0}")
[[ $result != *"E2E-RESULT: PASS"* || $result == *" hwqueues=$queues "* ]] ||
    reasons+=("the guest did not see $queues request queues")
stop_pid "$qpid_dst"

# The back-ends: each must still run, then exit cleanly on SIGTERM.
for side in src dst; do
    [[ $backend != builtin ]] || break
    pid_var=bpid_$side
    if ! kill -0 "${!pid_var}" 2>/dev/null; then
        reasons+=("the $side back-end exited by itself")
        continue
    fi
    kill -TERM "${!pid_var}"
    rc=0
    wait "${!pid_var}" || rc=$?
    ((rc == 0)) || reasons+=("the $side back-end exited with $rc on SIGTERM")
done
if [[ $backend == guestmem ]]; then
    log_pages=$(sed -n 's/.*stats:.* log_pages=\([0-9]*\).*/\1/p' "$work/backend-src.log" |
        awk '{ n += $1 } END { print n + 0 }')
    ((log_pages > 0)) || reasons+=("the source back-end set no dirty-log bit")
fi
cat "$work/console-src.log" "$work/console-dst.log" >"$work/consoles.log"
python3 scripts/e2e/verify-image.py --console "$work/consoles.log" --image "$img" --seed "$seed" \
    --expect-zero-elsewhere >"$work/verify.log" 2>&1 || reasons+=("image: $(tail -n 1 "$work/verify.log")")
verdict
