#!/bin/sh
# /init of the end-to-end test guest (busybox sh; scripts/e2e/make-initramfs.sh
# puts it in the initramfs). Loads the virtio modules in the order listed in
# /modules/order, waits for /dev/vda, runs `sh /workload.sh /dev/vda`, reports
# and powers off. It prints these lines, which scripts/e2e/run-guest.sh parses:
#
#   E2E-BOOTED uptime=S          user space is up
#   E2E-DISK dev=/dev/vda bytes=N
#   E2E-IOMMU iommus=... group=... type=...
#   E2E-VIRTIO packed=0|1        the ring layout the driver negotiated
#   E2E-WORKLOAD-START uptime=S
#   ...                          whatever the workload prints; run-guest.sh
#                                also reads E2E-IO-START and E2E-IO-END (its
#                                first and last disk I/O), E2E-INFO lines and
#                                the E2E-MANIFEST block
#   E2E-RESULT: PASS uptime=S <detail>
#   E2E-RESULT: FAIL <reason>
#
# The workload reports through its exit status and may write one line, a
# detail or a failure reason, to $E2E_RESULT_FILE.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "E2E-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"

finish() {
    echo "E2E-RESULT: $*"
    sync
    # Let the UART drain before the power goes.
    sleep 1
    poweroff -f
}

while read -r m; do
    insmod "/modules/$m.ko" || finish "FAIL insmod $m"
done </modules/order

disk=/dev/vda
i=0
while [ ! -b "$disk" ] && [ "$i" -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -b "$disk" ] || finish "FAIL no $disk after 10 s"
echo "E2E-DISK dev=$disk bytes=$(blockdev --getsize64 "$disk")"

# Which IOMMU translates the disk's DMA, if any: the domain type is DMA for
# strict invalidation, DMA-FQ for lazy (flush queue), identity for passthrough.
pcidev=$(readlink -f "/sys/block/${disk#/dev/}/device/..")
group=none
type=none
if [ -e "$pcidev/iommu_group" ]; then
    group=$(basename "$(readlink "$pcidev/iommu_group")")
    type=$(cat "/sys/kernel/iommu_groups/$group/type" 2>/dev/null || echo unknown)
fi
iommus=
for f in /sys/class/iommu/*; do
    [ -e "$f" ] && iommus="$iommus${iommus:+,}${f##*/}"
done
echo "E2E-IOMMU iommus=${iommus:-none} group=$group type=$type"
# Negotiated features: one character per bit; VIRTIO_F_RING_PACKED is bit 34.
features=$(cat "/sys/block/${disk#/dev/}/device/features" 2>/dev/null)
echo "E2E-VIRTIO packed=$(echo "$features" | cut -c35)"

export E2E_RESULT_FILE=/tmp/e2e-result
: >"$E2E_RESULT_FILE"
echo "E2E-WORKLOAD-START uptime=$(cut -d' ' -f1 /proc/uptime)"
sh /workload.sh "$disk"
rc=$?
end=$(cut -d' ' -f1 /proc/uptime)
detail=$(head -n1 "$E2E_RESULT_FILE")
if [ "$rc" -eq 0 ]; then
    finish "PASS uptime=$end $detail"
else
    finish "FAIL workload exit $rc uptime=$end: $detail"
fi
