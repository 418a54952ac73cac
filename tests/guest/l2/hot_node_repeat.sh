#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The nested-endings experiment's narrow workload for the ending seen in
# hyperv.hot_hints (tests/NESTED-ENDINGS.md): vmdense_hyperv (cold hints
# off) hot-hints all free memory of node 0, ROUNDS times, each followed by
# the data-integrity checker filling, verifying and freeing FILL_MB MiB.
# Ends with the checker's status.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${ROUNDS:=10}" "${FILL_MB:=128}"

modprobe vmdense_hyperv cold_hints=0 || exit 1
i=1
while [ $i -le "$ROUNDS" ]; do
	step "round $i: hot hint of node 0, fill and free $FILL_MB MiB"
	echo 0 >$HV/hot_hint_node || exit 1
	/vmdense/integrity --mb "$FILL_MB" --seconds 0 || exit 1
	i=$((i + 1))
done
counters L2-HV $HV
