#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.boot: host-stub boots our kernel and initramfs as L2 on
# L2_SMP (2) vCPUs to a shell that exits with 7; host-stub must exit 7.
: "${L2_SMP:=2}" "${L2_TIMEOUT:=300}"
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l1.sh
. /vmdense/lib/l1.sh

t0=$(now)
stub_start l2/boot.sh ""
stub_end
rc=$?
metric stub_seconds "$(elapsed "$t0")"
metric stub_status $rc
[ $rc -eq 7 ]
