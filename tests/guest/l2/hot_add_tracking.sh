#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.hot_add_tracking's L2 (init_on_alloc=1): known-zero tracking
# starts as vmdense_hyperv loads; then memory is hot-added above the end
# of memory it tracks (virtio-mem plugs PLUG_MB MiB) and the allocator
# hands that memory out: none of it may count as known-zero, and kz_check
# (KZ_MB MiB with __GFP_ZERO, every byte) must find only zeroes.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${KZ_MB:=512}" "${PLUG_MB:=256}"

modprobe vmdense_hyperv cold_hints=0 || exit 1
counters L2-HV0 $HV
m0=$(memtotal_kb)
modprobe vmdense_virtio_mem || exit 1
echo L2-VMEM-READY
until [ "$(memtotal_kb)" -ge $((m0 + PLUG_MB * 1024)) ]; do sleep 0.2; done
echo "L2-MEM added_kb=$(($(memtotal_kb) - m0))"
# take the hot-added memory first: the movable zone holds only it
fill_hold $((PLUG_MB - 16)) fill || exit 1
kz_check "$KZ_MB"
fill_free fill
counters L2-HV $HV
counters L2-ST $STATS
