#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.virtio_mem_unplug_all: a virtio-mem device that starts with
# 256 MiB plugged and dirty (as a previous guest left it) and 128 MiB
# requested; MODULE in L2 must unplug all first, then plug 128 MiB.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${MODULE:=vmdense_virtio_mem}" "${FILL_MB:=256}" "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/vmem_unplug_all.sh "MODULE=$MODULE FILL_MB=$FILL_MB" \
	--vmem 1G --vmem-block 2M --vmem-plugged 256M --vmem-requested 128M \
	$STUB_OPTS
p0=$(stat plugged_size)
metric plugged_at_start_mb $((${p0:-0} / 1048576))
wait_line L2-VMEM-READY 120 || die_l2
wait_stat plugged_size 134217728 120 || die_l2
wait_line L2-CHECKED 300 || die_l2
metric unplug_all_requests "$(stat unplug_all)"
metric plug_requests "$(stat plug)"
metric host_mb_after $(($(stat memfd_allocated_bytes) / 1048576))
metric violations "$(stat violations)"
quit
