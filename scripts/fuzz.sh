#!/usr/bin/env bash
# Build the libFuzzer targets and run each one for a time budget.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  fuzzing time of each target (default 60; 0 only
#                       replays the committed corpora)
#   TARGET              fuzz_mtree fuzz_model fuzz_virtq fuzz_vhost fuzz_gnttab
#                       fuzz_blk
#                       (default: all of them, one after the other)
#
# Steps: configure build-fuzz/ (clang, ASan+UBSan, coverage-instrumented
# library, -Dfuzz=true) if it does not exist, build the targets, replay each
# committed corpus (tests/fuzz/corpus/TARGET: seeds and the reproducers of
# every problem found) once, then fuzz each target with -max_total_time.
# New inputs go to build-fuzz/fuzz-work/TARGET/corpus (kept between runs, so
# longer runs build on shorter ones); crash, leak, timeout and out-of-memory
# inputs to build-fuzz/fuzz-work/TARGET/artifacts/.
#
# Exits non-zero if a replay fails or any target reports a crash, a leak, a
# timeout (an input running longer than 20 s), more than 2 GiB of RSS or any
# sanitizer report. Prints executions and CPU seconds per target.
#
# Environment:
#   GM_FUZZ_SKIP  comma-separated tags of known, still open problems
#                 (docs/SECURITY.md): the targets steer around them and the
#                 reproducers named regress-TAG-* are left out, so that a long
#                 run can look for other problems. Never set in CI.
#   FUZZ_NICE     niceness of the fuzzers (default 10)
#   GM_RESULTS    a file to append one line per target to: "ok fuzz:TARGET"
#                 or "FAILED fuzz:TARGET" (read by scripts/test-summary.py)
#
# Reproduce an artifact: build-fuzz/tests/fuzz/TARGET FILE
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
all=(fuzz_mtree fuzz_model fuzz_virtq fuzz_vhost fuzz_gnttab fuzz_blk)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
if ! [[ $secs =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
done

bash scripts/setup.sh || exit 1
dir=build-fuzz
if [[ ! -d $dir ]]; then
    CC=clang meson setup "$dir" -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" >/dev/null || exit 1
fi
ninja -C "$dir" "${targets[@]/#/tests/fuzz/}" >/dev/null || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/model/ubsan.supp
sanitizer_report='ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|WARNING: (AddressSanitizer|ThreadSanitizer)'

max_len() {
    case $1 in
    fuzz_mtree|fuzz_virtq|fuzz_blk) echo 16384 ;;
    fuzz_vhost) echo 8192 ;;
    fuzz_gnttab) echo 2048 ;;
    *) echo 4096 ;;
    esac
}

# The committed corpus, without the reproducers of skipped problems.
seeds_of() {
    local t=$1 seeds=$dir/fuzz-work/$1/seeds tag
    if [[ -z ${GM_FUZZ_SKIP:-} ]]; then
        echo "tests/fuzz/corpus/$t"
        return
    fi
    rm -rf "$seeds"
    mkdir -p "$seeds"
    cp tests/fuzz/corpus/"$t"/* "$seeds"/
    for tag in ${GM_FUZZ_SKIP//,/ }; do
        rm -f "$seeds"/regress-"$tag"-*
    done
    echo "$seeds"
}

failed=0
summary=()
# record TARGET RESULT: the GM_RESULTS line of one target.
record() {
    [[ -n ${GM_RESULTS:-} ]] || return 0
    if [[ $2 == ok || $2 == "replay ok" ]]; then
        echo "ok fuzz:$1" >>"$GM_RESULTS"
    else
        echo "FAILED fuzz:$1 $2" >>"$GM_RESULTS"
    fi
}
for t in "${targets[@]}"; do
    work=$dir/fuzz-work/$t
    mkdir -p "$work/corpus" "$work/artifacts"
    seeds=$(seeds_of "$t")
    echo "== $t: replaying $seeds"
    if ! "$dir/tests/fuzz/$t" -runs=0 -rss_limit_mb=2048 -timeout=20 \
            -artifact_prefix="$work/artifacts/" "$seeds" >"$work/replay.log" 2>&1 ||
            grep -qE "$sanitizer_report" "$work/replay.log"; then
        grep -m1 -E 'ERROR:|runtime error:|fuzz_[a-z]+: |Running: ' "$work/replay.log" | sed 's/^/   /'
        summary+=("$(printf '%-12s %12s %8s  %s' "$t" - - "FAILED replay (log $work/replay.log)")")
        record "$t" "FAILED replay"
        failed=1
        continue
    fi
    if ((secs == 0)); then
        summary+=("$(printf '%-12s %12s %8s  %s' "$t" - - "replay ok")")
        record "$t" "replay ok"
        continue
    fi
    log=$work/fuzz.log
    args=("$work/corpus" "$seeds"
          -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20
          -max_len="$(max_len "$t")" -print_final_stats=1
          -artifact_prefix="$work/artifacts/")
    echo "== $t: fuzzing ${secs}s"
    touch "$work/stamp"
    TIMEFORMAT='%U %S'
    { time { nice -n "${FUZZ_NICE:-10}" "$dir/tests/fuzz/$t" "${args[@]}" >"$log" 2>&1
             echo $? >"$work/rc"; }; } 2>"$work/time"
    rc=$(cat "$work/rc")
    read -r user sys < <(tail -n 1 "$work/time")
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    result=ok
    if ((rc != 0)) || grep -qE "$sanitizer_report" "$log"; then
        result="FAILED (exit $rc; log $log)"
        grep -m1 -E 'ERROR:|runtime error:|fuzz_[a-z]+: ' "$log" | sed 's/^/   /'
        find "$work/artifacts" -type f -newer "$work/stamp" | sed 's/^/   artifact: /'
        failed=1
    fi
    summary+=("$(printf '%-12s %12s %8s  %s' "$t" "${execs:-?}" "$cpu" "$result")")
    record "$t" "$result"
done

if ((${#summary[@]})); then
    printf '%-12s %12s %8s  %s\n' target execs cpu-s result
    printf '%s\n' "${summary[@]}"
fi
exit $failed
