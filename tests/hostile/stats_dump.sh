#!/usr/bin/env bash
# guestmem-vhost-blk prints its counters on SIGUSR1, from a thread of its own,
# as one line per signal ("dump N:", N counting), and goes on serving.
#   stats_dump.sh PATH-TO-guestmem-vhost-blk
set -euo pipefail
exe=$1
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$exe" --socket-path "$dir/sock" --num-queues 3 --iommu 2>"$dir/log" &
pid=$!
for ((i = 0; i < 100; i++)); do
    [[ -S $dir/sock ]] && break
    sleep 0.05
done
[[ -S $dir/sock ]] || { echo "not ok - no socket"; cat "$dir/log"; exit 1; }
for n in 1 2 3; do
    kill -USR1 "$pid"
    for ((i = 0; i < 100; i++)); do
        grep -q "dump $n:" "$dir/log" && break
        sleep 0.02
    done
    line=$(grep "dump $n:" "$dir/log") || { echo "not ok - no dump $n"; cat "$dir/log"; exit 1; }
    for key in requests iotlb_misses iotlb_prefetched iotlb_invalidations iotlb_invalidation_msgs \
        iotlb_cache_hits map_hits q0_requests=0 q1_requests=0 q2_requests=0; do
        [[ $line == *" $key"* ]] || { echo "not ok - dump $n lacks $key: $line"; exit 1; }
    done
    echo "ok - SIGUSR1 $n printed one line of counters"
done
kill -0 "$pid" || { echo "not ok - the back-end exited"; exit 1; }
[[ $(grep -c "dump" "$dir/log") == 3 ]] || { echo "not ok - extra dumps"; exit 1; }
echo "ok - still serving after three dumps"
