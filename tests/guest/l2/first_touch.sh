#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's first-touch runs (bench/hyperv.py), in an L2 booted with
# init_on_alloc=1: tools/touch_pages writes one word per page of MB MiB of
# fresh user memory, ROUNDS times with skip_zeroing off and on in turn,
# each run's memory held so that the next gets other pages; first on
# memory the host has not backed, then after a hot hint of all free
# memory (the host backs and maps it for the guest, as a host that zeroed
# it keeps it). Each run prints "L2-TOUCH <phase>_<mode>_<i> pages=..."
# and the clearings it skipped.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${MB:=16}" "${ROUNDS:=4}"

modprobe vmdense_hyperv cold_hints=0 hot_on_online=0 || exit 1
# $1: run name; the run's pages stay held until the end
touch() {
	s0=$(cat $STATS/zeroing_skipped_pages)
	/vmdense/touch_pages --mb "$MB" --hold >"/tmp/$1.out" 2>&1 &
	p=$!
	until grep -q nonzero_words "/tmp/$1.out" || ! kill -0 $p 2>/dev/null
	do sleep 0.05; done
	echo "L2-TOUCH $1 $(grep -o 'pages=.*' "/tmp/$1.out") skipped=$(($(cat $STATS/zeroing_skipped_pages) - s0))"
}
phase() {
	i=1
	while [ $i -le "$ROUNDS" ]; do
		echo 0 >$HINTING/skip_zeroing
		touch "$1_clearing_$i"
		echo 1 >$HINTING/skip_zeroing
		touch "$1_skipping_$i"
		i=$((i + 1))
	done
}
phase unhinted
echo 0 >$HV/hot_hint_node || exit 1
echo "L2-HV hot_pages=$(cat $HV/hot_pages)"
phase hinted
pkill touch_pages
