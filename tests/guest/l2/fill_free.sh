#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The fill-and-free workload of hyperv.cold_hints and the benchmark's
# return comparison: REPORTER (vmdense_hyperv, vmdense_balloon or the
# kernel's virtio_balloon) reports free memory; fill and verify FILL_MB
# MiB, free it, wait until reporting goes quiet, print the counters.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${REPORTER:=vmdense_hyperv}" "${FILL_MB:=256}"

# until the reporter is quiet: cold hints until cold_pages stops moving
# (3 s apart, at most 60 s); the balloons report within their delays
quiet() {
	if [ "$REPORTER" = vmdense_hyperv ]; then
		a=-1
		i=0
		while [ "$(cat $HV/cold_pages)" != "$a" ] && [ $i -lt 20 ]; do
			a=$(cat $HV/cold_pages)
			sleep 3
			i=$((i + 1))
		done
	else
		sleep 15
	fi
}

modprobe "$REPORTER" && echo L2-READY
quiet
step "filling $FILL_MB MiB"
fill_hold "$FILL_MB" fill || exit 1
echo L2-FILLED
sleep 2
fill_free fill
sleep 5
quiet
counters L2-HV $HV
counters L2-ST $STATS
echo L2-SETTLED
hold
