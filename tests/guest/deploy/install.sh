#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Deploy tier, first boot of the Debian guest: install packages the way an
# operator would, then configure knobs for the next boot.
#   install.sh DEB... [-- KEY=VALUE...]
# DEB: .deb files (vmdense-dkms and/or the linux-image of make deb),
# installed together with apt-get (offline: everything they depend on is
# in the image). KEY=VALUE: lines added to /etc/vmdense/knobs.conf.
# Checks that DKMS built and installed the modules for the running kernel
# (when vmdense-dkms is among them) and that modinfo shows their device
# aliases and parameter descriptions; loads nothing itself. The test
# reboots the guest afterwards.
set -euo pipefail
# shellcheck source=tests/guest/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

debs=()
knobs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--) shift; knobs=("$@"); break ;;
	*) debs+=("$(realpath "$1")"); shift ;;
	esac
done
[ ${#debs[@]} -gt 0 ] || fail "usage: $0 DEB... [-- KEY=VALUE...]"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is not systemd"
kver=$(uname -r)
fact kernel "$kver"

step "apt-get install ${debs[*]##*/}"
start=$(date +%s)
# apt-get: apt's scriptable face (apt install ./x.deb does the same)
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	-o Acquire::Retries=0 "${debs[@]}" 2>&1 | tee /tmp/apt-install.log
fact install_seconds "$(( $(date +%s) - start ))"

dkms=0
for f in "${debs[@]}"; do
	case "${f##*/}" in vmdense-dkms_*) dkms=1 ;; esac
done
if [ $dkms -eq 1 ] && [ -e "/lib/modules/$kver/build/Makefile" ]; then
	step "dkms status"
	dkms status vmdense
	dkms status vmdense -k "$kver" | grep -q ": installed" ||
		fail "dkms did not install vmdense for $kver"
	for m in vmdense_virtio_mem:virtio:d00000018v* \
		 vmdense_balloon:virtio:d00000005v*; do
		mod=${m%%:*} alias=${m#*:}
		file=$(modinfo -F filename "$mod") || fail "modinfo $mod failed"
		case "$file" in */updates/dkms/*) ;;
			*) fail "$mod is $file, not DKMS's" ;; esac
		modinfo -F alias "$mod" | grep -qxF "$alias" ||
			fail "$mod lacks alias $alias: $(modinfo -F alias "$mod")"
		# udev finds it by the alias: depmod's index has it
		grep -q "^alias ${alias//\*/\\*} $mod\$" \
			"/lib/modules/$kver/modules.alias" ||
			fail "modules.alias of $kver does not map $alias to $mod"
		fact "${mod}_file" "$file"
	done
	check_parms vmdense_balloon report_timeout_ms fault_no_kick
	# the devices stay with the drivers that hold them until the reboot
	for id in 0x0018 0x0005; do
		for d in $(devices_of $id); do
			fact "driver_before_reboot_$id" "$(driver_of "$d")"
		done
	done
fi
for f in /boot/vmlinuz-*-vmdense; do
	[ -e "$f" ] || continue
	fact vmdense_kernel "${f#/boot/vmlinuz-}"
	[ -e "/boot/initrd.img-${f#/boot/vmlinuz-}" ] ||
		fail "no initramfs for ${f#/boot/vmlinuz-}"
done

if [ ${#knobs[@]} -gt 0 ]; then
	[ -f /etc/vmdense/knobs.conf ] || fail "no /etc/vmdense/knobs.conf"
	printf '%s\n' "${knobs[@]}" >>/etc/vmdense/knobs.conf
	step "knobs.conf: ${knobs[*]}"
fi
sync
echo "install: done"
