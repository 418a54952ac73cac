#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.integrity's L2 (init_on_alloc=1; the initramfs with stress-ng):
# cold hints all the time (small min_order and thresholds) while the
# data-integrity checker and stress-ng churn for SECONDS; then the checker's
# verdict and the cold hints given during the run.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${SECONDS_RUN:=40}"

modprobe vmdense_hyperv || exit 1
echo 2 >$HINTING/min_order
echo 4 >$HINTING/wake_threshold
echo 8 >$HINTING/report_threshold
echo 10 >$HINTING/delay_ms
c0=$(cat $HV/cold_pages)
step "churning for $SECONDS_RUN s"
stress-ng --vm 2 --vm-bytes 128M --timeout "${SECONDS_RUN}s" >/tmp/stress.out 2>&1 &
/vmdense/integrity --mb 256 --chunk-kb 64 --churn 50 --seconds "$SECONDS_RUN" \
	--interval-ms 100 2>&1 | tail -1
wait
# until cold_pages stops moving (3 s apart, at most 60 s)
a=-1
i=0
while [ "$(cat $HV/cold_pages)" != "$a" ] && [ $i -lt 20 ]; do
	a=$(cat $HV/cold_pages)
	sleep 3
	i=$((i + 1))
done
echo "L2-D cold_pages_during=$(($(cat $HV/cold_pages) - c0))"
counters L2-HV $HV
counters L2-ST $STATS
