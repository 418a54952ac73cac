#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.violation: L2 touches virtio-mem memory that is not plugged
# (ADDR, in the region of a 1 GiB device with nothing plugged); host-stub
# must catch the read and the write, count them, say where, and L2 must
# run on.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh
: "${ADDR:?the guest physical address L2 touches}"

stub_start l2/vmem_touch.sh "ADDR=$ADDR" --vmem 1G --vmem-block 2M
wait_line L2-TOUCHED 120 || die_l2
metric violations "$(stat violations)"
metric violation_reads "$(stat violation_reads)"
metric violation_writes "$(stat violation_writes)"
metric last_violation_gpa "$(stat last_violation_gpa)"
metric plugged_size "$(stat plugged_size)"
wait_line L2-STILL-ALIVE 60 && metric guest_alive 1
quit
