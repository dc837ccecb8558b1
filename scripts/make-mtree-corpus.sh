#!/usr/bin/env bash
# Build the corpus of QEMU `info mtree` dumps used by the differential tests.
#
# For every machine configuration listed below, QEMU is started stopped
# (-S, no guest code runs) with a QMP socket; the human-monitor commands
# `info mtree -D` and `info mtree -f` are run through QMP's
# human-monitor-command, whose reply carries the exact monitor text (no
# prompt, no readline echo), and then `quit`.
#
# Output (all under tests/data/mtree/):
#   <case>.tree   output of `info mtree -D`
#   <case>.flat   output of `info mtree -f`
#   <case>.hints  terminating i/o regions, see scripts/mtree-hints.py
#   MANIFEST      <case><TAB><qemu binary> <args...>, one line per case
#   README.md     description, QEMU version, case list
#
# Usage: scripts/make-mtree-corpus.sh [CASE...]
#   With CASE names only those cases are (re)generated; MANIFEST and
#   README.md are rewritten only by a full run.
# Environment:
#   MTREE_TIMEOUT   seconds allowed per QEMU run (default 30)
#   PYTHON          python interpreter (default python3)
#
# QEMU packages needed: scripts/corpus-packages.txt.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/tests/data/mtree"
TIMEOUT=${MTREE_TIMEOUT:-30}
if ! [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]]; then
  echo "error: MTREE_TIMEOUT must be a positive number of seconds" >&2
  exit 2
fi
PYTHON=${PYTHON:-python3}
export LC_ALL=C

# Arguments common to every case.  -S stops the CPUs before the first
# instruction, so machines whose firmware is missing still start.
COMMON=(-S -nodefaults -no-user-config -display none -accel tcg)

# ---------------------------------------------------------------------------
# Case list: NAME|BINARY|EXTRA ARGS (split on whitespace; no quoting needed).
# NAME is <arch>-<machine>[-variant].
# ---------------------------------------------------------------------------
CASES=(
  "x86_64-pc|qemu-system-x86_64|-M pc -m 128M"
  "x86_64-pc-devices|qemu-system-x86_64|-M pc -m 512M -device virtio-blk-pci,drive=d0 -drive if=none,id=d0,driver=null-co -device e1000 -device ich9-intel-hda -device VGA"
  "x86_64-pc-5g|qemu-system-x86_64|-M pc -m 5G"
  "x86_64-pc-pam-off|qemu-system-x86_64|-M pc,smm=off,acpi=off -m 64M"
  "x86_64-q35|qemu-system-x86_64|-M q35 -m 128M"
  "x86_64-q35-devices|qemu-system-x86_64|-M q35 -m 1G -device virtio-blk-pci,drive=d0 -drive if=none,id=d0,driver=null-co -device e1000 -device ich9-intel-hda -device virtio-net-pci -device qxl-vga"
  "x86_64-q35-5g|qemu-system-x86_64|-M q35 -m 5G"
  "x86_64-q35-iommu|qemu-system-x86_64|-M q35,kernel-irqchip=split -m 256M -device intel-iommu,intremap=on -device e1000"
  "x86_64-q35-pcie-ports|qemu-system-x86_64|-M q35 -m 256M -device pcie-root-port,id=rp0,chassis=1 -device virtio-net-pci,bus=rp0 -device pci-bridge,id=br0,chassis_nr=2 -device e1000,bus=br0,addr=3"
  "x86_64-isapc|qemu-system-x86_64|-M isapc -m 32M"
  "x86_64-microvm|qemu-system-x86_64|-M microvm -m 128M"
  "i386-pc|qemu-system-i386|-M pc -m 64M"
  "aarch64-virt|qemu-system-aarch64|-M virt -m 256M"
  "aarch64-virt-max|qemu-system-aarch64|-M virt -cpu max -m 256M"
  "aarch64-virt-el2|qemu-system-aarch64|-M virt,virtualization=on -cpu max -m 256M"
  "aarch64-virt-secure|qemu-system-aarch64|-M virt,secure=on -cpu max -m 256M"
  "aarch64-virt-gicv3-its|qemu-system-aarch64|-M virt,gic-version=3,its=on,highmem=on -cpu max -smp 2 -m 5G -device virtio-net-pci"
  "aarch64-raspi3b|qemu-system-aarch64|-M raspi3b"
  "aarch64-sbsa-ref|qemu-system-aarch64|-M sbsa-ref -m 256M"
  "aarch64-xlnx-zcu102|qemu-system-aarch64|-M xlnx-zcu102"
  "aarch64-xlnx-versal-virt|qemu-system-aarch64|-M xlnx-versal-virt"
  "arm-vexpress-a9|qemu-system-arm|-M vexpress-a9 -m 128M"
  "arm-versatilepb|qemu-system-arm|-M versatilepb -m 128M"
  "arm-mps2-an385|qemu-system-arm|-M mps2-an385"
  "arm-musca-b1|qemu-system-arm|-M musca-b1"
  "arm-highbank|qemu-system-arm|-M highbank -m 512M"
  "arm-ast2600-evb|qemu-system-arm|-M ast2600-evb"
  "riscv64-virt|qemu-system-riscv64|-M virt -m 256M"
  "riscv64-sifive_u|qemu-system-riscv64|-M sifive_u"
  "riscv64-spike|qemu-system-riscv64|-M spike -m 128M"
  "riscv32-sifive_e|qemu-system-riscv32|-M sifive_e"
  "ppc64-pseries|qemu-system-ppc64|-M pseries -m 512M"
  "ppc64-powernv9|qemu-system-ppc64|-M powernv9 -m 2G"
  "ppc-mac99|qemu-system-ppc|-M mac99 -m 128M"
  "ppc-g3beige|qemu-system-ppc|-M g3beige -m 128M"
  "ppc-ppce500|qemu-system-ppc|-M ppce500 -m 256M"
  "ppc-40p|qemu-system-ppc|-M 40p -m 128M"
  "ppc-bamboo|qemu-system-ppc|-M bamboo -m 256M"
  "s390x-s390-ccw-virtio|qemu-system-s390x|-M s390-ccw-virtio -m 256M"
  "m68k-q800|qemu-system-m68k|-M q800 -m 64M"
  "m68k-virt|qemu-system-m68k|-M virt -m 64M"
  "mips-malta|qemu-system-mips|-M malta -m 128M"
  "mips64el-boston|qemu-system-mips64el|-M boston -m 1G"
  "mips64el-boston-nofw|qemu-system-mips64el|-M boston -m 1G -bios /dev/null"
  "mips64el-fuloong2e|qemu-system-mips64el|-M fuloong2e -m 256M"
  "sparc-SS-5|qemu-system-sparc|-M SS-5 -m 64M"
  "sparc-SS-20|qemu-system-sparc|-M SS-20 -m 64M"
  "sparc64-sun4u|qemu-system-sparc64|-M sun4u -m 128M"
  "sparc64-sun4v|qemu-system-sparc64|-M sun4v -m 128M"
  "alpha-clipper|qemu-system-alpha|-M clipper -m 128M"
  "hppa-hppa|qemu-system-hppa|-M hppa -m 128M"
  "sh4-r2d|qemu-system-sh4|-M r2d"
  "loongarch64-virt|qemu-system-loongarch64|-M virt -m 1G"
  "microblaze-petalogix-ml605|qemu-system-microblaze|-M petalogix-ml605"
  "or1k-virt|qemu-system-or1k|-M virt -m 128M"
  "xtensa-virt|qemu-system-xtensa|-M virt -m 128M"
)

# ---------------------------------------------------------------------------
# QMP driver: start QEMU, run the monitor commands, write <out>.tree/.flat.
#   $PYTHON -c "$QMP_DRIVER" OUTPREFIX TIMEOUT QEMU ARGS...
# Exit status 0 on success; otherwise a one-line reason on stderr.
# ---------------------------------------------------------------------------
read -r -d '' QMP_DRIVER <<'PY' || true
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time

prefix, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
deadline = time.monotonic() + timeout
tmp = tempfile.mkdtemp(prefix="mtree-")
sock_path = os.path.join(tmp, "qmp.sock")
log_path = os.path.join(tmp, "qemu.log")

def fail(msg):
    try:
        with open(log_path, errors="replace") as f:
            log = " | ".join(l.strip() for l in f if l.strip())[:400]
    except OSError:
        log = ""
    sys.stderr.write(msg + (": " + log if log else "") + "\n")
    sys.exit(1)

def remaining():
    r = deadline - time.monotonic()
    if r <= 0:
        raise TimeoutError("timeout after %gs" % timeout)
    return r

proc = None
try:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv + ["-qmp", "unix:%s,server=on,wait=off" % sock_path],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        if proc.poll() is not None:
            fail("qemu exited with status %d before QMP was up" % proc.returncode)
        try:
            s.connect(sock_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            remaining()
            time.sleep(0.05)

    buf = b""
    def recv_msg():
        global buf
        while b"\n" not in buf:
            s.settimeout(remaining())
            chunk = s.recv(1 << 20)
            if not chunk:
                fail("QEMU closed the QMP connection")
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        return json.loads(line)

    def command(name, ident, **args):
        msg = {"execute": name, "id": ident}
        if args:
            msg["arguments"] = args
        s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = recv_msg()
            if reply.get("id") != ident:
                continue            # events
            if "error" in reply:
                fail("%s failed: %s" % (name, reply["error"].get("desc")))
            return reply.get("return")

    if "QMP" not in recv_msg():
        fail("no QMP greeting")
    command("qmp_capabilities", "caps")
    tree = command("human-monitor-command", "tree", **{"command-line": "info mtree -D"})
    flat = command("human-monitor-command", "flat", **{"command-line": "info mtree -f"})
    # QEMU may close the socket before replying to quit; just wait for it.
    s.sendall(b'{"execute": "quit", "id": "quit"}\n')
    proc.wait(timeout=remaining())
    if not tree or not flat:
        fail("empty monitor output")
    for ext, text in (("tree", tree), ("flat", flat)):
        # The monitor turns every "\n" into "\r\n"; store plain LF text.
        text = text.replace("\r\n", "\n")
        with open("%s.%s.tmp" % (prefix, ext), "w", newline="") as f:
            f.write(text)
    for ext in ("tree", "flat"):
        os.replace("%s.%s.tmp" % (prefix, ext), "%s.%s" % (prefix, ext))
except (TimeoutError, socket.timeout, subprocess.TimeoutExpired):
    fail("timeout after %gs" % timeout)
except (ConnectionError, OSError) as e:
    fail("QEMU closed the QMP connection (%s)" % e.__class__.__name__)
finally:
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
PY

mkdir -p "$OUT"

selected=("$@")
full_run=1
if ((${#selected[@]})); then
  full_run=0
fi

is_selected() {
  local n=$1 s
  ((full_run)) && return 0
  for s in "${selected[@]}"; do
    [[ $s == "$n" ]] && return 0
  done
  return 1
}

if ((full_run)); then
  # Start from a clean slate so removed or failing cases leave nothing behind.
  rm -f "$OUT"/*.tree "$OUT"/*.flat "$OUT"/*.hints "$OUT"/*.tmp
fi

ok=()
failed=()
manifest=""
for entry in "${CASES[@]}"; do
  IFS='|' read -r name bin extra <<<"$entry"
  is_selected "$name" || continue
  read -r -a extra_args <<<"$extra"
  args=("${COMMON[@]}" "${extra_args[@]}")
  if ! command -v "$bin" >/dev/null 2>&1; then
    failed+=("$name: $bin not installed")
    echo "FAIL $name: $bin not installed" >&2
    continue
  fi
  rm -f "$OUT/$name.tree" "$OUT/$name.flat" "$OUT/$name.hints"
  # `timeout` is a second guard around the driver's own deadline.
  if reason=$(timeout --kill-after=5 $((TIMEOUT + 10)) \
        "$PYTHON" -c "$QMP_DRIVER" "$OUT/$name" "$TIMEOUT" "$bin" "${args[@]}" 2>&1); then
    if ! "$PYTHON" "$ROOT/scripts/mtree-hints.py" "$OUT/$name.tree" "$OUT/$name.flat" \
          >"$OUT/$name.hints.tmp" 2>"$OUT/$name.hints.err"; then
      cat "$OUT/$name.hints.err" >&2
      rm -f "$OUT/$name.hints.tmp" "$OUT/$name.hints.err"
      echo "error: mtree-hints.py failed for $name" >&2
      exit 1
    fi
    mv "$OUT/$name.hints.tmp" "$OUT/$name.hints"
    if [[ -s $OUT/$name.hints.err ]]; then
      sed "s/^/  $name: /" "$OUT/$name.hints.err" >&2
    fi
    rm -f "$OUT/$name.hints.err"
    ok+=("$name")
    manifest+="$name"$'\t'"$bin ${args[*]}"$'\n'
    echo "ok   $name" >&2
  else
    rm -f "$OUT/$name".*.tmp "$OUT/$name.tree" "$OUT/$name.flat"
    reason=${reason//$'\n'/ }
    failed+=("$name: ${reason:-timeout}")
    echo "FAIL $name: ${reason:-timeout}" >&2
  fi
done

if ! ((full_run)); then
  exit 0
fi

printf '%s' "$manifest" >"$OUT/MANIFEST"

# ---------------------------------------------------------------------------
# README.md
# ---------------------------------------------------------------------------
qemu_version=$(qemu-system-x86_64 --version | head -n 1)
{
  cat <<'EOF'
# QEMU `info mtree` corpus

Reference dumps of QEMU's memory-region tree and of the flat views QEMU
renders from it, for differential tests of the guest memory model.

Generated by `scripts/make-mtree-corpus.sh`; do not edit by hand.  A
full run deletes and regenerates every `.tree`, `.flat` and `.hints`
file, `MANIFEST` and this README; `scripts/make-mtree-corpus.sh CASE...`
regenerates single cases.  The Debian packages it expects (QEMU and the
firmware some machines load at init) are listed in
`scripts/corpus-packages.txt`.

## QEMU version

EOF
  printf '    %s\n\n' "$qemu_version"
  cat <<'EOF'
## How the dumps are taken

Each case starts QEMU with

    -S -nodefaults -no-user-config -display none -accel tcg

plus the machine options shown in `MANIFEST` (tab-separated: case name,
then the exact QEMU command line, without the `-qmp unix:...` option the
script appends to talk to QEMU).  `-S` stops the CPUs before the first
instruction, so no firmware or guest code runs and the memory map is the
one left by machine init and reset.  The monitor commands are issued over
QMP with `human-monitor-command`, which returns the exact HMP text:

* `<case>.tree` is the output of `info mtree -D` (every address space,
  disabled regions included, followed by the `memory-region:` blocks for
  alias targets that are not reachable otherwise);
* `<case>.flat` is the output of `info mtree -f` (flat views);
* then `quit`.

The files hold the command output exactly, including the trailing blank
lines; QMP adds no prompt or command echo, so nothing is stripped.  The
only change is the line ending: the monitor emits every newline as
`\r\n`, and the files store plain `\n`.

## Output format notes

* Tree lines: `[DETECTED OVERFLOW!] ` (only when start+size wraps),
  two spaces of indentation per level, then
  `%016x-%016x (prio P, TYPE): NAME` with an optional ` [disabled]`
  suffix, or for aliases
  `%016x-%016x (prio P, TYPE): alias NAME @TARGET %016x-%016x`.
  TYPE is one of `ram`, `rom`, `romd`, `ramd`, `i/o` (IOMMU regions and
  containers print as `i/o`), optionally prefixed with `nv-`; an alias
  shows the type of its target.  The end address is start + size - 1
  modulo 2^64, so a region covering the whole 64-bit space prints
  `0000000000000000-ffffffffffffffff`; a zero-sized region prints
  start = end, exactly like a one-byte region.
* Region names are free text: they may contain spaces
  (`bus master container`), `[`, `]` and `@`
  (`CMSDK APB peripheral region @0x40000000`).  Names are not unique:
  the same name is used by unrelated regions (e.g. `fdc`,
  `dma-chan`, `vga` on x86, or a container and the MMIO region inside
  it, as `bcm2835-mbox` on raspi3b).
* Address spaces whose root is the same region are printed as one block
  with several `address-space:` header lines.  Several address spaces
  can share one name with different roots (q35 with intel-iommu has one
  `vtd-root` per device), or even name and root (`dma`, `zdma-dma`,
  `bitband-source`, `pbm-bridge` on some machines).
* The tree does not descend into aliases.  After the address spaces,
  one `memory-region: NAME` block is printed for each alias target not
  printed so far (recursively).  Its top line is placed at the region's
  own `addr` (its offset in its parent), not at 0, e.g.
  `memory-region: pc.bios` prints `00000000fffc0000-00000000ffffffff`.
* In QEMU 7.2 the address-space blocks of the tree come from a hash
  table too, so their order (and hence the order of the `memory-region:`
  blocks) changes from run to run; the set of blocks is stable.  Re-running
  the script therefore rewrites most files with the same blocks in a
  different order.
* `[DETECTED OVERFLOW!]` does not occur in this corpus.
* Flat output groups the address spaces that share one FlatView:
  `FlatView #N`, one or more ` AS "name", root: X` lines,
  ` Root memory region: X`, then range lines
  `  %016x-%016x (prio P, TYPE): NAME[ @%016x]`
  (`@` gives the offset into the region when it is not 0), or
  `  No rendered FlatView` (with ` Root memory region: (none)`, e.g. PCI
  bus-master address spaces while bus mastering is disabled).  The range
  TYPE is `rom` for read-only ranges whatever the region type.
  FlatViews are printed from a hash table, so
  the numbering and the order of the blocks carry no meaning: compare per
  address space, as `scripts/mtree-compare.py` does.

## Hint files

`<case>.hints` lists the `i/o`-typed regions of the tree dump that
*terminate*, i.e. that render themselves into the parts of their range
not covered by subregions (MMIO regions, including containers created
with I/O callbacks such as the x86 `io` root), as opposed to pure
containers, which render nothing.  The tree text does not say which is
which, so it is derived from QEMU's own flat views by
`scripts/mtree-hints.py TREEFILE FLATFILE`:

* a non-alias tree line of type `i/o` (in an address-space tree or a
  `memory-region:` block) is a terminating region if its NAME is the
  final region name of some range line of the `.flat` file (containers
  never appear in a flat view);
* each hint line is `NAME SIZE`, SIZE being the region size in lowercase
  hex without `0x`: (end - start) mod 2^64 + 1 from the tree line, so the
  whole 64-bit space is `10000000000000000`;
* lines are deduplicated and sorted (byte order).

Known limitations:

* A terminating region that is entirely covered by its subregions (or
  disabled, or not mapped) in every view never shows up in the flat view
  and is therefore not listed.  Its bit does not matter for rendering
  these views anyway.
* Regions are matched by name.  When one name is shared by a region that
  terminates and one that does not (for example a container and an MMIO
  region, possibly of different sizes), every `i/o` tree line with that
  name is listed.  The script reports such pairs on stderr as ambiguous,
  except those it can confirm: a pair is confirmed when some flat range of
  that name, in an address space of the tree block holding the region, starts
  at the region's start plus the range's `@` offset and fits in the region.
  The ambiguities seen when the corpus was generated are listed below.
* A zero-sized region prints like a one-byte region and gets SIZE `1`
  (`aspeed.smc.flash.1` on ast2600-evb).

## Cases

EOF
  printf '| case | command line |\n| --- | --- |\n'
  while IFS=$'\t' read -r n cmd; do
    # shellcheck disable=SC2016  # literal backticks (Markdown)
    printf '| `%s` | `%s` |\n' "$n" "$cmd"
  done <"$OUT/MANIFEST"
  if ((${#failed[@]})); then
    printf '\nConfigurations that did not start (left out):\n\n'
    for f in "${failed[@]}"; do
      printf -- '* %s\n' "$f"
    done
  fi
  printf '\n## Name ambiguities reported by mtree-hints.py\n\n'
  amb=0
  for n in "${ok[@]}"; do
    while IFS= read -r line; do
      [[ -n $line ]] || continue
      # shellcheck disable=SC2016  # literal backticks (Markdown)
      printf -- '* `%s`: %s\n' "$n" "$line"
      amb=1
    done < <("$PYTHON" "$ROOT/scripts/mtree-hints.py" "$OUT/$n.tree" "$OUT/$n.flat" 2>&1 >/dev/null)
  done
  ((amb)) || printf 'None.\n'
} >"$OUT/README.md"

echo "${#ok[@]} cases written to $OUT, ${#failed[@]} failed" >&2
