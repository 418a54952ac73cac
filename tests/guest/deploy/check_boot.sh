#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Deploy tier, the boot after install.sh: nobody loaded a module by hand,
# so vmdense's drivers must have come up by modalias through udev, and the
# knobs must hold what /etc/vmdense/knobs.conf says.
#   check_boot.sh [--vmdense-kernel] [KEY=VALUE...]
# --vmdense-kernel: the kernel of make deb is running: mm/hinting is there
# (and vmdense-knobs.service ran), the drivers are the kernel's own
# modules (no DKMS build for it). Otherwise a stock kernel: the drivers
# are DKMS's. KEY=VALUE: knobs.conf settings to find in sysfs.
set -euo pipefail
# shellcheck source=tests/guest/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

vmdense_kernel=0
if [ "${1:-}" = --vmdense-kernel ]; then
	vmdense_kernel=1
	shift
fi
kver=$(uname -r)
fact kernel "$kver"
fact boot_seconds "$(cut -d' ' -f1 /proc/uptime)"

step "waiting for udev and the drivers"
udevadm settle --timeout=60 || true
for m in 0x0018:vmdense_virtio_mem 0x0005:vmdense_balloon; do
	id=${m%%:*} drv=${m#*:}
	[ -n "$(devices_of "$id")" ] || fail "no virtio device $id"
	if ! wait_bound "$id" "$drv" 60; then
		lsmod | grep -E 'virtio_(mem|balloon)' || true
		fail "$drv did not bind device $id (its driver:" \
			"$(driver_of "$(devices_of "$id" | head -1)"))"
	fi
	loaded "$drv" || fail "$drv bound but not loaded?"
	fact "${drv}_bound" 1
	file=$(modinfo -F filename "$drv")
	fact "${drv}_file" "$file"
	if [ $vmdense_kernel -eq 1 ]; then
		case "$file" in */kernel/*) ;;
			*) fail "$drv is $file, not the vmdense kernel's" ;; esac
	else
		case "$file" in */updates/dkms/*) ;;
			*) fail "$drv is $file, not DKMS's" ;; esac
	fi
done
# the udev rule that set the device knobs ran for the binding's event
udevadm settle --timeout=60 || true
check_parms vmdense_balloon report_timeout_ms fault_no_kick
# the kernel's own drivers stayed out (vmdense-blacklist.conf), also in
# the initramfs
for m in virtio_mem virtio_balloon; do
	loaded "$m" && fail "the kernel's $m is loaded as well"
done
fact kernel_drivers_loaded 0
# what udev would load for the two devices: vmdense's alone
for m in 00000018:vmdense_virtio_mem 00000005:vmdense_balloon; do
	id=${m%%:*} drv=${m#*:}
	got=$(alias_loads "virtio:d${id}v00001AF4")
	fact "alias_loads_$id" "$got"
	[ "$got" = "$drv" ] ||
		fail "virtio:d${id}v00001AF4 would load '$got', not $drv alone"
done

if [ $vmdense_kernel -eq 1 ]; then
	case "$kver" in *-vmdense) ;; *) fail "not the vmdense kernel: $kver" ;; esac
	[ -d /sys/kernel/mm/hinting ] || fail "no /sys/kernel/mm/hinting"
	fact hinting_enabled "$(cat /sys/kernel/mm/hinting/enabled)"
	[ -e /sys/kernel/mm/hinting/skip_zeroing ] ||
		fail "no known-zero tracking (hinting/skip_zeroing)"
	fact knobs_service "$(systemctl is-active vmdense-knobs.service || true)"
	systemctl is-active -q vmdense-knobs.service ||
		fail "vmdense-knobs.service: $(systemctl status vmdense-knobs.service 2>&1 | tail -5)"
	dkms status vmdense -k "$kver" | grep -q ": installed" &&
		fail "DKMS built vmdense for the vmdense kernel too"
else
	[ -d /sys/kernel/mm/hinting ] && fail "mm/hinting on a stock kernel?"
fi

for kv in "$@"; do
	key=${kv%%=*} want=${kv#*=}
	path=$(knob_path "$key")
	[ -e "$path" ] || fail "$key: no $path"
	got=$(cat "$path")
	fact "knob_$key" "$got"
	[ "$got" = "$want" ] ||
		fail "$key is $got after the reboot, knobs.conf says $want ($path)"
done
journalctl -b -t vmdense-knobs --no-pager -q 2>/dev/null | tail -5 || true
echo "check_boot: done"
