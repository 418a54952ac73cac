#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.virtio_mem: MODULE in L2 against host-stub's virtio-mem device
# (1 GiB region, 2 MiB blocks): plug 512 MiB, let L2 fill FILL_MB of it,
# unplug it all; the device's memfd must give the memory back.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${MODULE:=vmdense_virtio_mem}" "${FILL_MB:=256}" "${STUB_OPTS:=}"

# shellcheck disable=SC2086 # STUB_OPTS is a list of options
stub_start l2/vmem_fill.sh "MODULE=$MODULE FILL_MB=$FILL_MB" \
	--vmem 1G --vmem-block 2M $STUB_OPTS
wait_line L2-VMEM-READY 120 || die_l2
step "plugging 512 MiB"
t0=$(now)
ctl '{"cmd":"vmem-set-requested","size":536870912}' >/dev/null
wait_stat plugged_size 536870912 120 || die_l2
metric plug_seconds "$(elapsed "$t0")"
wait_line L2-FILLED 300 || die_l2
metric host_mb_plugged $(($(stat memfd_allocated_bytes) / 1048576))
step "unplugging all"
t0=$(now)
ctl '{"cmd":"vmem-set-requested","size":0}' >/dev/null
wait_stat plugged_size 0 180 || die_l2
metric unplug_seconds "$(elapsed "$t0")"
metric host_mb_after $(($(stat memfd_allocated_bytes) / 1048576))
metric violations "$(stat violations)"
metric plug_requests "$(stat plug)"
metric unplug_requests "$(stat unplug)"
metric nacks "$(stat nack)"
quit
