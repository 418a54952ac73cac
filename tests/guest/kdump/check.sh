#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# virtio_mem.kdump, in the kdump kernel (init runs it: VMDENSE_RUN): load
# vmdense_virtio_mem, which must leave the crashed kernel's memory plugged,
# then read the whole dump, which asks the driver which device memory to
# read.
echo "KDUMP-KERNEL vmcore_bytes=$(stat -c %s /proc/vmcore 2>/dev/null || echo none)"
modprobe vmdense_virtio_mem || echo KDUMP-MODPROBE-FAILED
# the device's answer to the probe comes from the host: let it settle
sleep 3
dmesg | grep -o 'vmdense_virtio_mem.*kdump kernel.*' | head -1 | sed 's/^/KDUMP-MSG /'
echo KDUMP-DRIVER
t0=$(cut -d' ' -f1 /proc/uptime)
dd if=/proc/vmcore of=/dev/null bs=1M 2>/tmp/dd.err
echo "KDUMP-READ rc=$? $(tail -1 /tmp/dd.err) in $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s"
