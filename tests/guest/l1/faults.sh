#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.faults: injected faults against MODULE (a virtio-mem driver) in
# L2. One BUSY, three NACKs and every answer delayed 200 ms while plugging
# 256 MiB: device and guest must still agree. Then one ERROR while
# plugging 512 MiB: vmdense_virtio_mem must count it, back off and get
# there; the kernel's virtio_mem gives up on the device ("marking device
# broken"), which is measured.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${MODULE:=vmdense_virtio_mem}"

stub_start l2/vmem_watch.sh "MODULE=$MODULE" --vmem 1G --vmem-block 2M
wait_line L2-VMEM-READY 120 || die_l2
step "plugging 256 MiB through BUSY, NACKs and slow answers"
ctl '{"cmd":"fault","dev":"vmem","busy":1,"nack":3,"delay_ms":200}' >/dev/null
t0=$(now)
ctl '{"cmd":"vmem-set-requested","size":268435456}' >/dev/null
wait_stat busy 1 60 || die_l2
# BUSY may arm a long retry timer; a config change makes a driver try again
sleep 1
ctl '{"cmd":"vmem-set-requested","size":268435456}' >/dev/null
wait_stat plugged_size 268435456 180 || die_l2
metric plug_with_faults_seconds "$(elapsed "$t0")"
wait_line L2-SEES-256M 60 || die_l2
metric nacks "$(stat nack)"
metric busy "$(stat busy)"
step "plugging 512 MiB through an ERROR"
ctl '{"cmd":"fault","dev":"vmem","error":1,"delay_ms":0}' >/dev/null
ctl '{"cmd":"vmem-set-requested","size":536870912}' >/dev/null
if [ "$MODULE" = virtio_mem ]; then
	wait_line "marking device broken" 60 && metric driver_marked_broken 1
	sleep 2
else
	wait_stat plugged_size 536870912 120 && metric recovered_after_error 1
fi
metric errors "$(stat error)"
metric plugged_mb_after_error $(($(stat plugged_size) / 1048576))
metric faults_injected "$(stat faults_injected)"
metric violations "$(stat violations)"
quit
