#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.hot_hints' L2 (vmdense_virtio_mem, cold hints off): a memory
# block comes online while vmdense_hyperv runs with hot_on_online=0, a
# second after reloading it with the default; each block's pages are then
# read once by a test module (tests/guest-modules/first_touch) while L1
# counts the host's faults; then a range through sysfs and all of node 0.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
MEM=/sys/devices/system/memory

# memory blocks of the virtio-mem region (4 GiB up, 128 MiB each)
vblocks() {
	for d in "$MEM"/memory*; do
		n=${d##*memory}
		[ "$n" -ge 32 ] && echo "$n"
	done | sort -n
}
# wait until block number $1 of the region is there and online
wait_block() {
	i=0
	until [ "$(vblocks | wc -l)" -ge "$1" ] &&
		[ "$(cat "$MEM/memory$(vblocks | sed -n "${1}p")/online")" = 1 ]; do
		sleep 0.5
		i=$((i + 1))
		[ $i -gt 240 ] && return 1
	done
	return 0
}
touch_block() {
	echo "L2-T$1-GO"
	sleep 3
	insmod /vmdense/modules/vmdense_first_touch.ko pfn=$(($2 * 32768)) nr=32768
	rmmod vmdense_first_touch
	dmesg | grep -o 'first_touch: pfn=.*' | tail -1 | tr ' ' '\n' |
		grep -e touched -e ns= | sed "s/^/L2-T$1 /"
	echo "L2-T$1-DONE"
	sleep 3
}

modprobe vmdense_virtio_mem || exit 1
modprobe vmdense_hyperv cold_hints=0 hot_on_online=0 && echo L2-HOT-READY
wait_block 1 || { echo L2-NO-BLOCK1; exit 1; }
b1=$(vblocks | sed -n 1p)
echo "L2-HV hot_online_first=$(cat $HV/hot_online_pages)"
echo L2-BLOCK1
rmmod vmdense_hyperv
modprobe vmdense_hyperv cold_hints=0 && echo L2-HOT2-READY
wait_block 2 || { echo L2-NO-BLOCK2; exit 1; }
b2=$(vblocks | sed -n 2p)
echo "L2-HV hot_online_second=$(cat $HV/hot_online_pages)"
echo L2-BLOCK2
touch_block 1 "$b1"
touch_block 2 "$b2"
echo L2-RANGE-GO
sleep 3
rc=0
echo "196608 32768" >$HV/hot_hint || rc=1
echo "L2-RC range_rc=$rc"
echo L2-RANGE-DONE
echo "L2-HV range_pages=$(cat $HV/hot_pages)"
sleep 3
rc=0
echo 0 >$HV/hot_hint_node || rc=1
echo "L2-RC node_rc=$rc"
rc=0
echo 64 >$HV/hot_hint_node 2>/dev/null || rc=1
echo "L2-RC bad_node_rc=$rc"
echo L2-NODE-DONE
counters L2-HV $HV
echo L2-SETTLED
hold
