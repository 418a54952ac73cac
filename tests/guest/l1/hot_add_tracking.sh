#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hyperv.hot_add_tracking: host-stub --hyperv with a virtio-mem device;
# L1 plugs PLUG_MB MiB once vmdense_virtio_mem is up in L2, after
# known-zero tracking began.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${PLUG_MB:=256}" "${KZ_MB:=512}" "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/hot_add_tracking.sh "PLUG_MB=$PLUG_MB KZ_MB=$KZ_MB" \
	--hyperv --vmem 1G --vmem-block 2M $STUB_OPTS
wait_line L2-VMEM-READY 180 || die_l2
ctl "{\"cmd\":\"vmem-set-requested\",\"size\":$((PLUG_MB * 1048576))}" >/dev/null
wait_stat plugged_size $((PLUG_MB * 1048576)) 120 || die_l2
stub_end
rc=$?
metric stub_boot_zeroed_calls "$(stat_out get_boot_zeroed_memory)"
exit $rc
