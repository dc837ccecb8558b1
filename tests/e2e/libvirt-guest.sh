#!/usr/bin/env bash
# e2e-libvirt: the test guest under libvirt, on guestmem-vhost-blk, with the
# domain XML of docs/vhost-user-blk.md section 2.
#
#   tests/e2e/libvirt-guest.sh VHOST_BLK
#
# Starts virtlogd and libvirtd itself when no system instance answers (and
# stops what it started). Then, as an operator would:
#   1. the back-end first, its socket mode 0660 group kvm (libvirt runs QEMU
#      as libvirt-qemu, in group kvm);
#   2. a type='qemu' domain whose <memoryBacking> and vhost-user <disk> are
#      the documented ones (taken from the docs at run time, so the docs
#      cannot drift from what is tested), 2 queues, direct kernel boot: the
#      guest writes and reads back its chunks while the back-end is killed
#      with SIGKILL and restarted on the same socket; the host checks the
#      image;
#   3. a second domain with the documented vIOMMU pieces (<features>, the
#      disk's driver options, <iommu>): the guest must see dmar0.
# Exit 77 (skipped) when libvirt is not installed.
set -uo pipefail
vhost_blk=$(realpath "$1")   # meson passes it relative to the build dir
cd "$(dirname "$0")/../.."
command -v virsh >/dev/null && command -v libvirtd >/dev/null ||
    { echo "libvirt is not installed: skipped"; exit 77; }
source scripts/e2e/guest-lib.sh
kit=${KIT:-build-kit}
dir=$(mktemp -d "${TMPDIR:-/tmp}/e2e-libvirt.XXXXXX")
chmod 755 "$dir"   # QEMU, as libvirt-qemu, reaches the socket and the kernel here
virsh=(virsh -q -c qemu:///system)
started=() domains=() bpid=
fail() {
    echo "not ok - $*"
    [[ -s $dir/backend.log ]] && sed 's/^/# back-end: /' "$dir/backend.log" | tail -20
    exit 1
}

cleanup() {
    local d p
    for d in "${domains[@]}"; do
        "${virsh[@]}" destroy "$d" >/dev/null 2>&1
        "${virsh[@]}" undefine "$d" >/dev/null 2>&1
    done
    stop_pid "$bpid"
    for p in "${started[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT

# libvirt's daemons, if none runs (a container without systemd).
start_daemons() {
    local d
    "${virsh[@]}" version >/dev/null 2>&1 && return 0
    for d in virtlogd libvirtd; do
        "$d" --pid-file "$dir/$d.pid" >"$dir/$d.log" 2>&1 &
        started+=($!)
    done
    for ((i = 0; i < 100; i++)); do
        "${virsh[@]}" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$dir/libvirtd.log"
    fail "libvirtd did not come up"
}

start_backend() {
    "$vhost_blk" --socket-path "$dir/disk.sock" --socket-mode 0660 --socket-group kvm \
        --blk-file "$dir/disk.img" --num-queues 2 >>"$dir/backend.log" 2>&1 &
    bpid=$!
    for ((i = 0; i < 100; i++)); do
        [[ -S $dir/disk.sock ]] && return 0
        sleep 0.05
    done
    fail "the back-end did not create its socket"
}

# domain_xml NAME IOMMU(0|1) CMDLINE: a domain built around the documented
# pieces (python3 reads them out of docs/vhost-user-blk.md).
domain_xml() {
    python3 - "$1" "$2" "$3" "$dir" "$kit" <<'EOF'
import re, sys
name, iommu, cmdline, d, kit = sys.argv[1:]
doc = open('docs/vhost-user-blk.md').read()
sec = doc[doc.index('## 2. Running it with libvirt'):doc.index('## 3. Options')]
blocks = re.findall(r'```xml\n(.*?)```', sec, re.S)
def element(tag, text):
    m = re.search(r'(<%s[ >].*?</%s>)' % (tag, tag), text, re.S)
    if not m:
        sys.exit('docs: no <%s> in section 2' % tag)
    return m.group(1)
memory = element('memoryBacking', blocks[0])
disk = element('disk', blocks[0]).replace('/run/vm1-disk.sock', d + '/disk.sock')
features = iommu_dev = ''
if iommu == '1':
    features = element('features', blocks[1])
    driver = re.search(r"<driver name='qemu'[^>]*iommu='on'[^>]*/>", blocks[1]).group(0)
    disk = re.sub(r"<driver name='qemu'[^>]*/>", driver, disk)
    iommu_dev = element('iommu', blocks[1])
print(f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <cpu><numa><cell id='0' cpus='0-1' memory='512' unit='MiB'/></numa></cpu>
  {memory}
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kit}/vmlinuz</kernel>
    <initrd>{d}/initrd.gz</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  {features}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    {disk}
    {iommu_dev}
    <serial type='file'><source path='{d}/{name}.console'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>""")
EOF
}

# wait_console NAME PATTERN SECONDS
wait_console() {
    for ((i = 0; i < $3 * 10; i++)); do
        grep -aq "$2" "$dir/$1.console" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

boot() {
    local name=$1 iommu=$2 cmdline=$3
    domain_xml "$name" "$iommu" "$cmdline" >"$dir/$name.xml" || fail "$name: domain XML from the docs"
    "${virsh[@]}" define "$dir/$name.xml" >"$dir/virsh.log" 2>&1 || { cat "$dir/virsh.log"; fail "$name: define"; }
    domains+=("$name")
    timeout 60 "${virsh[@]}" start "$name" >>"$dir/virsh.log" 2>&1 ||
        { cat "$dir/virsh.log"; fail "$name: start"; }
}

seed=${E2E_SEED:-$RANDOM}
bash scripts/guest-kit.sh "$kit" >/dev/null || fail "guest kit"
kit=$(realpath "$kit")
bash scripts/e2e/make-initramfs.sh "$kit" tests/e2e/workload-verify.sh "$dir/initrd.gz" ||
    fail "initramfs"
chmod 644 "$dir/initrd.gz"
truncate -s 64M "$dir/disk.img"
start_daemons
start_backend
[[ "$(stat -c '%A %G' "$dir/disk.sock")" == "srw-rw---- kvm" ]] || fail "socket mode and group"
echo "ok - the back-end's socket is srw-rw---- root kvm before the domain starts"

base="console=ttyS0 quiet panic=-1 no_timer_check"
boot e2e-libvirt 0 "$base e2e.seed=$seed e2e.chunks=20"
wait_console e2e-libvirt E2E-IO-START 240 || fail "the guest did not start its I/O"
sleep 0.2
{ kill -9 "$bpid" && wait "$bpid"; } 2>/dev/null
start_backend
echo "ok - the back-end killed during the guest's I/O and restarted on the same socket"
wait_console e2e-libvirt 'E2E-RESULT:' 300 || fail "no result from the guest"
grep -aq 'E2E-RESULT: PASS' "$dir/e2e-libvirt.console" ||
    fail "guest: $(grep -a 'E2E-RESULT:' "$dir/e2e-libvirt.console")"
grep -aq 'hwqueues=2' "$dir/e2e-libvirt.console" || fail "the guest did not see 2 queues"
wait_console e2e-libvirt E2E-MANIFEST-END 30 || fail "no manifest"
"${virsh[@]}" destroy e2e-libvirt >/dev/null 2>&1
python3 scripts/e2e/verify-image.py --console "$dir/e2e-libvirt.console" --image "$dir/disk.img" \
    --seed "$seed" --expect-zero-elsewhere || fail "host check of the image"
echo "ok - libvirt domain from the docs: 2 queues, back-end restarted mid-run, data verified (seed $seed)"

boot e2e-libvirt-iommu 1 "$base intel_iommu=on iommu.strict=1 e2e.seed=$seed e2e.chunks=4"
wait_console e2e-libvirt-iommu 'E2E-RESULT:' 300 || fail "vIOMMU domain: no result"
grep -aq 'E2E-IOMMU iommus=dmar0' "$dir/e2e-libvirt-iommu.console" ||
    fail "vIOMMU domain: $(grep -a 'E2E-IOMMU' "$dir/e2e-libvirt-iommu.console")"
grep -aq 'E2E-RESULT: PASS' "$dir/e2e-libvirt-iommu.console" || fail "vIOMMU domain: guest failed"
echo "ok - the documented vIOMMU pieces give the guest dmar0, and its I/O passes"
