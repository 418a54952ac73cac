#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.lying_host's L2 (init_on_alloc=1): the host calls memory
# boot-zeroed that holds data. vmdense_hyperv must find out from its
# sample, refuse known-zero memory with a message and a counter, and no
# page may be handed out uncleared: kz_check takes KZ_MB MiB with
# __GFP_ZERO and checks every byte.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${KZ_MB:=256}"

modprobe vmdense_hyperv cold_hints=0 || exit 1
counters L2-HV $HV
counters L2-ST $STATS
kz_check "$KZ_MB"
dmesg | grep -o 'mm/hinting: the host called .*' | sed 's/^/L2-MSG /'
