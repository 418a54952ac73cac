#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.stalled_host's L2 (2 vCPUs): cold hints go to a host that stops
# making progress on them; meanwhile memory is plugged (virtio-mem) and
# must come online: memory hotplug may not wait for the host. vmdense_hyperv
# must give the calls up, not ask forever.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh

modprobe vmdense_virtio_mem || exit 1
modprobe vmdense_hyperv || exit 1
echo L2-READY
read -r what </dev/ttyS0
[ "$what" = stall ] || { echo "L2-HANDSHAKE '$what'"; exit 1; }
# MemTotal grows once the memory L1 plugs is online
m0=$(memtotal_kb)
(
	until [ "$(memtotal_kb)" -ge $((m0 + 131072)) ]; do sleep 0.1; done
	echo L2-ONLINE
) &
step "freeing 64 MiB into a stalling host"
fill_hold 64 fill || exit 1
fill_free fill
wait
# until vmdense_hyperv gave the stalled call up: 16 stalls of STALL_MS
# each on the host (48 s by default) before it may; a guest that never
# gives up fails the test with stalled_calls 0
i=0
while [ "$(cat $HV/stalled_calls)" -eq 0 ] && [ $i -lt 600 ]; do
	sleep 0.2
	i=$((i + 1))
done
counters L2-HV $HV
