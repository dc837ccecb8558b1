#!/bin/sh
# Guest side of scripts/bench-blk.sh (busybox sh, run by the e2e /init as
# `sh /workload.sh /dev/vda`). scripts/bench-blk.sh puts a line
#
#   BENCH_PHASES="NAME:TOOL:OP:PATTERN:BS:COUNT ..."   BENCH_SEED=N
#
# in front of this file. TOOL is dd (sequential, busybox dd with O_DIRECT)
# or blkload (scripts/bench-blk/blkload.c, in /bin). Every request is
# O_DIRECT and synchronous (queue depth 1); sequential phases start at
# offset 0 (and wrap around to it at the end of the disk), random ones cover
# the whole disk.
#
# Around each phase the guest stops and waits for the host, so that the
# host reads the back-end's CPU time exactly at the phase boundaries:
#
#   guest prints  BENCH-SYNC K TAG    and reads a line from the console
#   host          samples /proc/PID/stat, then types K (and Enter)
#
# The guest counts the requests itself, from /sys/block/vda/stat, read just
# after the "pre" sync and just before the "post" one. Per phase it prints
#
#   BENCH-PHASE name=N tool=T reqs=R rd=R wr=W fl=F rsect=S wsect=S elapsed=S [BLKLOAD ...]
#
# where reqs = reads + writes + discards + flushes completed, and elapsed is
# blkload's own time (CLOCK_MONOTONIC) or, for dd, the /proc/uptime delta.
# busybox ash has read -t; the word splitting below is on purpose.
# shellcheck disable=SC3045,SC2046,SC2086
dev=$1
name=${dev#/dev/}
seq_no=0

fail() {
    echo "$*" >"$E2E_RESULT_FILE"
    echo "BENCH-FAIL $*"
    exit 1
}

# Stop until the host has sampled; it answers with the same number.
sync_host() {
    seq_no=$((seq_no + 1))
    echo "BENCH-SYNC $seq_no $1"
    read -r -t 120 answer || fail "no answer from the host at sync $seq_no"
    answer=$(echo "$answer" | tr -dc 0-9)
    [ "$answer" = "$seq_no" ] || fail "host answered '$answer' at sync $seq_no"
}

# Fields of /sys/block/vda/stat: 1 reads, 3 sectors read, 5 writes,
# 7 sectors written, 12 discards, 16 flushes.
disk_stat() {
    set -- $(cat "/sys/block/$name/stat")
    echo "$1 $3 $5 $7 ${12:-0} ${16:-0}"
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

disk_bytes=$(blockdev --getsize64 "$dev")
echo "BENCH-START disk=$disk_bytes phases=$(echo $BENCH_PHASES | wc -w)"
for spec in $BENCH_PHASES; do
    IFS=: read -r ph tool op pat bs count <<EOF
$spec
EOF
    sync_host "pre-$ph"
    s0=$(disk_stat)
    t0=$(uptime_s)
    extra=
    case "$tool" in
    dd)
        # COUNT may exceed the disk: then dd makes several passes from 0.
        left=$count
        while [ "$left" -gt 0 ]; do
            n=$((disk_bytes / bs))
            [ "$n" -le "$left" ] || n=$left
            if [ "$op" = read ]; then
                dd if="$dev" of=/dev/null bs="$bs" count="$n" iflag=direct 2>/tmp/dd.err ||
                    fail "dd $ph: $(tail -n1 /tmp/dd.err)"
            else
                dd if=/dev/zero of="$dev" bs="$bs" count="$n" oflag=direct conv=notrunc \
                    2>/tmp/dd.err || fail "dd $ph: $(tail -n1 /tmp/dd.err)"
            fi
            left=$((left - n))
        done
        ;;
    blkload)
        extra=$(blkload "$dev" "$op" "$pat" "$bs" "$count" "$BENCH_SEED" 2>/tmp/bl.err) ||
            fail "blkload $ph: $(cat /tmp/bl.err)"
        ;;
    *) fail "unknown tool $tool" ;;
    esac
    t1=$(uptime_s)
    s1=$(disk_stat)
    sync_host "post-$ph"
    set -- $s0 $s1
    rd=$(($7 - $1)) wr=$(($9 - $3)) dc=$((${11} - $5)) fl=$((${12} - $6))
    rsect=$(($8 - $2)) wsect=$((${10} - $4))
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    echo "BENCH-PHASE name=$ph tool=$tool reqs=$((rd + wr + dc + fl)) rd=$rd wr=$wr fl=$fl rsect=$rsect wsect=$wsect elapsed=$el $extra"
done
echo "bench phases=$(echo $BENCH_PHASES | wc -w)" >"$E2E_RESULT_FILE"
exit 0
