#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.faults' L2: load MODULE (a virtio-mem driver), say when MemTotal
# has grown by 256 MiB, stay up.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${MODULE:=vmdense_virtio_mem}"

m0=$(memtotal_kb)
modprobe "$MODULE" && echo L2-VMEM-READY
until [ "$(memtotal_kb)" -ge $((m0 + 262144)) ]; do sleep 0.2; done
echo L2-SEES-256M
hold
