# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Helpers for the scripts an L2 guest runs (/vmdense/l2/*.sh, started by
# init when the kernel command line names one in VMDENSE_RUN). Their
# parameters come as NAME=value kernel parameters, which the kernel hands
# to init as environment variables.

# for the scripts that source this file
# shellcheck disable=SC2034
{
	HV=/sys/kernel/vmdense_hyperv
	HINTING=/sys/kernel/mm/hinting
	STATS=$HINTING/stats
}

# Progress for the person watching (the host prints these lines).
step() { echo "L2-STEP $*"; }

# Counters as "TAG NAME=VALUE" lines, which the host reads back: every
# file of the directories given after TAG.
counters() {
	tag=$1
	shift
	for d in "$@"; do
		for f in "$d"/*; do
			[ -f "$f" ] && echo "$tag $(basename "$f")=$(cat "$f")"
		done
	done
	return 0
}

memtotal_kb() { awk '/^MemTotal:/ { print $2 }' /proc/meminfo; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
ms_since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# Hold L2 up until host-stub stops it: what L1 measures after L2's work
# (memory given back, counters) needs L2 alive.
hold() {
	step "holding until L1 stops the guest"
	while :; do sleep 60; done
}

memfree_kb() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }

# fill_hold MB NAME: the data-integrity checker fills and verifies MB MiB
# and keeps it (output in /tmp/NAME.out, pid in /tmp/NAME.pid); returns
# once the first round verified it all.
fill_hold() {
	/vmdense/integrity --mb "$1" --churn 0 --seconds 100000 \
		--interval-ms 3600000 --verbose >"/tmp/$2.out" 2>&1 &
	echo $! >"/tmp/$2.pid"
	until grep -q round= "/tmp/$2.out"; do
		if ! kill -0 "$(cat "/tmp/$2.pid")" 2>/dev/null; then
			cat "/tmp/$2.out"
			echo "L2-CHECKER-DIED $2"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# fill_free NAME: end the checker of fill_hold NAME with SIGKILL (a stop
# request would verify it all once more; its first round did): print its
# verdict, L2-FREEING as it ends, then L2-FREED with what the guest got
# back: the growth of MemFree once it stopped moving (pages the reporting
# has isolated come back to it).
fill_free() {
	before=$(memfree_kb)
	grep integrity-round "/tmp/$1.out" | tail -1
	p=$(cat "/tmp/$1.pid")
	echo L2-FREEING
	kill -KILL "$p"
	while [ -d "/proc/$p" ]; do sleep 0.1; done
	last=0
	i=0
	while [ $i -lt 50 ]; do
		sleep 0.2
		now=$(memfree_kb)
		[ $((now - last)) -lt 256 ] && [ $((last - now)) -lt 256 ] && break
		last=$now
		i=$((i + 1))
	done
	echo "L2-FREED freed_kb=$(($(memfree_kb) - before))"
}

# kz_check MB: tests/guest-modules/kz_check takes MB MiB page by page with
# __GFP_ZERO and checks every byte; its verdict as "L2-KZ NAME=VALUE"
# lines, and as gfp_zero_checked_skipped_pages, the clearings skipped
# while it allocated (those pages read zero only if known-zero was right).
kz_check() {
	s0=$(cat $STATS/zeroing_skipped_pages)
	insmod /vmdense/modules/vmdense_kz_check.ko mb="$1" 2>/dev/null
	dmesg | grep -o 'kz_check: pages=.*' | tail -1 | tr ' ' '\n' |
		grep '=' | sed 's/^/L2-KZ /'
	echo "L2-KZ gfp_zero_checked_skipped_pages=$(($(cat $STATS/zeroing_skipped_pages) - s0))"
}
