#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.virtio_mem's L2: load MODULE (a virtio-mem driver), wait until
# the memory L1 plugs has come (MemTotal above WANT_KB), fill and verify
# FILL_MB MiB with the data-integrity checker, then stay up.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${MODULE:=vmdense_virtio_mem}" "${FILL_MB:=256}" "${WANT_KB:=900000}"

modprobe "$MODULE" && echo L2-VMEM-READY
until [ "$(memtotal_kb)" -gt "$WANT_KB" ]; do sleep 0.2; done
step "plugged memory arrived; filling $FILL_MB MiB"
/vmdense/integrity --mb "$FILL_MB" --seconds 0
echo L2-FILLED
hold
