#!/usr/bin/env bash
# Live-migration downtime, side by side: guestmem-vhost-blk, qemu-storage-
# daemon (QEMU's own vhost-user-blk back-end) and QEMU's built-in
# virtio-blk-pci (no vhost-user at all: the floor for this guest), each
# migrating the same guest doing the same I/O (scripts/e2e/migrate-guest.sh).
#
#   scripts/bench-migrate.sh [REPS] [migrate-guest.sh options...]
#
# REPS (default 3) runs of each contender, alternated (guestmem, qsd,
# builtin, guestmem, ...), so that a noisy stretch of a shared machine hits
# all of them. Prints a markdown table: per contender the median downtime
# and total migration time in ms, with the smallest and largest run in
# brackets, and how many runs passed; the machine is named above it. A
# failed run counts in the table and makes the exit status 1.
#
# The guestmem back-end comes from build-release/ (scripts/build-release.sh
# builds it), or GUESTMEM_VHOST_BLK.
set -euo pipefail
cd "$(dirname "$0")/.."

reps=${1:-3}
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench-migrate: REPS must be a positive number" >&2; exit 2; }
shift || true
if [[ -z ${GUESTMEM_VHOST_BLK:-} ]]; then
    bash scripts/build-release.sh devices/blk/guestmem-vhost-blk
    export GUESTMEM_VHOST_BLK=build-release/devices/blk/guestmem-vhost-blk
fi
contenders=(guestmem qsd builtin)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
status=0

for ((r = 1; r <= reps; r++)); do
    for c in "${contenders[@]}"; do
        line=$(scripts/e2e/migrate-guest.sh --backend "$c" "$@" 2>/dev/null | grep '^migrate:' || true)
        echo "run $r/$reps $c: ${line:-no result}" >&2
        [[ $line == "migrate: PASS"* ]] || status=1
        echo "$c ${line:-migrate: FAIL}" >>"$results"
    done
done

echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) CPUs," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg); QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }')"
echo
python3 - "$results" "${contenders[@]}" <<'EOF'
import re, statistics, sys

rows = {}
for line in open(sys.argv[1]):
    name, rest = line.split(" ", 1)
    r = rows.setdefault(name, {"downtime": [], "total": [], "pass": 0, "runs": 0})
    r["runs"] += 1
    if rest.startswith("migrate: PASS"):
        r["pass"] += 1
        r["downtime"].append(int(re.search(r"downtime_ms=(\d+)", rest).group(1)))
        r["total"].append(int(re.search(r"total_ms=(\d+)", rest).group(1)))


def cell(values):
    if not values:
        return "-"
    return f"{statistics.median(values):g} ({min(values)}–{max(values)})"


labels = {"guestmem": "guestmem-vhost-blk", "qsd": "qemu-storage-daemon (vhost-user-blk export)",
          "builtin": "QEMU's built-in virtio-blk-pci (floor)"}
print("| back-end | downtime ms, median (min–max) | total ms, median (min–max) | runs passed |")
print("|---|--:|--:|--:|")
for name in sys.argv[2:]:
    r = rows.get(name, {"downtime": [], "total": [], "pass": 0, "runs": 0})
    print(f"| {labels[name]} | {cell(r['downtime'])} | {cell(r['total'])} | {r['pass']}/{r['runs']} |")
EOF
exit "$status"
