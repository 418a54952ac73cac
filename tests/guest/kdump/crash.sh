#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# virtio_mem.kdump, in the first kernel (booted with crashkernel=): load
# vmdense_virtio_mem, let the host plug memory and fill it, load the crash
# kernel (this kernel and the slim initramfs, which runs kdump/check.sh)
# and crash.
: "${CRASH_DIR:=/vmdense/crash}"
modprobe vmdense_virtio_mem || exit 1
m0=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
echo KDUMP-READY
until [ "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" -ge $((m0 + 262144)) ]; do
	sleep 0.2
done
# data in the plugged memory: what the dump is for
/vmdense/integrity --mb 200 --churn 0 --seconds 100000 --interval-ms 3600000 --verbose \
	>/tmp/hold.out 2>&1 &
until grep -q round= /tmp/hold.out; do sleep 0.2; done
kexec -p "$CRASH_DIR/bzImage" --initrd="$CRASH_DIR/initrd" \
	--append="console=ttyS0 panic=-1 nr_cpus=1 irqpoll reset_devices memhp_default_state=online_movable VMDENSE_RUN=kdump/check.sh" ||
	{ echo KDUMP-LOAD-FAILED; exit 1; }
echo KDUMP-CRASHING
echo c >/proc/sysrq-trigger
# still here: the crash did not happen
echo KDUMP-NO-CRASH
exit 1
