#!/usr/bin/env bash
# guestmem side by side with rust-vmm vm-memory 0.10 (Debian's crate) on one
# workload, in one run, on this machine.
#
#   scripts/bench-vm-memory.sh [RUNS]      (default 5, at least 3)
#
# The workload (scripts/bench-vm-memory/guestmem_side.c says it in full):
# NREG RAM regions of 256 MiB / NREG with equal gaps, 2^21 random accesses
# per row, for NREG 8 and 1024: 4 KiB reads (gm_as_read / read_slice), u64
# loads (gm_as_ld64_le / read_obj) and lookups (gm_as_lookup_rcu /
# find_region), with memcpy and a plain load through a host pointer as the
# physical limits. Lookups are shown three ways, since guestmem's map can
# change and a plain GuestMemoryMmap cannot: each in its own RCU section
# against find_region (the issue's row); against find_region behind
# GuestMemoryAtomic::memory(), vm-memory's reader guard for a map that can
# change; and in a section the caller holds across 64 lookups against
# find_region. The contenders alternate (guestmem first in odd runs,
# vm-memory first in even ones), each run a fresh process per contender and
# NREG; the report gives the median of the runs and their spread (min-max).
#
# Not part of CI, and scripts/setup.sh does not install Rust: this script
# installs what it needs itself (librust-vm-memory-dev, and cargo if there is
# none) and builds the vm-memory side offline against Debian's vendored crate
# registry. Everything it builds goes to build-vm-memory/; guestmem itself is
# built in build-release/ as scripts/bench.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 3)); then
    echo "usage: scripts/bench-vm-memory.sh [RUNS >= 3]" >&2
    exit 2
fi
out=$PWD/build-vm-memory
registry=/usr/share/cargo/registry

need=()
dpkg -s librust-vm-memory-dev >/dev/null 2>&1 || need+=(librust-vm-memory-dev)
command -v cargo >/dev/null || need+=(cargo)
if ((${#need[@]})); then
    echo "installing ${need[*]}" >&2
    apt-get install -y "${need[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; }
fi

# guestmem: the release library, and the C driver linked against it.
if [[ ! -f build-release/build.ninja ]]; then
    meson setup build-release --buildtype=release -Dtests=false >&2
fi
ninja -C build-release src/libguestmem.a >&2
mkdir -p "$out"
read -ra urcu <<<"$(pkg-config --libs liburcu-bp)"
read -ra xen <<<"$(pkg-config --libs xengnttab 2>/dev/null || true)"
cc -std=gnu11 -O2 -Wall -Wextra -Iinclude scripts/bench-vm-memory/guestmem_side.c \
    build-release/src/libguestmem.a "${urcu[@]}" "${xen[@]}" -lpthread -o "$out/guestmem-side"

# vm-memory: a copy of the sources (cargo writes Cargo.lock beside them),
# built offline against the packaged crates.
rm -rf "$out/rust"
mkdir -p "$out/rust/.cargo"
cp -r scripts/bench-vm-memory/Cargo.toml scripts/bench-vm-memory/src "$out/rust/"
cat >"$out/rust/.cargo/config.toml" <<EOF
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "$registry"

[net]
offline = true
EOF
(cd "$out/rust" && cargo build --release --quiet >&2)
vmm_version=$(dpkg-query -W -f='${Version}' librust-vm-memory-dev)

results=$out/results.txt
: >"$results"
for ((run = 1; run <= runs; run++)); do
    for nreg in 8 1024; do
        order=(guestmem vm-memory)
        ((run % 2)) || order=(vm-memory guestmem)
        for who in "${order[@]}"; do
            if [[ $who == guestmem ]]; then
                prog=$out/guestmem-side
            else
                prog=$out/rust/target/release/bench-vm-memory
            fi
            echo "run $run/$runs: $who, $nreg regions" >&2
            "$prog" "$nreg" 2>/dev/null | sed "s/^/$who $nreg /" >>"$results"
        done
    done
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
python3 - "$results" "$runs" "$cpu" "$(nproc)" "$vmm_version" "$(uptime)" <<'EOF'
import statistics
import sys

path, runs, cpu, cores, vmm, load = sys.argv[1:7]
values = {}
for line in open(path):
    who, nreg, row, ns = line.split()
    values.setdefault((who, int(nreg), row), []).append(float(ns))


def cell(who, nreg, row):
    v = values.get((who, nreg, row))
    if not row or not v:
        return "—", None
    m = statistics.median(v)
    return f"{m:.1f} ns ({min(v):.1f}–{max(v):.1f})", m


# (what, limit row, guestmem row, vm-memory row, the calls)
rows = [
    ("4 KiB read", "memcpy_4k", "read_4k", "read_4k", "`gm_as_read` / `read_slice`"),
    ("u64 load", "load_u64", "ld_u64", "ld_u64", "`gm_as_ld64_le` / `read_obj`"),
    ("lookup", None, "lookup", "lookup",
     "`gm_as_lookup_rcu` in its own RCU section / `find_region`"),
    ("lookup, reader's sync per lookup", None, "lookup", "lookup_atomic",
     "own RCU section / `GuestMemoryAtomic::memory()` + `find_region`"),
    ("lookup, in the caller's section", None, "lookup_held", "lookup",
     "one RCU section per 64 `gm_as_lookup_rcu` / `find_region`"),
]
print(f"Machine: {cpu}, {cores} cores; vm-memory {vmm} (Debian); {runs} runs per contender, "
      "alternating; median (min–max) per access.")
print(f"Load at the end: {load.strip()}")
print()
print("| | memcpy / host load (limit) | guestmem | vm-memory | guestmem ≤ vm-memory |")
print("|---|--:|--:|--:|:-:|")
for name, limit, grow, vrow, calls in rows:
    for nreg in (8, 1024):
        lim = cell("guestmem", nreg, limit)[0]
        g, gm = cell("guestmem", nreg, grow)
        v, vm = cell("vm-memory", nreg, vrow)
        ok = "—" if gm is None or vm is None else ("yes" if gm <= vm else "no")
        print(f"| {name}, {nreg} regions ({calls}) | {lim} | {g} | {v} | {ok} |")
EOF
