#!/usr/bin/env bash
# ThreadSanitizer run of the concurrency tests.
#
#   scripts/tsan.sh [STRESS_ITERATIONS]
#
# Builds build-tsan/ (clang, -Db_sanitize=thread) and, from its library,
# these programs in build-tsan/tsan/, then runs them; any TSan report fails:
#
#   test_stress    tests/model/test_stress.c: readers against a committing
#                  writer (seeds 1, 2, 3; STRESS_ITERATIONS writer
#                  iterations each, default 8000)
#   test_mapcache  tests/mapcache/test_mapcache.c, with its concurrent
#                  readers, writers and invalidations
#   test_gnttab    tests/xen/test_gnttab.c, with its hostile granter thread
#   test_vring_fds tests/vhost/test_vring_fds.c: SET_VRING_ERR, SET_FEATURES
#                  and SET_VRING_KICK pipelined against a broken ring's
#                  queue threads, 100 rounds
#   test_atomic    tests/unit/test_atomic.c for each access path: relaxed
#                  atomics on both sides, so any plain access of the word
#                  by the library is a reported race
#   test_mru       tests/unit/test_mru.c: readers streaming through regions
#                  (dispatch's most recently used range) while a writer
#                  rotates the region behind one address, 20000 commits
#   fuzz_vhost     tests/fuzz/fuzz_vhost.c over its committed corpus, one
#                  process per input running it five times: the vhost-user
#                  message thread against the queue threads it starts
#
# liburcu-bp is not instrumented, so TSan cannot see RCU's ordering;
# tests/tsan/rcu_model.c (linked into every program) states it with TSan
# annotations instead of suppressing reports. tests/tsan/tsan.supp holds the
# few remaining suppressions, each with its reason (docs/SECURITY.md).
#
# Environment: GM_FUZZ_SKIP as for scripts/fuzz.sh (fuzz_vhost inputs named
# regress-TAG-* are skipped for each listed TAG); GM_RESULTS, a file to
# append one "ok tsan:NAME" or "FAILED tsan:NAME" line per program run
# (read by scripts/test-summary.py).
set -uo pipefail
cd "$(dirname "$0")/.."

iters=${1:-8000}
bash scripts/setup.sh || exit 1
dir=build-tsan
if [[ ! -d $dir ]]; then
    CC=clang meson setup "$dir" -Db_sanitize=thread -Db_lundef=false \
        -Dc_args=-fno-omit-frame-pointer >/dev/null || exit 1
fi
ninja -C "$dir" src/libguestmem.a >/dev/null || exit 1

out=$dir/tsan
mkdir -p "$out"
cflags=(-g -O1 -fno-omit-frame-pointer -Iinclude -Itests/common)
read -ra urcu <<<"$(pkg-config --libs liburcu-bp)"
read -ra xen <<<"$(pkg-config --libs xengnttab 2>/dev/null || true)"
libs=("$dir/src/libguestmem.a" "${urcu[@]}" "${xen[@]}" -lpthread -ldl)

# Not instrumented itself: only its annotations speak to TSan.
clang "${cflags[@]}" -c tests/tsan/rcu_model.c -o "$out/rcu_model.o" || exit 1
clang "${cflags[@]}" -c tests/fuzz/fuzz_rcu.c -o "$out/rcu_queue.o" || exit 1
build() {
    local name=$1
    shift
    clang -fsanitize=thread "${cflags[@]}" "$@" "$out/rcu_model.o" "$out/rcu_queue.o" "${libs[@]}" \
        -o "$out/$name" || exit 1
}
build test_stress tests/model/test_stress.c
build test_mapcache tests/mapcache/test_mapcache.c
build test_gnttab tests/xen/test_gnttab.c
build test_vring_fds tests/vhost/test_vring_fds.c tests/xenfe/vu_client.c -Itests/xenfe
build test_atomic tests/unit/test_atomic.c
build test_mru tests/unit/test_mru.c -Isrc
build fuzz_vhost tests/fuzz/fuzz_vhost.c tests/tsan/replay_main.c

export TSAN_OPTIONS="halt_on_error=1 history_size=4 second_deadlock_stack=1 suppressions=$PWD/tests/tsan/tsan.supp"
failed=0
summary=()

# run NAME LOG COMMAND...: one program (at most LIMIT seconds, default
# 600); any report, failure or timeout counts.
run() {
    local name=$1 log=$2
    shift 2
    if timeout "${LIMIT:-600}" "$@" >"$log" 2>&1 && ! grep -q 'WARNING: ThreadSanitizer' "$log"; then
        [[ -n ${QUIET_OK:-} ]] || summary+=("ok      $name")
        [[ -z ${GM_RESULTS:-} ]] || echo "ok tsan:$name" >>"$GM_RESULTS"
    else
        summary+=("FAILED  $name (log $log)")
        [[ -z ${GM_RESULTS:-} ]] || echo "FAILED tsan:$name" >>"$GM_RESULTS"
        grep -m1 -A3 'WARNING: ThreadSanitizer' "$log" | sed 's/^/   /'
        failed=1
    fi
}

for seed in 1 2 3; do
    echo "== test_stress seed $seed"
    run "test_stress $seed $iters" "$out/test_stress-$seed.log" "$out/test_stress" "$seed" "$iters"
done
echo "== test_mapcache"
run test_mapcache "$out/test_mapcache.log" "$out/test_mapcache"
echo "== test_gnttab"
run test_gnttab "$out/test_gnttab.log" "$out/test_gnttab"
echo "== test_vring_fds"
for round in 1 2 3; do
    run "test_vring_fds $round" "$out/test_vring_fds-$round.log" "$out/test_vring_fds"
done
for path in as cache cache-log mapped mapcache iommu; do
    echo "== test_atomic $path"
    run "test_atomic $path" "$out/test_atomic-$path.log" "$out/test_atomic" "$path"
done
echo "== test_mru"
run test_mru "$out/test_mru.log" "$out/test_mru" 20000
echo "== fuzz_vhost corpus"
vhost_failed=0 n=0
for f in tests/fuzz/corpus/fuzz_vhost/*; do
    skip=
    for tag in ${GM_FUZZ_SKIP:+${GM_FUZZ_SKIP//,/ }}; do
        [[ $(basename "$f") == regress-$tag-* ]] && skip=1
    done
    [[ -n $skip ]] && continue
    n=$((n + 1))
    before=$failed failed=0
    # Five times: whether the threads interleave is up to the scheduler.
    LIMIT=60 QUIET_OK=1 run "fuzz_vhost $(basename "$f")" \
        "$out/fuzz_vhost-$(basename "$f").log" "$out/fuzz_vhost" "$f" "$f" "$f" "$f" "$f"
    ((failed)) && vhost_failed=1
    ((failed |= before))
done
((vhost_failed)) || summary+=("ok      fuzz_vhost ($n inputs)")

printf '%s\n' "${summary[@]}"
exit $failed
