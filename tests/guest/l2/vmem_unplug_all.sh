#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hoststub.virtio_mem_unplug_all's L2: load MODULE against a device that
# starts with memory plugged; once the requested 128 MiB arrived, say how
# much MemTotal grew, fill FILL_MB MiB (the plugged memory goes first)
# and verify it, then stay up.
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=lib/l2.sh
. /vmdense/lib/l2.sh
: "${MODULE:=vmdense_virtio_mem}" "${FILL_MB:=256}"

m0=$(memtotal_kb)
modprobe "$MODULE" && echo L2-VMEM-READY
i=0
until [ "$(memtotal_kb)" -ge $((m0 + 131072)) ] || [ $i -gt 600 ]; do
	sleep 0.2
	i=$((i + 1))
done
# more than asked for would show up here
sleep 2
echo "L2-MEM added_kb=$(($(memtotal_kb) - m0))"
/vmdense/integrity --mb "$FILL_MB" --seconds 0 | tail -1
echo L2-CHECKED
hold
