#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What reporting adds to the allocator's free path, timed where it arises
# (bench/capture.py, hinting.capture_counted). DRIVER is the reporting
# driver: vmdense_balloon (mm/hinting's capture, switched by
# /sys/kernel/mm/hinting/enabled with the driver loaded) or virtio_balloon
# (the kernel's page_reporting, switched by loading and unloading the
# driver). PAIRS times, with reporting on and off in turns (the first of a
# pair alternates, so that a drift of the machine falls on both), the test
# module vmdense_free_cost allocates memory and times its frees, in three
# kinds:
#
#   blocks        BLOCKS blocks of the largest order (4 MiB): each free
#                 reaches the buddy allocator at once (no per-CPU list
#                 takes them) and is captured, as two pageblocks
#   pages         PAGES single pages: through the per-CPU lists, as most
#                 of a workload's frees are; few merge up to the capture
#                 order
#   small_blocks  SMALL blocks of order 4 (64 KiB, the smallest order no
#                 per-CPU list takes) with the capture order (min_order,
#                 or the kernel's page_reporting_order) at 4 in both runs
#                 of the pair: every free is a qualifying free, so the
#                 difference is what reporting costs per qualifying free.
#                 mm/hinting's worker is kept away meanwhile (delay_ms
#                 60000, wake_threshold 512: SMALL stays below that), so
#                 that the free path's own cost shows; the worker's is
#                 measured apart (stats/worker_cpu_ns, lock_hold_ns)
#
# A line per pair and kind:
#
#   CAPTURE kind=blocks pair=3 n=32 on_ns=... off_ns=... captured_on=64 \
#           captured_off=0 dropped_on=0 dropped_off=0
#
# captured_*, dropped_*: what mm/hinting's stats/captured and
# stats/dropped (no room left in the CPU's array) grew by during the run.
# Ends with "CAPTURE-END status=ok", or status=<what failed>.
# Run by hand in a guest:
#   DRIVER=vmdense_balloon sh capture_cost.sh [PAIRS [BLOCKS [PAGES [SMALL]]]]
PAIRS=${1:-${PAIRS:-50}}
BLOCKS=${2:-${BLOCKS:-32}}
PAGES=${3:-${PAGES:-8192}}
SMALL=${4:-${SMALL:-256}}
DRIVER=${DRIVER:-vmdense_balloon}
K=/sys/kernel/mm/hinting
P=/sys/module/vmdense_free_cost/parameters
PR=/sys/module/page_reporting/parameters/page_reporting_order

end() {
	[ -n "${min0:-}" ] && echo "$min0" >$K/min_order
	[ -n "${delay0:-}" ] && echo "$delay0" >$K/delay_ms
	[ -n "${wake0:-}" ] && echo "$wake0" >$K/wake_threshold
	[ -n "${pr0:-}" ] && echo "$pr0" >$PR
	[ "$DRIVER" = vmdense_balloon ] && echo 1 >$K/enabled
	echo "CAPTURE-END status=$1 $(cat /tmp/capture.err 2>/dev/null)"
	exit 0
}

# reporting ON (1) or off (0)
reporting() {
	case $DRIVER in
	vmdense_balloon) echo "$1" >$K/enabled 2>/tmp/capture.err ;;
	virtio_balloon)
		if [ "$1" = 1 ]; then
			modprobe virtio_balloon 2>/tmp/capture.err
		else
			rmmod virtio_balloon 2>/tmp/capture.err
		fi ;;
	*) false ;;
	esac
}

# qualifying ORDER: frees of ORDER and up are reported, mm/hinting's
# worker waits; "" puts back what was
qualifying() {
	if [ "$DRIVER" != vmdense_balloon ]; then
		echo "${1:-$pr0}" >$PR
	elif [ -n "$1" ]; then
		echo "$1" >$K/min_order && echo 60000 >$K/delay_ms &&
			echo 512 >$K/wake_threshold
	else
		echo "$min0" >$K/min_order && echo "$delay0" >$K/delay_ms &&
			echo "$wake0" >$K/wake_threshold
	fi
}

[ -d $P ] || insmod /vmdense/modules/vmdense_free_cost.ko || end no-module
modprobe "$DRIVER" || end no-driver
min0=$(cat $K/min_order)
delay0=$(cat $K/delay_ms)
wake0=$(cat $K/wake_threshold)
pr0=$(cat $PR)

# one_run KIND N ON: time one run with reporting on or off; sets on_ns,
# on_cap and on_drop, or off_ns, off_cap and off_drop (what stats/captured
# and stats/dropped grew by)
one_run() {
	reporting "$3" || end "reporting-$3"
	c0=$(cat $K/stats/captured)
	d0=$(cat $K/stats/dropped)
	echo "$2" >"$P/$1" || end "$1-alloc"
	ns=$(cat $P/last_free_ns)
	cap=$(($(cat $K/stats/captured) - c0))
	drop=$(($(cat $K/stats/dropped) - d0))
	if [ "$3" = 1 ]; then
		on_ns=$ns on_cap=$cap on_drop=$drop
	else
		off_ns=$ns off_cap=$cap off_drop=$drop
	fi
}

i=0
while [ $i -lt "$PAIRS" ]; do
	for kind in blocks pages small_blocks; do
		what=blocks
		case $kind in
		blocks) n=$BLOCKS; echo 10 >$P/order ;;
		pages) n=$PAGES what=pages ;;
		small_blocks)
			n=$SMALL
			echo 4 >$P/order
			qualifying 4 || end order ;;
		esac
		if [ $((i % 2)) -eq 0 ]; then
			one_run $what "$n" 1
			one_run $what "$n" 0
		else
			one_run $what "$n" 0
			one_run $what "$n" 1
		fi
		[ $kind = small_blocks ] && { qualifying "" || end order; }
		echo "CAPTURE kind=$kind pair=$i n=$n" \
			"on_ns=$on_ns off_ns=$off_ns" \
			"captured_on=$on_cap captured_off=$off_cap" \
			"dropped_on=$on_drop dropped_off=$off_drop"
	done
	i=$((i + 1))
done
reporting 1 || end reporting-1
end ok
