# Shell functions shared by scripts/e2e/run-guest.sh and scripts/bench-blk.sh
# (sourced, from the top of the source tree): stopping a process, and the
# QEMU command line of a test guest whose disk is a vhost-user-blk device.

# stop_pid PID: TERM, then KILL after 5 s; nothing for an empty or dead PID.
stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# guest_qemu_cmd IOMMU SMP CHARDEV DEVICE KERNEL INITRD APPEND [PORT]
# Sets the array qemu: a TCG q35 guest with 512 MiB of shared memfd memory
# (the back-end maps it), SMP vCPUs, one vhost-user-blk DEVICE on CHARDEV
# (an empty CHARDEV: none, for a DEVICE that needs no chardev),
# kernel command line "console=ttyS0 quiet panic=-1 no_timer_check APPEND".
# IOMMU off, strict or lazy: with a vIOMMU, intel-iommu with a device IOTLB
# and the guest in that invalidation mode. PORT "always" puts the device
# behind a PCIe root port in every mode, not only with the vIOMMU.
#
# The root port: on q35's root bus virtio-pci is a conventional PCI device,
# ats=on adds no ATS capability there, the guest keeps no device IOTLB and
# sends no device-IOTLB invalidations, and QEMU 7.2 then forwards only
# page-selective IOTLB invalidations to the back-end. Lazy mode flushes
# whole domains, which QEMU would not pass on, so the back-end would keep
# stale translations of reused IOVAs.
# no_timer_check: under TCG on a loaded host the kernel's check that the
# timer interrupt arrives through the IO-APIC can time out, and with
# interrupt remapping (the vIOMMU) it then panics at boot.
guest_qemu_cmd() {
    local iommu=$1 smp=$2 chardev=$3 dev=$4 kernel=$5 initrd=$6
    local append="console=ttyS0 quiet panic=-1 no_timer_check $7" port=${8:-}
    local machine=q35 devices=()
    if [[ $iommu != off || $port == always ]]; then
        devices=(-device "pcie-root-port,id=rp0,bus=pcie.0,chassis=1")
        dev+=,bus=rp0
    fi
    if [[ $iommu != off ]]; then
        machine=q35,kernel-irqchip=split
        devices=(-device "intel-iommu,intremap=on,device-iotlb=on" "${devices[@]}")
        dev+=,iommu_platform=on,ats=on,disable-legacy=on
        append+=" intel_iommu=on iommu.strict=$([[ $iommu == strict ]] && echo 1 || echo 0)"
    fi
    qemu=(qemu-system-x86_64 -accel tcg -M "$machine" -smp "$smp"
        -m 512 -object "memory-backend-memfd,id=mem,size=512M,share=on" -numa "node,memdev=mem"
        "${devices[@]}" ${chardev:+-chardev "$chardev"} -device "$dev"
        -kernel "$kernel" -initrd "$initrd" -append "$append"
        -nic none -nographic -no-reboot)
}
