# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the deploy tier's guest scripts (tests/guest/deploy/*.sh),
# which run in the debootstrapped Debian 12 guest (scripts/build-deploy-
# image) as root, from the second disk mounted at /vmdense: by the test
# (tests/suites/deploy.py, through the agent) or by hand on the serial
# console. They print "FACT key=value" lines, which the test reads back,
# and fail (exit 1) with a "FAIL ..." line that says what was wrong.

fact() { echo "FACT $1=$2"; }
fail() { echo "FAIL $*"; exit 1; }
step() { echo "STEP $*"; }

# the virtio devices of a device ID (0x0018 virtio-mem, 0x0005 balloon)
devices_of() {
	local d
	for d in /sys/bus/virtio/devices/virtio*; do
		[ "$(cat "$d/device")" = "$1" ] && echo "$d"
	done
	return 0
}

# the driver bound to a device directory, or "none"
driver_of() {
	if [ -L "$1/driver" ]; then
		basename "$(readlink "$1/driver")"
	else
		echo none
	fi
}

# wait_bound <device ID> <driver> <seconds>: a device of that ID is bound
# to that driver within the time
wait_bound() {
	local d
	for _ in $(seq "$(( $3 * 2 ))"); do
		for d in $(devices_of "$1"); do
			[ "$(driver_of "$d")" = "$2" ] && return 0
		done
		sleep 0.5
	done
	return 1
}

loaded() { [ -d "/sys/module/$1" ]; }

# knob_path <key>: the file a knobs.conf key sets (hinting.X,
# virtio_mem.X of the first device vmdense_virtio_mem holds)
knob_path() {
	local d
	case "$1" in
	hinting.*) echo "/sys/kernel/mm/hinting/${1#hinting.}" ;;
	virtio_mem.*)
		for d in $(devices_of 0x0018); do
			if [ "$(driver_of "$d")" = vmdense_virtio_mem ]; then
				echo "$d/vmdense/${1#virtio_mem.}"
				return 0
			fi
		done
		echo "/nonexistent/no-vmdense_virtio_mem-device" ;;
	*) echo "/nonexistent/unknown-key-$1" ;;
	esac
}

# the modules udev's autoloading would load for a modalias (blacklist
# applied, as udev does), less the virtio core they depend on
alias_loads() {
	local deps m out=
	deps=$(modprobe -b --show-depends "$1" 2>&1) || {
		echo "modprobe: $deps"
		return 0
	}
	while read -r m; do
		case "$m" in virtio|virtio_ring) ;; *) out="$out${out:+ }$m" ;; esac
	done < <(sed -n 's|^insmod .*/\([^/]*\)\.ko.*|\1|p' <<<"$deps")
	echo "$out"
}

# check_parms <module> <parameter>...: modinfo lists each parameter with a
# description ("name:description (type)")
check_parms() {
	local mod=$1 p parms
	shift
	parms=$(modinfo -F parm "$mod") || fail "modinfo $mod failed"
	echo "$parms"
	for p in "$@"; do
		grep -q "^$p:[^(]*[a-z]" <<<"$parms" ||
			fail "$mod: parameter $p has no description"
	done
}
